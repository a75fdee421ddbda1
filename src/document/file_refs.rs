//! File references in compositions: where the cursor asks for a file (`[title](` or `@`), the
//! candidate files under the workspace (`.gitignore` respected, binaries skipped), fuzzy ranking,
//! and the text to insert.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Most files a walk collects, so a huge workspace cannot stall completion.
pub const MAX_WALK_FILES: usize = 5_000;
/// How much of a file is sniffed for NUL bytes to decide it is binary.
const SNIFF_BYTES: u64 = 8 * 1024;

/// What the text before the cursor asks for. Offsets are bytes into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRefContext {
    /// Inside `[title](`: `start` is just after the `(`.
    LinkTarget { start: usize, query: String },
    /// `@query` at a word start: `start` is the `@`.
    At { start: usize, query: String },
}

impl FileRefContext {
    pub fn query(&self) -> &str {
        match self {
            FileRefContext::LinkTarget { query, .. } | FileRefContext::At { query, .. } => query,
        }
    }

    pub fn start(&self) -> usize {
        match self {
            FileRefContext::LinkTarget { start, .. } | FileRefContext::At { start, .. } => *start,
        }
    }
}

fn is_path_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | '<' | '>' | '`' | '"' | '\'')
}

/// Whether the cursor at `offset` asks for a file reference.
pub fn context(text: &str, offset: usize) -> Option<FileRefContext> {
    text.get(..offset)?;
    let line_start = super::line_index::line_start(text, offset);
    let prefix = &text[line_start..offset];
    // The typed path runs back from the cursor over path characters.
    let query_start = prefix
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_path_char(*c) && *c != '@')
        .last()
        .map_or(prefix.len(), |(i, _)| i);
    let query = &prefix[query_start..];
    let before = &prefix[..query_start];
    if before.ends_with("](") {
        return Some(FileRefContext::LinkTarget {
            start: line_start + query_start,
            query: query.to_string(),
        });
    }
    if let Some(head) = before.strip_suffix('@')
        && head.chars().next_back().is_none_or(char::is_whitespace)
    {
        return Some(FileRefContext::At {
            start: line_start + query_start - 1,
            query: query.to_string(),
        });
    }
    None
}

/// A candidate file: its absolute path and its path relative to the workspace folder it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceFile {
    pub path: PathBuf,
    /// `/`-separated, relative to its workspace folder.
    pub relative: String,
}

/// Files under `roots`, honouring `.gitignore` (also outside git repositories), `.ignore` and
/// global excludes, skipping hidden files and directories; at most `limit`. Blocking.
pub fn walk(roots: &[PathBuf], limit: usize) -> Vec<WorkspaceFile> {
    let mut out = Vec::new();
    for root in roots {
        let walker = ignore::WalkBuilder::new(root)
            .hidden(true)
            .require_git(false)
            .follow_links(false)
            .build();
        for entry in walker {
            if out.len() >= limit {
                return out;
            }
            let Ok(entry) = entry else { continue };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let Some(relative) = relative_slash(entry.path(), root) else {
                continue;
            };
            out.push(WorkspaceFile {
                path: entry.path().to_path_buf(),
                relative,
            });
        }
    }
    out
}

fn relative_slash(path: &Path, root: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// Whether a file looks binary: a NUL byte in its first 8 KB. Unreadable files count as binary.
pub fn is_binary(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return true;
    };
    let mut buf = Vec::new();
    if file.take(SNIFF_BYTES).read_to_end(&mut buf).is_err() {
        return true;
    }
    buf.contains(&0)
}

/// A fuzzy score of `candidate` for `query` (case-insensitive subsequence), higher is better;
/// `None` when the query's characters do not all appear in order.
pub fn fuzzy_score(query: &str, candidate: &str) -> Option<i64> {
    if query.is_empty() {
        return Some(-(candidate.len() as i64));
    }
    let cand: Vec<char> = candidate.to_lowercase().chars().collect();
    let name_start = candidate
        .rfind('/')
        .map_or(0, |i| candidate[..=i].chars().count());
    let mut score = 0i64;
    let mut ci = 0;
    let mut previous: Option<usize> = None;
    for q in query.to_lowercase().chars() {
        let found = (ci..cand.len()).find(|&i| cand[i] == q)?;
        score += 1;
        if previous.is_some_and(|p| p + 1 == found) {
            score += 5;
        }
        if found >= name_start {
            score += 3;
        }
        if found == 0 || matches!(cand[found - 1], '/' | '-' | '_' | '.' | ' ') {
            score += 4;
        }
        previous = Some(found);
        ci = found + 1;
    }
    let lower = candidate.to_lowercase();
    if lower[lower.rfind('/').map_or(0, |i| i + 1)..].contains(&query.to_lowercase()) {
        score += 20;
    }
    Some(score * 100 - candidate.len() as i64)
}

/// Ranks `files` for `query`, drops binaries, and keeps the best `limit`. Blocking (sniffs
/// only the files it returns).
pub fn rank(files: &[WorkspaceFile], query: &str, limit: usize) -> Vec<WorkspaceFile> {
    let mut scored: Vec<(i64, &WorkspaceFile)> = files
        .iter()
        .filter_map(|f| fuzzy_score(query, &f.relative).map(|s| (s, f)))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.relative.cmp(&b.1.relative)));
    scored
        .into_iter()
        .map(|(_, f)| f)
        .filter(|f| !is_binary(&f.path))
        .take(limit)
        .cloned()
        .collect()
}

/// `path` relative to the directory `base`, `/`-separated (with `..` where needed); `None` when
/// they share no root (another drive).
pub fn relative_to(path: &Path, base: &Path) -> Option<String> {
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    if path.first() != base.first() {
        return None;
    }
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); base.len() - common];
    for c in &path[common..] {
        parts.push(c.as_os_str().to_str()?.to_string());
    }
    Some(parts.join("/"))
}

/// The Markdown link inserted for `@query`: `[file name](relative/path)`.
pub fn markdown_link(path: &Path, relative: &str) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(relative)
        .replace(['[', ']'], "");
    format!("[{name}]({})", super::links::encode_target(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(fixture: &str, expected: Option<FileRefContext>) {
        let offset = fixture.find("$0").expect("cursor marker");
        let text = fixture.replace("$0", "");
        assert_eq!(context(&text, offset), expected, "in {fixture:?}");
    }

    #[test]
    fn contexts() {
        check(
            "see [notes](do$0",
            Some(FileRefContext::LinkTarget {
                start: 12,
                query: "do".into(),
            }),
        );
        check(
            "[a]($0",
            Some(FileRefContext::LinkTarget {
                start: 4,
                query: String::new(),
            }),
        );
        check(
            "use @src/ma$0",
            Some(FileRefContext::At {
                start: 4,
                query: "src/ma".into(),
            }),
        );
        check(
            "@$0",
            Some(FileRefContext::At {
                start: 0,
                query: String::new(),
            }),
        );
        check("mail me@home$0", None);
        check("plain text$0", None);
        check("(x) y$0", None);
    }

    #[test]
    fn fuzzy() {
        assert!(fuzzy_score("nts", "docs/notes.md").is_some());
        assert!(fuzzy_score("xyz", "docs/notes.md").is_none());
        assert!(fuzzy_score("notes", "docs/notes.md") > fuzzy_score("notes", "n/o/t/e/s/other.md"));
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/w/a/b.md"), Path::new("/w")),
            Some("a/b.md".into())
        );
        assert_eq!(
            relative_to(Path::new("/w/a/b.md"), Path::new("/w/c")),
            Some("../a/b.md".into())
        );
        assert_eq!(
            markdown_link(Path::new("/w/my notes.md"), "my notes.md"),
            "[my notes.md](my%20notes.md)"
        );
    }
}
