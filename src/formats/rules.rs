//! Each format's rules: the mistakes that make the owning tool skip a file (or part of it)
//! without a word. Nothing here reports what the owning tool accepts.

use std::ops::Range;
use std::path::Path;

use serde_json::{Map, Value};

use super::Format;
use crate::document::findings::{Finding, Severity};
use crate::document::frontmatter::{self, FrontmatterBlock, FrontmatterError, Split};
use crate::document::{LineIndex, line_index::line_ranges};

/// Longest skill name (Agent Skills spec).
const MAX_SKILL_NAME: usize = 64;
/// Longest skill description (Agent Skills spec).
const MAX_SKILL_DESCRIPTION: usize = 1024;
/// Longest skill `compatibility` (Agent Skills spec).
const MAX_COMPATIBILITY: usize = 500;
/// A skill body longer than this is loaded whole each time: the spec suggests splitting it.
const LONG_SKILL_BODY_LINES: usize = 500;
/// Files looked at before an `applyTo` pattern is taken to match nothing.
const MAX_WORKSPACE_FILES: usize = 50_000;

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
        Split::Found(block) if format == Format::CursorRule => cursor_rule(&mut checker, &block),
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
                if let Some((map, lines)) = read_unquoted(&block) =>
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

/// Claude Code and VS Code read `argument-hint: [file] [focus]` (a common, unquoted form) as
/// text: the frontmatter with such top-level values quoted, and the lines that needed it, when
/// that makes it valid.
fn read_unquoted(block: &FrontmatterBlock<'_>) -> Option<(Map<String, Value>, Vec<u32>)> {
    let mut repaired = String::with_capacity(block.yaml.len() + 16);
    let mut lines = Vec::new();
    for (n, range) in line_ranges(block.yaml).enumerate() {
        let line = &block.yaml[range.clone()];
        let content = line.trim_end_matches(['\r', '\n']);
        let quoted = content.split_once(": ").filter(|(key, value)| {
            !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                && value
                    .trim_start()
                    .starts_with(['[', '{', '*', '&', '!', '@', '`'])
                && frontmatter::parse_yaml::<Value>(content).is_err()
        });
        match quoted {
            Some((key, value)) => {
                let value = value.trim().replace('\'', "''");
                repaired.push_str(&format!("{key}: '{value}'\n"));
                lines.push(block.first_yaml_line + n as u32);
            }
            None => {
                repaired.push_str(content);
                repaired.push('\n');
            }
        }
    }
    if lines.is_empty() {
        return None;
    }
    match frontmatter::parse_yaml::<Value>(&repaired).ok()? {
        Value::Object(map) => Some((map, lines)),
        _ => None,
    }
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
        Format::Skill => skill(checker, block, map, context, &at),
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
                apply_to(checker, pattern, root, at("applyTo"));
            }
        }
        Format::ClaudeCommand | Format::CursorRule | Format::AgentsMd => {}
    }
}

fn skill(
    checker: &mut Checker<'_>,
    block: &FrontmatterBlock<'_>,
    map: &Map<String, Value>,
    context: &Context<'_>,
    at: &dyn Fn(&str) -> Range<usize>,
) {
    let severity = required_severity(Format::Skill, context.path);
    let folder = context
        .path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match string(map, "name").map(str::trim) {
        None | Some("") => checker.push(
            severity,
            "missing-name",
            at("name"),
            format!(
                "missing `name`: the Agent Skills spec and VS Code skip a skill without it (Claude Code uses the folder name `{folder}`)"
            ),
        ),
        Some(name) if !is_skill_name(name) => checker.push(
            severity,
            "invalid-name",
            at("name"),
            format!(
                "`name` `{name}` is not a valid skill name: use at most {MAX_SKILL_NAME} lower-case letters, digits and single hyphens (`^[a-z0-9]+(-[a-z0-9]+)*$`); VS Code and other Agent Skills tools skip the skill"
            ),
        ),
        Some(name) if name != folder => checker.push(
            severity,
            "name-mismatch",
            at("name"),
            format!(
                "`name` `{name}` differs from the folder name `{folder}`: the Agent Skills spec and VS Code require them to match and skip the skill"
            ),
        ),
        Some(_) => {}
    }
    match string(map, "description").map(str::trim) {
        None | Some("") => checker.push(
            severity,
            "missing-description",
            at("description"),
            "missing `description`: agents decide when to load a skill from it; the Agent Skills spec and VS Code skip a skill without one"
                .into(),
        ),
        Some(d) if d.chars().count() > MAX_SKILL_DESCRIPTION => checker.push(
            severity,
            "description-too-long",
            at("description"),
            format!(
                "`description` is {} characters; the Agent Skills spec allows {MAX_SKILL_DESCRIPTION} and tools reject or cut longer ones",
                d.chars().count()
            ),
        ),
        Some(_) => {}
    }
    if string(map, "compatibility").is_some_and(|c| c.chars().count() > MAX_COMPATIBILITY) {
        checker.push(
            Severity::Warning,
            "compatibility-too-long",
            at("compatibility"),
            format!("`compatibility` is longer than the {MAX_COMPATIBILITY} characters the Agent Skills spec allows"),
        );
    }
    if map.get("metadata").is_some_and(|m| !m.is_object()) {
        checker.push(
            Severity::Warning,
            "metadata-not-a-map",
            at("metadata"),
            "`metadata` must be a map of keys to values (Agent Skills spec)".into(),
        );
    }
    let body = &checker.text[block.block_range.end..];
    let lines = line_ranges(body).count();
    if lines > LONG_SKILL_BODY_LINES {
        checker.push(
            Severity::Hint,
            "long-skill-body",
            fence(block),
            format!(
                "the skill body is {lines} lines; the Agent Skills spec suggests at most {LONG_SKILL_BODY_LINES} and moving details into referenced files"
            ),
        );
    }
}

/// `^[a-z0-9]+(-[a-z0-9]+)*$`, at most 64 characters.
fn is_skill_name(name: &str) -> bool {
    name.len() <= MAX_SKILL_NAME
        && !name.is_empty()
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// `applyTo` is a glob or a comma list of globs relative to the workspace root: one that matches
/// no file there never attaches the instructions.
fn apply_to(checker: &mut Checker<'_>, pattern: &Value, root: &Path, range: Range<usize>) {
    let Some(pattern) = pattern.as_str() else {
        checker.push(
            Severity::Warning,
            "apply-to-not-text",
            range,
            "VS Code expects `applyTo` as a glob or a comma list of globs, e.g. `applyTo: '**/*.ts'`"
                .into(),
        );
        return;
    };
    let mut globs = Vec::new();
    for glob in pattern.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        match globset::GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
        {
            Ok(g) => globs.push((glob, g.compile_matcher())),
            Err(e) => checker.push(
                Severity::Warning,
                "invalid-glob",
                range.clone(),
                format!(
                    "`applyTo` pattern `{glob}` is not a valid glob ({e}); VS Code never applies it"
                ),
            ),
        }
    }
    // `**` and `**/*` match every file, also in an empty workspace.
    globs.retain(|(glob, _)| !matches!(*glob, "**" | "**/*" | "*"));
    if globs.is_empty() {
        return;
    }
    let mut unmatched: Vec<_> = globs;
    let walker = ignore::WalkBuilder::new(root).hidden(false).build();
    for entry in walker.filter_map(Result::ok).take(MAX_WORKSPACE_FILES) {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(root) else {
            continue;
        };
        unmatched.retain(|(_, matcher)| !matcher.is_match(relative));
        if unmatched.is_empty() {
            return;
        }
    }
    for (glob, _) in unmatched {
        checker.push(
            Severity::Warning,
            "apply-to-no-match",
            range.clone(),
            format!(
                "`applyTo` pattern `{glob}` matches no file in the workspace: VS Code never attaches these instructions"
            ),
        );
    }
}

/// Cursor reads its frontmatter leniently (`globs: **/*.ts` unquoted is normal there), so it is
/// read line by line, never as strict YAML.
fn cursor_rule(checker: &mut Checker<'_>, block: &FrontmatterBlock<'_>) {
    let yaml = block.yaml;
    for line in line_ranges(yaml) {
        let raw = &yaml[line.clone()];
        let Some(value) = raw.strip_prefix("alwaysApply:") else {
            continue;
        };
        let value = value.trim();
        let start = block.yaml_range.start + line.start;
        let range = start..start + raw.trim_end().len();
        let message = match value {
            "true" | "false" | "" => continue,
            "\"true\"" | "'true'" | "\"false\"" | "'false'" => format!(
                "`alwaysApply: {value}` is a string: Cursor expects the boolean `{}` (without quotes) and does not apply the rule as intended",
                value.trim_matches(['"', '\''])
            ),
            other => format!("`alwaysApply: {other}`: Cursor expects `true` or `false`"),
        };
        checker.push(
            Severity::Warning,
            "always-apply-not-boolean",
            range,
            message,
        );
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
