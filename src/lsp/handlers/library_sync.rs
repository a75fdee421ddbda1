//! Keeps the library current from the editor's side: the library is opened once the client is
//! initialized, and saves and `didChangeWatchedFiles` for library files are passed on to it.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use crate::document::DocumentKind;
use crate::library::Library;
use crate::lsp::convert::uri_to_path;
use crate::lsp::state::ServerState;

/// Opens the library off the protocol loop and reports the index build as `$/progress` when the
/// client supports it.
pub async fn open(state: &Arc<ServerState>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(usize, usize)>();
    let progress: crate::library::index::Progress = Box::new(move |done, total| {
        let _ = tx.send((done, total));
    });
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
    let _ = state.library.set(library);
    forward_progress(state, rx, "Indexing prompt library");
}

/// Shows `(done, total)` messages from `rx` as one `$/progress` task, or drops them when the
/// client cannot show progress.
fn forward_progress(
    state: &ServerState,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(usize, usize)>,
    title: &'static str,
) {
    if !state.features().work_done_progress {
        // Drain so the sender never grows; nothing to show.
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        return;
    }
    let client = state.client.clone();
    tokio::spawn(async move {
        let Some((done, total)) = rx.recv().await else {
            return;
        };
        let token = NumberOrString::String(format!(
            "promptstack/library/{}",
            NEXT_TOKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        if client
            .send_request::<request::WorkDoneProgressCreate>(WorkDoneProgressCreateParams {
                token: token.clone(),
            })
            .await
            .is_err()
        {
            while rx.recv().await.is_some() {}
            return;
        }
        let progress = client
            .progress(token, title)
            .with_percentage(percent(done, total))
            .begin()
            .await;
        let mut last = (done, total);
        while let Some((done, total)) = rx.recv().await {
            last = (done, total);
            progress
                .report_with_message(format!("{done}/{total}"), percent(done, total))
                .await;
        }
        progress
            .finish_with_message(format!("{} of {} done", last.0, last.1))
            .await;
    });
}

static NEXT_TOKEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// `promptstack.reindexLibrary`: re-reads every file and rebuilds the index, with progress.
pub async fn reindex(state: &Arc<ServerState>) -> Result<serde_json::Value> {
    let library = state
        .library()
        .ok_or_else(|| Error::invalid_request().tap("the library is still opening; try again"))?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(usize, usize)>();
    forward_progress(state, rx, "Reindexing prompt library");
    let progress: crate::library::index::Progress = Box::new(move |done, total| {
        let _ = tx.send((done, total));
    });
    let stats = tokio::task::spawn_blocking(move || library.reindex(Some(progress)))
        .await
        .map_err(|e| Error::internal_error().tap(format!("reindex failed: {e}")))?
        .map_err(|e| Error::internal_error().tap(format!("reindex failed: {e}")))?;
    Ok(serde_json::json!({ "prompts": stats.prompts }))
}

trait Tap {
    fn tap(self, message: impl Into<String>) -> Self;
}

impl Tap for Error {
    fn tap(mut self, message: impl Into<String>) -> Self {
        self.message = message.into().into();
        self
    }
}

fn percent(done: usize, total: usize) -> u32 {
    (done * 100).checked_div(total).unwrap_or(100).min(100) as u32
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
