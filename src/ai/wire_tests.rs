//! The providers and the middleware stack against local servers speaking the real wire formats.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::test_server::{Reply, TestServer};
use super::*;
use crate::config::{Layers, Secret, resolve};

const KEY: &str = "sk-test-0123456789abcdefSECRET";
const DOC: &str = "# Task\nWrite a poem.\nKeep it short.\nMake it long.\n";

fn config(provider: &str, url: &str) -> Config {
    let mut config = resolve(&Layers::default(), None).0.config;
    config.ai_provider = provider.into();
    config.anthropic_base_url = url.into();
    config.openai_base_url = url.into();
    config.claude_api_key = Some(Secret::new(KEY));
    config.openai_api_key = Some(Secret::new(KEY));
    config
}

fn provider(config: &Config) -> (Arc<dyn AiProvider>, Arc<AiMetrics>) {
    let metrics = Arc::new(AiMetrics::new());
    let provider = create_provider(config, metrics.clone()).expect("provider");
    (provider, metrics)
}

fn request() -> ReviewRequest {
    ReviewRequest {
        composition: DOC.into(),
        context: vec![ContextPrompt {
            id: "rules/brevity".into(),
            title: "Brevity".into(),
            body: "Prefer short answers.".into(),
        }],
        fresh: false,
    }
}

fn review_answer() -> String {
    json!({"suggestions": [
        {"type": "contradiction", "title": "Short or long?", "description": "Lines 3 and 4 disagree.",
         "start_line": 3, "end_line": 4, "prompt_id": null},
        {"type": "recommendation", "title": "Add brevity rules", "description": "Use the library rule.",
         "start_line": 1, "end_line": 1, "prompt_id": "rules/brevity"}
    ]})
    .to_string()
}

fn apply_answer() -> String {
    json!({"edits": [{"start_line": 3, "end_line": 4, "new_text": "Keep it under eight lines."}]})
        .to_string()
}

#[tokio::test]
async fn claude_review_and_apply_speak_the_messages_api() {
    let server = TestServer::start(vec![
        Reply::claude_text(&review_answer()),
        Reply::claude_text(&apply_answer()),
    ])
    .await;
    let (ai, metrics) = provider(&config("claude", &server.url));
    let review = ai.review(&request()).await.expect("review");
    assert_eq!(review.value.len(), 2);
    assert_eq!(review.value[0].kind, SuggestionKind::Contradiction);
    assert_eq!(review.value[1].prompt_id.as_deref(), Some("rules/brevity"));
    assert_eq!(review.usage.input_tokens, 120);

    let edits = ai.apply(DOC, &review.value[0]).await.expect("apply");
    assert_eq!(
        apply_edits(DOC, &edits.value),
        "# Task\nWrite a poem.\nKeep it under eight lines.\n"
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(r.headers["x-api-key"], KEY);
    assert_eq!(r.headers["anthropic-version"], "2023-06-01");
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(!r.headers.contains_key("authorization"));
    assert_eq!(r.body["model"], claude::DEFAULT_MODEL);
    assert!(r.body["max_tokens"].as_u64().is_some_and(|n| n > 0));
    assert!(
        r.body["system"]
            .as_str()
            .unwrap()
            .contains("\"suggestions\"")
    );
    assert_eq!(r.body["messages"][0]["role"], "user");
    let user = r.body["messages"][0]["content"].as_str().unwrap();
    assert!(user.contains("3 | Keep it short.\n4 | Make it long."));
    assert!(user.contains("<prompt id=\"rules/brevity\" title=\"Brevity\">"));
    let apply_user = requests[1].body["messages"][0]["content"].as_str().unwrap();
    assert!(apply_user.contains("\"title\":\"Short or long?\""));
    assert!(
        requests[1].body["system"]
            .as_str()
            .unwrap()
            .contains("\"edits\"")
    );

    let stats = metrics.stats();
    let review_stats = &stats.methods[&middleware::Method::Review];
    assert_eq!((review_stats.calls, review_stats.errors), (1, 0));
    assert_eq!(review_stats.output_tokens, 34);
}

#[tokio::test]
async fn openai_sends_each_structured_output_mode() {
    let modes: [(&str, Option<Value>); 4] = [
        ("none", None),
        ("json_object", Some(json!({"type": "json_object"}))),
        (
            "json_object_schema",
            Some(json!({"type": "json_object", "schema": contract::review_schema(4)})),
        ),
        (
            "json_schema",
            Some(json!({"type": "json_schema", "json_schema": {
                "name": "review", "schema": contract::review_schema(4), "strict": true}})),
        ),
    ];
    for (mode, expected) in modes {
        let server = TestServer::start(vec![Reply::openai_text(&review_answer())]).await;
        let mut cfg = config("openai", &format!("{}/v1", server.url));
        cfg.structured_output = mode.into();
        cfg.model = Some("llama3.2".into());
        let (ai, _) = provider(&cfg);
        let review = ai.review(&request()).await.expect("review");
        assert_eq!(review.value.len(), 2, "{mode}");
        let r = &server.requests()[0];
        // The base already ends with /v1: not added twice.
        assert_eq!(r.path, "/v1/chat/completions");
        assert_eq!(r.headers["authorization"], format!("Bearer {KEY}"));
        assert_eq!(r.body["model"], "llama3.2");
        assert_eq!(r.body["temperature"], 0);
        assert_eq!(r.body["messages"][0]["role"], "system");
        assert_eq!(r.body["messages"][1]["role"], "user");
        assert_eq!(r.body.get("response_format").cloned(), expected, "{mode}");
    }
}

#[tokio::test]
async fn openai_local_server_needs_no_key_and_tolerates_fences() {
    let fenced = format!(
        "Sure! Here is the review:\n```json\n{}\n```",
        review_answer()
    );
    let server = TestServer::start(vec![
        Reply::openai_text(&fenced),
        Reply::openai_text(&apply_answer()),
    ])
    .await;
    let mut cfg = config("openai", &server.url);
    cfg.openai_api_key = None;
    let (ai, _) = provider(&cfg);
    let review = ai.review(&request()).await.expect("review");
    assert_eq!(review.value.len(), 2);
    let edits = ai.apply(DOC, &review.value[0]).await.expect("apply");
    assert_eq!(edits.value[0].start_line, 3);
    let r = &server.requests()[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert!(!r.headers.contains_key("authorization"));
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_says_check_your_key() {
    for (name, reply) in [
        (
            "claude",
            Reply::claude_error(401, "authentication_error", "invalid x-api-key"),
        ),
        (
            "openai",
            Reply::openai_error(401, &format!("Incorrect API key provided: {KEY}.")),
        ),
    ] {
        let server = TestServer::start(vec![reply]).await;
        let (ai, _) = provider(&config(name, &server.url));
        let err = ai.review(&request()).await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, AiError::Unauthorized { status: 401, .. }),
            "{text}"
        );
        assert!(text.contains("check your API key"), "{text}");
        assert!(!text.contains(KEY), "{text}");
        assert!(!err.is_transient());
        assert_eq!(server.requests().len(), 1, "{name}: 401 is never retried");
    }
}

#[tokio::test]
async fn rate_limit_honours_retry_after_then_succeeds() {
    let server = TestServer::start(vec![
        Reply::claude_error(
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
        )
        .header("retry-after", "1"),
        Reply::claude_text(&review_answer()),
    ])
    .await;
    let (ai, _) = provider(&config("claude", &server.url));
    let started = Instant::now();
    let review = ai.review(&request()).await.expect("review after retry");
    assert_eq!(review.value.len(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_with_the_providers_message() {
    let server = TestServer::start(vec![
        Reply::openai_error(500, "The server had an error"),
        Reply::openai_text(&review_answer()),
    ])
    .await;
    let (ai, _) = provider(&config("openai", &server.url));
    assert_eq!(ai.review(&request()).await.expect("review").value.len(), 2);
    assert_eq!(server.requests().len(), 2);

    let server = TestServer::start(vec![
        Reply::claude_error(529, "overloaded_error", "Overloaded"),
        Reply::claude_error(529, "overloaded_error", "Overloaded"),
    ])
    .await;
    let mut cfg = config("claude", &server.url);
    cfg.max_retries = 2;
    let (ai, metrics) = provider(&cfg);
    let err = ai.review(&request()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "claude had a server error (HTTP 529): Overloaded (overloaded_error)"
    );
    assert!(err.is_transient());
    assert_eq!(server.requests().len(), 2);
    let stats = metrics.stats();
    assert_eq!(
        stats.methods[&middleware::Method::Review].errors_by_kind["server"],
        1
    );
}

#[tokio::test]
async fn a_slow_provider_times_out() {
    let server = TestServer::start(vec![
        Reply::claude_text(&review_answer()).delayed(Duration::from_secs(30)),
    ])
    .await;
    let mut cfg = config("claude", &server.url);
    cfg.timeout_secs = 1;
    let (ai, _) = provider(&cfg);
    let err = ai.review(&request()).await.unwrap_err();
    assert!(matches!(err, AiError::Timeout { .. }), "{err}");
    assert_eq!(err.to_string(), "claude did not answer within 1 s");
}

#[tokio::test]
async fn unreachable_server_is_a_network_error() {
    // Bind and drop: nothing listens on the port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut cfg = config("openai", &format!("http://127.0.0.1:{port}"));
    cfg.max_retries = 1;
    let (ai, _) = provider(&cfg);
    let err = ai.review(&request()).await.unwrap_err();
    assert!(matches!(err, AiError::Network { .. }), "{err}");
    assert!(err.to_string().starts_with("cannot reach openai: "));
}

#[tokio::test]
async fn malformed_answers_are_unusable_and_not_retried() {
    let server = TestServer::start(vec![
        Reply::raw(200, "<html>proxy error</html>"),
        Reply::openai_text("I think the prompt is great!"),
        Reply::openai_text(r#"{"suggestions":[{"type":"gap","title":"t"}]}"#),
    ])
    .await;
    let (ai, _) = provider(&config("openai", &server.url));
    for _ in 0..3 {
        let err = ai.review(&request()).await.unwrap_err();
        assert!(matches!(err, AiError::UnusableAnswer(_)), "{err}");
        assert!(
            err.to_string()
                .starts_with("the model's answer could not be used")
        );
    }
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn edits_out_of_range_are_rejected() {
    let server = TestServer::start(vec![Reply::claude_text(
        r#"{"edits":[{"start_line":4,"end_line":9,"new_text":"x"}]}"#,
    )])
    .await;
    let (ai, _) = provider(&config("claude", &server.url));
    let suggestion = contract::parse_review(&review_answer(), DOC).expect("parse")[0].clone();
    let err = ai.apply(DOC, &suggestion).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the model's edit was rejected: lines 4-9 are outside the document (lines 1-4)"
    );
}

#[tokio::test]
async fn cancelling_closes_the_connection() {
    let mut server = TestServer::start(vec![Reply::hang(), Reply::hang()]).await;
    let (ai, _) = provider(&config("openai", &server.url));
    let request = request();
    let cancelled = cancellable(
        ai.review(&request),
        tokio::time::sleep(Duration::from_millis(200)),
    )
    .await;
    assert_eq!(cancelled.unwrap_err(), AiError::Cancelled);
    tokio::time::timeout(Duration::from_secs(5), server.connection_closed())
        .await
        .expect("the provider side saw the connection close");

    // Aborting the task that owns the call (what the LSP does) closes it too.
    let task = tokio::spawn({
        let ai = ai.clone();
        async move { ai.review(&request).await.map(|a| a.value) }
    });
    while server.requests().len() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    tokio::time::timeout(Duration::from_secs(5), server.connection_closed())
        .await
        .expect("the provider side saw the connection close");
}

#[tokio::test]
async fn the_same_request_is_answered_from_the_cache() {
    let server = TestServer::start(vec![Reply::claude_text(&review_answer())]).await;
    let (ai, metrics) = provider(&config("claude", &server.url));
    let first = ai.review(&request()).await.expect("review");
    let second = ai.review(&request()).await.expect("cached review");
    assert!(second.cached && !first.cached);
    assert_eq!(first.value, second.value);
    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        metrics.stats().methods[&middleware::Method::Review].cache_hits,
        1
    );
}

#[test]
fn missing_configuration_says_what_to_set() {
    let mut cfg = config("claude", "https://api.anthropic.com");
    cfg.claude_api_key = None;
    let err = create_provider(&cfg, Arc::new(AiMetrics::new())).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`ai.claude_api_key`") && text.contains("ANTHROPIC_API_KEY"),
        "{text}"
    );

    let mut cfg = config("openai", "https://api.openai.com");
    cfg.openai_api_key = None;
    let text = create_provider(&cfg, Arc::new(AiMetrics::new()))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("OPENAI_API_KEY") && text.contains("OPENAI_BASE_URL"),
        "{text}"
    );

    let mut cfg = config("mcp", "http://localhost");
    cfg.ai_mcp = None;
    let text = create_provider(&cfg, Arc::new(AiMetrics::new()))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("`ai.mcp`") && text.contains("PROMPTSTACK_MCP_HOST"),
        "{text}"
    );
}

/// Collects formatted log lines.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output_errors_or_logs() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    for name in ["claude", "openai"] {
        let server = TestServer::start(vec![
            Reply::claude_text(&review_answer()),
            Reply::openai_error(401, &format!("Incorrect API key provided: {KEY}")),
        ])
        .await;
        let (ai, _) = provider(&config(name, &server.url));
        let review = ai.review(&request()).await;
        let second = ai
            .review(&ReviewRequest {
                composition: "other".into(),
                context: vec![],
                fresh: false,
            })
            .await;
        let debug = format!("{ai:?} {review:?} {second:?}");
        assert!(!debug.contains(KEY), "{debug}");
        if let Err(e) = &second {
            assert!(!e.to_string().contains(KEY));
        }
        // The key did reach the server, so the test would notice a leak.
        assert!(
            server.requests()[0]
                .headers
                .values()
                .any(|v| v.contains(KEY))
        );
    }
    let logs = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(logs.contains("AI call"), "logging ran: {logs}");
    assert!(!logs.contains(KEY), "{logs}");
}
