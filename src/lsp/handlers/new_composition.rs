//! `promptstack.newComposition`: creates `<dir>/<name>.prompt.md` from a template (never over a
//! file) and asks the client to open it.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};

use super::create_prompt::{show, to_error};
use crate::document::composition_file;
use crate::library::create::CreateError;
use crate::lsp::convert::path_to_uri;
use crate::lsp::state::ServerState;

const USAGE: &str = "expected `{ \"directory\"?: path, \"name\"?: string }`";

pub async fn execute(state: &Arc<ServerState>, args: Value) -> Result<Value> {
    let text = |name: &str| -> Result<Option<String>> {
        match args.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::invalid_params(format!(
                "`{name}` must be a string; {USAGE}"
            ))),
        }
    };
    let name = text("name")?;
    let folders = state.workspace_folders();
    let first_folder = folders.first().cloned();
    let dir = match (text("directory")?, first_folder) {
        (Some(d), folder) => {
            let d = PathBuf::from(d);
            match (d.is_absolute(), folder) {
                (true, _) => d,
                (false, Some(folder)) => folder.join(d),
                (false, None) => {
                    return Err(Error::invalid_params(
                        "`directory` must be an absolute path when no workspace folder is open",
                    ));
                }
            }
        }
        (None, Some(folder)) => folder,
        (None, None) => {
            return Err(Error::invalid_params(format!(
                "no workspace folder is open, so give a `directory`; {USAGE}"
            )));
        }
    };
    let stamp = timestamp();
    let path = tokio::task::spawn_blocking(move || {
        // With workspace folders open, compositions are written inside one of them (the real
        // path: `..` and symbolic links resolved). With none, an absolute directory is the
        // user's explicit choice.
        let target = if folders.is_empty() {
            crate::confine::real_path(&dir)
        } else {
            crate::confine::within(&dir, &folders)
        };
        let target = target.ok_or_else(|| {
            CreateError::Outside(dir.clone(), PathBuf::from("every workspace folder"))
        })?;
        composition_file::create(&target, name.as_deref(), &stamp)
    })
    .await
    .map_err(|e| Error::invalid_params(format!("creating the composition failed: {e}")))?
    .map_err(to_error)?;
    let uri = path_to_uri(&path)
        .ok_or_else(|| Error::invalid_params(format!("{} cannot be a file URI", path.display())))?;
    show(state, uri.clone());
    Ok(json!({ "uri": uri.as_str() }))
}

/// `YYYYMMDD-HHMMSS` in local time (UTC when the offset is unknown).
fn timestamp() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(time::macros::format_description!(
        "[year][month][day]-[hour][minute][second]"
    ))
    .unwrap_or_else(|_| now.unix_timestamp().to_string())
}
