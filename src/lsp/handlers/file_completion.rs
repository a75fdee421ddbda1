//! Completion of file references: inside `[title](` the relative path, after `@` a whole
//! `[file name](relative/path)` link. Candidates come from a walk of the workspace folders
//! (`.gitignore` respected, hidden and binary files skipped) run off the protocol loop.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::file_refs::{self, FileRefContext};
use crate::lsp::convert::uri_to_path;
use crate::lsp::state::{FileWalk, ServerState};

/// Most files offered per request; the list is incomplete, so typing refines it.
const MAX_ITEMS: usize = 50;
/// How long a walk is reused: typing a path re-asks on every key, and files created meanwhile
/// show up once it expires.
const WALK_FRESH: Duration = Duration::from_secs(2);

/// Applies `workspace/didChangeWorkspaceFolders` to the folders file completion walks.
pub fn did_change_workspace_folders(state: &ServerState, params: DidChangeWorkspaceFoldersParams) {
    let removed: Vec<PathBuf> = params
        .event
        .removed
        .iter()
        .filter_map(|f| uri_to_path(&f.uri))
        .collect();
    let mut folders = state
        .workspace_folders
        .write()
        .unwrap_or_else(|p| p.into_inner());
    folders.retain(|f| !removed.contains(f));
    *state.file_walk.lock().unwrap_or_else(|p| p.into_inner()) = None;
    for added in params
        .event
        .added
        .iter()
        .filter_map(|f| uri_to_path(&f.uri))
    {
        if !folders.contains(&added) {
            folders.push(added);
        }
    }
}

/// Items for the file reference `ctx` the cursor asks for: `range` is what they replace, and
/// `typed` the text in it.
pub async fn complete(
    state: &ServerState,
    uri: &Uri,
    ctx: FileRefContext,
    range: Range,
    typed: String,
) -> Result<Option<CompletionResponse>> {
    let doc_dir = uri_to_path(uri).and_then(|p| p.parent().map(|d| d.to_path_buf()));
    let mut roots = state.workspace_folders();
    if roots.is_empty() {
        roots.extend(doc_dir.clone());
    }
    let query = ctx.query().to_string();
    let cached = state
        .file_walk
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .filter(|w| w.roots == roots && w.at.elapsed() < WALK_FRESH)
        .map(|w| w.files.clone());
    let walk_roots = roots.clone();
    let walked = tokio::task::spawn_blocking(move || match cached {
        Some(files) => (None, file_refs::rank(&files, &query, MAX_ITEMS)),
        None => {
            let files = Arc::new(file_refs::walk(&walk_roots, file_refs::MAX_WALK_FILES));
            let ranked = file_refs::rank(&files, &query, MAX_ITEMS);
            (Some(files), ranked)
        }
    })
    .await;
    let Ok((fresh, ranked)) = walked else {
        return Ok(None);
    };
    if let Some(files) = fresh {
        *state.file_walk.lock().unwrap_or_else(|p| p.into_inner()) = Some(FileWalk {
            roots,
            at: Instant::now(),
            files,
        });
    }
    let items = ranked
        .into_iter()
        .enumerate()
        .map(|(rank, file)| {
            let relative = doc_dir
                .as_deref()
                .and_then(|dir| file_refs::relative_to(&file.path, dir))
                .unwrap_or_else(|| file.relative.clone());
            let new_text = match ctx {
                FileRefContext::LinkTarget { .. } => {
                    crate::document::links::encode_target(&relative)
                }
                FileRefContext::At { .. } => file_refs::markdown_link(&file.path, &relative),
            };
            CompletionItem {
                label: file.relative.clone(),
                kind: Some(CompletionItemKind::FILE),
                detail: Some(file.path.display().to_string()),
                sort_text: Some(format!("{rank:05}")),
                // Ranked here (fuzzy); the client must not filter the list again.
                filter_text: Some(typed.clone()),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(range, new_text))),
                ..Default::default()
            }
        })
        .collect();
    Ok(Some(CompletionResponse::List(CompletionList {
        is_incomplete: true,
        items,
    })))
}
