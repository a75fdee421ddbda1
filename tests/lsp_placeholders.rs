//! Placeholders in the editor, end to end over the real binary's stdio: the `Fill placeholder` and
//! `Convert list placeholder to bullets` code actions, rename onto a taken name, list rendering
//! in every position, and name completion while typing a placeholder.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, Sandbox, completion_labels, uri};

const DRAFT: &str = "Write for {{text:audience}}.\nAgain {{text:audience}}.\nRisks:\n  - {{list:risks}}\nIn short: {{list:risks}}.\n";

fn start(sandbox: &Sandbox) -> (Client, String) {
    let mut client = Client::start(sandbox, &[]);
    client.initialize(Value::Null, false);
    let doc = uri(&sandbox.workspace().join("draft.prompt.md"));
    client.open(&doc, DRAFT);
    client.wait_diagnostics(&doc, Some(1));
    (client, doc)
}

fn actions_at(client: &mut Client, doc: &str, line: u32, character: u32) -> Vec<Value> {
    client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": doc},
                "range": {"start": {"line": line, "character": character}, "end": {"line": line, "character": character}},
                "context": {"diagnostics": []}
            }),
        )
        .expect("code actions")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn titles(actions: &[Value]) -> Vec<String> {
    actions
        .iter()
        .map(|a| a["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn command(client: &mut Client, name: &str, args: Value) -> Result<Value, Value> {
    client.request(
        "workspace/executeCommand",
        json!({"command": name, "arguments": [args]}),
    )
}

/// One edit as `(start line, start character, end line, end character, new text)`.
type Edit = (u64, u64, u64, u64, String);

/// The edits of every `workspace/applyEdit` the server sent so far, oldest first.
fn applied_edits(client: &Client) -> Vec<Vec<Edit>> {
    client
        .server_requests("workspace/applyEdit")
        .iter()
        .map(|params| {
            params["edit"]["documentChanges"][0]["edits"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|e| {
                    let r = &e["range"];
                    (
                        r["start"]["line"].as_u64().unwrap_or(99),
                        r["start"]["character"].as_u64().unwrap_or(99),
                        r["end"]["line"].as_u64().unwrap_or(99),
                        r["end"]["character"].as_u64().unwrap_or(99),
                        e["newText"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

/// Waits until the history (where filled-in values are kept) has opened in the background.
fn wait_for_history(client: &mut Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Err(e) = command(client, "promptstack.history.search", json!({"query": ""})) {
        assert!(Instant::now() < deadline, "history never opened: {e}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn fill_placeholder_replaces_every_occurrence_and_offers_earlier_values() {
    let sandbox = Sandbox::new();
    let (mut client, doc) = start(&sandbox);

    // On a text placeholder: Fill, but no Convert.
    let on_text = actions_at(&mut client, &doc, 0, 14);
    let names = titles(&on_text);
    assert!(
        names.contains(&"Fill placeholder {{text:audience}}…".to_string()),
        "{names:?}"
    );
    assert!(!names.iter().any(|t| t.starts_with("Convert")), "{names:?}");
    let fill = on_text
        .iter()
        .find(|a| a["title"] == "Fill placeholder {{text:audience}}…")
        .expect("fill action");
    assert_eq!(fill["kind"], "refactor.rewrite");
    assert_eq!(fill["command"]["command"], "promptstack.fillPlaceholder");
    assert_eq!(
        fill["command"]["arguments"][0],
        json!({"uri": doc, "name": "audience"})
    );
    // Away from placeholders there is no Fill.
    assert!(
        !titles(&actions_at(&mut client, &doc, 2, 2))
            .iter()
            .any(|t| t.starts_with("Fill"))
    );

    wait_for_history(&mut client);
    // Nothing filled in before and no value given: a clear refusal.
    let nothing = command(
        &mut client,
        "promptstack.fillPlaceholder",
        json!({"uri": doc, "name": "audience"}),
    )
    .expect_err("no value to offer");
    assert_eq!(nothing["code"], -32602);
    assert!(
        nothing["message"]
            .as_str()
            .unwrap()
            .contains("with a value"),
        "{nothing}"
    );

    // A client that can prompt passes the value: both occurrences change, in one edit.
    let filled = command(
        &mut client,
        "promptstack.fillPlaceholder",
        json!({"uri": doc, "name": "audience", "value": "new engineers"}),
    )
    .expect("fill with a value");
    assert_eq!(filled, json!({"applied": true, "occurrences": 2}));
    assert_eq!(
        applied_edits(&client),
        vec![vec![
            (0, 10, 0, 27, "new engineers".to_string()),
            (1, 6, 1, 23, "new engineers".to_string()),
        ]]
    );

    // Next time, the value used before is offered; picking it fills the placeholder again.
    client.replies.lock().unwrap().insert(
        "window/showMessageRequest".into(),
        json!({"title": "new engineers"}),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let again = loop {
        match command(
            &mut client,
            "promptstack.fillPlaceholder",
            json!({"uri": doc, "name": "audience"}),
        ) {
            Ok(result) => break result,
            // The value reaches history in the background.
            Err(e) if Instant::now() < deadline => {
                assert_eq!(e["code"], -32602, "{e}");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("the earlier value was never offered: {e}"),
        }
    };
    assert_eq!(again, json!({"applied": true, "occurrences": 2}));
    let asked = client
        .server_requests("window/showMessageRequest")
        .into_iter()
        .next()
        .expect("the user was asked");
    assert_eq!(asked["message"], "Fill {{text:audience}} with:");
    assert_eq!(asked["actions"], json!([{"title": "new engineers"}]));
    assert_eq!(applied_edits(&client).len(), 2);

    // The user closes the question: nothing changes.
    client
        .replies
        .lock()
        .unwrap()
        .insert("window/showMessageRequest".into(), Value::Null);
    let declined = command(
        &mut client,
        "promptstack.fillPlaceholder",
        json!({"uri": doc, "name": "audience"}),
    )
    .expect("declined");
    assert_eq!(declined["applied"], false);
    assert_eq!(applied_edits(&client).len(), 2);
    client.shutdown();
}

#[test]
fn list_placeholders_fill_by_position_and_convert_to_bullets() {
    let sandbox = Sandbox::new();
    let (mut client, doc) = start(&sandbox);

    // After an existing bullet: Fill and Convert, and Convert carries its edit.
    let on_bullet = actions_at(&mut client, &doc, 3, 8);
    let convert = on_bullet
        .iter()
        .find(|a| a["title"] == "Convert {{list:risks}} to bullets")
        .unwrap_or_else(|| panic!("{:?}", titles(&on_bullet)));
    assert_eq!(
        convert["edit"]["documentChanges"][0],
        json!({
            "textDocument": {"uri": doc, "version": 1},
            "edits": [{
                "range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 18}},
                "newText": "  - "
            }]
        })
    );
    // Mid-line there is nothing to convert.
    let inline = titles(&actions_at(&mut client, &doc, 4, 13));
    assert!(
        inline.contains(&"Fill placeholder {{list:risks}}…".to_string()),
        "{inline:?}"
    );
    assert!(
        !inline.iter().any(|t| t.starts_with("Convert")),
        "{inline:?}"
    );

    // Items continue the bullet where the placeholder follows one, and read inline mid-line.
    let filled = command(
        &mut client,
        "promptstack.fillPlaceholder",
        json!({"uri": doc, "name": "risks", "value": ["scope creep", "no tests"]}),
    )
    .expect("fill a list");
    assert_eq!(filled["occurrences"], 2);
    assert_eq!(
        applied_edits(&client),
        vec![vec![
            (3, 0, 3, 18, "  - scope creep\n  - no tests".to_string()),
            (4, 10, 4, 24, "scope creep, no tests".to_string()),
        ]]
    );
    client.shutdown();
}

#[test]
fn clients_without_document_changes_get_plain_changes() {
    let sandbox = Sandbox::new();
    let mut client = Client::start(&sandbox, &[]);
    client.initialize_as(
        Value::Null,
        false,
        json!({"workspace": {"workspaceEdit": null}}),
    );
    let doc = uri(&sandbox.workspace().join("draft.prompt.md"));
    client.open(&doc, DRAFT);
    let convert = actions_at(&mut client, &doc, 3, 8)
        .into_iter()
        .find(|a| a["title"] == "Convert {{list:risks}} to bullets")
        .expect("convert");
    assert!(
        convert["edit"].get("documentChanges").is_none(),
        "{convert}"
    );
    assert_eq!(
        convert["edit"]["changes"][&doc][0]["newText"], "  - ",
        "{convert}"
    );
    client.shutdown();
}

#[test]
fn render_writes_lists_by_position() {
    let sandbox = Sandbox::new();
    let (mut client, _) = start(&sandbox);
    let text =
        "Risks:\n{{list:r}}\n  - {{list:r}}\n3. {{list:r}}\nIn a sentence: {{list:r}} end.\n";
    let rendered = command(
        &mut client,
        "promptstack.render",
        json!({"text": text, "values": {"r": ["a", "b"]}}),
    )
    .expect("render");
    assert_eq!(
        rendered["text"],
        "Risks:\n- a\n- b\n  - a\n  - b\n3. a\n4. b\nIn a sentence: a, b end.\n"
    );
    client.shutdown();
}

#[test]
fn rename_onto_a_taken_name_is_refused() {
    let sandbox = Sandbox::new();
    let (mut client, doc) = start(&sandbox);
    let rename = |client: &mut Client, new_name: &str| {
        client.request(
            "textDocument/rename",
            json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": 14}, "newName": new_name}),
        )
    };
    let taken = rename(&mut client, "risks").expect_err("taken name refused");
    assert_eq!(taken["code"], -32602);
    let message = taken["message"].as_str().unwrap();
    assert!(
        message.contains("a placeholder named `risks` already exists"),
        "{message}"
    );
    // A free name still renames both uses.
    let edit = rename(&mut client, "readers").expect("rename");
    let edits = edit["changes"][&doc].as_array().unwrap();
    assert_eq!(edits.len(), 2);
    assert!(edits.iter().all(|e| e["newText"] == "readers"));
    client.shutdown();
}

#[test]
fn the_placeholder_being_typed_is_not_offered_as_its_own_name() {
    let sandbox = Sandbox::new();
    let (mut client, _) = start(&sandbox);
    let doc = uri(&sandbox.workspace().join("typing.prompt.md"));
    client.open(&doc, "Hello {{text:au}}\nFor {{text:audience}}.\n");
    let labels = completion_labels(
        &client
            .request(
                "textDocument/completion",
                json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": 15}}),
            )
            .expect("completion"),
    );
    assert!(labels.contains(&"audience".to_string()), "{labels:?}");
    assert!(!labels.contains(&"au".to_string()), "{labels:?}");
    client.shutdown();
}
