//! `textDocument/documentLink`: file links in compositions are clickable, when the file exists
//! (a broken link gets a warning instead of a link that opens an empty tab).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::{DocumentKind, links};
use std::sync::Arc;

use crate::lsp::convert::{IndexedText, path_to_uri, uri_to_path};
use crate::lsp::state::ServerState;
use crate::lsp::work::on_document;

pub async fn document_link(
    state: &Arc<ServerState>,
    params: DocumentLinkParams,
) -> Result<Option<Vec<DocumentLink>>> {
    let uri = params.text_document.uri;
    let Some(dir) = uri_to_path(&uri).and_then(|p| p.parent().map(|d| d.to_path_buf())) else {
        return Ok(None);
    };
    on_document(state, &uri, move |doc, _| {
        Ok((doc.kind == DocumentKind::Composition).then(|| clickable(&doc.indexed, &dir)))
    })
    .await
}

/// Links returned at most, so a generated document cannot make an answer of megabytes.
const MAX_LINKS: usize = 2_000;

/// Links whose file exists; on the blocking pool, so checking them does not hold the loop.
fn clickable(indexed: &IndexedText<'_>, dir: &std::path::Path) -> Vec<DocumentLink> {
    links::find(indexed.text)
        .into_iter()
        .filter_map(|link| {
            let path = link.file_path(dir).filter(|p| p.exists())?;
            let target = path_to_uri(&path)?;
            Some(DocumentLink {
                range: indexed.range(&link.target_range),
                target: Some(target),
                tooltip: Some(format!("Open {}", link.target)),
                data: None,
            })
        })
        .take(MAX_LINKS)
        .collect()
}
