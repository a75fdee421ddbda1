//! `textDocument/codeAction` and `codeAction/resolve`: `Review with AI` on every composition;
//! `Apply: <title>` and `Dismiss` over a suggestion; `Fill placeholder` and `Convert list
//! placeholder to bullets` on a placeholder (see `placeholder_actions`).
//!
//! Apply follows the client: with `codeAction/resolve` support the edit is produced lazily in
//! resolve; without it the action carries a command that produces the edit and sends it with
//! `workspace/applyEdit`. A suggestion counts as accepted only when its edit is applied: the
//! document turns into the edit's result, or the client runs the action's command (which LSP
//! clients do after applying the edit) — never on a resolve, which editors also do to preview.

use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use super::ai_review::{self, DISMISS, REVIEW, failed, line_span, rpc_error, uri_arg};
use super::placeholder_actions;
use crate::ai::contract::{line_count, validate_edits};
use crate::ai::{AiError, Suggestion, SuggestionKind, resolve_edits};
use crate::document::DocumentKind;
use crate::events::DomainEvent;
use crate::library::snippet::to_plain_text;
use crate::lsp::convert::{IndexedText, not_open, uri_to_path, workspace_edit};
use crate::lsp::state::ServerState;
use crate::lsp::work::{Snapshot, on_document};

/// Produces a suggestion's edit and sends it with `workspace/applyEdit` (clients that cannot
/// resolve code actions).
pub const APPLY: &str = "promptstack.ai.apply";
/// Run by the client after it applied an `Apply` action's edit: records the acceptance.
pub const ACCEPTED: &str = "promptstack.ai.accepted";

/// What an `Apply` action carries until it is resolved (and its command's argument).
#[derive(Debug, Serialize, Deserialize)]
struct ApplyData {
    uri: String,
    id: String,
    version: i32,
}

pub fn capability() -> CodeActionProviderCapability {
    CodeActionProviderCapability::Options(CodeActionOptions {
        code_action_kinds: Some(vec![
            CodeActionKind::QUICKFIX,
            CodeActionKind::REFACTOR,
            CodeActionKind::REFACTOR_REWRITE,
        ]),
        resolve_provider: Some(true),
        work_done_progress_options: Default::default(),
    })
}

/// Whether the client asked for actions of `kind` (all when it did not say).
pub fn wanted(only: Option<&Vec<CodeActionKind>>, kind: &CodeActionKind) -> bool {
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
    let lazy = state.features().resolve_code_action_edit;
    let mut actions = Vec::new();
    for suggestion in state.ai.current(uri, version) {
        let span = line_span(text, &suggestion);
        if !intersects(&span, &range) || !wanted(only, &CodeActionKind::QUICKFIX) {
            continue;
        }
        let diagnostic = ai_review::to_diagnostic(indexed, &suggestion);
        let target = ApplyData {
            uri: uri.as_str().to_string(),
            id: suggestion.id.clone(),
            version,
        };
        let title = format!("Apply: {}", suggestion.title);
        let apply = if lazy {
            CodeAction {
                command: Some(Command {
                    title: title.clone(),
                    command: ACCEPTED.into(),
                    arguments: Some(vec![json!({ "uri": uri.as_str(), "id": suggestion.id })]),
                }),
                data: Some(json!(target)),
                ..Default::default()
            }
        } else {
            CodeAction {
                command: Some(Command {
                    title: title.clone(),
                    command: APPLY.into(),
                    arguments: Some(vec![json!(target)]),
                }),
                ..Default::default()
            }
        };
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title,
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diagnostic.clone()]),
            ..apply
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
    actions.extend(placeholder_actions::actions(
        state, uri, indexed, version, &range, only,
    ));
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
/// future lives in this handler's future). Not an acceptance: editors resolve to preview.
pub async fn resolve(state: &Arc<ServerState>, mut action: CodeAction) -> Result<CodeAction> {
    let Some(data) = action
        .data
        .clone()
        .and_then(|d| serde_json::from_value::<ApplyData>(d).ok())
    else {
        return Ok(action);
    };
    let (uri, edit) = suggestion_edit(state, &data).await?;
    action.edit = Some(edit);
    tracing::debug!(uri = uri.as_str(), id = data.id, "resolved an Apply action");
    Ok(action)
}

/// `promptstack.ai.apply` `{uri, id, version}`: the edit of a suggestion, sent to the client
/// with `workspace/applyEdit`; accepted when the client applies it.
pub async fn apply(state: &Arc<ServerState>, args: Value) -> Result<Value> {
    let data: ApplyData = serde_json::from_value(args).map_err(|_| {
        Error::invalid_params("expected `{ \"uri\": ..., \"id\": ..., \"version\": ... }`")
    })?;
    if !state.features().apply_edit {
        return Err(failed(
            "this editor cannot apply edits from the server (no `workspace/applyEdit`); \
             use an editor that resolves code actions, or apply the suggestion by hand",
        ));
    }
    let (uri, edit) = suggestion_edit(state, &data).await?;
    let answer = state
        .client
        .apply_edit(edit)
        .await
        .map_err(|e| failed(format!("the editor did not apply the edit: {}", e.message)))?;
    if answer.applied {
        accept(state, &uri, &data.id);
    } else {
        // Refused: do not count it if the same text turns up later by other means.
        state.ai.take_acceptance(&uri, &data.id);
    }
    Ok(json!({ "applied": answer.applied, "reason": answer.failure_reason }))
}

/// `promptstack.ai.accepted` `{uri, id}`: the client applied an `Apply` action's edit.
pub fn accepted(state: &ServerState, args: &Value) -> Result<Value> {
    let uri = uri_arg(args)?;
    let id = args
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid_params("expected `{ \"uri\": ..., \"id\": ... }`"))?;
    Ok(json!({ "accepted": accept(state, &uri, id) }))
}

/// Records the acceptance of the pending suggestion `id` once; whether there was one.
fn accept(state: &ServerState, uri: &Uri, id: &str) -> bool {
    let Some(suggestion) = state.ai.take_acceptance(uri, id) else {
        return false;
    };
    publish_acceptance(state, uri, &suggestion);
    true
}

/// After a change: the suggestions whose edits the document now shows are accepted. Copies the
/// text only while an edit handed out may still arrive.
pub fn note_applied_edits(state: &ServerState, uri: &Uri) {
    let Some(version) = state.read_documents().get(uri).map(|d| d.version) else {
        return;
    };
    if !state.ai.awaits_acceptance(uri, version) {
        return;
    }
    let Some((text, _, _)) = state.snapshot(uri) else {
        return;
    };
    for suggestion in state.ai.accepted_by_text(uri, &text) {
        publish_acceptance(state, uri, &suggestion);
    }
}

/// The audit trail of an applied suggestion; an applied recommendation also counts as a use of
/// its library prompt (usage ranking, and find-references after the next save).
fn publish_acceptance(state: &ServerState, uri: &Uri, suggestion: &Suggestion) {
    state.events.publish(DomainEvent::SuggestionAccepted {
        suggestion_id: suggestion.id.clone(),
        kind: suggestion.kind.as_str().to_string(),
        document: uri_to_path(uri),
    });
    if let (SuggestionKind::Recommendation, Some(prompt_id)) =
        (suggestion.kind, suggestion.prompt_id.as_deref())
    {
        // The edit may already have counted as a completed prompt's insertion.
        let uncounted = state
            .uses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .command_ran(uri.as_str(), prompt_id);
        if uncounted {
            super::commands::record_prompt_use(state, prompt_id, Some(uri));
        }
    }
}

/// The edit of one suggestion against the document version it was reviewed at, in the form the
/// client understands; remembered as pending until the client applies it.
async fn suggestion_edit(
    state: &Arc<ServerState>,
    data: &ApplyData,
) -> Result<(Uri, WorkspaceEdit)> {
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
    state
        .ai
        .expect_acceptance(&uri, version, suggestion, &applied(&text, &edits));
    let indexed = IndexedText::new(&text, state.encoding());
    let text_edits = edits
        .iter()
        .map(|(range, new_text)| TextEdit {
            range: indexed.range(range),
            new_text: new_text.clone(),
        })
        .collect();
    let edit = workspace_edit(&state.features(), uri.clone(), version, text_edits);
    Ok((uri, edit))
}

/// `text` after non-overlapping byte-range edits.
fn applied(text: &str, edits: &[(Range<usize>, String)]) -> String {
    let mut sorted: Vec<&(Range<usize>, String)> = edits.iter().collect();
    sorted.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, new_text) in sorted {
        out.push_str(&text[at..range.start.max(at)]);
        out.push_str(new_text);
        at = range.end.max(at);
    }
    out.push_str(&text[at..]);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_whatever_their_order() {
        let edits = vec![
            (4..5, "Z".to_string()),
            (0..1, "X".to_string()),
            (2..2, "+".into()),
        ];
        assert_eq!(applied("x\ny\nz", &edits), "X\n+y\nZ");
        assert_eq!(applied("abc", &[]), "abc");
    }
}
