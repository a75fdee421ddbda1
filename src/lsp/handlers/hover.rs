//! `textDocument/hover`: on a placeholder (any dialect), its type, how the owning tool fills it
//! and the other lines using the same name; on an agent file's frontmatter key, what the key does
//! in which tool; on a file link, a preview of the linked file.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::document::placeholders::{Dialect, Dialects, Placeholder};
use crate::document::{frontmatter, links, placeholders};
use crate::formats::{self, Format};
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
    let format = uri_to_path(&uri).and_then(|p| formats::detect(&p));
    let target = on_document(state, &uri, move |doc, _| {
        target_at(&doc.indexed, position.position, format)
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

fn target_at(
    indexed: &IndexedText<'_>,
    position: Position,
    format: Option<Format>,
) -> Result<Target> {
    let text = indexed.text;
    let offset = indexed.offset(position)?;
    if let Some(format) = format
        && let Some((key, span)) = frontmatter::key_at(text, offset)
    {
        return Ok(match formats::keys::doc(format, &key) {
            Some(doc) => Target::Placeholder(markdown(
                format!("**`{key}`** — {}\n\n{}", format.label(), doc.doc),
                indexed.range(&span),
            )),
            None => Target::Placeholder(markdown(
                format!(
                    "**`{key}`** — not a key of {} files; {} ignores it",
                    format.label(),
                    format.tool()
                ),
                indexed.range(&span),
            )),
        });
    }
    let dialects: Dialects = formats::dialects_of(format, text);
    let parsed = placeholders::parse_with(text, &dialects);
    if let Some(v) = parsed
        .context_variables
        .iter()
        .find(|v| v.span.start <= offset && offset <= v.span.end)
    {
        let what = placeholders::VSCODE_CONTEXT_VARIABLES
            .iter()
            .find(|(name, _)| *name == v.name)
            .map_or("", |(_, what)| what);
        return Ok(Target::Placeholder(markdown(
            format!(
                "**VS Code context variable** `${{{}}}`: {what}. VS Code fills it when the prompt runs; it is not a tabstop.",
                v.name
            ),
            indexed.range(&v.span),
        )));
    }
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
    let mut value = explain(p);
    value.push_str("\n\n");
    if others.is_empty() {
        value.push_str("Appears only here.");
    } else {
        let lines: Vec<String> = others.iter().map(|l| (l + 1).to_string()).collect();
        value.push_str(&format!("Also on line {}.", lines.join(", ")));
    }
    Ok(Target::Placeholder(markdown(value, indexed.range(&p.span))))
}

/// What a placeholder is and how the tool that owns its dialect fills it.
fn explain(p: &Placeholder) -> String {
    let name = &p.name;
    match p.dialect {
        Dialect::PromptStack => format!("**{}** placeholder `{name}`", p.kind.keyword()),
        Dialect::VsCodeInput => {
            let hint = p
                .default
                .as_deref()
                .map(|h| format!(" (hint: {h})"))
                .unwrap_or_default();
            format!(
                "**VS Code input** `{name}`{hint}: VS Code asks for the value when the prompt runs. Rendering fills it from the value `{name}`."
            )
        }
        Dialect::Mustache => format!(
            "**Mustache/Handlebars variable** `{name}` (dotprompt, Langfuse, GitHub Models, many skills): the template engine fills it. Rendering fills it from the value `{name}`."
        ),
        Dialect::Arguments if name == "ARGUMENTS" => "**`$ARGUMENTS`**: everything typed after the command, in Claude Code, Codex and OpenCode.".into(),
        Dialect::Arguments if name.starts_with("ARGUMENTS[") => format!(
            "**`${name}`** (Claude Code): one argument by its 0-based index, so `$ARGUMENTS[0]` is the first."
        ),
        Dialect::Arguments if name.bytes().all(|b| b.is_ascii_digit()) => format!(
            "**`${name}`**: a positional argument. Claude Code counts from 0 (`${name}` is `$ARGUMENTS[{name}]`, so `$1` is the second argument); Codex and OpenCode count from 1 (`$1` is the first)."
        ),
        Dialect::Arguments => format!(
            "**`${name}`** (Claude Code): the named argument `{name}` listed in `arguments:`."
        ),
    }
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
