//! The protocol loop never blocks: a request on a huge document runs off the loop, stops when
//! it is cancelled, and gives up when a newer version of the document arrives. Over the real
//! binary's stdio.

mod support;

use serde_json::{Value, json};
use support::{Client, Incoming, Sandbox, uri};

/// A 5 MB document of placeholders on one line: seconds of work for semantic tokens in a debug
/// build, so the other messages below arrive while it runs.
fn huge_line() -> String {
    "{{text:a}} ".repeat(5 * 1024 * 1024 / 11)
}

fn started(sandbox: &Sandbox) -> (Client, String, String) {
    let mut client = Client::start(sandbox, &[]);
    client.initialize(Value::Null, false);
    let big = uri(&sandbox.workspace().join("big.prompt.md"));
    let small = uri(&sandbox.workspace().join("small.prompt.md"));
    client.open(&big, &huge_line());
    client.open(&small, "# Small\n{{text:x}}\n");
    (client, big, small)
}

#[test]
fn a_slow_request_does_not_hold_up_another_document() {
    let sandbox = Sandbox::new();
    let (mut client, big, small) = started(&sandbox);
    let slow = client.send_request(
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": big}}),
    );
    let quick = client.send_request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": small}}),
    );
    let symbols = client
        .wait_response(quick)
        .expect("symbols of the small document");
    assert_eq!(symbols[0]["name"], "Small");
    // The big answer had not come yet when the small one did.
    assert!(
        !client
            .seen
            .iter()
            .any(|m| matches!(m, Incoming::Response { id, .. } if *id == slow)),
        "the slow request answered first"
    );
    let tokens = client
        .wait_response(slow)
        .expect("tokens of the big document");
    // Two tokens (type and name) per placeholder.
    assert_eq!(
        tokens["data"].as_array().map(Vec::len),
        Some(5 * 1024 * 1024 / 11 * 2 * 5)
    );
    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn cancelling_a_request_stops_its_work() {
    let sandbox = Sandbox::new();
    let (mut client, big, _) = started(&sandbox);
    let slow = client.send_request(
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": big}}),
    );
    client.notify("$/cancelRequest", json!({ "id": slow }));
    let error = client.wait_response(slow).expect_err("a cancelled request");
    assert_eq!(error["code"], -32800, "{error}");
    // The work on the blocking pool noticed and stopped early.
    client.wait_for_log("the request was cancelled");
    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn a_newer_version_drops_work_on_the_old_one() {
    let sandbox = Sandbox::new();
    let (mut client, big, _) = started(&sandbox);
    let slow = client.send_request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": big}}),
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": big, "version": 2}, "contentChanges": [{"text": "# Head\n"}]}),
    );
    let error = client.wait_response(slow).expect_err("work on version 1");
    assert_eq!(error["code"], -32801, "{error}");
    // Asked again, the answer describes version 2.
    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": big}}),
        )
        .expect("symbols of version 2");
    assert_eq!(symbols[0]["name"], "Head");
    assert_eq!(client.shutdown(), Some(0));
}
