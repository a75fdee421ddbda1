//! Semantic tokens for placeholders: the type (`text`/`list`) and the name as separate tokens,
//! so every editor can highlight them.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::placeholders;
use std::sync::Arc;

use crate::lsp::convert::IndexedText;
use crate::lsp::state::ServerState;
use crate::lsp::work::{CHECK_EVERY, Interrupt, on_document};

const TYPE_TOKEN: u32 = 0;
const NAME_TOKEN: u32 = 1;

pub fn capability() -> SemanticTokensServerCapabilities {
    SemanticTokensServerCapabilities::SemanticTokensOptions(SemanticTokensOptions {
        legend: SemanticTokensLegend {
            token_types: vec![SemanticTokenType::KEYWORD, SemanticTokenType::VARIABLE],
            token_modifiers: vec![],
        },
        range: Some(true),
        full: Some(SemanticTokensFullOptions::Bool(true)),
        work_done_progress_options: Default::default(),
    })
}

/// Encodes the placeholder tokens of `text` that start inside `within` (byte range).
fn tokens(
    indexed: &IndexedText<'_>,
    within: std::ops::Range<usize>,
    interrupt: &Interrupt,
) -> Result<Vec<SemanticToken>> {
    let parsed = placeholders::parse(indexed.text);
    interrupt.check()?;
    let mut out = Vec::new();
    let (mut last_line, mut last_col) = (0, 0);
    for p in parsed
        .placeholders
        .iter()
        .filter(|p| p.span.start < within.end && p.span.end > within.start)
    {
        for (span, token_type) in [(&p.kind_span, TYPE_TOKEN), (&p.name_span, NAME_TOKEN)] {
            let start = indexed.position(span.start);
            let end = indexed.position(span.end);
            let delta_line = start.line - last_line;
            let delta_start = if delta_line == 0 {
                start.character - last_col
            } else {
                start.character
            };
            out.push(SemanticToken {
                delta_line,
                delta_start,
                // Placeholders never span lines, so the length is a column difference.
                length: end.character - start.character,
                token_type,
                token_modifiers_bitset: 0,
            });
            (last_line, last_col) = (start.line, start.character);
        }
        if out.len() % CHECK_EVERY == 0 {
            interrupt.check()?;
        }
    }
    Ok(out)
}

pub async fn full(
    state: &Arc<ServerState>,
    params: SemanticTokensParams,
) -> Result<Option<SemanticTokensResult>> {
    on_document(state, &params.text_document.uri, |doc, interrupt| {
        let data = tokens(&doc.indexed, 0..doc.text().len(), interrupt)?;
        Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    })
    .await
}

pub async fn range(
    state: &Arc<ServerState>,
    params: SemanticTokensRangeParams,
) -> Result<Option<SemanticTokensRangeResult>> {
    let range = params.range;
    on_document(state, &params.text_document.uri, move |doc, interrupt| {
        let within = doc.indexed.byte_range(range)?;
        let data = tokens(&doc.indexed, within, interrupt)?;
        Ok(Some(SemanticTokensRangeResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    })
    .await
}
