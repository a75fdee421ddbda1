//! `textDocument/definition`: from a file link (e.g. to a library prompt) to the linked file.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::links;
use std::sync::Arc;

use crate::lsp::convert::{path_to_uri, uri_to_path};
use crate::lsp::state::ServerState;
use crate::lsp::work::on_document;

pub async fn goto_definition(
    state: &Arc<ServerState>,
    params: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>> {
    let position = params.text_document_position_params;
    let uri = position.text_document.uri;
    let Some(dir) = uri_to_path(&uri).and_then(|p| p.parent().map(|d| d.to_path_buf())) else {
        return Ok(None);
    };
    let link = on_document(state, &uri, move |doc, _| {
        let offset = doc.indexed.offset(position.position)?;
        Ok(links::at(doc.text(), offset))
    })
    .await?;
    let Some(path) = link.and_then(|l| l.file_path(&dir)) else {
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
