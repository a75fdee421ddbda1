//! The agent files people already keep — Agent Skills, Claude Code commands and agents, VS Code
//! prompt / instruction / agent files, Cursor rules, `AGENTS.md` — recognised by path and name,
//! each checked by the rules of the tool that reads it, with its own placeholder dialect.

pub mod keys;
pub mod publish;
pub mod rules;

use std::path::{Component, Path};

use crate::document::frontmatter;
use crate::document::placeholders::Dialects;

/// One agent-file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// `<name>/SKILL.md` (Agent Skills: Claude Code, VS Code, Codex, ...).
    Skill,
    /// `.claude/commands/**/*.md`: a Claude Code slash command.
    ClaudeCommand,
    /// `.claude/agents/*.md`: a Claude Code subagent.
    ClaudeAgent,
    /// `.github/prompts/*.prompt.md`: a VS Code prompt file.
    VsCodePrompt,
    /// `.github/copilot-instructions.md`, `*.instructions.md`: VS Code custom instructions.
    VsCodeInstructions,
    /// `*.agent.md` (legacy `*.chatmode.md`): a VS Code custom agent.
    VsCodeAgent,
    /// `.cursor/rules/**/*.mdc`: a Cursor rule.
    CursorRule,
    /// `AGENTS.md`, `CLAUDE.md`, `GEMINI.md`: instructions read as plain Markdown.
    AgentsMd,
}

/// What a `library.sources` folder holds (`format:` of a `folder` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatHint {
    /// Recognise each file by its path and name.
    #[default]
    Auto,
    Skills,
    Claude,
    VsCode,
    Cursor,
}

impl FormatHint {
    /// The names accepted in configuration.
    pub const NAMES: &'static [&'static str] = &["auto", "skills", "claude", "vscode", "cursor"];

    /// The hint named `name` in configuration.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "auto" => FormatHint::Auto,
            "skills" => FormatHint::Skills,
            "claude" => FormatHint::Claude,
            "vscode" => FormatHint::VsCode,
            "cursor" => FormatHint::Cursor,
            _ => return None,
        })
    }

    /// The configuration name.
    pub fn name(self) -> &'static str {
        match self {
            FormatHint::Auto => "auto",
            FormatHint::Skills => "skills",
            FormatHint::Claude => "claude",
            FormatHint::VsCode => "vscode",
            FormatHint::Cursor => "cursor",
        }
    }
}

impl Format {
    /// Every format.
    pub const ALL: &'static [Format] = &[
        Format::Skill,
        Format::ClaudeCommand,
        Format::ClaudeAgent,
        Format::VsCodePrompt,
        Format::VsCodeInstructions,
        Format::VsCodeAgent,
        Format::CursorRule,
        Format::AgentsMd,
    ];

    /// A stable identifier (stored in the search index).
    pub fn id(self) -> &'static str {
        match self {
            Format::Skill => "skill",
            Format::ClaudeCommand => "claude-command",
            Format::ClaudeAgent => "claude-agent",
            Format::VsCodePrompt => "vscode-prompt",
            Format::VsCodeInstructions => "vscode-instructions",
            Format::VsCodeAgent => "vscode-agent",
            Format::CursorRule => "cursor-rule",
            Format::AgentsMd => "agents-md",
        }
    }

    /// The format with identifier `id`.
    pub fn from_id(id: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.id() == id)
    }

    /// How users call the format.
    pub fn label(self) -> &'static str {
        match self {
            Format::Skill => "Agent Skill",
            Format::ClaudeCommand => "Claude Code command",
            Format::ClaudeAgent => "Claude Code agent",
            Format::VsCodePrompt => "VS Code prompt file",
            Format::VsCodeInstructions => "VS Code instructions",
            Format::VsCodeAgent => "VS Code custom agent",
            Format::CursorRule => "Cursor rule",
            Format::AgentsMd => "agent instructions (AGENTS.md)",
        }
    }

    /// The tool that reads the file (named in diagnostics: "Claude Code skips this file").
    pub fn tool(self) -> &'static str {
        match self {
            Format::Skill => "Agent Skills tools (Claude Code, VS Code, Codex)",
            Format::ClaudeCommand | Format::ClaudeAgent => "Claude Code",
            Format::VsCodePrompt | Format::VsCodeInstructions | Format::VsCodeAgent => "VS Code",
            Format::CursorRule => "Cursor",
            Format::AgentsMd => "coding agents",
        }
    }

    /// The placeholder dialects the tool fills in this format (`argument_names` from the
    /// file's `arguments:`).
    pub fn dialects(self, argument_names: Vec<String>) -> Dialects {
        let arguments = matches!(self, Format::Skill | Format::ClaudeCommand);
        Dialects {
            vscode: true,
            arguments,
            argument_names: if arguments {
                argument_names
            } else {
                Vec::new()
            },
        }
    }

    /// Whether the file is a prompt a user invokes or picks (skills, commands, prompt files,
    /// agents: offered in completion), not standing instructions or rules.
    pub fn is_invocable(self) -> bool {
        matches!(
            self,
            Format::Skill
                | Format::ClaudeCommand
                | Format::ClaudeAgent
                | Format::VsCodePrompt
                | Format::VsCodeAgent
        )
    }
}

/// The names of a command's `arguments:` (a list of names, or of `{name: ...}` maps).
pub fn argument_names(
    frontmatter: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Vec<String> {
    let Some(serde_json::Value::Array(items)) = frontmatter.get("arguments") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            serde_json::Value::String(name) => Some(name.clone()),
            serde_json::Value::Object(map) => map.get("name")?.as_str().map(str::to_string),
            _ => None,
        })
        .collect()
}

/// The `arguments:` names in the frontmatter of `text`.
pub fn argument_names_in(text: &str) -> Vec<String> {
    match frontmatter::split(text) {
        frontmatter::Split::Found(block) => frontmatter::parse(&block)
            .map(|fm| argument_names(&fm.extra))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The placeholder dialects of a document: its format's (with `$name` for the `arguments:` of
/// its frontmatter), or the default ones for PromptStack's own files.
pub fn dialects_of(format: Option<Format>, text: &str) -> Dialects {
    match format {
        Some(format) => format.dialects(argument_names_in(text)),
        None => Dialects::default(),
    }
}

fn components(path: &Path) -> Vec<&str> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(p) => p.to_str(),
            _ => None,
        })
        .collect()
}

/// The format of the file at `path`, recognised by its path and name; `None` for any other file.
pub fn detect(path: &Path) -> Option<Format> {
    let parts = components(path);
    let (&name, dirs) = parts.split_last()?;
    let under = |a: &str, b: &str| dirs.windows(2).any(|w| w[0] == a && w[1] == b);
    let lower = name.to_ascii_lowercase();
    if name == "SKILL.md" && !dirs.is_empty() {
        return Some(Format::Skill);
    }
    if matches!(
        name,
        "AGENTS.md" | "CLAUDE.md" | "GEMINI.md" | "AGENTS.override.md"
    ) {
        return Some(Format::AgentsMd);
    }
    if lower.ends_with(".mdc") && under(".cursor", "rules") {
        return Some(Format::CursorRule);
    }
    if lower.ends_with(".agent.md") || lower.ends_with(".chatmode.md") {
        return Some(Format::VsCodeAgent);
    }
    if lower.ends_with(".instructions.md")
        || (name == "copilot-instructions.md" && dirs.last() == Some(&".github"))
    {
        return Some(Format::VsCodeInstructions);
    }
    if lower.ends_with(".prompt.md") && under(".github", "prompts") {
        return Some(Format::VsCodePrompt);
    }
    if !lower.ends_with(".md") {
        return None;
    }
    let claude = dirs.iter().rposition(|d| *d == ".claude")?;
    match dirs.get(claude + 1) {
        Some(&"commands") => Some(Format::ClaudeCommand),
        Some(&"agents") if dirs.len() == claude + 2 => Some(Format::ClaudeAgent),
        _ => None,
    }
}

/// The format of `relative` (a path under a `library.sources` folder of kind `hint`): by path and
/// name first, then by what the folder is said to hold. `None`: not a prompt of that folder (a
/// skill's `references/` file, a README).
pub fn detect_in(relative: &Path, hint: FormatHint) -> Option<Format> {
    if let Some(format) = detect(relative) {
        return Some(format);
    }
    let parts = components(relative);
    let name = parts.last()?.to_ascii_lowercase();
    let markdown = name.ends_with(".md");
    match hint {
        FormatHint::Auto | FormatHint::Skills => None,
        FormatHint::Claude if markdown => match parts.first() {
            Some(&"agents") if parts.len() == 2 => Some(Format::ClaudeAgent),
            Some(&"skills") => None,
            Some(&"commands") => Some(Format::ClaudeCommand),
            _ if name == "readme.md" => None,
            _ => Some(Format::ClaudeCommand),
        },
        FormatHint::VsCode if name.ends_with(".prompt.md") => Some(Format::VsCodePrompt),
        FormatHint::Cursor if name.ends_with(".mdc") => Some(Format::CursorRule),
        _ => None,
    }
}

/// The name the tools give a file: a skill's folder name (`pdf/SKILL.md` is `pdf`), a command
/// file without `.md`, a prompt file without `.prompt.md`.
pub fn file_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if file == "SKILL.md" {
        return path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(file);
    }
    let lower = file.to_ascii_lowercase();
    for suffix in [
        ".prompt.md",
        ".instructions.md",
        ".agent.md",
        ".chatmode.md",
        ".mdc",
        ".md",
    ] {
        if lower.ends_with(suffix) {
            return file[..file.len() - suffix.len()].to_string();
        }
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_by_path_and_name() {
        let cases: &[(&str, Option<Format>)] = &[
            (".github/skills/review/SKILL.md", Some(Format::Skill)),
            ("/home/a/.claude/skills/pdf/SKILL.md", Some(Format::Skill)),
            (".claude/commands/review.md", Some(Format::ClaudeCommand)),
            (
                ".claude/commands/git/commit.md",
                Some(Format::ClaudeCommand),
            ),
            (".claude/agents/reviewer.md", Some(Format::ClaudeAgent)),
            (".claude/agents/deep/x.md", None),
            (".claude/settings.md", None),
            (".github/prompts/plan.prompt.md", Some(Format::VsCodePrompt)),
            ("notes/plan.prompt.md", None),
            (
                ".github/copilot-instructions.md",
                Some(Format::VsCodeInstructions),
            ),
            ("docs/copilot-instructions.md", None),
            (
                ".github/instructions/rust.instructions.md",
                Some(Format::VsCodeInstructions),
            ),
            (".github/agents/planner.agent.md", Some(Format::VsCodeAgent)),
            (
                ".github/chatmodes/old.chatmode.md",
                Some(Format::VsCodeAgent),
            ),
            (".cursor/rules/ts.mdc", Some(Format::CursorRule)),
            (".cursor/rules/web/react.mdc", Some(Format::CursorRule)),
            ("rules/ts.mdc", None),
            ("AGENTS.md", Some(Format::AgentsMd)),
            ("src/CLAUDE.md", Some(Format::AgentsMd)),
            ("GEMINI.md", Some(Format::AgentsMd)),
            ("README.md", None),
            ("SKILL.md", None),
        ];
        for (path, expected) in cases {
            assert_eq!(detect(Path::new(path)), *expected, "{path}");
        }
    }

    #[test]
    fn detection_in_a_source_folder() {
        let cases: &[(&str, FormatHint, Option<Format>)] = &[
            ("pdf/SKILL.md", FormatHint::Skills, Some(Format::Skill)),
            ("pdf/references/forms.md", FormatHint::Skills, None),
            ("review.md", FormatHint::Claude, Some(Format::ClaudeCommand)),
            ("agents/x.md", FormatHint::Claude, Some(Format::ClaudeAgent)),
            (
                "commands/git/c.md",
                FormatHint::Claude,
                Some(Format::ClaudeCommand),
            ),
            (
                "plan.prompt.md",
                FormatHint::VsCode,
                Some(Format::VsCodePrompt),
            ),
            ("README.md", FormatHint::VsCode, None),
            ("ts.mdc", FormatHint::Cursor, Some(Format::CursorRule)),
            ("notes.md", FormatHint::Auto, None),
        ];
        for (path, hint, expected) in cases {
            assert_eq!(detect_in(Path::new(path), *hint), *expected, "{path}");
        }
    }

    #[test]
    fn file_names_are_what_the_tools_call_the_file() {
        let cases = [
            ("/x/.claude/skills/pdf-tools/SKILL.md", "pdf-tools"),
            ("/lib/skills/pdf-forms/SKILL.md", "pdf-forms"),
            ("a/plan.prompt.md", "plan"),
            ("a/Planner.agent.md", "Planner"),
            ("r/ts.mdc", "ts"),
            ("/lib/commands/create-readme.md", "create-readme"),
        ];
        for (path, expected) in cases {
            assert_eq!(file_name(Path::new(path)), expected, "{path}");
        }
    }
}
