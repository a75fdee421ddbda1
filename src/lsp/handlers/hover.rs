//! `textDocument/hover`: on a placeholder, its type and the other lines using the same name; on
//! a file link, a preview of the linked file.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::{links, placeholders};
use crate::lsp::convert::{IndexedText, not_open, uri_to_path};
use crate::lsp::state::ServerState;

/// Lines of a linked file shown in the preview.
const PREVIEW_LINES: usize = 20;

pub async fn hover(state: &ServerState, params: HoverParams) -> Result<Option<Hover>> {
    let position = params.text_document_position_params;
    let uri = position.text_document.uri;
    let (text, _, _) = state.snapshot(&uri).ok_or_else(|| not_open(&uri))?;
    let indexed = IndexedText::new(&text, state.encoding());
    let offset = indexed.offset(position.position)?;

    let parsed = placeholders::parse(&text);
    if let Some(p) = parsed.at(offset) {
        let here = indexed
            .index
            .position(&text, p.span.start, indexed.encoding)
            .line;
        let mut others: Vec<u32> = parsed
            .placeholders
            .iter()
            .filter(|o| o.name == p.name && o.span != p.span)
            .map(|o| {
                indexed
                    .index
                    .position(&text, o.span.start, indexed.encoding)
                    .line
            })
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
        return Ok(Some(markdown(value, indexed.range(&p.span))));
    }

    let Some(link) = links::at(&text, offset) else {
        return Ok(None);
    };
    let Some(dir) = uri_to_path(&uri).and_then(|p| p.parent().map(|d| d.to_path_buf())) else {
        return Ok(None);
    };
    let Some(path) = link.file_path(&dir) else {
        return Ok(None);
    };
    let range = indexed.range(&link.span);
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

fn markdown(value: String, range: Range) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(range),
    }
}
