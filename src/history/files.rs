//! History files: `data/.history/YYYY-MM-DD_HH-MM-SS.md`, one per composition, holding its latest
//! content under a small YAML frontmatter (id, source path, working directory, created, updated).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CompositionRecord, FileStamp, HistoryError, tags_of};
use crate::document::frontmatter;

/// A parsed history file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryFile {
    pub id: String,
    pub source_path: Option<PathBuf>,
    pub working_dir: Option<PathBuf>,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    /// The composition's content, exactly as saved.
    pub content: String,
}

impl HistoryFile {
    /// The file's text: frontmatter, then the content unchanged.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.content.len() + 256);
        out.push_str("---\n");
        // JSON strings are valid YAML double-quoted scalars, so any path or id round-trips.
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        out.push_str(&format!("id: {}\n", quote(&self.id)));
        if let Some(source) = &self.source_path {
            out.push_str(&format!("source: {}\n", quote(&source.to_string_lossy())));
        }
        if let Some(dir) = &self.working_dir {
            out.push_str(&format!(
                "working_directory: {}\n",
                quote(&dir.to_string_lossy())
            ));
        }
        out.push_str(&format!("created: {}\n", rfc3339(self.created)));
        out.push_str(&format!("updated: {}\n", rfc3339(self.updated)));
        out.push_str("---\n");
        out.push_str(&self.content);
        out
    }

    /// The index record for this file, stored as `file_name` with `stamp`.
    pub fn record(&self, file_name: &str, stamp: Option<FileStamp>) -> CompositionRecord {
        CompositionRecord {
            id: self.id.clone(),
            file_name: file_name.to_string(),
            source_path: self.source_path.clone(),
            working_dir: self.working_dir.clone(),
            created_at: self.created,
            updated_at: self.updated,
            content: self.content.clone(),
            tags: tags_of(&self.content),
            file_stamp: stamp,
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Why a history file could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    #[error("not UTF-8 text")]
    NotUtf8,
    #[error("no frontmatter (the `---` block with id, source and dates is missing)")]
    NoFrontmatter,
    #[error("invalid frontmatter: {0}")]
    InvalidFrontmatter(String),
    #[error("`{key}` is not a valid date: {value}")]
    InvalidDate { key: &'static str, value: String },
}

#[derive(Deserialize)]
struct Meta {
    id: Option<String>,
    source: Option<String>,
    working_directory: Option<String>,
    created: Option<String>,
    updated: Option<String>,
}

/// Parses a history file. Missing fields fall back: id to the file stem, dates to `modified`.
pub fn parse(
    file_name: &str,
    bytes: &[u8],
    modified: OffsetDateTime,
) -> Result<HistoryFile, FileProblem> {
    let text = std::str::from_utf8(bytes).map_err(|_| FileProblem::NotUtf8)?;
    let block = match frontmatter::split(text) {
        frontmatter::Split::Found(block) => block,
        _ => return Err(FileProblem::NoFrontmatter),
    };
    let meta: Meta = if block.yaml.trim().is_empty() {
        Meta {
            id: None,
            source: None,
            working_directory: None,
            created: None,
            updated: None,
        }
    } else {
        crate::document::frontmatter::parse_yaml(block.yaml).map_err(|e| {
            FileProblem::InvalidFrontmatter(e.to_string().lines().next().unwrap_or("").into())
        })?
    };
    let date = |key: &'static str, value: Option<String>| match value {
        None => Ok(modified),
        Some(v) => OffsetDateTime::parse(v.trim(), &Rfc3339)
            .map_err(|_| FileProblem::InvalidDate { key, value: v }),
    };
    let stem = Path::new(file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(HistoryFile {
        id: meta.id.filter(|id| !id.trim().is_empty()).unwrap_or(stem),
        source_path: meta.source.filter(|s| !s.is_empty()).map(PathBuf::from),
        working_dir: meta
            .working_directory
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
        created: date("created", meta.created)?,
        updated: date("updated", meta.updated)?,
        content: text[block.block_range.end..].to_string(),
    })
}

/// Reads and parses one history file. I/O errors are errors; a bad file is a [`FileProblem`].
pub fn read(path: &Path) -> Result<Result<HistoryFile, FileProblem>, HistoryError> {
    let bytes = std::fs::read(path).map_err(|e| HistoryError::io("cannot read", path, e))?;
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(OffsetDateTime::from)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(parse(&name, &bytes, modified))
}

/// Writes a history file atomically.
pub fn write(dir: &Path, file_name: &str, file: &HistoryFile) -> Result<PathBuf, HistoryError> {
    let path = dir.join(file_name);
    crate::home::write_atomic(&path, file.render().as_bytes())
        .map_err(|e| HistoryError::io("cannot write history file", &path, e))?;
    Ok(path)
}

/// A new, unused file name for a composition created at `now` (UTC): `YYYY-MM-DD_HH-MM-SS.md`,
/// with `-2`, `-3`, ... when that second is taken.
pub fn new_file_name(dir: &Path, now: OffsetDateTime) -> String {
    let base = format!(
        "{:04}-{:02}-{:02}_{:02}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{base}.md")
        } else {
            format!("{base}-{n}.md")
        };
        if !dir.join(&name).exists() {
            return name;
        }
        n += 1;
    }
}

/// The history files in `dir` (`*.md`, not hidden), sorted by name. A missing directory is empty.
pub fn list(dir: &Path) -> Result<Vec<String>, HistoryError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(HistoryError::io("cannot read history directory", dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| HistoryError::io("cannot read history directory", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden names are write_atomic's temp files.
        if name.ends_with(".md") && !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Removes temp files left by writers that were killed mid-write (`.<name>.<pid>.tmp` whose
/// process is gone); returns how many. Only where `/proc` tells which processes are alive.
pub fn remove_stale_temp_files(dir: &Path) -> usize {
    let proc_dir = Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tmp"))
            .and_then(|n| n.rsplit('.').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id()
            && !proc_dir.join(pid.to_string()).exists()
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Scans every history file for the latest one saved from `source` (the slow path, used only
/// when the index cannot be asked).
pub fn find_by_source(
    dir: &Path,
    source: &Path,
) -> Result<Option<(String, HistoryFile)>, HistoryError> {
    let mut best: Option<(String, HistoryFile)> = None;
    for name in list(dir)? {
        let Ok(Ok(file)) = read(&dir.join(&name)) else {
            continue;
        };
        if file.source_path.as_deref() == Some(source)
            && best.as_ref().is_none_or(|(_, b)| file.updated > b.updated)
        {
            best = Some((name, file));
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn sample(content: &str) -> HistoryFile {
        HistoryFile {
            id: "2026-11-26_13-02-06".into(),
            source_path: Some("/w/it's \"odd\": #1.prompt.md".into()),
            working_dir: Some("/w".into()),
            created: datetime!(2026-11-26 13:02:06 UTC),
            updated: datetime!(2026-11-26 14:00:00.5 UTC),
            content: content.into(),
        }
    }

    #[test]
    fn render_and_parse_round_trip() {
        for content in [
            "",
            "plain text without newline",
            "# Title\n\nBody {{text:name}}\n",
            "---\ntitle: own frontmatter\ntags: [x]\n---\nbody\n",
            "---\n",
            "line\r\nwindows\r\n",
        ] {
            let file = sample(content);
            let text = file.render();
            let back = parse("x.md", text.as_bytes(), OffsetDateTime::UNIX_EPOCH).unwrap();
            assert_eq!(back, file, "{content:?}");
        }
    }

    #[test]
    fn missing_fields_fall_back_and_bad_files_are_reported() {
        let at = datetime!(2026-01-02 03:04:05 UTC);
        let file = parse("2026-01-02_03-04-05-2.md", b"---\n---\nhi", at).unwrap();
        assert_eq!(file.id, "2026-01-02_03-04-05-2");
        assert_eq!((file.created, file.updated), (at, at));
        assert_eq!(file.content, "hi");
        let cases: &[(&[u8], FileProblem)] = &[
            (b"just text", FileProblem::NoFrontmatter),
            (
                b"---\nid: [x\n---\n",
                FileProblem::InvalidFrontmatter(String::new()),
            ),
            (
                b"---\ncreated: yesterday\n---\n",
                FileProblem::InvalidDate {
                    key: "created",
                    value: "yesterday".into(),
                },
            ),
            (b"---\nid: x\n---\n\xff\xfe", FileProblem::NotUtf8),
        ];
        for (bytes, expected) in cases {
            let got = parse("a.md", bytes, at).unwrap_err();
            match (&got, expected) {
                (FileProblem::InvalidFrontmatter(_), FileProblem::InvalidFrontmatter(_)) => {}
                _ => assert_eq!(&got, expected),
            }
        }
    }

    #[test]
    fn file_names_are_collision_safe() {
        let dir = tempfile::tempdir().unwrap();
        let now = datetime!(2026-03-04 05:06:07 UTC);
        let mut names = Vec::new();
        for _ in 0..3 {
            let name = new_file_name(dir.path(), now);
            std::fs::write(dir.path().join(&name), "x").unwrap();
            names.push(name);
        }
        assert_eq!(
            names,
            vec![
                "2026-03-04_05-06-07.md",
                "2026-03-04_05-06-07-2.md",
                "2026-03-04_05-06-07-3.md"
            ]
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn stale_temp_files_of_dead_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let ours = format!(".a.md.{}.tmp", std::process::id());
        // PIDs are below 2^22 on Linux, so this one cannot be alive.
        for name in [
            ".a.md.99999999.tmp",
            ours.as_str(),
            "a.md",
            ".b.md.notapid.tmp",
        ] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        assert_eq!(remove_stale_temp_files(dir.path()), 1);
        assert!(!dir.path().join(".a.md.99999999.tmp").exists());
        assert!(
            dir.path().join(&ours).exists(),
            "a live writer's file stays"
        );
    }

    #[test]
    fn list_skips_temp_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.md", "a.md", ".a.md.123.tmp", "notes.txt", ".hidden.md"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        assert_eq!(list(dir.path()).unwrap(), vec!["a.md", "b.md"]);
        assert!(list(&dir.path().join("missing")).unwrap().is_empty());
    }
}
