//! End-to-end: `promptstack mcp` driven by the official Python MCP SDK's client over stdio and
//! streamable HTTP (prompts with paging, rendering, completion from values saved through the
//! language server, tools, resources, list_changed), and by raw garbage on stdin.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, Sandbox, TIMEOUT, mcp_peer, uri};

const REVIEW: &str = "---\ntitle: Review in a language\ndescription: Review code in one language\ntags: [review]\n---\nReview this {{text:language}} code.\nFocus:\n{{list:focus}}\n";
const NO_ARGS: &str =
    "---\ntitle: Be terse\ndescription: No arguments at all\n---\nAnswer in one sentence.\n";

/// A home with two extra prompts, a saved composition and placeholder values remembered by the
/// language server (`promptstack.render`), as a user's would be.
fn prepared_home() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.library().join("commands/review-lang.md"),
        REVIEW.as_bytes(),
    );
    sandbox.write(
        &sandbox.library().join("rules/no-args.md"),
        NO_ARGS.as_bytes(),
    );
    for n in 0..10 {
        let text = format!("---\ntitle: Filler {n}\n---\nFiller prompt {n}.\n");
        sandbox.write(
            &sandbox.library().join(format!("rules/filler-{n:02}.md")),
            text.as_bytes(),
        );
    }
    let mut client = Client::start(&sandbox, &[]);
    client.initialize(Value::Null, false);
    let doc = uri(&sandbox.workspace().join("plan.prompt.md"));
    let text = "Plan the database migration in {{text:language}}\n";
    client.open(&doc, "");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": 2}, "contentChanges": [{"text": text}]}),
    );
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": doc}, "text": text}),
    );
    // The composition is in the history (which opens in the background) before values are
    // filled in, so they are remembered.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let found = client.request(
            "workspace/executeCommand",
            json!({"command": "promptstack.history.search", "arguments": [{"query": "migration"}]}),
        );
        if found
            .as_ref()
            .is_ok_and(|f| f["results"].as_array().is_some_and(|r| !r.is_empty()))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "composition never saved: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for value in ["Rust", "Ruby"] {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let result = client.request(
                "workspace/executeCommand",
                json!({"command": "promptstack.render", "arguments": [{"uri": doc, "values": {"language": value}}]}),
            );
            if result.is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "render failed: {result:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        // Wait until the language server offers it back: then it is in the history database.
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let answer = client
                .request(
                    "textDocument/completion",
                    json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": 40}}),
                )
                .unwrap();
            if support::completion_labels(&answer)
                .iter()
                .any(|l| l == value)
            {
                break;
            }
            assert!(Instant::now() < deadline, "{value} never offered: {answer}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    client.shutdown();
    sandbox
}

fn run_driver(python: &std::path::Path, args: &[&str]) -> Value {
    let out = Command::new(python)
        .arg(mcp_peer::script("drive_server.py"))
        .args(args)
        .output()
        .expect("run the Python MCP client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the Python client failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("bad driver output {e}: {stdout}"))
}

/// What every transport must show the client.
fn check_session(out: &Value, new_prompt_id: &str) {
    assert_eq!(
        out["capabilities"]["prompts"]["listChanged"], true,
        "{out:#}"
    );
    // Paging: 5 per page over the twelve prompts.
    let names: Vec<&str> = out["names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        names.contains(&"commands/review-lang") && names.contains(&"rules/no-args"),
        "{names:?}"
    );
    assert_eq!(names.len(), 12, "{names:?}");
    assert_eq!(out["pages"], names.len().div_ceil(5), "{out:#}");
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "no prompt listed twice");
    assert_eq!(out["bad_cursor"]["code"], -32602, "{out:#}");
    // Pages are in id order: `commands/review-lang` comes first.
    let review = &out["first_page"][0];
    assert_eq!(review["name"], "commands/review-lang", "{out:#}");
    assert_eq!(review["title"], "Review in a language");
    assert_eq!(review["description"], "Review code in one language");
    assert_eq!(
        review["arguments"],
        json!([
            {"name": "language", "description": "text", "required": true},
            {"name": "focus", "description": "list: one item per line", "required": true}
        ])
    );
    // Rendering, as promptstack.render does it.
    assert_eq!(
        out["get_with_args"]["messages"][0]["content"]["text"],
        "Review this Rust code.\nFocus:\n- errors\n- naming\n",
        "{out:#}"
    );
    assert_eq!(out["get_with_args"]["messages"][0]["role"], "user");
    assert_eq!(
        out["get_with_args"]["description"],
        "Review code in one language"
    );
    assert_eq!(
        out["get_without_args"]["messages"][0]["content"]["text"],
        "Answer in one sentence.\n"
    );
    for (key, needle) in [
        ("get_unknown", "no prompt with id `commands/nope`"),
        (
            "get_bad_arg",
            "has no argument `colour`; its arguments are: `language`, `focus`",
        ),
        ("get_missing_arg", "needs the argument(s) `focus`"),
    ] {
        assert_eq!(out[key]["code"], -32602, "{key}: {out:#}");
        assert!(
            out[key]["message"].as_str().unwrap_or("").contains(needle),
            "{key}: {}",
            out[key]
        );
    }
    // Completion: the values filled in through the language server, most recent first.
    assert_eq!(
        out["complete_ru"]["completion"]["values"],
        json!(["Ruby", "Rust"]),
        "{out:#}"
    );
    assert_eq!(
        out["complete_all"]["completion"]["values"],
        json!(["Ruby", "Rust"])
    );
    // Tools.
    let tools: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        tools,
        [
            "search_prompts",
            "get_prompt",
            "search_history",
            "get_composition"
        ]
    );
    for tool in out["tools"].as_array().unwrap() {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
    }
    let calls = &out["calls"];
    let found = calls["search_prompts"]["structuredContent"]["prompts"]
        .as_array()
        .unwrap();
    assert_eq!(
        found[0]["id"], "commands/review-lang",
        "typo-tolerant: {calls:#}"
    );
    assert!(found.len() <= 3);
    assert_eq!(
        calls["get_prompt"]["structuredContent"]["text"],
        "Review this Python code.\nFocus:\n- tests\n- docs\n"
    );
    let history = calls["search_history"]["structuredContent"]["compositions"]
        .as_array()
        .unwrap();
    assert_eq!(history.len(), 1, "{calls:#}");
    assert!(
        history[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("**migration**"),
        "{calls:#}"
    );
    assert_eq!(
        calls["get_composition"]["structuredContent"]["content"],
        "Plan the database migration in {{text:language}}\n"
    );
    for (key, needle) in [
        ("get_prompt_bad", "no prompt with id `commands/nope`"),
        (
            "search_prompts_bad",
            "`limit` must be a whole number from 1 to 50",
        ),
        ("get_composition_bad", "no composition with id `missing`"),
    ] {
        assert_eq!(calls[key]["isError"], true, "{key}: {calls:#}");
        assert!(
            calls[key]["content"][0]["text"]
                .as_str()
                .unwrap_or("")
                .contains(needle),
            "{key}: {}",
            calls[key]
        );
    }
    assert_eq!(out["unknown_tool"]["code"], -32602, "{out:#}");
    // Resources.
    let templates: Vec<&str> = out["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["uriTemplate"].as_str())
        .collect();
    assert_eq!(
        templates,
        ["promptstack://library/{id}", "promptstack://history/{id}"]
    );
    assert_eq!(out["read_library"]["contents"][0]["text"], REVIEW);
    assert_eq!(
        out["read_history"]["contents"][0]["text"]
            .as_str()
            .map(|t| t.contains("database migration")),
        Some(true),
        "{out:#}"
    );
    assert!(out["read_missing"]["code"].is_number(), "{out:#}");
    // list_changed after a file was added on disk, and the new prompt listed.
    assert_eq!(out["list_changed"], true, "{out:#}");
    assert!(
        out["names_after"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == new_prompt_id),
        "{out:#}"
    );
}

#[test]
fn python_client_over_stdio() {
    let Some(python) = mcp_peer::python() else {
        return;
    };
    let sandbox = prepared_home();
    let new_prompt = sandbox.library().join("workflows/zebra-stdio.md");
    let out = run_driver(
        &python,
        &[
            "stdio",
            support::binary().to_str().unwrap(),
            sandbox.home().to_str().unwrap(),
            "legacy",
            new_prompt.to_str().unwrap(),
        ],
    );
    check_session(&out, "workflows/zebra-stdio");
}

#[test]
fn python_client_over_http() {
    let Some(python) = mcp_peer::python() else {
        return;
    };
    let sandbox = prepared_home();
    let mut server = Command::new(support::binary())
        .args(["mcp", "--http", "127.0.0.1:0", "--page-size", "5"])
        .env("PROMPTSTACK_HOME", sandbox.home())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start promptstack mcp --http");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // Garbage first: refused with a client error, and the server keeps serving the real client.
    let authority = url.trim_start_matches("http://").trim_end_matches("/mcp");
    let mut raw = std::net::TcpStream::connect(authority).unwrap();
    raw.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        raw,
        "POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = raw.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    let new_prompt = sandbox.library().join("workflows/zebra-http.md");
    let out = run_driver(
        &python,
        &[
            "http",
            &url,
            sandbox.home().to_str().unwrap(),
            "auto",
            new_prompt.to_str().unwrap(),
        ],
    );
    let _ = server.kill();
    let _ = server.wait();
    check_session(&out, "workflows/zebra-http");
}

#[test]
fn garbage_on_stdin_gets_errors_and_the_server_keeps_serving() {
    let sandbox = Sandbox::new();
    let log = sandbox.dir.path().join("mcp.log");
    let mut server = Command::new(support::binary())
        .arg("mcp")
        .env("PROMPTSTACK_HOME", sandbox.home())
        .env("PROMPTSTACK_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start promptstack mcp");
    let mut stdin = server.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = server.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}});
    writeln!(stdin, "this is not JSON at all").unwrap();
    writeln!(stdin, "{{\"jsonrpc\": \"2.0\", \"id\": 7, \"method\": ").unwrap();
    writeln!(stdin, "{initialize}").unwrap();
    stdin.flush().unwrap();
    // Answers come in any order: keep every message until its id is asked for.
    let mut seen: Vec<Value> = Vec::new();
    let mut wait_for = |id: i64| -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(at) = seen.iter().position(|m| m["id"] == id) {
                return seen.remove(at);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                let logs = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("no answer to {id}; server log:\n{logs}")
            });
            match serde_json::from_str::<Value>(&line) {
                Ok(msg) => seen.push(msg),
                Err(_) => panic!("stdout carried a non-JSON line: {line:?}"),
            }
        }
    };
    let answer = wait_for(1);
    assert_eq!(
        answer["result"]["serverInfo"]["name"], "promptstack",
        "{answer}"
    );
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    )
    .unwrap();
    writeln!(stdin, "[1, 2, 3]").unwrap();
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "id": 2, "method": "prompts/get", "params": {"name": 42}})
    )
    .unwrap();
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "id": 3, "method": "prompts/list"})
    )
    .unwrap();
    stdin.flush().unwrap();
    let bad = wait_for(2);
    assert!(bad["error"]["code"].is_number(), "{bad}");
    let listed = wait_for(3);
    assert!(
        listed["result"]["prompts"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "{listed}"
    );
    // Hanging up ends the server cleanly.
    drop(stdin);
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after EOF"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "exit {status:?}; server log:\n{logs}");
}
