//! `promptstack.createPrompt`: writes a new prompt into the library, tells the library so it is
//! offered at once, and asks the client to open it.

use std::sync::Arc;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use crate::library::create::{self, CreateError, NewPrompt};
use crate::lsp::convert::path_to_uri;
use crate::lsp::state::ServerState;

const USAGE: &str = "expected `{ \"title\": string, \"description\"?: string, \"tags\"?: [string], \"category\": string, \"source\"?: \"library\" }`";

pub async fn execute(state: &Arc<ServerState>, args: Value) -> Result<Value> {
    let prompt = parse(&args)?;
    refuse_read_only_source(state, &args)?;
    let library_dir = state.data_paths().library_dir;
    let follow_links = state.config().config.follow_external_symlinks;
    let library = state.library();
    let dir = library_dir.clone();
    let path = tokio::task::spawn_blocking(move || {
        let path = create::create(&dir, &prompt, follow_links)?;
        // Index it before answering, so `/` completion offers it right away.
        if let Some(library) = library {
            library.apply_changes(vec![path.clone()]);
            if let Err(e) = library.flush() {
                tracing::warn!("library did not take the new prompt: {e}");
            }
        }
        Ok::<_, CreateError>(path)
    })
    .await
    .map_err(|e| Error::internal_error_with(format!("creating the prompt failed: {e}")))?
    .map_err(to_error)?;
    let uri = path_to_uri(&path)
        .ok_or_else(|| Error::internal_error_with(format!("no URI for {}", path.display())))?;
    let id = crate::library::prompt::id_for(&library_dir, &path).unwrap_or_default();
    show(state, uri.clone());
    Ok(json!({ "uri": uri.as_str(), "id": id }))
}

/// New prompts go into the library folder; the `library.sources` entries are read-only (an MCP
/// server's prompts are mirrored from the server).
fn refuse_read_only_source(state: &ServerState, args: &Value) -> Result<()> {
    let Some(source) = args.get("source").filter(|s| !s.is_null()) else {
        return Ok(());
    };
    let Some(name) = source.as_str() else {
        return Err(Error::invalid_params(format!(
            "`source` must be a string; {USAGE}"
        )));
    };
    if name == "library" {
        return Ok(());
    }
    let config = state.config();
    match config
        .config
        .library_sources
        .iter()
        .find(|s| s.name == name)
    {
        Some(spec) => Err(Error::invalid_params(format!(
            "the `{}` source `{name}` is read-only: its prompts come from {}; new prompts are \
             created in the library folder (leave out `source`)",
            spec.kind.type_name(),
            match &spec.kind {
                crate::config::SourceKind::Mcp(endpoint) => endpoint.describe(),
                crate::config::SourceKind::Git(git) => format!(
                    "the repository {} (change them there and push)",
                    crate::logging::secrets::mask_url(&git.url)
                ),
                _ => "elsewhere".to_string(),
            }
        ))),
        None => Err(Error::invalid_params(format!(
            "no prompt source `{name}`; prompts are created in the library folder (leave out `source`)"
        ))),
    }
}

fn parse(args: &Value) -> Result<NewPrompt> {
    let field = |name: &str| -> Result<Option<String>> {
        match args.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::invalid_params(format!(
                "`{name}` must be a string; {USAGE}"
            ))),
        }
    };
    let title = field("title")?
        .ok_or_else(|| Error::invalid_params(format!("`title` is required; {USAGE}")))?;
    let category = field("category")?
        .ok_or_else(|| Error::invalid_params(format!("`category` is required; {USAGE}")))?;
    let tags = match args.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| t.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::invalid_params(format!("`tags` must be strings; {USAGE}")))?,
        Some(_) => {
            return Err(Error::invalid_params(format!(
                "`tags` must be an array of strings; {USAGE}"
            )));
        }
    };
    Ok(NewPrompt {
        title,
        description: field("description")?,
        tags,
        category,
    })
}

/// Refusals of the user's input are `InvalidParams`; file system failures are internal errors.
pub fn to_error(e: CreateError) -> Error {
    match e {
        CreateError::Io(..) => Error::internal_error_with(e.to_string()),
        _ => Error::invalid_params(e.to_string()),
    }
}

/// Asks the client to open `uri`, when it can; in its own task so a silent client cannot stall
/// the command.
pub fn show(state: &Arc<ServerState>, uri: Uri) {
    if !state.features().opens_documents() {
        return;
    }
    let client = state.client.clone();
    tokio::spawn(async move {
        let params = ShowDocumentParams {
            uri,
            external: Some(false),
            take_focus: Some(true),
            selection: None,
        };
        if let Err(e) = client.show_document(params).await {
            tracing::warn!("client did not open the new file: {e}");
        }
    });
}

trait InternalWith {
    fn internal_error_with(message: String) -> Error;
}

impl InternalWith for Error {
    fn internal_error_with(message: String) -> Error {
        let mut e = Error::internal_error();
        e.message = message.into();
        e
    }
}
