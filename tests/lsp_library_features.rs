//! End-to-end tests over the real binary's stdio: file-reference completion, document links and
//! link diagnostics, hover, go-to-definition, and the createPrompt / newComposition commands.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, Incoming, Sandbox, completion_items, completion_labels, start_in, uri};

fn complete(client: &mut Client, doc: &str, line: u32, character: u32) -> Value {
    client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": doc}, "position": {"line": line, "character": character}}),
        )
        .expect("completion succeeds")
}

fn command(client: &mut Client, name: &str, args: Value) -> Result<Value, Value> {
    client.request(
        "workspace/executeCommand",
        json!({"command": name, "arguments": [args]}),
    )
}

fn codes(diagnostics: &[Value]) -> Vec<String> {
    let mut codes: Vec<String> = diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_string())
        .collect();
    codes.sort();
    codes
}

#[test]
fn file_completion_respects_gitignore_and_inserts_links() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    sandbox.write(&ws.join(".gitignore"), b"secret/\n*.log\n");
    sandbox.write(&ws.join("notes.md"), b"# Notes\n");
    sandbox.write(&ws.join("docs/guide.md"), b"# Guide\n");
    sandbox.write(&ws.join("secret/key.md"), b"hush\n");
    sandbox.write(&ws.join("debug.log"), b"log line\n");
    sandbox.write(&ws.join("image.bin"), b"\x89PNG\0\0\0binary");
    sandbox.write(&ws.join(".hidden/x.md"), b"x\n");
    let mut client = start_in(&sandbox, &ws);
    let doc = uri(&ws.join("plan.prompt.md"));
    client.open(&doc, "Use @\nsee [the guide](\nUse @guid");

    let offered = completion_labels(&complete(&mut client, &doc, 0, 5));
    assert!(offered.contains(&"notes.md".to_string()), "{offered:?}");
    assert!(
        offered.contains(&"docs/guide.md".to_string()),
        "{offered:?}"
    );
    for hidden in [
        "secret/key.md",
        "debug.log",
        "image.bin",
        ".hidden/x.md",
        ".gitignore",
    ] {
        assert!(
            !offered.contains(&hidden.to_string()),
            "{hidden} offered: {offered:?}"
        );
    }

    let answer = complete(&mut client, &doc, 2, 9);
    let first = &completion_items(&answer)[0];
    assert_eq!(first["label"], "docs/guide.md");
    assert_eq!(first["textEdit"]["newText"], "[guide.md](docs/guide.md)");
    assert_eq!(
        first["textEdit"]["range"],
        json!({"start": {"line": 2, "character": 4}, "end": {"line": 2, "character": 9}})
    );

    let answer = complete(&mut client, &doc, 1, 16);
    let notes = completion_items(&answer)
        .into_iter()
        .find(|i| i["label"] == "notes.md")
        .expect("notes.md offered inside a link");
    assert_eq!(notes["textEdit"]["newText"], "notes.md");
    assert_eq!(
        notes["textEdit"]["range"],
        json!({"start": {"line": 1, "character": 16}, "end": {"line": 1, "character": 16}})
    );

    // A folder added to the workspace is walked too.
    let other = sandbox.dir.path().join("other");
    sandbox.write(&other.join("zebra-facts.md"), b"stripes\n");
    client.notify(
        "workspace/didChangeWorkspaceFolders",
        json!({"event": {"added": [{"uri": uri(&other), "name": "other"}], "removed": []}}),
    );
    let offered = completion_labels(&complete(&mut client, &doc, 0, 5));
    assert!(
        offered.contains(&"zebra-facts.md".to_string()),
        "{offered:?}"
    );

    // Only compositions get file references.
    let readme = uri(&ws.join("README.md"));
    client.open(&readme, "Use @");
    assert_eq!(complete(&mut client, &readme, 0, 5), Value::Null);
    client.shutdown();
}

fn link_targets(links: &Value) -> Vec<String> {
    links
        .as_array()
        .expect("links")
        .iter()
        .map(|l| l["target"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn file_links_are_clickable_and_checked() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    sandbox.write(&ws.join("notes.md"), b"# Notes\n");
    sandbox.write(&ws.join("big.txt"), &vec![b'a'; 1024 * 1024 + 10]);
    let mut client = start_in(&sandbox, &ws);
    let doc = uri(&ws.join("plan.prompt.md"));
    client.open(
        &doc,
        "Read [notes](notes.md), [gone](gone.md), [big](big.txt) and [web](https://example.org).\n",
    );
    let diagnostics = client.wait_diagnostics(&doc, Some(1));
    assert_eq!(
        codes(&diagnostics),
        vec!["broken-link", "linked-file-too-large"],
        "{diagnostics:#?}"
    );
    let broken = diagnostics
        .iter()
        .find(|d| d["code"] == "broken-link")
        .unwrap();
    assert_eq!(broken["severity"], 2);
    assert_eq!(
        broken["range"],
        json!({"start": {"line": 0, "character": 31}, "end": {"line": 0, "character": 38}})
    );

    let links = client
        .request(
            "textDocument/documentLink",
            json!({"textDocument": {"uri": doc}}),
        )
        .expect("documentLink succeeds");
    // The missing file is not a link: clicking it would open an empty tab.
    assert_eq!(
        link_targets(&links),
        vec![uri(&ws.join("notes.md")), uri(&ws.join("big.txt"))]
    );
    assert_eq!(
        links[0]["range"],
        json!({"start": {"line": 0, "character": 13}, "end": {"line": 0, "character": 21}})
    );

    // Creating the missing file and editing clears the warning and makes it a link.
    sandbox.write(&ws.join("gone.md"), b"back\n");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": 2}, "contentChanges": [{"text": "[gone](gone.md)\n"}]}),
    );
    assert!(client.wait_diagnostics(&doc, Some(2)).is_empty());
    let links = client
        .request(
            "textDocument/documentLink",
            json!({"textDocument": {"uri": doc}}),
        )
        .expect("documentLink succeeds");
    assert_eq!(link_targets(&links), vec![uri(&ws.join("gone.md"))]);
    client.shutdown();
}

#[test]
fn hover_shows_placeholders_and_link_previews() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let lines: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    sandbox.write(&ws.join("notes.md"), lines.as_bytes());
    let mut client = start_in(&sandbox, &ws);
    let doc = uri(&ws.join("plan.prompt.md"));
    client.open(
        &doc,
        "Write for {{text:team}}.\nSee [notes](notes.md).\nAgain {{text:team}}.\nplain\n",
    );
    let hover = |client: &mut Client, line: u32, character: u32| {
        client
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": doc}, "position": {"line": line, "character": character}}),
            )
            .expect("hover succeeds")
    };
    let on_placeholder = hover(&mut client, 0, 15);
    assert_eq!(on_placeholder["contents"]["kind"], "markdown");
    assert_eq!(
        on_placeholder["contents"]["value"],
        "**text** placeholder `team`\n\nAlso on line 3."
    );
    assert_eq!(
        on_placeholder["range"],
        json!({"start": {"line": 0, "character": 10}, "end": {"line": 0, "character": 23}})
    );

    let on_link = hover(&mut client, 1, 8);
    let value = on_link["contents"]["value"].as_str().expect("markdown");
    let expected_head: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    assert!(
        value.contains(&format!("```md\n{expected_head}```")),
        "{value}"
    );
    assert!(!value.contains("line 21"), "{value}");

    assert_eq!(hover(&mut client, 3, 2), Value::Null);
    let past_end = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": doc}, "position": {"line": 99, "character": 0}}),
    );
    assert_eq!(past_end.unwrap_err()["code"], -32602);
    client.shutdown();
}

#[test]
fn definition_goes_to_the_linked_library_prompt() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let prompt = sandbox.write(
        &sandbox.library().join("workflows/forecast.md"),
        b"---\ntitle: Forecast\n---\nForecast.\n",
    );
    let mut client = start_in(&sandbox, &ws);
    let doc = uri(&ws.join("plan.prompt.md"));
    let text = format!("Use [forecast]({}) now.\nnothing here\n", prompt.display());
    client.open(&doc, &text);
    let definition = |client: &mut Client, line: u32, character: u32| {
        client
            .request(
                "textDocument/definition",
                json!({"textDocument": {"uri": doc}, "position": {"line": line, "character": character}}),
            )
            .expect("definition succeeds")
    };
    let found = definition(&mut client, 0, 6);
    assert_eq!(found["uri"], uri(&prompt));
    assert_eq!(found["range"]["start"], json!({"line": 0, "character": 0}));
    assert_eq!(definition(&mut client, 1, 3), Value::Null);
    client.shutdown();
}

fn shown_documents(client: &mut Client) -> Vec<String> {
    client
        .seen
        .iter()
        .filter_map(|m| match m {
            Incoming::Request { method, params } if method == "window/showDocument" => {
                params["uri"].as_str().map(str::to_string)
            }
            _ => None,
        })
        .collect()
}

/// Waits until the server has asked the client to open `uri`.
fn wait_shown(client: &mut Client, uri: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !shown_documents(client).iter().any(|u| u == uri) {
        assert!(Instant::now() < deadline, "{uri} was not shown");
        // Any round trip collects the messages that arrived meanwhile.
        let _ = client.request("workspace/symbol", json!({"query": ""}));
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn create_prompt_writes_indexes_and_opens_it() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let mut client = start_in(&sandbox, &ws);
    let created = command(
        &mut client,
        "promptstack.createPrompt",
        json!({"title": "Zebra Migration Checklist", "description": "Move zebras", "tags": ["ops"], "category": "zoo"}),
    )
    .expect("createPrompt succeeds");
    let path = sandbox.library().join("zoo/zebra-migration-checklist.md");
    assert_eq!(created["uri"], uri(&path));
    assert_eq!(created["id"], "zoo/zebra-migration-checklist");
    let text = std::fs::read_to_string(&path).expect("prompt written");
    assert!(
        text.starts_with("---\ntitle: \"Zebra Migration Checklist\"\ndescription: \"Move zebras\"\ntags: [\"ops\"]\n---\n"),
        "{text}"
    );
    wait_shown(&mut client, &uri(&path));

    let doc = uri(&ws.join("plan.prompt.md"));
    client.open(&doc, "/zebra");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let offered = completion_labels(&complete(&mut client, &doc, 0, 6));
        if offered
            .first()
            .is_some_and(|l| l == "Zebra Migration Checklist")
        {
            break;
        }
        assert!(Instant::now() < deadline, "not offered: {offered:?}");
        std::thread::sleep(Duration::from_millis(25));
    }

    // An existing file is never overwritten.
    std::fs::write(&path, "my edits\n").unwrap();
    let again = command(
        &mut client,
        "promptstack.createPrompt",
        json!({"title": "Zebra migration: checklist!", "category": "zoo"}),
    )
    .expect_err("existing file refused");
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{again}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "my edits\n");

    for bad in ["../x", "/etc", "a/b", "..", "", ".hidden"] {
        let refused = command(
            &mut client,
            "promptstack.createPrompt",
            json!({"title": "Escape", "category": bad}),
        )
        .expect_err("traversal refused");
        assert_eq!(refused["code"], -32602, "{bad}: {refused}");
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("invalid category"),
            "{bad}: {refused}"
        );
    }
    assert!(!sandbox.home().join("data/x").exists());
    assert!(!Path::new("/etc/escape.md").exists());
    let missing = command(
        &mut client,
        "promptstack.createPrompt",
        json!({"category": "zoo"}),
    )
    .expect_err("title required");
    assert_eq!(missing["code"], -32602);
    client.shutdown();
}

#[test]
fn new_composition_creates_from_a_template_and_opens_it() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let mut client = start_in(&sandbox, &ws);
    let created = command(
        &mut client,
        "promptstack.newComposition",
        json!({"name": "plan"}),
    )
    .expect("newComposition succeeds");
    let path = ws.join("plan.composition.md");
    assert_eq!(created["uri"], uri(&path));
    let text = std::fs::read_to_string(&path).expect("written");
    assert!(text.starts_with("# New prompt\n"), "{text}");
    wait_shown(&mut client, &uri(&path));

    std::fs::write(&path, "mine\n").unwrap();
    let again = command(
        &mut client,
        "promptstack.newComposition",
        json!({"name": "plan"}),
    )
    .expect_err("never overwrites");
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine\n");

    let untitled = command(
        &mut client,
        "promptstack.newComposition",
        json!({"directory": "drafts"}),
    )
    .expect("default name");
    let untitled = untitled["uri"].as_str().unwrap().to_string();
    let prefix = uri(&ws.join("drafts/untitled-"));
    assert!(
        untitled.starts_with(&prefix) && untitled.ends_with(".composition.md"),
        "{untitled}"
    );

    for bad in ["../x", "a/b", ".."] {
        let refused = command(
            &mut client,
            "promptstack.newComposition",
            json!({"name": bad}),
        )
        .expect_err("bad name refused");
        assert_eq!(refused["code"], -32602, "{bad}: {refused}");
    }
    assert!(!sandbox.dir.path().join("x.composition.md").exists());
    client.shutdown();
}

#[test]
fn new_composition_without_a_folder_needs_a_directory() {
    let sandbox = Sandbox::new();
    let mut client = Client::start(&sandbox, &[]);
    client.initialize(Value::Null, false);
    let refused = command(&mut client, "promptstack.newComposition", json!({}))
        .expect_err("no folder, no directory");
    assert_eq!(refused["code"], -32602);
    assert!(refused["message"].as_str().unwrap().contains("directory"));
    client.shutdown();
}
