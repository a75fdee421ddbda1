//! End-to-end: `promptstack publish` (and the `promptstack.library.publish` command) writing the
//! library into each tool's folder, read back by PromptStack's own format readers with no
//! diagnostics and the placeholders intact; a republish touching only PromptStack's files, and
//! `--check` exit codes for CI.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{Client, Sandbox};

const REVIEW: &str = "---\ntitle: Code Review\ndescription: Review a change with the team checklist\ntags: [team]\n---\nReview this {{text:lang}} change.\nFocus on {{list:goals}}, keep {{text:lang}} idioms.\n";
const PLAN: &str =
    "---\ntitle: Plan the work\ntags: [team]\n---\n# Plan\nSplit {{text:task}} into steps.\n";

fn library(sandbox: &Sandbox) {
    sandbox.write(
        &sandbox.library().join("commands/code-review.md"),
        REVIEW.as_bytes(),
    );
    sandbox.write(
        &sandbox.library().join("workflows/plan.md"),
        PLAN.as_bytes(),
    );
}

fn validate(sandbox: &Sandbox, dir: &Path) -> Value {
    let (code, out, err) = sandbox.cli(&["validate", "--format", "json", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap()
}

/// The placeholders PromptStack reads in the published folder, by prompt title, through a
/// `folder` source over it.
fn read_back(sandbox: &Sandbox, dir: &Path) -> Vec<(String, Vec<String>)> {
    let source = json!([{"type": "folder", "name": "pub", "path": dir}]).to_string();
    let (code, out, err) = sandbox.cli_with(
        &["library", "list", "--format", "json"],
        &[("PROMPTSTACK_LIBRARY_SOURCES", &source)],
    );
    assert_eq!(code, 0, "{out}{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    let mut got: Vec<(String, Vec<String>)> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| id.starts_with("pub:")))
        .map(|p| {
            let names = p["placeholders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            (p["title"].as_str().unwrap().to_string(), names)
        })
        .collect();
    got.sort();
    got
}

#[test]
fn each_format_reads_back_with_no_diagnostics_and_its_placeholders() {
    let sandbox = Sandbox::new();
    library(&sandbox);
    let ws = sandbox.workspace();
    let cases = [
        (
            "skills",
            ".github/skills",
            "code-review/SKILL.md",
            "Agent Skill",
        ),
        (
            "claude-commands",
            ".claude/commands",
            "code-review.md",
            "Claude Code command",
        ),
        (
            "vscode-prompts",
            ".github/prompts",
            "code-review.prompt.md",
            "VS Code prompt file",
        ),
        (
            "cursor-rules",
            ".cursor/rules",
            "code-review.mdc",
            "Cursor rule",
        ),
    ];
    for (to, folder, file, label) in cases {
        let dir = ws.join(folder);
        let (code, out, err) = sandbox.cli(&[
            "publish",
            "--to",
            to,
            dir.to_str().unwrap(),
            "--tag",
            "team",
        ]);
        assert_eq!(code, 0, "{to}: {out}{err}");
        assert!(out.contains("2 created"), "{to}: {out}");
        assert!(dir.join(file).is_file(), "{to}: no {file}");
        let report = validate(&sandbox, &dir);
        let files = report["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{to}: {report:#}");
        for f in files {
            assert_eq!(f["format"], label, "{to}: {f:#}");
            assert_eq!(f["findings"], json!([]), "{to}: {f:#}");
        }
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        match to {
            "skills" => {
                assert!(text.starts_with("---\nname: code-review\n"), "{text}");
                assert!(text.contains("Review this $lang change."), "{text}");
                assert!(text.contains("arguments: [lang, goals]"), "{text}");
            }
            "claude-commands" => assert!(text.contains("Focus on $goals"), "{text}"),
            "vscode-prompts" => {
                assert!(text.contains("Review this ${input:lang} change."), "{text}")
            }
            _ => assert!(
                text.contains("{{text:lang}}"),
                "Cursor has no variables: {text}"
            ),
        }
        if to != "cursor-rules" {
            // Read back by the format's reader: the same placeholders as the library prompt.
            let got = read_back(&sandbox, &dir);
            let names: Vec<&Vec<String>> = got.iter().map(|(_, n)| n).collect();
            assert_eq!(got.len(), 2, "{to}: {got:?}");
            assert!(
                names.iter().any(|n| n.iter().any(|p| p.ends_with(":lang"))
                    && n.iter().any(|p| p.ends_with(":goals"))),
                "{to}: {got:?}"
            );
            assert!(
                names.iter().any(|n| n.iter().any(|p| p.ends_with(":task"))),
                "{to}: {got:?}"
            );
        }
    }
}

#[test]
fn republish_touches_only_our_files_and_check_says_when_out_of_date() {
    let sandbox = Sandbox::new();
    library(&sandbox);
    let dir = sandbox.workspace().join(".claude/commands");
    let d = dir.to_str().unwrap();
    let publish = |extra: &[&str]| {
        let mut args = vec!["publish", "--to", "claude-commands", d, "--tag", "team"];
        args.extend_from_slice(extra);
        sandbox.cli(&args)
    };
    let (code, out, err) = publish(&[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = publish(&["--check"]);
    assert_eq!(code, 0, "current: {out}");

    // The library changes; a person writes a file of their own under a name we would use, and
    // edits one of ours.
    sandbox.write(
        &sandbox.library().join("commands/code-review.md"),
        REVIEW.replace("Review this", "Inspect this").as_bytes(),
    );
    sandbox.write(
        &sandbox.library().join("commands/notes.md"),
        b"---\ntitle: Notes\ntags: [team]\n---\nTake notes.\n",
    );
    std::fs::write(dir.join("notes.md"), "my own notes command\n").unwrap();
    std::fs::write(dir.join("plan.md"), "edited by hand\n").unwrap();
    let before = std::fs::read_to_string(dir.join("code-review.md")).unwrap();

    let (code, out, _) = publish(&["--check"]);
    assert_eq!(code, 1, "out of date: {out}");
    let (code, out, _) = publish(&["--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("~ code-review.md"), "{out}");
    assert!(out.contains("1 would be updated"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.join("code-review.md")).unwrap(),
        before
    );

    let (code, out, err) = publish(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("~ code-review.md"), "{out}");
    assert!(
        out.contains("! notes.md left alone: not written by PromptStack"),
        "{out}"
    );
    assert!(
        out.contains("! plan.md left alone: edited since PromptStack wrote it"),
        "{out}"
    );
    assert!(
        std::fs::read_to_string(dir.join("code-review.md"))
            .unwrap()
            .contains("Inspect this")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.md")).unwrap(),
        "my own notes command\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("plan.md")).unwrap(),
        "edited by hand\n"
    );
    let (code, out, _) = publish(&["--check", "--format", "json"]);
    assert_eq!(code, 0, "only files we may not touch differ: {out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["left_alone"].as_array().map(Vec::len),
        Some(2),
        "{report:#}"
    );
    assert_eq!(report["written"], false);

    // A prompt leaving the selection: our unedited file goes, the manifest forgets it.
    let (code, out, _) = sandbox.cli(&[
        "publish",
        "--to",
        "claude-commands",
        d,
        "--category",
        "workflows",
        "--tag",
        "team",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("- code-review.md"), "{out}");
    assert!(!dir.join("code-review.md").exists());
    assert!(dir.join("plan.md").exists(), "edited: kept");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".promptstack-publish.json")).unwrap(),
    )
    .unwrap();
    assert!(
        manifest["files"].get("code-review.md").is_none(),
        "{manifest:#}"
    );
}

#[test]
fn the_editor_command_publishes_inside_the_workspace_only() {
    let sandbox = Sandbox::new();
    library(&sandbox);
    let ws = sandbox.workspace();
    let mut client = support::start_in(&sandbox, &ws);
    let run = |client: &mut Client, args: Value| {
        client.request(
            "workspace/executeCommand",
            json!({"command": "promptstack.library.publish", "arguments": [args]}),
        )
    };
    // The library loads in the background; ask until it has our prompts.
    let deadline = std::time::Instant::now() + support::TIMEOUT;
    let answer = loop {
        let answer = run(
            &mut client,
            json!({"to": "vscode-prompts", "dir": ".github/prompts", "tag": "team", "dryRun": true}),
        );
        match &answer {
            Ok(a) if a["created"].as_array().is_some_and(|c| c.len() == 2) => break answer,
            _ if std::time::Instant::now() > deadline => panic!("{answer:?}"),
            _ => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    };
    assert_eq!(answer.unwrap()["written"], false);
    assert!(
        !ws.join(".github/prompts").exists(),
        "dry run writes nothing"
    );
    let answer = run(
        &mut client,
        json!({"to": "vscode-prompts", "dir": ".github/prompts", "tag": ["team"]}),
    )
    .unwrap();
    assert_eq!(answer["written"], true, "{answer:#}");
    assert!(ws.join(".github/prompts/plan.prompt.md").is_file());
    let check = run(
        &mut client,
        json!({"to": "vscode-prompts", "dir": ".github/prompts", "tag": "team", "check": true}),
    )
    .unwrap();
    assert_eq!(check["outOfDate"], false, "{check:#}");
    let outside = sandbox.dir.path().join("elsewhere");
    let refused = run(&mut client, json!({"to": "skills", "dir": outside})).expect_err("outside");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("is not inside a workspace folder"),
        "{refused}"
    );
    assert!(!outside.exists());
    client.shutdown();
}
