//! Code actions on a placeholder, for every client and most of all for those without snippets:
//! `Fill placeholder` asks for a value and replaces every occurrence of the placeholder;
//! `Convert list placeholder to bullets` turns a `{{list:name}}` standing on its own line into a
//! bullet to type into.
//!
//! LSP has no request for free text, so `promptstack.fillPlaceholder` takes the value as an
//! argument from clients that can prompt (`{uri, name, value}`); without one it offers the values
//! filled into that name before (history) through `window/showMessageRequest`.

use std::ops::Range;
use std::sync::Arc;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use super::ai_review::{failed, uri_arg};
use super::code_actions::wanted;
use crate::document::placeholders::{self, Fill, PlaceholderKind};
use crate::lsp::convert::{IndexedText, not_open, workspace_edit};
use crate::lsp::state::ServerState;

/// Replaces every occurrence of a placeholder with a value (given, or picked from earlier ones).
pub const FILL: &str = "promptstack.fillPlaceholder";

/// Earlier values offered at most (each one is a button in most editors).
const OFFERED_VALUES: usize = 5;

/// The actions for the placeholder at the start of `range`, if any.
pub fn actions(
    state: &ServerState,
    uri: &Uri,
    indexed: &IndexedText<'_>,
    version: i32,
    range: &Range<usize>,
    only: Option<&Vec<CodeActionKind>>,
) -> Vec<CodeActionOrCommand> {
    if !wanted(only, &CodeActionKind::REFACTOR_REWRITE) {
        return Vec::new();
    }
    let parsed = placeholders::parse(indexed.text);
    let Some(placeholder) = parsed.at(range.start) else {
        return Vec::new();
    };
    let written = format!(
        "{{{{{}:{}}}}}",
        placeholder.kind.keyword(),
        placeholder.name
    );
    let mut out = vec![CodeActionOrCommand::CodeAction(CodeAction {
        title: format!("Fill placeholder {written}…"),
        kind: Some(CodeActionKind::REFACTOR_REWRITE),
        command: Some(Command {
            title: format!("Fill placeholder {written}"),
            command: FILL.into(),
            arguments: Some(vec![
                json!({ "uri": uri.as_str(), "name": placeholder.name }),
            ]),
        }),
        ..Default::default()
    })];
    if placeholder.kind == PlaceholderKind::List
        && placeholders::on_own_line(indexed.text, placeholder)
    {
        // One empty item: a bullet at the right indent, with the cursor's line ready to type.
        let (replaced, bullet) =
            placeholders::replacement(indexed.text, placeholder, &Fill::List(vec![String::new()]));
        let edit = TextEdit {
            range: indexed.range(&replaced),
            new_text: bullet,
        };
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("Convert {written} to bullets"),
            kind: Some(CodeActionKind::REFACTOR_REWRITE),
            edit: Some(workspace_edit(
                &state.features(),
                uri.clone(),
                version,
                vec![edit],
            )),
            ..Default::default()
        }));
    }
    out
}

/// `promptstack.fillPlaceholder` `{uri, name, value?}`: replaces every `{{…:name}}` in the
/// document with `value` (a string, or an array of items for a list), through
/// `workspace/applyEdit`. Without a value, asks the user to pick one used before.
pub async fn fill(state: &Arc<ServerState>, args: Value) -> Result<Value> {
    let uri = uri_arg(&args)?;
    let name = args
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::invalid_params(
                "expected `{ \"uri\": ..., \"name\": \"<placeholder name>\", \"value\"?: ... }`",
            )
        })?
        .to_string();
    let kind = placeholder_kind(state, &uri, &name)?;
    let fill = match args.get("value").filter(|v| !v.is_null()) {
        Some(value) => Fill::from_json(value),
        None => match ask(state, &name, kind).await? {
            Some(fill) => fill,
            None => return Ok(json!({ "applied": false, "occurrences": 0 })),
        },
    };
    let fill = match (kind, fill) {
        // A value picked from history is text; for a list, each line is an item.
        (PlaceholderKind::List, Fill::Text(value)) => Fill::List(
            value
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        (_, fill) => fill,
    };
    if !state.features().apply_edit {
        return Err(failed(
            "this editor cannot apply edits from the server (no `workspace/applyEdit`); \
             use promptstack.render to get the filled text instead",
        ));
    }
    // Positions come from the text as it is now: the user may have typed while choosing.
    let (text, version, _) = state.snapshot(&uri).ok_or_else(|| not_open(&uri))?;
    let indexed = IndexedText::new(&text, state.encoding());
    let edits: Vec<TextEdit> = placeholders::parse(&text)
        .placeholders
        .iter()
        .filter(|p| p.name == name)
        .map(|p| {
            let (range, new_text) = placeholders::replacement(&text, p, &fill);
            TextEdit {
                range: indexed.range(&range),
                new_text,
            }
        })
        .collect();
    if edits.is_empty() {
        return Err(no_placeholder(&name));
    }
    let occurrences = edits.len();
    let answer = state
        .client
        .apply_edit(workspace_edit(&state.features(), uri, version, edits))
        .await
        .map_err(|e| failed(format!("the editor did not apply the edit: {}", e.message)))?;
    if answer.applied
        && let Fill::Text(value) = &fill
        && !value.trim().is_empty()
    {
        super::history::remember_placeholder_values(state, vec![(name, value.clone())]);
    }
    Ok(json!({ "applied": answer.applied, "occurrences": occurrences }))
}

fn no_placeholder(name: &str) -> Error {
    Error::invalid_params(format!(
        "there is no `{{{{text:{name}}}}}` or `{{{{list:{name}}}}}` in this document"
    ))
}

/// The kind of the first placeholder called `name` in the open document.
fn placeholder_kind(state: &ServerState, uri: &Uri, name: &str) -> Result<PlaceholderKind> {
    let (text, _, _) = state.snapshot(uri).ok_or_else(|| not_open(uri))?;
    placeholders::parse(&text)
        .placeholders
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.kind)
        .ok_or_else(|| no_placeholder(name))
}

/// Offers the values filled into `name` before; `None` when the user chose none.
async fn ask(state: &ServerState, name: &str, kind: PlaceholderKind) -> Result<Option<Fill>> {
    let mut values = super::history::placeholder_values(state, name.to_string()).await;
    values.truncate(OFFERED_VALUES);
    if values.is_empty() {
        return Err(Error::invalid_params(format!(
            "nothing was filled into `{name}` before, so there is nothing to offer; run {FILL} \
             with a value: {{ \"uri\": ..., \"name\": \"{name}\", \"value\": \"...\" }}"
        )));
    }
    let items = values
        .iter()
        .map(|value| MessageActionItem {
            title: value.clone(),
            properties: Default::default(),
        })
        .collect();
    let chosen = state
        .client
        .show_message_request(
            MessageType::INFO,
            format!("Fill {{{{{}:{name}}}}} with:", kind.keyword()),
            Some(items),
        )
        .await
        .map_err(|e| failed(format!("the editor did not ask: {}", e.message)))?;
    Ok(chosen
        .and_then(|item| values.into_iter().find(|v| *v == item.title))
        .map(Fill::Text))
}
