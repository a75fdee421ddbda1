//! Library benchmark on synthetic libraries shaped like real ones (see `common::realistic`),
//! through the real binary over stdio: cold start (first useful answer, everything searchable,
//! load end, peak memory), time to first completion on restart, `/` completion latency
//! (p50/p99 over 1,000 requests), answer size and the server's resident memory; plus the same
//! search in-process for comparison, and relevance (the intended prompt in the top 3).
//!
//! Run: `cargo bench --bench library` (sizes: `PROMPTSTACK_BENCH_SIZES=10000,100000`).

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use common::realistic::{self, Generated, Vocabulary};
use common::{Rng, percentile};

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Client, Sandbox, uri};

use promptstack::events::EventBus;
use promptstack::home::DataPaths;
use promptstack::library::source::FilesystemSource;
use promptstack::library::{Library, OpenOptions};

fn open(paths: &DataPaths) -> Library {
    Library::open_with(
        Arc::new(FilesystemSource::new(paths.library_dir.clone())),
        paths,
        EventBus::new(),
        OpenOptions {
            watch: false,
            progress: None,
        },
    )
    .expect("open library")
}

/// What a user types after `/`: prefixes while typing, typos, several words, a file name, and
/// nothing. Words are drawn as often as the library uses them, so common words come up often.
fn queries(vocabulary: &Vocabulary, library: &[Generated]) -> Vec<String> {
    let mut rng = Rng(42);
    let word = |rng: &mut Rng| loop {
        let w = vocabulary.common(rng);
        if w.len() >= 3 {
            return w.to_string();
        }
    };
    (0..1000)
        .map(|i| match i % 6 {
            0 => {
                let w = word(&mut rng);
                w[..(2 + rng.below(w.len() - 1)).min(w.len())].to_string()
            }
            1 => {
                // One letter swapped: a typo.
                let mut w: Vec<char> = word(&mut rng).chars().collect();
                let at = rng.below(w.len() - 1);
                w.swap(at, at + 1);
                w.into_iter().collect()
            }
            2 => format!("{} {}", word(&mut rng), word(&mut rng)),
            3 => word(&mut rng),
            4 => library[rng.below(library.len())].handle.clone(),
            _ => String::new(),
        })
        .collect()
}

const QUERY_KINDS: [&str; 6] = ["prefix", "typo", "two words", "word", "file name", "blank"];

/// Memory of a process in MB, from `/proc/<pid>/status`.
struct Memory {
    /// Peak resident memory so far (`VmHWM`).
    peak: f64,
    resident: f64,
    /// Resident memory that is not a mapped file (`RssAnon`: the index files the kernel can
    /// drop are left out).
    anonymous: f64,
}

fn memory_of(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    Memory {
        peak: field("VmHWM:"),
        resident: field("VmRSS:"),
        anonymous: field("RssAnon:"),
    }
}

/// How many segments the committed search index has: each one costs every query a walk of its
/// term dictionaries, so a build should end in one.
fn index_segments(sandbox: &Sandbox) -> usize {
    let meta = std::fs::read_to_string(sandbox.home().join("data/index/meta.json"))
        .expect("the index's meta.json");
    let meta: Value = serde_json::from_str(&meta).expect("meta.json is JSON");
    meta["segments"].as_array().map_or(0, Vec::len)
}

fn start(sandbox: &Sandbox) -> Client {
    let mut client = Client::start(sandbox, &[("PROMPTSTACK_LOG", "warn")]);
    client.initialize(Value::Null, false);
    client
}

fn completion_count(client: &mut Client, doc: &str, version: i64, line: &str) -> usize {
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": version}, "contentChanges": [{"text": line}]}),
    );
    let answer = client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": line.len()}}),
        )
        .expect("completion");
    answer["items"].as_array().map_or(0, Vec::len)
}

/// Polls `/query` until it answers with items; the time since `started`.
fn wait_for_items(client: &mut Client, doc: &str, query: &str, started: Instant) -> Duration {
    let mut version = 2;
    while completion_count(client, doc, version, &format!("/{query}")) == 0 {
        version += 1;
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "library never loaded"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    started.elapsed()
}

/// Waits for the end of the library load's `$/progress` (other work, such as the history
/// check, reports progress of its own).
fn wait_library_loaded(client: &mut Client) {
    let begin = client.wait_notification("$/progress", |p| {
        p["value"]["kind"] == "begin" && p["value"]["title"] == "Indexing prompt library"
    });
    let token = begin["token"].clone();
    client.wait_notification("$/progress", |p| {
        p["token"] == token && p["value"]["kind"] == "end"
    });
}

/// A word only the last generated prompt has (in its description).
const MARKER: &str = "zqxlastpromptmarker";

fn bench(n: usize, vocabulary: &Vocabulary) {
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let library = realistic::generate(&sandbox.library(), n, vocabulary, MARKER);
    eprintln!(
        "[{n}] generated in {:.2?} ({} distinct words)",
        started.elapsed(),
        vocabulary.len()
    );
    let doc = uri(&sandbox.workspace().join("bench.prompt.md"));
    // A common word: any prompt loaded so far answers it.
    let common = "review";

    // Cold: no index yet, measured from `initialized`: the first useful (non-empty) answer,
    // the last prompt searchable, the load's `$/progress` end; memory at its peak and after.
    let mut client = start(&sandbox);
    client.open(&doc, "");
    let started = Instant::now();
    let cold_first = wait_for_items(&mut client, &doc, common, started);
    let cold_all = wait_for_items(&mut client, &doc, MARKER, started);
    wait_library_loaded(&mut client);
    let cold_end = started.elapsed();
    let cold_memory = memory_of(client.pid());
    client.shutdown();
    eprintln!(
        "[{n}] cold: first answer {cold_first:.2?}, all searchable {cold_all:.2?}, load end {cold_end:.2?}; peak {:.0} MB, resident {:.0} MB ({:.0} MB anonymous); {} index segments",
        cold_memory.peak,
        cold_memory.resident,
        cold_memory.anonymous,
        index_segments(&sandbox)
    );

    // Restart with the index on disk: time to the first non-empty completion answer.
    let started = Instant::now();
    let mut client = start(&sandbox);
    client.open(&doc, "");
    let first_answer = wait_for_items(&mut client, &doc, common, started);
    // The load (reconcile against the files) ends with its `$/progress` end notification.
    wait_library_loaded(&mut client);
    let ready = started.elapsed();

    let queries = queries(vocabulary, &library);
    for (i, q) in queries.iter().take(100).enumerate() {
        completion_count(&mut client, &doc, 1000 + i as i64, &format!("/{q}"));
    }
    let mut times = Vec::with_capacity(queries.len());
    // Bytes and items of each non-empty answer, re-serialised compactly as the server writes it.
    let (mut answer_bytes, mut answer_items) = (Vec::new(), Vec::new());
    for (i, q) in queries.iter().enumerate() {
        let line = format!("/{q}");
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": doc, "version": 2000 + i as i64}, "contentChanges": [{"text": line}]}),
        );
        let params =
            json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": line.len()}});
        let t = Instant::now();
        let answer = client
            .request("textDocument/completion", params)
            .expect("completion");
        times.push(t.elapsed());
        let items = answer["items"].as_array().map_or(0, Vec::len);
        if items > 0 {
            answer_bytes.push(serde_json::to_vec(&answer).map_or(0, |b| b.len()));
            answer_items.push(items);
        }
    }
    times.sort();
    answer_bytes.sort();
    answer_items.sort();
    let memory = memory_of(client.pid());
    client.shutdown();

    // The same queries in-process, without JSON-RPC: what the handler itself costs.
    let paths = DataPaths::new(sandbox.home().join("data"), None, None);
    let opened = open(&paths);
    opened.wait_ready();
    let mut direct = Vec::with_capacity(queries.len());
    let mut by_kind: Vec<Vec<Duration>> = vec![Vec::new(); QUERY_KINDS.len()];
    for (i, q) in queries.iter().enumerate() {
        let t = Instant::now();
        std::hint::black_box(opened.search(q, 50).expect("search"));
        direct.push(t.elapsed());
        by_kind[i % QUERY_KINDS.len()].push(t.elapsed());
    }
    direct.sort();
    for (kind, mut times) in QUERY_KINDS.into_iter().zip(by_kind) {
        times.sort();
        eprintln!(
            "[{n}] in-process {kind:>9}: p50 {:>7.0?} p99 {:>7.0?}",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
    relevance(n, &opened, &library);

    eprintln!(
        "[{n}] completion answer: median {:.1} KB, max {:.1} KB; items median {}, fewest {} ({} answers)",
        percentile(&answer_bytes, 0.5) as f64 / 1024.0,
        answer_bytes.last().copied().unwrap_or_default() as f64 / 1024.0,
        percentile(&answer_items, 0.5),
        answer_items.first().copied().unwrap_or_default(),
        answer_bytes.len(),
    );
    println!(
        "| {n:>7} | {cold_first:>8.2?} | {cold_all:>8.2?} | {cold_end:>8.2?} | {:>4.0} MB | {first_answer:>8.0?} | {ready:>8.0?} | {:>7.0?} | {:>7.0?} | {:>7.0?} | {:>7.0?} | {:>4.0} MB | {:>4.0} MB |",
        cold_memory.peak,
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&direct, 0.5),
        percentile(&direct, 0.99),
        memory.resident,
        memory.anonymous,
    );
}

/// The share of queries with a known intended prompt that find it in the top 3.
fn relevance(n: usize, library: &Library, generated: &[Generated]) {
    let queries = realistic::relevance_queries(generated, 300);
    let mut by_kind: Vec<(&str, usize, usize)> = Vec::new();
    for q in &queries {
        let top = library.search(&q.query, 3).expect("search");
        let found = top.iter().any(|h| h.prompt.id == q.intended);
        match by_kind.iter_mut().find(|(k, ..)| *k == q.kind) {
            Some((_, hits, all)) => {
                *hits += usize::from(found);
                *all += 1;
            }
            None => by_kind.push((q.kind, usize::from(found), 1)),
        }
    }
    let hits: usize = by_kind.iter().map(|(_, h, _)| h).sum();
    let parts: Vec<String> = by_kind
        .iter()
        .map(|(kind, h, all)| format!("{kind} {:.0} %", 100.0 * *h as f64 / *all as f64))
        .collect();
    eprintln!(
        "[{n}] relevance: intended prompt in the top 3 for {:.0} % of {} queries ({})",
        100.0 * hits as f64 / queries.len() as f64,
        queries.len(),
        parts.join(", ")
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("PROMPTSTACK_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let vocabulary = Vocabulary::from_starter();
    println!(
        "| prompts | cold: first answer | cold: all searchable | cold: load end | cold: peak memory | restart: first answer | restart: reconciled | completion p50 | completion p99 | in-process p50 | in-process p99 | server RSS | server anonymous RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        bench(n, &vocabulary);
    }
}
