//! The frontmatter keys each format accepts, and what each does in which tool (for hover and
//! completion).

use super::Format;

/// One frontmatter key of a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDoc {
    pub name: &'static str,
    /// What the key does, and in which tool.
    pub doc: &'static str,
}

const fn key(name: &'static str, doc: &'static str) -> KeyDoc {
    KeyDoc { name, doc }
}

const SKILL: &[KeyDoc] = &[
    key(
        "name",
        "Required by the Agent Skills spec and VS Code: lower-case letters, digits and single hyphens, at most 64 characters, equal to the skill's folder name. Claude Code uses it as the `/name` command and falls back to the folder name.",
    ),
    key(
        "description",
        "Required (at most 1024 characters): what the skill does and when to use it. Agents read it to decide when to load the skill; Claude Code falls back to the first paragraph.",
    ),
    key(
        "license",
        "Agent Skills spec: the license name, or the bundled license file.",
    ),
    key(
        "compatibility",
        "Agent Skills spec: environment requirements (at most 500 characters), e.g. the products or system packages the skill needs.",
    ),
    key(
        "metadata",
        "Agent Skills spec: a map of extra string keys and values (author, version, ...) that tools keep but do not interpret.",
    ),
    key(
        "allowed-tools",
        "Agent Skills spec (experimental), Claude Code: tools the agent may use without asking while the skill is active, e.g. `Read, Grep, Bash(git:*)`.",
    ),
    key(
        "argument-hint",
        "Claude Code, VS Code: the hint shown after `/name` when the skill is invoked, e.g. `[issue-number]`.",
    ),
    key(
        "arguments",
        "Claude Code: named arguments; each name can be used as `$name` in the body.",
    ),
    key(
        "model",
        "Claude Code: the model used while the skill runs (`sonnet`, `opus`, `haiku` or a model id).",
    ),
    key(
        "disable-model-invocation",
        "Claude Code, VS Code: `true` lets only the user invoke the skill (`/name`); the model never loads it by itself.",
    ),
    key(
        "user-invocable",
        "Claude Code, VS Code: `false` hides the skill from the `/` menu; the model can still load it.",
    ),
    key(
        "context",
        "Claude Code: `fork` runs the skill in a subagent with its own context.",
    ),
    key(
        "agent",
        "Claude Code: the subagent type used with `context: fork` (`Explore`, `Plan` or a custom agent).",
    ),
    key(
        "hooks",
        "Claude Code: lifecycle hooks active while the skill runs.",
    ),
];

const CLAUDE_COMMAND: &[KeyDoc] = &[
    key(
        "description",
        "Claude Code: shown in the `/` menu; defaults to the first line of the body.",
    ),
    key(
        "argument-hint",
        "Claude Code: the arguments shown after `/command`, e.g. `[pr-number] [priority]`.",
    ),
    key(
        "allowed-tools",
        "Claude Code: tools the command may use without asking, e.g. `Bash(git add:*), Bash(git commit:*)`.",
    ),
    key(
        "model",
        "Claude Code: the model the command runs with (`sonnet`, `opus`, `haiku` or a model id).",
    ),
    key(
        "disable-model-invocation",
        "Claude Code: `true` keeps the model from running the command through the SlashCommand tool.",
    ),
    key(
        "arguments",
        "Claude Code: named arguments; each name can be used as `$name` in the body.",
    ),
];

const CLAUDE_AGENT: &[KeyDoc] = &[
    key(
        "name",
        "Claude Code: required — the agent's unique name (lower-case letters and hyphens).",
    ),
    key(
        "description",
        "Claude Code: required — when Claude should delegate to this agent.",
    ),
    key(
        "tools",
        "Claude Code: the tools the agent may use (comma list); all tools when left out.",
    ),
    key(
        "disallowedTools",
        "Claude Code: tools taken away from the agent.",
    ),
    key(
        "model",
        "Claude Code: `sonnet`, `opus`, `haiku`, `inherit` or a model id.",
    ),
    key(
        "permissionMode",
        "Claude Code: how the agent asks for permissions (`default`, `acceptEdits`, `plan`, ...).",
    ),
    key(
        "skills",
        "Claude Code: skills loaded into the agent's context when it starts.",
    ),
    key("hooks", "Claude Code: lifecycle hooks scoped to the agent."),
    key("color", "Claude Code: the colour the agent is shown in."),
];

const VSCODE_PROMPT: &[KeyDoc] = &[
    key("description", "VS Code: a short description of the prompt."),
    key(
        "name",
        "VS Code: the name typed after `/` in chat; the file name when left out.",
    ),
    key(
        "argument-hint",
        "VS Code: the hint shown in the chat input after `/name`.",
    ),
    key(
        "agent",
        "VS Code: the agent the prompt runs with: `ask`, `edit`, `agent` or a custom agent's name.",
    ),
    key(
        "mode",
        "VS Code (legacy): the old name of `agent`; still read, rename it to `agent`.",
    ),
    key(
        "model",
        "VS Code: the language model; the one selected in chat when left out.",
    ),
    key(
        "tools",
        "VS Code: the tools or tool sets available to the prompt (a list of names).",
    ),
];

const VSCODE_INSTRUCTIONS: &[KeyDoc] = &[
    key(
        "applyTo",
        "VS Code: a glob (or comma list of globs, relative to the workspace root) of the files these instructions apply to; `**` applies them to every request.",
    ),
    key(
        "description",
        "VS Code: a short description, shown on hover and used to pick instructions.",
    ),
    key(
        "name",
        "VS Code: the name shown in the UI; the file name when left out.",
    ),
    key(
        "excludeAgent",
        "VS Code / GitHub Copilot: the agent that does not read these instructions (`code-review` or `coding-agent`).",
    ),
];

const VSCODE_AGENT: &[KeyDoc] = &[
    key(
        "description",
        "VS Code: a short description, shown as placeholder text in the chat input.",
    ),
    key(
        "name",
        "VS Code: the agent's name; the file name when left out.",
    ),
    key(
        "argument-hint",
        "VS Code: the hint shown in the chat input when the agent is selected.",
    ),
    key(
        "tools",
        "VS Code: the tools or tool sets the agent may use (a list of names).",
    ),
    key("model", "VS Code: the language model the agent uses."),
    key(
        "handoffs",
        "VS Code: buttons that move to another agent after a response (`label`, `agent`, `prompt`, `send`).",
    ),
    key(
        "target",
        "VS Code: where the agent runs (`vscode` or `github-copilot`).",
    ),
    key(
        "infer",
        "VS Code: whether the agent may be used as a subagent.",
    ),
    key(
        "mcp-servers",
        "GitHub Copilot coding agent: MCP servers available to the agent.",
    ),
];

const CURSOR_RULE: &[KeyDoc] = &[
    key(
        "description",
        "Cursor: when the agent should pull the rule in (an *Agent Requested* rule needs it).",
    ),
    key(
        "globs",
        "Cursor: file patterns (comma list, unquoted like `**/*.ts` is normal) that attach the rule automatically.",
    ),
    key(
        "alwaysApply",
        "Cursor: `true` adds the rule to every request; must be the boolean `true` / `false`, not a string.",
    ),
];

/// The keys `format` accepts (empty for formats without frontmatter).
pub fn keys(format: Format) -> &'static [KeyDoc] {
    match format {
        Format::Skill => SKILL,
        Format::ClaudeCommand => CLAUDE_COMMAND,
        Format::ClaudeAgent => CLAUDE_AGENT,
        Format::VsCodePrompt => VSCODE_PROMPT,
        Format::VsCodeInstructions => VSCODE_INSTRUCTIONS,
        Format::VsCodeAgent => VSCODE_AGENT,
        Format::CursorRule => CURSOR_RULE,
        Format::AgentsMd => &[],
    }
}

/// What `key` does in `format`, if the format knows it.
pub fn doc(format: Format, key: &str) -> Option<&'static KeyDoc> {
    keys(format).iter().find(|k| k.name == key)
}
