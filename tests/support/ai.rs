//! Helpers for AI tests: a local server speaking the providers' wire formats in front of the
//! real binary, a composition open in it, and the requests an editor makes around a review.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::wire_server::{Reply, TestServer};
use super::{Client, Sandbox, uri};

pub const KEY: &str = "sk-test-lsp-0123456789SECRETKEY";
pub const DRAFT: &str = "# Task\nWrite a poem.\nKeep it short.\nMake it long.\n";

#[derive(Clone, Copy, PartialEq)]
pub enum Provider {
    Claude,
    OpenAi,
}

pub fn review_answer() -> String {
    json!({"suggestions": [{
        "type": "contradiction", "title": "Short or long?",
        "description": "Lines 3 and 4 disagree.", "start_line": 3, "end_line": 4,
        "prompt_id": null}]})
    .to_string()
}

pub fn apply_answer() -> String {
    json!({"edits": [{"start_line": 3, "end_line": 4, "new_text": "Keep it to eight lines."}]})
        .to_string()
}

pub fn text_reply(provider: Provider, text: &str) -> Reply {
    match provider {
        Provider::Claude => Reply::claude_text(text),
        Provider::OpenAi => Reply::openai_text(text),
    }
}

pub struct Setup {
    pub rt: tokio::runtime::Runtime,
    pub server: TestServer,
    pub sandbox: Sandbox,
    pub client: Client,
    pub uri: String,
}

pub fn ai_options(provider: Provider, url: &str, key: Option<&str>) -> Value {
    let mut ai = match provider {
        Provider::Claude => json!({"provider": "claude", "anthropic_base_url": url}),
        Provider::OpenAi => json!({"provider": "openai", "openai_base_url": url}),
    };
    if let Some(key) = key {
        let field = match provider {
            Provider::Claude => "claude_api_key",
            Provider::OpenAi => "openai_api_key",
        };
        ai[field] = json!(key);
    }
    json!({ "ai": ai })
}

pub fn start(provider: Provider, replies: Vec<Reply>, key: Option<&str>) -> Setup {
    start_with(Sandbox::new(), replies, ai_options_key(provider, key))
}

pub fn ai_options_key(provider: Provider, key: Option<&str>) -> impl FnOnce(&str) -> Value {
    let key = key.map(str::to_string);
    move |url| ai_options(provider, url, key.as_deref())
}

pub fn start_with(
    sandbox: Sandbox,
    replies: Vec<Reply>,
    options: impl FnOnce(&str) -> Value,
) -> Setup {
    start_as(sandbox, replies, options, Value::Null)
}

/// [`start_with`] for a client whose capabilities differ from the typical ones by `capabilities`
/// (see [`Client::initialize_as`]).
pub fn start_as(
    sandbox: Sandbox,
    replies: Vec<Reply>,
    options: impl FnOnce(&str) -> Value,
    capabilities: Value,
) -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(TestServer::start(replies));
    let mut client = Client::start(&sandbox, &[]);
    client.initialize_as(options(&server.url), false, capabilities);
    let path = sandbox.workspace().join("draft.prompt.md");
    std::fs::write(&path, DRAFT).expect("draft");
    let uri = uri(&path);
    client.open(&uri, DRAFT);
    client.wait_diagnostics(&uri, Some(1));
    Setup {
        rt,
        server,
        sandbox,
        client,
        uri,
    }
}

/// Asks for a review with `promptstack.ai.review`, as the `Review with AI` action does.
pub fn review(client: &mut Client, uri: &str) -> Result<Value, Value> {
    client.request(
        "workspace/executeCommand",
        json!({"command": "promptstack.ai.review", "arguments": [{"uri": uri}]}),
    )
}

pub fn ai_diagnostics(params: &Value) -> Vec<Value> {
    params["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d["source"] == "promptstack-ai")
        .collect()
}

pub fn code_actions(client: &mut Client, uri: &str, line: u32) -> Vec<Value> {
    client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}},
                "context": {"diagnostics": []}
            }),
        )
        .expect("code actions")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub fn titled(actions: &[Value], prefix: &str) -> Value {
    actions
        .iter()
        .find(|a| a["title"].as_str().is_some_and(|t| t.starts_with(prefix)))
        .cloned()
        .unwrap_or_else(|| panic!("no action starting with {prefix:?} in {actions:#?}"))
}

/// Waits (polling) until the wire server has received `count` requests.
pub fn wait_requests(server: &TestServer, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.requests().len() < count {
        assert!(
            Instant::now() < deadline,
            "the provider never got request {count}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the wire server sees a hanging request's connection closed by the server.
pub fn wait_closed(s: &mut Setup) {
    let server = &mut s.server;
    s.rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), server.connection_closed())
            .await
            .expect("the provider saw the connection closed");
    });
}

pub fn assert_no_key(setup: &Setup) {
    let stderr = setup.client.stderr.lock().expect("stderr").clone();
    assert!(!stderr.contains(KEY), "the key leaked into the server log");
}

/// Waits for the diagnostics that carry a review's suggestions; returns those.
pub fn wait_ai_diagnostics(client: &mut Client, uri: &str) -> Vec<Value> {
    let published = client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["uri"] == uri && !ai_diagnostics(p).is_empty()
    });
    ai_diagnostics(&published)
}

/// Waits (polling workspace symbols) until the library, which opens in the background, has the
/// prompt titled `title`.
pub fn wait_library_prompt(client: &mut Client, title: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = client
            .request("workspace/symbol", json!({"query": title}))
            .expect("symbols");
        if found.to_string().contains(title) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the library never loaded {title:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The audit log's lines (`data/audit.log`), once the server has exited.
pub fn audit_events(sandbox: &Sandbox) -> Vec<Value> {
    std::fs::read_to_string(sandbox.home().join("data/audit.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A sandbox whose library has `rules/brevity.md` with `body`.
pub fn brevity_library(body: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.library().join("rules/brevity.md"),
        format!(
            "---\ntitle: Brevity\ndescription: Keep answers short\ntags: [style]\n---\n{body}\n"
        )
        .as_bytes(),
    );
    sandbox
}

/// A review answer recommending `rules/brevity` for line 2.
pub fn brevity_recommendation() -> String {
    json!({"suggestions": [{
        "type": "recommendation", "title": "Use the brevity rule",
        "description": "The library has a rule for this.", "start_line": 2, "end_line": 2,
        "prompt_id": "rules/brevity"}]})
    .to_string()
}
