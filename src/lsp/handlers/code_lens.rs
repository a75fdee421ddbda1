//! A code lens at the top of a composition with its size: characters, lines, estimated tokens.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::{DocumentKind, TextStats};
use crate::lsp::convert::not_open;
use crate::lsp::state::ServerState;

pub fn code_lens(state: &ServerState, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
    let uri = params.text_document.uri;
    let (text, _, kind) = state.snapshot(&uri).ok_or_else(|| not_open(&uri))?;
    if kind != DocumentKind::Composition {
        return Ok(None);
    }
    let stats = TextStats::of(&text);
    let title = format!(
        "{} characters · {} lines · ~{} tokens",
        stats.characters, stats.lines, stats.tokens
    );
    Ok(Some(vec![CodeLens {
        range: Range::default(),
        // An empty command id makes the lens a label: there is nothing to run.
        command: Some(Command {
            title,
            command: String::new(),
            arguments: None,
        }),
        data: None,
    }]))
}
