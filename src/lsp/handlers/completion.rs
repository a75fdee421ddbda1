//! Completion: library prompts after `/` at the start of a line (inserted as snippets), and
//! placeholder kinds and names after `{{`.

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use std::sync::Arc;

use crate::document::DocumentKind;
use crate::document::file_refs::{self, FileRefContext};
use crate::document::placeholders;
use crate::library::prompt::Prompt;
use crate::library::snippet;
use crate::lsp::handlers::commands::PROMPT_USED;
use crate::lsp::state::ServerState;
use crate::lsp::work::{Snapshot, on_document};

/// Most prompts offered per request; the list is incomplete, so typing refines it.
const MAX_PROMPTS: usize = 25;
/// Most bytes of one answer's JSON. Each item carries its whole body as the snippet (LSP lets a
/// client resolve the documentation lazily, never the text it inserts; the preview comes only on
/// resolve), so with 1–3 KB prompts this ends the list before `MAX_PROMPTS`, after about a
/// dozen items: as many as an editor shows at once.
const ANSWER_BUDGET: usize = 32 * 1024;
/// `{"isIncomplete":true,"items":[]}` around the items.
const ANSWER_ENVELOPE: usize = 32;
/// Body lines shown in the resolved documentation.
const PREVIEW_LINES: usize = 40;

/// The completion capability advertised at `initialize`.
pub fn capability() -> CompletionOptions {
    CompletionOptions {
        trigger_characters: Some(vec![
            "/".into(),
            "{".into(),
            ":".into(),
            "(".into(),
            "@".into(),
        ]),
        resolve_provider: Some(true),
        ..Default::default()
    }
}

/// What the text before the cursor asks for. Offsets are bytes into the document.
#[derive(Debug, PartialEq, Eq)]
enum Context {
    /// `/query` at the start of a line: `start` is the `/`.
    Prompt {
        start: usize,
        query: String,
    },
    /// `{{` then part of a kind keyword: `start` is just after `{{`.
    PlaceholderKind {
        start: usize,
    },
    /// `{{text:` / `{{list:` then part of a name: `start` is just after the colon.
    PlaceholderName {
        start: usize,
    },
    None,
}

fn context(text: &str, offset: usize) -> Context {
    let line_start = crate::document::line_index::line_start(text, offset);
    let prefix = &text[line_start..offset];
    let indent = prefix.len() - prefix.trim_start().len();
    if let Some(query) = prefix.trim_start().strip_prefix('/') {
        return Context::Prompt {
            start: line_start + indent,
            query: query.to_string(),
        };
    }
    if let Some(open) = prefix.rfind("{{")
        && !prefix[open..].contains("}}")
    {
        let inner = &prefix[open + 2..];
        let inner_start = line_start + open + 2;
        let is_name = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        return match inner.split_once(':') {
            Some(("text" | "list", name)) if is_name(name) => Context::PlaceholderName {
                start: inner_start + inner.len() - name.len(),
            },
            None if inner.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Context::PlaceholderKind { start: inner_start }
            }
            _ => Context::None,
        };
    }
    Context::None
}

/// What a completion request asks for, read from the document off the protocol loop.
enum Asked {
    Prompt {
        query: String,
        range: Range,
    },
    PlaceholderKind {
        range: Range,
    },
    PlaceholderName {
        range: Range,
        /// `}}` already follows the cursor.
        closed: bool,
        /// The complete placeholder around the cursor, if any.
        inside: Option<InsidePlaceholder>,
        /// Placeholder names in this document, first use first, without the one being typed.
        document_names: Vec<(String, placeholders::PlaceholderKind)>,
    },
    File {
        context: FileRefContext,
        range: Range,
        typed: String,
    },
    Items(Vec<CompletionItem>),
    Nothing,
}

/// The placeholder the cursor is inside: its values from history replace it whole.
struct InsidePlaceholder {
    name: String,
    /// Its text before the cursor.
    typed: String,
    span: Range,
}

pub async fn completion(
    state: &Arc<ServerState>,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let position = params.text_document_position;
    let uri = position.text_document.uri;
    let reader = state.clone();
    let format = crate::lsp::convert::uri_to_path(&uri).and_then(|p| crate::formats::detect(&p));
    let asked = on_document(state, &uri, move |doc, _| {
        read_request(&reader, doc, position.position, format)
    })
    .await?;
    let items = match asked {
        Asked::Prompt { query, range } => {
            return Ok(Some(CompletionResponse::List(CompletionList {
                is_incomplete: true,
                items: prompt_items(state, &uri, &query, range),
            })));
        }
        Asked::PlaceholderKind { range } => ["text", "list"]
            .into_iter()
            .map(|kind| CompletionItem {
                label: format!("{kind}:"),
                kind: Some(CompletionItemKind::KEYWORD),
                detail: Some(if kind == "text" {
                    "free text placeholder".into()
                } else {
                    "bulleted list placeholder".into()
                }),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
                    range,
                    format!("{kind}:"),
                ))),
                ..Default::default()
            })
            .collect(),
        Asked::PlaceholderName {
            range,
            closed,
            inside,
            document_names,
        } => {
            // Inside a complete placeholder, values filled in before come first.
            let mut items = match inside {
                Some(p) => {
                    let values = super::history::placeholder_values(state, p.name.clone()).await;
                    value_items(&p.typed, values, p.span, &p.name)
                }
                None => Vec::new(),
            };
            items.extend(
                placeholder_names(state, document_names)
                    .into_iter()
                    .enumerate()
                    .map(|(rank, (name, detail))| CompletionItem {
                        label: name.clone(),
                        kind: Some(CompletionItemKind::VARIABLE),
                        detail: Some(detail),
                        sort_text: Some(format!("1{rank:05}")),
                        text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
                            range,
                            if closed { name } else { format!("{name}}}}}") },
                        ))),
                        ..Default::default()
                    }),
            );
            items
        }
        Asked::File {
            context,
            range,
            typed,
        } => {
            return super::file_completion::complete(state, &uri, context, range, typed).await;
        }
        Asked::Items(items) => items,
        Asked::Nothing => return Ok(None),
    };
    Ok(Some(CompletionResponse::Array(items)))
}

/// Reads what the cursor asks for; the document-sized part of completion.
fn read_request(
    state: &ServerState,
    doc: &Snapshot<'_>,
    position: Position,
    format: Option<crate::formats::Format>,
) -> Result<Asked> {
    // Editors such as Helix start the server for every Markdown file: only compositions and
    // library prompts get completion, as the README promises.
    if doc.kind == DocumentKind::Other {
        return Ok(Asked::Nothing);
    }
    let indexed = &doc.indexed;
    let text = indexed.text;
    let offset = indexed.offset(position)?;
    // In an agent file `/` and `{{` belong to its tool (slash commands, templates): only its
    // frontmatter keys are completed.
    if doc.kind == DocumentKind::AgentFile {
        return Ok(format
            .and_then(|f| super::frontmatter_completion::complete_agent_keys(indexed, offset, f))
            .map_or(Asked::Nothing, Asked::Items));
    }
    let replace = |start: usize| indexed.range(&(start..offset));
    Ok(match context(text, offset) {
        Context::Prompt { start, query } => Asked::Prompt {
            query,
            range: replace(start),
        },
        Context::PlaceholderKind { start } => Asked::PlaceholderKind {
            range: replace(start),
        },
        Context::PlaceholderName { start } => {
            let parsed = placeholders::parse(text);
            let editing = parsed.at(offset).filter(|p| offset < p.span.end);
            let inside = editing.map(|p| InsidePlaceholder {
                name: p.name.clone(),
                typed: text[p.span.start..offset].to_string(),
                span: indexed.range(&p.span),
            });
            // The placeholder being typed does not count: `{{text:au` must not offer `au`
            // because of itself.
            let document_names = parsed
                .placeholders
                .iter()
                .filter(|p| Some(&p.span) != editing.map(|e| &e.span))
                .map(|p| (p.name.clone(), p.kind))
                .collect();
            Asked::PlaceholderName {
                range: replace(start),
                closed: text[offset..].starts_with("}}"),
                inside,
                document_names,
            }
        }
        Context::None if doc.kind == DocumentKind::Composition => {
            match file_refs::context(text, offset) {
                Some(context) => Asked::File {
                    range: replace(context.start()),
                    typed: text[context.start()..offset].to_string(),
                    context,
                },
                None => Asked::Nothing,
            }
        }
        Context::None if doc.kind == DocumentKind::LibraryPrompt => {
            match super::frontmatter_completion::complete(state, indexed, offset) {
                Some(items) => Asked::Items(items),
                None => Asked::Nothing,
            }
        }
        Context::None => Asked::Nothing,
    })
}

/// Ranked prompts as items. The client must not re-filter them (the ranking is typo-tolerant),
/// so every item's filter text is exactly what was typed.
fn prompt_items(state: &ServerState, uri: &Uri, query: &str, range: Range) -> Vec<CompletionItem> {
    let Some(library) = state.library() else {
        return Vec::new();
    };
    let hits = match library.search(query, MAX_PROMPTS) {
        Ok(hits) => hits,
        Err(e) => {
            tracing::warn!("prompt search failed: {e}");
            return Vec::new();
        }
    };
    let snippets = state.features().snippets;
    let mut items = Vec::with_capacity(hits.len());
    let mut bytes = ANSWER_ENVELOPE;
    for (rank, hit) in hits.iter().enumerate() {
        let item = prompt_item(&hit.prompt, rank, query, range, uri, snippets);
        // The item and its comma; the best one is always sent, however large.
        bytes += serde_json::to_vec(&item).map_or(0, |json| json.len()) + 1;
        if bytes > ANSWER_BUDGET && !items.is_empty() {
            break;
        }
        items.push(item);
    }
    state.uses.lock().unwrap_or_else(|p| p.into_inner()).offer(
        uri.as_str(),
        hits[..items.len()]
            .iter()
            .map(|h| (h.prompt.id.as_str(), h.prompt.body.as_str())),
    );
    items
}

/// One library prompt as a completion item: its body as a snippet (or plain text) replacing
/// `range`; accepting it runs the command that records the use.
fn prompt_item(
    p: &Prompt,
    rank: usize,
    query: &str,
    range: Range,
    uri: &Uri,
    snippets: bool,
) -> CompletionItem {
    let mut detail = match (&p.source, p.format) {
        // The format and where it lives: "Agent Skill · from team · ~/.claude/skills/pdf".
        (source, Some(format)) => {
            let place = p
                .path
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let from = source
                .as_deref()
                .map(|s| format!(" · from {s}"))
                .unwrap_or_default();
            format!("{}{from} · {place}", format.label())
        }
        (Some(source), None) => format!("from {source}"),
        (None, None) => p.category.clone().unwrap_or_default(),
    };
    if !p.tags.is_empty() {
        if !detail.is_empty() {
            detail.push_str(" · ");
        }
        detail.push_str(&p.tags.join(", "));
    }
    let (new_text, format) = if snippets {
        (
            snippet::to_snippet_with(&p.body, &p.dialects()),
            InsertTextFormat::SNIPPET,
        )
    } else {
        (
            snippet::to_plain_text(&p.body),
            InsertTextFormat::PLAIN_TEXT,
        )
    };
    CompletionItem {
        label: p.title.clone(),
        kind: Some(CompletionItemKind::SNIPPET),
        detail: Some(detail),
        sort_text: Some(format!("{rank:05}")),
        filter_text: Some(format!("/{query}")),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(range, new_text))),
        insert_text_format: Some(format),
        command: Some(Command::new(
            "Record prompt use".into(),
            PROMPT_USED.into(),
            Some(vec![json!({ "id": p.id, "uri": uri.as_str() })]),
        )),
        // No `data`: resolve reads the id from the command, which every client echoes.
        ..Default::default()
    }
}

/// Values used before for a placeholder, most recent first; accepting one replaces the whole
/// placeholder. `typed` is the placeholder text before the cursor, so clients that filter by the
/// replaced range keep the items.
fn value_items(typed: &str, values: Vec<String>, span: Range, name: &str) -> Vec<CompletionItem> {
    values
        .into_iter()
        .enumerate()
        .map(|(rank, value)| CompletionItem {
            label: value.clone(),
            kind: Some(CompletionItemKind::VALUE),
            detail: Some(format!("used before for `{name}`")),
            sort_text: Some(format!("0{rank:05}")),
            filter_text: Some(format!("{typed}{value}")),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(span, value))),
            ..Default::default()
        })
        .collect()
}

/// Names used in this document first, then the library's by how many prompts use them.
fn placeholder_names(
    state: &ServerState,
    document_names: Vec<(String, placeholders::PlaceholderKind)>,
) -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<(String, String)> = document_names
        .into_iter()
        .filter(|(name, _)| seen.insert(name.clone()))
        .map(|(name, kind)| {
            let detail = format!("{} placeholder in this document", kind.keyword());
            (name, detail)
        })
        .collect();
    if let Some(library) = state.library() {
        let mut names = library.placeholder_names();
        names.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.extend(
            names
                .into_iter()
                .filter(|(name, _)| seen.insert(name.clone()))
                .map(|(name, uses)| (name, format!("used in {uses} library prompt(s)"))),
        );
    }
    out
}

/// Fills the documentation of a prompt item: description and a preview of the body.
pub fn resolve(state: &ServerState, mut item: CompletionItem) -> Result<CompletionItem> {
    let id = item
        .command
        .as_ref()
        .filter(|c| c.command == PROMPT_USED)
        .and_then(|c| c.arguments.as_ref()?.first()?.get("id"))
        .and_then(Value::as_str);
    let (Some(id), Some(library)) = (id, state.library()) else {
        return Ok(item);
    };
    if let Some(p) = library.get(id) {
        let mut doc = String::new();
        if let Some(d) = &p.description {
            doc.push_str(d);
            doc.push_str("\n\n---\n\n");
        }
        let lines: Vec<&str> = p.body.trim_start().lines().collect();
        doc.push_str(&lines[..lines.len().min(PREVIEW_LINES)].join("\n"));
        if lines.len() > PREVIEW_LINES {
            doc.push_str("\n\n…");
        }
        item.documentation = Some(Documentation::MarkupContent(MarkupContent {
            kind: MarkupKind::Markdown,
            value: doc,
        }));
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `$0` marks the cursor.
    fn check(fixture: &str, expected: Context) {
        let offset = fixture.find("$0").expect("cursor marker");
        let text = fixture.replace("$0", "");
        assert_eq!(context(&text, offset), expected, "in {fixture:?}");
    }

    #[test]
    fn contexts() {
        check(
            "intro\n  /rev$0",
            Context::Prompt {
                start: 8,
                query: "rev".into(),
            },
        );
        check(
            "/$0",
            Context::Prompt {
                start: 0,
                query: String::new(),
            },
        );
        check("a /rev$0", Context::None);
        check("x {{$0", Context::PlaceholderKind { start: 4 });
        check("x {{te$0", Context::PlaceholderKind { start: 4 });
        check("x {{text:na$0", Context::PlaceholderName { start: 9 });
        check("{{list:$0}}", Context::PlaceholderName { start: 7 });
        check("{{text:a}} $0", Context::None);
        check("{{Text:$0", Context::None);
        check("é {{text:ü$0", Context::None);
    }
}
