//! Crash safety: a child process saves compositions in a loop and is killed with SIGKILL at random
//! points, many times. After every kill, each save the child saw acknowledged must be in both the
//! history files and the database, and nothing may be corrupt.
//!
//! The child is this test binary itself, re-run with `PROMPTSTACK_CRASH_CHILD` set.
//! `PROMPTSTACK_CRASH_KILLS` sets the number of kills (default 200).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use promptstack::events::EventBus;
use promptstack::history::files;
use promptstack::history::sync::{SyncMode, sync};
use promptstack::history::{
    CompositionRepository, HistoryRecorder, RecoveringSqlite, SaveRequest, SqliteRepository,
};
use promptstack::home::DataPaths;

const SOURCES: u64 = 5;

fn paths(home: &Path) -> DataPaths {
    DataPaths::new(home.join("data"), None, None)
}

fn source(k: u64) -> PathBuf {
    PathBuf::from(format!("/w/s{k}.prompt.md"))
}

/// The save number inside a composition's content.
fn number(content: &str) -> u64 {
    content
        .rsplit(' ')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The child: start like the server (recover, sync), then save forever, printing each ack.
#[test]
fn crash_child() {
    let Some(home) = std::env::var_os("PROMPTSTACK_CRASH_CHILD") else {
        return;
    };
    let base: u64 = std::env::var("PROMPTSTACK_CRASH_BASE")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(0);
    let paths = paths(Path::new(&home));
    // The server's own repository: recovers a corrupt database, reopens after faults.
    let repo = Arc::new(RecoveringSqlite::open(&paths.database_path, Default::default()).unwrap());
    sync(
        repo.as_ref(),
        &paths.history_dir,
        SyncMode::Check,
        &mut |_, _| {},
    )
    .unwrap();
    let recorder =
        HistoryRecorder::start(Some(repo), paths.history_dir.clone(), EventBus::new()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    println!("ready");
    for n in base.. {
        let k = n % SOURCES;
        let outcome = runtime
            .block_on(recorder.save(SaveRequest {
                source_path: source(k),
                working_dir: Some("/w".into()),
                content: format!("# Composition {k}\nsave {n}"),
                prompts_used: Vec::new(),
            }))
            .unwrap();
        assert!(!outcome.needs_repair(), "{:?}", outcome.index_error);
        println!("ack {k} {n}");
    }
}

/// A small xorshift generator: random kill points without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Runs the child until a random moment after it is ready, kills it, returns its acks.
fn run_and_kill(home: &Path, base: u64, delay: Duration) -> Vec<(u64, u64)> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("PROMPTSTACK_CRASH_CHILD", home)
        .env("PROMPTSTACK_CRASH_BASE", base.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut acks = Vec::new();
    let mut ready = false;
    while !ready {
        let left = Duration::from_secs(30).saturating_sub(started.elapsed());
        match lines.recv_timeout(left) {
            // libtest may print "test crash_child ... " on the same line first.
            Ok(line) => ready = line.ends_with("ready"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the child did not start within 30 s");
            }
        }
    }
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    for line in lines.try_iter() {
        let Some(at) = line.find("ack ") else {
            continue;
        };
        let mut words = line[at..].split(' ');
        if words.next() == Some("ack") {
            let k = words.next().and_then(|w| w.parse().ok()).unwrap();
            let n = words.next().and_then(|w| w.parse().ok()).unwrap();
            acks.push((k, n));
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    acks
}

#[test]
fn acknowledged_saves_survive_sigkill() {
    if std::env::var_os("PROMPTSTACK_CRASH_CHILD").is_some() {
        return;
    }
    let kills: u64 = std::env::var("PROMPTSTACK_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(200);
    let home = tempfile::tempdir().unwrap();
    let paths = paths(home.path());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    // Latest acknowledged save number per source.
    let mut acked: HashMap<u64, u64> = HashMap::new();
    let mut total_acks = 0;
    for kill in 0..kills {
        let delay = Duration::from_micros(rng.below(60_000));
        let acks = run_and_kill(home.path(), kill * 1_000_000, delay);
        total_acks += acks.len();
        for (k, n) in acks {
            acked.insert(k, n);
        }

        // The database opens cleanly and passes SQLite's own check.
        let repo = SqliteRepository::open(&paths.database_path, Default::default())
            .unwrap_or_else(|e| panic!("seed {seed}, kill {kill}: {e}"));
        let conn = rusqlite::Connection::open(&paths.database_path).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "seed {seed}, kill {kill}");

        for (&k, &n) in &acked {
            let context = format!("seed {seed}, kill {kill}, source {k}, acked save {n}");
            let (_, file) = files::find_by_source(&paths.history_dir, &source(k))
                .unwrap()
                .unwrap_or_else(|| panic!("{context}: no history file"));
            assert!(
                number(&file.content) >= n,
                "{context}: file has {}",
                file.content
            );
            let row = repo
                .find_by_source(&source(k))
                .unwrap()
                .unwrap_or_else(|| panic!("{context}: not in the database"));
            let content = repo.load(&row.id).unwrap().unwrap().content;
            assert!(number(&content) >= n, "{context}: database has {content}");
            let versions: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM composition_versions WHERE content = ?1",
                    [format!("# Composition {k}\nsave {n}")],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(
                versions, 1,
                "{context}: the acknowledged version is missing"
            );
        }
        drop(conn);

        // And the files all read back, with the index matching them after a sync.
        let report = sync(&repo, &paths.history_dir, SyncMode::Check, &mut |_, _| {}).unwrap();
        assert!(
            report.problems.is_empty(),
            "seed {seed}, kill {kill}: {:?}",
            report.problems
        );
        assert_eq!(repo.stats().unwrap().compositions, report.files);
        let leftovers: Vec<_> = std::fs::read_dir(&paths.history_dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "seed {seed}, kill {kill}: {leftovers:?}"
        );
    }
    eprintln!("{kills} kills, {total_acks} acknowledged saves, all present (seed {seed})");
    assert!(total_acks > 0, "the child never got a save acknowledged");
}
