//! The HTTP exchange shared by the providers: one POST of a JSON body, status mapping to
//! [`AiError`], the provider's own error message, `Retry-After`.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;

use super::AiError;
use crate::config::Secret;

/// How long to wait for a TCP/TLS connection; the whole request is bounded by the timeout
/// middleware.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest provider message kept in an error.
const MAX_MESSAGE: usize = 300;

/// Makes ring the TLS provider of the process, once. reqwest (and rmcp's HTTP transport) are
/// built without a bundled provider so that only one crypto library is compiled in.
pub fn install_tls_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // An error means another provider was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client for one provider.
pub(super) fn client(provider: &str) -> Result<reqwest::Client, AiError> {
    install_tls_provider();
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("promptstack/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AiError::Network {
            provider: provider.to_string(),
            message: format!("cannot set up HTTP: {e}"),
        })
}

/// Who is being called, for error messages.
pub(super) struct Endpoint<'a> {
    pub provider: &'a str,
    /// Where the user sets the key, for "check your API key".
    pub key_hint: &'a str,
    /// Scrubbed from any message the provider sends back.
    pub key: Option<&'a Secret>,
    /// Pulls the human message out of the provider's error body.
    pub error_message: fn(&Value) -> Option<String>,
}

/// POSTs `body` and returns the JSON of a 2xx answer; anything else becomes an [`AiError`].
pub(super) async fn post_json(
    endpoint: &Endpoint<'_>,
    request: reqwest::RequestBuilder,
    body: &Value,
) -> Result<Value, AiError> {
    let response = request
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(super::contract::ordered_json(body))
        .send()
        .await
        .map_err(|e| transport_error(endpoint, e))?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let text = response
        .text()
        .await
        .map_err(|e| transport_error(endpoint, e))?;
    tracing::debug!(
        provider = endpoint.provider,
        status = status.as_u16(),
        "AI HTTP answer"
    );
    if status.is_success() {
        return serde_json::from_str(&text).map_err(|e| {
            tracing::debug!(body = %text, "provider answer is not JSON");
            AiError::UnusableAnswer(format!(
                "{} sent a response that is not JSON ({e})",
                endpoint.provider
            ))
        });
    }
    let message = provider_message(endpoint, &text);
    let provider = endpoint.provider.to_string();
    let code = status.as_u16();
    Err(match code {
        401 | 403 => AiError::Unauthorized {
            provider,
            status: code,
            hint: endpoint.key_hint.to_string(),
            message,
        },
        429 => AiError::RateLimited {
            provider,
            message,
            retry_after,
        },
        // 529 is Anthropic's "overloaded".
        500..=599 => AiError::Server {
            provider,
            status: code,
            message,
            retry_after,
        },
        _ => AiError::Refused {
            provider,
            status: code,
            message,
        },
    })
}

fn transport_error(endpoint: &Endpoint<'_>, e: reqwest::Error) -> AiError {
    let provider = endpoint.provider.to_string();
    if e.is_timeout() {
        return AiError::Timeout {
            provider,
            after: CONNECT_TIMEOUT,
        };
    }
    // The URL is left out: a base URL may carry credentials.
    let e = e.without_url();
    let mut chain = vec![e.to_string()];
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        chain.push(inner.to_string());
        source = inner.source();
    }
    // For a failed connection the root cause ("Connection refused") says it all.
    let message = if e.is_connect() {
        chain.last().cloned().unwrap_or_default()
    } else {
        chain.join(": ")
    };
    AiError::Network {
        provider,
        message: scrub(endpoint, &message),
    }
}

/// The provider's own message, or the start of the body, without the key.
fn provider_message(endpoint: &Endpoint<'_>, body: &str) -> String {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| (endpoint.error_message)(&v))
        .unwrap_or_else(|| body.trim().to_string());
    let message = scrub(endpoint, &message);
    if message.is_empty() {
        return "no details given".into();
    }
    match message.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message,
    }
}

/// Some providers echo the key back in error messages; never pass it on (nor any other
/// configured secret, such as a password in a base URL).
fn scrub(endpoint: &Endpoint<'_>, message: &str) -> String {
    let message = match endpoint.key.map(Secret::expose).filter(|k| !k.is_empty()) {
        Some(key) => message.replace(key, crate::logging::secrets::REDACTED),
        None => message.to_string(),
    };
    crate::logging::secrets::redact(&message).into_owned()
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the AI providers).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}
