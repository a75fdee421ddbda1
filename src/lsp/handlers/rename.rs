//! Rename a placeholder: every use of its name in the document changes together; a name that is
//! already taken is refused.

use std::collections::HashMap;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use crate::document::placeholders;
use std::sync::Arc;

use crate::lsp::state::ServerState;
use crate::lsp::work::on_document;

pub async fn prepare(
    state: &Arc<ServerState>,
    params: TextDocumentPositionParams,
) -> Result<Option<PrepareRenameResponse>> {
    let position = params.position;
    on_document(state, &params.text_document.uri, move |doc, _| {
        let indexed = &doc.indexed;
        let offset = indexed.offset(position)?;
        // Outside a placeholder there is nothing to rename: null tells the editor so.
        Ok(placeholders::parse(indexed.text).at(offset).map(|p| {
            PrepareRenameResponse::RangeWithPlaceholder {
                range: indexed.range(&p.name_span),
                placeholder: p.name.clone(),
            }
        }))
    })
    .await
}

pub async fn rename(
    state: &Arc<ServerState>,
    params: RenameParams,
) -> Result<Option<WorkspaceEdit>> {
    let position = params.text_document_position;
    let uri = position.text_document.uri;
    let new_name = params.new_name.trim();
    if new_name.is_empty()
        || !new_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::invalid_params(format!(
            "`{new_name}` is not a valid placeholder name: use letters, digits and `_`"
        )));
    }
    let new_name = new_name.to_string();
    let target = position.position;
    let edits = on_document(state, &uri, move |doc, _| {
        let indexed = &doc.indexed;
        let offset = indexed.offset(target)?;
        let parsed = placeholders::parse(indexed.text);
        let target = parsed.at(offset).ok_or_else(|| {
            Error::invalid_params(
                "rename works on placeholders: put the cursor on a `{{text:name}}` or `{{list:name}}`",
            )
        })?;
        // Renaming onto a name already in use would silently merge two placeholders (and, in a
        // library prompt, create a duplicate-placeholder error).
        if new_name != target.name && parsed.placeholders.iter().any(|p| p.name == new_name) {
            return Err(Error::invalid_params(format!(
                "a placeholder named `{new_name}` already exists in this document; renaming `{}` to it would merge the two, so choose another name",
                target.name
            )));
        }
        Ok(parsed
            .placeholders
            .iter()
            .filter(|p| p.name == target.name)
            .map(|p| TextEdit {
                range: indexed.range(&p.name_span),
                new_text: new_name.clone(),
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Some(WorkspaceEdit {
        changes: Some(HashMap::from([(uri, edits)])),
        ..Default::default()
    }))
}
