//! Keeps the library current from the editor's side: the library is opened once the client is
//! initialized, and saves and `didChangeWatchedFiles` for library files are passed on to it.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::DocumentKind;
use crate::library::Library;
use crate::lsp::convert::{internal_error, not_ready, uri_to_path};
use crate::lsp::progress;
use crate::lsp::state::ServerState;

/// Opens the library off the protocol loop and reports the index build as `$/progress` when the
/// client supports it.
pub async fn open(state: &Arc<ServerState>) {
    let progress = progress::reporter(state, "Indexing prompt library");
    let config = state.config().config.clone();
    let paths = state.data_paths();
    let events = state.events.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let library = Library::open(&config, &paths, events, Some(progress))?;
        Ok::<_, crate::library::LibraryError>(library)
    })
    .await;
    let library = match opened {
        Ok(Ok(library)) => Arc::new(library),
        Ok(Err(e)) => {
            state
                .client
                .show_message(MessageType::ERROR, format!("PromptStack library: {e}"))
                .await;
            return;
        }
        Err(e) => {
            tracing::error!("opening the library panicked: {e}");
            return;
        }
    };
    tell_notices(state, &library);
    let _ = state.library.set(library);
}

/// Shows what the library recovered from (e.g. its index directory deleted), one message each.
fn tell_notices(state: &ServerState, library: &Library) {
    let mut notices = library.notices();
    let client = state.client.clone();
    tokio::spawn(async move {
        loop {
            match notices.recv().await {
                Ok(notice) => {
                    client
                        .show_message(MessageType::WARNING, format!("PromptStack: {notice}"))
                        .await
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// `promptstack.reindexLibrary`: re-reads every file and rebuilds the index, with progress.
pub async fn reindex(state: &Arc<ServerState>) -> Result<serde_json::Value> {
    let library = state.library().ok_or_else(|| not_ready("the library"))?;
    let progress = progress::reporter(state, "Reindexing prompt library");
    let stats = tokio::task::spawn_blocking(move || library.reindex(Some(progress)))
        .await
        .map_err(|e| internal_error(format!("reindex failed: {e}")))?
        .map_err(|e| internal_error(format!("reindex failed: {e}")))?;
    Ok(serde_json::json!({ "prompts": stats.prompts }))
}

/// A library file was saved in the editor.
pub fn did_save(state: &ServerState, uri: &Uri) {
    if let (Some(library), Some(path)) = (state.library(), uri_to_path(uri))
        && state.classify(uri) == DocumentKind::LibraryPrompt
    {
        library.apply_changes(vec![path]);
    }
}

/// Files changed outside the editor, as reported by the client's watcher.
pub fn did_change_watched_files(state: &ServerState, params: DidChangeWatchedFilesParams) {
    let Some(library) = state.library() else {
        return;
    };
    let paths: Vec<_> = params
        .changes
        .iter()
        .filter_map(|c| uri_to_path(&c.uri))
        .collect();
    if !paths.is_empty() {
        // The source ignores paths outside the library.
        library.apply_changes(paths);
    }
}
