//! Document symbols: headings as a tree, each placeholder under the heading it appears in.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::outline::{self, Section};
use crate::document::placeholders::{self, Placeholder};
use std::sync::Arc;

use crate::lsp::convert::IndexedText;
use crate::lsp::state::ServerState;
use crate::lsp::work::on_document;

/// Placeholders listed in the outline at most: a generated document with tens of thousands
/// would make an answer of megabytes that no outline view can show.
const MAX_PLACEHOLDER_SYMBOLS: usize = 2_000;

pub async fn document_symbol(
    state: &Arc<ServerState>,
    params: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>> {
    on_document(state, &params.text_document.uri, |doc, interrupt| {
        let parsed = placeholders::parse(doc.text());
        interrupt.check()?;
        let sections = outline::sections(doc.text());
        interrupt.check()?;
        let shown = parsed.placeholders.len().min(MAX_PLACEHOLDER_SYMBOLS);
        Ok(Some(DocumentSymbolResponse::Nested(symbols_within(
            &doc.indexed,
            &sections,
            &parsed.placeholders[..shown],
        ))))
    })
    .await
}

/// The symbols of `sections` (siblings, in document order) and of the `placeholders` (sorted,
/// all within the parent) outside them, in document order. Each placeholder is handed down to
/// the section holding it by binary search, so this is linear in the number of symbols.
fn symbols_within(
    indexed: &IndexedText<'_>,
    sections: &[Section],
    placeholders: &[Placeholder],
) -> Vec<DocumentSymbol> {
    let mut out = Vec::new();
    let mut rest = placeholders;
    for section in sections {
        let before = rest.partition_point(|p| p.span.start < section.range.start);
        out.extend(
            rest[..before]
                .iter()
                .map(|p| placeholder_symbol(indexed, p)),
        );
        rest = &rest[before..];
        let inside = rest.partition_point(|p| p.span.start < section.range.end);
        out.push(section_symbol(indexed, section, &rest[..inside]));
        rest = &rest[inside..];
    }
    out.extend(rest.iter().map(|p| placeholder_symbol(indexed, p)));
    out
}

#[allow(deprecated)] // `deprecated` is a required field of the struct, itself deprecated.
fn placeholder_symbol(indexed: &IndexedText<'_>, p: &Placeholder) -> DocumentSymbol {
    DocumentSymbol {
        name: p.name.clone(),
        detail: Some(format!("{} placeholder", p.kind.keyword())),
        kind: SymbolKind::VARIABLE,
        tags: None,
        deprecated: None,
        range: indexed.range(&p.span),
        selection_range: indexed.range(&p.name_span),
        children: None,
    }
}

#[allow(deprecated)]
fn section_symbol(
    indexed: &IndexedText<'_>,
    section: &Section,
    placeholders: &[Placeholder],
) -> DocumentSymbol {
    // A placeholder belongs to the innermost section: this one, unless a child section has it.
    let children = symbols_within(indexed, &section.children, placeholders);
    let title = if section.title.is_empty() {
        "(untitled)".to_string()
    } else {
        section.title.clone()
    };
    DocumentSymbol {
        name: title,
        detail: Some("#".repeat(section.level as usize)),
        kind: SymbolKind::STRING,
        tags: None,
        deprecated: None,
        range: indexed.range(&section.range),
        selection_range: indexed.range(&section.heading),
        children: Some(children),
    }
}
