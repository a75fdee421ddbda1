//! Every request kind on a 5 MB composition (one line, many lines) and a 5 MB Claude Code command
//! full of every placeholder dialect (one line), through the real binary
//! over stdio (UTF-16 positions, the default): p50/p99/max per kind. Target: ≤ 100 ms each.
//!
//! Run: `cargo bench --bench documents` (size: `PROMPTSTACK_BENCH_DOC_MB=5`, requests per kind:
//! `PROMPTSTACK_BENCH_REPEAT=20`).

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use common::{FILLER, Rng, percentile};
use promptstack::document::{ColumnEncoding, LineIndex};
use serde_json::{Value, json};
use support::{Client, Sandbox, uri};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Prompt-like text of `bytes` bytes: words (some non-ASCII), a placeholder every few dozen
/// words, a file link now and then; with `line_breaks`, ~80-column lines and a heading every
/// 40 lines.
fn document(bytes: usize, line_breaks: bool, rng: &mut Rng) -> String {
    let mut text = String::with_capacity(bytes + 100);
    let mut column = 0;
    let mut lines = 0;
    while text.len() < bytes {
        let piece = match rng.below(40) {
            0 => format!("{{{{text:{}}}}}", rng.pick(FILLER)),
            1 => format!("{{{{list:{}_items}}}}", rng.pick(FILLER)),
            2 => "[the brief](notes/brief.md)".to_string(),
            3 => "café".to_string(),
            4 => "naïve—résumé".to_string(),
            // The agent-file dialects: placeholders in a Claude Code command, text elsewhere.
            5 => format!("${{input:{}:a hint}}", rng.pick(FILLER)),
            6 => "$ARGUMENTS[1] $2".to_string(),
            7 => format!("{{{{ {} }}}}", rng.pick(FILLER)),
            _ => rng.pick(FILLER).to_string(),
        };
        text.push_str(&piece);
        column += piece.len() + 1;
        if line_breaks && column > 80 {
            text.push('\n');
            column = 0;
            lines += 1;
            if lines % 40 == 0 {
                text.push_str(&format!("## Section {lines}\n"));
            }
        } else {
            text.push(' ');
        }
    }
    text
}

/// A random position in `text` (UTF-16), at the start of a character.
fn position(text: &str, index: &LineIndex, rng: &mut Rng) -> Value {
    let mut offset = rng.below(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let pos = index.position(text, offset, ColumnEncoding::Utf16);
    json!({"line": pos.line, "character": pos.col})
}

struct Row {
    shape: &'static str,
    kind: String,
    samples: Vec<Duration>,
    /// Bytes of the last answer.
    answer: usize,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Benchmarks every request on a document of `shape`, opened at `file` under the workspace
/// (`.claude/commands/...` makes it a Claude Code command, with every dialect).
fn bench_shape(shape: &'static str, file: &str, line_breaks: bool, rows: &mut Vec<Row>) {
    let megabytes = env_usize("PROMPTSTACK_BENCH_DOC_MB", 5);
    let repeat = env_usize("PROMPTSTACK_BENCH_REPEAT", 20);
    let mut rng = Rng(0x5eed_0000 + line_breaks as u64);
    let text = document(megabytes * 1024 * 1024, line_breaks, &mut rng);
    let index = LineIndex::new(&text);
    let sandbox = Sandbox::new();
    let mut client = Client::start(&sandbox, &[("PROMPTSTACK_LOG", "warn")]);
    client.initialize(Value::Null, false);
    let doc = uri(&sandbox.workspace().join(file));
    let started = Instant::now();
    client.open(&doc, &text);
    client.wait_diagnostics(&doc, Some(1));
    rows.push(Row {
        shape,
        kind: "didOpen → diagnostics".into(),
        samples: vec![started.elapsed()],
        answer: 0,
    });
    let id = json!({ "uri": doc });
    let mut version = 1;
    let kinds: &[&str] = &[
        "textDocument/semanticTokens/full",
        "textDocument/semanticTokens/range",
        "textDocument/documentSymbol",
        "textDocument/foldingRange",
        "textDocument/documentLink",
        "textDocument/codeLens",
        "textDocument/codeAction",
        "textDocument/hover",
        "textDocument/completion",
        "textDocument/definition",
        "textDocument/prepareRename",
        "textDocument/rename",
        "textDocument/didChange → diagnostics",
    ];
    for kind in kinds {
        let mut row = Row {
            shape,
            kind: kind.to_string(),
            samples: Vec::new(),
            answer: 0,
        };
        for _ in 0..repeat {
            let at = position(&text, &index, &mut rng);
            let params = match *kind {
                "textDocument/semanticTokens/range" => {
                    let end = position(&text, &index, &mut rng);
                    let (start, end) = if (at["line"].as_u64(), at["character"].as_u64())
                        <= (end["line"].as_u64(), end["character"].as_u64())
                    {
                        (at.clone(), end)
                    } else {
                        (end, at.clone())
                    };
                    json!({"textDocument": id, "range": {"start": start, "end": end}})
                }
                "textDocument/codeAction" => json!({
                    "textDocument": id, "range": {"start": at, "end": at},
                    "context": {"diagnostics": []}
                }),
                "textDocument/rename" => {
                    json!({"textDocument": id, "position": at, "newName": "renamed"})
                }
                "textDocument/hover"
                | "textDocument/completion"
                | "textDocument/definition"
                | "textDocument/prepareRename" => json!({"textDocument": id, "position": at}),
                _ => json!({ "textDocument": id }),
            };
            let started = Instant::now();
            if kind.starts_with("textDocument/didChange") {
                // Insert a word at a random place, then wait for that version's diagnostics.
                version += 1;
                client.notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": doc, "version": version},
                        "contentChanges": [{"range": {"start": at, "end": at}, "text": "x"}]}),
                );
                client.wait_diagnostics(&doc, Some(version));
                // Diagnostics are debounced by 150 ms; the figure is what comes after it.
                row.samples
                    .push(started.elapsed().saturating_sub(Duration::from_millis(150)));
                continue;
            }
            let answer = client.request(kind, params);
            row.samples.push(started.elapsed());
            row.answer = match &answer {
                Ok(v) => v.to_string().len(),
                Err(e) => e.to_string().len(),
            };
        }
        rows.push(row);
    }
    assert!(client.alive(), "the server died during the {shape} bench");
    client.shutdown();
}

fn main() {
    let mut rows = Vec::new();
    bench_shape("one line", "one-line.prompt.md", false, &mut rows);
    bench_shape("many lines", "many-lines.prompt.md", true, &mut rows);
    bench_shape(
        "Claude command, one line",
        ".claude/commands/one-line.md",
        false,
        &mut rows,
    );
    println!("| document | request | samples | p50 | p99 | max | answer |");
    println!("|---|---|---|---|---|---|---|");
    for row in &mut rows {
        row.samples.sort();
        let max = row.samples.last().copied().unwrap_or_default();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} KB |",
            row.shape,
            row.kind,
            row.samples.len(),
            ms(percentile(&row.samples, 0.5)),
            ms(percentile(&row.samples, 0.99)),
            ms(max),
            row.answer / 1024
        );
    }
}
