//! Settings and the library in a running server, end to end over the real binary's stdio: a live
//! `paths.library_dir` change switches the whole library, each settings problem is shown once,
//! a migrated config file is announced once, and reindex progress climbs from 0.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::ai::wait_library_prompt;
use support::{Client, Sandbox, TIMEOUT, completion_labels, uri};

fn start(sandbox: &Sandbox, options: Value) -> Client {
    let mut client = Client::start(sandbox, &[]);
    client.initialize(options, false);
    client
}

fn command(client: &mut Client, name: &str, args: Value) -> Result<Value, Value> {
    client.request(
        "workspace/executeCommand",
        json!({"command": name, "arguments": [args]}),
    )
}

fn slash(client: &mut Client, doc: &str, query: &str) -> Vec<String> {
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": 2}, "contentChanges": [{"text": format!("/{query}")}]}),
    );
    completion_labels(
        &client
            .request(
                "textDocument/completion",
                json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": query.len() + 1}}),
            )
            .expect("completion"),
    )
}

/// Completes `/query` until `done` accepts the labels or time runs out; returns the last labels.
fn slash_until(
    client: &mut Client,
    doc: &str,
    query: &str,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let labels = slash(client, doc, query);
        if done(&labels) || Instant::now() > deadline {
            return labels;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn prompt(title: &str) -> String {
    format!("---\ntitle: {title}\ndescription: about {title}\ntags: [test]\n---\n{title} body.\n")
}

/// The `window/showMessage` texts seen so far.
fn messages(client: &Client) -> Vec<String> {
    client
        .notifications("window/showMessage")
        .iter()
        .filter_map(|params| params["message"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_live_library_dir_change_switches_the_whole_library() {
    let sandbox = Sandbox::new();
    let team = sandbox.dir.path().join("team-library");
    sandbox.write(
        &team.join("commands/zebra.md"),
        prompt("Zebra crossing").as_bytes(),
    );
    let mut client = start(&sandbox, Value::Null);
    let doc = uri(&sandbox.workspace().join("plan.prompt.md"));
    client.open(&doc, "");
    wait_library_prompt(&mut client, "Code review");
    assert!(!slash(&mut client, &doc, "zebra").contains(&"Zebra crossing".to_string()));

    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"promptstack": {"paths": {"library_dir": team}}}}),
    );
    // Completion uses the new library...
    let offered = slash_until(&mut client, &doc, "zebra", |l| {
        l.first().is_some_and(|t| t == "Zebra crossing")
    });
    assert_eq!(offered.first().map(String::as_str), Some("Zebra crossing"));
    // ...and only it: the starter prompts of the old one are gone.
    assert!(
        !slash(&mut client, &doc, "code review").contains(&"Code review".to_string()),
        "the old library still answers"
    );
    client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("now uses the prompt library in"))
    });
    // Reindex rebuilds the new one.
    let reindexed =
        command(&mut client, "promptstack.reindexLibrary", Value::Null).expect("reindex");
    assert_eq!(reindexed["prompts"], 1, "{reindexed}");
    // The new folder is watched: a file added there is offered.
    sandbox.write(&team.join("rules/yak.md"), prompt("Yak shaving").as_bytes());
    let offered = slash_until(&mut client, &doc, "yak", |l| {
        l.iter().any(|t| t == "Yak shaving")
    });
    assert!(offered.contains(&"Yak shaving".to_string()), "{offered:?}");
    // createPrompt writes into the new folder and the library offers it.
    let created = command(
        &mut client,
        "promptstack.createPrompt",
        json!({"title": "Walrus care", "category": "rules"}),
    )
    .expect("createPrompt");
    assert_eq!(created["uri"], uri(&team.join("rules/walrus-care.md")));
    let offered = slash_until(&mut client, &doc, "walrus", |l| {
        l.iter().any(|t| t == "Walrus care")
    });
    assert!(offered.contains(&"Walrus care".to_string()), "{offered:?}");
    // A use is counted once, not once per library the server has had open.
    command(
        &mut client,
        "promptstack.promptUsed",
        json!({"id": "commands/zebra"}),
    )
    .expect("promptUsed");
    client.shutdown();
    let usage: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.home().join("data/usage")).expect("usage file"),
    )
    .expect("usage JSON");
    assert_eq!(usage["prompts"]["commands/zebra"]["count"], 1, "{usage}");
}

/// Waits until the server has pulled the settings after `initialized` and applied them, then
/// gives its messages a moment to arrive.
fn settle(client: &mut Client) {
    let deadline = Instant::now() + TIMEOUT;
    while client.server_requests("workspace/configuration").is_empty() {
        assert!(Instant::now() < deadline, "settings were never pulled");
        let _ = client.request("workspace/symbol", json!({"query": ""}));
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = client.request("workspace/symbol", json!({"query": ""}));
}

#[test]
fn a_bad_editor_setting_is_shown_once() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox, json!({"ai": {"provider": "gemini"}}));
    settle(&mut client);
    let about: Vec<String> = messages(&client)
        .into_iter()
        .filter(|m| m.contains("ai.provider"))
        .collect();
    assert_eq!(about.len(), 1, "{about:#?}");
    assert!(
        about[0].contains("allowed: claude, openai, mcp"),
        "{about:?}"
    );
    client.shutdown();
}

#[test]
fn a_bad_config_file_value_is_shown_once() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.home().join("config.yaml"),
        b"version: 2\nstorage:\n  backend: mongo\n",
    );
    // Editor settings are applied on top, which re-checks the file's values too.
    let mut client = start(
        &sandbox,
        json!({"compositions": {"globs": ["**/*.prompt.md"]}}),
    );
    settle(&mut client);
    let about: Vec<String> = messages(&client)
        .into_iter()
        .filter(|m| m.contains("storage.backend"))
        .collect();
    assert_eq!(about.len(), 1, "{about:#?}");
    client.shutdown();
}

#[test]
fn a_migrated_config_file_is_announced_once_in_the_editor() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.home().join("config.yaml"),
        b"model: claude-3-haiku\nvim_mode: true\nversion: \"1.0\"\n",
    );
    let mut client = start(&sandbox, Value::Null);
    let note = client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("migrated"))
    });
    assert_eq!(note["type"], 3, "an information, not a warning: {note}");
    assert!(
        note["message"]
            .as_str()
            .unwrap()
            .contains("config.yaml.bak"),
        "{note}"
    );
    settle(&mut client);
    assert!(
        !messages(&client).iter().any(|m| m.contains("migrated")),
        "said twice"
    );
    client.shutdown();
    // The next start finds a current file and says nothing.
    let mut client = start(&sandbox, Value::Null);
    settle(&mut client);
    assert!(!messages(&client).iter().any(|m| m.contains("migrated")));
    client.shutdown();
}

#[test]
fn reindex_progress_climbs_from_zero() {
    let sandbox = Sandbox::new();
    for n in 0..18 {
        sandbox.write(
            &sandbox.library().join(format!("commands/p{n:02}.md")),
            prompt(&format!("Prompt {n:02}")).as_bytes(),
        );
    }
    let mut client = start(&sandbox, Value::Null);
    wait_library_prompt(&mut client, "Prompt 17");
    command(&mut client, "promptstack.reindexLibrary", Value::Null).expect("reindex");
    let begin = client.wait_notification("$/progress", |p| {
        p["value"]["kind"] == "begin" && p["value"]["title"] == "Reindexing prompt library"
    });
    let token = begin["token"].clone();
    client.wait_notification("$/progress", |p| {
        p["token"] == token && p["value"]["kind"] == "end"
    });
    assert_eq!(begin["value"]["percentage"], 0, "{begin}");
    assert_eq!(begin["value"]["message"], "0/36", "{begin}");
    let reports: Vec<u64> = client
        .notifications("$/progress")
        .iter()
        .filter(|p| p["token"] == token && p["value"]["kind"] == "report")
        .filter_map(|p| p["value"]["percentage"].as_u64())
        .collect();
    assert!(
        reports.windows(2).all(|w| w[0] <= w[1]),
        "not monotonic: {reports:?}"
    );
    assert!(
        reports.iter().any(|p| *p > 0 && *p < 50),
        "reading the files shows no progress: {reports:?}"
    );
    assert_eq!(reports.last(), Some(&100), "{reports:?}");
    client.shutdown();
}
