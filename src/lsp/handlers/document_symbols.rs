//! Document symbols: headings as a tree, each placeholder under the heading it appears in.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::outline::{self, Section};
use crate::document::placeholders::{self, Placeholder};
use crate::lsp::convert::{IndexedText, not_open};
use crate::lsp::state::ServerState;

pub fn document_symbol(
    state: &ServerState,
    params: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>> {
    let uri = params.text_document.uri;
    let (text, _, _) = state.snapshot(&uri).ok_or_else(|| not_open(&uri))?;
    let indexed = IndexedText::new(&text, state.encoding());
    let parsed = placeholders::parse(&text);
    let sections = outline::sections(&text);
    // Placeholders before the first heading (or in a file without headings) sit at the top.
    let mut symbols: Vec<DocumentSymbol> = parsed
        .placeholders
        .iter()
        .filter(|p| !sections.iter().any(|s| s.range.contains(&p.span.start)))
        .map(|p| placeholder_symbol(&indexed, p))
        .collect();
    symbols.extend(
        sections
            .iter()
            .map(|s| section_symbol(&indexed, s, &parsed.placeholders)),
    );
    symbols.sort_by_key(|s| (s.range.start.line, s.range.start.character));
    Ok(Some(DocumentSymbolResponse::Nested(symbols)))
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
    let mut children: Vec<DocumentSymbol> = section
        .children
        .iter()
        .map(|c| section_symbol(indexed, c, placeholders))
        .collect();
    // A placeholder belongs to the innermost section: this one, unless a child section has it.
    children.extend(
        placeholders
            .iter()
            .filter(|p| section.range.contains(&p.span.start))
            .filter(|p| {
                !section
                    .children
                    .iter()
                    .any(|c| c.range.contains(&p.span.start))
            })
            .map(|p| placeholder_symbol(indexed, p)),
    );
    children.sort_by_key(|s| (s.range.start.line, s.range.start.character));
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
