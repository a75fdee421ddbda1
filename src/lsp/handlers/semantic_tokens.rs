//! Semantic tokens for placeholders of every dialect: the type (`text`/`list`, `input`, `$`) and
//! the name as separate tokens, and VS Code's context variables (`${selection}`) as keywords, so
//! every editor can highlight them.

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
    dialects: &placeholders::Dialects,
    interrupt: &Interrupt,
) -> Result<Vec<SemanticToken>> {
    let parsed = placeholders::parse_with(indexed.text, dialects);
    interrupt.check()?;
    // Placeholders and context variables never overlap; merged in text order.
    let mut spans: Vec<[(std::ops::Range<usize>, u32); 2]> = parsed
        .placeholders
        .iter()
        .map(|p| {
            [
                (p.kind_span.clone(), TYPE_TOKEN),
                (p.name_span.clone(), NAME_TOKEN),
            ]
        })
        .chain(parsed.context_variables.iter().map(|v| {
            [
                (v.span.clone(), TYPE_TOKEN),
                (v.span.end..v.span.end, NAME_TOKEN),
            ]
        }))
        .filter(|[(kind, _), (name, _)]| {
            kind.start < within.end && name.end.max(kind.end) > within.start
        })
        .collect();
    spans.sort_by_key(|[(kind, _), _]| kind.start);
    let mut out = Vec::new();
    let (mut last_line, mut last_col) = (0, 0);
    for pair in &spans {
        for (span, token_type) in pair.iter().filter(|(span, _)| !span.is_empty()) {
            let (span, token_type) = (span, *token_type);
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

/// The dialects of the document at `uri`, once its text is known.
fn dialects_of(uri: &Uri) -> impl Fn(&str) -> placeholders::Dialects + Send + 'static {
    let format = crate::lsp::convert::uri_to_path(uri).and_then(|p| crate::formats::detect(&p));
    move |text| crate::formats::dialects_of(format, text)
}

pub async fn full(
    state: &Arc<ServerState>,
    params: SemanticTokensParams,
) -> Result<Option<SemanticTokensResult>> {
    let dialects = dialects_of(&params.text_document.uri);
    on_document(state, &params.text_document.uri, move |doc, interrupt| {
        let dialects = dialects(doc.indexed.text);
        let data = tokens(&doc.indexed, 0..doc.text().len(), &dialects, interrupt)?;
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
    let dialects = dialects_of(&params.text_document.uri);
    on_document(state, &params.text_document.uri, move |doc, interrupt| {
        let within = doc.indexed.byte_range(range)?;
        let dialects = dialects(doc.indexed.text);
        let data = tokens(&doc.indexed, within, &dialects, interrupt)?;
        Ok(Some(SemanticTokensRangeResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    })
    .await
}
