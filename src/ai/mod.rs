//! AI review and apply: the [`AiProvider`] seam, its providers, middleware, context selection and
//! token counting. Plain Rust; `src/lsp/` converts to and from the protocol.
//!
//! Cancellation: every call returns a future that owns its HTTP request. Dropping the future (an
//! aborted task, [`cancellable`]) drops the request and closes its connection.

pub mod claude;
pub mod context;
pub mod contract;
mod http;
mod keywords;
pub mod mcp;
pub mod middleware;
pub mod openai;
#[cfg(test)]
mod real_model_tests;
// Shared with the end-to-end tests, which start it in front of the real binary.
#[cfg(test)]
#[path = "../../tests/support/wire_server.rs"]
mod test_server;
pub mod tokens;
#[cfg(test)]
mod wire_tests;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Config;

pub use context::{
    CandidatePrompt, ContextSelection, ContextSelector, ScoringSelector, context_budget,
    create_selector, linked_ids,
};
pub use contract::{apply_edits, resolve_edits};
pub use http::install_tls_provider;
pub use keywords::KeywordCache;
pub use middleware::{AiMetrics, AiStats, stats_file};
pub use tokens::TokenCounter;

/// What a suggestion is about; the model's `type` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionKind {
    Gap,
    Clarity,
    Contradiction,
    Formatting,
    Reformat,
    Recommendation,
}

impl SuggestionKind {
    /// Every kind, in the order the contract lists them.
    pub const ALL: [SuggestionKind; 6] = [
        SuggestionKind::Gap,
        SuggestionKind::Clarity,
        SuggestionKind::Contradiction,
        SuggestionKind::Formatting,
        SuggestionKind::Reformat,
        SuggestionKind::Recommendation,
    ];

    /// The wire name (`gap`, `clarity`, ...), also used as the diagnostic code.
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionKind::Gap => "gap",
            SuggestionKind::Clarity => "clarity",
            SuggestionKind::Contradiction => "contradiction",
            SuggestionKind::Formatting => "formatting",
            SuggestionKind::Reformat => "reformat",
            SuggestionKind::Recommendation => "recommendation",
        }
    }
}

impl fmt::Display for SuggestionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding of a review, anchored to whole lines of the composition as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Suggestion {
    /// Stable for the same finding (a hash of its content), so a cached review keeps its ids.
    pub id: String,
    pub kind: SuggestionKind,
    pub title: String,
    pub description: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    /// 1-based, inclusive.
    pub end_line: u32,
    /// The recommended library prompt, for a recommendation.
    pub prompt_id: Option<String>,
}

/// Replace lines `start_line..=end_line` (1-based, inclusive) with `new_text`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineEdit {
    pub start_line: u32,
    pub end_line: u32,
    pub new_text: String,
}

/// A library prompt sent to the model as context.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContextPrompt {
    pub id: String,
    pub title: String,
    pub body: String,
}

/// Everything a review sends: the composition and the selected context prompts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReviewRequest {
    pub composition: String,
    pub context: Vec<ContextPrompt>,
    /// Ask the model even when the cache holds an answer for this request (the user asked for a
    /// review again); the new answer replaces the cached one. Not part of the request sent.
    #[serde(skip)]
    pub fresh: bool,
}

/// Tokens a call used, as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A provider's answer with what it cost; middleware reads `usage` and `cached`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    pub value: T,
    pub usage: Usage,
    /// Served from the cache without a provider call.
    pub cached: bool,
}

impl<T> Answer<T> {
    /// A fresh (not cached) answer.
    pub fn new(value: T, usage: Usage) -> Self {
        Answer {
            value,
            usage,
            cached: false,
        }
    }
}

/// The future every provider call returns; dropping it cancels the call.
pub type AiFuture<'a, T> = Pin<Box<dyn Future<Output = Result<Answer<T>, AiError>> + Send + 'a>>;

/// Reviews a composition into suggestions and turns one suggestion into edits.
pub trait AiProvider: fmt::Debug + Send + Sync {
    /// Provider name (`claude`, `openai`), for logs, metrics and cache keys.
    fn name(&self) -> &str;
    /// The model asked.
    fn model(&self) -> &str;
    /// Reviews `request.composition` with `request.context` as background.
    fn review<'a>(&'a self, request: &'a ReviewRequest) -> AiFuture<'a, Vec<Suggestion>>;
    /// Produces validated line edits for one suggestion against `composition` (the text reviewed).
    fn apply<'a>(
        &'a self,
        composition: &'a str,
        suggestion: &'a Suggestion,
    ) -> AiFuture<'a, Vec<LineEdit>>;
}

/// Why an AI call failed, worded for the user. Never contains an API key or a request body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AiError {
    #[error("AI is not configured: {0}")]
    NotConfigured(String),
    #[error(
        "{provider} rejected the API key (HTTP {status}): check your API key ({hint}). {message}"
    )]
    Unauthorized {
        provider: String,
        status: u16,
        hint: String,
        message: String,
    },
    #[error("{provider} is rate limiting requests (HTTP 429){}: {message}", retry_hint(*.retry_after))]
    RateLimited {
        provider: String,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{provider} had a server error (HTTP {status}): {message}")]
    Server {
        provider: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{provider} refused the request (HTTP {status}): {message}")]
    Refused {
        provider: String,
        status: u16,
        message: String,
    },
    #[error("{provider} did not answer within {} s", .after.as_secs_f64())]
    Timeout { provider: String, after: Duration },
    #[error("cannot reach {provider}: {message}")]
    Network { provider: String, message: String },
    #[error("the model's answer could not be used: {0}")]
    UnusableAnswer(String),
    #[error("the AI request was cancelled")]
    Cancelled,
    /// An MCP tool answered with an error, or the server refused the call (unknown tool, bad
    /// arguments).
    #[error("the {provider} server's tool failed: {message}")]
    ToolFailed { provider: String, message: String },
    #[error("the model's edit was rejected: {0}")]
    RejectedEdit(String),
}

fn retry_hint(after: Option<Duration>) -> String {
    after
        .map(|d| format!(", try again in {} s", d.as_secs()))
        .unwrap_or_default()
}

impl AiError {
    /// Whether trying again later can help (offer a retry action).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AiError::RateLimited { .. }
                | AiError::Server { .. }
                | AiError::Timeout { .. }
                | AiError::Network { .. }
        )
    }

    /// A short stable name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            AiError::NotConfigured(_) => "not_configured",
            AiError::Unauthorized { .. } => "unauthorized",
            AiError::RateLimited { .. } => "rate_limited",
            AiError::Server { .. } => "server",
            AiError::Refused { .. } => "refused",
            AiError::Timeout { .. } => "timeout",
            AiError::Network { .. } => "network",
            AiError::UnusableAnswer(_) => "unusable_answer",
            AiError::Cancelled => "cancelled",
            AiError::ToolFailed { .. } => "tool_failed",
            AiError::RejectedEdit(_) => "rejected_edit",
        }
    }
}

/// Builds the configured provider wrapped in logging, metrics, cache, retry and timeout.
/// `metrics` outlives config reloads, so the server keeps one and passes it on each rebuild.
pub fn create_provider(
    config: &Config,
    metrics: Arc<AiMetrics>,
) -> Result<Arc<dyn AiProvider>, AiError> {
    let base: Arc<dyn AiProvider> = match config.ai_provider.as_str() {
        "claude" => Arc::new(claude::ClaudeProvider::from_config(config)?),
        "openai" => Arc::new(openai::OpenAiProvider::from_config(config)?),
        "mcp" => Arc::new(mcp::McpProvider::from_config(config)?),
        other => {
            return Err(AiError::NotConfigured(format!(
                "unknown provider `{other}`; set `ai.provider` (or PROMPTSTACK_AI_PROVIDER) to `claude`, `openai` or `mcp`"
            )));
        }
    };
    Ok(middleware::stack(base, config, metrics))
}

/// Runs `work` until it finishes or `cancel` resolves; on cancel the request is dropped.
pub async fn cancellable<T>(
    work: AiFuture<'_, T>,
    cancel: impl Future<Output = ()>,
) -> Result<Answer<T>, AiError> {
    tokio::select! {
        result = work => result,
        () = cancel => Err(AiError::Cancelled),
    }
}
