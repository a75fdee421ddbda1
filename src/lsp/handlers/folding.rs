//! Folding ranges for the frontmatter block and for each heading's section.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::outline::{self, Fold};
use std::sync::Arc;

use crate::lsp::convert::IndexedText;
use crate::lsp::state::ServerState;
use crate::lsp::work::on_document;

pub async fn folding_range(
    state: &Arc<ServerState>,
    params: FoldingRangeParams,
) -> Result<Option<Vec<FoldingRange>>> {
    on_document(state, &params.text_document.uri, |doc, _| {
        Ok(Some(fold_ranges(&doc.indexed)))
    })
    .await
}

fn fold_ranges(indexed: &IndexedText<'_>) -> Vec<FoldingRange> {
    outline::folds(indexed.text)
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
        .collect()
}
