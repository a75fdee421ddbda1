//! `workspace/executeCommand`: the server's commands, callable from every editor.

use std::sync::Arc;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use super::ai_review;
use super::code_actions;
use super::diagnostics::to_diagnostic;
use super::placeholder_actions;
use crate::document::placeholders;
use crate::library::validation;
use crate::lsp::convert::{IndexedText, internal_error, path_to_uri, uri_to_path};
use crate::lsp::state::ServerState;

pub const VALIDATE_LIBRARY: &str = "promptstack.validateLibrary";
pub const RENDER: &str = "promptstack.render";
/// Sent by the client when a prompt completion is accepted (attached to the item).
pub const PROMPT_USED: &str = "promptstack.promptUsed";
pub const REINDEX_LIBRARY: &str = "promptstack.reindexLibrary";
pub const LIBRARY_SYNC: &str = "promptstack.library.sync";
pub const CREATE_PROMPT: &str = "promptstack.createPrompt";
pub const NEW_COMPOSITION: &str = "promptstack.newComposition";
pub const HISTORY_SEARCH: &str = "promptstack.history.search";
pub const HISTORY_OPEN: &str = "promptstack.history.open";
pub const HISTORY_CLEANUP: &str = "promptstack.history.cleanup";
pub const HISTORY_REBUILD: &str = "promptstack.history.rebuild";
pub const HISTORY_RELATED: &str = "promptstack.history.related";

/// Every command the server executes, as advertised at `initialize`.
pub const NAMES: &[&str] = &[
    VALIDATE_LIBRARY,
    RENDER,
    PROMPT_USED,
    REINDEX_LIBRARY,
    LIBRARY_SYNC,
    super::publish::PUBLISH,
    CREATE_PROMPT,
    NEW_COMPOSITION,
    HISTORY_SEARCH,
    HISTORY_OPEN,
    HISTORY_CLEANUP,
    HISTORY_REBUILD,
    HISTORY_RELATED,
    ai_review::REVIEW,
    ai_review::DISMISS,
    ai_review::STATS,
    code_actions::APPLY,
    code_actions::ACCEPTED,
    placeholder_actions::FILL,
];

pub async fn execute(
    state: &Arc<ServerState>,
    params: ExecuteCommandParams,
) -> Result<Option<Value>> {
    let command = params.command.clone();
    let outcome = dispatch(state, params).await;
    if !state.features().shows_command_results && command != PROMPT_USED {
        super::command_results::announce(state, &command, &outcome).await;
    }
    outcome
}

async fn dispatch(state: &Arc<ServerState>, params: ExecuteCommandParams) -> Result<Option<Value>> {
    let first = params.arguments.into_iter().next().unwrap_or(Value::Null);
    match params.command.as_str() {
        VALIDATE_LIBRARY => validate_library(state).await.map(Some),
        RENDER => render(state, first).map(Some),
        PROMPT_USED => {
            let id = first
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::invalid_params("expected `{ \"id\": \"<prompt id>\" }`"))?;
            let uri = first
                .get("uri")
                .and_then(Value::as_str)
                .and_then(|u| u.parse::<Uri>().ok());
            // The edit that inserted the prompt may have counted this use already.
            let counted = uri.as_ref().is_some_and(|uri| {
                !state
                    .uses
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .command_ran(uri.as_str(), id)
            });
            if !counted {
                record_prompt_use(state, id, uri.as_ref());
            }
            Ok(None)
        }
        REINDEX_LIBRARY => super::library_sync::reindex(state).await.map(Some),
        LIBRARY_SYNC => super::library_sync::sync_sources(state, first)
            .await
            .map(Some),
        super::publish::PUBLISH => super::publish::execute(state, first).await.map(Some),
        CREATE_PROMPT => super::create_prompt::execute(state, first).await.map(Some),
        NEW_COMPOSITION => super::new_composition::execute(state, first)
            .await
            .map(Some),
        HISTORY_SEARCH => super::history::search(state, first).await.map(Some),
        HISTORY_OPEN => super::history::open_entry(state, first).await.map(Some),
        HISTORY_CLEANUP => super::history::cleanup(state, first).await.map(Some),
        HISTORY_REBUILD => super::history::rebuild(state).await.map(Some),
        HISTORY_RELATED => super::history_related::related(state, first)
            .await
            .map(Some),
        ai_review::REVIEW => ai_review::review(state.clone(), first, true)
            .await
            .map(Some),
        ai_review::DISMISS => ai_review::dismiss(state, &first).map(Some),
        ai_review::STATS => ai_review::stats(state).map(Some),
        code_actions::APPLY => code_actions::apply(state, first).await.map(Some),
        code_actions::ACCEPTED => code_actions::accepted(state, &first).map(Some),
        placeholder_actions::FILL => placeholder_actions::fill(state, first).await.map(Some),
        other => Err(Error::invalid_params(format!(
            "unknown command `{other}`; available: {}",
            NAMES.join(", ")
        ))),
    }
}

/// Counts one use of a library prompt; with the composition's URI, the next save links it to the
/// prompt (references).
pub fn record_prompt_use(state: &ServerState, prompt_id: &str, composition: Option<&Uri>) {
    state
        .events
        .publish(crate::events::DomainEvent::PromptUsed {
            prompt_id: prompt_id.to_string(),
        });
    if let Some(path) = composition.and_then(uri_to_path) {
        state.history.note_prompt_use(path, prompt_id.to_string());
    }
}

/// Validates every library file, publishes diagnostics for those not open in the editor (open
/// ones already have live diagnostics), and returns the report.
async fn validate_library(state: &Arc<ServerState>) -> Result<Value> {
    let library_dir = state.data_paths().library_dir;
    let follow_links = state.config().config.follow_external_symlinks;
    let encoding = state.encoding();
    let root = library_dir.clone();
    let config = state.config();
    let workspace = if config.config.workspace_agent_files {
        state.workspace_folders()
    } else {
        Vec::new()
    };
    let folders: Vec<std::path::PathBuf> = config
        .config
        .library_sources
        .iter()
        .filter_map(|spec| match &spec.kind {
            crate::config::SourceKind::Folder { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect();
    // Validation and the re-reads that turn findings into ranges are file I/O: off the loop.
    let (report, published) = tokio::task::spawn_blocking(move || {
        let mut report = validation::validate_library(&root, follow_links);
        report.extend(validation::validate_agent_files(&workspace, &folders));
        let published: Vec<(Uri, Vec<Diagnostic>)> = report
            .files
            .iter()
            .filter_map(|file| {
                let uri = path_to_uri(&file.absolute)?;
                // Files that cannot be read as text report at line 1.
                let text = std::fs::read_to_string(&file.absolute).unwrap_or_default();
                let indexed = IndexedText::new(&text, encoding);
                Some((
                    uri,
                    file.findings
                        .iter()
                        .map(|f| to_diagnostic(&indexed, f))
                        .collect(),
                ))
            })
            .collect();
        (report, published)
    })
    .await
    .map_err(|e| internal_error(format!("validation failed: {e}")))?;
    for (uri, diagnostics) in published {
        // Open documents already have live diagnostics.
        if !state.read_documents().contains_key(&uri) {
            state
                .client
                .publish_diagnostics(uri, diagnostics, None)
                .await;
        }
    }
    let mut value = serde_json::to_value(&report).map_err(|e| internal_error(e.to_string()))?;
    value["summary"] = json!(report.summary());
    value["library_dir"] = json!(library_dir);
    Ok(value)
}

/// `promptstack.render`: `{ "uri": ..., "values": { name: "text" | ["item", ...] } }` or
/// `{ "text": ..., "values": ... }` → the text with placeholders filled.
fn render(state: &ServerState, args: Value) -> Result<Value> {
    let (text, format) = match (
        args.get("text").and_then(Value::as_str),
        args.get("uri").and_then(Value::as_str),
    ) {
        // A bare text may be in any format: every dialect is filled.
        (Some(text), _) => (text.to_string(), None),
        (None, Some(uri)) => {
            let uri: Uri = uri
                .parse()
                .map_err(|_| Error::invalid_params(format!("`{uri}` is not a valid URI")))?;
            let text = state
                .snapshot(&uri)
                .map(|(text, _, _)| text)
                .ok_or_else(|| {
                    Error::invalid_params(format!("document {} is not open", uri.as_str()))
                })?;
            let format = uri_to_path(&uri).and_then(|p| crate::formats::detect(&p));
            (text, Some(format))
        }
        (None, None) => {
            return Err(Error::invalid_params(
                "render needs {\"uri\": ...} or {\"text\": ...} and \"values\"",
            ));
        }
    };
    let values: std::collections::HashMap<String, placeholders::Fill> = args
        .get("values")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(name, value)| (name.clone(), placeholders::Fill::from_json(value)))
                .collect()
        })
        .unwrap_or_default();
    let remembered = values
        .iter()
        .filter_map(|(name, fill)| match fill {
            placeholders::Fill::Text(value) if !value.trim().is_empty() => {
                Some((name.clone(), value.clone()))
            }
            _ => None,
        })
        .collect();
    super::history::remember_placeholder_values(state, remembered);
    let dialects = match format {
        Some(format) => crate::formats::dialects_of(format, &text),
        None => placeholders::Dialects::all(crate::formats::argument_names_in(&text)),
    };
    let rendered = placeholders::render_with(&text, &values, &dialects);
    Ok(json!({ "text": rendered.text, "missing": rendered.missing }))
}
