//! History benchmark through the real binary over stdio, per backend (SQLite, PostgreSQL on a
//! throwaway local server with its default durability, and the graph on a throwaway FalkorDB
//! server) on the same fixture: save → persisted latency (history file and database row both
//! show the new text), `promptstack.history.search` latency, and for the graph
//! `promptstack.history.related` latency, at each fixture size.
//!
//! Run: `cargo bench --bench history`. `PROMPTSTACK_BENCH_SIZES` (`100000,1000000`),
//! `PROMPTSTACK_BENCH_BACKENDS` (`sqlite,postgres`; add `graph`),
//! `PROMPTSTACK_BENCH_ONLY=save|search|related` (all),
//! `PROMPTSTACK_BENCH_SAVES` (300), `PROMPTSTACK_BENCH_SEARCHES` (1000), `PROMPTSTACK_BENCH_RELATED` (300),
//! `PROMPTSTACK_BENCH_POLL_US` (50). Fixtures go to a temp dir (`TMPDIR`).

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use common::{FILLER, PLACEHOLDERS, Rng, percentile};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use support::falkor::Server as FalkorServer;
use support::pg::Cluster;
use support::{Client, Sandbox, uri};
use time::OffsetDateTime;

use promptstack::config::Secret;
use promptstack::history::files::HistoryFile;
use promptstack::history::graph::GraphSettings;
use promptstack::history::postgres::ConnectSettings;
use promptstack::history::sqlite::SqliteRepository;
use promptstack::history::{
    CompositionRecord, CompositionRepository, FileStamp, GraphRepository, Identity,
    PostgresRepository,
};

/// Topic words, skewed: the first ones are common (the "common word" queries).
const TOPIC: &[&str] = &[
    "review",
    "code",
    "test",
    "summary",
    "design",
    "plan",
    "document",
    "error",
    "api",
    "data",
    "feature",
    "release",
    "security",
    "performance",
    "refactor",
    "database",
    "migration",
    "deploy",
    "logging",
    "incident",
    "customer",
    "support",
    "email",
    "meeting",
    "agenda",
    "roadmap",
    "analysis",
    "risk",
    "audit",
    "architecture",
    "latency",
    "memory",
    "cache",
    "index",
    "search",
    "query",
    "schema",
    "budget",
    "onboarding",
    "checklist",
    "style",
    "commit",
    "message",
    "translate",
    "tone",
    "json",
    "table",
    "citation",
    "sources",
    "postmortem",
    "kubernetes",
    "terraform",
    "frontend",
    "backend",
    "accessibility",
    "localization",
    "pagination",
    "throttling",
    "webhook",
    "invoice",
    "billing",
    "forecast",
    "hiring",
    "interview",
    "contract",
    "compliance",
    "gdpr",
    "encryption",
    "backup",
    "rollback",
];
/// Parts of CamelCase identifiers: 40³ = 64,000 rare tokens (the "selective word" queries).
const PARTS: &[&str] = &[
    "User", "Order", "Invoice", "Payment", "Session", "Token", "Cache", "Queue", "Worker",
    "Router", "Config", "Schema", "Report", "Export", "Import", "Search", "Index", "Audit",
    "Ledger", "Account", "Profile", "Upload", "Stream", "Event", "Metric", "Alert", "Policy",
    "Tenant", "Billing", "Shipment", "Cart", "Catalog", "Price", "Coupon", "Review", "Rating",
    "Message", "Thread", "Channel", "Gateway",
];
const PROJECTS: &[&str] = &[
    "shop", "billing", "infra", "docs", "mobile", "web", "data", "ml", "support", "ops", "site",
    "api", "blog", "crm", "etl", "auth",
];

fn identifier(rng: &mut Rng) -> String {
    (0..3).map(|_| rng.pick(PARTS)).collect()
}

fn word(rng: &mut Rng, out: &mut String) {
    match rng.below(100) {
        0..=59 => out.push_str(rng.pick(FILLER)),
        60..=96 => out.push_str(rng.pick_skewed(TOPIC)),
        _ => out.push_str(&identifier(rng)),
    }
}

/// A Markdown composition of 200–3,000 characters (log-uniform: most are short): optional
/// frontmatter with tags, a title, sections with paragraphs, bullets and placeholders.
fn composition(rng: &mut Rng) -> String {
    let target = (200.0 * 15f64.powf(rng.below(10_000) as f64 / 10_000.0)) as usize;
    let mut out = String::with_capacity(target + 200);
    if rng.below(5) == 0 {
        let tags: Vec<&str> = (0..1 + rng.below(3)).map(|_| rng.pick(TOPIC)).collect();
        out.push_str(&format!("---\ntags: [{}]\n---\n", tags.join(", ")));
    }
    out.push_str("# ");
    for i in 0..2 + rng.below(4) {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(rng.pick_skewed(TOPIC));
    }
    out.push_str("\n\n");
    let mut used: Vec<&str> = Vec::new();
    while out.len() < target {
        match rng.below(6) {
            0 => {
                out.push_str("## ");
                out.push_str(rng.pick_skewed(TOPIC));
                out.push(' ');
                out.push_str(rng.pick(TOPIC));
                out.push_str("\n\n");
            }
            1 => {
                for _ in 0..2 + rng.below(4) {
                    out.push_str("- ");
                    for i in 0..3 + rng.below(8) {
                        if i > 0 {
                            out.push(' ');
                        }
                        word(rng, &mut out);
                    }
                    out.push('\n');
                }
                out.push('\n');
            }
            _ => {
                for i in 0..15 + rng.below(40) {
                    if i > 0 {
                        out.push(' ');
                    }
                    word(rng, &mut out);
                }
                if rng.below(3) == 0 {
                    let name = rng.pick(PLACEHOLDERS);
                    if !used.contains(&name) {
                        used.push(name);
                        let kind = if rng.below(4) == 0 { "list" } else { "text" };
                        out.push_str(&format!(" {{{{{kind}:{name}}}}}"));
                    }
                }
                out.push_str(".\n\n");
            }
        }
    }
    if out.len() > 3000 {
        let cut = out[..3000].rfind(' ').unwrap_or(3000);
        out.truncate(cut);
        out.push('\n');
    }
    out
}

fn history_name(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}_{:02}-{:02}-{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Fills `data_dir` with `n` compositions saved over a year: one history file each (plain
/// writes, no fsync: this is set-up) and the rows the server would have written, through each
/// backend's `save_many` (real migrations, versions, tags; triggers and FTS5 for SQLite, the
/// generated tsvector and GIN index for PostgreSQL) in large transactions. Each row carries its
/// file's stamp, so the server's start-up check trusts it.
fn generate(data_dir: &Path, n: usize, sinks: &[Box<dyn CompositionRepository>]) -> Duration {
    const BATCH: usize = 10_000;
    let started = Instant::now();
    let history_dir = data_dir.join(".history");
    std::fs::create_dir_all(&history_dir).expect("history dir");
    // Files and records are produced on one thread, the databases written on another.
    let (tx, rx) = sync_channel::<Vec<CompositionRecord>>(2);
    let producer = std::thread::spawn(move || {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let year_ms: i64 = 365 * 24 * 3600 * 1000;
        let step = (year_ms / n.max(1) as i64).max(1);
        let start = OffsetDateTime::now_utc() - time::Duration::milliseconds(year_ms + 86_400_000);
        let start = start.replace_nanosecond(0).expect("whole second");
        let (mut last_base, mut same) = (String::new(), 1);
        let mut batch = Vec::with_capacity(BATCH);
        for i in 0..n {
            let jitter = rng.below((step / 2).max(1) as usize) as i64;
            let created = start + time::Duration::milliseconds(i as i64 * step + jitter);
            let updated = created + time::Duration::milliseconds(rng.below(3 * 86_400_000) as i64);
            let base = history_name(created);
            if base == last_base {
                same += 1;
            } else {
                (last_base, same) = (base.clone(), 1);
            }
            let id = if same == 1 {
                base
            } else {
                format!("{base}-{same}")
            };
            let project = rng.pick(PROJECTS);
            let working_dir = PathBuf::from(format!("/home/dev/src/{project}"));
            let file = HistoryFile {
                id: id.clone(),
                source_path: Some(working_dir.join(format!("prompts/p{i}.prompt.md"))),
                working_dir: Some(working_dir),
                created,
                updated,
                content: composition(&mut rng),
            };
            let name = format!("{id}.md");
            let path = history_dir.join(&name);
            std::fs::write(&path, file.render()).expect("write history file");
            batch.push(file.record(&name, FileStamp::of(&path)));
            if batch.len() == BATCH || i + 1 == n {
                if tx.send(std::mem::take(&mut batch)).is_err() {
                    return;
                }
                batch.reserve(BATCH);
            }
        }
    });
    let mut done = 0;
    for batch in rx {
        for sink in sinks {
            sink.save_many(&batch).expect("save batch");
        }
        done += batch.len();
        if done % 100_000 == 0 || done == n {
            eprintln!("  generated {done}/{n} in {:.0?}", started.elapsed());
        }
    }
    producer.join().expect("generator thread");
    for sink in sinks {
        // What `promptstack history rebuild` does: fresh planner statistics for PostgreSQL.
        sink.reindex().expect("reindex");
    }
    started.elapsed()
}

/// Which database a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
    Graph,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Graph => "graph",
        }
    }
}

/// One generated history, in every backend being measured.
struct Fixture {
    sandbox: Sandbox,
    n: usize,
    /// The PostgreSQL server and the fixture's database URL.
    postgres: Option<(Cluster, String)>,
    /// The FalkorDB server (the fixture is its graph `bench`).
    graph: Option<FalkorServer>,
}

/// The fixture's graph.
const BENCH_GRAPH: &str = "bench";

impl Fixture {
    fn data(&self) -> PathBuf {
        self.sandbox.home().join("data")
    }

    fn new(n: usize, backends: &[Backend]) -> Fixture {
        let sandbox = Sandbox::new();
        let data = sandbox.home().join("data");
        let mut sinks: Vec<Box<dyn CompositionRepository>> = Vec::new();
        if backends.contains(&Backend::Sqlite) {
            sinks.push(Box::new(
                SqliteRepository::open(&data.join("history.db"), Default::default()).expect("db"),
            ));
        }
        let postgres = backends.contains(&Backend::Postgres).then(|| {
            let cluster = Cluster::start_with(true).expect("a PostgreSQL server for the bench");
            let url = cluster.database();
            let config =
                promptstack::config::Loaded::load(promptstack::home::Home::at(sandbox.home()));
            let identity =
                Identity::load(&data.join(".history"), config.config()).expect("identity");
            let settings =
                ConnectSettings::from_url(&Secret::new(&url), 2, Duration::from_secs(10))
                    .expect("settings");
            sinks.push(Box::new(PostgresRepository::new(settings, identity)));
            (cluster, url)
        });
        let graph = backends.contains(&Backend::Graph).then(|| {
            let server = FalkorServer::start().expect("a FalkorDB server for the bench");
            sinks.push(Box::new(graph_repository(&sandbox, &server)));
            server
        });
        eprintln!("[fixture] generating {n} compositions");
        let took = generate(&data, n, &sinks);
        eprintln!("[fixture] generated {n} in {took:.1?}");
        Fixture {
            sandbox,
            n,
            postgres,
            graph,
        }
    }

    /// The environment that points a server at `backend`.
    fn env(&self, backend: Backend) -> Vec<(&'static str, String)> {
        match (backend, &self.postgres) {
            (Backend::Postgres, Some((_, url))) => vec![
                ("PROMPTSTACK_STORAGE", "postgres".into()),
                ("PROMPTSTACK_POSTGRES_URL", url.clone()),
            ],
            _ if backend == Backend::Graph => {
                let server = self.graph.as_ref().expect("graph server");
                vec![
                    ("PROMPTSTACK_STORAGE", "graph".into()),
                    ("PROMPTSTACK_GRAPH_URL", server.url()),
                    ("PROMPTSTACK_GRAPH_NAME", BENCH_GRAPH.into()),
                ]
            }
            _ => vec![("PROMPTSTACK_STORAGE", "sqlite".into())],
        }
    }
}

/// The fixture's graph, as this history (the same origin as the server the bench starts).
fn graph_repository(sandbox: &Sandbox, server: &FalkorServer) -> GraphRepository {
    let data = sandbox.home().join("data");
    let config = promptstack::config::Loaded::load(promptstack::home::Home::at(sandbox.home()));
    let identity = Identity::load(&data.join(".history"), config.config()).expect("identity");
    let settings = GraphSettings::from_url(
        &Secret::new(server.url()),
        BENCH_GRAPH,
        Duration::from_secs(10),
    )
    .expect("settings");
    GraphRepository::new(settings, identity)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Starts the server and waits for the start-up history check to finish; returns the time it
/// took. The client does not offer `workDoneProgress`: the check reports progress once per
/// history file, which would be a million notifications here; the end is read from the log.
fn start(fixture: &Fixture, backend: Backend) -> (Client, Duration) {
    let started = Instant::now();
    let env = fixture.env(backend);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("PROMPTSTACK_LOG", "promptstack=info"));
    let mut client = Client::start(&fixture.sandbox, &env);
    client
        .request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "capabilities": {
                    "general": { "positionEncodings": ["utf-16"] },
                    "workspace": { "configuration": true, "workspaceFolders": true },
                    "textDocument": { "synchronization": { "didSave": true } }
                },
                "initializationOptions": null
            }),
        )
        .expect("initialize");
    client.notify("initialized", json!({}));
    loop {
        let log = client.stderr.lock().expect("stderr").clone();
        if let Some(line) = log.lines().find(|l| l.contains("history check:")) {
            eprintln!("  {}", line.trim());
            break;
        }
        assert!(client.alive(), "server exited:\n{log}");
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "history check never finished:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    (client, started.elapsed())
}

struct Row {
    measure: String,
    n: usize,
    count: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    target: &'static str,
}

impl Row {
    fn line(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            self.measure,
            self.n,
            self.count,
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.target
        )
    }

    fn new(measure: String, n: usize, mut times: Vec<Duration>, target: &'static str) -> Row {
        times.sort();
        let row = Row {
            measure,
            n,
            count: times.len(),
            p50: percentile(&times, 0.5),
            p99: percentile(&times, 0.99),
            max: times.last().copied().unwrap_or_default(),
            target,
        };
        // As soon as measured, so a long run that is stopped still leaves its figures.
        eprintln!("{}", row.line());
        row
    }
}

/// What the fsync-and-rename of one history file costs on this disk, without the server.
fn fsync_floor(dir: &Path, text: &str, rounds: usize) -> Vec<Duration> {
    let path = dir.join("fsync-probe.txt");
    let times = (0..rounds)
        .map(|i| {
            let t = Instant::now();
            promptstack::home::write_atomic(&path, format!("{text}{i}").as_bytes())
                .expect("probe write");
            t.elapsed()
        })
        .collect();
    let _ = std::fs::remove_file(path);
    times
}

/// Reads a composition's row in the database a backend uses, beside the server.
enum RowReader {
    Sqlite(Connection),
    /// The connection and this history's origin.
    Postgres(Box<postgres::Client>, String),
    /// Through the repository: FalkorDB has no reader that bypasses the server.
    Graph(Box<GraphRepository>),
}

impl RowReader {
    fn open(fixture: &Fixture, backend: Backend) -> RowReader {
        if let (Backend::Graph, Some(server)) = (backend, &fixture.graph) {
            return RowReader::Graph(Box::new(graph_repository(&fixture.sandbox, server)));
        }
        match (backend, &fixture.postgres) {
            (Backend::Postgres, Some((_, url))) => RowReader::Postgres(
                Box::new(postgres::Client::connect(url, postgres::NoTls).expect("connect")),
                std::fs::read_to_string(fixture.data().join(".history/.origin"))
                    .expect("the history's origin")
                    .trim()
                    .to_string(),
            ),
            _ => RowReader::Sqlite(
                Connection::open_with_flags(
                    fixture.data().join("history.db"),
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .expect("open db read-only"),
            ),
        }
    }

    /// (history file, whether the row's content has `token`) of the row saved from `source`.
    fn row(&mut self, source: &str, token: &str) -> Option<(String, bool)> {
        match self {
            RowReader::Sqlite(db) => db
                .prepare_cached(
                    "SELECT file_path, instr(content, ?1) > 0 FROM compositions WHERE source_path = ?2",
                )
                .expect("prepare")
                .query_row([token, source], |r| Ok((r.get(0)?, r.get(1)?)))
                .ok(),
            // By origin too, as the server looks it up: `source_path` alone has no index.
            RowReader::Postgres(db, origin) => db
                .query_opt(
                    "SELECT file_path, strpos(content, $1) > 0 FROM compositions
                     WHERE origin = $3 AND source_path = $2",
                    &[&token, &source, origin],
                )
                .ok()
                .flatten()
                .map(|r| (r.get(0), r.get(1))),
            RowReader::Graph(repo) => {
                let found = repo.find_by_source(Path::new(source)).ok().flatten()?;
                let content = repo.load(&found.id).ok().flatten()?.content;
                Some((found.file_name, content.contains(token)))
            }
        }
    }
}

fn bench_save(
    fixture: &Fixture,
    backend: Backend,
    saves: usize,
    poll: Duration,
    rows: &mut Vec<Row>,
) {
    let (n, data, name) = (fixture.n, fixture.data(), backend.name());
    let (mut client, startup) = start(fixture, backend);
    eprintln!("[{name} save] server start → history check done: {startup:.1?}");

    let source = fixture
        .sandbox
        .workspace()
        .join(format!("bench-{name}.prompt.md"));
    let doc = uri(&source);
    let base = composition(&mut Rng(7));
    client.open(&doc, &base);
    let mut db = RowReader::open(fixture, backend);
    let source_text = source.to_string_lossy().into_owned();
    let mut row = |token: &str| db.row(&source_text, token);
    let mut file: Option<PathBuf> = None;
    let mut version = 1;
    let mut persisted = Vec::with_capacity(saves);
    let mut file_visible = Vec::with_capacity(saves);
    let mut polls = 0usize;
    let warmup = 20;
    for i in 0..warmup + saves {
        let token = format!("benchtoken{i}x");
        let text = format!("{base}\nSaved as {token} for the benchmark.\n");
        version += 1;
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": doc, "version": version}, "contentChanges": [{"text": text}]}),
        );
        let t = Instant::now();
        client.notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": doc}, "text": text}),
        );
        let (mut in_file, mut in_db) = (None, false);
        loop {
            if in_file.is_none() {
                if file.is_none() {
                    file = row("").map(|(name, _)| data.join(".history").join(name));
                }
                if let Some(path) = &file
                    && std::fs::read_to_string(path).is_ok_and(|s| s.contains(&token))
                {
                    in_file = Some(t.elapsed());
                }
            }
            if in_file.is_some() && !in_db {
                in_db = row(&token).is_some_and(|(_, has)| has);
            }
            if in_db {
                break;
            }
            polls += 1;
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "save {i} never became visible"
            );
            std::thread::sleep(poll);
        }
        let elapsed = t.elapsed();
        if i >= warmup {
            persisted.push(elapsed);
            file_visible.push(in_file.unwrap_or(elapsed));
        }
    }
    let floor = fsync_floor(&data.join(".history"), &base, 200);
    client.shutdown();
    eprintln!(
        "[{name} save] {} polls over {} saves (poll sleep {poll:?})",
        polls,
        warmup + saves
    );
    let target = match backend {
        Backend::Sqlite => "p99 ≤ 5 ms",
        Backend::Postgres => "p99 ≤ 10 ms",
        Backend::Graph => "",
    };
    rows.push(Row::new(
        format!("{name}: save → file + row visible"),
        n,
        persisted,
        target,
    ));
    rows.push(Row::new(
        format!("{name}: save → file visible"),
        n,
        file_visible,
        "",
    ));
    rows.push(Row::new(
        format!("{name}: write_atomic alone (fsync floor)"),
        n,
        floor,
        "",
    ));
    rows.push(Row::new(
        format!("{name}: server start → history checked"),
        n,
        vec![startup],
        "",
    ));
}

/// Queries by class: selective (a rare identifier), common (a frequent topic word), two words,
/// and a prefix being typed.
fn queries(count: usize) -> Vec<(&'static str, String)> {
    let mut rng = Rng(42);
    (0..count)
        .map(|i| match i % 4 {
            0 => ("selective", identifier(&mut rng)),
            1 => ("common", TOPIC[rng.below(6)].to_string()),
            2 => (
                "two words",
                format!("{} {}", rng.pick(TOPIC), rng.pick(TOPIC)),
            ),
            _ => {
                let w = rng.pick(TOPIC);
                let len = (3 + rng.below(2)).min(w.len());
                ("prefix", w[..len].to_string())
            }
        })
        .collect()
}

fn search(client: &mut Client, query: &str) -> usize {
    let answer = client
        .request(
            "workspace/executeCommand",
            json!({ "command": "promptstack.history.search", "arguments": [{ "query": query }] }),
        )
        .expect("history search");
    answer["results"].as_array().map_or(0, Vec::len)
}

fn bench_search(fixture: &Fixture, backend: Backend, requests: usize, rows: &mut Vec<Row>) {
    let (n, name) = (fixture.n, backend.name());
    let (mut client, startup) = start(fixture, backend);
    eprintln!("[{name} search] server start → history check done: {startup:.1?}");
    let queries = queries(requests);
    for (_, q) in queries.iter().take(50) {
        search(&mut client, q);
    }
    let classes = ["selective", "common", "two words", "prefix"];
    let mut by_class: Vec<Vec<Duration>> = vec![Vec::new(); classes.len()];
    let mut empty = vec![0usize; classes.len()];
    let mut all = Vec::with_capacity(requests);
    for (class, q) in &queries {
        let k = classes.iter().position(|c| c == class).unwrap_or(0);
        let t = Instant::now();
        let found = search(&mut client, q);
        let elapsed = t.elapsed();
        if found == 0 {
            empty[k] += 1;
        }
        by_class[k].push(elapsed);
        all.push(elapsed);
    }
    client.shutdown();
    for (k, times) in by_class.into_iter().enumerate() {
        eprintln!(
            "[{name} search] {}: {} of {} queries found nothing",
            classes[k],
            empty[k],
            times.len()
        );
        rows.push(Row::new(
            format!("{name}: search: {}", classes[k]),
            n,
            times,
            "",
        ));
    }
    rows.push(Row::new(
        format!("{name}: search: all"),
        n,
        all,
        "p99 ≤ 20 ms",
    ));
}

/// `promptstack.history.related` for compositions picked at random from the fixture (each
/// shares its workspace with a sixteenth of the history, so the answer walks many edges).
fn bench_related(fixture: &Fixture, backend: Backend, requests: usize, rows: &mut Vec<Row>) {
    let (n, name) = (fixture.n, backend.name());
    let (mut client, _) = start(fixture, backend);
    let files =
        promptstack::history::files::list(&fixture.data().join(".history")).expect("history files");
    let mut rng = Rng(99);
    let mut times = Vec::with_capacity(requests);
    let mut found = 0;
    for i in 0..requests + 20 {
        let name = &files[rng.below(files.len())];
        let id = name.strip_suffix(".md").unwrap_or(name);
        let t = Instant::now();
        let answer = client
            .request(
                "workspace/executeCommand",
                json!({ "command": "promptstack.history.related", "arguments": [{ "id": id }] }),
            )
            .expect("related");
        let elapsed = t.elapsed();
        if i >= 20 {
            times.push(elapsed);
            found += answer["results"].as_array().map_or(0, Vec::len);
        }
    }
    client.shutdown();
    eprintln!("[{name} related] {found} related compositions over {requests} requests");
    rows.push(Row::new(format!("{name}: related"), n, times, ""));
}

fn main() {
    let only = std::env::var("PROMPTSTACK_BENCH_ONLY").unwrap_or_default();
    let poll = Duration::from_micros(env_usize("PROMPTSTACK_BENCH_POLL_US", 50) as u64);
    let sizes: Vec<usize> = std::env::var("PROMPTSTACK_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let backends: Vec<Backend> = std::env::var("PROMPTSTACK_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .filter_map(|b| match b.trim() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" => Some(Backend::Postgres),
            "graph" => Some(Backend::Graph),
            _ => None,
        })
        .collect();
    let mut rows = Vec::new();
    for n in sizes {
        let fixture = Fixture::new(n, &backends);
        for &backend in &backends {
            if only.is_empty() || only == "search" {
                bench_search(
                    &fixture,
                    backend,
                    env_usize("PROMPTSTACK_BENCH_SEARCHES", 1000),
                    &mut rows,
                );
            }
            if backend == Backend::Graph && (only.is_empty() || only == "related") {
                bench_related(
                    &fixture,
                    backend,
                    env_usize("PROMPTSTACK_BENCH_RELATED", 300),
                    &mut rows,
                );
            }
            if only.is_empty() || only == "save" {
                bench_save(
                    &fixture,
                    backend,
                    env_usize("PROMPTSTACK_BENCH_SAVES", 300),
                    poll,
                    &mut rows,
                );
            }
        }
    }
    println!("| measure | compositions | samples | p50 | p99 | max | target |");
    println!("|---|---|---|---|---|---|---|");
    for r in &rows {
        println!("{}", r.line());
    }
}
