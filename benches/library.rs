//! Library benchmark: cold index, restart, search latency and memory on synthetic libraries.
//!
//! Run: `cargo bench --bench library` (sizes: `PROMPTSTACK_BENCH_SIZES=10000,100000`).
//! The LSP completion handler is not wired yet, so this measures the `Library` API in-process
//! (what the completion handler will call), not JSON-RPC round trips over stdio.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use promptstack::events::EventBus;
use promptstack::home::DataPaths;
use promptstack::library::source::FilesystemSource;
use promptstack::library::{Library, OpenOptions};

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const CATEGORIES: &[&str] = &["commands", "workflows", "rules", "prompt-decorations"];
const WORDS: &[&str] = &[
    "review",
    "code",
    "release",
    "notes",
    "security",
    "test",
    "debug",
    "plan",
    "feature",
    "design",
    "document",
    "summary",
    "refactor",
    "performance",
    "database",
    "migration",
    "api",
    "error",
    "logging",
    "deploy",
    "incident",
    "postmortem",
    "onboarding",
    "checklist",
    "style",
    "commit",
    "message",
    "explain",
    "translate",
    "tone",
    "json",
    "table",
    "citation",
    "sources",
    "architecture",
    "latency",
    "memory",
    "cache",
    "index",
    "search",
    "query",
    "schema",
    "budget",
    "customer",
    "support",
    "email",
    "meeting",
    "agenda",
    "roadmap",
    "analysis",
    "risk",
    "audit",
];
const FILLER: &[&str] = &[
    "the",
    "a",
    "with",
    "for",
    "and",
    "each",
    "every",
    "carefully",
    "briefly",
    "then",
    "before",
    "after",
    "list",
    "check",
    "write",
    "keep",
    "avoid",
    "prefer",
    "include",
    "describe",
];
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn bench(n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = DataPaths::new(dir.path().join("data"), None, None);
    let started = Instant::now();
    generate(&paths.library_dir, n);
    eprintln!("[{n}] generated in {:.2?}", started.elapsed());

    let started = Instant::now();
    let library = open(&paths);
    library.wait_ready();
    let cold = started.elapsed();
    drop(library);

    let started = Instant::now();
    let library = open(&paths);
    let hits = library.search("revew", 20).expect("search");
    let first_answer = started.elapsed();
    assert!(!hits.is_empty());
    library.wait_ready();
    let ready = started.elapsed();

    let queries = queries();
    for q in queries.iter().take(100) {
        let _ = library.search(q, 50);
    }
    let mut times = Vec::with_capacity(queries.len());
    for q in &queries {
        let t = Instant::now();
        let hits = library.search(q, 50).expect("search");
        times.push(t.elapsed());
        std::hint::black_box(hits);
    }
    times.sort();
    let (rss, peak) = rss_mb();
    println!(
        "| {n:>7} | {cold:>8.0?} | {first_answer:>8.1?} | {ready:>8.0?} | {:>7.0?} | {:>7.0?} | {:>7.0?} | {rss:>6.0} MB | {peak:>6.0} MB |",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("PROMPTSTACK_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "| prompts | cold index | restart: first answer | restart: loaded | search p50 | search p99 | max | RSS | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        bench(n);
    }
}
