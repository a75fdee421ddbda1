//! Paths stay where they belong, over the real binary: commands write only inside the library
//! and the workspace folders (with `..` and symbolic links resolved), hover previews only files
//! inside them, and a library symlink to a file elsewhere is not read as a prompt unless the
//! user says so.
#![cfg(unix)]

mod support;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::{Client, Sandbox, TIMEOUT, poll, uri};

/// Starts the server with `workspace` as its only workspace folder.
fn start_in(sandbox: &Sandbox, workspace: &Path, options: Value) -> Client {
    let mut client = Client::start(sandbox, &[]);
    client.initialize_in(workspace, options);
    client
}

fn command(client: &mut Client, name: &str, args: Value) -> Result<Value, Value> {
    client.request(
        "workspace/executeCommand",
        json!({ "command": name, "arguments": [args] }),
    )
}

/// A folder beside the home and the workspace, holding one file with a secret in it.
fn outside(sandbox: &Sandbox) -> (PathBuf, PathBuf) {
    let dir = sandbox.dir.path().join("outside");
    let secret = sandbox.write(
        &dir.join("shadow"),
        b"root:$6$SECRET-HASH:19000:0:99999:7:::\n",
    );
    (dir, secret)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn create_prompt_into_a_category_linked_outside_the_library_is_refused() {
    let sandbox = Sandbox::new();
    let (elsewhere, _) = outside(&sandbox);
    std::fs::create_dir_all(sandbox.library()).unwrap();
    symlink(&elsewhere, sandbox.library().join("escape")).unwrap();
    let ws = sandbox.workspace();
    let mut client = start_in(&sandbox, &ws, Value::Null);
    let refused = command(
        &mut client,
        "promptstack.createPrompt",
        json!({"title": "Leak", "category": "escape"}),
    )
    .expect_err("refused");
    assert_eq!(refused["code"], -32602, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("is outside"),
        "{refused}"
    );
    assert_eq!(entries(&elsewhere), ["shadow"], "nothing written outside");
    // An ordinary category still works.
    let created = command(
        &mut client,
        "promptstack.createPrompt",
        json!({"title": "Fine", "category": "rules"}),
    )
    .expect("created");
    assert!(created["uri"].as_str().unwrap().ends_with("/rules/fine.md"));
    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn new_composition_outside_every_workspace_folder_is_refused() {
    let sandbox = Sandbox::new();
    let (elsewhere, _) = outside(&sandbox);
    let ws = sandbox.workspace();
    symlink(&elsewhere, ws.join("linked")).unwrap();
    let mut client = start_in(&sandbox, &ws, Value::Null);
    for directory in [
        "../outside".to_string(),
        "../../outside".to_string(),
        "new/../../outside".to_string(),
        "linked".to_string(),
        elsewhere.display().to_string(),
    ] {
        let refused = command(
            &mut client,
            "promptstack.newComposition",
            json!({"directory": directory, "name": "leak"}),
        )
        .expect_err("refused");
        assert_eq!(refused["code"], -32602, "{directory}: {refused}");
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("outside every workspace folder"),
            "{directory}: {refused}"
        );
    }
    assert_eq!(entries(&elsewhere), ["shadow"], "nothing written outside");
    assert!(!sandbox.dir.path().join("leak.composition.md").exists());
    let created = command(
        &mut client,
        "promptstack.newComposition",
        json!({"directory": "drafts/../drafts", "name": "fine"}),
    )
    .expect("inside is fine");
    assert_eq!(created["uri"], uri(&ws.join("drafts/fine.composition.md")));
    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn hover_previews_files_inside_the_workspace_only() {
    let sandbox = Sandbox::new();
    let (_, secret) = outside(&sandbox);
    let ws = sandbox.workspace();
    sandbox.write(&ws.join("notes.md"), b"visible note line\n");
    symlink(&secret, ws.join("innocent.md")).unwrap();
    let mut client = start_in(&sandbox, &ws, Value::Null);
    let doc = uri(&ws.join("links.prompt.md"));
    let text = format!(
        "[notes](notes.md)\n[abs]({})\n[up](../outside/shadow)\n[link](innocent.md)\n",
        secret.display()
    );
    client.open(&doc, &text);
    let hover = |client: &mut Client, line: u32| -> String {
        client
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": doc}, "position": {"line": line, "character": 2}}),
            )
            .expect("hover answers")["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(hover(&mut client, 0).contains("visible note line"));
    for line in 1..=3 {
        let shown = hover(&mut client, line);
        assert!(
            shown.contains("outside the workspace"),
            "line {line}: {shown}"
        );
        assert!(!shown.contains("SECRET-HASH"), "line {line}: {shown}");
    }
    assert_eq!(client.shutdown(), Some(0));
}

/// The names of the symbols in a `workspace/symbol` answer.
fn names(answer: &Value) -> Vec<String> {
    answer
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `workspace/symbol` until `check` accepts the names (the library loads in the background).
fn symbol_names(
    client: &mut Client,
    query: &str,
    check: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let params = json!({ "query": query });
    names(&poll(client, "workspace/symbol", params, TIMEOUT, |a| {
        check(&names(a))
    }))
}

#[test]
fn a_library_symlink_leading_outside_is_not_a_prompt_unless_configured() {
    let sandbox = Sandbox::new();
    let (_, secret) = outside(&sandbox);
    sandbox.write(
        &sandbox.library().join("rules/own.md"),
        b"---\ntitle: Own rule\n---\nroot of the matter\n",
    );
    symlink(&secret, sandbox.library().join("rules/shadow.md")).unwrap();
    let ws = sandbox.workspace();
    let mut client = start_in(&sandbox, &ws, Value::Null);
    let names = symbol_names(&mut client, "root", |n| n.iter().any(|s| s == "Own rule"));
    assert_eq!(names, ["Own rule"], "the linked file is not indexed");
    let report = command(&mut client, "promptstack.validateLibrary", Value::Null).unwrap();
    assert!(!report.to_string().contains("SECRET-HASH"), "{report}");
    assert_eq!(client.shutdown(), Some(0));
    let (code, stdout, _) = sandbox.cli(&["library", "list"]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("shadow"), "{stdout}");

    // Configured to follow such links, the server reads it.
    let mut client = start_in(
        &sandbox,
        &ws,
        json!({"library": {"follow_external_symlinks": true}}),
    );
    let names = symbol_names(&mut client, "root", |n| n.len() == 2);
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n == "shadow"), "{names:?}");
    assert_eq!(client.shutdown(), Some(0));
}
