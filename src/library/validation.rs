//! The rules a library prompt file must follow, shared by `promptstack validate`, the
//! `promptstack.validateLibrary` command and the editor's diagnostics.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::document::frontmatter::{self, FrontmatterError, Split};
use crate::document::placeholders;
use crate::document::{LineIndex, MAX_FILE_BYTES};
use crate::formats::{self, Format};

pub use crate::document::findings::{Finding, Severity};

fn finding(
    text: &str,
    index: &LineIndex,
    severity: Severity,
    code: &'static str,
    range: Range<usize>,
    message: impl Into<String>,
) -> Finding {
    Finding::new(text, index, severity, code, range, message)
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
    /// The file's format (`Agent Skill`, `Cursor rule`, ..., `PromptStack prompt`).
    pub format: &'static str,
    pub findings: Vec<Finding>,
}

/// The result of validating a set of files.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub files: Vec<FileReport>,
    pub errors: usize,
    pub warnings: usize,
    pub hints: usize,
}

impl Report {
    /// Adds the files of `other`.
    pub fn extend(&mut self, other: Report) {
        for file in other.files {
            self.push(file);
        }
    }

    fn push(&mut self, file: FileReport) {
        for f in &file.findings {
            match f.severity {
                Severity::Error => self.errors += 1,
                Severity::Warning => self.warnings += 1,
                Severity::Hint => self.hints += 1,
            }
        }
        self.files.push(file);
    }

    /// "Total: N errors, M warnings in K files" (", H hints" when there are any).
    pub fn summary(&self) -> String {
        let hints = match self.hints {
            0 => String::new(),
            n => format!(", {n} hints"),
        };
        format!(
            "Total: {} errors, {} warnings{hints} in {} files",
            self.errors,
            self.warnings,
            self.files.len()
        )
    }

    /// Per format, in order of first appearance: (format, files, errors, warnings).
    pub fn by_format(&self) -> Vec<(&'static str, usize, usize, usize)> {
        let mut out: Vec<(&'static str, usize, usize, usize)> = Vec::new();
        for file in &self.files {
            let index = match out.iter().position(|(f, ..)| *f == file.format) {
                Some(i) => i,
                None => {
                    out.push((file.format, 0, 0, 0));
                    out.len() - 1
                }
            };
            let row = &mut out[index];
            row.1 += 1;
            row.2 += file
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            row.3 += file
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count();
        }
        out
    }
}

/// The label of PromptStack's own library files in reports.
pub const PROMPTSTACK_FORMAT: &str = "PromptStack prompt";

/// Reads and checks one file of `format` by that format's rules (`None`: the library's);
/// unreadable or non-UTF-8 files become an error finding.
pub fn validate_file(path: &Path, format: Option<Format>) -> Vec<Finding> {
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
            Ok(text) => match format {
                Some(format) => {
                    let context = formats::rules::Context {
                        path,
                        workspace_root: formats::rules::workspace_root_of(path),
                    };
                    formats::rules::validate(format, &text, &context)
                }
                None => validate_prompt(&text),
            },
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

/// Hidden folders that hold agent files (walked; other hidden folders are not).
const AGENT_FOLDERS: &[&str] = &[".claude", ".github", ".cursor", ".agents", ".copilot"];

/// Validates the Markdown files at `paths` (files, or directories walked recursively), each by
/// its format. In a directory holding agent files, Markdown no format claims (READMEs, a
/// skill's `references/`) is not a prompt and is not checked; elsewhere every `.md` file is a
/// library prompt. Inside a directory, symbolic links leading out of it are reported and not
/// read, unless `follow_external_symlinks`.
pub fn validate_paths(paths: &[PathBuf], follow_external_symlinks: bool) -> Report {
    walk(paths, follow_external_symlinks, Unclaimed::Auto)
}

/// Validates the library folder: every Markdown file there is a PromptStack prompt, held to the
/// library's rules whatever its name (`rules/team.instructions.md` is a library prompt).
pub fn validate_library(library_dir: &Path, follow_external_symlinks: bool) -> Report {
    walk(
        &[library_dir.to_path_buf()],
        follow_external_symlinks,
        Unclaimed::Library,
    )
}

/// The agent files of workspace folders (those in `.claude/`, `.github/`, `.agents/`,
/// `.cursor/` and `AGENTS.md`-style files at the top) and of `folders` (`folder` sources).
/// Nothing else there is checked.
pub fn validate_agent_files(workspace_folders: &[PathBuf], folders: &[PathBuf]) -> Report {
    let mut roots = Vec::new();
    for folder in workspace_folders {
        for name in AGENT_FOLDERS
            .iter()
            .copied()
            .chain(["AGENTS.md", "CLAUDE.md", "GEMINI.md"])
        {
            let path = folder.join(name);
            if path.exists() {
                roots.push(path);
            }
        }
    }
    roots.extend(folders.iter().filter(|f| f.is_dir()).cloned());
    walk(&roots, false, Unclaimed::Skipped)
}

/// What a walk does with Markdown no agent format claims.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unclaimed {
    /// Library prompts, unless the directory holds agent files.
    Auto,
    /// Not checked.
    Skipped,
    /// The library folder: every file is a library prompt (no format is detected).
    Library,
}

fn walk(paths: &[PathBuf], follow_external_symlinks: bool, unclaimed: Unclaimed) -> Report {
    let mut report = Report::default();
    for root in paths {
        if root.is_file() {
            let format = formats::detect(root);
            report.push(FileReport {
                path: root.clone(),
                absolute: root.clone(),
                format: format.map_or(PROMPTSTACK_FORMAT, Format::label),
                findings: validate_file(root, format),
            });
            continue;
        }
        let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
        let mut outside = Vec::new();
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                let agent_folder =
                    unclaimed != Unclaimed::Library && AGENT_FOLDERS.contains(&&*name);
                if e.depth() > 0 && name.starts_with('.') && !agent_folder {
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
            .filter(|e| {
                e.file_type().is_file()
                    && e.path()
                        .extension()
                        .is_some_and(|x| x == "md" || x == "mdc")
            })
            .map(|e| e.into_path())
            .collect();
        for link in outside {
            report.push(FileReport {
                path: link.strip_prefix(root).unwrap_or(&link).to_path_buf(),
                format: PROMPTSTACK_FORMAT,
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
        let detected: Vec<Option<Format>> = match unclaimed {
            Unclaimed::Library => vec![None; files.len()],
            _ => files.iter().map(|f| formats::detect(f)).collect(),
        };
        let agent_tree = unclaimed == Unclaimed::Skipped || detected.iter().any(Option::is_some);
        for (file, format) in files.into_iter().zip(detected) {
            let relative = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
            let is_markdown = file.extension().is_some_and(|x| x == "md");
            let skipped = match unclaimed {
                Unclaimed::Library => !is_markdown,
                _ => format.is_none() && (agent_tree || !is_markdown),
            };
            if skipped {
                continue;
            }
            report.push(FileReport {
                findings: validate_file(&file, format),
                format: format.map_or(PROMPTSTACK_FORMAT, Format::label),
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

    #[test]
    fn the_library_folder_holds_library_prompts_whatever_their_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rules")).unwrap();
        std::fs::write(
            dir.path().join("rules/team.instructions.md"),
            "# No title\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("rules/ok.md"),
            "---\ntitle: T\ndescription: D\ntags: [a]\n---\nx\n",
        )
        .unwrap();
        let report = validate_library(dir.path(), false);
        let got: Vec<(String, &str)> = report
            .files
            .iter()
            .map(|f| (f.path.display().to_string(), f.format))
            .collect();
        assert_eq!(
            got,
            [
                ("rules/ok.md".to_string(), PROMPTSTACK_FORMAT),
                ("rules/team.instructions.md".to_string(), PROMPTSTACK_FORMAT)
            ]
        );
        assert_eq!(report.errors, 1, "missing frontmatter");
    }

    #[test]
    fn agent_files_are_checked_by_their_format() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            ".github/skills/pdf/SKILL.md",
            "---\nname: pdf\ndescription: PDFs\n---\nx\n",
        );
        write(
            ".github/skills/pdf/references/forms.md",
            "# no frontmatter\n",
        );
        write(".claude/agents/r.md", "---\nname: r\n---\nx\n");
        write(".cursor/rules/ts.mdc", "---\nglobs: **/*.ts\n---\nx\n");
        write("README.md", "# Repo\n");
        write(".git/x.md", "# ignored\n");
        let report = validate_paths(&[dir.path().to_path_buf()], false);
        let got: Vec<(String, &str, Vec<&str>)> = report
            .files
            .iter()
            .map(|f| {
                (
                    f.path.display().to_string(),
                    f.format,
                    f.findings.iter().map(|x| x.code).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    ".claude/agents/r.md".into(),
                    "Claude Code agent",
                    vec!["missing-key"]
                ),
                (".cursor/rules/ts.mdc".into(), "Cursor rule", vec![]),
                (".github/skills/pdf/SKILL.md".into(), "Agent Skill", vec![]),
            ]
        );
        assert_eq!(report.by_format()[0], ("Claude Code agent", 1, 1, 0));
    }
}
