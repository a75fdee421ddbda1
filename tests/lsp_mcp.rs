//! End-to-end: MCP servers built with the official Python SDK on the other side of the language
//! server — one's prompts as a `library.sources` entry (completed in the editor with tabstops,
//! restarted after it is killed, the outage told once), one's tools as the `mcp` AI provider (review → diagnostics →
//! apply, and a cancelled review reaching it as `notifications/cancelled`).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, Sandbox, TIMEOUT, mcp_peer, uri};

const DRAFT: &str = "# Task\nWrite a poem.\nKeep it short.\nMake it long.\n";

fn peer_command(python: &Path, mode: &str, state: &Path) -> Value {
    json!([python, mcp_peer::script("peer_server.py"), mode, state])
}

fn pids(state: &Path) -> Vec<i32> {
    std::fs::read_to_string(state.join("pids"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn mcp_prompts_complete_with_tabstops_and_the_server_is_restarted() {
    let Some(python) = mcp_peer::python() else {
        return;
    };
    let sandbox = Sandbox::new();
    let state = sandbox.dir.path().join("peer");
    std::fs::create_dir_all(&state).unwrap();
    let mut client = Client::start(&sandbox, &[]);
    client.initialize(
        json!({"library": {"sources": [
            {"type": "mcp", "name": "team", "command": peer_command(&python, "prompts", &state)}
        ]}}),
        false,
    );
    let doc = uri(&sandbox.workspace().join("draft.prompt.md"));
    client.open(&doc, "");

    // The server's prompt completes like a library prompt: arguments are tabstops.
    let item = support::completed(&mut client, &doc, 2, "/team review", "Team code review");
    assert_eq!(item["detail"], "from team", "{item:#}");
    assert_eq!(item["insertTextFormat"], 2, "a snippet");
    assert_eq!(
        item["textEdit"]["newText"],
        "Review this ${1:language} change.\nFocus on ${2:focus}.\nKeep ${1:language} idioms.\n"
    );
    assert_eq!(item["command"]["arguments"][0]["id"], "team:code-review");
    // Its documentation comes from the cached copy.
    let resolved = client
        .request("completionItem/resolve", item.clone())
        .unwrap();
    assert!(
        resolved["documentation"]["value"]
            .as_str()
            .is_some_and(|d| d.starts_with("Review with the team checklist")),
        "{resolved:#}"
    );
    // Workspace symbols list it, at its read-only copy.
    let symbols = client
        .request("workspace/symbol", json!({"query": "Team code review"}))
        .unwrap();
    let symbol = symbols
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Team code review")
        .cloned()
        .unwrap_or_else(|| panic!("no symbol in {symbols:#}"));
    let copy: PathBuf = symbol["location"]["uri"]
        .as_str()
        .unwrap()
        .trim_start_matches("file://")
        .into();
    assert!(
        copy.starts_with(sandbox.home().join("data/sources/team")),
        "{copy:?}"
    );
    assert!(
        std::fs::read_to_string(&copy)
            .unwrap()
            .contains("Review this {{text:language}} change.")
    );
    // Read-only: createPrompt refuses the source.
    let refused = support::create_prompt_refused(&mut client, "team");
    assert!(refused.contains("`team` is read-only"), "{refused}");

    // Killed mid-session, the server is started again and its prompts refreshed.
    let first = pids(&state);
    assert_eq!(first.len(), 1, "started once: {first:?}");
    // SAFETY: kill(2) on the pid of the test's own peer process.
    unsafe { libc::kill(first[0], libc::SIGKILL) };
    let item = support::completed(
        &mut client,
        &doc,
        2,
        "/served after",
        "Served after a restart",
    );
    assert_eq!(item["detail"], "from team");
    assert_eq!(
        item["textEdit"]["newText"],
        "This prompt came from the restarted server.\n"
    );
    assert_eq!(pids(&state).len(), 2);
    // The prompts known before the restart are still offered.
    support::completed(&mut client, &doc, 2, "/team review", "Team code review");
    // The outage was told to the user, once.
    let outage = |seen: &[support::Incoming]| {
        support::shown_messages(seen)
            .into_iter()
            .filter(|m| m.contains("prompt source `team` is unavailable"))
            .count()
    };
    client.wait_until("the outage message", |seen| outage(seen) > 0);
    support::completed(&mut client, &doc, 2, "/team review", "Team code review");
    assert_eq!(outage(&client.seen), 1, "{:#?}", client.seen);
    client.shutdown();
}

fn ai_diagnostics(params: &Value) -> Vec<Value> {
    params["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d["source"] == "promptstack-ai")
        .collect()
}

fn calls(state: &Path) -> Vec<Value> {
    std::fs::read_to_string(state.join("calls.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn mcp_reviewer_reviews_applies_and_hears_cancellation() {
    let Some(python) = mcp_peer::python() else {
        return;
    };
    let sandbox = Sandbox::new();
    let state = sandbox.dir.path().join("peer");
    std::fs::create_dir_all(&state).unwrap();
    let mut client = Client::start(&sandbox, &[]);
    client.initialize(
        json!({"ai": {"provider": "mcp", "mcp": {"command": peer_command(&python, "reviewer", &state)}}}),
        false,
    );
    let doc = uri(&sandbox.workspace().join("poem.prompt.md"));
    client.open(&doc, DRAFT);
    let reviewed = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.ai.review", "arguments": [{"uri": doc}]}),
        )
        .expect("review");
    assert_eq!(reviewed["suggestions"], 1, "{reviewed}");
    let published = client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["uri"] == doc.as_str() && !ai_diagnostics(p).is_empty()
    });
    let d = &ai_diagnostics(&published)[0];
    assert_eq!(d["code"], "contradiction");
    assert_eq!(
        d["range"],
        json!({"start": {"line": 2, "character": 0}, "end": {"line": 3, "character": 13}})
    );
    let asked = calls(&state);
    assert_eq!(asked[0]["tool"], "review");
    assert_eq!(asked[0]["composition"], DRAFT);
    assert_eq!(
        asked[0]["numbered"],
        "1 | # Task\n2 | Write a poem.\n3 | Keep it short.\n4 | Make it long.\n"
    );
    assert_eq!(asked[0]["has_schema"], true);

    let actions = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": doc},
                   "range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 0}},
                   "context": {"diagnostics": []}}),
        )
        .unwrap();
    let apply = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Apply: Short or long?")
        .cloned()
        .unwrap_or_else(|| panic!("no Apply in {actions:#}"));
    let resolved = client
        .request("codeAction/resolve", apply)
        .expect("resolve");
    assert_eq!(
        resolved["edit"]["documentChanges"][0]["edits"],
        json!([{"range": {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 0}},
                "newText": "Keep it to eight lines.\n"}])
    );
    let asked = calls(&state);
    assert_eq!(asked[1]["tool"], "apply");
    assert_eq!(asked[1]["suggestion"]["title"], "Short or long?");

    // A review cancelled in the editor reaches the server as notifications/cancelled.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": 2},
               "contentChanges": [{"text": "# SLOW task\nTake your time.\n"}]}),
    );
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "promptstack.ai.review", "arguments": [{"uri": doc}]}),
    );
    let deadline = Instant::now() + TIMEOUT;
    while !calls(&state).iter().any(|c| {
        c["composition"]
            .as_str()
            .is_some_and(|t| t.contains("SLOW"))
    }) {
        assert!(
            Instant::now() < deadline,
            "the slow review never reached the server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    client.notify("$/cancelRequest", json!({"id": id}));
    let error = client.wait_response(id).expect_err("cancelled");
    assert_eq!(error["code"], -32800, "{error}");
    let deadline = Instant::now() + TIMEOUT;
    while !state.join("cancelled").exists() {
        assert!(
            Instant::now() < deadline,
            "the server never heard of the cancellation"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // One server process served it all.
    assert_eq!(pids(&state).len(), 1);
    client.shutdown();
}
