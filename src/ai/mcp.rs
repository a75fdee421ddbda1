//! The `mcp` provider: a specialist MCP server's tools review and apply (`ai.mcp`).
//!
//! Review calls `review_tool` with the composition (plain and numbered), the selected context
//! prompts, the contract's instructions and the answer's JSON schema; apply calls `apply_tool`
//! with the composition and the accepted suggestion. The answer follows the same contract as
//! every provider (docs/ai.md), as the tool's structured content or as its text, and is parsed
//! just as strictly. Dropping a call (a cancelled review) sends `notifications/cancelled`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use super::contract::{self, Task};
use super::{AiError, AiFuture, AiProvider, Answer, LineEdit, ReviewRequest, Suggestion, Usage};
use crate::config::{AiMcpSpec, Config};
use crate::mcp::client::{McpClient, McpClientError, ToolOutput};

const PROVIDER: &str = "mcp";

/// Reviews through an MCP server's tools; connects on first use and again after a failure.
pub struct McpProvider {
    spec: AiMcpSpec,
    model: String,
    timeout: Duration,
    client: Mutex<Option<Arc<McpClient>>>,
}

impl std::fmt::Debug for McpProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpProvider")
            .field("server", &self.spec.endpoint.describe())
            .field("review_tool", &self.spec.review_tool)
            .field("apply_tool", &self.spec.apply_tool)
            .finish()
    }
}

impl McpProvider {
    /// From `ai.mcp` (or its URL form `ai.mcp_host`) and `ai.timeout`.
    pub fn from_config(config: &Config) -> Result<Self, AiError> {
        let spec = config.ai_mcp.clone().ok_or_else(|| {
            AiError::NotConfigured(
                "the `mcp` provider needs a server: set `ai.mcp` in config.yaml to \
                 `{command: [PROGRAM, ARG...]}` or `{url: URL}` (optionally with `review_tool` \
                 and `apply_tool`), or `ai.mcp_host` / PROMPTSTACK_MCP_HOST to its URL"
                    .into(),
            )
        })?;
        Ok(McpProvider {
            model: config
                .model
                .clone()
                .unwrap_or_else(|| spec.review_tool.clone()),
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
            spec,
            client: Mutex::new(None),
        })
    }

    async fn connected(&self) -> Result<Arc<McpClient>, AiError> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(client.clone());
        }
        // Notifications from a review server are not needed.
        let (notify, _) = tokio::sync::mpsc::unbounded_channel();
        let client = Arc::new(
            McpClient::connect(&self.spec.endpoint, self.timeout, notify)
                .await
                .map_err(to_ai_error)?,
        );
        *slot = Some(client.clone());
        Ok(client)
    }

    /// Calls `tool` and parses its answer with `parse`: the structured content when it holds
    /// the contract's JSON, else the text (servers that return a JSON string often wrap it as
    /// `{"result": "..."}` structured content too).
    async fn call<T>(
        &self,
        tool: &str,
        arguments: Map<String, Value>,
        parse: impl Fn(&str) -> Result<T, AiError>,
    ) -> Result<T, AiError> {
        let client = self.connected().await?;
        let output = client.call_tool(tool, arguments).await;
        if output.as_ref().is_err_and(McpClientError::is_transport) {
            // Reconnect on the next attempt (the retry middleware makes one).
            *self.client.lock().await = None;
        }
        let output = output.map_err(to_ai_error)?;
        if output.is_error {
            return Err(AiError::ToolFailed {
                provider: PROVIDER.into(),
                message: output.text.chars().take(300).collect(),
            });
        }
        parse_answer(&output, parse)
    }
}

fn parse_answer<T>(
    output: &ToolOutput,
    parse: impl Fn(&str) -> Result<T, AiError>,
) -> Result<T, AiError> {
    let structured = output
        .structured
        .as_ref()
        .filter(|v| !v.is_null())
        .map(|v| parse(&v.to_string()));
    match structured {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) if output.text.trim().is_empty() => Err(e),
        _ => parse(&output.text),
    }
}

fn to_ai_error(e: McpClientError) -> AiError {
    match e {
        McpClientError::Timeout { after, .. } => AiError::Timeout {
            provider: PROVIDER.into(),
            after,
        },
        McpClientError::Refused { message, .. } => AiError::ToolFailed {
            provider: PROVIDER.into(),
            message,
        },
        other => AiError::Network {
            provider: PROVIDER.into(),
            message: other.to_string(),
        },
    }
}

fn arguments(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl AiProvider for McpProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn review<'a>(&'a self, request: &'a ReviewRequest) -> AiFuture<'a, Vec<Suggestion>> {
        Box::pin(async move {
            let lines = contract::line_count(&request.composition);
            let args = json!({
                "composition": request.composition,
                "numbered": contract::numbered(&request.composition),
                "context": request.context,
                "instructions": Task::Review.system_prompt(lines),
                "schema": Task::Review.schema(lines),
            });
            let suggestions = self
                .call(&self.spec.review_tool, arguments(args), |text| {
                    contract::parse_review(text, &request.composition)
                })
                .await?;
            Ok(Answer::new(suggestions, Usage::default()))
        })
    }

    fn apply<'a>(
        &'a self,
        composition: &'a str,
        suggestion: &'a Suggestion,
    ) -> AiFuture<'a, Vec<LineEdit>> {
        Box::pin(async move {
            let lines = contract::line_count(composition);
            let args = json!({
                "composition": composition,
                "numbered": contract::numbered(composition),
                "suggestion": contract::suggestion_json(suggestion),
                "instructions": Task::Apply.system_prompt(lines),
                "schema": Task::Apply.schema(lines),
            });
            let edits = self
                .call(&self.spec.apply_tool, arguments(args), |text| {
                    contract::parse_apply(text, composition)
                })
                .await?;
            Ok(Answer::new(edits, Usage::default()))
        })
    }
}
