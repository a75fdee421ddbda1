//! `textDocument/documentLink`: file links in compositions are clickable.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::{DocumentKind, links};
use crate::lsp::convert::{IndexedText, not_open, path_to_uri, uri_to_path};
use crate::lsp::state::ServerState;

pub fn document_link(
    state: &ServerState,
    params: DocumentLinkParams,
) -> Result<Option<Vec<DocumentLink>>> {
    let uri = params.text_document.uri;
    let (text, _, kind) = state.snapshot(&uri).ok_or_else(|| not_open(&uri))?;
    let Some(dir) = uri_to_path(&uri).and_then(|p| p.parent().map(|d| d.to_path_buf())) else {
        return Ok(None);
    };
    if kind != DocumentKind::Composition {
        return Ok(None);
    }
    let indexed = IndexedText::new(&text, state.encoding());
    let found = links::find(&text)
        .into_iter()
        .filter_map(|link| {
            let target = path_to_uri(&link.file_path(&dir)?)?;
            Some(DocumentLink {
                range: indexed.range(&link.target_range),
                target: Some(target),
                tooltip: Some(format!("Open {}", link.target)),
                data: None,
            })
        })
        .collect();
    Ok(Some(found))
}
