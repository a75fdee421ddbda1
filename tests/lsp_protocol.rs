//! No message may kill or deafen the server: invalid JSON-RPC bodies, framing errors and lone
//! `\r` line endings, over the real binary's stdio.

mod support;

use serde_json::{Value, json};
use support::{Client, Incoming, Sandbox, uri};

/// The harness reports a response whose id is not a 64-bit integer (null, 1.5, ...) as -1.
const UNREADABLE_ID: i64 = -1;

fn started(sandbox: &Sandbox) -> (Client, String) {
    let mut client = Client::start(sandbox, &[]);
    client.initialize(Value::Null, false);
    let doc = uri(&sandbox.workspace().join("p.prompt.md"));
    client.open(&doc, "# Title\nUse {{text:topic}} here.\n");
    (client, doc)
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// The server still answers: the document's symbols come back.
fn assert_serving(client: &mut Client, doc: &str, after: &str) {
    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": doc}}),
        )
        .unwrap_or_else(|e| panic!("after {after}: {e}"));
    assert_eq!(symbols[0]["name"], "Title", "after {after}");
    assert!(client.alive(), "after {after}");
}

#[test]
fn invalid_requests_get_the_spec_error_and_the_server_lives() {
    let sandbox = Sandbox::new();
    let (mut client, doc) = started(&sandbox);
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{}{}}}"#,
        "[".repeat(130),
        "]".repeat(130)
    );
    let mut bad_utf8 =
        br#"{"jsonrpc":"2.0","id":907,"method":"textDocument/hover","params":{"t":""#.to_vec();
    bad_utf8.extend_from_slice(&[0xc3, 0x28, 0xff]);
    bad_utf8.extend_from_slice(br#""}}"#);
    // (body, code, id the reply carries)
    let cases: Vec<(Vec<u8>, i64, i64)> = vec![
        (b"{}".to_vec(), -32600, UNREADABLE_ID),
        (b"[]".to_vec(), -32600, UNREADABLE_ID),
        (
            br#"[{"jsonrpc":"2.0","id":900,"method":"shutdown"}]"#.to_vec(),
            -32600,
            UNREADABLE_ID,
        ),
        (b"17".to_vec(), -32600, UNREADABLE_ID),
        (
            br#"{"jsonrpc":"1.0","id":901,"method":"shutdown"}"#.to_vec(),
            -32600,
            901,
        ),
        (
            br#"{"jsonrpc":2,"id":902,"method":"shutdown"}"#.to_vec(),
            -32600,
            902,
        ),
        (br#"{"id":903,"method":"shutdown"}"#.to_vec(), -32600, 903),
        (
            br#"{"jsonrpc":"2.0","id":904,"method":7}"#.to_vec(),
            -32600,
            904,
        ),
        (
            br#"{"jsonrpc":"2.0","id":1.5,"method":"shutdown"}"#.to_vec(),
            -32600,
            UNREADABLE_ID,
        ),
        (
            br#"{"jsonrpc":"2.0","id":1e308,"method":"shutdown"}"#.to_vec(),
            -32600,
            UNREADABLE_ID,
        ),
        (
            br#"{"jsonrpc":"2.0","id":true,"method":"shutdown"}"#.to_vec(),
            -32600,
            UNREADABLE_ID,
        ),
        (
            br#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"shutdown"}"#.to_vec(),
            -32600,
            UNREADABLE_ID,
        ),
        (
            br#"{"jsonrpc":"2.0","id":905,"method":"shutdown","params":"x"}"#.to_vec(),
            -32600,
            905,
        ),
        (deep.into_bytes(), -32700, UNREADABLE_ID),
        (bad_utf8, -32700, 907),
        (b"{not json".to_vec(), -32700, UNREADABLE_ID),
    ];
    for (body, code, id) in cases {
        let shown = String::from_utf8_lossy(&body)
            .chars()
            .take(60)
            .collect::<String>();
        client.send_raw(&frame(&body));
        let error = client
            .wait_response(id)
            .expect_err("an invalid request gets an error");
        assert_eq!(error["code"], code, "for {shown}: {error}");
        assert_serving(&mut client, &doc, &shown);
    }
    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn invalid_notifications_and_responses_are_dropped_and_the_server_lives() {
    let sandbox = Sandbox::new();
    let (mut client, doc) = started(&sandbox);
    let cases: [&[u8]; 6] = [
        br#"{"jsonrpc":"1.0","method":"textDocument/didClose","params":{}}"#,
        br#"{"method":"initialized","params":{}}"#,
        br#"{"jsonrpc":"2.0","method":"$/x","params":5}"#,
        br#"{"jsonrpc":"2.0","id":4000,"result":1,"error":{"code":1,"message":"m"}}"#,
        br#"{"jsonrpc":"2.0","id":4001,"error":{"code":1,"message":"m","extra":true}}"#,
        br#"{"jsonrpc":"2.0","id":[1],"result":null}"#,
    ];
    for body in cases {
        client.send_raw(&frame(body));
        assert_serving(&mut client, &doc, &String::from_utf8_lossy(body));
    }
    // None of them was answered.
    assert!(
        !client
            .seen
            .iter()
            .any(|m| matches!(m, support::Incoming::Response { .. })),
        "{:?}",
        client.seen
    );
    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn after_any_framing_error_the_next_request_is_answered() {
    let sandbox = Sandbox::new();
    let (mut client, doc) = started(&sandbox);
    let text = r#"{"jsonrpc":"2.0","method":"$/ping","params":{"text":"héllo wörld ✓"}}"#;
    let cases = [
        (
            "a length counted in characters",
            format!("Content-Length: {}\r\n\r\n{text}", text.chars().count()),
        ),
        ("three stray bytes", "xyz".to_string()),
        (
            "a header without a colon",
            format!("Content-Length {}\r\n\r\n{text}", text.len()),
        ),
        (
            "a negative length",
            format!("Content-Length: -{}\r\n\r\n{text}", text.len()),
        ),
        (
            "a body one byte short",
            format!("Content-Length: {}\r\n\r\n{text}", text.len() + 1),
        ),
        (
            "a body one byte long",
            format!("Content-Length: {}\r\n\r\n{text}", text.len() - 1),
        ),
        (
            "a header without Content-Length",
            format!("X-Y: 1\r\n\r\n{text}"),
        ),
        (
            "an absurd length",
            format!("Content-Length: 99999999999999999999999\r\n\r\n{text}"),
        ),
    ];
    for (what, bytes) in cases {
        client.send_raw(bytes.as_bytes());
        assert_serving(&mut client, &doc, what);
    }
    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn lone_carriage_returns_end_lines() {
    let sandbox = Sandbox::new();
    let mut client = Client::start(&sandbox, &[]);
    client.initialize(Value::Null, false);
    let doc = uri(&sandbox.workspace().join("cr.prompt.md"));
    client.open(&doc, "# A\r{{text:x}}\r");
    let tokens = client
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": doc}}),
        )
        .unwrap();
    // `text` then `x`, both on line 1.
    assert_eq!(tokens["data"], json!([1, 2, 4, 0, 0, 0, 5, 1, 1, 0]));
    // Rename the placeholder on line 1 by an edit: the server keeps track.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 1, "character": 7}, "end": {"line": 1, "character": 8}}, "text": "name"}
        ]}),
    );
    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": doc}}),
        )
        .unwrap();
    assert_eq!(symbols[0]["name"], "A");
    assert_eq!(symbols[0]["children"][0]["name"], "name");
    assert_eq!(
        symbols[0]["children"][0]["range"],
        json!({"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 13}})
    );
    assert!(
        !client.seen.iter().any(|m| matches!(m,
            support::Incoming::Notification { method, .. } if method == "window/showMessage")),
        "{:?}",
        client.seen
    );
    assert_eq!(client.shutdown(), Some(0));
}

/// More requests than may run at once (256), each waiting for the client's answer to the
/// server's own `window/showDocument`: the answers arrive behind requests still waiting for a
/// slot, so the server must go on reading while it waits. It used to stop reading, and with
/// every slot waiting for an answer it could not read, it was deaf for good.
#[test]
fn requests_waiting_for_the_client_never_stop_the_server_reading() {
    const REQUESTS: usize = 300;
    let sandbox = Sandbox::new();
    let mut client = Client::start(&sandbox, &[]);
    client.initialize_in(&sandbox.workspace(), Value::Null);
    let doc = uri(&sandbox.workspace().join("walrus.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "a walrus to open many times\n");
    let saved = client.history_search_until("walrus", |r| r.len() == 1);
    client
        .held
        .lock()
        .unwrap()
        .insert("window/showDocument".into());
    let open =
        json!({"command": "promptstack.history.open", "arguments": [{"id": saved[0]["id"]}]});
    let ids: Vec<i64> = (0..REQUESTS)
        .map(|_| client.send_request("workspace/executeCommand", open.clone()))
        .collect();
    let answered = |seen: &[Incoming]| {
        seen.iter()
            .filter(|m| matches!(m, Incoming::Response { id, .. } if ids.contains(id)))
            .count()
    };
    let mut shown = 0;
    while answered(&client.seen) < REQUESTS {
        client.wait_until("a showDocument request or the last answer", |seen| {
            answered(seen) == REQUESTS || seen.iter().any(|m| matches!(m, Incoming::Held { .. }))
        });
        let held: Vec<(Value, bool)> = client
            .seen
            .iter()
            .filter_map(|m| match m {
                Incoming::Held { id, params, .. } => Some((
                    id.clone(),
                    params["uri"]
                        .as_str()
                        .is_some_and(|u| u.contains("/.history/")),
                )),
                _ => None,
            })
            .collect();
        client.seen.retain(|m| !matches!(m, Incoming::Held { .. }));
        // Results documents of the search above may be shown too; only count the history file.
        for (id, history_file) in held {
            client.respond(id, json!({"success": true}));
            shown += usize::from(history_file);
        }
    }
    assert_eq!(shown, REQUESTS, "one showDocument per request");
    for m in &client.seen {
        if let Incoming::Response { id, result } = m
            && ids.contains(id)
        {
            let opened = result.as_ref().unwrap_or_else(|e| panic!("{e}"));
            assert!(
                opened["uri"].as_str().is_some_and(|u| u.ends_with(".md")),
                "{opened}"
            );
        }
    }
    assert!(client.alive());
}
