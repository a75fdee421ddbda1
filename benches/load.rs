//! Completion latency under load, through the real binary over stdio: 50 completions kept in
//! flight on one document while it receives 1,000 `didChange` a second, for 10 s, beside the
//! same 50 in flight on a quiet document. Reports p50/p99 and how many answers were
//! `ContentModified` (the document changed while the completion ran, so it was dropped).
//!
//! Run: `cargo bench --bench load` (`PROMPTSTACK_BENCH_LOAD_SECS=10`).

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{FILLER, Rng, percentile};
use serde_json::{Value, json};
use support::{Client, Incoming, Sandbox, uri};

/// In-flight completions at any time.
const IN_FLIGHT: usize = 50;

struct Outcome {
    latencies: Vec<Duration>,
    content_modified: usize,
    other_errors: usize,
    changes: usize,
}

/// A composition of ~100 lines with placeholders; line 0 is where the edits go, the last line
/// ends in `{{text:` where completion asks for placeholder names.
fn composition(rng: &mut Rng) -> String {
    let mut text = String::from("Edits land here: \n");
    for i in 0..100 {
        let words: Vec<&str> = (0..10).map(|_| rng.pick(FILLER)).collect();
        text.push_str(&format!(
            "{} {{{{text:{}_{i}}}}}\n",
            words.join(" "),
            rng.pick(FILLER)
        ));
    }
    text.push_str("Finally {{text:");
    text
}

fn run(seconds: u64, changes_per_second: u64) -> Outcome {
    let sandbox = Sandbox::new();
    let mut client = Client::start(&sandbox, &[("PROMPTSTACK_LOG", "warn")]);
    client.initialize(Value::Null, false);
    let doc = uri(&sandbox.workspace().join("load.prompt.md"));
    let text = composition(&mut Rng(7));
    client.open(&doc, &text);
    client.wait_diagnostics(&doc, Some(1));
    let last_line = text.lines().count() - 1;
    let at = json!({"line": last_line, "character": "Finally {{text:".len()});
    let mut pending: HashMap<i64, Instant> = HashMap::new();
    let mut outcome = Outcome {
        latencies: Vec::new(),
        content_modified: 0,
        other_errors: 0,
        changes: 0,
    };
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut version = 1;
    while Instant::now() < end {
        while pending.len() < IN_FLIGHT {
            let id = client.send_request(
                "textDocument/completion",
                json!({"textDocument": {"uri": doc}, "position": at}),
            );
            pending.insert(id, Instant::now());
        }
        if changes_per_second > 0 {
            let due = started.elapsed().as_micros() as u64 * changes_per_second / 1_000_000;
            while (outcome.changes as u64) < due {
                version += 1;
                outcome.changes += 1;
                client.notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": doc, "version": version}, "contentChanges": [
                        {"range": {"start": {"line": 0, "character": 17}, "end": {"line": 0, "character": 17}}, "text": "a"}
                    ]}),
                );
            }
        }
        while let Some(message) = client.poll(Duration::from_micros(200)) {
            if let Incoming::Response { id, result } = message
                && let Some(sent) = pending.remove(&id)
            {
                match result {
                    Ok(_) => outcome.latencies.push(sent.elapsed()),
                    Err(e) if e["code"] == -32801 => outcome.content_modified += 1,
                    Err(_) => outcome.other_errors += 1,
                }
            }
        }
    }
    assert!(client.alive(), "the server died under load");
    client.shutdown();
    outcome.latencies.sort();
    outcome
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let seconds = std::env::var("PROMPTSTACK_BENCH_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    println!(
        "| run | changes | completions answered | p50 | p99 | max | ContentModified | other errors |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, rate) in [("idle", 0), ("1,000 didChange/s", 1_000)] {
        let o = run(seconds, rate);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            o.changes,
            o.latencies.len(),
            ms(percentile(&o.latencies, 0.5)),
            ms(percentile(&o.latencies, 0.99)),
            ms(o.latencies.last().copied().unwrap_or_default()),
            o.content_modified,
            o.other_errors
        );
    }
}
