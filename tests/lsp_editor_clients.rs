//! What different editors get from the same server, over the real binary's stdio:
//! generic clients (Helix, eglot) are told command results with `window/showMessage` and result
//! documents; PromptStack's own plugins (which say they show results) are not told twice; a
//! prompt use is counted from the edit that inserts it, once, whether or not the client runs the
//! item's command; files the server creates validate clean; completion stays out of other files.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, Incoming, Sandbox, completion_labels, poll, uri};

const ZEBRA: &str = "---\ntitle: Zebra migration plan\ndescription: Plan a zebra migration\ntags: [planning]\n---\nMove {{text:herd}} across {{text:river}}.\nRisks and mitigations:\n{{list:risks}}\n";

/// Capabilities like Helix 25.07 sends them: no `window/showDocument`, nothing experimental.
fn generic_capabilities() -> Value {
    json!({
        "general": { "positionEncodings": ["utf-8", "utf-32", "utf-16"] },
        "workspace": { "configuration": true, "workspaceFolders": true },
        "window": { "workDoneProgress": true },
        "textDocument": { "completion": { "completionItem": { "snippetSupport": true } } }
    })
}

/// Capabilities of PromptStack's own plugins: they present command results themselves.
fn plugin_capabilities() -> Value {
    let mut caps = generic_capabilities();
    caps["window"]["showDocument"] = json!({ "support": true });
    caps["experimental"] = json!({ "promptstack": { "commandResults": true } });
    caps
}

fn start(sandbox: &Sandbox, capabilities: Value) -> Client {
    sandbox.write(
        &sandbox.library().join("workflows/zebra.md"),
        ZEBRA.as_bytes(),
    );
    let mut client = Client::start(sandbox, &[]);
    client.initialize_with(Value::Null, capabilities);
    client
}

fn command(client: &mut Client, name: &str, args: Value) -> Result<Value, Value> {
    client.request(
        "workspace/executeCommand",
        json!({ "command": name, "arguments": [args] }),
    )
}

/// `window/showMessage` notifications received so far.
fn messages(client: &mut Client) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    client.seen.retain(|m| match m {
        Incoming::Notification { method, params } if method == "window/showMessage" => {
            out.push((
                params["type"].as_i64().unwrap_or(0),
                params["message"].as_str().unwrap_or_default().to_string(),
            ));
            false
        }
        _ => true,
    });
    out
}

fn path_of(uri: &str) -> &Path {
    Path::new(uri.strip_prefix("file://").expect("a file URI"))
}

#[test]
fn generic_clients_are_told_what_commands_did() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let mut client = start(&sandbox, generic_capabilities());

    let report = command(&mut client, "promptstack.validateLibrary", json!({})).unwrap();
    let summary = report["summary"].as_str().unwrap().to_string();
    client.wait_notification("window/showMessage", |p| {
        p["message"].as_str().is_some_and(|m| m.contains(&summary))
    });

    // A new composition gets the new suffix and is opened although the client never announced
    // `window/showDocument` (Helix handles it anyway).
    let created = command(
        &mut client,
        "promptstack.newComposition",
        json!({ "directory": ws, "name": "release" }),
    )
    .unwrap();
    let created_uri = created["uri"].as_str().unwrap().to_string();
    assert!(
        created_uri.ends_with("/release.composition.md"),
        "{created}"
    );
    let opened = client.wait_server_request("window/showDocument", |p| p["uri"] == created_uri);
    assert_eq!(opened["takeFocus"], true);
    client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("release.composition.md"))
    });

    // History search answers with a result document that lists the match.
    let draft = ws.join("draft.prompt.md");
    sandbox.write(&draft, b"# Quokka plan\nThe quokkasaurus migrates.\n");
    client.open(&uri(&draft), "# Quokka plan\nThe quokkasaurus migrates.\n");
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri(&draft) } }),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let results = loop {
        // The history opens in the background ("still opening" until then).
        let answer = command(
            &mut client,
            "promptstack.history.search",
            json!({ "query": "quokkasaurus" }),
        );
        if let Ok(answer) = answer
            && answer["results"].as_array().is_some_and(|r| !r.is_empty())
        {
            break answer;
        }
        assert!(Instant::now() < deadline, "the save never reached history");
        std::thread::sleep(Duration::from_millis(100));
    };
    client.wait_notification("window/showMessage", |p| {
        p["type"] == 3
            && p["message"]
                .as_str()
                .is_some_and(|m| m.contains("1 match in history"))
    });
    let result_doc = sandbox
        .home()
        .join("data/command-results/history-search.md");
    let text = std::fs::read_to_string(&result_doc).expect("the result document");
    assert!(text.contains("## Quokka plan"), "{text}");
    assert!(
        text.contains(results["results"][0]["id"].as_str().unwrap()),
        "{text}"
    );
    assert!(!text.contains("**"), "raw search marks: {text}");
    let doc_uri = uri(&result_doc);
    client.wait_server_request("window/showDocument", |p| p["uri"] == doc_uri);

    // A command with missing arguments fails with an error the user sees.
    let error = command(&mut client, "promptstack.history.open", json!({})).unwrap_err();
    let reason = error["message"].as_str().unwrap().to_string();
    client.wait_notification("window/showMessage", |p| {
        p["type"] == 1
            && p["message"].as_str().is_some_and(|m| {
                m.contains("promptstack.history.open failed") && m.contains(&reason)
            })
    });
    client.shutdown();
}

#[test]
fn plugins_that_show_results_are_not_told_twice() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox, plugin_capabilities());
    command(&mut client, "promptstack.validateLibrary", json!({})).unwrap();
    command(&mut client, "promptstack.history.open", json!({})).unwrap_err();
    // AI is not configured in the sandbox: the plugin shows the error, the server does not.
    let draft = sandbox.workspace().join("draft.prompt.md");
    client.open(&uri(&draft), "# Draft\n");
    command(
        &mut client,
        "promptstack.ai.review",
        json!({ "uri": uri(&draft) }),
    )
    .unwrap_err();
    // A later round trip and a pause: anything the commands sent is in by now.
    client
        .request("workspace/symbol", json!({ "query": "zebra" }))
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    client
        .request("workspace/symbol", json!({ "query": "zebra" }))
        .unwrap();
    assert_eq!(messages(&mut client), Vec::<(i64, String)>::new());
    assert!(
        !sandbox.home().join("data/command-results").exists(),
        "result documents written for a plugin"
    );
    client.shutdown();
}

/// The use count of `id` in the usage file.
fn uses(sandbox: &Sandbox, id: &str) -> u64 {
    std::fs::read_to_string(sandbox.home().join("data/usage"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["prompts"][id]["count"].as_u64())
        .unwrap_or(0)
}

fn wait_uses(sandbox: &Sandbox, id: &str, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while uses(sandbox, id) < expected {
        assert!(
            Instant::now() < deadline,
            "{id} used {} times, expected {expected}",
            uses(sandbox, id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(uses(sandbox, id), expected, "{id} counted too often");
}

/// Asks for `/zebra` completion at line 0 until the prompt is offered.
fn offer_zebra(client: &mut Client, doc: &str) {
    let params =
        json!({ "textDocument": { "uri": doc }, "position": { "line": 0, "character": 6 } });
    let answer = poll(
        client,
        "textDocument/completion",
        params,
        Duration::from_secs(10),
        |a| {
            completion_labels(a)
                .iter()
                .any(|l| l == "Zebra migration plan")
        },
    );
    assert!(
        completion_labels(&answer)
            .iter()
            .any(|l| l == "Zebra migration plan"),
        "{answer}"
    );
}

/// The edit an editor sends when it accepts the item: `/zebra` replaced by the expanded snippet.
fn accept_zebra(client: &mut Client, doc: &str, version: i64) {
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": doc, "version": version },
            "contentChanges": [{
                "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 6 } },
                "text": "Move herd across river.\nRisks and mitigations:\n- risks"
            }]
        }),
    );
}

#[test]
fn a_prompt_use_is_counted_once_from_the_edit_or_the_command() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox, generic_capabilities());
    let doc = uri(&sandbox.workspace().join("use.composition.md"));
    client.open(&doc, "/zebra\n");

    // Helix: the item's text is applied, its command is not run.
    offer_zebra(&mut client, &doc);
    accept_zebra(&mut client, &doc, 2);
    wait_uses(&sandbox, "workflows/zebra", 1);

    // VS Code: the edit, then the item's command: still one use for this insertion.
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": doc, "version": 3 }, "contentChanges": [{ "text": "/zebra\n" }] }),
    );
    offer_zebra(&mut client, &doc);
    accept_zebra(&mut client, &doc, 4);
    command(
        &mut client,
        "promptstack.promptUsed",
        json!({ "id": "workflows/zebra", "uri": doc }),
    )
    .unwrap();
    wait_uses(&sandbox, "workflows/zebra", 2);

    // A client that only runs the command (no recognisable edit) is counted by the command.
    command(
        &mut client,
        "promptstack.promptUsed",
        json!({ "id": "workflows/zebra", "uri": doc }),
    )
    .unwrap();
    wait_uses(&sandbox, "workflows/zebra", 3);
    // Events are handled in order: a double count of the second insertion would show by now.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(uses(&sandbox, "workflows/zebra"), 3);
    client.shutdown();
}

#[test]
fn files_the_server_creates_validate_clean() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let mut client = start(&sandbox, plugin_capabilities());
    let prompt = command(
        &mut client,
        "promptstack.createPrompt",
        json!({ "title": "Summarise a thread", "description": "Short summary", "tags": ["writing"], "category": "commands" }),
    )
    .unwrap();
    let composition = command(
        &mut client,
        "promptstack.newComposition",
        json!({ "directory": ws }),
    )
    .unwrap();
    for created in [&prompt, &composition] {
        let created_uri = created["uri"].as_str().unwrap();
        let text = std::fs::read_to_string(path_of(created_uri)).unwrap();
        client.open(created_uri, &text);
        let diagnostics = client.wait_diagnostics(created_uri, Some(1));
        assert!(
            diagnostics.is_empty(),
            "{created_uri}: {diagnostics:#?}\n{text}"
        );
    }
    // The new prompt has placeholders, so the check above saw placeholder rules at work.
    let prompt_text = std::fs::read_to_string(path_of(prompt["uri"].as_str().unwrap())).unwrap();
    assert!(
        prompt_text.contains("{{text:") && prompt_text.contains("{{list:"),
        "{prompt_text}"
    );
    client.shutdown();
}

#[test]
fn prompt_completion_only_in_compositions_and_library_files() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let mut client = start(&sandbox, generic_capabilities());
    let composition = uri(&ws.join("plan.composition.md"));
    client.open(&composition, "/zebra\n");
    offer_zebra(&mut client, &composition);
    let library_file = uri(&sandbox.library().join("commands/mine.md"));
    client.open(&library_file, "/zebra\n");
    offer_zebra(&mut client, &library_file);
    // A README, and a VS Code prompt file (`.github/prompts/`), are not PromptStack's.
    for other in [
        ws.join("README.md"),
        ws.join(".github/prompts/review.prompt.md"),
    ] {
        let other = uri(&other);
        client.open(&other, "/zebra\n");
        let answer = client
            .request(
                "textDocument/completion",
                json!({ "textDocument": { "uri": other }, "position": { "line": 0, "character": 6 } }),
            )
            .unwrap();
        assert_eq!(answer, Value::Null, "{other}");
    }
    client.shutdown();
}
