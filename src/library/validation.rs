//! The rules a library prompt file must follow, shared by `promptstack validate`, the
//! `promptstack.validateLibrary` command and the editor's diagnostics.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::document::frontmatter::{self, FrontmatterError, Split};
use crate::document::placeholders;
use crate::document::{LineIndex, MAX_FILE_BYTES};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// A stable identifier (diagnostic code), e.g. `missing-title`.
    pub code: &'static str,
    pub message: String,
    /// Byte range in the file's text.
    #[serde(skip)]
    pub range: Range<usize>,
    /// One-based line of the range start.
    pub line: u32,
}

fn finding(
    text: &str,
    index: &LineIndex,
    severity: Severity,
    code: &'static str,
    range: Range<usize>,
    message: impl Into<String>,
) -> Finding {
    let line = index
        .position(text, range.start, crate::document::ColumnEncoding::Utf8)
        .line
        + 1;
    Finding {
        severity,
        code,
        message: message.into(),
        range,
        line,
    }
}

/// Checks the text of a library prompt: frontmatter, required keys, placeholders, size.
pub fn validate_prompt(text: &str) -> Vec<Finding> {
    let index = LineIndex::new(text);
    let mut out = Vec::new();
    let first_line = index.line_range(text, 0).unwrap_or(0..0);
    if text.len() > MAX_FILE_BYTES {
        out.push(finding(
            text,
            &index,
            Severity::Error,
            "file-too-large",
            first_line.clone(),
            format!(
                "file is {:.1} MB; library prompts must be at most 1 MB",
                text.len() as f64 / (1024.0 * 1024.0)
            ),
        ));
    }
    match frontmatter::split(text) {
        Split::None => out.push(finding(
            text,
            &index,
            Severity::Error,
            "missing-frontmatter",
            first_line,
            "missing frontmatter: start the file with `---`, `title: ...`, `---`",
        )),
        Split::Unterminated => out.push(finding(
            text,
            &index,
            Severity::Error,
            "unterminated-frontmatter",
            first_line,
            "frontmatter is not closed: add a `---` line after it",
        )),
        Split::Found(block) => match frontmatter::parse(&block) {
            Err(FrontmatterError::InvalidYaml { message, line }) => {
                let line = line.unwrap_or(block.first_yaml_line);
                let range = index
                    .line_range(text, line)
                    .unwrap_or(block.yaml_range.clone());
                out.push(finding(
                    text,
                    &index,
                    Severity::Error,
                    "invalid-yaml",
                    range,
                    format!("invalid YAML in frontmatter: {message}"),
                ));
            }
            Err(e) => out.push(finding(
                text,
                &index,
                Severity::Error,
                "invalid-frontmatter",
                block.block_range.start..block.block_range.start + 3,
                e.to_string(),
            )),
            Ok(fm) => {
                let fence = block.block_range.start..block.block_range.start + 3;
                if fm.title.is_none() {
                    out.push(finding(
                        text,
                        &index,
                        Severity::Error,
                        "missing-title",
                        fence.clone(),
                        "missing `title` in frontmatter",
                    ));
                }
                if fm.description.is_none() {
                    out.push(finding(
                        text,
                        &index,
                        Severity::Warning,
                        "missing-description",
                        fence.clone(),
                        "missing `description` in frontmatter",
                    ));
                }
                if fm.tags.as_ref().is_none_or(Vec::is_empty) {
                    out.push(finding(
                        text,
                        &index,
                        Severity::Warning,
                        "missing-tags",
                        fence,
                        "missing `tags` in frontmatter",
                    ));
                }
            }
        },
    }
    let parsed = placeholders::parse(text);
    for dup in parsed.duplicates() {
        let first = parsed
            .placeholders
            .iter()
            .find(|p| p.name == dup.name)
            .map(|p| {
                index
                    .position(text, p.span.start, crate::document::ColumnEncoding::Utf8)
                    .line
                    + 1
            })
            .unwrap_or(0);
        out.push(finding(
            text,
            &index,
            Severity::Error,
            "duplicate-placeholder",
            dup.span.clone(),
            format!(
                "duplicate placeholder name `{}` (first used on line {first}); each placeholder in a prompt needs its own name",
                dup.name
            ),
        ));
    }
    for problem in &parsed.problems {
        out.push(finding(
            text,
            &index,
            Severity::Warning,
            "malformed-placeholder",
            problem.span.clone(),
            problem.message(),
        ));
    }
    out.sort_by_key(|f| (f.range.start, f.severity));
    out
}

/// Findings for one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    /// Path relative to the validated root (or as given for a single file).
    pub path: PathBuf,
    #[serde(skip)]
    pub absolute: PathBuf,
    pub findings: Vec<Finding>,
}

/// The result of validating a set of files.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub files: Vec<FileReport>,
    pub errors: usize,
    pub warnings: usize,
}

impl Report {
    fn push(&mut self, file: FileReport) {
        for f in &file.findings {
            match f.severity {
                Severity::Error => self.errors += 1,
                Severity::Warning => self.warnings += 1,
            }
        }
        self.files.push(file);
    }

    /// "Total: N errors, M warnings in K files".
    pub fn summary(&self) -> String {
        format!(
            "Total: {} errors, {} warnings in {} files",
            self.errors,
            self.warnings,
            self.files.len()
        )
    }
}

/// Reads and checks one file; unreadable or non-UTF-8 files become an error finding.
pub fn validate_file(path: &Path) -> Vec<Finding> {
    let unreadable = |code: &'static str, message: String| {
        vec![Finding {
            severity: Severity::Error,
            code,
            message,
            range: 0..0,
            line: 1,
        }]
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > MAX_FILE_BYTES as u64 => {
            return unreadable(
                "file-too-large",
                format!(
                    "file is {:.1} MB; library prompts must be at most 1 MB",
                    meta.len() as f64 / (1024.0 * 1024.0)
                ),
            );
        }
        Ok(_) => {}
        Err(e) => return unreadable("unreadable", format!("cannot read file: {e}")),
    }
    match std::fs::read(path) {
        Err(e) => unreadable("unreadable", format!("cannot read file: {e}")),
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => validate_prompt(&text),
            Err(e) => unreadable(
                "not-utf8",
                format!(
                    "file is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            ),
        },
    }
}

/// Validates the Markdown files at `paths` (files, or directories walked recursively). Inside a
/// directory, symbolic links leading out of it are reported and not read, unless
/// `follow_external_symlinks`.
pub fn validate_paths(paths: &[PathBuf], follow_external_symlinks: bool) -> Report {
    let mut report = Report::default();
    for root in paths {
        if root.is_file() {
            report.push(FileReport {
                path: root.clone(),
                absolute: root.clone(),
                findings: validate_file(root),
            });
            continue;
        }
        let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
        let mut outside = Vec::new();
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| {
                if e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.') {
                    return false;
                }
                let leads_out = !follow_external_symlinks
                    && e.path_is_symlink()
                    && std::fs::canonicalize(e.path()).is_ok_and(|t| !t.starts_with(&real_root));
                if leads_out {
                    outside.push(e.path().to_path_buf());
                }
                !leads_out
            })
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "md"))
            .map(|e| e.into_path())
            .collect();
        for link in outside {
            report.push(FileReport {
                path: link.strip_prefix(root).unwrap_or(&link).to_path_buf(),
                findings: vec![Finding {
                    severity: Severity::Warning,
                    code: "link-outside-library",
                    message: "a symbolic link leading out of the library; not read (set `library.follow_external_symlinks` to follow it)".into(),
                    range: 0..0,
                    line: 1,
                }],
                absolute: link,
            });
        }
        files.sort();
        for file in files {
            let relative = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
            report.push(FileReport {
                findings: validate_file(&file),
                path: relative,
                absolute: file,
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders findings as `line severity code` for compact expectations.
    fn check(text: &str, expected: &[&str]) {
        let got: Vec<String> = validate_prompt(text)
            .iter()
            .map(|f| format!("{} {:?} {}", f.line, f.severity, f.code))
            .collect();
        assert_eq!(got, expected, "validating {text:?}");
    }

    #[test]
    fn a_complete_prompt_is_clean() {
        check(
            "---\ntitle: T\ndescription: D\ntags: [a]\n---\nUse {{text:x}} and {{list:y}}.\n",
            &[],
        );
    }

    #[test]
    fn frontmatter_rules() {
        check("# Just a heading\n", &["1 Error missing-frontmatter"]);
        check("---\ntitle: T\n", &["1 Error unterminated-frontmatter"]);
        check(
            "---\ndescription: D\n---\nbody\n",
            &["1 Error missing-title", "1 Warning missing-tags"],
        );
        let invalid = validate_prompt("---\ntitle: T\ntags: [a, b\n---\n");
        assert_eq!(invalid.len(), 1, "{invalid:?}");
        assert_eq!(invalid[0].code, "invalid-yaml");
        assert!(
            (2..=4).contains(&invalid[0].line),
            "YAML error line {}",
            invalid[0].line
        );
    }

    #[test]
    fn placeholder_rules_for_library_files() {
        check(
            "---\ntitle: T\ndescription: D\ntags: [a]\n---\n{{text:a}}\n{{text:a}} {{Text:b}}\n",
            &[
                "7 Error duplicate-placeholder",
                "7 Warning malformed-placeholder",
            ],
        );
    }

    #[test]
    fn files_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("commands")).unwrap();
        std::fs::write(
            dir.path().join("commands/ok.md"),
            "---\ntitle: T\ndescription: D\ntags: [a]\n---\nx\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("commands/bin.md"), [0xff, 0xfe, b'a']).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let report = validate_paths(&[dir.path().to_path_buf()], false);
        assert_eq!(report.files.len(), 2);
        assert_eq!(report.errors, 1);
        assert_eq!(report.files[0].path, PathBuf::from("commands/bin.md"));
        assert_eq!(report.files[0].findings[0].code, "not-utf8");
        assert_eq!(report.summary(), "Total: 1 errors, 0 warnings in 2 files");
    }
}
