//! Open, change, save and close: keeps the server's copy of each document current.

use std::time::Duration;

use tower_lsp_server::ls_types::*;

use super::diagnostics;
use crate::document::{Document, LineCol, TextEdit};
use crate::lsp::state::ServerState;

/// Typing pauses shorter than this do not trigger a diagnostics run.
const DIAGNOSTICS_DEBOUNCE: Duration = Duration::from_millis(150);

pub async fn did_open(state: &std::sync::Arc<ServerState>, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    let kind = state.classify(&doc.uri);
    state
        .write_documents()
        .insert(doc.uri.clone(), Document::new(&doc.text, doc.version, kind));
    diagnostics::schedule(state, doc.uri, Duration::ZERO);
}

pub async fn did_change(state: &std::sync::Arc<ServerState>, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    notice_prompt_use(state, &uri, &params.content_changes);
    let encoding = state.encoding();
    let problem = {
        let mut documents = state.write_documents();
        let Some(doc) = documents.get_mut(&uri) else {
            drop(documents);
            tracing::warn!(uri = uri.as_str(), "change for a document that is not open");
            return;
        };
        let mut problem = None;
        for change in params.content_changes {
            let range = match change.range {
                None => None,
                Some(r) => {
                    let start = doc.offset_of(
                        LineCol {
                            line: r.start.line,
                            col: r.start.character,
                        },
                        encoding,
                    );
                    let end = doc.offset_of(
                        LineCol {
                            line: r.end.line,
                            col: r.end.character,
                        },
                        encoding,
                    );
                    match (start, end) {
                        (Ok(s), Ok(e)) if s <= e => Some(s..e),
                        (Err(e), _) | (_, Err(e)) => {
                            problem = Some(e.to_string());
                            break;
                        }
                        _ => {
                            problem = Some("change range ends before it starts".to_string());
                            break;
                        }
                    }
                }
            };
            doc.apply(&TextEdit {
                range,
                text: change.text,
            });
        }
        doc.version = params.text_document.version;
        problem
    };
    if let Some(problem) = problem {
        // The copies have diverged; say so rather than silently computing on wrong text.
        state
            .client
            .show_message(
                MessageType::ERROR,
                format!(
                    "PromptStack lost track of {}: {problem}. Close and reopen the file.",
                    uri.as_str()
                ),
            )
            .await;
    }
    // An edit handed out for an AI suggestion counts as accepted once the text shows it.
    super::code_actions::note_applied_edits(state, &uri);
    diagnostics::schedule(state, uri, DIAGNOSTICS_DEBOUNCE);
}

/// Counts a use when an edit inserts the body of a prompt completion just offered (for editors
/// that do not run the item's `promptstack.promptUsed` command).
fn notice_prompt_use(state: &ServerState, uri: &Uri, changes: &[TextDocumentContentChangeEvent]) {
    let noticed = {
        let mut uses = state.uses.lock().unwrap_or_else(|p| p.into_inner());
        if !uses.has_offers(uri.as_str()) {
            return;
        }
        changes
            .iter()
            .filter(|c| !c.text.is_empty())
            .find_map(|c| uses.inserted(uri.as_str(), &c.text))
    };
    if let Some(prompt_id) = noticed {
        tracing::debug!(prompt_id, "prompt use noticed in an edit");
        super::commands::record_prompt_use(state, &prompt_id, Some(uri));
    }
}

pub async fn did_save(state: &std::sync::Arc<ServerState>, params: DidSaveTextDocumentParams) {
    let uri = params.text_document.uri;
    if let Some(text) = params.text {
        // The saved text is authoritative (it also repairs any divergence).
        if let Some(doc) = state.write_documents().get_mut(&uri) {
            doc.apply(&TextEdit { range: None, text });
        }
    }
    super::history::did_save(state, &uri);
    diagnostics::schedule(state, uri, Duration::ZERO);
}

pub async fn did_close(state: &std::sync::Arc<ServerState>, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    state.forget(&uri);
    state
        .client
        .publish_diagnostics(uri, Vec::new(), None)
        .await;
}
