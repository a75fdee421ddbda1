//! Showing command results in editors that do not show them.
//!
//! `workspace/executeCommand` answers go to the editor, and generic editors (Helix, Emacs
//! eglot) drop them: a search answers and the user sees nothing. For those clients the server
//! says what happened itself: a one-line `window/showMessage` for every command, an error
//! message when one fails, and results too long for a line (history search, cleanup preview,
//! rendered text, AI stats) as a Markdown document under `<data_dir>/command-results/`, opened
//! with `window/showDocument`. PromptStack's own editor plugins present results themselves and
//! say so at `initialize` (`experimental.promptstack.commandResults`), so they get none of this.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use super::ai_review;
use super::commands::*;
use crate::lsp::convert::path_to_uri;
use crate::lsp::state::ServerState;

/// Folder of result documents, inside the data directory.
const RESULTS_DIR: &str = "command-results";

/// What to tell the user about one command's outcome.
struct Announcement {
    kind: MessageType,
    message: String,
    /// A result document to write and open: (file name, Markdown text).
    document: Option<(&'static str, String)>,
}

/// Tells a client that does not show command results what `command` did.
pub async fn announce(state: &Arc<ServerState>, command: &str, outcome: &Result<Option<Value>>) {
    let announcement = match outcome {
        Ok(value) => {
            let value = value.clone().unwrap_or(Value::Null);
            describe(command, &value)
        }
        // The AI review reports its own failures (with a Retry action).
        Err(_) if command == ai_review::REVIEW => None,
        Err(e) => Some(failure(command, e)),
    };
    let Some(Announcement {
        kind,
        mut message,
        document,
    }) = announcement
    else {
        return;
    };
    if let Some((name, text)) = document {
        let dir = state.data_paths().data_dir.join(RESULTS_DIR);
        match write_result(dir, name, text).await {
            Ok(path) => {
                message.push_str(&format!(" (details: {})", path.display()));
                if let Some(uri) = path_to_uri(&path) {
                    super::create_prompt::show(state, uri);
                }
            }
            Err(e) => tracing::warn!("could not write the result of {command}: {e}"),
        }
    }
    state.client.show_message(kind, message).await;
}

fn failure(command: &str, error: &Error) -> Announcement {
    Announcement {
        kind: MessageType::ERROR,
        message: format!("PromptStack: {command} failed: {}", error.message),
        document: None,
    }
}

fn info(message: String) -> Option<Announcement> {
    Some(Announcement {
        kind: MessageType::INFO,
        message,
        document: None,
    })
}

fn count(value: &Value, key: &str) -> u64 {
    value.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The message (and document) for a successful command; `None` for commands with nothing to say.
fn describe(command: &str, value: &Value) -> Option<Announcement> {
    match command {
        VALIDATE_LIBRARY => Some(Announcement {
            kind: if count(value, "errors") > 0 {
                MessageType::WARNING
            } else {
                MessageType::INFO
            },
            message: format!(
                "PromptStack: {} (the findings are diagnostics of the library files)",
                text(value, "summary")
            ),
            document: None,
        }),
        REINDEX_LIBRARY => info(format!(
            "PromptStack: library indexed ({})",
            plural(count(value, "prompts"), "prompt", "prompts")
        )),
        LIBRARY_SYNC | super::publish::PUBLISH => {
            info(format!("PromptStack: {}", text(value, "message")))
        }
        CREATE_PROMPT | NEW_COMPOSITION | HISTORY_OPEN => {
            info(format!("PromptStack: opened {}", text(value, "uri")))
        }
        HISTORY_REBUILD => info(format!("PromptStack: {}", text(value, "summary"))),
        HISTORY_SEARCH => Some(search_results(value)),
        HISTORY_CLEANUP => Some(cleanup_outcome(value)),
        RENDER => Some(rendered(value)),
        ai_review::REVIEW => {
            let n = count(value, "suggestions");
            info(if n == 0 {
                "PromptStack AI: no suggestions".to_string()
            } else {
                format!(
                    "PromptStack AI: {}; they are diagnostics with code actions (Apply, Dismiss)",
                    plural(n, "suggestion", "suggestions")
                )
            })
        }
        ai_review::STATS => Some(Announcement {
            kind: MessageType::INFO,
            message: "PromptStack AI: call statistics".into(),
            document: Some((
                "ai-stats.md",
                format!(
                    "# PromptStack AI statistics\n\n```json\n{}\n```\n",
                    serde_json::to_string_pretty(value).unwrap_or_default()
                ),
            )),
        }),
        _ => None,
    }
}

fn search_results(value: &Value) -> Announcement {
    let results = value
        .get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut doc = String::from("# PromptStack history search\n\n");
    if results.is_empty() {
        doc.push_str("No saved composition matches.\n");
    }
    for r in &results {
        let file = r
            .get("uri")
            .and_then(Value::as_str)
            .and_then(|u| u.parse::<Uri>().ok())
            .and_then(|u| crate::lsp::convert::uri_to_path(&u));
        doc.push_str(&format!(
            "## {}\n\n- id: `{}`\n- saved: {}\n",
            text(r, "title"),
            r.get("id").map(plain).unwrap_or_default(),
            text(r, "updated_at"),
        ));
        if let Some(file) = file {
            doc.push_str(&format!("- file: {}\n", file.display()));
        }
        let snippet = text(r, "snippet").replace("**", "");
        let snippet = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
        if !snippet.is_empty() {
            doc.push_str(&format!("\n> {snippet}\n"));
        }
        doc.push('\n');
    }
    doc.push_str(
        "Open one with `:lsp-workspace-command promptstack.history.open {\"id\": \"<id>\"}`, \
         or go to its file.\n",
    );
    Announcement {
        kind: MessageType::INFO,
        message: format!(
            "PromptStack: {} in history",
            plural(results.len() as u64, "match", "matches")
        ),
        document: Some(("history-search.md", doc)),
    }
}

fn cleanup_outcome(value: &Value) -> Announcement {
    if let Some(message) = value.get("message").and_then(Value::as_str) {
        return Announcement {
            kind: MessageType::INFO,
            message: format!("PromptStack: {message}"),
            document: None,
        };
    }
    let n = count(value, "count");
    if n == 0 {
        return Announcement {
            kind: MessageType::INFO,
            message: "PromptStack: nothing to clean up".into(),
            document: None,
        };
    }
    let files: Vec<String> = value
        .get("files")
        .and_then(Value::as_array)
        .map(|f| f.iter().map(|p| format!("- {}\n", plain(p))).collect())
        .unwrap_or_default();
    let doc = format!(
        "# PromptStack history cleanup (dry run)\n\n{} would be deleted ({} bytes), \
         oldest {}, newest {}.\n\nTo delete them, run the same command again with \
         `\"confirm\": \"{}\"` added to its arguments.\n\n{}",
        plural(n, "composition", "compositions"),
        count(value, "bytes"),
        text(value, "oldest"),
        text(value, "newest"),
        text(value, "token"),
        files.concat(),
    );
    Announcement {
        kind: MessageType::WARNING,
        message: format!(
            "PromptStack: {} would be deleted; nothing is deleted until you confirm",
            plural(n, "composition", "compositions")
        ),
        document: Some(("history-cleanup.md", doc)),
    }
}

fn rendered(value: &Value) -> Announcement {
    let missing: Vec<String> = value
        .get("missing")
        .and_then(Value::as_array)
        .map(|m| m.iter().map(plain).collect())
        .unwrap_or_default();
    let message = if missing.is_empty() {
        "PromptStack: rendered prompt".to_string()
    } else {
        format!(
            "PromptStack: rendered; not filled (give them in \"values\"): {}",
            missing.join(", ")
        )
    };
    Announcement {
        kind: MessageType::INFO,
        message,
        document: Some(("rendered.md", text(value, "text").to_string())),
    }
}

/// A JSON value as text without quotes around strings.
fn plain(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// Writes `text` to `dir/name` atomically and returns the path. Blocking work off the loop.
async fn write_result(dir: PathBuf, name: &'static str, text: String) -> std::io::Result<PathBuf> {
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(name);
        crate::home::write_atomic(&path, text.as_bytes())?;
        Ok(path)
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(command: &str, value: Value) -> String {
        describe(command, &value)
            .map(|a| a.message)
            .unwrap_or_default()
    }

    #[test]
    fn summaries() {
        assert_eq!(
            message(REINDEX_LIBRARY, json!({"prompts": 1})),
            "PromptStack: library indexed (1 prompt)"
        );
        assert_eq!(
            message(ai_review::REVIEW, json!({"suggestions": 3})),
            "PromptStack AI: 3 suggestions; they are diagnostics with code actions (Apply, Dismiss)"
        );
        assert!(message(PROMPT_USED, Value::Null).is_empty());
        let search = describe(
            HISTORY_SEARCH,
            &json!({"results": [{"id": "2026-01-01_10-00-00", "title": "Plan", "snippet": "a **zebra** b", "uri": "file:///h/.history/2026-01-01_10-00-00.md", "updated_at": "2026-01-01T10:00:00Z"}]}),
        )
        .expect("search is announced");
        assert_eq!(search.message, "PromptStack: 1 match in history");
        let (name, doc) = search.document.expect("a result document");
        assert_eq!(name, "history-search.md");
        assert!(
            doc.contains("## Plan") && doc.contains("`2026-01-01_10-00-00`"),
            "{doc}"
        );
        assert!(doc.contains("> a zebra b"), "marks removed: {doc}");
        assert!(doc.contains("/h/.history/2026-01-01_10-00-00.md"), "{doc}");
        let cleanup = describe(
            HISTORY_CLEANUP,
            &json!({"count": 2, "bytes": 10, "files": ["/a", "/b"], "token": "t-1"}),
        )
        .expect("cleanup is announced");
        assert!(
            cleanup
                .document
                .expect("doc")
                .1
                .contains("\"confirm\": \"t-1\"")
        );
    }
}
