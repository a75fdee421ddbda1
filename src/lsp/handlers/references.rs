//! References of a library prompt: the compositions in history that used it.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::DocumentKind;
use crate::library::prompt::id_for;
use crate::lsp::convert::{path_to_uri, uri_to_path};
use crate::lsp::state::ServerState;

/// On a library prompt file (anywhere in it), every history composition that inserted it.
pub async fn references(
    state: &ServerState,
    params: ReferenceParams,
) -> Result<Option<Vec<Location>>> {
    let uri = params.text_document_position.text_document.uri;
    if state.classify(&uri) != DocumentKind::LibraryPrompt {
        return Ok(None);
    }
    let Some(prompt_id) =
        uri_to_path(&uri).and_then(|p| id_for(&state.data_paths().library_dir, &p))
    else {
        return Ok(None);
    };
    let files = super::history::references(state, prompt_id).await?;
    Ok(Some(
        files
            .iter()
            .filter_map(|file| Some(Location::new(path_to_uri(file)?, Range::default())))
            .collect(),
    ))
}
