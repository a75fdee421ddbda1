//! The faults suite: the history database corrupted (header, interior pages), truncated,
//! read-only or locked by another process, and the library's index directory deleted while the
//! server runs. Each case drives the real binary and shows that the server keeps serving, says
//! what is wrong once, loses no save, and recovers when the fault goes away.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use promptstack::history::SqliteRepository;
use promptstack::home::DataPaths;
use serde_json::{Value, json};
use support::{Client, Sandbox, TIMEOUT, poll, shown_messages, uri};

fn paths(sandbox: &Sandbox) -> DataPaths {
    DataPaths::new(sandbox.home().join("data"), None, None)
}

/// Enough compositions (about 1 KB each) for the tables to have interior b-tree pages, plus one
/// saved twice (`walrus`), whose first version only the database holds.
fn seed_history(sandbox: &Sandbox, compositions: usize) {
    let mut saves: Vec<(String, String)> = (0..compositions)
        .map(|i| {
            (
                format!("/w/c{i}.prompt.md"),
                format!(
                    "# Composition {i}\nseeded{i}q {}",
                    "lorem ipsum ".repeat(80)
                ),
            )
        })
        .collect();
    saves.push((
        "/w/walrus.prompt.md".into(),
        "the walrus, first draft".into(),
    ));
    let saves: Vec<(&str, &str)> = saves
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    support::save_through_recorder(&paths(sandbox), &saves);
    // Two saves within one millisecond would look like one in the file's dates.
    std::thread::sleep(Duration::from_millis(5));
    // Dropping the recorder and the last connection checkpoints the WAL into the file.
    support::save_through_recorder(
        &paths(sandbox),
        &[("/w/walrus.prompt.md", "the walrus, second draft")],
    );
}

/// Overwrites every interior b-tree page after the first (the schema page) with junk: the file
/// still opens, and queries that walk those trees fail as malformed. Returns how many.
fn damage_interior_pages(db: &Path) -> usize {
    let mut bytes = std::fs::read(db).unwrap();
    let page_size = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65_536,
        n => n as usize,
    };
    let mut damaged = 0;
    for start in (page_size..bytes.len()).step_by(page_size) {
        // 0x05: interior table page, 0x02: interior index page.
        if matches!(bytes[start], 0x02 | 0x05) {
            bytes[start..start + page_size].fill(0x5a);
            damaged += 1;
        }
    }
    std::fs::write(db, bytes).unwrap();
    damaged
}

fn start(sandbox: &Sandbox) -> Client {
    let mut client = Client::start(sandbox, &[]);
    client.initialize(Value::Null, false);
    client
}

/// Polls `history.search` until it finds exactly `count` compositions for `query`.
fn search_until(client: &mut Client, query: &str, count: usize) -> Vec<Value> {
    client.history_search_until(query, |r| r.len() == count)
}

/// Whether some history file holds `text` (a save reached the source of truth).
fn in_history_files(sandbox: &Sandbox, text: &str) -> bool {
    std::fs::read_dir(paths(sandbox).history_dir)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(text)))
        })
        .unwrap_or(false)
}

fn wait_in_history_files(sandbox: &Sandbox, text: &str) {
    let deadline = Instant::now() + TIMEOUT;
    while !in_history_files(sandbox, text) {
        assert!(
            Instant::now() < deadline,
            "{text:?} never reached a history file"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many `window/showMessage` notifications so far contain `needle`.
fn told(client: &Client, needle: &str) -> usize {
    shown_messages(&client.seen)
        .iter()
        .filter(|m| m.contains(needle))
        .count()
}

fn wait_told(client: &mut Client, needle: &str) -> String {
    client.wait_until(&format!("a message about {needle:?}"), |seen| {
        shown_messages(seen).iter().any(|m| m.contains(needle))
    });
    shown_messages(&client.seen)
        .into_iter()
        .find(|m| m.contains(needle))
        .unwrap_or_default()
}

/// The server answers an ordinary request (it keeps serving).
fn assert_serving(client: &mut Client, uri: &str) {
    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .expect("document symbols answer");
    assert!(symbols.is_array(), "{symbols}");
}

fn corrupt_copies(sandbox: &Sandbox) -> usize {
    std::fs::read_dir(sandbox.home().join("data"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("history.db.corrupt-")
                && !name.ends_with("-wal")
                && !name.ends_with("-shm")
        })
        .count()
}

/// After a database fault at start: the server tells the user once, serves, and every earlier
/// composition plus a new save are found.
fn check_rebuilt_after_start(sandbox: &Sandbox, needle: &str, compositions: usize) {
    let mut client = start(sandbox);
    let message = wait_told(&mut client, needle);
    assert!(
        message.contains("1 composition(s)") && message.contains("earlier versions"),
        "the lost first draft of the walrus is reported: {message}"
    );
    let doc = uri(&sandbox.workspace().join("after.prompt.md"));
    client.open(&doc, "");
    assert_serving(&mut client, &doc);
    let walrus = search_until(&mut client, "walrus", 1);
    assert!(
        walrus[0]["snippet"].as_str().unwrap().contains("second"),
        "{walrus:?}"
    );
    search_until(&mut client, "seeded7q", 1);
    client.save(&doc, 2, "saved after the repair: narwhal\n");
    search_until(&mut client, "narwhal", 1);
    let all = client
        .history_command(
            "promptstack.history.search",
            json!({"query": "lorem", "limit": 200}),
        )
        .unwrap();
    assert_eq!(all["results"].as_array().unwrap().len(), compositions);
    assert_eq!(
        told(&client, needle),
        1,
        "told once: {:?}",
        shown_messages(&client.seen)
    );
    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn a_corrupt_header_is_moved_aside_and_rebuilt_with_one_message() {
    let sandbox = Sandbox::new();
    seed_history(&sandbox, 20);
    let db = paths(&sandbox).database_path;
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..16].copy_from_slice(b"not a database!!");
    std::fs::write(&db, bytes).unwrap();
    check_rebuilt_after_start(&sandbox, "was corrupt", 20);
    assert_eq!(
        corrupt_copies(&sandbox),
        1,
        "the damaged file is kept aside"
    );
}

#[test]
fn damaged_interior_pages_are_found_moved_aside_and_rebuilt() {
    let sandbox = Sandbox::new();
    seed_history(&sandbox, 150);
    let db = paths(&sandbox).database_path;
    assert!(
        damage_interior_pages(&db) > 0,
        "the fixture has interior pages"
    );
    // The damage the issue reported: the file opens fine.
    SqliteRepository::open(&db, Default::default()).expect("opens despite the damage");
    check_rebuilt_after_start(&sandbox, "was corrupt", 150);
    assert_eq!(corrupt_copies(&sandbox), 1);
}

#[test]
fn the_cli_repairs_damaged_interior_pages() {
    let sandbox = Sandbox::new();
    seed_history(&sandbox, 150);
    damage_interior_pages(&paths(&sandbox).database_path);
    let (code, stdout, stderr) = sandbox.cli(&["history", "rebuild"]);
    assert_eq!(code, 0, "rebuild succeeds: {stderr}");
    assert!(stderr.contains("history database was corrupt"), "{stderr}");
    assert!(
        stderr.contains("1 composition(s)"),
        "lost versions said: {stderr}"
    );
    assert!(stdout.contains("151 history files: 151 added"), "{stdout}");

    // Any other command on a damaged database finds everything too.
    let sandbox = Sandbox::new();
    seed_history(&sandbox, 150);
    damage_interior_pages(&paths(&sandbox).database_path);
    let (code, stdout, stderr) = sandbox.cli(&["history", "search", "walrus"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("second draft"), "{stdout}\n{stderr}");
    assert!(stderr.contains("history database was corrupt"), "{stderr}");
    let (code, stdout, stderr) = sandbox.cli(&["history", "stats"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("compositions: 151"), "{stdout}");
    assert!(!stderr.contains("corrupt"), "repaired for good: {stderr}");
}

#[test]
fn a_truncated_database_is_rebuilt_and_lost_versions_are_reported() {
    let sandbox = Sandbox::new();
    seed_history(&sandbox, 150);
    let db = paths(&sandbox).database_path;
    // Half a database: pages past the end read as junk.
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    check_rebuilt_after_start(&sandbox, "was corrupt", 150);
    // Emptied: a valid (empty) database, so nothing is corrupt, but versions are gone.
    std::fs::File::options()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(0)
        .unwrap();
    check_rebuilt_after_start(&sandbox, "earlier versions", 150);
}

/// A file made read-only for the server, undone on drop: a mode for a normal user; for root,
/// whom modes do not stop, the immutable attribute.
struct ReadOnly {
    path: PathBuf,
    immutable: bool,
}

impl ReadOnly {
    fn make(path: &Path) -> Option<ReadOnly> {
        use std::os::unix::fs::PermissionsExt;
        let writable = |p: &Path| std::fs::OpenOptions::new().write(true).open(p).is_ok();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).ok()?;
        let mut guard = ReadOnly {
            path: path.to_path_buf(),
            immutable: false,
        };
        if writable(path) {
            let set = std::process::Command::new("chattr")
                .arg("+i")
                .arg(path)
                .status();
            guard.immutable = set.is_ok_and(|s| s.success());
        }
        if writable(path) {
            eprintln!("skipped: cannot make a file read-only for this user (chattr +i failed)");
            return None;
        }
        Some(guard)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.path)
                .status();
        }
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o644));
    }
}

#[test]
fn a_read_only_database_keeps_saves_in_files_says_so_once_and_catches_up() {
    let sandbox = Sandbox::new();
    seed_history(&sandbox, 3);
    let Some(read_only) = ReadOnly::make(&paths(&sandbox).database_path) else {
        return;
    };
    let mut client = start(&sandbox);
    let doc = uri(&sandbox.workspace().join("ro.prompt.md"));
    client.open(&doc, "");
    search_until(&mut client, "walrus", 1);
    client.save(&doc, 2, "first while read-only: otter\n");
    let message = wait_told(&mut client, "read-only");
    assert!(message.contains("kept in the history files"), "{message}");
    client.save(&doc, 3, "second while read-only: otter beaver\n");
    wait_in_history_files(&sandbox, "otter beaver");
    assert_serving(&mut client, &doc);

    drop(read_only);
    let other = uri(&sandbox.workspace().join("after.prompt.md"));
    client.open(&other, "");
    client.save(&other, 2, "after the fault: heron\n");
    search_until(&mut client, "heron", 1);
    let otter = search_until(&mut client, "beaver", 1);
    assert!(
        otter[0]["snippet"].as_str().unwrap().contains("second"),
        "{otter:?}"
    );
    assert_eq!(
        told(&client, "read-only"),
        1,
        "{:?}",
        shown_messages(&client.seen)
    );
    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn a_database_locked_by_another_process_keeps_saves_says_so_once_and_catches_up() {
    let sandbox = Sandbox::new();
    seed_history(&sandbox, 3);
    let mut client = start(&sandbox);
    let doc = uri(&sandbox.workspace().join("locked.prompt.md"));
    client.open(&doc, "");
    search_until(&mut client, "walrus", 1);

    let other_process = rusqlite::Connection::open(paths(&sandbox).database_path).unwrap();
    other_process.execute_batch("BEGIN EXCLUSIVE").unwrap();
    client.save(&doc, 2, "while locked: puffin\n");
    let message = wait_told(&mut client, "locked by another process");
    assert!(message.contains("nothing is lost"), "{message}");
    client.save(&doc, 3, "while locked: puffin gannet\n");
    wait_in_history_files(&sandbox, "puffin gannet");
    assert_serving(&mut client, &doc);
    // Searches still answer from the index while another process holds the write lock.
    search_until(&mut client, "walrus", 1);

    other_process.execute_batch("COMMIT").unwrap();
    drop(other_process);
    let after = uri(&sandbox.workspace().join("after.prompt.md"));
    client.open(&after, "");
    client.save(&after, 2, "after the lock: cormorant\n");
    search_until(&mut client, "cormorant", 1);
    search_until(&mut client, "gannet", 1);
    assert_eq!(
        told(&client, "locked by another process"),
        1,
        "{:?}",
        shown_messages(&client.seen)
    );
    assert_eq!(client.shutdown(), Some(0));
}

/// Polls `workspace/symbol` until a symbol named `name` answers `query`.
fn wait_symbol(client: &mut Client, query: &str, name: &str) {
    let has = |answer: &Value| {
        answer
            .as_array()
            .is_some_and(|symbols| symbols.iter().any(|s| s["name"] == name))
    };
    let answer = poll(
        client,
        "workspace/symbol",
        json!({ "query": query }),
        TIMEOUT,
        has,
    );
    assert!(has(&answer), "no symbol {name:?} for {query:?}: {answer}");
}

#[test]
fn a_deleted_index_directory_is_recreated_and_reindexed_with_one_message() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.library().join("workflows/forecast.md"),
        b"---\ntitle: Quarterly budget forecast\n---\nForecast the costs.\n",
    );
    let mut client = start(&sandbox);
    wait_symbol(&mut client, "forecast", "Quarterly budget forecast");
    let index_dir = sandbox.home().join("data/index");
    std::fs::remove_dir_all(&index_dir).unwrap();

    // A prompt added while the index is gone (the server's watcher sees it).
    sandbox.write(
        &sandbox.library().join("rules/tidy.md"),
        b"---\ntitle: Tidy desk rules\n---\nKeep the desk tidy.\n",
    );
    wait_symbol(&mut client, "tidy", "Tidy desk rules");
    let message = wait_told(&mut client, "deleted while PromptStack was running");
    assert!(message.contains("reindexed"), "{message}");
    assert!(index_dir.join("meta.json").is_file(), "recreated on disk");
    wait_symbol(&mut client, "forecast", "Quarterly budget forecast");

    let reindexed = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.reindexLibrary", "arguments": []}),
        )
        .expect("reindex works");
    assert_eq!(reindexed["prompts"], 2, "{reindexed}");
    wait_symbol(&mut client, "tidy", "Tidy desk rules");
    assert_eq!(
        told(&client, "deleted while PromptStack was running"),
        1,
        "{:?}",
        shown_messages(&client.seen)
    );
    assert_eq!(client.shutdown(), Some(0));
}
