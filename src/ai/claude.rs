//! The Anthropic Messages API (`POST {base}/v1/messages`).

use serde_json::{Value, json};

use super::contract::{self, Task};
use super::http::{self, Endpoint};
use super::tokens::window_share;
use super::{AiError, AiFuture, AiProvider, Answer, LineEdit, ReviewRequest, Suggestion, Usage};
use crate::config::{Config, Secret};

/// Model used when `ai.model` is not set.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";

const API_VERSION: &str = "2023-06-01";

/// Calls Claude through the Messages API.
#[derive(Debug)]
pub struct ClaudeProvider {
    client: reqwest::Client,
    base_url: String,
    key: Secret,
    model: String,
    max_tokens: u64,
}

impl ClaudeProvider {
    /// From `ai.claude_api_key` / ANTHROPIC_API_KEY, `ai.anthropic_base_url`, `ai.model`.
    pub fn from_config(config: &Config) -> Result<Self, AiError> {
        let key = config.claude_api_key.clone().ok_or_else(|| {
            AiError::NotConfigured(
                "the `claude` provider needs an API key: set `ai.claude_api_key` in config.yaml, \
                 or the ANTHROPIC_API_KEY environment variable (or choose another provider with \
                 `ai.provider` / PROMPTSTACK_AI_PROVIDER)"
                    .into(),
            )
        })?;
        let model = config
            .model
            .clone()
            .unwrap_or_else(|| DEFAULT_MODEL.to_string());
        let max_tokens = window_share(&model, config.response_budget_percent).min(8192) as u64;
        Self::new(&config.anthropic_base_url, key, model, max_tokens)
    }

    /// A provider for `base_url` (without `/v1`).
    pub fn new(
        base_url: &str,
        key: Secret,
        model: String,
        max_tokens: u64,
    ) -> Result<Self, AiError> {
        Ok(ClaudeProvider {
            client: http::client("claude")?,
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
            model,
            max_tokens: max_tokens.max(1),
        })
    }

    async fn complete(
        &self,
        task: Task,
        lines: usize,
        user: String,
    ) -> Result<(String, Usage), AiError> {
        let body = json!({
            "model": self.model,
            "max_tokens": self.max_tokens,
            "temperature": 0,
            "system": task.system_prompt(lines),
            "messages": [{"role": "user", "content": user}],
        });
        let request = self
            .client
            .post(format!("{}/v1/messages", self.base_url))
            .header("x-api-key", self.key.expose())
            .header("anthropic-version", API_VERSION);
        let endpoint = Endpoint {
            provider: "claude",
            key_hint: "`ai.claude_api_key` or ANTHROPIC_API_KEY",
            key: Some(&self.key),
            error_message,
        };
        let answer = http::post_json(&endpoint, request, &body).await?;
        let text = answer
            .get("content")
            .and_then(Value::as_array)
            .map(|blocks| {
                blocks
                    .iter()
                    .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect::<String>()
            })
            .ok_or_else(|| {
                AiError::UnusableAnswer("Claude's response has no `content` blocks".into())
            })?;
        let usage = answer.get("usage");
        let count = |field: &str| {
            usage
                .and_then(|u| u.get(field))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let usage = Usage {
            input_tokens: count("input_tokens"),
            output_tokens: count("output_tokens"),
        };
        Ok((text, usage))
    }
}

/// `{"type":"error","error":{"type":"…","message":"…"}}`
fn error_message(body: &Value) -> Option<String> {
    let error = body.get("error")?;
    let message = error.get("message")?.as_str()?;
    Some(match error.get("type").and_then(Value::as_str) {
        Some(kind) => format!("{message} ({kind})"),
        None => message.to_string(),
    })
}

impl AiProvider for ClaudeProvider {
    fn name(&self) -> &str {
        "claude"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn review<'a>(&'a self, request: &'a ReviewRequest) -> AiFuture<'a, Vec<Suggestion>> {
        Box::pin(async move {
            let (text, usage) = self
                .complete(
                    Task::Review,
                    contract::line_count(&request.composition),
                    contract::review_message(request),
                )
                .await?;
            let suggestions = contract::parse_review(&text, &request.composition)?;
            Ok(Answer::new(suggestions, usage))
        })
    }

    fn apply<'a>(
        &'a self,
        composition: &'a str,
        suggestion: &'a Suggestion,
    ) -> AiFuture<'a, Vec<LineEdit>> {
        Box::pin(async move {
            let (text, usage) = self
                .complete(
                    Task::Apply,
                    contract::line_count(composition),
                    contract::apply_message(composition, suggestion),
                )
                .await?;
            Ok(Answer::new(
                contract::parse_apply(&text, composition)?,
                usage,
            ))
        })
    }
}
