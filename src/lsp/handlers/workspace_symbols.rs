//! Workspace symbols: the library as a fuzzy prompt picker that works in every editor.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::lsp::convert::path_to_uri;
use crate::lsp::state::ServerState;

/// Most symbols returned; pickers show the top of the list.
const MAX_SYMBOLS: usize = 100;

#[allow(deprecated)] // `deprecated` is a required field of the struct, itself deprecated.
pub fn symbol(
    state: &ServerState,
    params: WorkspaceSymbolParams,
) -> Result<Option<WorkspaceSymbolResponse>> {
    let Some(library) = state.library() else {
        return Ok(Some(WorkspaceSymbolResponse::Flat(Vec::new())));
    };
    let hits = library.search(&params.query, MAX_SYMBOLS).map_err(|e| {
        let mut error = tower_lsp_server::jsonrpc::Error::internal_error();
        error.message = e.to_string().into();
        error
    })?;
    let symbols = hits
        .into_iter()
        .filter_map(|hit| {
            let p = hit.prompt;
            Some(SymbolInformation {
                name: p.title.clone(),
                kind: SymbolKind::FILE,
                tags: None,
                deprecated: None,
                location: Location::new(path_to_uri(&p.path)?, Range::default()),
                container_name: Some(p.category.clone().unwrap_or_else(|| "library".into())),
            })
        })
        .collect();
    Ok(Some(WorkspaceSymbolResponse::Flat(symbols)))
}
