//! OpenAI-style Chat Completions (`POST {base}/v1/chat/completions`): OpenAI, Ollama,
//! llama.cpp's server, llama-cpp-python, vLLM.

use serde_json::{Value, json};

use super::contract::{self, Task};
use super::http::{self, Endpoint};
use super::{AiError, AiFuture, AiProvider, Answer, LineEdit, ReviewRequest, Suggestion, Usage};
use crate::config::{Config, Secret};

/// Model used when `ai.model` is not set.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

const OPENAI_API: &str = "https://api.openai.com";

/// How the request asks for a JSON answer (`ai.structured_output`); servers differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructuredOutput {
    /// No `response_format`; the prompt alone asks for JSON.
    None,
    /// `{"type":"json_object"}`: OpenAI, Ollama, vLLM, llama.cpp.
    JsonObject,
    /// `{"type":"json_object","schema":{…}}`: llama-cpp-python constrains output to the schema.
    JsonObjectSchema,
    /// `{"type":"json_schema","json_schema":{…,"strict":true}}`: OpenAI, Ollama, vLLM, llama.cpp.
    JsonSchema,
}

impl StructuredOutput {
    /// From the config word; unknown words fall back to `json_object` (config validates them).
    pub fn from_config(value: &str) -> Self {
        match value {
            "none" => StructuredOutput::None,
            "json_object_schema" => StructuredOutput::JsonObjectSchema,
            "json_schema" => StructuredOutput::JsonSchema,
            _ => StructuredOutput::JsonObject,
        }
    }

    /// The `response_format` field for `task` on a composition of `lines` lines, if any.
    pub fn response_format(self, task: Task, lines: usize) -> Option<Value> {
        match self {
            StructuredOutput::None => None,
            StructuredOutput::JsonObject => Some(json!({"type": "json_object"})),
            StructuredOutput::JsonObjectSchema => {
                Some(json!({"type": "json_object", "schema": task.schema(lines)}))
            }
            StructuredOutput::JsonSchema => Some(json!({
                "type": "json_schema",
                "json_schema": {"name": task.name(), "schema": task.schema(lines), "strict": true}
            })),
        }
    }
}

/// Calls any OpenAI-compatible Chat Completions server.
#[derive(Debug)]
pub struct OpenAiProvider {
    client: reqwest::Client,
    url: String,
    key: Option<Secret>,
    model: String,
    structured_output: StructuredOutput,
}

impl OpenAiProvider {
    /// From `ai.openai_base_url`, `ai.openai_api_key`, `ai.model`, `ai.structured_output`.
    pub fn from_config(config: &Config) -> Result<Self, AiError> {
        if config.openai_api_key.is_none() && config.openai_base_url.starts_with(OPENAI_API) {
            return Err(AiError::NotConfigured(
                "the `openai` provider needs an API key for api.openai.com: set \
                 `ai.openai_api_key` in config.yaml or the OPENAI_API_KEY environment variable; \
                 for a local server (Ollama, llama.cpp, vLLM) set `ai.openai_base_url` or \
                 OPENAI_BASE_URL instead, e.g. http://localhost:11434/v1"
                    .into(),
            ));
        }
        let model = config
            .model
            .clone()
            .unwrap_or_else(|| DEFAULT_MODEL.to_string());
        Self::new(
            &config.openai_base_url,
            config.openai_api_key.clone(),
            model,
            StructuredOutput::from_config(&config.structured_output),
        )
    }

    /// A provider for `base_url`, with or without a trailing `/v1`.
    pub fn new(
        base_url: &str,
        key: Option<Secret>,
        model: String,
        structured_output: StructuredOutput,
    ) -> Result<Self, AiError> {
        let base = base_url.trim_end_matches('/');
        let url = if base.ends_with("/v1") {
            format!("{base}/chat/completions")
        } else {
            format!("{base}/v1/chat/completions")
        };
        Ok(OpenAiProvider {
            client: http::client("openai")?,
            url,
            key,
            model,
            structured_output,
        })
    }

    async fn complete(
        &self,
        task: Task,
        lines: usize,
        user: String,
    ) -> Result<(String, Usage), AiError> {
        let mut body = json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": task.system_prompt(lines)},
                {"role": "user", "content": user},
            ],
        });
        // Reasoning models accept only the default temperature.
        if !is_reasoning_model(&self.model) {
            body["temperature"] = json!(0);
        }
        if let Some(format) = self.structured_output.response_format(task, lines) {
            body["response_format"] = format;
        }
        let mut request = self.client.post(&self.url);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        let endpoint = Endpoint {
            provider: "openai",
            key_hint: "`ai.openai_api_key` or OPENAI_API_KEY",
            key: self.key.as_ref(),
            error_message,
        };
        let answer = http::post_json(&endpoint, request, &body).await?;
        let message = answer.pointer("/choices/0/message").ok_or_else(|| {
            AiError::UnusableAnswer("the response has no `choices[0].message`".into())
        })?;
        let text = match message.get("content").and_then(Value::as_str) {
            Some(text) => text.to_string(),
            None => {
                let refusal = message.get("refusal").and_then(Value::as_str);
                return Err(AiError::UnusableAnswer(match refusal {
                    Some(r) => format!("the model refused: {r}"),
                    None => "the message has no text content".into(),
                }));
            }
        };
        let count = |field: &str| {
            answer
                .pointer(&format!("/usage/{field}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let usage = Usage {
            input_tokens: count("prompt_tokens"),
            output_tokens: count("completion_tokens"),
        };
        Ok((text, usage))
    }
}

fn is_reasoning_model(model: &str) -> bool {
    ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|p| model.starts_with(p))
}

/// `{"error":{"message":"…"}}`, or `{"error":"…"}` from some local servers.
fn error_message(body: &Value) -> Option<String> {
    let error = body.get("error")?;
    error
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| error.as_str())
        .map(str::to_string)
}

impl AiProvider for OpenAiProvider {
    fn name(&self) -> &str {
        "openai"
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
