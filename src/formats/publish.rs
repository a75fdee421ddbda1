//! The shapes `promptstack publish` writes: one library prompt as the file another tool reads
//! (an Agent Skill folder, a Claude Code command, a VS Code prompt file, a Cursor rule), with
//! `{{text:x}}` / `{{list:x}}` turned into that tool's variables — which this crate's own
//! readers turn back into placeholders (`$x` with `arguments:`, `${input:x}`).

use std::collections::{BTreeMap, HashSet};

use crate::document::placeholders::{self, Dialect};

/// Where a publish writes to: the shape of each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Skills,
    ClaudeCommands,
    VsCodePrompts,
    CursorRules,
}

impl Target {
    /// The names `--to` accepts.
    pub const NAMES: &'static [&'static str] = &[
        "skills",
        "claude-commands",
        "vscode-prompts",
        "cursor-rules",
    ];

    pub fn from_name(name: &str) -> Option<Target> {
        Some(match name {
            "skills" => Target::Skills,
            "claude-commands" => Target::ClaudeCommands,
            "vscode-prompts" => Target::VsCodePrompts,
            "cursor-rules" => Target::CursorRules,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Target::Skills => "skills",
            Target::ClaudeCommands => "claude-commands",
            Target::VsCodePrompts => "vscode-prompts",
            Target::CursorRules => "cursor-rules",
        }
    }
}

/// What a prompt is made of, as publish needs it.
#[derive(Debug, Clone)]
pub struct Publishable<'a> {
    /// The library id (`commands/review`, `team:commands/review`).
    pub id: &'a str,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub body: &'a str,
}

/// Lower-case letters, digits and single hyphens, at most 64 characters: a valid Agent Skills
/// `name` (and a tidy file name for the other shapes). `None` when nothing usable is left.
pub fn slug(text: &str) -> Option<String> {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_end_matches('-').chars().take(64).collect();
    while out.ends_with('-') {
        out.pop();
    }
    (!out.is_empty()).then_some(out)
}

/// `body` with its `{{text:x}}` / `{{list:x}}` placeholders in `target`'s variables, and the
/// placeholder names in order of first use. Other text (including other dialects) is kept.
pub fn convert_placeholders(body: &str, target: Target) -> (String, Vec<String>) {
    let parsed = placeholders::parse(body);
    let mut out = String::with_capacity(body.len());
    let mut names = Vec::new();
    let mut at = 0;
    for p in parsed
        .placeholders
        .iter()
        .filter(|p| p.dialect == Dialect::PromptStack)
    {
        out.push_str(&body[at..p.span.start]);
        match target {
            Target::Skills | Target::ClaudeCommands => out.push_str(&format!("${}", p.name)),
            Target::VsCodePrompts => out.push_str(&format!("${{input:{}}}", p.name)),
            // Cursor fills no variables: the placeholder stays for a person to replace.
            Target::CursorRules => out.push_str(&body[p.span.clone()]),
        }
        if !names.contains(&p.name) {
            names.push(p.name.clone());
        }
        at = p.span.end;
    }
    out.push_str(&body[at..]);
    (out, names)
}

/// The file names (relative, `/`-separated) and texts of `prompts` published as `target`. Names
/// are the slug of the prompt's last id part, made unique with its full id, then a number.
pub fn render_all(prompts: &[Publishable<'_>], target: Target) -> BTreeMap<String, String> {
    let mut taken = HashSet::new();
    let mut out = BTreeMap::new();
    for prompt in prompts {
        let last = prompt.id.rsplit(['/', ':']).next().unwrap_or(prompt.id);
        let base = slug(last)
            .or_else(|| slug(prompt.title))
            .unwrap_or_else(|| "prompt".to_string());
        let full = slug(prompt.id).unwrap_or_else(|| base.clone());
        let name = std::iter::once(base.clone())
            .chain(std::iter::once(full.clone()))
            .chain((2..).map(|n| {
                let suffix = format!("-{n}");
                let keep = 64usize.saturating_sub(suffix.len());
                format!("{}{suffix}", full.chars().take(keep).collect::<String>())
            }))
            .find(|n| n.len() <= 64 && !taken.contains(n))
            .unwrap_or(base);
        taken.insert(name.clone());
        let (path, text) = render(prompt, &name, target);
        out.insert(path, text);
    }
    out
}

fn render(prompt: &Publishable<'_>, name: &str, target: Target) -> (String, String) {
    let (body, names) = convert_placeholders(prompt.body, target);
    let description = prompt
        .description
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or(prompt.title.trim());
    // JSON strings are YAML strings: quoting this way keeps any title or description intact.
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let mut fm = Vec::new();
    let path = match target {
        Target::Skills => {
            fm.push(format!("name: {name}"));
            fm.push(format!("description: {}", quote(description)));
            format!("{name}/SKILL.md")
        }
        Target::ClaudeCommands => {
            fm.push(format!("description: {}", quote(description)));
            format!("{name}.md")
        }
        Target::VsCodePrompts => {
            fm.push(format!("name: {name}"));
            fm.push(format!("description: {}", quote(description)));
            format!("{name}.prompt.md")
        }
        Target::CursorRules => {
            fm.push(format!("description: {}", quote(description)));
            fm.push("alwaysApply: false".to_string());
            format!("{name}.mdc")
        }
    };
    if matches!(target, Target::Skills | Target::ClaudeCommands) && !names.is_empty() {
        let hint: Vec<String> = names.iter().map(|n| format!("[{n}]")).collect();
        fm.push(format!("argument-hint: {}", quote(&hint.join(" "))));
        fm.push(format!("arguments: [{}]", names.join(", ")));
    }
    let mut text = format!("---\n{}\n---\n", fm.join("\n"));
    if !prompt.title.trim().is_empty() && !body.trim_start().starts_with('#') {
        text.push_str(&format!("# {}\n\n", prompt.title.trim()));
    }
    text.push_str(body.trim_start_matches('\n'));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    (path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(target: Target, body: &str, expected_body: &str, expected_names: &[&str]) {
        let (out, names) = convert_placeholders(body, target);
        assert_eq!(out, expected_body, "{target:?}");
        assert_eq!(names, expected_names, "{target:?}");
    }

    #[test]
    fn placeholders_become_each_tools_variables() {
        let body =
            "Review {{text:lang}} for {{list:goals}}; again {{text:lang}}, keep $5 and {{name}}.";
        check(
            Target::VsCodePrompts,
            body,
            "Review ${input:lang} for ${input:goals}; again ${input:lang}, keep $5 and {{name}}.",
            &["lang", "goals"],
        );
        check(
            Target::Skills,
            body,
            "Review $lang for $goals; again $lang, keep $5 and {{name}}.",
            &["lang", "goals"],
        );
        check(Target::CursorRules, body, body, &["lang", "goals"]);
    }

    #[test]
    fn names_are_valid_skill_names_and_unique() {
        assert_eq!(slug("Code Review!").as_deref(), Some("code-review"));
        assert_eq!(slug("__x__y").as_deref(), Some("x-y"));
        assert_eq!(slug("!!!"), None);
        assert_eq!(slug(&"a".repeat(80)).map(|s| s.len()), Some(64));
        let p = |id| Publishable {
            id,
            title: "T",
            description: None,
            body: "x",
        };
        let files = render_all(
            &[
                p("commands/review"),
                p("team:commands/review"),
                p("rules/Review"),
            ],
            Target::Skills,
        );
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "review/SKILL.md",
                "rules-review/SKILL.md",
                "team-commands-review/SKILL.md"
            ]
        );
        assert!(
            files["review/SKILL.md"].starts_with("---\nname: review\ndescription: \"T\"\n---\n")
        );
    }
}
