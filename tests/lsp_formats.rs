//! End to end over stdio: the agent files people keep (skills, Claude Code commands and agents,
//! VS Code prompt / instruction / agent files, Cursor rules, AGENTS.md), each checked by its own
//! rules, with hover and completion of its keys; a skill folder as a `folder` source completed
//! with tabstops from every dialect; render filling every dialect from one map.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{Client, Sandbox, uri};

/// Opens `text` at `path` and returns `(code, severity, message)` of its diagnostics.
fn diagnostics(client: &mut Client, path: &Path, text: &str) -> Vec<(String, u64, String)> {
    let doc = uri(path);
    client.open(&doc, text);
    client
        .wait_diagnostics(&doc, Some(1))
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                d["severity"].as_u64().unwrap_or_default(),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

const ERROR: u64 = 1;
const WARNING: u64 = 2;
const HINT: u64 = 4;

#[test]
fn each_format_accepts_a_correct_file_and_reports_each_mistake() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    sandbox.write(&ws.join("src/main.ts"), b"export {}\n");
    let mut client = support::start_in(&sandbox, &ws);

    let correct: &[(&str, &str)] = &[
        (
            ".github/skills/pdf-tools/SKILL.md",
            "---\nname: pdf-tools\ndescription: Fill PDF forms. Use when the user has a PDF.\nlicense: MIT\nallowed-tools: Read Bash(python:*)\nmetadata:\n  author: team\n---\n# Role\nFill {{ form }} for $ARGUMENTS.\n",
        ),
        (
            ".claude/commands/git/commit.md",
            "---\nallowed-tools: Bash(git add:*), Bash(git commit:*)\nargument-hint: [message]\ndescription: Create a git commit\nmodel: haiku\n---\nCommit with message $ARGUMENTS and ticket $1. Costs {{price}}.\n",
        ),
        (".claude/commands/plain.md", "Review the staged diff.\n"),
        (
            ".claude/agents/reviewer.md",
            "---\nname: reviewer\ndescription: Reviews code after edits\ntools: Read, Grep, Glob\nmodel: inherit\n---\nYou are a reviewer.\n",
        ),
        (
            ".github/prompts/plan.prompt.md",
            "---\ndescription: Plan a feature\nagent: agent\ntools: ['search', 'edit']\nargument-hint: feature\n---\nPlan ${input:feature:the feature} in ${file} using ${selection}.\n",
        ),
        (
            ".github/instructions/ts.instructions.md",
            "---\napplyTo: '**/*.ts'\ndescription: TypeScript style\n---\nUse strict mode.\n",
        ),
        (".github/copilot-instructions.md", "Use tabs.\n"),
        (
            ".github/agents/planner.agent.md",
            "---\ndescription: Plans work\ntools: ['search']\nhandoffs:\n  - label: Build\n    agent: agent\n    prompt: Build it\n---\nPlan.\n",
        ),
        (
            ".cursor/rules/ts.mdc",
            "---\ndescription: TS rules\nglobs: **/*.ts, **/*.tsx\nalwaysApply: false\n---\nPrefer interfaces.\n",
        ),
        (
            "AGENTS.md",
            "# Build\n\nRun `make`.\n\n## Test\n\nRun `make test`.\n",
        ),
        ("CLAUDE.md", "# Notes\nKeep answers short.\n"),
    ];
    for (path, text) in correct {
        let got = diagnostics(&mut client, &ws.join(path), text);
        assert!(got.is_empty(), "{path}: {got:#?}");
    }

    // (path, text, code, severity, words the message must hold: the tool and the why)
    let mistakes: &[(&str, &str, &str, u64, &[&str])] = &[
        (
            ".github/skills/a/SKILL.md",
            "\u{feff}---\nname: a\ndescription: d\n---\nx\n",
            "byte-order-mark",
            ERROR,
            &["byte-order mark", "Agent Skills tools"],
        ),
        (
            ".github/skills/b/SKILL.md",
            "---\nname: b\ndescription: \"unclosed\n---\nx\n",
            "invalid-yaml",
            ERROR,
            &["invalid YAML", "skips the skill"],
        ),
        (
            ".github/skills/c/SKILL.md",
            "---\ndescription: d\n---\nx\n",
            "missing-name",
            ERROR,
            &["VS Code skip"],
        ),
        (
            ".github/skills/d/SKILL.md",
            "---\nname: Bad_Name\ndescription: d\n---\nx\n",
            "invalid-name",
            ERROR,
            &["^[a-z0-9]+(-[a-z0-9]+)*$"],
        ),
        (
            ".github/skills/e/SKILL.md",
            "---\nname: other\ndescription: d\n---\nx\n",
            "name-mismatch",
            ERROR,
            &["folder name `e`"],
        ),
        (
            ".github/skills/f/SKILL.md",
            "---\nname: f\n---\nx\n",
            "missing-description",
            ERROR,
            &["description"],
        ),
        (
            ".claude/skills/g/SKILL.md",
            "---\ndescription: d\n---\nx\n",
            "missing-name",
            WARNING,
            &["Claude Code uses the folder name `g`"],
        ),
        (
            ".claude/agents/nameless.md",
            "---\ndescription: d\n---\nx\n",
            "missing-key",
            ERROR,
            &["Claude Code does not load an agent"],
        ),
        (
            ".claude/commands/broken.md",
            "---\nallowed-tools: Bash\n  model: x: y\n---\nx\n",
            "invalid-yaml",
            ERROR,
            &["Claude Code skips"],
        ),
        (
            ".github/prompts/old.prompt.md",
            "---\nmode: edit\n---\nx\n",
            "legacy-mode",
            HINT,
            &["rename it to `agent`"],
        ),
        (
            ".github/instructions/py.instructions.md",
            "---\napplyTo: '**/*.py'\n---\nx\n",
            "apply-to-no-match",
            WARNING,
            &["`**/*.py` matches no file", "VS Code never attaches"],
        ),
        (
            ".github/chatmodes/old.chatmode.md",
            "---\ndescription: d\n---\nx\n",
            "legacy-chatmode",
            HINT,
            &["`.agent.md`"],
        ),
        (
            ".cursor/rules/always.mdc",
            "---\nalwaysApply: \"true\"\n---\nx\n",
            "always-apply-not-boolean",
            WARNING,
            &["Cursor expects the boolean `true`"],
        ),
        (
            ".cursor/rules/open.mdc",
            "---\nglobs: **/*.ts\n",
            "unterminated-frontmatter",
            ERROR,
            &["Cursor reads the whole file as text"],
        ),
    ];
    for (path, text, code, severity, words) in mistakes {
        let got = diagnostics(&mut client, &ws.join(path), text);
        let found = got.iter().find(|(c, ..)| c == code);
        let Some((_, s, message)) = found else {
            panic!("{path}: no `{code}` in {got:#?}");
        };
        assert_eq!(s, severity, "{path}: {message}");
        for word in *words {
            assert!(message.contains(word), "{path}: {message:?} lacks {word:?}");
        }
    }
    client.shutdown();
}

#[test]
fn keys_hover_and_complete_and_placeholders_of_every_dialect_are_tokens() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let mut client = support::start_in(&sandbox, &ws);
    let skill = uri(&ws.join(".claude/skills/pdf/SKILL.md"));
    client.open(
        &skill,
        "---\nname: pdf\ndescription: PDFs\nallowed-tools: Read\ncolour: red\n---\nFill $1 and ${input:x}.\n",
    );
    let hover = |client: &mut Client, line: u32, character: u32| -> String {
        let answer = client
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": skill}, "position": {"line": line, "character": character}}),
            )
            .unwrap();
        answer["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let text = hover(&mut client, 3, 3);
    assert!(
        text.contains("`allowed-tools`") && text.contains("Claude Code"),
        "{text}"
    );
    let text = hover(&mut client, 4, 2);
    assert!(text.contains("not a key of Agent Skill files"), "{text}");
    let text = hover(&mut client, 6, 6);
    assert!(
        text.contains("Claude Code counts from 0")
            && text.contains("Codex and OpenCode count from 1"),
        "{text}"
    );
    let text = hover(&mut client, 6, 15);
    assert!(text.contains("VS Code input"), "{text}");

    // Key completion in a Claude Code agent offers the agent's keys, not PromptStack's.
    let agent = uri(&ws.join(".claude/agents/r.md"));
    client.open(&agent, "---\nname: r\nperm\n---\n");
    let answer = client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": agent}, "position": {"line": 2, "character": 4}}),
        )
        .unwrap();
    let labels = support::completion_labels(&answer);
    assert!(labels.contains(&"permissionMode".to_string()), "{labels:?}");
    assert!(!labels.contains(&"title".to_string()), "{labels:?}");
    assert!(
        !labels.contains(&"name".to_string()),
        "already written: {labels:?}"
    );

    // `$1` and `${input:x}` are highlighted in the skill: `$`+`1`, `input`+`x`.
    let tokens = client
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": skill}}),
        )
        .unwrap();
    let data: Vec<u64> = tokens["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    // [deltaLine, deltaStart, length, type, modifiers] per token.
    let tokens: Vec<&[u64]> = data.chunks(5).collect();
    assert_eq!(
        tokens,
        [
            &[6, 5, 1, 0, 0][..],
            &[0, 1, 1, 1, 0],
            &[0, 8, 5, 0, 0],
            &[0, 6, 1, 1, 0]
        ],
        "{data:?}"
    );
    // Document symbols of AGENTS.md are its headings.
    let agents = uri(&ws.join("AGENTS.md"));
    client.open(&agents, "# Build\nx\n## Test\ny\n");
    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": agents}}),
        )
        .unwrap();
    let text = symbols.to_string();
    assert!(
        text.contains("\"Build\"") && text.contains("\"Test\""),
        "{symbols:#}"
    );
    client.shutdown();
}

#[test]
fn a_skill_folder_source_completes_with_tabstops_from_every_dialect() {
    let sandbox = Sandbox::new();
    let skills = sandbox.dir.path().join("team-skills");
    sandbox.write(
        &skills.join("pdf-tools/SKILL.md"),
        b"---\nname: pdf-tools\ndescription: Fill PDF forms\n---\n# Role\nFill ${input:form:the form} for $ARGUMENTS, signed by {{ name }}; step $5.\n",
    );
    sandbox.write(
        &skills.join("pdf-tools/references/forms.md"),
        b"# Forms reference\n",
    );
    let ws = sandbox.workspace();
    sandbox.write(
        &ws.join(".claude/commands/review.md"),
        b"---\ndescription: Review a change\narguments: [area]\n---\nReview $area, then $1.\n",
    );
    let mut client = Client::start(&sandbox, &[]);
    client.initialize_in(
        &ws,
        json!({"library": {"sources": [
            {"type": "folder", "name": "team", "path": skills, "format": "skills"}
        ]}}),
    );
    let doc = uri(&ws.join("notes.composition.md"));
    client.open(&doc, "");
    let item = support::completed(&mut client, &doc, 2, "/pdf", "pdf-tools");
    assert_eq!(item["insertTextFormat"], 2, "{item:#}");
    assert_eq!(
        item["textEdit"]["newText"],
        "# Role\nFill ${1:the form} for ${2:ARGUMENTS}, signed by ${3:name}; step ${4:5}.\n"
    );
    let detail = item["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Agent Skill · from team · ")
            && detail.ends_with("team-skills/pdf-tools"),
        "{detail}"
    );
    // The skill's resources are not prompts.
    let answer = client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": 4}}),
        )
        .unwrap();
    assert!(
        !support::completion_labels(&answer)
            .iter()
            .any(|l| l.contains("Forms")),
        "{answer:#}"
    );
    // The workspace's own command joined the library by itself, with `$name` from `arguments:`.
    let item = support::completed(&mut client, &doc, 3, "/review", "review");
    assert_eq!(
        item["textEdit"]["newText"],
        "Review ${1:area}, then ${2:1}.\n"
    );
    assert!(
        item["detail"]
            .as_str()
            .unwrap()
            .starts_with("Claude Code command · from workspace-claude"),
        "{item:#}"
    );
    // validateLibrary checks the source's skills too (and not their references).
    let report = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.validateLibrary", "arguments": []}),
        )
        .unwrap();
    let paths: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"pdf-tools/SKILL.md"), "{paths:?}");
    assert!(paths.contains(&"commands/review.md"), "{paths:?}");
    assert!(!paths.iter().any(|p| p.ends_with("forms.md")), "{paths:?}");
    client.shutdown();
}

#[test]
fn render_fills_every_dialect_from_one_map_and_validate_library_reports_workspace_files() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    sandbox.write(
        &ws.join(".claude/agents/nameless.md"),
        b"---\ndescription: d\n---\nx\n",
    );
    sandbox.write(
        &ws.join(".github/ISSUE_TEMPLATE/bug.md"),
        b"# Not an agent file\n",
    );
    let mut client = support::start_in(&sandbox, &ws);
    let rendered = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.render", "arguments": [{
                "text": "{{text:topic}} | ${input:topic:hint} | {{ topic }} | $ARGUMENTS | $1 | ${selection} | {{list:items}}",
                "values": {"topic": "tests", "ARGUMENTS": "all of it", "1": "first", "items": ["a", "b"]}
            }]}),
        )
        .unwrap();
    assert_eq!(
        rendered["text"],
        "tests | tests | tests | all of it | first | ${selection} | a, b"
    );
    assert_eq!(rendered["missing"], json!([]));

    let report = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.validateLibrary", "arguments": []}),
        )
        .unwrap();
    let files = report["files"].as_array().unwrap();
    let agent = files
        .iter()
        .find(|f| {
            f["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("nameless.md"))
        })
        .unwrap_or_else(|| panic!("no workspace agent file in {report:#}"));
    assert_eq!(agent["format"], "Claude Code agent");
    assert_eq!(agent["findings"][0]["code"], "missing-key");
    assert!(
        !files
            .iter()
            .any(|f| f["path"].as_str().is_some_and(|p| p.ends_with("bug.md"))),
        "an issue template is not an agent file: {report:#}"
    );
    client.shutdown();
}

#[test]
fn a_real_world_shaped_collection_validates_like_its_tools_and_its_prompts_complete() {
    let sandbox = Sandbox::new();
    let root = sandbox.dir.path().join("collection");
    let written = support::agent_catalog::write_catalog(&root, 10);
    assert!(written.agent_files() > 1000, "{written:?}");

    let (code, out, err) = sandbox.cli(&["validate", root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}\n{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let files = report["files"].as_array().unwrap();
    // Every agent file was checked, nothing else (READMEs, references, issue templates).
    assert_eq!(files.len(), written.agent_files(), "{written:?}");
    let count = |format: &str| files.iter().filter(|f| f["format"] == format).count();
    assert_eq!(count("Agent Skill"), written.skills);
    assert_eq!(count("Claude Code command"), written.claude_commands);
    assert_eq!(count("Claude Code agent"), written.claude_agents);
    assert_eq!(count("VS Code prompt file"), written.vscode_prompts);
    assert_eq!(count("VS Code instructions"), written.vscode_instructions);
    assert_eq!(count("VS Code custom agent"), written.vscode_agents);
    assert_eq!(count("Cursor rule"), written.cursor_rules);
    assert_eq!(count("agent instructions (AGENTS.md)"), written.agents_md);
    // The tools read all of it: no error and no warning, only hints (legacy `mode`, unquoted
    // `argument-hint`).
    let findings: Vec<&Value> = files
        .iter()
        .flat_map(|f| f["findings"].as_array().unwrap())
        .collect();
    let not_hints: Vec<&&Value> = findings
        .iter()
        .filter(|f| f["severity"] != "hint")
        .collect();
    assert!(not_hints.is_empty(), "{not_hints:#?}");
    assert_eq!(report["errors"], 0);
    assert_eq!(report["warnings"], 0);
    let (_, text, _) = sandbox.cli(&["validate", root.to_str().unwrap()]);
    // What `promptstack validate` says about the collection (kept in the test log).
    eprintln!(
        "{}",
        text.lines()
            .filter(|l| !l.starts_with("  .")
                && !l.starts_with("  repo")
                && !l.starts_with("  skills"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(text.contains("By format:\n"), "{text}");
    assert!(text.contains("  Agent Skill: "), "{text}");

    // Its prompts complete: skills from the catalog, commands and prompt files of a repository.
    let ws = sandbox.workspace();
    let mut client = Client::start(&sandbox, &[]);
    client.initialize_in(
        &ws,
        json!({"library": {"sources": [
            {"type": "folder", "name": "catalog", "path": root.join("skills"), "format": "skills"},
            {"type": "folder", "name": "claude", "path": root.join("repo-0/.claude"), "format": "claude"},
            {"type": "folder", "name": "copilot", "path": root.join("repo-0/.github"), "format": "vscode"},
        ]}}),
    );
    let doc = uri(&ws.join("draft.composition.md"));
    client.open(&doc, "");
    let item = support::completed(&mut client, &doc, 2, "/pdf forms 3", "pdf-forms-3");
    assert!(
        item["textEdit"]["newText"]
            .as_str()
            .unwrap()
            .contains("${1:ARGUMENTS}"),
        "{item:#}"
    );
    let item = support::completed(&mut client, &doc, 3, "/commit message", "commit-message");
    assert!(
        item["detail"]
            .as_str()
            .unwrap()
            .starts_with("Claude Code command · from claude")
    );
    let item = support::completed(&mut client, &doc, 4, "/api design", "api-design");
    assert!(
        item["detail"]
            .as_str()
            .unwrap()
            .starts_with("VS Code prompt file · from copilot")
    );
    assert!(
        item["textEdit"]["newText"]
            .as_str()
            .unwrap()
            .contains("${1:the file or folder}"),
        "{item:#}"
    );
    client.shutdown();
}

#[test]
fn the_cli_renders_every_dialect_of_a_file_from_one_map() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let command = sandbox.write(
        &ws.join(".claude/commands/fix.md"),
        b"---\ndescription: Fix\narguments: [area]\n---\nFix $ARGUMENTS in $area ($1), see {{ ticket }} and ${input:note:n}.\n",
    );
    let (code, out, err) = sandbox.cli(&[
        "render",
        command.to_str().unwrap(),
        "--set",
        "ARGUMENTS=issue 12",
        "--values",
        r#"{"area": "parser", "1": "fast", "ticket": "T-1", "note": "ok"}"#,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Fix issue 12 in parser (fast), see T-1 and ok.\n");
    let (code, out, err) = sandbox.cli(&["render", command.to_str().unwrap(), "--set", "area=x"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "Fix $ARGUMENTS in x ($1), see {{ ticket }} and ${input:note:n}.\n"
    );
    assert!(
        err.contains("missing values: ARGUMENTS, 1, ticket, note"),
        "{err}"
    );
    // Outside a Claude Code command `$1` is text.
    let note = sandbox.write(
        &ws.join("note.composition.md"),
        b"Pay $1 for {{text:item}}.\n",
    );
    let (code, out, _) = sandbox.cli(&["render", note.to_str().unwrap(), "--set", "item=tea"]);
    assert_eq!((code, out.as_str()), (0, "Pay $1 for tea.\n"));
}
