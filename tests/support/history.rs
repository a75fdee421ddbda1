//! History helpers shared by the end-to-end tests: commands that wait for the history to open,
//! searches that poll until the index caught up, saves, and the history files on disk.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Client, Sandbox, TIMEOUT};

/// Runs a command until the history has opened (it opens in the background after start).
pub fn command(client: &mut Client, name: &str, args: Value) -> Result<Value, Value> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let result = client.request(
            "workspace/executeCommand",
            json!({ "command": name, "arguments": [args.clone()] }),
        );
        match &result {
            Err(e)
                if e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("still opening")) =>
            {
                assert!(Instant::now() < deadline, "history never opened");
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => return result,
        }
    }
}

/// Polls `history.search` until `pred` holds for its results.
pub fn search_until(
    client: &mut Client,
    query: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let found = command(
            client,
            "promptstack.history.search",
            json!({ "query": query }),
        )
        .unwrap();
        let results = found["results"].as_array().cloned().unwrap_or_default();
        if pred(&results) {
            return results;
        }
        assert!(
            Instant::now() < deadline,
            "search for {query:?} never matched: {found}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn save(client: &mut Client, uri: &str, version: i64, text: &str) {
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
    );
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}, "text": text}),
    );
}

pub fn history_files(sandbox: &Sandbox) -> Vec<PathBuf> {
    let dir = sandbox.home().join("data/.history");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "md"));
    files.sort();
    files
}
