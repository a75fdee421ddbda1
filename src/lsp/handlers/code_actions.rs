//! `textDocument/codeAction` and `codeAction/resolve`: `Review with AI` on every composition;
//! `Apply: <title>` and `Dismiss` over a suggestion. Apply's edit is produced lazily in resolve,
//! as a versioned `WorkspaceEdit` the editor previews and refuses if the text moved on.

use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use super::ai_review::{self, DISMISS, REVIEW, failed, line_span, rpc_error};
use crate::ai::contract::{line_count, validate_edits};
use crate::ai::{AiError, Suggestion, SuggestionKind, resolve_edits};
use crate::document::DocumentKind;
use crate::events::DomainEvent;
use crate::library::snippet::to_plain_text;
use crate::lsp::convert::{IndexedText, not_open, uri_to_path};
use crate::lsp::state::ServerState;
use crate::lsp::work::{Snapshot, on_document};

/// What an `Apply` action carries until it is resolved.
#[derive(Debug, Serialize, Deserialize)]
struct ApplyData {
    uri: String,
    id: String,
    version: i32,
}

pub fn capability() -> CodeActionProviderCapability {
    CodeActionProviderCapability::Options(CodeActionOptions {
        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX, CodeActionKind::REFACTOR]),
        resolve_provider: Some(true),
        work_done_progress_options: Default::default(),
    })
}

fn wanted(only: Option<&Vec<CodeActionKind>>, kind: &CodeActionKind) -> bool {
    only.is_none_or(|only| {
        only.iter().any(|o| {
            kind.as_str() == o.as_str() || kind.as_str().starts_with(&format!("{}.", o.as_str()))
        })
    })
}

pub async fn code_action(
    state: &Arc<ServerState>,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>> {
    let uri = params.text_document.uri.clone();
    let session = state.clone();
    on_document(state, &uri, move |doc, _| actions(&session, doc, params)).await
}

fn actions(
    state: &ServerState,
    doc: &Snapshot<'_>,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>> {
    if doc.kind != DocumentKind::Composition {
        return Ok(None);
    }
    let (uri, version) = (&params.text_document.uri, doc.version);
    let (indexed, text) = (&doc.indexed, doc.text());
    let range = indexed.byte_range(params.range)?;
    let only = params.context.only.as_ref();
    let mut actions = Vec::new();
    for suggestion in state.ai.current(uri, version) {
        let span = line_span(text, &suggestion);
        if !intersects(&span, &range) {
            continue;
        }
        let diagnostic = ai_review::to_diagnostic(indexed, &suggestion);
        if wanted(only, &CodeActionKind::QUICKFIX) {
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Apply: {}", suggestion.title),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic.clone()]),
                data: Some(json!(ApplyData {
                    uri: uri.as_str().to_string(),
                    id: suggestion.id.clone(),
                    version,
                })),
                ..Default::default()
            }));
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Dismiss: {}", suggestion.title),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic]),
                command: Some(Command {
                    title: "Dismiss".into(),
                    command: DISMISS.into(),
                    arguments: Some(vec![json!({ "uri": uri.as_str(), "id": suggestion.id })]),
                }),
                ..Default::default()
            }));
        }
    }
    if wanted(only, &CodeActionKind::REFACTOR) {
        // Listing is cheap: the network is used only when the command runs.
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: "Review with AI".into(),
            kind: Some(CodeActionKind::REFACTOR),
            command: Some(Command {
                title: "Review with AI".into(),
                command: REVIEW.into(),
                arguments: Some(vec![json!({ "uri": uri.as_str() })]),
            }),
            ..Default::default()
        }));
    }
    Ok(Some(actions))
}

/// Inclusive at both ends, so a cursor at the end of a suggestion's line still counts.
fn intersects(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// Produces the edit of an `Apply` action. Cancelling the request drops the provider call (its
/// future lives in this handler's future).
pub async fn resolve(state: &Arc<ServerState>, mut action: CodeAction) -> Result<CodeAction> {
    let Some(data) = action
        .data
        .clone()
        .and_then(|d| serde_json::from_value::<ApplyData>(d).ok())
    else {
        return Ok(action);
    };
    let uri: Uri = data
        .uri
        .parse()
        .map_err(|_| Error::invalid_params(format!("`{}` is not a valid URI", data.uri)))?;
    let (text, version, _) = state.snapshot(&uri).ok_or_else(|| not_open(&uri))?;
    if version != data.version {
        return Err(stale());
    }
    let suggestion = state
        .ai
        .suggestion(&uri, version, &data.id)
        .ok_or_else(|| failed("this suggestion is no longer current; run Review with AI again"))?;
    let edits = if let (SuggestionKind::Recommendation, Some(prompt_id)) =
        (suggestion.kind, suggestion.prompt_id.as_deref())
    {
        recommendation_edit(state, &text, &suggestion, prompt_id)?
    } else {
        let provider = state
            .ai
            .provider(&state.config().config, &state.data_paths())
            .map_err(|e| rpc_error(&e))?;
        let answer = provider
            .apply(&text, &suggestion)
            .await
            .map_err(|e| rpc_error(&e))?;
        // Untrusted: validated again whatever the provider did.
        let edits =
            validate_edits(answer.value, line_count(&text) as u32).map_err(|e| rpc_error(&e))?;
        resolve_edits(&text, &edits)
    };
    // The user may have typed while the model was thinking.
    if state.snapshot(&uri).map(|(_, v, _)| v) != Some(version) {
        return Err(stale());
    }
    let indexed = IndexedText::new(&text, state.encoding());
    let text_edits = edits
        .iter()
        .map(|(range, new_text)| {
            OneOf::Left(TextEdit {
                range: indexed.range(range),
                new_text: new_text.clone(),
            })
        })
        .collect();
    action.edit = Some(WorkspaceEdit {
        document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier {
                uri: uri.clone(),
                version: Some(version),
            },
            edits: text_edits,
        }])),
        ..Default::default()
    });
    state.events.publish(DomainEvent::SuggestionAccepted {
        suggestion_id: suggestion.id.clone(),
        kind: suggestion.kind.as_str().to_string(),
        document: uri_to_path(&uri),
    });
    Ok(action)
}

fn stale() -> Error {
    rpc_error(&AiError::RejectedEdit(
        "the document changed since the review; run Review with AI again".into(),
    ))
}

/// A recommendation inserts the library prompt's body (plain text) before the suggestion's line.
fn recommendation_edit(
    state: &ServerState,
    text: &str,
    suggestion: &Suggestion,
    prompt_id: &str,
) -> Result<Vec<(Range<usize>, String)>> {
    let library = state
        .library()
        .ok_or_else(|| failed("the prompt library is still loading; try again in a moment"))?;
    let prompt = library.get(prompt_id).ok_or_else(|| {
        failed(format!(
            "the recommended prompt `{prompt_id}` is not in the library"
        ))
    })?;
    let mut body = to_plain_text(prompt.body.trim_start_matches(['\n', '\r']));
    if !body.ends_with('\n') {
        body.push('\n');
    }
    let at = line_span(text, suggestion).start;
    // Inserting at the very end of a text without a final newline starts a new line first.
    if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
        body.insert(0, '\n');
    }
    Ok(vec![(at..at, body)])
}
