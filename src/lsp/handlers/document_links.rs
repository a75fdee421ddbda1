//! `textDocument/documentLink`: file links in compositions are clickable, when the file exists
//! (a broken link gets a warning instead of a link that opens an empty tab).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::{DocumentKind, links};
use crate::lsp::convert::{IndexedText, not_open, path_to_uri, uri_to_path};
use crate::lsp::state::ServerState;

pub async fn document_link(
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
    let encoding = state.encoding();
    // Checking that targets exist is file-system work: off the protocol loop.
    let found = tokio::task::spawn_blocking(move || {
        let indexed = IndexedText::new(&text, encoding);
        links::find(&text)
            .into_iter()
            .filter_map(|link| {
                let path = link.file_path(&dir).filter(|p| p.exists())?;
                Some(DocumentLink {
                    range: indexed.range(&link.target_range),
                    target: Some(path_to_uri(&path)?),
                    tooltip: Some(format!("Open {}", link.target)),
                    data: None,
                })
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    Ok(Some(found))
}
