//! Under load the server stays correct and does not leak: diagnostics describe the latest
//! version, and memory and file descriptors stay flat over thousands of open/close cycles.
//! (Latency under load is a benchmark figure: benches/load.rs.)

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, Incoming, Sandbox, uri};

#[test]
fn a_burst_of_changes_publishes_diagnostics_for_the_latest_version() {
    let sandbox = Sandbox::new();
    let mut client = Client::start(&sandbox, &[]);
    client.initialize(Value::Null, false);
    let doc = uri(&sandbox.workspace().join("burst.prompt.md"));
    client.open(&doc, "# Doc\n");
    client.wait_diagnostics(&doc, Some(1));
    let changes = 1_000;
    let started = Instant::now();
    for i in 0..changes {
        // About 1,000 changes a second; the last one adds a broken link.
        let text = if i + 1 == changes {
            "[x](missing.md)"
        } else {
            "a"
        };
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": doc, "version": i + 2}, "contentChanges": [
                {"range": {"start": {"line": 1, "character": i}, "end": {"line": 1, "character": i}}, "text": text}
            ]}),
        );
        let due = Duration::from_millis(i as u64 + 1);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let last = changes as i64 + 1;
    let diagnostics = client.wait_diagnostics(&doc, Some(last));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "broken-link");
    assert_eq!(diagnostics[0]["range"]["start"]["character"], 1003);
    // Nothing older arrives afterwards.
    std::thread::sleep(Duration::from_millis(500));
    client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": doc}}),
        )
        .expect("still serving");
    let versions: Vec<i64> = client
        .seen
        .iter()
        .filter_map(|m| match m {
            Incoming::Notification { method, params }
                if method == "textDocument/publishDiagnostics" && params["uri"] == doc =>
            {
                params["version"].as_i64()
            }
            _ => None,
        })
        .collect();
    assert!(
        versions.iter().all(|v| *v < last),
        "diagnostics for an older version after the latest: {versions:?}"
    );
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "out of order: {versions:?}"
    );
    // Debounced: a run per pause in typing, not one per change.
    assert!(versions.len() < 100, "{} publishes", versions.len());
    assert_eq!(client.shutdown(), Some(0));
}

/// Resident memory in KiB and open file descriptors of a process.
fn usage(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("proc fd")
        .count();
    (rss, fds)
}

/// Opens and closes documents `cycles` times, then waits until the server has handled it all.
fn cycle(client: &mut Client, sandbox: &Sandbox, from: usize, cycles: usize) {
    let body = "# Notes\nWrite {{text:topic}} for [the brief](brief.md).\n".repeat(400);
    let mut last = String::new();
    for i in from..from + cycles {
        last = uri(&sandbox.workspace().join(format!("doc{}.prompt.md", i % 50)));
        client.open(&last, &body);
        client.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": last}}),
        );
    }
    client
        .request("workspace/symbol", json!({"query": "x"}))
        .expect("still serving");
    // The close of the last document clears its diagnostics; then let stragglers settle.
    client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["uri"] == last.as_str() && p["diagnostics"].as_array().is_some_and(Vec::is_empty)
    });
    std::thread::sleep(Duration::from_millis(500));
    client.seen.clear();
}

#[test]
fn five_thousand_open_close_cycles_keep_memory_and_descriptors_flat() {
    let sandbox = Sandbox::new();
    let mut client = Client::start(&sandbox, &[]);
    client.initialize(Value::Null, false);
    // Warm up: the library, history and caches are open before the baseline.
    cycle(&mut client, &sandbox, 0, 500);
    let (rss_before, fds_before) = usage(client.pid());
    cycle(&mut client, &sandbox, 500, 4_500);
    let (rss_after, fds_after) = usage(client.pid());
    eprintln!(
        "after 5,000 cycles: RSS {rss_before} → {rss_after} KiB, descriptors {fds_before} → {fds_after}"
    );
    assert!(
        fds_after <= fds_before + 2,
        "descriptors grew: {fds_before} → {fds_after}"
    );
    // Generous: allocator noise is fine, a leak of every document (4,500 × 22 KB) is not.
    assert!(
        rss_after <= rss_before + 48 * 1024,
        "memory grew: {rss_before} → {rss_after} KiB"
    );
    assert_eq!(client.shutdown(), Some(0));
}
