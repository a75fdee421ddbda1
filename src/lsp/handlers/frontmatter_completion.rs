//! Completion inside a library prompt's frontmatter: the keys the library reads, and tags
//! already used across the library (most used first).

use tower_lsp_server::ls_types::*;

use crate::document::frontmatter::{self, Spot};
use crate::lsp::convert::IndexedText;
use crate::lsp::state::ServerState;

const KEYS: &[(&str, &str)] = &[
    (
        "title",
        "required: the prompt's name in completion and pickers",
    ),
    ("description", "one sentence shown beside the prompt"),
    (
        "tags",
        "words for search and context selection, e.g. [review, code]",
    ),
];

/// Completion in the frontmatter of an agent file: the keys its format accepts, each with what
/// it does in which tool.
pub fn complete_agent_keys(
    indexed: &IndexedText<'_>,
    offset: usize,
    format: crate::formats::Format,
) -> Option<Vec<CompletionItem>> {
    match frontmatter::spot(indexed.text, offset) {
        Spot::Key { start } => Some(key_items(
            indexed,
            start..offset,
            crate::formats::keys::keys(format)
                .iter()
                .map(|k| (k.name, k.doc)),
        )),
        _ => None,
    }
}

/// Items for `keys` not yet written in the block, replacing `replaced`.
fn key_items<'k>(
    indexed: &IndexedText<'_>,
    replaced: std::ops::Range<usize>,
    keys: impl Iterator<Item = (&'k str, &'k str)>,
) -> Vec<CompletionItem> {
    let text = indexed.text;
    let range = indexed.range(&replaced);
    keys
        // Keys already in the block are not offered again.
        .filter(|(key, _)| !text.lines().any(|l| l.starts_with(&format!("{key}:"))))
        .map(|(key, detail)| CompletionItem {
            label: key.to_string(),
            kind: Some(CompletionItemKind::PROPERTY),
            detail: Some(detail.to_string()),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
                range,
                format!("{key}: "),
            ))),
            ..Default::default()
        })
        .collect()
}

pub fn complete(
    state: &ServerState,
    indexed: &IndexedText<'_>,
    offset: usize,
) -> Option<Vec<CompletionItem>> {
    let text = indexed.text;
    match frontmatter::spot(text, offset) {
        Spot::Key { start } => Some(key_items(
            indexed,
            start..offset,
            KEYS.iter().map(|(key, detail)| (*key, *detail)),
        )),
        Spot::Tag { start } => {
            let library = state.library()?;
            let range = indexed.range(&(start..offset));
            // Tags already written on this line are not offered again.
            let line_start = crate::document::line_index::line_start(text, start);
            let written: Vec<&str> = text[line_start..start]
                .split([',', '[', ' ', ':'])
                .map(str::trim)
                .collect();
            let mut tags = library.all_tags();
            tags.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let items = tags
                .into_iter()
                .filter(|(tag, _)| !written.contains(&tag.as_str()))
                .enumerate()
                .map(|(rank, (tag, count))| CompletionItem {
                    label: tag.clone(),
                    kind: Some(CompletionItemKind::ENUM_MEMBER),
                    detail: Some(format!(
                        "used by {count} prompt{}",
                        if count == 1 { "" } else { "s" }
                    )),
                    sort_text: Some(format!("{rank:05}")),
                    text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(range, tag))),
                    ..Default::default()
                })
                .collect();
            Some(items)
        }
        Spot::None => None,
    }
}
