//! `textDocument/definition`: from a file link (e.g. to a library prompt) to the linked file.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::links;
use crate::lsp::convert::{IndexedText, not_open, path_to_uri, uri_to_path};
use crate::lsp::state::ServerState;

pub async fn goto_definition(
    state: &ServerState,
    params: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>> {
    let position = params.text_document_position_params;
    let uri = position.text_document.uri;
    let (text, _, _) = state.snapshot(&uri).ok_or_else(|| not_open(&uri))?;
    let indexed = IndexedText::new(&text, state.encoding());
    let offset = indexed.offset(position.position)?;
    let Some(dir) = uri_to_path(&uri).and_then(|p| p.parent().map(|d| d.to_path_buf())) else {
        return Ok(None);
    };
    let Some(path) = links::at(&text, offset).and_then(|l| l.file_path(&dir)) else {
        return Ok(None);
    };
    // A stat is file-system work: off the protocol loop.
    let check = path.clone();
    let is_file = tokio::task::spawn_blocking(move || check.is_file())
        .await
        .unwrap_or(false);
    if !is_file {
        return Ok(None);
    }
    Ok(path_to_uri(&path).map(|target| {
        GotoDefinitionResponse::Scalar(Location::new(
            target,
            Range::new(Position::new(0, 0), Position::new(0, 0)),
        ))
    }))
}
