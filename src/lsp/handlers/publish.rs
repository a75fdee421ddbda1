//! `promptstack.library.publish`: writes library prompts into a workspace folder in another
//! tool's shape (`{to, dir, dryRun?, check?, category?, tag?, source?}`; `dir` relative to the
//! first workspace folder, and always inside one).

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, Result};

use crate::formats::publish::Target;
use crate::library::publish::{self, Filter, Mode};
use crate::lsp::convert::not_ready;
use crate::lsp::state::ServerState;

pub const PUBLISH: &str = "promptstack.library.publish";

const USAGE: &str = "expected `{ \"to\": \"skills|claude-commands|vscode-prompts|cursor-rules\", \
                     \"dir\": \".github/skills\", \"dryRun\": false, \"check\": false, \
                     \"category\": [], \"tag\": [], \"source\": [] }`";

pub async fn execute(state: &Arc<ServerState>, args: Value) -> Result<Value> {
    let library = state.library().ok_or_else(|| not_ready("the library"))?;
    let target = args
        .get("to")
        .and_then(Value::as_str)
        .and_then(Target::from_name)
        .ok_or_else(|| Error::invalid_params(format!("bad or missing `to`; {USAGE}")))?;
    let dir = args
        .get("dir")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| Error::invalid_params(format!("missing `dir`; {USAGE}")))?;
    let list = |key: &str| -> Vec<String> {
        match args.get(key) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let filter = Filter {
        categories: list("category"),
        tags: list("tag"),
        sources: list("source"),
    };
    let flag = |key: &str| args.get(key).and_then(Value::as_bool) == Some(true);
    let mode = if flag("check") {
        Mode::Check
    } else if flag("dryRun") {
        Mode::DryRun
    } else {
        Mode::Write
    };
    let folders = state.workspace_folders();
    let dir = match (dir.is_absolute(), folders.first()) {
        (true, _) => dir,
        (false, Some(first)) => first.join(dir),
        (false, None) => {
            return Err(Error::invalid_params(
                "no workspace folder is open: give an absolute `dir` inside one",
            ));
        }
    };
    let report = tokio::task::spawn_blocking(move || {
        // Only inside a workspace folder: a command must not write anywhere on the disk.
        let target_dir = crate::confine::within(&dir, &folders).ok_or_else(|| {
            Error::invalid_params(format!(
                "{} is not inside a workspace folder",
                dir.display()
            ))
        })?;
        publish::publish(&library.all(), &filter, target, &target_dir, mode)
            .map_err(|e| Error::invalid_params(e.to_string()))
    })
    .await
    .map_err(|e| Error::invalid_params(format!("publish failed: {e}")))??;
    let mut value = serde_json::to_value(&report).unwrap_or(Value::Null);
    value["outOfDate"] = Value::Bool(report.out_of_date());
    value["message"] = Value::String(report.summary());
    Ok(value)
}
