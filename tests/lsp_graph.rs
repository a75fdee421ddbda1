//! End-to-end, the graph history on a real FalkorDB server (`storage.backend: graph`): saves are
//! searchable, `promptstack.history.related` answers from the graph (and the CLI's `history
//! related` the same), and the server stopped mid-session loses no save.

mod support;

use serde_json::{Value, json};
use support::falkor::{Server, skip};
use support::team_outage::saves_survive_an_outage;
use support::{Client, Sandbox, uri};

/// The environment of a promptstack on graph `name` of `server`.
fn graph_env(url: &str, name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PROMPTSTACK_STORAGE", "graph".to_string()),
        ("PROMPTSTACK_GRAPH_URL", url.to_string()),
        ("PROMPTSTACK_GRAPH_NAME", name.to_string()),
        ("PROMPTSTACK_AUTHOR", "alice".to_string()),
    ]
}

fn graph_server(home: &Sandbox, env: &[(&'static str, String)]) -> Client {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut client = Client::start(home, &env);
    client.initialize(Value::Null, false);
    client
}

#[test]
fn saves_search_and_related_compositions_on_the_graph() {
    let server = match support::falkor::shared() {
        Ok(server) => server,
        Err(reason) => return skip(&reason),
    };
    let env = graph_env(&server.url(), &server.graph());
    let home = Sandbox::new();
    let mut client = graph_server(&home, &env);
    let docs = [
        (
            "plan",
            "---\ntags: [otter, launch]\n---\n# Plan\nThe otter launch plan.\n",
        ),
        (
            "review",
            "---\ntags: [otter]\n---\n# Review\nReview the otter launch.\n",
        ),
        ("notes", "# Notes\nUnrelated notes about walruses.\n"),
    ];
    for (name, text) in docs {
        let doc = uri(&home.workspace().join(format!("{name}.prompt.md")));
        client.open(&doc, "");
        client.save(&doc, 2, text);
    }
    let results = client.history_search_until("otter", |r| r.len() == 2);
    let titles: Vec<&str> = results.iter().filter_map(|r| r["title"].as_str()).collect();
    assert!(
        titles.contains(&"Plan") && titles.contains(&"Review"),
        "{results:?}"
    );
    let snippet = results[0]["snippet"].as_str().unwrap_or_default();
    assert!(snippet.contains("**otter**"), "{snippet}");
    let walrus = client.history_search_until("walrus", |r| r.len() == 1);
    assert_eq!(walrus[0]["title"], "Notes");

    // Related to the plan (by the open file): the review shares a tag and the workspace (2 + 1),
    // the notes only the workspace (1).
    let plan = uri(&home.workspace().join("plan.prompt.md"));
    let related = client
        .history_command("promptstack.history.related", json!({ "uri": plan }))
        .expect("related");
    assert_eq!(related["title"], "Plan", "{related}");
    let found: Vec<(String, u64, u64, bool)> = related["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["title"].as_str().unwrap().to_string(),
                r["score"].as_u64().unwrap(),
                r["shared_tags"].as_u64().unwrap(),
                r["same_workspace"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("Review".to_string(), 3, 1, true),
            ("Notes".to_string(), 1, 0, true)
        ]
    );
    let review_uri = related["results"][0]["uri"].as_str().unwrap();
    assert!(review_uri.ends_with(".md"), "{review_uri}");
    let err = client
        .history_command("promptstack.history.related", json!({ "id": "no-such" }))
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("no-such"),
        "{err}"
    );
    client.shutdown();

    // The CLI answers the same from the graph.
    let id = related["id"].as_str().unwrap().to_string();
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, stdout, stderr) = home.cli_with(&["history", "related", &id], &env_ref);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].trim_start().starts_with("3 ") && lines[0].contains("Review"),
        "{stdout}"
    );
    assert!(lines[0].contains("shares 1 tags, workspace"), "{stdout}");
    let (code, _, stderr) = home.cli_with(&["history", "related", "no-such"], &env_ref);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn the_graph_server_stopped_mid_session_loses_no_save() {
    let mut server = match Server::start() {
        Ok(server) => server,
        Err(reason) => return skip(&reason),
    };
    let env = graph_env(&server.url(), "outage");
    let home = Sandbox::new();
    let mut client = graph_server(&home, &env);
    let file = saves_survive_an_outage(&mut client, &home, &mut server);
    client.shutdown();
    let id = file.file_stem().unwrap().to_string_lossy().into_owned();
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, stdout, stderr) = home.cli_with(&["history", "show", &id], &env_ref);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("versions:  3"),
        "every save kept:\n{stdout}"
    );
}

#[test]
fn storage_copy_to_the_graph_and_back_is_idempotent() {
    let server = match support::falkor::shared() {
        Ok(server) => server,
        Err(reason) => return skip(&reason),
    };
    let (url, name) = (server.url(), server.graph());
    let home = Sandbox::new();
    // A local SQLite history: one composition saved twice.
    let mut client = Client::start(&home, &[]);
    client.initialize(Value::Null, false);
    let doc = uri(&home.workspace().join("a.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "the yak parser\n");
    client.save(&doc, 3, "the yak parser, faster\n");
    client.history_search_until("yak", |r| r.len() == 1);
    client.shutdown();

    let env = [("PROMPTSTACK_GRAPH_NAME", name.as_str())];
    let copy = |args: &[&str]| {
        let (code, stdout, stderr) = home.cli_with(args, &env);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        stdout
    };
    let first = copy(&["storage", "copy", "--to", "graph", "--url", &url]);
    assert!(
        first.contains("Copied 1 compositions: 1 added, 0 updated, 2 versions"),
        "{first}"
    );
    let again = copy(&["storage", "copy", "--to", "graph", "--url", &url]);
    assert!(
        again.contains("1 compositions: 0 added, 0 updated, 0 versions"),
        "{again}"
    );
    let graph_line = again.lines().find(|l| l.starts_with("graph")).unwrap();
    let counts: Vec<&str> = graph_line.split_whitespace().skip(1).take(2).collect();
    assert_eq!(counts, ["1", "2"], "{again}");
    // Into a lost local database: both versions come back from the graph.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(home.home().join(format!("data/history.db{suffix}")));
    }
    let back = copy(&[
        "storage", "copy", "--from", "graph", "--to", "sqlite", "--url", &url,
    ]);
    assert!(back.contains("1 added, 0 updated, 2 versions"), "{back}");
}
