//! The `promptstack mcp` handler: the library as MCP prompts (paged, with argument completion
//! from history), tools for models, resource templates, and `prompts/list_changed` when the
//! library changes on disk. One [`PromptStackServer`] serves one client connection; they share
//! the [`Catalog`] (library and history).

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult, CompletionInfo,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListToolsResult, PaginatedRequestParams, Prompt as McpPrompt,
    PromptArgument, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Reference, ResourceContents, ResourceTemplate, Role, ServerCapabilities,
    ServerConfig, SubscriptionFilter,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer, SubscriptionContext};
use rmcp::{ErrorData, ServerHandler};
use serde_json::Value;

use super::catalog;
use super::tools;
use crate::history::CompositionRepository;
use crate::library::Library;

/// What every connection serves: the library and, when it opened, the history.
pub struct Catalog {
    pub library: Arc<Library>,
    pub history: Option<Arc<dyn CompositionRepository>>,
    /// Prompts per `prompts/list` page.
    pub page_size: usize,
}

/// The MCP server for one connection.
#[derive(Clone)]
pub struct PromptStackServer {
    catalog: Arc<Catalog>,
}

const LIBRARY_URI: &str = "promptstack://library/";
const HISTORY_URI: &str = "promptstack://history/";

impl PromptStackServer {
    /// A handler for one connection over the shared catalog.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        PromptStackServer { catalog }
    }

    fn prompt_entry(p: &crate::library::prompt::Prompt) -> McpPrompt {
        let arguments: Vec<PromptArgument> = catalog::arguments(p)
            .into_iter()
            .map(|a| {
                PromptArgument::new(a.name.clone())
                    .with_description(a.description())
                    .with_required(true)
            })
            .collect();
        McpPrompt::new(p.id.clone(), p.description.clone(), Some(arguments)).with_title(&p.title)
    }
}

/// Runs `work` on the blocking pool (history and file reads block).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ErrorData> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ErrorData::internal_error(format!("the request failed: {e}"), None))
}

/// String arguments as the client sent them; a list argument may also come as an array.
fn string_values(arguments: Option<&serde_json::Map<String, Value>>) -> HashMap<String, String> {
    arguments
        .map(|map| {
            map.iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Array(items) => items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join("\n"),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `{id}` of a resource URI: percent-decoded (clients encode the `/` inside ids).
fn decode_id(rest: &str) -> Option<String> {
    super::percent_decoded(rest)
}

impl ServerHandler for PromptStackServer {
    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_tools()
            .enable_resources()
            .enable_completions()
            .build();
        if let Some(prompts) = capabilities.prompts.as_mut() {
            prompts.list_changed = Some(true);
        }
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                "promptstack",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "PromptStack serves the user's prompt library and composition history. Use \
                 search_prompts to find a prompt, get_prompt to fill one in, search_history and \
                 get_composition for what the user wrote before.",
            )
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        // Session clients (the initialize handshake) hear about changes here; clients of the
        // per-request protocol subscribe with `subscriptions/listen` (see `listen`).
        let mut changes = self.catalog.library.subscribe();
        let peer = context.peer;
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if peer.notify_prompt_list_changed().await.is_err() {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        if context.accepted().prompts_list_changed != Some(true) {
            context.cancelled().await;
            return Ok(());
        }
        let mut changes = self.catalog.library.subscribe();
        loop {
            tokio::select! {
                () = context.cancelled() => return Ok(()),
                change = changes.recv() => match change {
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if context.sink().notify_prompt_list_changed().await.is_err() {
                            return Ok(());
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let cursor = request.and_then(|r| r.cursor);
        if let Some(c) = &cursor
            && self.catalog.library.get(c).is_none()
            && !self.catalog.library.all().iter().any(|p| p.id > *c)
        {
            return Err(ErrorData::invalid_params(
                format!("unknown cursor {c:?}: start again without a cursor"),
                None,
            ));
        }
        let (items, next) = catalog::page(
            &self.catalog.library,
            cursor.as_deref(),
            self.catalog.page_size,
        );
        let mut result = ListPromptsResult::with_all_items(
            items.iter().map(|p| Self::prompt_entry(p)).collect(),
        );
        result.next_cursor = next;
        Ok(result)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let values = string_values(request.arguments.as_ref());
        let rendered = catalog::render(&self.catalog.library, &request.name, &values)
            .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
        let mut result =
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, rendered.text)]);
        if let Some(d) = &rendered.prompt.description {
            result = result.with_description(d.clone());
        }
        Ok(result.into())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let values = match (&request.r#ref, &self.catalog.history) {
            (Reference::Prompt(prompt), Some(repo)) => {
                let known = self.catalog.library.get(&prompt.name).is_some_and(|p| {
                    p.placeholders
                        .iter()
                        .any(|(n, _)| *n == request.argument.name)
                });
                if known {
                    let repo = repo.clone();
                    let (name, typed) = (request.argument.name.clone(), request.argument.value);
                    blocking(move || {
                        catalog::completions(
                            repo.as_ref(),
                            &name,
                            &typed,
                            CompletionInfo::MAX_VALUES,
                        )
                    })
                    .await?
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        };
        let info = CompletionInfo::new(values).map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::definitions()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let catalog = self.catalog.clone();
        let name = request.name.to_string();
        let arguments = request.arguments.unwrap_or_default();
        if !tools::NAMES.contains(&name.as_str()) {
            return Err(ErrorData::invalid_params(
                format!(
                    "no tool `{name}`; the tools are {}",
                    tools::NAMES.join(", ")
                ),
                None,
            ));
        }
        let result = blocking(move || tools::call(&catalog, &name, &arguments)).await?;
        Ok(result.into())
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{LIBRARY_URI}{{id}}"), "library-prompt")
                .with_title("Library prompt")
                .with_description("A prompt file of the library (frontmatter and body), by id.")
                .with_mime_type("text/markdown"),
            ResourceTemplate::new(format!("{HISTORY_URI}{{id}}"), "history-composition")
                .with_title("Saved composition")
                .with_description("A composition saved in the history, by id.")
                .with_mime_type("text/markdown"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        let not_found =
            |what: &str| ErrorData::resource_not_found(format!("no {what} at {uri}"), None);
        let text = if let Some(rest) = uri.strip_prefix(LIBRARY_URI) {
            let id = decode_id(rest).ok_or_else(|| not_found("library prompt"))?;
            let prompt = self
                .catalog
                .library
                .get(&id)
                .ok_or_else(|| not_found("library prompt"))?;
            blocking(move || std::fs::read_to_string(&prompt.path).unwrap_or(prompt.body.clone()))
                .await?
        } else if let Some(rest) = uri.strip_prefix(HISTORY_URI) {
            let id = decode_id(rest).ok_or_else(|| not_found("composition"))?;
            let repo =
                self.catalog.history.clone().ok_or_else(|| {
                    ErrorData::internal_error("the history is not available", None)
                })?;
            blocking(move || repo.load(&id))
                .await?
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
                .ok_or_else(|| not_found("composition"))?
                .content
        } else {
            return Err(ErrorData::invalid_params(
                format!(
                    "{uri} is not a PromptStack resource: use {LIBRARY_URI}{{id}} or {HISTORY_URI}{{id}}"
                ),
                None,
            ));
        };
        let contents = ResourceContents::TextResourceContents {
            uri: uri.clone(),
            mime_type: Some("text/markdown".into()),
            text,
            meta: None,
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

#[cfg(test)]
mod tests {
    use super::decode_id;

    #[test]
    fn resource_ids_are_percent_decoded() {
        assert_eq!(
            decode_id("commands%2Fcode-review").as_deref(),
            Some("commands/code-review")
        );
        assert_eq!(
            decode_id("commands/code-review").as_deref(),
            Some("commands/code-review")
        );
        assert_eq!(decode_id("%zz"), None);
        assert_eq!(decode_id(""), None);
    }
}
