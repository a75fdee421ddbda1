//! End-to-end tests of the foundation features over the real binary's stdio.

mod support;

use serde_json::{Value, json};
use support::{Client, Incoming, Sandbox, uri};

const LIBRARY_PROMPT_WITH_PROBLEMS: &str = "---\ndescription: Reviews code\n---\n# Review\nCheck {{text:a}} then {{text:a}} and {{Text:b}}\n";
const COMPOSITION: &str = "# Task\nWrite about {{text:topic}} for {{text:audience}}.\n\n## Points\n{{list:points}}\nAgain {{text:topic}}.\n";

fn start(sandbox: &Sandbox, utf8: bool) -> Client {
    let mut client = Client::start(sandbox, &[]);
    client.initialize(Value::Null, utf8);
    client
}

fn composition_uri(sandbox: &Sandbox, name: &str) -> String {
    uri(&sandbox.workspace().join(name))
}

#[test]
fn library_file_problems_are_error_diagnostics() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox, false);
    let path = sandbox.library().join("commands/bad.md");
    let uri = uri(&path);
    client.open(&uri, LIBRARY_PROMPT_WITH_PROBLEMS);
    let diagnostics = client.wait_diagnostics(&uri, Some(1));
    let summary: Vec<(i64, String, i64)> = diagnostics
        .iter()
        .map(|d| {
            (
                d["severity"].as_i64().unwrap(),
                d["code"].as_str().unwrap().to_string(),
                d["range"]["start"]["line"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "missing-title".to_string(), 0),
            (2, "missing-tags".to_string(), 0),
            (1, "duplicate-placeholder".to_string(), 4),
            (2, "malformed-placeholder".to_string(), 4),
        ]
    );
    // The duplicate's range covers exactly the second `{{text:a}}` (UTF-16 columns).
    assert_eq!(
        diagnostics[2]["range"],
        json!({"start": {"line": 4, "character": 22}, "end": {"line": 4, "character": 32}})
    );
    assert_eq!(diagnostics[2]["source"], "promptstack");

    // Fixing the file clears the errors after the debounce, and stale runs are not published.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "---\ntitle: T\ndescription: D\ntags: [x]\n---\nok\n"}]}),
    );
    assert!(client.wait_diagnostics(&uri, Some(2)).is_empty());
    client.shutdown();
}

#[test]
fn composition_semantic_tokens_symbols_folding_and_code_lens() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox, false);
    let uri = composition_uri(&sandbox, "task.prompt.md");
    client.open(&uri, COMPOSITION);
    assert!(
        client.wait_diagnostics(&uri, Some(1)).is_empty(),
        "placeholders in compositions are not diagnosed"
    );

    let tokens = client
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    // (deltaLine, deltaStart, length, type, modifiers) per token: type then name of each placeholder.
    assert_eq!(
        tokens["data"],
        json!([
            1, 14, 4, 0, 0, 0, 5, 5, 1, 0, // {{text:topic}}
            0, 14, 4, 0, 0, 0, 5, 8, 1, 0, // {{text:audience}}
            3, 2, 4, 0, 0, 0, 5, 6, 1, 0, // {{list:points}}
            1, 8, 4, 0, 0, 0, 5, 5, 1, 0, // {{text:topic}}
        ])
    );
    let ranged = client
        .request(
            "textDocument/semanticTokens/range",
            json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 4, "character": 0}, "end": {"line": 5, "character": 0}}}),
        )
        .unwrap();
    assert_eq!(ranged["data"], json!([4, 2, 4, 0, 0, 0, 5, 6, 1, 0]));

    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    let task = &symbols[0];
    assert_eq!(task["name"], "Task");
    let children: Vec<&str> = task["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, vec!["topic", "audience", "Points"]);
    let points: Vec<&str> = task["children"][2]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(points, vec!["points", "topic"]);

    let folds = client
        .request(
            "textDocument/foldingRange",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    let folds: Vec<(i64, i64)> = folds
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["startLine"].as_i64().unwrap(),
                f["endLine"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(folds, vec![(0, 5), (3, 5)]);

    let lenses = client
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    let chars = COMPOSITION.chars().count();
    assert_eq!(
        lenses[0]["command"]["title"],
        format!(
            "{chars} characters · 6 lines · ~{} tokens",
            chars.div_ceil(4)
        )
    );
    assert_eq!(
        lenses[0]["range"]["start"],
        json!({"line": 0, "character": 0})
    );

    // After an edit settles, the editor is asked to re-request the size lens.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "short\n"}]}),
    );
    client.wait_diagnostics(&uri, Some(2));
    let deadline = std::time::Instant::now() + support::TIMEOUT;
    while !client.seen.iter().any(
        |m| matches!(m, Incoming::Request { method, .. } if method == "workspace/codeLens/refresh"),
    ) {
        assert!(
            std::time::Instant::now() < deadline,
            "no codeLens refresh after the edit"
        );
        client
            .request(
                "textDocument/foldingRange",
                json!({"textDocument": {"uri": uri}}),
            )
            .unwrap();
    }
    client.shutdown();
}

#[test]
fn rename_a_placeholder_across_the_document() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox, false);
    let uri = composition_uri(&sandbox, "r.prompt.md");
    client.open(&uri, COMPOSITION);

    let prepared = client
        .request(
            "textDocument/prepareRename",
            json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 20}}),
        )
        .unwrap();
    assert_eq!(prepared["placeholder"], "topic");
    assert_eq!(
        prepared["range"],
        json!({"start": {"line": 1, "character": 19}, "end": {"line": 1, "character": 24}})
    );
    let outside = client
        .request(
            "textDocument/prepareRename",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 2}}),
        )
        .unwrap();
    assert_eq!(
        outside,
        Value::Null,
        "prepareRename refuses outside a placeholder"
    );

    let edit = client
        .request(
            "textDocument/rename",
            json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 22}, "newName": "subject"}),
        )
        .unwrap();
    let edits = edit["changes"][&uri].as_array().unwrap();
    let lines: Vec<i64> = edits
        .iter()
        .map(|e| e["range"]["start"]["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![1, 5]);
    assert!(edits.iter().all(|e| e["newText"] == "subject"));

    let bad = client
        .request(
            "textDocument/rename",
            json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 22}, "newName": "not valid"}),
        )
        .unwrap_err();
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("not a valid placeholder name")
    );
    client.shutdown();
}

#[test]
fn incremental_changes_and_utf8_positions() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox, true);
    let uri = composition_uri(&sandbox, "u.prompt.md");
    client.open(&uri, "é😀 {{text:x}}\n");
    // Insert "ab" after the emoji: UTF-8 column 6.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 0, "character": 6}, "end": {"line": 0, "character": 6}}, "text": "ab"}
        ]}),
    );
    let tokens = client
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    // "é😀ab {{" is 2+4+2+1+2 = 11 bytes before `text`.
    assert_eq!(tokens["data"], json!([0, 11, 4, 0, 0, 0, 5, 1, 1, 0]));
    client.shutdown();
}

#[test]
fn negotiates_utf8_only_when_offered() {
    let sandbox = Sandbox::new();
    let mut client = Client::start(&sandbox, &[]);
    let result = client.initialize(Value::Null, true);
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
    client.shutdown();
    let mut client = Client::start(&sandbox, &[]);
    let result = client.initialize(Value::Null, false);
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
    client.shutdown();
}

#[test]
fn bad_input_never_kills_the_server() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox, false);
    // Malformed JSON-RPC body.
    client.send_raw(b"Content-Length: 12\r\n\r\n{not json!!}");
    // Unknown method.
    let unknown = client
        .request("promptstack/noSuchThing", json!({}))
        .unwrap_err();
    assert_eq!(unknown["code"], -32601);
    // A request about a document that was never opened.
    let not_open = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": "file:///nowhere.prompt.md"}}),
        )
        .unwrap_err();
    assert!(not_open["message"].as_str().unwrap().contains("not open"));
    // A position beyond the end of the document.
    let uri = composition_uri(&sandbox, "p.prompt.md");
    client.open(&uri, "one line\n");
    let beyond = client
        .request(
            "textDocument/prepareRename",
            json!({"textDocument": {"uri": uri}, "position": {"line": 40, "character": 0}}),
        )
        .unwrap_err();
    assert!(
        beyond["message"]
            .as_str()
            .unwrap()
            .contains("outside the document"),
        "{beyond}"
    );
    // An unknown command.
    let command = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.nope", "arguments": []}),
        )
        .unwrap_err();
    assert!(
        command["message"]
            .as_str()
            .unwrap()
            .contains("unknown command")
    );
    assert!(client.alive());
    // Still serving.
    client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn a_five_megabyte_composition_gets_a_clear_warning() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox, false);
    let uri = composition_uri(&sandbox, "big.prompt.md");
    let line = "lorem ipsum {{text:x}} dolor sit amet, consectetur adipiscing elit\n";
    let text = line.repeat(5 * 1024 * 1024 / line.len() + 1);
    client.open(&uri, &text);
    let diagnostics = client.wait_diagnostics(&uri, Some(1));
    assert_eq!(diagnostics.len(), 1);
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("5.0 MB"),
        "{diagnostics:?}"
    );
    let lenses = client
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    assert!(
        lenses[0]["command"]["title"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} characters", text.len()))
    );
    client.shutdown();
}

#[test]
fn validate_library_command_reports_invalid_utf8_and_publishes_diagnostics() {
    let sandbox = Sandbox::new();
    let binary_file = sandbox.write(
        &sandbox.library().join("rules/broken.md"),
        &[0xff, 0xfe, 0x00, b'x'],
    );
    sandbox.write(
        &sandbox.library().join("commands/bad.md"),
        LIBRARY_PROMPT_WITH_PROBLEMS.as_bytes(),
    );
    let mut client = start(&sandbox, false);
    let report = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.validateLibrary", "arguments": []}),
        )
        .unwrap();
    assert_eq!(report["errors"], 3, "{report:#}");
    let broken = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "rules/broken.md")
        .expect("broken file in report");
    assert!(
        broken["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not UTF-8")
    );
    let diagnostics = client.wait_diagnostics(&uri(&binary_file), None);
    assert_eq!(diagnostics[0]["code"], "not-utf8");
    assert!(client.alive());
    client.shutdown();
}

#[test]
fn render_fills_placeholders() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox, false);
    let uri = composition_uri(&sandbox, "render.prompt.md");
    client.open(&uri, COMPOSITION);
    let rendered = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.render", "arguments": [{"uri": uri, "values": {"topic": "tides", "points": ["moon", "sun"]}}]}),
        )
        .unwrap();
    assert_eq!(
        rendered["text"],
        "# Task\nWrite about tides for {{text:audience}}.\n\n## Points\n- moon\n- sun\nAgain tides.\n"
    );
    assert_eq!(rendered["missing"], json!(["audience"]));
    client.shutdown();
}

#[test]
fn settings_from_the_editor_apply_live_and_invalid_values_are_reported() {
    let sandbox = Sandbox::new();
    let mut client = Client::start(&sandbox, &[]);
    // Compositions are `*.task.md` per initializationOptions.
    client.initialize(json!({"compositions": {"globs": ["**/*.task.md"]}}), false);
    let task = composition_uri(&sandbox, "a.task.md");
    client.open(&task, "hello\n");
    let lenses = client
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": task}}),
        )
        .unwrap();
    assert!(lenses.is_array(), "a.task.md is a composition: {lenses}");

    // A pushed change with an invalid value: reported, previous value kept.
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"promptstack": {"compositions": {"globs": ["**/*.task.md"]}, "ai": {"provider": "gemini"}}}}),
    );
    let message = client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("ai.provider"))
    });
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("allowed: claude, openai, mcp")
    );

    // A pull-style change: the server asks workspace/configuration and applies the answer.
    *client.settings.lock().unwrap() = json!({"compositions": {"globs": ["**/*.other.md"]}});
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": null}),
    );
    let deadline = std::time::Instant::now() + support::TIMEOUT;
    loop {
        let lenses = client
            .request(
                "textDocument/codeLens",
                json!({"textDocument": {"uri": task}}),
            )
            .unwrap();
        if lenses.is_null() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pulled settings never applied"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(client.seen.iter().any(
        |m| matches!(m, Incoming::Request { method, .. } if method == "workspace/configuration")
    ));

    // When the editor's settings are removed again, initializationOptions apply once more.
    *client.settings.lock().unwrap() = json!({});
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": null}),
    );
    let deadline = std::time::Instant::now() + support::TIMEOUT;
    loop {
        let lenses = client
            .request(
                "textDocument/codeLens",
                json!({"textDocument": {"uri": task}}),
            )
            .unwrap();
        if lenses.is_array() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "initializationOptions never came back"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    client.shutdown();
}
