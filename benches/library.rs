//! Library benchmark on synthetic libraries, through the real binary over stdio: cold index,
//! time to first completion on restart, `/` completion latency (p50/p99 over 1,000 requests) and
//! the server's resident memory; plus the same search measured in-process for comparison.
//!
//! Run: `cargo bench --bench library` (sizes: `PROMPTSTACK_BENCH_SIZES=10000,100000`).

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use common::{CATEGORIES, Rng, WORDS, percentile};
use std::path::Path;

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Client, Sandbox, uri};

use promptstack::events::EventBus;
use promptstack::home::DataPaths;
use promptstack::library::source::FilesystemSource;
use promptstack::library::{Library, OpenOptions};

/// The library bench uses the first twenty filler words (as when its figures were taken).
const FILLER: &[&str] = common::FILLER.split_at(20).0;
const PLACEHOLDERS: &[&str] = &[
    "language",
    "audience",
    "goal",
    "context",
    "constraints",
    "examples",
    "files",
    "deadline",
    "tone",
    "format",
    "topic",
    "steps",
    "risks",
    "owner",
];

/// Writes `n` prompts of 0.5–3 KB: frontmatter, a few paragraphs, 0–4 placeholders.
fn generate(root: &Path, n: usize) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for c in CATEGORIES {
        std::fs::create_dir_all(root.join(c)).expect("create category");
    }
    for i in 0..n {
        let category = rng.pick(CATEGORIES);
        let title: Vec<&str> = (0..2 + rng.below(3)).map(|_| rng.pick(WORDS)).collect();
        let tags: Vec<&str> = (0..1 + rng.below(4)).map(|_| rng.pick(WORDS)).collect();
        let mut body = format!("# {}\n\n", title.join(" "));
        let paragraphs = 2 + rng.below(8);
        let mut used = Vec::new();
        for _ in 0..paragraphs {
            for _ in 0..25 + rng.below(30) {
                let word = if rng.below(3) == 0 {
                    rng.pick(WORDS)
                } else {
                    rng.pick(FILLER)
                };
                body.push_str(word);
                body.push(' ');
            }
            if rng.below(2) == 0 && used.len() < 4 {
                let name = rng.pick(PLACEHOLDERS);
                if !used.contains(&name) {
                    used.push(name);
                    let kind = if rng.below(4) == 0 { "list" } else { "text" };
                    body.push_str(&format!("{{{{{kind}:{name}}}}}"));
                }
            }
            body.push_str("\n\n");
        }
        let text = format!(
            "---\ntitle: {} {i}\ndescription: {} for {}\ntags: [{}]\n---\n{body}",
            title.join(" "),
            rng.pick(WORDS),
            rng.pick(WORDS),
            tags.join(", "),
        );
        std::fs::write(root.join(category).join(format!("p{i}.md")), text).expect("write prompt");
    }
}

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

/// What a user types after `/`: prefixes while typing, typos, several words, and nothing.
fn queries() -> Vec<String> {
    let mut rng = Rng(42);
    (0..1000)
        .map(|i| match i % 5 {
            0 => {
                let w = rng.pick(WORDS);
                w[..(2 + rng.below(w.len() - 1)).min(w.len())].to_string()
            }
            1 => {
                // One letter swapped: a typo.
                let mut w: Vec<char> = rng.pick(WORDS).chars().collect();
                let at = rng.below(w.len() - 1);
                w.swap(at, at + 1);
                w.into_iter().collect()
            }
            2 => format!("{} {}", rng.pick(WORDS), rng.pick(WORDS)),
            3 => rng.pick(WORDS).to_string(),
            _ => String::new(),
        })
        .collect()
}

fn rss_of(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("RssAnon:"))
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

/// Polls until a query for the last generated prompt answers, i.e. the whole library is in.
fn wait_for_last(client: &mut Client, doc: &str, n: usize) -> Duration {
    let started = Instant::now();
    let mut version = 2;
    while completion_count(client, doc, version, &format!("/{}", n - 1)) == 0 {
        version += 1;
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "library never loaded"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    started.elapsed()
}

fn bench(n: usize) {
    let sandbox = Sandbox::new();
    let started = Instant::now();
    generate(&sandbox.library(), n);
    eprintln!("[{n}] generated in {:.2?}", started.elapsed());
    let doc = uri(&sandbox.workspace().join("bench.prompt.md"));

    // Cold: no index yet. Measured from `initialized` to the last prompt being offered.
    let mut client = start(&sandbox);
    client.open(&doc, "");
    let cold = wait_for_last(&mut client, &doc, n);
    client.shutdown();

    // Restart with the index on disk: time to the first non-empty completion answer.
    let started = Instant::now();
    let mut client = start(&sandbox);
    client.open(&doc, "");
    let mut version = 2;
    while completion_count(&mut client, &doc, version, "/revew") == 0 {
        version += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    let first_answer = started.elapsed();
    // The load (reconcile against the files) ends with the `$/progress` end notification.
    client.wait_notification("$/progress", |p| p["value"]["kind"] == "end");
    let ready = started.elapsed();

    let queries = queries();
    for (i, q) in queries.iter().take(100).enumerate() {
        completion_count(&mut client, &doc, 1000 + i as i64, &format!("/{q}"));
    }
    let mut times = Vec::with_capacity(queries.len());
    // Bytes of each full (25-item) answer, re-serialised compactly as the server writes it.
    let mut answer_bytes = Vec::new();
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
        if answer["items"].as_array().map_or(0, Vec::len) == 25 {
            answer_bytes.push(serde_json::to_vec(&answer).map_or(0, |b| b.len()));
        }
    }
    times.sort();
    answer_bytes.sort();
    let (rss, anon) = rss_of(client.pid());
    client.shutdown();

    // The same queries in-process, without JSON-RPC: what the handler itself costs.
    let paths = DataPaths::new(sandbox.home().join("data"), None, None);
    let library = open(&paths);
    library.wait_ready();
    let mut direct = Vec::with_capacity(queries.len());
    let mut by_kind: Vec<Vec<Duration>> = vec![Vec::new(); 5];
    for (i, q) in queries.iter().enumerate() {
        let t = Instant::now();
        std::hint::black_box(library.search(q, 50).expect("search"));
        direct.push(t.elapsed());
        by_kind[i % 5].push(t.elapsed());
    }
    direct.sort();
    for (kind, mut times) in ["prefix", "typo", "two words", "word", "blank"]
        .into_iter()
        .zip(by_kind)
    {
        times.sort();
        eprintln!(
            "[{n}] in-process {kind:>9}: p50 {:>7.0?} p99 {:>7.0?}",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }

    eprintln!(
        "[{n}] completion answer with 25 items: median {:.1} KB, max {:.1} KB ({} answers)",
        percentile(&answer_bytes, 0.5) as f64 / 1024.0,
        answer_bytes.last().copied().unwrap_or_default() as f64 / 1024.0,
        answer_bytes.len(),
    );
    println!(
        "| {n:>7} | {cold:>8.0?} | {first_answer:>8.0?} | {ready:>8.0?} | {:>7.0?} | {:>7.0?} | {:>7.0?} | {:>7.0?} | {rss:>4.0} MB | {anon:>4.0} MB |",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&direct, 0.5),
        percentile(&direct, 0.99),
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("PROMPTSTACK_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "| prompts | cold index | restart: first answer | restart: reconciled | completion p50 | completion p99 | in-process p50 | in-process p99 | server RSS | server anonymous RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        bench(n);
    }
}
