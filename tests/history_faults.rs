//! End-to-end, real disk faults under the history directory (issue 16, item 6): a read-only
//! `.history` (a read-only tmpfs as root, whom permissions do not stop; `chmod` otherwise) and a
//! full filesystem (a small tmpfs). Each save made during the fault is kept — in the index, or in
//! memory while the index is on the full disk too — the user is told once, and the file is
//! written when the fault clears, without another save or a restart; a restart during the fault
//! writes the file from the index.
//!
//! Mounting needs root (CI runs as root); elsewhere these tests skip with the reason, or fail
//! under `PROMPTSTACK_REQUIRE_EXTERNAL=1`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::pg::skip;
use support::{Client, Incoming, Sandbox, TIMEOUT, history_files, uri};

/// A small tmpfs mounted at a directory; unmounted when dropped.
struct Mount {
    at: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs of `size` (e.g. `"256k"`) at `at`, or says why it cannot.
    fn tmpfs(at: &Path, size: &str) -> Result<Mount, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("mounting a test filesystem needs root".into());
        }
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot mount a tmpfs here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Mount {
            at: at.to_path_buf(),
        })
    }

    fn remount(&self, option: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(&self.at)
            .status()
            .expect("mount");
        assert!(status.success(), "remount {option}");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

fn start(sandbox: &Sandbox) -> Client {
    let mut client = Client::start(sandbox, &[]);
    client.initialize(Value::Null, false);
    client
}

fn wait_until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The message the server shows about the fault.
fn warning(client: &mut Client, needle: &str) -> String {
    client.wait_notification("window/showMessage", |p| {
        p["message"].as_str().is_some_and(|m| m.contains(needle))
    })["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn file_with(sandbox: &Sandbox, text: &str) -> Option<PathBuf> {
    history_files(sandbox)
        .into_iter()
        .find(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains(text)))
}

/// Waits until the history index answers `query` with one result.
fn indexed(client: &mut Client, query: &str) {
    client.history_search_until(query, |r| r.len() == 1);
}

/// Fills a filesystem to the last byte; returns the filler file.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join(".filler");
    let mut file = std::fs::File::create(&filler).expect("filler");
    let chunk = vec![0u8; 4096];
    use std::io::Write;
    while file.write_all(&chunk).is_ok() {}
    let _ = file.write_all(&[0]);
    let _ = file.sync_all();
    filler
}

#[test]
fn a_read_only_history_directory_loses_no_save() {
    let sandbox = Sandbox::new();
    let history = sandbox.home().join("data/.history");
    let mount = match Mount::tmpfs(&history, "4m") {
        Ok(mount) => Some(mount),
        // Without root, permissions are enforced and chmod makes the fault.
        Err(_) if unsafe { libc::geteuid() } != 0 => None,
        Err(reason) => return skip(&reason),
    };
    let mut client = start(&sandbox);
    let doc = uri(&sandbox.workspace().join("ro.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "before the fault: okapi\n");
    indexed(&mut client, "okapi");

    let read_only = |on: bool| match &mount {
        Some(m) => m.remount(if on { "ro" } else { "rw" }),
        None => {
            use std::os::unix::fs::PermissionsExt;
            let mode = if on { 0o555 } else { 0o755 };
            std::fs::set_permissions(&history, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    };
    read_only(true);
    client.save(&doc, 3, "during the fault: okapi and zebu\n");
    let message = warning(&mut client, "could not write the history file");
    assert!(
        message.contains("Read-only file system") || message.contains("Permission denied"),
        "{message}"
    );
    assert!(message.contains("kept in the history index"), "{message}");
    // The index has it: searchable at once, though the file is not written.
    indexed(&mut client, "zebu");
    assert!(file_with(&sandbox, "zebu").is_none());

    read_only(false);
    // No new save, no restart: the file is written when the directory takes it.
    wait_until(
        "the history file has the save made during the fault",
        || file_with(&sandbox, "zebu").is_some(),
    );
    assert_eq!(
        history_files(&sandbox).len(),
        1,
        "still one file per composition"
    );
    client.shutdown();
}

#[test]
fn a_full_disk_loses_no_save() {
    let sandbox = Sandbox::new();
    let history = sandbox.home().join("data/.history");
    let mount = match Mount::tmpfs(&history, "256k") {
        Ok(mount) => mount,
        Err(reason) => return skip(&reason),
    };
    let mut client = start(&sandbox);
    let doc = uri(&sandbox.workspace().join("full.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "before: tapir\n");
    indexed(&mut client, "tapir");

    let filler = fill(&history);
    let big = format!("during: tapir and serow {}\n", "words ".repeat(2000));
    client.save(&doc, 3, &big);
    let message = warning(&mut client, "could not write the history file");
    assert!(message.contains("No space left on device"), "{message}");
    indexed(&mut client, "serow");

    std::fs::remove_file(filler).unwrap();
    wait_until("the history file is written once there is space", || {
        file_with(&sandbox, "serow").is_some()
    });
    client.shutdown();
    drop(mount);
}

#[test]
fn a_full_disk_under_file_and_index_keeps_the_save_until_space_returns() {
    let sandbox = Sandbox::new();
    // The whole data directory (history files and SQLite index) on one small filesystem.
    let data = sandbox.home().join("data");
    let mount = match Mount::tmpfs(&data, "8m") {
        Ok(mount) => mount,
        Err(reason) => return skip(&reason),
    };
    let mut client = start(&sandbox);
    let doc = uri(&sandbox.workspace().join("both.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "before: gerenuk\n");
    indexed(&mut client, "gerenuk");

    let filler = fill(&data);
    let big = format!("during: gerenuk and saola {}\n", "words ".repeat(4000));
    client.save(&doc, 3, &big);
    let message = warning(&mut client, "could not record this save");
    assert!(message.contains("kept in memory"), "{message}");
    assert!(file_with(&sandbox, "saola").is_none());

    std::fs::remove_file(filler).unwrap();
    wait_until("the file is written", || {
        file_with(&sandbox, "saola").is_some()
    });
    indexed(&mut client, "saola");
    client.shutdown();
    drop(mount);
}

#[test]
fn a_restart_during_the_fault_writes_the_file_from_the_index() {
    let sandbox = Sandbox::new();
    let history = sandbox.home().join("data/.history");
    let mount = match Mount::tmpfs(&history, "4m") {
        Ok(mount) => mount,
        Err(reason) => return skip(&reason),
    };
    let mut client = start(&sandbox);
    let doc = uri(&sandbox.workspace().join("restart.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "first: dikdik\n");
    indexed(&mut client, "dikdik");
    mount.remount("ro");
    client.save(&doc, 3, "second: dikdik and markhor\n");
    warning(&mut client, "could not write the history file");
    indexed(&mut client, "markhor");
    client.shutdown();

    mount.remount("rw");
    let mut client = start(&sandbox);
    wait_until("start-up sync writes the file from the index", || {
        file_with(&sandbox, "markhor").is_some()
    });
    let report = client.seen.iter().any(
        |m| matches!(m, Incoming::Notification { method, .. } if method == "window/showMessage"),
    );
    assert!(
        !report,
        "a repaired history needs no message: {:#?}",
        client.seen
    );
    let results = client
        .history_command("promptstack.history.search", json!({ "query": "markhor" }))
        .unwrap();
    assert_eq!(results["results"].as_array().unwrap().len(), 1);
    client.shutdown();
}
