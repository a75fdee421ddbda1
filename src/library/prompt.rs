//! One library prompt as the rest of the program sees it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::document::frontmatter::{self, Split};
use crate::document::placeholders::{self, Dialects, PlaceholderKind};
use crate::formats::{self, Format};

/// Where a prompt's title (its label in lists) came from: the best name the file offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TitleSource {
    /// Frontmatter `title`.
    Frontmatter,
    /// Frontmatter `name` (skills, agents, prompt files).
    Name,
    /// The file name (a skill's folder name), never a body heading such as "Role".
    FileName,
}

/// A prompt loaded from the library.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// Path relative to the library root without `.md`, `/`-separated (`commands/code-review`).
    pub id: String,
    /// Absolute path of the file.
    pub path: PathBuf,
    /// The top-level folder; `None` for files at the root of the library.
    pub category: Option<String>,
    pub title: String,
    pub title_source: TitleSource,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// The text after the frontmatter.
    pub body: String,
    /// Distinct placeholder names in order of first use, with the kind of that first use.
    pub placeholders: Vec<(String, PlaceholderKind)>,
    /// Frontmatter keys the library does not interpret, kept as written.
    pub extra: BTreeMap<String, serde_json::Value>,
    /// Why the frontmatter could not be read, if it could not (the prompt still loads).
    pub frontmatter_error: Option<String>,
    /// Modification time in nanoseconds since the Unix epoch (0 when unknown).
    pub mtime_ns: u64,
    pub size: u64,
    /// Hex SHA-256 of the file contents (first 16 bytes), to tell real edits from touches.
    pub hash: String,
    /// The `library.sources` entry the prompt comes from; `None` for the library folder.
    pub source: Option<String>,
    /// The agent-file format the prompt is written in; `None` for PromptStack's own.
    pub format: Option<Format>,
}

/// File facts the source knows before reading the contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    pub mtime_ns: u64,
    pub size: u64,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub fn of(meta: &std::fs::Metadata) -> Self {
        FileStamp {
            mtime_ns: meta.modified().map(nanos_since_epoch).unwrap_or(0),
            size: meta.len(),
        }
    }
}

fn nanos_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Hex SHA-256 (first 16 bytes) of `bytes`.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A stable 64-bit key for a prompt id (the search index returns it from a fast column, which
/// is much cheaper than reading the id string back).
pub fn id_key(id: &str) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

/// The id of a library file: its path under `root` without `.md`, `/`-separated.
pub fn id_for(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let mut parts: Vec<&str> = Vec::new();
    for part in rel.components() {
        match part {
            std::path::Component::Normal(p) => parts.push(p.to_str()?),
            _ => return None,
        }
    }
    let last = parts.pop()?;
    let stem = last.strip_suffix(".md")?;
    if stem.is_empty() {
        return None;
    }
    parts.push(stem);
    Some(parts.join("/"))
}

impl Prompt {
    /// Builds a prompt from a file's text. Never fails: without a frontmatter `title` (or with
    /// broken frontmatter) the title is its `name`, then the file name.
    pub fn from_text(id: String, path: PathBuf, text: &str, stamp: FileStamp) -> Prompt {
        let (fm, frontmatter_error) = match frontmatter::split(text) {
            Split::Found(block) => match frontmatter::parse(&block) {
                Ok(fm) => (fm, None),
                Err(e) => (Default::default(), Some(e.to_string())),
            },
            _ => (Default::default(), None),
        };
        let body = frontmatter::body(text).to_string();
        let name = fm.extra.get("name").and_then(|v| v.as_str());
        let (title, title_source) = match (nonblank(fm.title.as_deref()), nonblank(name)) {
            (Some(t), _) => (t, TitleSource::Frontmatter),
            (None, Some(n)) => (n, TitleSource::Name),
            (None, None) => (formats::file_name(&path), TitleSource::FileName),
        };
        let placeholders = distinct_placeholders(&body, &Dialects::default());
        let category = id.split_once('/').map(|(c, _)| c.to_string());
        Prompt {
            category,
            title,
            title_source,
            description: fm.description,
            tags: fm.tags.unwrap_or_default(),
            placeholders,
            extra: fm.extra,
            frontmatter_error,
            mtime_ns: stamp.mtime_ns,
            size: stamp.size,
            hash: content_hash(text.as_bytes()),
            source: None,
            format: None,
            body,
            id,
            path,
        }
    }
}

impl Prompt {
    /// The placeholder dialects of the prompt's format (`$name` for its `arguments:`).
    pub fn dialects(&self) -> Dialects {
        match self.format {
            Some(format) => format.dialects(crate::formats::argument_names(&self.extra)),
            None => Dialects::default(),
        }
    }

    /// Reads the placeholders again after the format changed (a folder source sets it).
    pub fn reparse_placeholders(&mut self) {
        self.placeholders = distinct_placeholders(&self.body, &self.dialects());
    }

    /// What a user may type to find the prompt: its id, its file name and its frontmatter
    /// `name`.
    pub fn names(&self) -> Vec<String> {
        let mut names = vec![self.id.clone(), formats::file_name(&self.path)];
        names.extend(nonblank(self.extra.get("name").and_then(|v| v.as_str())));
        names
    }
}

/// `text` trimmed, unless that leaves nothing.
fn nonblank(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

fn distinct_placeholders(body: &str, dialects: &Dialects) -> Vec<(String, PlaceholderKind)> {
    placeholders::parse_with(body, dialects)
        .distinct()
        .into_iter()
        .map(|(name, kind)| (name.to_string(), kind))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(id: &str, text: &str) -> Prompt {
        Prompt::from_text(
            id.into(),
            PathBuf::from(format!("/lib/{id}.md")),
            text,
            FileStamp {
                mtime_ns: 1,
                size: text.len() as u64,
            },
        )
    }

    #[test]
    fn reads_frontmatter_category_and_placeholders() {
        let p = prompt(
            "commands/code-review",
            "---\ntitle: Code review\ndescription: Review code\ntags: [review, code]\nmode: agent\n---\nReview {{text:lang}} code:\n{{list:focus}}\n{{text:lang}}\n",
        );
        assert_eq!(p.title, "Code review");
        assert_eq!(p.title_source, TitleSource::Frontmatter);
        assert_eq!(p.category.as_deref(), Some("commands"));
        assert_eq!(p.tags, ["review", "code"]);
        assert_eq!(
            p.body,
            "Review {{text:lang}} code:\n{{list:focus}}\n{{text:lang}}\n"
        );
        assert_eq!(
            p.placeholders,
            [
                ("lang".to_string(), PlaceholderKind::Text),
                ("focus".to_string(), PlaceholderKind::List)
            ]
        );
        assert_eq!(p.extra["mode"], serde_json::json!("agent"));
        assert_eq!(p.hash.len(), 32);
    }

    #[test]
    fn title_falls_back_to_name_then_file_name_never_a_heading() {
        let p = prompt("root-note", "intro\n## Second *level* ##\n# Role\n");
        assert_eq!(
            (p.title.as_str(), p.title_source),
            ("root-note", TitleSource::FileName)
        );
        assert_eq!(p.category, None);
        let p = prompt("rules/no-title", "---\ntitle: [broken\n---\n#hashtag\n");
        assert_eq!(
            (p.title.as_str(), p.title_source),
            ("no-title", TitleSource::FileName)
        );
        assert!(p.frontmatter_error.is_some());
        let p = prompt(
            "agents/reviewer",
            "---\nname: ' code-reviewer '\ntitle: ''\n---\n# Role\n",
        );
        assert_eq!(
            (p.title.as_str(), p.title_source),
            ("code-reviewer", TitleSource::Name)
        );
        let p = prompt("skills/pdf-forms/SKILL", "# SKILL\nFill forms.\n");
        assert_eq!(
            (p.title.as_str(), p.title_source),
            ("pdf-forms", TitleSource::FileName)
        );
        assert_eq!(p.names(), ["skills/pdf-forms/SKILL", "pdf-forms"]);
    }

    #[test]
    fn names_are_the_id_the_file_name_and_the_frontmatter_name() {
        let p = prompt(
            "prompts/plan.prompt",
            "---\ntitle: Plan\nname: planner\n---\n",
        );
        assert_eq!(p.title, "Plan");
        assert_eq!(p.names(), ["prompts/plan.prompt", "plan", "planner"]);
        let p = prompt("prompts/plan.prompt", "Plan it.\n");
        assert_eq!(p.title, "plan");
    }

    #[test]
    fn ids_are_relative_paths_without_extension() {
        let root = Path::new("/lib");
        assert_eq!(
            id_for(root, Path::new("/lib/a/b/c.md")).as_deref(),
            Some("a/b/c")
        );
        assert_eq!(id_for(root, Path::new("/lib/x.md")).as_deref(), Some("x"));
        assert_eq!(id_for(root, Path::new("/lib/x.txt")), None);
        assert_eq!(id_for(root, Path::new("/other/x.md")), None);
    }
}
