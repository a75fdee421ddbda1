//! End-to-end tests of the prompt library over the real binary's stdio: `/` completion with
//! snippets, placeholder completion, live updates, workspace symbols, usage, and the CLI.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, Sandbox, completion_items, completion_labels, poll, uri};

const FORECAST: &str = "---\ntitle: Quarterly budget forecast\ndescription: Forecast spending\ntags: [finance, planning]\n---\nForecast {{text:team}} costs in $USD for {{text:quarter}}.\nRisks:\n{{list:risks}}\nAgain for {{text:team}}: use 100% {braces}\\.\n";
const FORECAST_SNIPPET: &str = "Forecast ${1:team} costs in \\$USD for ${2:quarter}.\nRisks:\n- ${3:risks}\nAgain for ${1:team}: use 100% {braces\\}\\\\.\n";

fn start(sandbox: &Sandbox) -> Client {
    let mut client = Client::start(sandbox, &[]);
    client.initialize(Value::Null, false);
    client
}

fn symbol_names(answer: &Value) -> Vec<String> {
    answer
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Asks for completion at `line:character` of `doc` until `done` holds for the answer (the
/// library loads in the background); panics after 10 s.
fn completion_until(
    client: &mut Client,
    doc: &str,
    (line, character): (u32, u32),
    done: impl Fn(&Value) -> bool,
) -> Value {
    let params =
        json!({"textDocument": {"uri": doc}, "position": {"line": line, "character": character}});
    poll(
        client,
        "textDocument/completion",
        params,
        Duration::from_secs(10),
        done,
    )
}

#[test]
fn slash_completion_finds_typos_and_inserts_the_exact_snippet() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.library().join("workflows/forecast.md"),
        FORECAST.as_bytes(),
    );
    let mut client = start(&sandbox);
    let doc = uri(&sandbox.workspace().join("plan.prompt.md"));
    client.open(&doc, "# Plan\n/quartely budjet");
    let answer = completion_until(&mut client, &doc, (1, 16), |a| {
        completion_labels(a)
            .first()
            .is_some_and(|l| l == "Quarterly budget forecast")
    });
    assert_eq!(answer["isIncomplete"], true);
    let item = &completion_items(&answer)[0];
    assert_eq!(item["label"], "Quarterly budget forecast");
    assert_eq!(item["insertTextFormat"], 2, "snippet");
    assert_eq!(item["textEdit"]["newText"], FORECAST_SNIPPET);
    assert_eq!(
        item["textEdit"]["range"],
        json!({"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 16}})
    );
    assert_eq!(item["detail"], "workflows · finance, planning");
    assert_eq!(item["command"]["command"], "promptstack.promptUsed");

    let resolved = client
        .request("completionItem/resolve", item.clone())
        .unwrap();
    let doc_text = resolved["documentation"]["value"].as_str().unwrap();
    assert!(doc_text.starts_with("Forecast spending"), "{doc_text}");
    assert!(doc_text.contains("{{list:risks}}"));

    // Accepting runs the command: the use is recorded in data/usage.
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.promptUsed", "arguments": [{"id": "workflows/forecast"}]}),
        )
        .unwrap();
    let usage = sandbox.home().join("data/usage");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&usage).is_ok_and(|t| t.contains("workflows/forecast")) {
        assert!(Instant::now() < deadline, "usage not recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    client.shutdown();
}

#[test]
fn plain_text_clients_get_the_body_as_written() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.library().join("workflows/forecast.md"),
        FORECAST.as_bytes(),
    );
    let mut client = Client::start(&sandbox, &[]);
    // No snippet support: a client that only sends the bare minimum.
    client
        .request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        )
        .unwrap();
    client.notify("initialized", json!({}));
    let doc = uri(&sandbox.workspace().join("plan.prompt.md"));
    client.open(&doc, "/forecast");
    let answer = completion_until(&mut client, &doc, (0, 9), |a| {
        !completion_items(a).is_empty()
    });
    let item = &completion_items(&answer)[0];
    assert_eq!(item["insertTextFormat"], 1);
    assert_eq!(
        item["textEdit"]["newText"],
        FORECAST.split("---\n").nth(2).unwrap()
    );
    client.shutdown();
}

/// The `/review` answer from a library of 40 prompts titled "Review NN" with `body`.
fn review_answer(body: &str) -> Value {
    let sandbox = Sandbox::new();
    for n in 0..40 {
        sandbox.write(
            &sandbox.library().join(format!("commands/review-{n:02}.md")),
            format!("---\ntitle: Review {n:02}\n---\n{body}").as_bytes(),
        );
    }
    let mut client = start(&sandbox);
    let doc = uri(&sandbox.workspace().join("plan.prompt.md"));
    client.open(&doc, "/review");
    let answer = completion_until(&mut client, &doc, (0, 7), |a| {
        !completion_items(a).is_empty()
    });
    // A library this small is indexed in one commit: all or nothing.
    let listed = client
        .request("workspace/symbol", json!({"query": "review"}))
        .unwrap();
    assert_eq!(symbol_names(&listed).len(), 40, "all loaded");
    client.shutdown();
    answer
}

#[test]
fn completion_answers_stay_under_32_kb_best_items_first() {
    // Prompts of 3 KB: 25 items would make an 80 KB answer.
    let answer = review_answer(
        &"Check each change for correctness, naming and tests; say what breaks.\n".repeat(42),
    );
    let bytes = serde_json::to_vec(&answer).unwrap().len();
    assert!(bytes <= 32 * 1024, "{bytes} bytes");
    let items = completion_items(&answer);
    assert!((8..25).contains(&items.len()), "{} items", items.len());
    // The list is cut at its end: the best-ranked items are the ones sent.
    let ranks: Vec<&str> = items
        .iter()
        .map(|i| i["sortText"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..items.len()).map(|r| format!("{r:05}")).collect();
    assert_eq!(ranks, expected);
    assert_eq!(answer["isIncomplete"], true);
    // Short prompts: the full 25.
    assert_eq!(completion_items(&review_answer("Review it.\n")).len(), 25);
}

#[test]
fn placeholder_completion_offers_kinds_then_names() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.library().join("workflows/forecast.md"),
        FORECAST.as_bytes(),
    );
    let mut client = start(&sandbox);
    let doc = uri(&sandbox.workspace().join("p.prompt.md"));
    client.open(&doc, "Hi {{text:reader}}\n{{\n{{text:");
    let kinds = client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": doc}, "position": {"line": 1, "character": 2}}),
        )
        .unwrap();
    assert_eq!(completion_labels(&kinds), ["text:", "list:"]);
    let names = completion_until(&mut client, &doc, (2, 7), |a| {
        completion_labels(a).contains(&"quarter".to_string())
    });
    let names = completion_labels(&names);
    assert_eq!(names[0], "reader", "names in the document come first");
    assert!(names.contains(&"team".to_string()) && names.contains(&"quarter".to_string()));
    client.shutdown();
}

#[test]
fn added_prompts_appear_within_a_second_and_deleted_ones_disappear() {
    let sandbox = Sandbox::new();
    let mut client = start(&sandbox);
    // Wait until the (starter) library is loaded.
    poll(
        &mut client,
        "workspace/symbol",
        json!({"query": "review"}),
        Duration::from_secs(10),
        |a| !symbol_names(a).is_empty(),
    );
    let path = sandbox.write(
        &sandbox.library().join("commands/zebra.md"),
        b"---\ntitle: Zebra crossing\ntags: [road]\n---\nCross.\n",
    );
    let written = Instant::now();
    let found = poll(
        &mut client,
        "workspace/symbol",
        json!({"query": "zebra"}),
        Duration::from_secs(1),
        |a| symbol_names(a) == ["Zebra crossing"],
    );
    assert_eq!(
        symbol_names(&found),
        ["Zebra crossing"],
        "not offered within {:?}",
        written.elapsed()
    );
    assert!(
        found[0]["location"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("commands/zebra.md")
    );
    std::fs::remove_file(&path).unwrap();
    let gone = poll(
        &mut client,
        "workspace/symbol",
        json!({"query": "zebra"}),
        Duration::from_secs(1),
        |a| symbol_names(a).is_empty(),
    );
    assert!(symbol_names(&gone).is_empty());
    client.shutdown();
}

#[test]
fn cli_lists_searches_reindexes_and_counts() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.library().join("workflows/forecast.md"),
        FORECAST.as_bytes(),
    );
    let (code, out, err) = sandbox.cli(&["library", "search", "budjet"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines().next().unwrap().contains("workflows/forecast"),
        "{out}"
    );
    let (code, out, _) = sandbox.cli(&["library", "search", "--format", "json", "zzzzqqq"]);
    assert_eq!((code, out.trim()), (1, "[]"));
    let (code, out, _) = sandbox.cli(&["library", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("workflows/forecast  Quarterly budget forecast  [finance, planning]"));
    sandbox.write(&sandbox.library().join("rules/binary.md"), b"\xff\xfe");
    let (code, out, _) = sandbox.cli(&["library", "reindex"]);
    assert_eq!(code, 0);
    assert!(out.contains("skipped files:     1"), "{out}");
    assert!(out.contains("binary.md: not UTF-8 text"), "{out}");
    let (code, out, _) = sandbox.cli(&["library", "stats", "--format", "json"]);
    assert_eq!(code, 0);
    let stats: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats["prompts"], stats["indexed"]);
}

#[test]
fn reindex_command_rebuilds_and_reports_the_count() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.library().join("workflows/forecast.md"),
        FORECAST.as_bytes(),
    );
    let mut client = start(&sandbox);
    poll(
        &mut client,
        "workspace/symbol",
        json!({"query": "forecast"}),
        Duration::from_secs(10),
        |a| !symbol_names(a).is_empty(),
    );
    let result = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.reindexLibrary", "arguments": []}),
        )
        .unwrap();
    let listed = std::fs::read_dir(sandbox.library())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|d| std::fs::read_dir(d.path()).unwrap().count())
        .sum::<usize>();
    assert_eq!(result["prompts"].as_u64().unwrap() as usize, listed);
    let bad = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.promptUsed", "arguments": ["no-object"]}),
        )
        .unwrap_err();
    assert_eq!(bad["code"], -32602);
    client.shutdown();
}

#[test]
fn frontmatter_keys_and_library_tags_are_completed_in_library_files() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.library().join("commands/forecast.md"),
        FORECAST.as_bytes(),
    );
    let mut client = start(&sandbox);
    let path = sandbox.library().join("commands/new.md");
    let uri = uri(&path);
    client.open(&uri, "---\ntitle: New\nd\ntags: [finance, pl\n---\nbody\n");

    let keys = client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 1}}),
        )
        .unwrap();
    // `title` and `tags` are already there; `description` is offered as `description: `.
    assert_eq!(completion_labels(&keys), vec!["description"]);
    assert_eq!(
        completion_items(&keys)[0]["textEdit"]["newText"],
        "description: "
    );

    // Tags used across the library, minus those already on the line; the typed word is replaced.
    let tags = poll(
        &mut client,
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 3, "character": 17}}),
        Duration::from_secs(10),
        |a| completion_labels(a).contains(&"planning".to_string()),
    );
    let labels = completion_labels(&tags);
    assert!(labels.contains(&"planning".to_string()), "{labels:?}");
    assert!(
        !labels.contains(&"finance".to_string()),
        "already written: {labels:?}"
    );
    let planning = completion_items(&tags)
        .into_iter()
        .find(|i| i["label"] == "planning")
        .unwrap();
    assert_eq!(
        planning["textEdit"]["range"]["start"],
        json!({"line": 3, "character": 16})
    );
    assert_eq!(planning["textEdit"]["newText"], "planning");
    client.shutdown();
}
