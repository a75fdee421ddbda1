//! End-to-end, team history on a real PostgreSQL server: two servers with two homes share one
//! database and see each other's saves (search, workspace symbols, named authors); the database
//! stopped mid-session and started again loses no save; `storage copy` is idempotent; a backend
//! not supported yet still keeps the history files; passwords never show.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::pg::{Cluster, fresh_database, skip};
use support::team_outage::saves_survive_an_outage;
use support::{Client, Incoming, Sandbox, TIMEOUT, history_files, uri};

/// A server on `sandbox` saving to the team database at `url` as `author`.
fn team_server(sandbox: &Sandbox, url: &str, author: &str) -> Client {
    let mut client = Client::start(
        sandbox,
        &[
            ("PROMPTSTACK_STORAGE", "postgres"),
            ("PROMPTSTACK_POSTGRES_URL", url),
            ("PROMPTSTACK_AUTHOR", author),
        ],
    );
    client.initialize(Value::Null, false);
    client
}

/// Messages shown with `window/showMessage` so far.
fn shown(client: &Client) -> Vec<String> {
    client
        .seen
        .iter()
        .filter_map(|m| match m {
            Incoming::Notification { method, params } if method == "window/showMessage" => {
                params["message"].as_str().map(str::to_string)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn two_servers_share_one_team_history() {
    let url = match fresh_database() {
        Ok(url) => url,
        Err(reason) => return skip(&reason),
    };
    let (home_a, home_b) = (Sandbox::new(), Sandbox::new());
    let mut alice = team_server(&home_a, &url, "alice");
    let mut bob = team_server(&home_b, &url, "bob");
    let a_doc = uri(&home_a.workspace().join("launch.prompt.md"));
    let b_doc = uri(&home_b.workspace().join("review.prompt.md"));
    alice.open(&a_doc, "");
    bob.open(&b_doc, "");
    alice.save(&a_doc, 2, "# Launch\nAlice drafts the aardvark launch.\n");
    bob.save(&b_doc, 2, "# Review\nBob reviews the aardvark pricing.\n");

    // Each sees both, each naming its author.
    for client in [&mut alice, &mut bob] {
        let results = client.history_search_until("aardvark", |r| r.len() == 2);
        let mut authors: Vec<&str> = results
            .iter()
            .filter_map(|r| r["author"].as_str())
            .collect();
        authors.sort();
        assert_eq!(authors, ["alice", "bob"], "{results:#?}");
    }
    let results = alice.history_search_until("pricing", |r| r.len() == 1);
    assert_eq!(results[0]["author"], "bob");
    assert_eq!(results[0]["title"], "Review");
    // Bob's composition opens on Alice's machine: a local copy of it.
    let copy = support::uri_path(results[0]["uri"].as_str().unwrap());
    assert!(
        copy.starts_with(home_a.home().join("data/team")),
        "{}",
        copy.display()
    );
    let text = std::fs::read_to_string(&copy).unwrap();
    assert!(
        text.ends_with("Bob reviews the aardvark pricing.\n"),
        "{text}"
    );
    let opened = alice
        .history_command(
            "promptstack.history.open",
            json!({ "id": results[0]["id"] }),
        )
        .unwrap();
    assert_eq!(opened["uri"], results[0]["uri"]);

    // Filters by author: "me", a name.
    let mine = alice
        .history_command(
            "promptstack.history.search",
            json!({ "query": "aardvark", "author": "me" }),
        )
        .unwrap();
    assert_eq!(mine["results"].as_array().unwrap().len(), 1);
    assert_eq!(mine["results"][0]["author"], "alice");
    let bobs = alice
        .history_command(
            "promptstack.history.search",
            json!({ "query": "aardvark", "author": "bob" }),
        )
        .unwrap();
    assert_eq!(bobs["results"][0]["author"], "bob");

    // Workspace symbols: the team's compositions in the picker, named by author.
    let symbols = alice
        .request("workspace/symbol", json!({ "query": "pricing" }))
        .unwrap();
    let entry = symbols
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Review")
        .unwrap_or_else(|| panic!("bob's composition in alice's symbols: {symbols:#}"));
    assert!(
        entry["containerName"].as_str().unwrap().contains("bob"),
        "{entry}"
    );
    assert_eq!(entry["location"]["uri"], results[0]["uri"]);

    // Each history directory keeps only its own files.
    assert_eq!(history_files(&home_a).len(), 1);
    assert_eq!(history_files(&home_b).len(), 1);
    // Cleanup removes only the caller's own compositions.
    let dry = bob
        .history_command("promptstack.history.cleanup", json!({ "all": true }))
        .unwrap();
    assert_eq!(dry["count"], 1, "{dry}");
    bob.history_command(
        "promptstack.history.cleanup",
        json!({ "all": true, "confirm": dry["token"] }),
    )
    .unwrap();
    bob.history_search_until("aardvark", |r| r.len() == 1 && r[0]["author"] == "alice");
    alice.shutdown();
    bob.shutdown();
}

#[test]
fn the_database_stopped_mid_session_loses_no_save() {
    let mut cluster = match Cluster::start() {
        Ok(cluster) => cluster,
        Err(reason) => return skip(&reason),
    };
    let url = cluster.database();
    let home = Sandbox::new();
    let mut client = team_server(&home, &url, "alice");
    saves_survive_an_outage(&mut client, &home, &mut cluster);
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let versions: Vec<String> = db
        .query(
            "SELECT content FROM composition_versions ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        versions,
        [
            "first draft of the quokka plan\n",
            "second draft of the quokka plan\n",
            "third draft of the quokka plan, final\n"
        ]
    );
    // Generic clients also get each command's result as a message; the save warning itself is
    // what must not repeat.
    let again = shown(&client)
        .iter()
        .filter(|m| m.contains("unreachable") && !m.contains("history.search failed"))
        .count();
    assert_eq!(again, 0, "said once, not per save: {:#?}", shown(&client));
    client.shutdown();
}

/// The counts table `storage copy` ends with: one line per side.
fn counts(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("sqlite") || l.starts_with("postgres"))
        .map(str::to_string)
        .collect()
}

#[test]
fn storage_copy_is_idempotent_both_ways() {
    let url = match fresh_database() {
        Ok(url) => url,
        Err(reason) => return skip(&reason),
    };
    let home = Sandbox::new();
    // A local SQLite history: two compositions, one saved twice, a placeholder value.
    let mut client = Client::start(&home, &[]);
    client.initialize(Value::Null, false);
    let doc = uri(&home.workspace().join("a.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "Use {{text:lang}} for the yak parser\n");
    client.save(&doc, 3, "Use {{text:lang}} for the yak parser, faster\n");
    let other = uri(&home.workspace().join("b.prompt.md"));
    client.open(&other, "");
    client.save(&other, 2, "another yak\n");
    client.history_search_until("yak", |r| r.len() == 2);
    client
        .history_command(
            "promptstack.render",
            json!({ "uri": doc, "values": { "lang": "Rust" } }),
        )
        .unwrap();
    client.shutdown();

    let copy = |args: &[&str]| {
        let (code, stdout, stderr) = home.cli(args);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        stdout
    };
    let first = copy(&["storage", "copy", "--to", "postgres", "--url", &url]);
    assert!(
        first.contains("Copied 2 compositions: 2 added, 0 updated, 3 versions"),
        "{first}"
    );
    let lines = counts(&first);
    assert_eq!(lines.len(), 2, "{first}");
    let fields = |line: &str| {
        line.split_whitespace()
            .skip(1)
            .take(5)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(fields(&lines[0]), ["2", "3", "0", "0", "1"], "{first}");
    assert_eq!(fields(&lines[0]), fields(&lines[1]), "{first}");
    let second = copy(&["storage", "copy", "--to", "postgres", "--url", &url]);
    assert!(
        second.contains(
            "0 added, 0 updated, 0 versions, 0 prompt uses and 0 placeholder values added"
        ),
        "{second}"
    );
    assert_eq!(counts(&second), lines, "the same counts again");

    // Back the other way, into a lost local database: everything returns.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(home.home().join(format!("data/history.db{suffix}")));
    }
    let back = copy(&[
        "storage", "copy", "--from", "postgres", "--to", "sqlite", "--url", &url,
    ]);
    let back_lines = counts(&back);
    assert_eq!(fields(&back_lines[0]), ["2", "3", "0", "0", "1"], "{back}");
    assert_eq!(fields(&back_lines[1]), ["2", "3", "0", "0", "1"], "{back}");
    let twice = history_files(&home)
        .into_iter()
        .find(|f| std::fs::read_to_string(f).unwrap().contains("faster"))
        .unwrap();
    let id = twice.file_stem().unwrap().to_string_lossy().into_owned();
    let (code, stdout, stderr) = home.cli(&["history", "show", &id]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("versions:  2"),
        "both versions came back:\n{stdout}"
    );
}

#[test]
fn an_unsupported_backend_is_refused_and_files_are_still_written() {
    let home = Sandbox::new();
    // Neo4j is not supported yet (the graph backend runs on FalkorDB).
    let graph = [
        ("PROMPTSTACK_STORAGE", "graph"),
        (
            "PROMPTSTACK_NEO4J_URL",
            "bolt://neo:s3cret-neo@127.0.0.1:7687",
        ),
    ];
    let (code, _, stderr) = home.cli_with(&["config", "check"], &graph);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Neo4j is not supported yet") && !stderr.contains("s3cret-neo"),
        "{stderr}"
    );
    // `init` refuses a graph backend it has no FalkorDB address for.
    let (code, _, stderr) = home.cli(&["init", "--defaults", "--storage", "graph"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("storage.graph_url") && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert!(!home.home().join("config.yaml").exists());
    let (code, _, stderr) =
        home.cli_with(&["config", "check"], &[("PROMPTSTACK_STORAGE", "postgres")]);
    assert_eq!(code, 1);
    assert!(stderr.contains("storage.postgres_url"), "{stderr}");

    let mut client = Client::start(&home, &graph);
    client.initialize(Value::Null, false);
    let message = client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("not supported yet"))
    });
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("still written"),
        "{message}"
    );
    let doc = uri(&home.workspace().join("kept.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "kept even without an index\n");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let files = history_files(&home);
        if let Some(file) = files.first()
            && std::fs::read_to_string(file)
                .unwrap()
                .ends_with("kept even without an index\n")
        {
            break;
        }
        assert!(Instant::now() < deadline, "history file never written");
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = client
        .history_command("promptstack.history.search", json!({ "query": "kept" }))
        .unwrap_err();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("history search is off"),
        "{err}"
    );
    // Said once at start (the message waited for above), not again per save or search.
    let again = shown(&client);
    assert!(
        !again
            .iter()
            .any(|m| m.contains("not supported yet") && !m.contains("history.search failed")),
        "{again:#?}"
    );
    client.shutdown();
}

#[test]
fn the_database_password_never_shows() {
    // A server nothing listens on: every attempt fails, with the URL's password nowhere.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://alice:hunter2-Secret@127.0.0.1:{port}/team?sslmode=disable");
    let home = Sandbox::new();
    let env = [
        ("PROMPTSTACK_STORAGE", "postgres"),
        ("PROMPTSTACK_POSTGRES_URL", url.as_str()),
    ];
    let (code, stdout, stderr) = home.cli_with(&["config"], &env);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("postgres://alice:****@127.0.0.1"),
        "{stdout}"
    );
    for args in [
        &["history", "search", "x"][..],
        &["migrate", "status"],
        &["storage", "copy", "--to", "postgres"],
    ] {
        let (code, stdout, stderr) = home.cli_with(args, &env);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("unreachable") || stderr.contains("connect"),
            "{args:?}: {stderr}"
        );
        assert!(
            !format!("{stdout}{stderr}").contains("hunter2"),
            "{args:?}: {stderr}"
        );
    }
    let mut client = Client::start(&home, &env);
    client.initialize(Value::Null, false);
    let doc = uri(&home.workspace().join("p.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "text\n");
    client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("unreachable"))
    });
    let err = client
        .history_command("promptstack.history.search", json!({ "query": "text" }))
        .unwrap_err();
    let everything = format!("{err}{:?}{}", client.seen, client.stderr.lock().unwrap());
    assert!(
        !everything.contains("hunter2"),
        "the password leaked:\n{everything}"
    );
    client.shutdown();
    drop(stderr);
}
