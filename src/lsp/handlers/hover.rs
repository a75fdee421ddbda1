//! `textDocument/hover`: on a placeholder, its type and the other lines using the same name; on
//! a file link, a preview of the linked file.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::{links, placeholders};
use std::sync::Arc;

use crate::lsp::convert::{IndexedText, uri_to_path};
use crate::lsp::state::ServerState;
use crate::lsp::work::on_document;

/// Lines of a linked file shown in the preview.
const PREVIEW_LINES: usize = 20;

/// What the cursor is on, found off the protocol loop.
enum Target {
    Placeholder(Hover),
    /// A link and the range of its whole `[title](target)`.
    Link(links::Link, Range),
    Nothing,
}

pub async fn hover(state: &Arc<ServerState>, params: HoverParams) -> Result<Option<Hover>> {
    let position = params.text_document_position_params;
    let uri = position.text_document.uri;
    let target = on_document(state, &uri, move |doc, _| {
        target_at(&doc.indexed, position.position)
    })
    .await?;
    let (link, range) = match target {
        Target::Placeholder(hover) => return Ok(Some(hover)),
        Target::Link(link, range) => (link, range),
        Target::Nothing => return Ok(None),
    };
    let Some(dir) = uri_to_path(&uri).and_then(|p| p.parent().map(|d| d.to_path_buf())) else {
        return Ok(None);
    };
    let Some(path) = link.file_path(&dir) else {
        return Ok(None);
    };
    let read = path.clone();
    // Previews show what is in the workspace or the library, never any other readable file a
    // link names (`/etc/shadow` when running as root).
    let mut allowed = state.workspace_folders();
    allowed.push(state.data_paths().library_dir);
    let preview = tokio::task::spawn_blocking(move || {
        if !crate::confine::is_within(&read, &allowed) {
            return Err(Unshown::Outside);
        }
        if !read.is_file() {
            return Err(if read.exists() {
                Unshown::Directory
            } else {
                Unshown::Missing
            });
        }
        Ok(links::preview(&read, PREVIEW_LINES))
    })
    .await
    .unwrap_or(Err(Unshown::Missing));
    let value = match preview {
        Ok(Some((head, truncated))) => {
            let language = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let fence = if head.contains("```") { "~~~~" } else { "```" };
            format!(
                "`{}`\n\n{fence}{language}\n{head}\n{fence}{}",
                path.display(),
                if truncated { "\n\n…" } else { "" }
            )
        }
        Ok(None) => format!("`{}` (binary or unreadable file)", path.display()),
        Err(Unshown::Outside) => {
            format!("`{}` — outside the workspace (no preview)", path.display())
        }
        Err(Unshown::Directory) => format!("`{}` (a directory)", path.display()),
        Err(Unshown::Missing) => format!("`{}` does not exist", path.display()),
    };
    Ok(Some(markdown(value, range)))
}

/// Why a linked file has no preview.
enum Unshown {
    /// Outside the workspace folders and the library.
    Outside,
    Directory,
    Missing,
}

fn target_at(indexed: &IndexedText<'_>, position: Position) -> Result<Target> {
    let text = indexed.text;
    let offset = indexed.offset(position)?;
    let parsed = placeholders::parse(text);
    let Some(p) = parsed.at(offset) else {
        return Ok(match links::at(text, offset) {
            Some(link) => {
                let range = indexed.range(&link.span);
                Target::Link(link, range)
            }
            None => Target::Nothing,
        });
    };
    let line_of = |offset: usize| indexed.index.position(text, offset, indexed.encoding).line;
    let here = line_of(p.span.start);
    let mut others: Vec<u32> = parsed
        .placeholders
        .iter()
        .filter(|o| o.name == p.name && o.span != p.span)
        .map(|o| line_of(o.span.start))
        .filter(|line| *line != here)
        .collect();
    others.dedup();
    let mut value = format!("**{}** placeholder `{}`\n\n", p.kind.keyword(), p.name);
    if others.is_empty() {
        value.push_str("Appears only here.");
    } else {
        let lines: Vec<String> = others.iter().map(|l| (l + 1).to_string()).collect();
        value.push_str(&format!("Also on line {}.", lines.join(", ")));
    }
    Ok(Target::Placeholder(markdown(value, indexed.range(&p.span))))
}

fn markdown(value: String, range: Range) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(range),
    }
}
