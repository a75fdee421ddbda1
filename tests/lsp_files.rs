//! File names and URIs the server hands to editors, end to end over the real binary's stdio:
//! every URI comes without `.`/`..` segments (links, definitions, new compositions, references
//! reached through such a URI), and `createPrompt` file names keep the title's letters in any
//! script.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, Sandbox, TIMEOUT, completion_labels, start_in, uri};

fn command(client: &mut Client, name: &str, args: Value) -> Result<Value, Value> {
    client.request(
        "workspace/executeCommand",
        json!({"command": name, "arguments": [args]}),
    )
}

/// Every URI-valued string anywhere in `value`.
fn uris_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("file://") => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| uris_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| uris_in(v, out)),
        _ => {}
    }
}

#[test]
fn uris_never_carry_dot_dot_segments() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let guide = sandbox.write(&ws.join("docs/guide.md"), b"# Guide\n");
    let mut client = start_in(&sandbox, &ws);
    let doc = uri(&ws.join("prompts/plan.prompt.md"));
    client.open(&doc, "Read [the guide](../docs/./guide.md) first.\n");

    let links = client
        .request(
            "textDocument/documentLink",
            json!({"textDocument": {"uri": doc}}),
        )
        .expect("links");
    assert_eq!(links[0]["target"], uri(&guide), "{links}");

    let definition = client
        .request(
            "textDocument/definition",
            json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": 20}}),
        )
        .expect("definition");
    assert_eq!(definition["uri"], uri(&guide), "{definition}");

    let created = command(
        &mut client,
        "promptstack.newComposition",
        json!({"directory": "prompts/../drafts", "name": "next"}),
    )
    .expect("newComposition");
    let path = ws.join("drafts/next.composition.md");
    assert_eq!(created["uri"], uri(&path));
    assert!(path.is_file());
    let deadline = Instant::now() + TIMEOUT;
    let shown = loop {
        let shown: Vec<Value> = client
            .server_requests("window/showDocument")
            .iter()
            .map(|params| params["uri"].clone())
            .collect();
        if !shown.is_empty() {
            break shown;
        }
        assert!(Instant::now() < deadline, "nothing was shown");
        let _ = client.request("workspace/symbol", json!({"query": ""}));
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(shown, vec![json!(uri(&path))]);

    let mut everything = Vec::new();
    uris_in(&json!([links, definition, created, shown]), &mut everything);
    assert!(
        everything
            .iter()
            .all(|u| !u.contains("/../") && !u.contains("/./")),
        "{everything:?}"
    );
    client.shutdown();
}

#[test]
fn references_work_on_a_library_uri_with_dot_dot() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let mut client = start_in(&sandbox, &ws);
    let composition = uri(&ws.join("uses.prompt.md"));
    client.open(&composition, "");
    // Recorded like an accepted completion, then saved into history.
    let deadline = Instant::now() + TIMEOUT;
    while command(
        &mut client,
        "promptstack.history.search",
        json!({"query": ""}),
    )
    .is_err()
    {
        assert!(Instant::now() < deadline, "history never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
    command(
        &mut client,
        "promptstack.promptUsed",
        json!({"id": "commands/code-review", "uri": composition}),
    )
    .expect("promptUsed");
    let text = "Review it.\n";
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": composition}, "text": text}),
    );

    // The editor reached the prompt through a path with `..` in it.
    let library = sandbox.library();
    let prompt = library.join("commands/code-review.md");
    let odd_uri = format!("{}/commands/../commands/code-review.md", uri(&library));
    client.open(&odd_uri, &std::fs::read_to_string(&prompt).unwrap());
    let deadline = Instant::now() + TIMEOUT;
    let refs = loop {
        let refs = client
            .request(
                "textDocument/references",
                json!({"textDocument": {"uri": odd_uri}, "position": {"line": 0, "character": 0}, "context": {"includeDeclaration": false}}),
            )
            .expect("references");
        if refs.as_array().is_some_and(|r| !r.is_empty()) {
            break refs;
        }
        assert!(Instant::now() < deadline, "no references: {refs}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let uri = refs[0]["uri"].as_str().unwrap();
    assert!(
        uri.contains("/data/.history/") && !uri.contains(".."),
        "{uri}"
    );
    client.shutdown();
}

#[test]
fn create_prompt_keeps_letters_of_any_script() {
    let sandbox = Sandbox::new();
    let ws = sandbox.workspace();
    let mut client = start_in(&sandbox, &ws);
    let cases = [
        ("Café crème", "café-crème"),
        ("Обзор кода", "обзор-кода"),
        ("日本語のレビュー", "日本語のレビュー"),
        ("🚀✨", "untitled"),
    ];
    for (title, stem) in cases {
        let created = command(
            &mut client,
            "promptstack.createPrompt",
            json!({"title": title, "category": "misc"}),
        )
        .unwrap_or_else(|e| panic!("{title:?} refused: {e}"));
        let path = sandbox.library().join(format!("misc/{stem}.md"));
        assert!(path.is_file(), "{title:?}: {created}");
        assert_eq!(created["id"], format!("misc/{stem}"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(&format!("---\ntitle: \"{title}\"\n")),
            "{text}"
        );
    }
    // The new prompt is offered by its title at once.
    let doc = uri(&ws.join("plan.prompt.md"));
    client.open(&doc, "/café");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let offered = completion_labels(
            &client
                .request(
                    "textDocument/completion",
                    json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": 5}}),
                )
                .expect("completion"),
        );
        if offered.iter().any(|l| l == "Café crème") {
            break;
        }
        assert!(Instant::now() < deadline, "not offered: {offered:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
    client.shutdown();
}
