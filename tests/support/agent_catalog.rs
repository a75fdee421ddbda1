//! A real-world-shaped collection of agent files, written by the tests themselves in the shapes
//! public catalogs use (Agent Skills folders with scripts and references, `.github/prompts`,
//! instructions with `applyTo`, custom agents with handoffs, Claude Code commands in namespaces,
//! subagents, Cursor rules with unquoted globs, `AGENTS.md`), with the syntax variety found
//! there: folded and quoted descriptions, tool lists in both forms, unquoted `argument-hint`s,
//! Mustache logic, shell `$VARS` and JavaScript `${...}` in code fences.

use std::path::Path;

/// Topics the generated files are about.
const TOPICS: &[&str] = &[
    "code-review",
    "pdf-forms",
    "release-notes",
    "sql-tuning",
    "api-design",
    "test-writing",
    "refactoring",
    "security-audit",
    "docs-writer",
    "commit-message",
    "dependency-update",
    "accessibility",
    "performance",
    "incident-report",
    "data-migration",
    "onboarding",
    "changelog",
    "i18n",
    "terraform-plan",
    "k8s-debug",
];

/// What was written, per format, to compare with the report.
#[derive(Debug, Default)]
pub struct Written {
    pub skills: usize,
    pub claude_commands: usize,
    pub claude_agents: usize,
    pub vscode_prompts: usize,
    pub vscode_instructions: usize,
    pub vscode_agents: usize,
    pub cursor_rules: usize,
    pub agents_md: usize,
    /// Markdown that is not an agent file (READMEs, skill references, issue templates).
    pub other_markdown: usize,
}

impl Written {
    /// All agent files written.
    pub fn agent_files(&self) -> usize {
        self.skills
            + self.claude_commands
            + self.claude_agents
            + self.vscode_prompts
            + self.vscode_instructions
            + self.vscode_agents
            + self.cursor_rules
            + self.agents_md
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn title_case(topic: &str) -> String {
    topic
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A skill in one of the shapes catalogs use; `n` picks the shape.
fn skill(root: &Path, name: &str, n: usize, written: &mut Written) {
    let title = title_case(name);
    let frontmatter = match n % 5 {
        0 => format!(
            "name: {name}\ndescription: {title} for this repository. Use when the user asks about {title}.\n"
        ),
        1 => format!(
            "name: {name}\ndescription: >-\n  {title}: a longer, folded description that spans\n  several lines, as many catalog skills do.\nlicense: Apache-2.0\nmetadata:\n  author: platform-team\n  version: \"1.{n}\"\n"
        ),
        2 => format!(
            "name: \"{name}\"\ndescription: \"{title}, quoted: with a colon\"\nallowed-tools: Read Grep Bash(git:*)\ncompatibility: Requires python3 and git\n"
        ),
        3 => format!(
            "name: {name}\ndescription: '{title} — it''s single-quoted'\nargument-hint: [path] [focus]\ndisable-model-invocation: true\nallowed-tools:\n  - Read\n  - Edit\n"
        ),
        _ => format!(
            "name: {name}\ndescription: |\n  {title} (literal block).\n  Second line.\ncontext: fork\nagent: Explore\nmodel: sonnet\nuser-invocable: false\n"
        ),
    };
    let body = format!(
        "# {title}\n\n## Role\n\nYou help with {title}.\n\n## Steps\n\n1. Read the files the user names: $ARGUMENTS\n2. Fill in {{{{ project }}}} details.\n3. Run the script:\n\n```bash\npython scripts/run.py \"$HOME/tmp\" --out ${{OUT_DIR:-out}}\n```\n\nSee [the reference](references/REFERENCE.md).\n\n{{{{#if strict}}}}Be strict.{{{{/if}}}}\n"
    );
    let dir = root.join(name);
    write(
        &dir.join("SKILL.md"),
        &format!("---\n{frontmatter}---\n{body}"),
    );
    write(
        &dir.join("references/REFERENCE.md"),
        "# Reference\n\nDetails without frontmatter.\n",
    );
    write(&dir.join("scripts/run.py"), "print('ok')\n");
    written.skills += 1;
    written.other_markdown += 1;
}

/// One repository with every kind of agent file.
fn repository(root: &Path, r: usize, written: &mut Written) {
    // Source files, for `applyTo` patterns to match.
    write(&root.join("src/app.ts"), "export const x = 1;\n");
    write(&root.join("src/view.tsx"), "export {}\n");
    write(&root.join("api/server.py"), "pass\n");
    write(
        &root.join("docs/guide.md"),
        "# Guide\n\nPlain docs, not a prompt.\n",
    );
    write(
        &root.join("README.md"),
        "# Repository\n\nNo frontmatter here.\n",
    );
    write(
        &root.join(".github/ISSUE_TEMPLATE/bug.md"),
        "---\nname: Bug report\nabout: Report a bug\n---\nDescribe it.\n",
    );
    written.other_markdown += 3;
    for (t, topic) in TOPICS.iter().enumerate() {
        let title = title_case(topic);
        // VS Code prompt files.
        let prompt = match t % 4 {
            0 => format!(
                "---\ndescription: '{title}'\nagent: 'agent'\ntools: ['codebase', 'search', 'editFiles']\n---\nDo {title} for ${{input:target:the file or folder}} in ${{workspaceFolder}}.\nUse ${{selection}} when set.\n"
            ),
            1 => format!(
                "---\nmode: 'edit'\ndescription: {title} (legacy mode)\n---\n{title} on ${{file}}.\n"
            ),
            2 => format!(
                "---\nname: {topic}\nargument-hint: target=... focus=...\nmodel: GPT-4.1\n---\n# {title}\n\nFocus on ${{input:focus}}.\n\n```js\nconst s = `${{name}} is ${{value}}`;\n```\n"
            ),
            _ => format!("Plain prompt without frontmatter about {title}.\n"),
        };
        write(
            &root.join(format!(".github/prompts/{topic}.prompt.md")),
            &prompt,
        );
        written.vscode_prompts += 1;
        // Instructions that apply to files the repository has.
        let apply_to = ["**/*.ts", "**/*.ts,**/*.tsx", "api/**/*.py", "**"][t % 4];
        write(
            &root.join(format!(".github/instructions/{topic}.instructions.md")),
            &format!(
                "---\napplyTo: '{apply_to}'\ndescription: {title} conventions\n---\n# {title}\n\n- Prefer small functions.\n"
            ),
        );
        written.vscode_instructions += 1;
        // Claude Code commands, some in namespaces, with every argument form.
        let command_path = if t % 3 == 0 {
            format!(".claude/commands/team/{topic}.md")
        } else {
            format!(".claude/commands/{topic}.md")
        };
        let command = match t % 3 {
            0 => format!(
                "---\nallowed-tools: Bash(git add:*), Bash(git status:*), Bash(git commit:*)\nargument-hint: [message]\ndescription: {title}\n---\n## Context\n\n- Status: !`git status`\n\n{title} with $ARGUMENTS.\n"
            ),
            1 => format!(
                "---\ndescription: {title} for an issue\nargument-hint: [issue-number] [priority]\nmodel: claude-3-5-haiku-20241022\n---\nFix issue #$0 with priority $1 (also $ARGUMENTS[1]).\n"
            ),
            _ => format!("{title}: review the current diff. Cost is $5 per run.\n"),
        };
        write(&root.join(command_path), &command);
        written.claude_commands += 1;
        if t % 2 == 0 {
            write(
                &root.join(format!(".claude/agents/{topic}.md")),
                &format!(
                    "---\nname: {topic}\ndescription: Use proactively for {title}. MUST BE USED when asked.\ntools: Read, Grep, Glob, Bash\nmodel: inherit\ncolor: blue\n---\nYou are a {title} specialist.\n"
                ),
            );
            written.claude_agents += 1;
            write(
                &root.join(format!(".github/agents/{topic}.agent.md")),
                &format!(
                    "---\ndescription: {title} planner\ntools: ['search', 'fetch']\nhandoffs:\n  - label: Start implementation\n    agent: agent\n    prompt: Implement the plan above.\n    send: false\n---\n# {title} planner\n\nPlan only.\n"
                ),
            );
            written.vscode_agents += 1;
        }
        // Cursor rules: unquoted globs, every rule type.
        let rule = match t % 4 {
            0 => {
                "---\ndescription:\nglobs: **/*.ts, **/*.tsx\nalwaysApply: false\n---\n".to_string()
            }
            1 => "---\ndescription: Always on\nglobs:\nalwaysApply: true\n---\n".to_string(),
            2 => format!(
                "---\ndescription: {title} when relevant\nglobs:\nalwaysApply: false\n---\n"
            ),
            _ => "---\nglobs: src/**/*\n---\n".to_string(),
        };
        write(
            &root.join(format!(".cursor/rules/{topic}.mdc")),
            &format!("{rule}- Follow the {title} guide.\n- Reference @file.ts when needed.\n"),
        );
        written.cursor_rules += 1;
        if t % 5 == 0 {
            skill(&root.join(".claude/skills"), topic, t + r, written);
            skill(
                &root.join(".github/skills"),
                &format!("{topic}-gh"),
                t + r + 1,
                written,
            );
        }
    }
    write(
        &root.join("AGENTS.md"),
        "# Agents\n\n## Build\n\n`npm run build`\n\n## Test\n\n`npm test`\n",
    );
    write(
        &root.join("api/CLAUDE.md"),
        "# API notes\n\nUse `$DATABASE_URL`.\n",
    );
    written.agents_md += 2;
}

/// Writes `repositories` repositories plus a catalog of skills (`skills/<name>/SKILL.md`,
/// shaped like public skill catalogs) under `root`.
pub fn write_catalog(root: &Path, repositories: usize) -> Written {
    let mut written = Written::default();
    for r in 0..repositories {
        repository(&root.join(format!("repo-{r}")), r, &mut written);
    }
    for (n, topic) in TOPICS.iter().enumerate() {
        for variant in 0..5 {
            skill(
                &root.join("skills"),
                &format!("{topic}-{variant}"),
                n + variant,
                &mut written,
            );
        }
    }
    write(&root.join("skills/README.md"), "# Skills catalog\n");
    written.other_markdown += 1;
    written
}
