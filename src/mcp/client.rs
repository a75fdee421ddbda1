//! A connection to one MCP server, as the MCP prompt source and the MCP AI provider use it.
//!
//! Everything rmcp stays inside this file: callers get plain structs ([`RemotePrompt`],
//! [`ToolOutput`]) and plain errors ([`McpClientError`]). A stdio server is started as a child
//! process (killed when the connection is dropped); a URL speaks streamable HTTP.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ContentBlock, GetPromptRequestParams,
    Implementation, ResourceContents,
};
use rmcp::service::{NotificationContext, RoleClient, RunningService};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, ServiceExt};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::config::McpEndpoint;

/// Why talking to an MCP server failed; messages are shown to the user as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpClientError {
    #[error("cannot start {program}: {message}")]
    Spawn { program: String, message: String },
    #[error("cannot connect to {endpoint}: {message}")]
    Connect { endpoint: String, message: String },
    #[error("{endpoint} did not answer within {} s", .after.as_secs())]
    Timeout { endpoint: String, after: Duration },
    /// The server answered with a JSON-RPC error (unknown tool, bad arguments, ...).
    #[error("{endpoint} refused the request: {message}")]
    Refused { endpoint: String, message: String },
    /// The connection broke (the process exited, the HTTP session ended).
    #[error("lost the connection to {endpoint}: {message}")]
    Closed { endpoint: String, message: String },
}

impl McpClientError {
    /// Whether trying again (after reconnecting) can help: not for a refusal of the request.
    pub fn is_transport(&self) -> bool {
        !matches!(self, McpClientError::Refused { .. })
    }
}

/// One argument of a remote prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteArgument {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
}

/// A prompt as `prompts/list` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePrompt {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub arguments: Vec<RemoteArgument>,
}

/// What a tool call returned: its structured content, its text, and whether it is an error.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub structured: Option<Value>,
    /// The text blocks of the content, joined by newlines.
    pub text: String,
    pub is_error: bool,
}

/// Hears the server's notifications: `prompts/list_changed` is passed on.
struct Listener {
    prompts_changed: mpsc::UnboundedSender<()>,
}

impl ClientHandler for Listener {
    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.prompts_changed.send(());
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("promptstack", env!("CARGO_PKG_VERSION")),
        )
    }
}

/// An open connection. Dropping it closes the connection (and kills a started process).
pub struct McpClient {
    service: RunningService<RoleClient, Listener>,
    endpoint: String,
    timeout: Duration,
}

/// How long connecting (starting the process, the handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

impl McpClient {
    /// Connects to `endpoint`. `prompts_changed` receives a message for every
    /// `notifications/prompts/list_changed`; each request gives up after `timeout`.
    pub async fn connect(
        endpoint: &McpEndpoint,
        timeout: Duration,
        prompts_changed: mpsc::UnboundedSender<()>,
    ) -> Result<McpClient, McpClientError> {
        crate::ai::install_tls_provider();
        let described = endpoint.describe();
        let listener = Listener { prompts_changed };
        let connecting = async {
            match endpoint {
                McpEndpoint::Command { program, args, env } => {
                    let mut command = tokio::process::Command::new(program);
                    command.args(args);
                    for (name, value) in env {
                        command.env(name, value.expose());
                    }
                    // A server started by `promptstack mcp` must not start sources itself.
                    command.env(super::NESTED_ENV, "1");
                    let (transport, _) = TokioChildProcess::builder(command)
                        .stderr(Stdio::inherit())
                        .spawn()
                        .map_err(|e| McpClientError::Spawn {
                            program: program.clone(),
                            message: e.to_string(),
                        })?;
                    listener
                        .serve(transport)
                        .await
                        .map_err(|e| McpClientError::Connect {
                            endpoint: described.clone(),
                            message: e.to_string(),
                        })
                }
                McpEndpoint::Url(url) => {
                    let transport = StreamableHttpClientTransport::from_uri(url.as_str());
                    listener
                        .serve(transport)
                        .await
                        .map_err(|e| McpClientError::Connect {
                            endpoint: described.clone(),
                            message: e.to_string(),
                        })
                }
            }
        };
        let service = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| McpClientError::Timeout {
                endpoint: described.clone(),
                after: CONNECT_TIMEOUT,
            })??;
        Ok(McpClient {
            service,
            endpoint: described,
            timeout,
        })
    }

    /// Whether the connection has ended (the process exited, the session closed).
    pub fn is_closed(&self) -> bool {
        // The service loop ends when the transport does (the process exited); its channel then
        // closes.
        self.service.is_closed() || self.service.is_transport_closed()
    }

    /// Resolves when the connection ends.
    pub async fn closed(&self) {
        while !self.is_closed() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn error(&self, e: rmcp::ServiceError) -> McpClientError {
        match e {
            rmcp::ServiceError::McpError(data) => McpClientError::Refused {
                endpoint: self.endpoint.clone(),
                message: data.message.to_string(),
            },
            rmcp::ServiceError::Timeout { .. } => McpClientError::Timeout {
                endpoint: self.endpoint.clone(),
                after: self.timeout,
            },
            other => McpClientError::Closed {
                endpoint: self.endpoint.clone(),
                message: other.to_string(),
            },
        }
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, rmcp::ServiceError>>,
    ) -> Result<T, McpClientError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(|e| self.error(e)),
            Err(_) => Err(McpClientError::Timeout {
                endpoint: self.endpoint.clone(),
                after: self.timeout,
            }),
        }
    }

    /// Every prompt the server offers (all pages).
    pub async fn list_prompts(&self) -> Result<Vec<RemotePrompt>, McpClientError> {
        let prompts = self.bounded(self.service.list_all_prompts()).await?;
        Ok(prompts
            .into_iter()
            .map(|p| RemotePrompt {
                name: p.name,
                title: p.title,
                description: p.description,
                arguments: p
                    .arguments
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| RemoteArgument {
                        name: a.name,
                        description: a.description,
                        required: a.required.unwrap_or(false),
                    })
                    .collect(),
            })
            .collect())
    }

    /// The text of a prompt rendered with `arguments`: its messages' text, in order, separated
    /// by blank lines (images and audio are left out).
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: &BTreeMap<String, String>,
    ) -> Result<String, McpClientError> {
        let args: Map<String, Value> = arguments
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        let params = GetPromptRequestParams::new(name).with_arguments(args);
        let result = self.bounded(self.service.get_prompt(params)).await?;
        let texts: Vec<String> = result
            .messages
            .iter()
            .filter_map(|m| message_text(&m.content))
            .collect();
        Ok(texts.join("\n\n"))
    }

    /// Calls a tool. Dropping the returned future sends `notifications/cancelled` to the server.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<ToolOutput, McpClientError> {
        let params = CallToolRequestParams::new(name.to_string()).with_arguments(arguments);
        let result = self.bounded(self.service.call_tool(params)).await?;
        let text: Vec<String> = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect();
        Ok(ToolOutput {
            structured: result.structured_content,
            text: text.join("\n"),
            is_error: result.is_error.unwrap_or(false),
        })
    }
}

fn message_text(content: &ContentBlock) -> Option<String> {
    match content {
        ContentBlock::Text(t) => Some(t.text.clone()),
        ContentBlock::Resource(r) => match &r.resource {
            ResourceContents::TextResourceContents { text, .. } => Some(text.clone()),
            _ => None,
        },
        _ => None,
    }
}
