//! `promptstack.history.related`: compositions related to one (sharing library prompts, tags or
//! the workspace), best first. The composition is named by `id` or by the `uri` of its source
//! file (the composition open in the editor).

use std::path::PathBuf;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::Uri;

use super::history::{count_arg, history, rfc3339};
use crate::history::{CompositionSummary, HistoryError, RelatedComposition};
use crate::lsp::convert::{path_to_uri, uri_to_path};
use crate::lsp::state::ServerState;

pub async fn related(state: &ServerState, args: Value) -> Result<Value> {
    let history = history(state)?;
    let id = args.get("id").and_then(Value::as_str).map(str::to_string);
    let source = match args.get("uri").and_then(Value::as_str) {
        Some(uri) => Some(
            uri.parse::<Uri>()
                .ok()
                .and_then(|u| uri_to_path(&u))
                .ok_or_else(|| Error::invalid_params(format!("`uri` is not a file URI: {uri}")))?,
        ),
        None => None,
    };
    if id.is_none() && source.is_none() {
        return Err(Error::invalid_params(
            "expected `{ \"id\": \"<composition id>\" }` or `{ \"uri\": \"<composition file>\" }`",
        ));
    }
    let limit = count_arg(&args, "limit")?.unwrap_or(10).clamp(1, 100);
    let shared = history.clone();
    let (of, found): (CompositionSummary, Vec<(RelatedComposition, PathBuf)>) = history
        .query(state, move |repo| {
            let of = match (&id, &source) {
                (Some(id), _) => repo.load(id)?.map(|c| c.summary),
                (None, Some(path)) => repo.find_by_source(path)?,
                (None, None) => None,
            };
            let of = of.ok_or_else(|| {
                HistoryError::NotFound(
                    id.clone()
                        .or_else(|| source.as_ref().map(|p| p.display().to_string()))
                        .unwrap_or_default(),
                )
            })?;
            let related = repo.related(&of.id, limit)?;
            let summaries: Vec<CompositionSummary> =
                related.iter().map(|r| r.summary.clone()).collect();
            let files = shared.files_of(repo, &summaries);
            Ok((of, related.into_iter().zip(files).collect()))
        })
        .await?;
    let results: Vec<Value> = found
        .into_iter()
        .map(|(r, file)| {
            json!({
                "id": r.summary.id,
                "title": r.summary.title,
                "score": r.score,
                "shared_prompts": r.shared_prompts,
                "shared_tags": r.shared_tags,
                "same_workspace": r.same_workspace,
                "uri": path_to_uri(&file).map(|u| u.as_str().to_string()),
                "updated_at": rfc3339(r.summary.updated_at),
                "author": r.summary.author,
            })
        })
        .collect();
    Ok(json!({ "id": of.id, "title": of.title, "results": results }))
}
