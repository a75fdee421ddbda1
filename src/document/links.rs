//! Markdown file links (`[title](path)`) in compositions: finding them, resolving their targets
//! against the document's directory, and checking that the targets exist and are small enough.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::MAX_FILE_BYTES;
use super::line_index::line_ranges;
use super::scan::NextMatch;

/// One inline Markdown link `[title](target)`, with byte ranges into the scanned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target as written (without `<...>`), e.g. `notes/a.md#intro`.
    pub target: String,
    /// The whole `[title](target)`.
    pub span: Range<usize>,
    /// The target inside the parentheses.
    pub target_range: Range<usize>,
}

impl Link {
    /// The file path this link points at, when it is a file link (not a URL, `mailto:` or a
    /// `#anchor`); relative targets are resolved against `dir`.
    pub fn file_path(&self, dir: &Path) -> Option<PathBuf> {
        file_target_path(&self.target, dir)
    }
}

/// Scans `text` for inline links, skipping fenced code blocks and inline code spans. Linear in
/// the text's length, even on one long line full of `[`.
pub fn find(text: &str) -> Vec<Link> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in line_ranges(text) {
        let content = &text[line.clone()];
        let trimmed = content.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        } else if !in_fence {
            LineScan::new(content, line.start).scan(&mut out);
        }
    }
    out
}

/// A search in a line: the first match at or after a byte offset.
type Finder = fn(&str, usize) -> Option<usize>;

fn first_byte_of(set: &[u8], line: &str, from: usize) -> Option<usize> {
    line.as_bytes()[from..]
        .iter()
        .position(|b| set.contains(b))
        .map(|i| from + i)
}

fn title_end(line: &str, from: usize) -> Option<usize> {
    line[from..].find("](").map(|i| from + i)
}

fn opener(line: &str, from: usize) -> Option<usize> {
    first_byte_of(b"[", line, from)
}

fn angle_end(line: &str, from: usize) -> Option<usize> {
    first_byte_of(b">", line, from)
}

fn target_end(line: &str, from: usize) -> Option<usize> {
    first_byte_of(b") \t", line, from)
}

fn close_paren(line: &str, from: usize) -> Option<usize> {
    first_byte_of(b")", line, from)
}

/// One line being scanned for links, with the searches every `[` shares.
struct LineScan<'a> {
    line: &'a str,
    base: usize,
    title_ends: NextMatch<Finder>,
    openers: NextMatch<Finder>,
    angle_ends: NextMatch<Finder>,
    target_ends: NextMatch<Finder>,
    close_parens: NextMatch<Finder>,
}

impl<'a> LineScan<'a> {
    fn new(line: &'a str, base: usize) -> Self {
        LineScan {
            line,
            base,
            title_ends: NextMatch::new(title_end as Finder),
            openers: NextMatch::new(opener as Finder),
            angle_ends: NextMatch::new(angle_end as Finder),
            target_ends: NextMatch::new(target_end as Finder),
            close_parens: NextMatch::new(close_paren as Finder),
        }
    }

    fn scan(mut self, out: &mut Vec<Link>) {
        let bytes = self.line.as_bytes();
        let mut i = 0;
        let mut in_code = false;
        while i < bytes.len() {
            match bytes[i] {
                b'`' => in_code = !in_code,
                b'[' if !in_code => {
                    if let Some((link, end)) = self.link_at(i) {
                        out.push(link);
                        i = end;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// The link starting at the `[` at `open`, and the byte just after it.
    fn link_at(&mut self, open: usize) -> Option<(Link, usize)> {
        let line = self.line;
        let close = self.title_ends.at_or_after(line, open)?;
        // A nested `[` inside the title starts a different link; let the scan find it.
        if self
            .openers
            .at_or_after(line, open + 1)
            .is_some_and(|next| next < close)
        {
            return None;
        }
        let start = close + 2;
        let (target_start, target_end) = if line[start..].starts_with('<') {
            (start + 1, self.angle_ends.at_or_after(line, start + 1)?)
        } else {
            let end = self.target_ends.at_or_after(line, start)?;
            (start, end)
        };
        let after = if target_start > start {
            target_end + 1
        } else {
            target_end
        };
        let end = self.close_parens.at_or_after(line, after)? + 1;
        if target_end == target_start {
            return None;
        }
        Some((
            Link {
                target: line[target_start..target_end].to_string(),
                span: self.base + open..self.base + end,
                target_range: self.base + target_start..self.base + target_end,
            },
            end,
        ))
    }
}

/// The path of a file link target, or `None` for URLs, `mailto:`, anchors and other schemes.
pub fn file_target_path(target: &str, dir: &Path) -> Option<PathBuf> {
    if target.starts_with('#') || has_scheme(target) {
        return None;
    }
    let without_fragment = target.split(['#', '?']).next().unwrap_or_default();
    if without_fragment.is_empty() {
        return None;
    }
    let decoded = percent_decode(without_fragment);
    let path = Path::new(&decoded);
    Some(normalize_path(&if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }))
}

/// `path` with `.` segments dropped and each `..` taking away the segment before it, the way
/// editors name files: `/w/prompts/../docs/a.md` is `/w/docs/a.md`. Purely lexical (no file
/// system access); a `..` above the root stays at the root.
pub fn normalize_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    // A relative path keeps the `..` it cannot resolve.
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `scheme:` as in URLs (`https:`, `mailto:`, `file:`); a Windows drive letter is not one.
fn has_scheme(target: &str) -> bool {
    let Some((scheme, _)) = target.split_once(':') else {
        return false;
    };
    scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Decodes `%XX` escapes (how editors write spaces in link targets); bad escapes stay as typed.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// Escapes a relative path for use as a link target (spaces and parentheses would end it).
pub fn encode_target(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// What is wrong with a file link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblemKind {
    /// The target does not exist.
    Missing,
    /// The target is a file over [`MAX_FILE_BYTES`]; the size in bytes.
    TooLarge(u64),
}

/// A file link with a problem, at the target's byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkProblem {
    pub kind: LinkProblemKind,
    pub range: Range<usize>,
    pub path: PathBuf,
}

impl LinkProblem {
    /// A stable code for diagnostics.
    pub fn code(&self) -> &'static str {
        match self.kind {
            LinkProblemKind::Missing => "broken-link",
            LinkProblemKind::TooLarge(_) => "linked-file-too-large",
        }
    }

    /// A one-line explanation for users.
    pub fn message(&self) -> String {
        match self.kind {
            LinkProblemKind::Missing => {
                format!("broken link: {} does not exist", self.path.display())
            }
            LinkProblemKind::TooLarge(size) => format!(
                "linked file {} is {:.1} MB; PromptStack reads files up to 1 MB",
                self.path.display(),
                size as f64 / (1024.0 * 1024.0)
            ),
        }
    }
}

/// Checks every file link in `text` against the file system (relative to `dir`). Reads only
/// metadata; blocking, so run it off the protocol loop.
pub fn check(text: &str, dir: &Path) -> Vec<LinkProblem> {
    find(text)
        .into_iter()
        .filter_map(|link| {
            let path = link.file_path(dir)?;
            let kind = match std::fs::metadata(&path) {
                Err(_) => LinkProblemKind::Missing,
                Ok(meta) if meta.is_file() && meta.len() > MAX_FILE_BYTES as u64 => {
                    LinkProblemKind::TooLarge(meta.len())
                }
                Ok(_) => return None,
            };
            Some(LinkProblem {
                kind,
                range: link.target_range,
                path,
            })
        })
        .collect()
}

/// The link whose span contains `offset` (end inclusive).
pub fn at(text: &str, offset: usize) -> Option<Link> {
    find(text)
        .into_iter()
        .find(|l| l.span.start <= offset && offset <= l.span.end)
}

/// The first `max_lines` lines of a file, for previews; `None` if it cannot be read as text.
/// Reads at most 64 KB so a huge file cannot stall a request.
pub fn preview(path: &Path, max_lines: usize) -> Option<(String, bool)> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    file.take(64 * 1024).read_to_end(&mut buf).ok()?;
    if buf.contains(&0) {
        return None;
    }
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    let truncated = lines.len() > max_lines;
    Some((lines[..lines.len().min(max_lines)].join("\n"), truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(text: &str) -> Vec<(String, &str)> {
        find(text)
            .into_iter()
            .map(|l| (l.target.clone(), &text[l.target_range.clone()]))
            .collect()
    }

    #[test]
    fn finds_links() {
        assert_eq!(
            targets("see [a](notes/a.md) and [b](<my file.md>) [c](x.md \"t\")"),
            vec![
                ("notes/a.md".into(), "notes/a.md"),
                ("my file.md".into(), "my file.md"),
                ("x.md".into(), "x.md"),
            ]
        );
        assert!(targets("```\n[a](b.md)\n```\n`[c](d.md)`").is_empty());
        assert!(targets("[a]() [b](unclosed").is_empty());
        assert_eq!(targets("é [ü](ö.md)"), vec![("ö.md".into(), "ö.md")]);
        assert_eq!(
            targets("```\r[a](b.md)\r```\r[c](d.md)\r"),
            vec![("d.md".into(), "d.md")]
        );
        assert_eq!(targets("[a](b\rc.md)"), Vec::<(String, &str)>::new());
        assert_eq!(targets("[[a](b.md)"), vec![("b.md".into(), "b.md")]);
    }

    #[test]
    fn long_lines_of_brackets() {
        // 100,000 `[` took 8.5 s before (a search for `](` from each); benches/documents.rs
        // measures the speed.
        assert!(targets(&"[".repeat(100_000)).is_empty());
        assert!(targets(&"[a](b ".repeat(50_000)).is_empty());
        assert_eq!(targets(&"[a](b) ".repeat(50_000)).len(), 50_000);
    }

    #[test]
    fn file_targets() {
        let dir = Path::new("/w");
        assert_eq!(
            file_target_path("a.md", dir),
            Some(PathBuf::from("/w/a.md"))
        );
        assert_eq!(
            file_target_path("my%20file.md#x", dir),
            Some(PathBuf::from("/w/my file.md"))
        );
        assert_eq!(
            file_target_path("/etc/x", dir),
            Some(PathBuf::from("/etc/x"))
        );
        assert_eq!(file_target_path("https://x.org", dir), None);
        assert_eq!(file_target_path("mailto:a@b", dir), None);
        assert_eq!(file_target_path("#anchor", dir), None);
        assert_eq!(
            file_target_path("../docs/./guide.md", Path::new("/w/prompts")),
            Some(PathBuf::from("/w/docs/guide.md"))
        );
    }

    #[test]
    fn normalizes_paths() {
        let cases = [
            ("/w/prompts/../docs/guide.md", "/w/docs/guide.md"),
            ("/w/./a/b/../../c.md", "/w/c.md"),
            ("/../../etc/x", "/etc/x"),
            ("/w/a/", "/w/a"),
            ("a/../../b", "../b"),
            ("/", "/"),
        ];
        for (path, want) in cases {
            assert_eq!(
                normalize_path(Path::new(path)),
                PathBuf::from(want),
                "{path}"
            );
        }
    }

    #[test]
    fn checks_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok.md"), "x").unwrap();
        std::fs::write(dir.path().join("big.txt"), vec![b'a'; MAX_FILE_BYTES + 1]).unwrap();
        let text = "[a](ok.md) [b](gone.md) [c](big.txt) [d](https://x)";
        let problems = check(text, dir.path());
        let codes: Vec<_> = problems.iter().map(|p| p.code()).collect();
        assert_eq!(codes, vec!["broken-link", "linked-file-too-large"]);
        assert_eq!(&text[problems[0].range.clone()], "gone.md");
    }
}
