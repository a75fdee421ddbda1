//! Each format's rules: the mistakes that make the owning tool skip a file (or part of it)
//! without a word. Nothing here reports what the owning tool accepts.

use std::ops::Range;
use std::path::Path;

use serde_json::{Map, Value};

mod apply_to;
mod lenient;
mod skill;

use super::Format;
use crate::document::LineIndex;
use crate::document::findings::{Finding, Severity};
use crate::document::frontmatter::{self, FrontmatterBlock, FrontmatterError, Split};

/// What the rules need besides the text.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The file's path (folder names matter to skills, `.claude/` to their severity).
    pub path: &'a Path,
    /// The workspace the file belongs to, for `applyTo` patterns (`None`: not checked).
    pub workspace_root: Option<&'a Path>,
}

/// The workspace root an agent file at `path` belongs to: the folder holding its `.github`,
/// `.claude` or `.cursor` folder, else the file's own folder.
pub fn workspace_root_of(path: &Path) -> Option<&Path> {
    path.ancestors()
        .find(|dir| {
            dir.file_name()
                .is_some_and(|n| matches!(n.to_str(), Some(".github" | ".claude" | ".cursor")))
        })
        .and_then(Path::parent)
        .or_else(|| path.parent())
}

/// Findings being collected for one file.
struct Checker<'a> {
    text: &'a str,
    index: LineIndex,
    format: Format,
    out: Vec<Finding>,
}

impl Checker<'_> {
    fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        range: Range<usize>,
        message: String,
    ) {
        let finding = Finding::new(self.text, &self.index, severity, code, range, message);
        self.out.push(finding);
    }

    fn first_line(&self) -> Range<usize> {
        self.index.line_range(self.text, 0).unwrap_or(0..0)
    }

    fn tool(&self) -> &'static str {
        self.format.tool()
    }
}

/// The findings for `text`, a file of `format`.
pub fn validate(format: Format, text: &str, context: &Context<'_>) -> Vec<Finding> {
    let mut checker = Checker {
        text,
        index: LineIndex::new(text),
        format,
        out: Vec::new(),
    };
    if text.starts_with('\u{feff}') {
        let (severity, effect) = if format == Format::AgentsMd {
            (Severity::Warning, "reads the mark as text")
        } else {
            (
                Severity::Error,
                "does not see the frontmatter after it and skips the file's settings",
            )
        };
        let message = format!(
            "the file starts with a UTF-8 byte-order mark: {} {effect}; save it as UTF-8 without BOM",
            checker.tool()
        );
        checker.push(severity, "byte-order-mark", 0..3, message);
    }
    match frontmatter::split(text) {
        Split::None => missing_frontmatter(&mut checker, context),
        Split::Unterminated => {
            let message = format!(
                "the frontmatter is not closed: {} reads the whole file as text; add a `---` line after it",
                checker.tool()
            );
            let range = checker.first_line();
            checker.push(Severity::Error, "unterminated-frontmatter", range, message);
        }
        Split::Found(block) if format == Format::CursorRule => {
            lenient::cursor_rule(&mut checker, &block)
        }
        Split::Found(block) if format == Format::AgentsMd => {
            let message = format!(
                "{} read AGENTS.md-style files as plain Markdown: this frontmatter is passed on as text",
                checker.tool()
            );
            checker.push(
                Severity::Hint,
                "frontmatter-ignored",
                fence(&block),
                message,
            );
        }
        Split::Found(block) => match frontmatter::parse_map(&block) {
            Ok(map) => keys(&mut checker, &block, &map, context),
            Err(FrontmatterError::InvalidYaml { .. })
                if let Some((map, lines)) = lenient::read_unquoted(&block) =>
            {
                for line in lines {
                    let range = checker
                        .index
                        .line_range(text, line)
                        .unwrap_or(fence(&block));
                    checker.push(
                        Severity::Hint,
                        "unquoted-value",
                        range,
                        format!(
                            "this value is not valid YAML as written; {} reads it as text, stricter readers (such as the Agent Skills reference validator) reject the file: quote it",
                            checker.tool()
                        ),
                    );
                }
                keys(&mut checker, &block, &map, context);
            }
            Err(FrontmatterError::InvalidYaml { message, line }) => {
                let line = line.unwrap_or(block.first_yaml_line);
                let range = checker
                    .index
                    .line_range(text, line)
                    .unwrap_or(block.yaml_range.clone());
                let message = format!(
                    "invalid YAML in the frontmatter: {message}; {} skips {}",
                    checker.tool(),
                    skipped_part(format)
                );
                checker.push(Severity::Error, "invalid-yaml", range, message);
            }
            Err(e) => {
                let message = format!("{e}; {} skips {}", checker.tool(), skipped_part(format));
                checker.push(
                    Severity::Error,
                    "invalid-frontmatter",
                    fence(&block),
                    message,
                );
            }
        },
    }
    if format == Format::VsCodeAgent
        && context
            .path
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with(".chatmode.md")
    {
        let range = checker.first_line();
        checker.push(
            Severity::Hint,
            "legacy-chatmode",
            range,
            "`.chatmode.md` is the legacy name of custom agents: rename the file to `.agent.md`"
                .into(),
        );
    }
    checker.out.sort_by_key(|f| (f.range.start, f.severity));
    checker.out
}

/// What the tool loses when the frontmatter cannot be read.
fn skipped_part(format: Format) -> &'static str {
    match format {
        Format::Skill => "the skill (it has no name or description without it)",
        Format::ClaudeAgent => "the agent (it has no name or description without it)",
        _ => "the file's settings",
    }
}

fn fence(block: &FrontmatterBlock<'_>) -> Range<usize> {
    block.block_range.start..block.block_range.start + 3
}

fn missing_frontmatter(checker: &mut Checker<'_>, context: &Context<'_>) {
    let required = match checker.format {
        Format::Skill => "`name` and `description`",
        Format::ClaudeAgent => "`name` and `description`",
        _ => return,
    };
    let severity = required_severity(checker.format, context.path);
    let message = format!(
        "missing frontmatter: {} needs {required} in a `---` block at the top, or skips the file",
        checker.tool()
    );
    let range = checker.first_line();
    checker.push(severity, "missing-frontmatter", range, message);
}

/// Claude Code falls back to the folder name and the first paragraph for a skill; every other
/// reader of Agent Skills skips it.
fn required_severity(format: Format, path: &Path) -> Severity {
    let claude_skill =
        format == Format::Skill && path.components().any(|c| c.as_os_str() == ".claude");
    if claude_skill {
        Severity::Warning
    } else {
        Severity::Error
    }
}

fn string<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    map.get(key).and_then(Value::as_str)
}

fn keys(
    checker: &mut Checker<'_>,
    block: &FrontmatterBlock<'_>,
    map: &Map<String, Value>,
    context: &Context<'_>,
) {
    let text = checker.text;
    let at = |key: &str| frontmatter::key_range(text, block, key).unwrap_or_else(|| fence(block));
    match checker.format {
        Format::Skill => skill::skill(checker, block, map, context, &at),
        Format::ClaudeAgent => {
            for key in ["name", "description"] {
                if string(map, key).is_none_or(|v| v.trim().is_empty()) {
                    let message = format!(
                        "missing `{key}`: Claude Code does not load an agent without `name` and `description`"
                    );
                    checker.push(Severity::Error, "missing-key", at(key), message);
                }
            }
        }
        Format::VsCodePrompt | Format::VsCodeAgent => {
            if map.contains_key("mode") && checker.format == Format::VsCodePrompt {
                checker.push(
                    Severity::Hint,
                    "legacy-mode",
                    at("mode"),
                    "`mode` is the legacy name of `agent`: VS Code still reads it; rename it to `agent`"
                        .into(),
                );
            }
            if map
                .get("tools")
                .is_some_and(|t| !t.is_array() && !t.is_null())
            {
                checker.push(
                    Severity::Warning,
                    "tools-not-a-list",
                    at("tools"),
                    "VS Code expects `tools` as a list, e.g. `tools: ['search', 'edit']`".into(),
                );
            }
        }
        Format::VsCodeInstructions => {
            if let (Some(pattern), Some(root)) = (map.get("applyTo"), context.workspace_root) {
                apply_to::apply_to(checker, pattern, root, at("applyTo"));
            }
        }
        Format::ClaudeCommand | Format::CursorRule | Format::AgentsMd => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validates `text` as `format` at `path` and renders findings as `line severity code`.
    fn check(format: Format, path: &str, text: &str, expected: &[&str]) {
        let context = Context {
            path: Path::new(path),
            workspace_root: None,
        };
        let got: Vec<String> = validate(format, text, &context)
            .iter()
            .map(|f| format!("{} {:?} {}", f.line, f.severity, f.code))
            .collect();
        assert_eq!(got, expected, "validating {path}: {text:?}");
    }

    const SKILL_PATH: &str = "/w/.github/skills/pdf-tools/SKILL.md";

    #[test]
    fn skills() {
        let ok = "---\nname: pdf-tools\ndescription: Fill PDF forms.\nlicense: MIT\nmetadata:\n  author: a\n---\n# PDF\n";
        check(Format::Skill, SKILL_PATH, ok, &[]);
        check(
            Format::Skill,
            SKILL_PATH,
            "---\ndescription: d\n---\n",
            &["1 Error missing-name"],
        );
        check(
            Format::Skill,
            SKILL_PATH,
            "---\nname: PDF_Tools\ndescription: d\n---\n",
            &["2 Error invalid-name"],
        );
        check(
            Format::Skill,
            SKILL_PATH,
            "---\nname: pdf\ndescription: d\n---\n",
            &["2 Error name-mismatch"],
        );
        check(
            Format::Skill,
            SKILL_PATH,
            &format!(
                "---\nname: pdf-tools\ndescription: {}\n---\n",
                "x".repeat(1025)
            ),
            &["3 Error description-too-long"],
        );
        check(
            Format::Skill,
            SKILL_PATH,
            &format!("\u{feff}{ok}"),
            &["1 Error byte-order-mark"],
        );
        check(
            Format::Skill,
            SKILL_PATH,
            "---\nname: pdf-tools\ndescription: \"unclosed\n---\n",
            &["3 Error invalid-yaml"],
        );
        check(
            Format::Skill,
            SKILL_PATH,
            "# no frontmatter\n",
            &["1 Error missing-frontmatter"],
        );
        // Claude Code falls back to the folder name: a warning there, not an error.
        check(
            Format::Skill,
            "/w/.claude/skills/pdf-tools/SKILL.md",
            "---\ndescription: d\n---\n",
            &["1 Warning missing-name"],
        );
        let long = format!("{ok}{}", "line\n".repeat(501));
        check(
            Format::Skill,
            SKILL_PATH,
            &long,
            &["1 Hint long-skill-body"],
        );
    }

    #[test]
    fn unquoted_argument_hints_are_read_as_text() {
        check(
            Format::ClaudeCommand,
            "/w/.claude/commands/x.md",
            "---\nargument-hint: [pr-number] [priority]\ndescription: Review\n---\nx",
            &["2 Hint unquoted-value"],
        );
        check(
            Format::ClaudeAgent,
            "/w/.claude/agents/r.md",
            "---\nname: r\ndescription: [a] b\n---\nx",
            &["3 Hint unquoted-value"],
        );
    }

    #[test]
    fn claude_commands_and_agents() {
        check(
            Format::ClaudeCommand,
            "/w/.claude/commands/x.md",
            "Review $ARGUMENTS\n",
            &[],
        );
        check(
            Format::ClaudeCommand,
            "/w/.claude/commands/x.md",
            "---\nallowed-tools: Bash(git add:*), Bash(git commit:*)\nargument-hint: [message]\n---\nx",
            &[],
        );
        check(
            Format::ClaudeAgent,
            "/w/.claude/agents/r.md",
            "---\nname: reviewer\ndescription: Reviews code\ntools: Read, Grep\n---\nYou review.",
            &[],
        );
        check(
            Format::ClaudeAgent,
            "/w/.claude/agents/r.md",
            "---\nname: reviewer\n---\nYou review.",
            &["1 Error missing-key"],
        );
    }

    #[test]
    fn vscode_files() {
        check(
            Format::VsCodePrompt,
            "/w/.github/prompts/p.prompt.md",
            "---\nagent: agent\ntools: ['search']\n---\nDo ${input:task:the task}",
            &[],
        );
        check(
            Format::VsCodePrompt,
            "/w/.github/prompts/p.prompt.md",
            "---\nmode: edit\n---\nx",
            &["2 Hint legacy-mode"],
        );
        check(
            Format::VsCodeAgent,
            "/w/.github/chatmodes/p.chatmode.md",
            "---\ndescription: d\n---\nx",
            &["1 Hint legacy-chatmode"],
        );
        check(
            Format::VsCodeInstructions,
            "/w/.github/copilot-instructions.md",
            "Use tabs.\n",
            &[],
        );
    }

    #[test]
    fn apply_to_patterns_are_matched_against_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/main.rs"), "").unwrap();
        let path = dir.path().join(".github/instructions/rust.instructions.md");
        let context = Context {
            path: &path,
            workspace_root: workspace_root_of(&path),
        };
        let codes = |text: &str| -> Vec<&'static str> {
            validate(Format::VsCodeInstructions, text, &context)
                .iter()
                .map(|f| f.code)
                .collect()
        };
        assert_eq!(codes("---\napplyTo: '**/*.rs'\n---\n"), Vec::<&str>::new());
        assert_eq!(codes("---\napplyTo: '**'\n---\n"), Vec::<&str>::new());
        assert_eq!(
            codes("---\napplyTo: 'src/**/*.rs, **/*.ts'\n---\n"),
            vec!["apply-to-no-match"]
        );
    }

    #[test]
    fn cursor_rules_are_lenient() {
        let path = "/w/.cursor/rules/ts.mdc";
        check(
            Format::CursorRule,
            path,
            "---\ndescription: TS rules\nglobs: **/*.ts, **/*.tsx\nalwaysApply: false\n---\nUse strict.",
            &[],
        );
        check(
            Format::CursorRule,
            path,
            "---\nglobs:\nalwaysApply: \"true\"\n---\nx",
            &["3 Warning always-apply-not-boolean"],
        );
    }

    #[test]
    fn agents_md() {
        check(
            Format::AgentsMd,
            "/w/AGENTS.md",
            "# Build\n\nRun `make`.\n",
            &[],
        );
        check(
            Format::AgentsMd,
            "/w/AGENTS.md",
            "\u{feff}# Build\n",
            &["1 Warning byte-order-mark"],
        );
    }
}
