//! Protocol fuzzing over the real binary's stdio: random and mutated JSON-RPC framing and
//! bodies, random params, random documents (see support/fuzz.rs) and random incremental edits
//! (ranges that split surrogate pairs and CRLFs), then every request at random positions. After
//! every batch a sentinel request must be answered: no exit, no hang; and no panic may reach
//! stderr. The run starts with the big inputs of issue 16 (100,000 placeholders, a 10 MB line).
//!
//! Inputs: `PROMPTSTACK_FUZZ_CASES` (default 20,000; the long run in docs/reliability.md used
//! 1,000,000, in a release build).

mod support;

use std::time::Instant;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use support::fuzz::{cases, text};
use support::{Client, Sandbox, uri};

/// Inputs between two sentinel requests.
const BATCH: usize = 25;

/// Requests sent with random positions and params (never `shutdown`/`exit`, which end the
/// server as they should, nor commands that write files).
const REQUESTS: &[&str] = &[
    "textDocument/semanticTokens/full",
    "textDocument/semanticTokens/range",
    "textDocument/documentSymbol",
    "textDocument/foldingRange",
    "textDocument/documentLink",
    "textDocument/codeLens",
    "textDocument/codeAction",
    "codeAction/resolve",
    "textDocument/hover",
    "textDocument/completion",
    "completionItem/resolve",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/prepareRename",
    "textDocument/rename",
    "workspace/symbol",
    "initialize",
    "promptstack/unknown",
];

/// Documents the fuzzer edits; the sentinel's document is not among them.
fn doc_uri(sandbox: &Sandbox, n: usize) -> String {
    uri(&sandbox.workspace().join(format!("f{n}.prompt.md")))
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn position() -> impl Strategy<Value = Value> {
    (0u32..40, 0u32..200)
        .prop_map(|(line, character)| json!({"line": line, "character": character}))
}

/// Any JSON: scalars (huge and fractional numbers included), arrays, objects, some deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A well-formed message: a request with params that are right or random, or a document
/// notification.
fn message(docs: Vec<String>) -> impl Strategy<Value = Value> {
    let doc = proptest::sample::select(docs);
    let request = (
        proptest::sample::select(REQUESTS),
        doc.clone(),
        position(),
        position(),
        any_json(),
        any::<bool>(),
        1i64..1_000_000,
    )
        .prop_map(|(method, doc, a, b, random, well_formed, id)| {
            let params = if well_formed {
                json!({"textDocument": {"uri": doc}, "position": a, "range": {"start": a, "end": b},
                       "newName": "n", "query": "x", "context": {"diagnostics": [], "includeDeclaration": true},
                       "label": "x", "data": {"prompt": "x"}})
            } else {
                random
            };
            json!({"jsonrpc": "2.0", "id": id + 10_000, "method": method, "params": params})
        });
    let open = (doc.clone(), text(), any::<i32>()).prop_map(|(doc, text, version)| {
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
            {"uri": doc, "languageId": "markdown", "version": version, "text": text}}})
    });
    let change = (
        doc.clone(),
        proptest::collection::vec((position(), position(), text(), any::<bool>()), 1..4),
    )
        .prop_map(|(doc, edits)| {
            let changes: Vec<Value> = edits
                .into_iter()
                .map(|(a, b, text, full)| {
                    if full {
                        json!({"text": text})
                    } else {
                        json!({"range": {"start": a, "end": b}, "text": text})
                    }
                })
                .collect();
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params":
                {"textDocument": {"uri": doc, "version": 1}, "contentChanges": changes}})
        });
    let other = (
        doc,
        prop_oneof![
            Just("textDocument/didClose"),
            Just("textDocument/didSave"),
            Just("$/cancelRequest"),
            Just("$/setTrace"),
        ],
        any_json(),
    )
        .prop_map(|(doc, method, random)| {
            let params = match method {
                "$/cancelRequest" => json!({"id": random}),
                _ => json!({"textDocument": {"uri": doc}, "text": random}),
            };
            json!({"jsonrpc": "2.0", "method": method, "params": params})
        });
    prop_oneof![4 => request, 3 => change, 2 => open, 1 => other]
}

/// Bytes on the wire: a framed message, a framed random body, a mutated frame, or noise.
fn input(docs: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let framed = message(docs.clone()).prop_map(|m| frame(m.to_string().as_bytes()));
    let random_body = any_json().prop_map(|v| frame(v.to_string().as_bytes()));
    let mutated =
        (message(docs), 0usize..9, any::<usize>(), any::<u8>()).prop_map(|(m, how, at, byte)| {
            let body = m.to_string().into_bytes();
            let at = at % body.len().max(1);
            let chars = String::from_utf8_lossy(&body).chars().count();
            let headed = |length: String, body: &[u8]| {
                let mut out = format!("Content-Length: {length}\r\n\r\n").into_bytes();
                out.extend_from_slice(body);
                out
            };
            match how {
                0 => {
                    let mut body = body;
                    body[at] = byte;
                    frame(&body)
                }
                1 => {
                    let mut body = body;
                    body.remove(at);
                    frame(&body)
                }
                2 => {
                    let mut body = body;
                    body.insert(at, byte);
                    frame(&body)
                }
                3 => headed(chars.to_string(), &body),
                4 => headed((body.len() + 1 + byte as usize % 3).to_string(), &body),
                5 => headed(
                    body.len().saturating_sub(1 + byte as usize % 3).to_string(),
                    &body,
                ),
                6 => headed(format!("-{}", body.len()), &body),
                7 => {
                    let mut out = format!("Content-Length {}\r\n\r\n", body.len()).into_bytes();
                    out.extend_from_slice(&body);
                    out
                }
                _ => {
                    let mut out = vec![byte; 1 + at % 5];
                    out.extend(frame(&body));
                    out
                }
            }
        });
    let noise = proptest::collection::vec(any::<u8>(), 0..48);
    prop_oneof![5 => framed, 2 => random_body, 3 => mutated, 1 => noise]
}

struct Fuzzer {
    client: Client,
    sentinel: String,
    inputs: usize,
    /// How much of the server's stderr has been searched for panics.
    stderr_checked: usize,
}

impl Fuzzer {
    fn start(sandbox: &Sandbox) -> Fuzzer {
        let mut client = Client::start(sandbox, &[("PROMPTSTACK_LOG", "promptstack=error")]);
        client.initialize(Value::Null, false);
        let sentinel = uri(&sandbox.workspace().join("sentinel.prompt.md"));
        client.open(&sentinel, "# Sentinel\n{{text:x}}\n");
        Fuzzer {
            client,
            sentinel,
            inputs: 0,
            stderr_checked: 0,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.client.send_raw(bytes);
        self.inputs += 1;
    }

    /// The server is alive and answers; `recent` describes the inputs since the last check.
    fn check(&mut self, recent: &[Vec<u8>]) {
        // Line breaks complete a frame announced a few bytes too long (and are skipped
        // between frames), so the sentinel is read as its own message.
        self.client.send_raw(&b"\r\n".repeat(64));
        let shown = || {
            recent
                .iter()
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
                .collect::<Vec<_>>()
                .join("\n---\n")
        };
        assert!(
            self.client.alive(),
            "the server exited after input {}; the last inputs:\n{}",
            self.inputs,
            shown()
        );
        let answer = self.client.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": self.sentinel}}),
        );
        assert_eq!(
            answer.as_ref().ok().and_then(|a| a[0]["name"].as_str()),
            Some("Sentinel"),
            "after input {}: {answer:?}; the last inputs:\n{}",
            self.inputs,
            shown()
        );
        // Notifications pile up otherwise.
        self.client.seen.clear();
        // Only what the server wrote since the last check.
        let stderr = self.client.stderr.lock().expect("stderr");
        let new = &stderr[self.stderr_checked..];
        assert!(
            !new.contains("panicked"),
            "a panic after input {}:\n{new}\nthe last inputs:\n{}",
            self.inputs,
            shown()
        );
        self.stderr_checked = stderr.len();
    }
}

#[test]
fn fuzzed_protocol_input_never_kills_hangs_or_panics_the_server() {
    let sandbox = Sandbox::new();
    let mut fuzzer = Fuzzer::start(&sandbox);
    let docs: Vec<String> = (0..4).map(|n| doc_uri(&sandbox, n)).collect();
    let started = Instant::now();
    // The big ones first: 100,000 placeholders and a 10 MB line, then requests on them.
    for (n, big) in [
        "{{text:a}} ".repeat(100_000),
        format!("{}{{{{text:", "x".repeat(10 * 1024 * 1024)),
    ]
    .iter()
    .enumerate()
    {
        let open = json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
            {"uri": docs[n], "languageId": "markdown", "version": 1, "text": big}}});
        fuzzer.send(&frame(open.to_string().as_bytes()));
    }
    let mut runner = TestRunner::deterministic();
    let strategy = input(docs);
    let total = cases(20_000) as usize;
    let mut recent = Vec::with_capacity(BATCH);
    for _ in 0..total {
        let bytes = strategy
            .new_tree(&mut runner)
            .expect("generate an input")
            .current();
        fuzzer.send(&bytes);
        recent.push(bytes);
        if recent.len() == BATCH {
            fuzzer.check(&recent);
            recent.clear();
        }
    }
    fuzzer.check(&recent);
    eprintln!(
        "fuzz: {} inputs in {:.1} s; no exit, no hang, no panic",
        fuzzer.inputs,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(fuzzer.client.shutdown(), Some(0));
}
