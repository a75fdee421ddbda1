//! `promptstack.ai.review`, `.ai.dismiss` and `.ai.stats`: runs a review with `$/progress` and
//! publishes its suggestions as diagnostics (source `promptstack-ai`).

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::*;

use super::diagnostics;
use crate::ai::{
    AiError, CandidatePrompt, ContextSelector, LineEdit, ReviewRequest, ScoringSelector,
    Suggestion, SuggestionKind, TokenCounter, context_budget, linked_ids, resolve_edits,
};
use crate::document::{DocumentKind, MAX_FILE_BYTES};
use crate::history::related::paired_counts;
use crate::lsp::ai_session::Review;
use crate::lsp::convert::{IndexedText, not_open};
use crate::lsp::state::ServerState;

pub const REVIEW: &str = "promptstack.ai.review";
pub const DISMISS: &str = "promptstack.ai.dismiss";
pub const STATS: &str = "promptstack.ai.stats";

/// The source of AI suggestion diagnostics.
pub const SOURCE: &str = "promptstack-ai";

/// LSP's `RequestFailed`: the request was valid but the work failed.
const REQUEST_FAILED: i64 = -32803;

/// The `uri` argument of a command.
pub fn uri_arg(args: &Value) -> Result<Uri> {
    let uri = args
        .get("uri")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid_params("expected `{ \"uri\": \"<document uri>\" }`"))?;
    uri.parse()
        .map_err(|_| Error::invalid_params(format!("`{uri}` is not a valid URI")))
}

/// A JSON-RPC error carrying an AI error's message (never a key: `AiError` holds none).
pub fn rpc_error(error: &AiError) -> Error {
    Error {
        code: match error {
            AiError::Cancelled => ErrorCode::RequestCancelled,
            _ => ErrorCode::ServerError(REQUEST_FAILED),
        },
        message: redacted_message(error).into(),
        data: None,
    }
}

/// What the user is told about an AI error. Provider messages are already scrubbed; this also
/// catches a secret echoed anywhere else.
fn redacted_message(error: &AiError) -> String {
    let message = format!("PromptStack AI: {error}");
    crate::logging::secrets::redact(&message).into_owned()
}

/// A `RequestFailed` error with `message`.
pub fn failed(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::ServerError(REQUEST_FAILED),
        message: message.into().into(),
        data: None,
    }
}

/// `promptstack.ai.review`: a review the user asked for goes to the model even when the cache
/// has an answer for the same text (they want a second opinion). Boxed, so the retry action can
/// start it again; a retry may be answered from the cache.
pub fn review(
    state: Arc<ServerState>,
    args: Value,
    fresh: bool,
) -> Pin<Box<dyn Future<Output = Result<Value>> + Send>> {
    Box::pin(async move { review_inner(&state, args, fresh).await })
}

async fn review_inner(state: &Arc<ServerState>, args: Value, fresh: bool) -> Result<Value> {
    let uri = uri_arg(&args)?;
    let (text, version, kind) = state.snapshot(&uri).ok_or_else(|| not_open(&uri))?;
    if kind != DocumentKind::Composition {
        return Err(Error::invalid_params(format!(
            "{} is not a composition; AI review works on compositions (by default `*.composition.md` and `*.prompt.md`)",
            uri.as_str()
        )));
    }
    if text.len() > MAX_FILE_BYTES {
        return Err(failed(
            "this composition is larger than 1 MB; AI review skips it",
        ));
    }
    let config = state.config();
    let paths = state.data_paths();
    let provider = match state.ai.provider(&config.config, &paths) {
        Ok(p) => p,
        Err(e) => {
            report(state, &args, &e);
            return Err(rpc_error(&e));
        }
    };
    let progress = begin_progress(state, "Reviewing with AI").await;
    let candidates = candidates(state);
    let (context_percent, response_percent) = (
        config.config.context_budget_percent,
        config.config.response_budget_percent,
    );
    let composition = text.clone();
    let keywords = state.ai.keywords();
    let history = state.history.get().and_then(|h| h.repo().ok());
    // The review runs as its own task so that closing the document or a newer review can abort
    // it (dropping the HTTP request); dropping this handler (cancelled command) aborts it too.
    let task = tokio::spawn(async move {
        let model = provider.model().to_string();
        let selected = composition.clone();
        // Token counting and scoring walk the whole library: off the protocol loop.
        let (selection, budget) = tokio::task::spawn_blocking(move || {
            let budget = context_budget(&model, context_percent, response_percent, &selected);
            let counter = TokenCounter::for_model(&model);
            let paired = history.map_or_else(HashMap::new, |repo| {
                paired_counts(repo.as_ref(), &linked_ids(&selected, &candidates))
            });
            let selection = ScoringSelector::new(counter)
                .with_keywords(keywords)
                .with_pairings(paired)
                .select(&selected, &candidates, budget);
            (selection, budget)
        })
        .await
        .unwrap_or_default();
        let request = ReviewRequest {
            composition,
            context: selection.prompts.clone(),
            fresh,
        };
        provider
            .review(&request)
            .await
            .map(|a| (a.value, selection, budget))
    });
    let guard = AbortOnDrop(task.abort_handle());
    let ticket = state.ai.track(&uri, task.abort_handle());
    let outcome = task.await;
    state.ai.untrack(&uri, ticket);
    drop(guard);
    if let Some(progress) = progress {
        progress.finish().await;
    }
    let (suggestions, selection, budget) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            report(state, &args, &e);
            return Err(rpc_error(&e));
        }
        Err(join) if join.is_cancelled() => {
            return Err(Error {
                code: ErrorCode::RequestCancelled,
                message: "the AI review was cancelled (the document was closed or reviewed again)"
                    .into(),
                data: None,
            });
        }
        Err(join) => return Err(failed(format!("the AI review failed: {join}"))),
    };
    // Suggestions point at lines of the text as sent; after an edit they would point elsewhere.
    if state.snapshot(&uri).map(|(_, v, _)| v) != Some(version) {
        return Err(failed(
            "the document changed while the model was reviewing it; run Review with AI again",
        ));
    }
    let count = state.ai.set_review(
        uri.clone(),
        Review {
            version,
            suggestions,
        },
        &text,
    );
    diagnostics::schedule(state, uri, Duration::ZERO);
    if let Some(note) = selection.note(budget) {
        let message = format!("PromptStack AI: {note}");
        let client = state.client.clone();
        tokio::spawn(async move { client.show_message(MessageType::INFO, message).await });
    }
    Ok(json!({
        "suggestions": count,
        "context": selection.prompts.iter().map(|p| &p.id).collect::<Vec<_>>(),
        "context_budget_tokens": budget,
        "shortened": selection.shortened,
        "left_out": selection.left_out,
    }))
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Tells the user about a failed review: a message, with a Retry action when retrying can help.
fn report(state: &Arc<ServerState>, args: &Value, error: &AiError) {
    // PromptStack's own plugins show the command's error; a second message would repeat it.
    if state.features().shows_command_results {
        return;
    }
    let state = state.clone();
    let args = args.clone();
    let message = redacted_message(error);
    let transient = error.is_transient();
    // Off the handler: the user may take their time answering.
    tokio::spawn(async move {
        if !transient {
            state.client.show_message(MessageType::ERROR, message).await;
            return;
        }
        let retry = MessageActionItem {
            title: "Retry".into(),
            properties: Default::default(),
        };
        let chosen = state
            .client
            .show_message_request(MessageType::ERROR, message, Some(vec![retry]))
            .await;
        if let Ok(Some(item)) = chosen
            && item.title == "Retry"
            && let Err(e) = review(state.clone(), args, false).await
        {
            tracing::info!("retried AI review failed: {}", e.message);
        }
    });
}

/// Starts `$/progress` when the client supports it.
async fn begin_progress(
    state: &ServerState,
    title: &str,
) -> Option<
    tower_lsp_server::OngoingProgress<
        tower_lsp_server::Unbounded,
        tower_lsp_server::NotCancellable,
    >,
> {
    if !state.features().work_done_progress {
        return None;
    }
    let token = ProgressToken::String(format!(
        "promptstack-ai-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    if let Err(e) = state.client.create_work_done_progress(token.clone()).await {
        tracing::debug!("client refused work done progress: {e}");
        return None;
    }
    Some(state.client.progress(token, title).begin().await)
}

/// The library's prompts as context candidates, with their usage.
fn candidates(state: &ServerState) -> Vec<CandidatePrompt> {
    let Some(library) = state.library() else {
        return Vec::new();
    };
    library
        .all()
        .into_iter()
        .map(|p| {
            let usage = library.usage(&p.id);
            CandidatePrompt {
                id: p.id.clone(),
                title: p.title.clone(),
                description: p.description.clone().unwrap_or_default(),
                tags: p.tags.clone(),
                category: p.category.clone().unwrap_or_default(),
                body: p.body.clone(),
                hash: p.hash.clone(),
                use_count: usage.map_or(0, |u| u.count.min(u32::MAX as u64) as u32),
                last_used: usage.and_then(|u| {
                    u64::try_from(u.last_used)
                        .ok()
                        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
                }),
            }
        })
        .collect()
}

/// `promptstack.ai.dismiss` `{uri, id}`: removes one suggestion and its diagnostic.
pub fn dismiss(state: &Arc<ServerState>, args: &Value) -> Result<Value> {
    let uri = uri_arg(args)?;
    let id = args.get("id").and_then(Value::as_str).ok_or_else(|| {
        Error::invalid_params("expected `{ \"uri\": ..., \"id\": \"<suggestion id>\" }`")
    })?;
    let text = state
        .snapshot(&uri)
        .map(|(text, _, _)| text)
        .unwrap_or_default();
    let dismissed = state.ai.dismiss(&uri, id, &text);
    if dismissed {
        diagnostics::schedule(state, uri, Duration::ZERO);
    }
    Ok(json!({ "dismissed": dismissed }))
}

/// `promptstack.ai.stats`: the metrics snapshot.
pub fn stats(state: &ServerState) -> Result<Value> {
    let stats = state.ai.metrics(&state.data_paths()).stats();
    serde_json::to_value(stats).map_err(|e| failed(e.to_string()))
}

/// Byte range of a suggestion's lines, without the final line break.
pub fn line_span(text: &str, suggestion: &Suggestion) -> Range<usize> {
    let edit = LineEdit {
        start_line: suggestion.start_line.max(1),
        end_line: suggestion.end_line.max(suggestion.start_line.max(1)),
        new_text: String::new(),
    };
    let (mut range, _) = resolve_edits(text, std::slice::from_ref(&edit))
        .into_iter()
        .next()
        .unwrap_or((text.len()..text.len(), String::new()));
    let slice = &text[range.clone()];
    let trimmed = slice.trim_end_matches(['\n', '\r']).len();
    range.end = range.start + trimmed;
    range
}

/// One suggestion as a diagnostic.
pub fn to_diagnostic(indexed: &IndexedText<'_>, suggestion: &Suggestion) -> Diagnostic {
    Diagnostic {
        range: indexed.range(&line_span(indexed.text, suggestion)),
        severity: Some(match suggestion.kind {
            SuggestionKind::Formatting | SuggestionKind::Reformat => DiagnosticSeverity::HINT,
            _ => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(suggestion.kind.as_str().into())),
        source: Some(SOURCE.into()),
        message: if suggestion.description.is_empty() {
            suggestion.title.clone()
        } else {
            format!("{}: {}", suggestion.title, suggestion.description)
        },
        data: Some(Value::String(suggestion.id.clone())),
        ..Default::default()
    }
}

/// The AI diagnostics still valid for `text` at `version`.
pub fn diagnostics_for(
    state: &ServerState,
    uri: &Uri,
    text: &str,
    version: i32,
) -> Vec<Diagnostic> {
    let suggestions = state.ai.current(uri, version);
    if suggestions.is_empty() {
        return Vec::new();
    }
    let indexed = IndexedText::new(text, state.encoding());
    suggestions
        .iter()
        .map(|s| to_diagnostic(&indexed, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggestion(start_line: u32, end_line: u32) -> Suggestion {
        Suggestion {
            id: "s-1".into(),
            kind: SuggestionKind::Clarity,
            title: "t".into(),
            description: String::new(),
            start_line,
            end_line,
            prompt_id: None,
        }
    }

    /// The text covered by the suggestion's lines.
    fn check(text: &str, start_line: u32, end_line: u32, expected: &str) {
        let span = line_span(text, &suggestion(start_line, end_line));
        assert_eq!(
            &text[span], expected,
            "lines {start_line}-{end_line} of {text:?}"
        );
    }

    #[test]
    fn line_spans() {
        check("a\nbb\nccc\n", 2, 2, "bb");
        check("a\nbb\nccc\n", 2, 3, "bb\nccc");
        check("a\r\nbb\r\n", 1, 1, "a");
        check("a\nbb", 2, 2, "bb");
        // Out of range or reversed lines never panic.
        check("a\n", 5, 9, "");
        check("a\nb\n", 2, 1, "b");
        check("", 1, 1, "");
    }
}
