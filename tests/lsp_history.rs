//! End-to-end: saves of compositions land in history (files and database) and are found from the
//! editor (workspace symbols, commands), the CLI, references and placeholder completion.

mod support;

use std::time::{Duration, Instant};

use promptstack::history::CompositionRepository;
use promptstack::history::sqlite::SqliteRepository;
use serde_json::{Value, json};
use support::{Client, Incoming, Sandbox, TIMEOUT, history_files, uri};

fn start(sandbox: &Sandbox) -> Client {
    let mut client = Client::start(sandbox, &[]);
    client.initialize(Value::Null, false);
    client
}

#[test]
fn a_saved_composition_is_in_files_database_symbols_and_cli() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox);
    let path = sandbox.workspace().join("launch.prompt.md");
    let uri = uri(&path);
    client.open(&uri, "");
    client.save(
        &uri,
        2,
        "# Launch plan\nDraft the zebra-crossing launch email.\n",
    );

    let results = client.history_search_until("zebra", |r| !r.is_empty());
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["title"], "Launch plan");
    assert!(
        results[0]["snippet"].as_str().unwrap().contains("**zebra"),
        "{}",
        results[0]
    );
    let files = history_files(&sandbox);
    assert_eq!(files.len(), 1, "one history file per composition");
    let file_text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(file_text.contains("zebra-crossing launch email"));
    assert!(
        file_text.contains(&path.display().to_string()),
        "source path in frontmatter:\n{file_text}"
    );
    assert_eq!(results[0]["uri"], support::uri(&files[0]));

    // A second save updates the same file and adds a version.
    client.save(
        &uri,
        3,
        "# Launch plan\nDraft the zebra-crossing launch email and a tweet.\n",
    );
    client.history_search_until("tweet", |r| r.len() == 1);
    assert_eq!(history_files(&sandbox).len(), 1);
    let id = results[0]["id"].as_str().unwrap().to_string();
    let repo = SqliteRepository::open(&sandbox.home().join("data/history.db"), Default::default())
        .unwrap();
    assert_eq!(repo.versions(&id).unwrap().len(), 2);

    // Workspace symbols list it beside library prompts.
    let symbols = client
        .request("workspace/symbol", json!({ "query": "zebra" }))
        .unwrap();
    let entry = symbols
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["location"]["uri"] == support::uri(&files[0]))
        .unwrap_or_else(|| panic!("history entry in workspace symbols: {symbols:#}"));
    assert!(
        entry["containerName"]
            .as_str()
            .unwrap()
            .starts_with("history")
    );

    // history.open asks the editor to show the history file.
    let opened = client
        .history_command("promptstack.history.open", json!({ "id": id }))
        .unwrap();
    assert_eq!(opened["uri"], support::uri(&files[0]));
    assert!(client.seen.iter().any(|m| matches!(m,
        Incoming::Request { method, params } if method == "window/showDocument" && params["uri"] == opened["uri"])));

    // The CLI finds it too, while the server runs (SQLite WAL).
    let (code, stdout, stderr) = sandbox.cli(&["history", "search", "zebra"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Launch plan"), "{stdout}");
    client.shutdown();
}

#[test]
fn cleanup_needs_the_dry_runs_token() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox);
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let uri = uri(&sandbox.workspace().join(format!("{name}.prompt.md")));
        client.open(&uri, "");
        client.save(&uri, 2, &format!("composition {name} number {i} walrus\n"));
    }
    client.history_search_until("walrus", |r| r.len() == 3);
    let dry = client
        .history_command("promptstack.history.cleanup", json!({ "keep_last": 1 }))
        .unwrap();
    assert_eq!(dry["count"], 2, "{dry:#}");
    assert_eq!(dry["files"].as_array().unwrap().len(), 2);
    assert!(dry["bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        history_files(&sandbox).len(),
        3,
        "a dry run deletes nothing"
    );

    let wrong = client
        .history_command(
            "promptstack.history.cleanup",
            json!({ "keep_last": 1, "confirm": "nope" }),
        )
        .unwrap_err();
    assert!(
        wrong["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("token"),
        "{wrong}"
    );
    // A token the user got wrong is a bad argument, not a server failure.
    assert_eq!(wrong["code"], -32602, "{wrong}");
    let bad = client
        .history_command(
            "promptstack.history.cleanup",
            json!({ "keep_last": 1, "all": true }),
        )
        .unwrap_err();
    assert!(bad["message"].as_str().unwrap().contains("exactly one"));

    let done = client
        .history_command(
            "promptstack.history.cleanup",
            json!({ "keep_last": 1, "confirm": dry["token"] }),
        )
        .unwrap();
    assert_eq!(done["deleted"], 2);
    assert!(
        done["message"]
            .as_str()
            .unwrap()
            .starts_with("Deleted 2 files, freed")
    );
    assert_eq!(history_files(&sandbox).len(), 1);
    client.history_search_until("walrus", |r| r.len() == 1);

    // A token gone stale because the history changed after the dry run: invalid params too.
    let dry = client
        .history_command("promptstack.history.cleanup", json!({ "all": true }))
        .unwrap();
    let uri = uri(&sandbox.workspace().join("late.prompt.md"));
    client.open(&uri, "");
    client.save(&uri, 2, "a late walrus\n");
    client.history_search_until("walrus", |r| r.len() == 2);
    let stale = client
        .history_command(
            "promptstack.history.cleanup",
            json!({ "all": true, "confirm": dry["token"] }),
        )
        .unwrap_err();
    assert_eq!(stale["code"], -32602, "{stale}");
    assert!(
        stale["message"].as_str().unwrap().contains("dry run again"),
        "{stale}"
    );
    assert_eq!(history_files(&sandbox).len(), 2, "nothing was deleted");
    client.shutdown();
}

#[test]
fn a_deleted_database_is_rebuilt_on_start() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox);
    let uri = uri(&sandbox.workspace().join("keep.prompt.md"));
    client.open(&uri, "");
    client.save(&uri, 2, "remember the narwhal\n");
    client.history_search_until("narwhal", |r| r.len() == 1);
    client.shutdown();

    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(sandbox.home().join(format!("data/history.db{suffix}")));
    }
    let mut client = start(&sandbox);
    let results = client.history_search_until("narwhal", |r| r.len() == 1);
    assert!(results[0]["snippet"].as_str().unwrap().contains("narwhal"));
    let rebuilt = client
        .history_command("promptstack.history.rebuild", Value::Null)
        .unwrap();
    assert_eq!(rebuilt["compositions"], 1, "{rebuilt}");
    client.shutdown();
}

#[test]
fn references_and_placeholder_values_come_from_history() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox);
    let uri = uri(&sandbox.workspace().join("uses.prompt.md"));
    client.open(&uri, "");
    // The editor runs the completion item's command when a prompt is inserted.
    client
        .history_command(
            "promptstack.promptUsed",
            json!({ "id": "commands/code-review", "uri": uri }),
        )
        .unwrap();
    client.save(&uri, 2, "Review this: {{text:language}}\n");
    client.history_search_until("Review", |r| r.len() == 1);

    let prompt = sandbox.library().join("commands/code-review.md");
    let prompt_uri = support::uri(&prompt);
    client.open(&prompt_uri, &std::fs::read_to_string(&prompt).unwrap());
    let deadline = Instant::now() + TIMEOUT;
    let refs = loop {
        let refs = client
            .request(
                "textDocument/references",
                json!({"textDocument": {"uri": prompt_uri}, "position": {"line": 0, "character": 0}, "context": {"includeDeclaration": false}}),
            )
            .unwrap();
        if refs.as_array().is_some_and(|r| !r.is_empty()) || Instant::now() > deadline {
            break refs;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let history = history_files(&sandbox);
    assert_eq!(refs[0]["uri"], support::uri(&history[0]), "{refs:#}");

    // Values filled in with render are offered inside that placeholder next time.
    client
        .history_command(
            "promptstack.render",
            json!({ "uri": uri, "values": { "language": "Rust" } }),
        )
        .unwrap();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let items = client
            .request(
                "textDocument/completion",
                json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 27}}),
            )
            .unwrap();
        let items = items
            .as_array()
            .cloned()
            .or_else(|| items["items"].as_array().cloned())
            .unwrap_or_default();
        if let Some(item) = items.iter().find(|i| i["label"] == "Rust") {
            assert_eq!(item["textEdit"]["newText"], "Rust");
            assert_eq!(
                item["textEdit"]["range"]["start"],
                json!({"line": 0, "character": 13})
            );
            assert_eq!(
                item["textEdit"]["range"]["end"],
                json!({"line": 0, "character": 30})
            );
            break;
        }
        assert!(Instant::now() < deadline, "no value item in {items:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    client.shutdown();
}
