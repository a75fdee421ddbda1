//! Keeps the library current from the editor's side: the library is opened once the client is
//! initialized, follows a live change of `paths.library_dir` (or `paths.data_dir`, where its
//! index and usage stats live), and saves and `didChangeWatchedFiles` for library files are
//! passed on to it.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::DocumentKind;
use crate::home::DataPaths;
use crate::library::Library;
use crate::lsp::convert::{internal_error, not_ready, uri_to_path};
use crate::lsp::progress;
use crate::lsp::state::ServerState;

/// How long a switch waits for requests still using the old library before opening the new one
/// (its index directory can be opened by one library at a time).
const RELEASE_WAIT: Duration = Duration::from_secs(30);

/// The open library and the paths it was opened with.
#[derive(Default)]
pub struct LibrarySlot {
    current: RwLock<Option<(DataPaths, Arc<Library>)>>,
    /// Opening and switching take turns; `true` once the first open was asked for.
    turn: tokio::sync::Mutex<bool>,
}

impl LibrarySlot {
    /// The library, once opened.
    pub fn get(&self) -> Option<Arc<Library>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(_, library)| library.clone())
    }
}

/// Whether two layouts put the library in the same place (folder, index, usage).
fn same_library(a: &DataPaths, b: &DataPaths) -> bool {
    a.library_dir == b.library_dir && a.index_dir == b.index_dir && a.usage_file == b.usage_file
}

/// Opens the library after `initialized`, off the protocol loop, reporting the index build as
/// `$/progress` when the client supports it.
pub async fn open(state: &Arc<ServerState>) {
    let mut started = state.library.turn.lock().await;
    *started = true;
    sync(state).await;
}

/// After a settings change: when the library's place changed, closes the old library (its
/// watcher and index writer stop) and opens, indexes and watches the new folder. Before the
/// first open there is nothing to do: it reads the settings of its time.
pub async fn follow_config(state: &Arc<ServerState>) {
    let started = state.library.turn.lock().await;
    if *started {
        sync(state).await;
    }
}

/// Makes the open library the one the current settings name. Called in turn.
async fn sync(state: &Arc<ServerState>) {
    let paths = state.data_paths();
    let old = {
        let mut current = state
            .library
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner());
        match &*current {
            Some((open, _)) if same_library(open, &paths) => return,
            _ => current.take(),
        }
    };
    let switching = old.is_some();
    if let Some((old_paths, old)) = old {
        tracing::info!(
            from = %old_paths.library_dir.display(),
            to = %paths.library_dir.display(),
            "switching the prompt library"
        );
        let _ = tokio::task::spawn_blocking(move || close(old)).await;
    }
    let progress = progress::reporter(state, "Indexing prompt library");
    let mut config = state.config().config.clone();
    if config.workspace_agent_files {
        let folders = state.workspace_folders();
        config
            .library_sources
            .extend(crate::library::folder_source::workspace_sources(&folders));
    }
    let events = state.events.clone();
    let open_paths = paths.clone();
    let opened = tokio::task::spawn_blocking(move || {
        // A new folder gets the starter prompts, as on first start; a folder with files is
        // left as it is.
        if let Err(e) = crate::library::starter::install(&open_paths.library_dir) {
            tracing::warn!("cannot write the starter library: {e}");
        }
        Library::open(&config, &open_paths, events, Some(progress))
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
    *state
        .library
        .current
        .write()
        .unwrap_or_else(|p| p.into_inner()) = Some((paths.clone(), library));
    if switching {
        state
            .client
            .show_message(
                MessageType::INFO,
                format!(
                    "PromptStack now uses the prompt library in {}",
                    paths.library_dir.display()
                ),
            )
            .await;
    }
}

/// Closes a library once requests still using it are done: dropping the last reference stops
/// its worker and watcher and releases its index directory. Blocking.
fn close(mut library: Arc<Library>) {
    let deadline = Instant::now() + RELEASE_WAIT;
    loop {
        match Arc::try_unwrap(library) {
            Ok(library) => {
                drop(library);
                return;
            }
            Err(shared) if Instant::now() < deadline => {
                library = shared;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => {
                // Its last user closes it; the new library may have to keep its index in memory.
                tracing::warn!(
                    "the old prompt library is still in use; opening the new one anyway"
                );
                return;
            }
        }
    }
}

/// Shows what the library recovered from (e.g. its index directory deleted), one message each.
fn tell_notices(state: &ServerState, library: &Library) {
    let mut notices = library.notices();
    let client = state.client.clone();
    tokio::spawn(async move {
        loop {
            match notices.recv().await {
                Ok(notice) => {
                    // A source's error may quote its URL, credentials included.
                    let notice = crate::logging::secrets::redact(&notice);
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

/// `promptstack.library.sync` (`{name?, locked?}`): fetches the git sources now, with progress,
/// and returns per source the commit and the prompts added, updated and removed.
pub async fn sync_sources(
    state: &Arc<ServerState>,
    args: serde_json::Value,
) -> Result<serde_json::Value> {
    let library = state.library().ok_or_else(|| not_ready("the library"))?;
    let name = match args.get("name") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(n)) => Some(n.clone()),
        Some(_) => {
            return Err(tower_lsp_server::jsonrpc::Error::invalid_params(
                "expected `{ \"name\": \"<source>\", \"locked\": false }` (both optional)",
            ));
        }
    };
    let locked = args.get("locked").and_then(serde_json::Value::as_bool) == Some(true);
    let request = crate::library::git_source::SyncRequest { name, locked };
    let progress = progress::reporter(state, "Syncing prompt sources");
    let outcomes =
        tokio::task::spawn_blocking(move || library.sync_sources(&request, Some(progress)))
            .await
            .map_err(|e| internal_error(format!("sync failed: {e}")))?
            .map_err(|e| match e {
                crate::library::LibraryError::NoSuchSource(_) => {
                    tower_lsp_server::jsonrpc::Error::invalid_params(e.to_string())
                }
                other => internal_error(format!("sync failed: {other}")),
            })?;
    let summary: Vec<String> = outcomes.iter().map(|o| o.summary()).collect();
    Ok(serde_json::json!({
        "sources": outcomes.iter().map(|o| o.to_json()).collect::<Vec<_>>(),
        "message": if summary.is_empty() { "no git prompt sources in `library.sources`".to_string() } else { summary.join("; ") },
    }))
}

/// A file is about to be saved: a file of a git source is read-only, and the user is told where
/// to change it instead.
pub fn will_save(state: &ServerState, uri: &Uri) {
    let Some(path) = uri_to_path(uri) else {
        return;
    };
    let config = state.config();
    let data_dir = state.data_paths().data_dir;
    if let Some(notice) = crate::library::git_source::read_only_notice(
        &config.config.library_sources,
        &data_dir,
        &path,
    ) {
        let client = state.client.clone();
        tokio::spawn(async move {
            client
                .show_message(MessageType::WARNING, format!("PromptStack: {notice}"))
                .await
        });
    }
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
