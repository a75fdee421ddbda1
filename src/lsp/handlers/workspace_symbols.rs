//! Workspace symbols: the library and the history as one fuzzy picker that works in every
//! editor. Library prompts come first (what people insert), then saved compositions.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::lsp::convert::{internal_error, path_to_uri};
use crate::lsp::state::ServerState;

/// Most library prompts returned; pickers show the top of the list.
const MAX_PROMPTS: usize = 100;
/// Most history entries returned.
const MAX_COMPOSITIONS: usize = 50;

#[allow(deprecated)] // `deprecated` is a required field of the struct, itself deprecated.
pub async fn symbol(
    state: &ServerState,
    params: WorkspaceSymbolParams,
) -> Result<Option<WorkspaceSymbolResponse>> {
    let mut symbols = Vec::new();
    if let Some(library) = state.library() {
        let hits = library
            .search(&params.query, MAX_PROMPTS)
            .map_err(|e| internal_error(e.to_string()))?;
        symbols.extend(hits.into_iter().filter_map(|hit| {
            let p = hit.prompt;
            Some(SymbolInformation {
                name: p.title.clone(),
                kind: SymbolKind::FILE,
                tags: None,
                deprecated: None,
                location: Location::new(path_to_uri(&p.path)?, Range::default()),
                container_name: Some(p.category.clone().unwrap_or_else(|| "library".into())),
            })
        }));
    }
    let compositions = super::history::symbols(state, params.query.clone(), MAX_COMPOSITIONS).await;
    symbols.extend(compositions.into_iter().filter_map(|(summary, file)| {
        let date = summary.updated_at.date();
        Some(SymbolInformation {
            name: summary.title.clone(),
            kind: SymbolKind::EVENT,
            tags: None,
            deprecated: None,
            location: Location::new(path_to_uri(&file)?, Range::default()),
            container_name: Some(match &summary.author {
                // Team history names who saved it.
                Some(author) if !summary.is_own() => format!("history · {author} · {date}"),
                _ => format!("history · {date}"),
            }),
        })
    }));
    Ok(Some(WorkspaceSymbolResponse::Flat(symbols)))
}
