//! End-to-end: `git` entries of `library.sources` against real remotes — a bare repository by
//! `file://` and one served by a real `git daemon` on 127.0.0.1 — through the real binary:
//! cloned at start, pushed commits and removals picked up by `promptstack.library.sync` and by
//! the refresh interval without a restart, a force-pushed remote followed, the lock pinning a
//! commit, an outage keeping the last revision with one message, a token never shown.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::git_remote::{self, Daemon, Remote};
use support::{Client, Sandbox, TIMEOUT, completion_labels, uri};

const REVIEW: &str =
    "---\ntitle: Team review\ndescription: The team's checklist\n---\nReview {{text:lang}} code.\n";
const OLD: &str = "---\ntitle: Old habit\n---\nDo it the old way.\n";
const FRESH: &str = "---\ntitle: Fresh idea\n---\nTry {{text:thing}}.\n";
const SKILL: &str =
    "---\nname: pdf-filler\ndescription: Fill PDF forms\n---\nFill the form for $ARGUMENTS.\n";

fn sources(entry: Value) -> String {
    json!([entry]).to_string()
}

/// The server with `sources` as `library.sources`, logging at `log`, and an open composition.
fn start(sandbox: &Sandbox, sources: &str, log: &str) -> (Client, String) {
    let mut client = Client::start(
        sandbox,
        &[
            ("PROMPTSTACK_LIBRARY_SOURCES", sources),
            ("PROMPTSTACK_LOG", log),
        ],
    );
    client.initialize(Value::Null, false);
    let doc = uri(&sandbox.workspace().join("draft.prompt.md"));
    client.open(&doc, "");
    (client, doc)
}

/// The params of the next `window/showMessage` containing `text`.
fn wait_message(client: &mut Client, text: &str) -> Value {
    client.wait_notification("window/showMessage", |p| {
        p["message"].as_str().is_some_and(|m| m.contains(text))
    })
}

fn sync(client: &mut Client, args: Value) -> Value {
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.library.sync", "arguments": [args]}),
        )
        .expect("sync answers")
}

/// Completion labels for `/query` in `doc` (a fresh version each call).
fn labels(client: &mut Client, doc: &str, version: i64, query: &str) -> Vec<String> {
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": version}, "contentChanges": [{"text": query}]}),
    );
    let answer = client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": query.len()}}),
        )
        .unwrap();
    completion_labels(&answer)
}

/// Waits until `/query` completes (or stops completing) `label`.
fn wait_offered(client: &mut Client, doc: &str, query: &str, label: &str, offered: bool) {
    let deadline = Instant::now() + TIMEOUT;
    let mut version = 100;
    loop {
        version += 1;
        let got = labels(client, doc, version, query);
        if got.iter().any(|l| l == label) == offered {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{label:?} offered={offered} never held; got {got:?}\nserver log:\n{}",
            client.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn file_remote_clones_syncs_removes_and_follows_a_force_push() {
    if !git_remote::available() {
        return;
    }
    let sandbox = Sandbox::new();
    let remote = Remote::new(
        sandbox.dir.path(),
        &[
            ("commands/review.md", REVIEW),
            ("commands/old.md", OLD),
            ("skills/pdf-filler/SKILL.md", SKILL),
            ("README.md", "# Our prompts\n"),
        ],
    );
    let entry = json!({"type": "git", "name": "team", "url": remote.file_url(), "refresh": 0});
    let (mut client, doc) = start(&sandbox, &sources(entry), "promptstack=debug");

    // Cloned at start (on-demand refresh still clones a missing checkout); library prompts and
    // agent files both join, named by the source.
    let item = support::completed(&mut client, &doc, 2, "/team review", "Team review");
    assert_eq!(item["detail"], "from team", "{item:#}");
    assert_eq!(item["textEdit"]["newText"], "Review ${1:lang} code.\n");
    wait_offered(&mut client, &doc, "/pdf", "pdf-filler", true);
    let checkout = sandbox.home().join("data/sources/team");
    let review = checkout.join("commands/review.md");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&review).unwrap().permissions().mode();
        assert_eq!(mode & 0o222, 0, "checked out read-only: {mode:o}");
    }
    let lock = std::fs::read_to_string(sandbox.home().join("data/sources.lock")).unwrap();
    assert!(lock.contains(&remote.head()), "{lock}");
    // Workspace symbols list it at its checked-out file.
    let symbols = client
        .request("workspace/symbol", json!({"query": "Team review"}))
        .unwrap();
    assert!(
        symbols
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "Team review" && s["location"]["uri"] == uri(&review)),
        "{symbols:#}"
    );

    // A pushed commit (one prompt added, one removed, one changed) appears after the command.
    let second = remote.commit(
        &[
            ("commands/fresh.md", FRESH),
            ("commands/review.md", &REVIEW.replace("Review", "Inspect")),
        ],
        &["commands/old.md"],
        "second",
    );
    let answer = sync(&mut client, json!({}));
    let report = &answer["sources"][0];
    assert_eq!(report["ok"], true, "{answer:#}");
    assert_eq!(report["commit"], second.as_str());
    assert_eq!(report["added"], json!(["team:commands/fresh"]));
    assert_eq!(report["updated"], json!(["team:commands/review"]));
    assert_eq!(report["removed"], json!(["team:commands/old"]));
    wait_offered(&mut client, &doc, "/fresh", "Fresh idea", true);
    wait_offered(&mut client, &doc, "/old habit", "Old habit", false);
    let progress = client.notifications("$/progress");
    assert!(
        progress
            .iter()
            .any(|p| p["value"]["title"] == "Syncing prompt sources"),
        "{progress:#?}"
    );

    // Saving a file of the source: told it is read-only and where to change it.
    client.notify(
        "textDocument/willSave",
        json!({"textDocument": {"uri": uri(&review)}, "reason": 1}),
    );
    let said = wait_message(&mut client, "read-only");
    let said = said["message"].as_str().unwrap();
    assert!(
        said.contains("`team`") && said.contains(&remote.file_url()),
        "{said}"
    );
    // createPrompt never writes into it.
    let refused = support::create_prompt_refused(&mut client, "team");
    assert!(refused.contains("is read-only"), "{refused}");

    // A force-pushed remote: the checkout follows the new history (fetch + reset, no merge).
    let rewritten = remote.force_push(&[(
        "commands/rewritten.md",
        "---\ntitle: Rewritten\n---\nNew.\n",
    )]);
    let answer = sync(&mut client, json!({"name": "team"}));
    let report = &answer["sources"][0];
    assert_eq!(report["ok"], true, "{answer:#}");
    assert_eq!(report["commit"], rewritten.as_str());
    assert_eq!(report["added"], json!(["team:commands/rewritten"]));
    assert_eq!(
        report["removed"],
        json!([
            "team:commands/fresh",
            "team:commands/review",
            "team:skills/pdf-filler/SKILL"
        ])
    );
    wait_offered(&mut client, &doc, "/rewritten", "Rewritten", true);
    wait_offered(&mut client, &doc, "/team review", "Team review", false);

    // An unknown source name is a clear error.
    let unknown = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.library.sync", "arguments": [{"name": "nope"}]}),
        )
        .expect_err("no such source");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("no git prompt source is named `nope`"),
        "{unknown}"
    );
    client.shutdown();
}

#[test]
fn daemon_remote_refreshes_on_its_interval_and_an_outage_is_told_once() {
    if !git_remote::available() || !git_remote::daemon_available() {
        return;
    }
    let sandbox = Sandbox::new();
    let remote = Remote::new(sandbox.dir.path(), &[("commands/review.md", REVIEW)]);
    let mut daemon = Daemon::start(sandbox.dir.path());
    let entry =
        json!({"type": "git", "name": "team", "url": daemon.url("remote.git"), "refresh": "1s"});
    let (mut client, doc) = start(&sandbox, &sources(entry), "promptstack=debug");
    support::completed(&mut client, &doc, 2, "/team review", "Team review");

    // Pushed to the daemon's repository: picked up by the refresh, no command, no restart.
    remote.commit(&[("commands/fresh.md", FRESH)], &[], "second");
    wait_offered(&mut client, &doc, "/fresh", "Fresh idea", true);

    // The daemon goes away: the last revision keeps serving, and the user hears it once over
    // several refreshes.
    daemon.stop();
    let said = wait_message(&mut client, "prompt source `team`");
    assert!(
        said["message"]
            .as_str()
            .unwrap()
            .contains("last synced prompts stay offered"),
        "{said:#}"
    );
    std::thread::sleep(Duration::from_secs(3));
    wait_offered(&mut client, &doc, "/fresh", "Fresh idea", true);
    let told = support::shown_messages(&client.seen)
        .into_iter()
        .filter(|m| m.contains("prompt source `team`"))
        .count();
    // `wait_notification` took the first one; none came after it.
    assert_eq!(told, 0, "one message per outage");
    client.shutdown();
}

#[test]
fn cli_sync_reports_changes_and_locked_keeps_the_recorded_commit() {
    if !git_remote::available() {
        return;
    }
    let sandbox = Sandbox::new();
    let remote = Remote::new(sandbox.dir.path(), &[("commands/review.md", REVIEW)]);
    let first = remote.head();
    let entry = sources(json!({"type": "git", "name": "team", "url": remote.file_url()}));
    let env = [("PROMPTSTACK_LIBRARY_SOURCES", entry.as_str())];

    let (code, out, err) = sandbox.cli_with(&["library", "sync"], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("team: checked out"), "{out}");
    assert!(out.contains("+ team:commands/review"), "{out}");

    remote.commit(&[("commands/fresh.md", FRESH)], &[], "second");
    // --locked: back to (and staying at) the recorded commit.
    let (code, out, err) = sandbox.cli_with(&["library", "sync", "team", "--locked"], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("(unchanged)"), "{out}");
    let (_, list, _) = sandbox.cli_with(&["library", "list"], &env);
    assert!(!list.contains("team:commands/fresh"), "{list}");
    let lock = std::fs::read_to_string(sandbox.home().join("data/sources.lock")).unwrap();
    assert!(lock.contains(&first), "{lock}");

    let (code, out, err) = sandbox.cli_with(&["library", "sync", "--format", "json"], &env);
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report[0]["added"],
        json!(["team:commands/fresh"]),
        "{report:#}"
    );
    assert_eq!(report[0]["commit"], remote.head().as_str());
    let (_, list, _) = sandbox.cli_with(&["library", "list"], &env);
    assert!(list.contains("team:commands/fresh"), "{list}");

    // A ref the remote does not have: exit 2, one clear line, the checkout still serves.
    let bad = sources(
        json!({"type": "git", "name": "team", "url": remote.file_url(), "ref": "no-such-branch"}),
    );
    let (code, out, err) = sandbox.cli_with(
        &["library", "sync"],
        &[("PROMPTSTACK_LIBRARY_SOURCES", &bad)],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("has no ref `no-such-branch`"), "{out}");
    let (_, list, _) = sandbox.cli_with(&["library", "list"], &env);
    assert!(list.contains("team:commands/fresh"), "{list}");

    // A remote whose HEAD names no branch: the message says to set `ref`.
    git_remote::git(&remote.bare, &["symbolic-ref", "HEAD", "refs/heads/nobody"]);
    let (code, out, err) = sandbox.cli_with(&["library", "sync"], &env);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("set `ref` to a branch"), "{out}");
    git_remote::git(&remote.bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);

    // A corrupt checkout is replaced by a fresh clone.
    std::fs::write(
        sandbox.home().join("data/sources/team/.git/HEAD"),
        "garbage",
    )
    .unwrap();
    let (code, out, err) = sandbox.cli_with(&["library", "sync"], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("team: checked out"), "{out}");
}

#[test]
fn a_token_in_the_url_never_reaches_output_or_logs() {
    if !git_remote::available() {
        return;
    }
    let sandbox = Sandbox::new();
    let port = git_remote::refusing_http_server();
    let url = format!("http://user:s3cr3t-token@127.0.0.1:{port}/team/prompts.git");
    let entry = sources(json!({"type": "git", "name": "team", "url": url}));
    let (code, out, err) = sandbox.cli_with(
        &["library", "sync"],
        &[
            ("PROMPTSTACK_LIBRARY_SOURCES", entry.as_str()),
            ("PROMPTSTACK_LOG", "trace"),
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("refused the credentials"), "{out}");
    assert!(out.contains("user:****@127.0.0.1"), "{out}");
    assert!(
        !out.contains("s3cr3t-token") && !err.contains("s3cr3t-token"),
        "{out}{err}"
    );
    assert!(!sandbox.home().join("data/sources.lock").exists());

    // The server: trace logs and the outage message hold no token either.
    let (mut client, _) = start(&sandbox, &entry, "trace");
    let said = wait_message(&mut client, "prompt source `team`");
    assert!(!said.to_string().contains("s3cr3t-token"), "{said}");
    let log = client.wait_for_log("prompt source `team`");
    assert!(!log.contains("s3cr3t-token"), "token in the log");
    client.shutdown();
}
