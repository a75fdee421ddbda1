//! Folding ranges for the frontmatter block and for each heading's section.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::outline::{self, Fold};
use crate::lsp::convert::{IndexedText, not_open};
use crate::lsp::state::ServerState;

pub fn folding_range(
    state: &ServerState,
    params: FoldingRangeParams,
) -> Result<Option<Vec<FoldingRange>>> {
    let uri = params.text_document.uri;
    let (text, _, _) = state.snapshot(&uri).ok_or_else(|| not_open(&uri))?;
    let indexed = IndexedText::new(&text, state.encoding());
    let ranges = outline::folds(&text)
        .into_iter()
        .filter_map(|fold| {
            let (range, kind) = match fold {
                Fold::Frontmatter(r) => (r, FoldingRangeKind::Comment),
                Fold::Section(r) => (r, FoldingRangeKind::Region),
            };
            let start_line = indexed.position(range.start).line;
            // The range ends at the next section's first byte; the fold ends on the line before.
            let end_line = indexed
                .position(range.end.saturating_sub(1).max(range.start))
                .line;
            (end_line > start_line).then_some(FoldingRange {
                start_line,
                start_character: None,
                end_line,
                end_character: None,
                kind: Some(kind),
                collapsed_text: None,
            })
        })
        .collect();
    Ok(Some(ranges))
}
