//! AI review in the editor, end to end through the binary over stdio, against local servers
//! speaking the Anthropic and OpenAI wire formats: review → diagnostics → code actions → resolve.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Sandbox;
use support::ai::*;
use support::wire_server::Reply;

fn full_flow(provider: Provider) {
    let mut s = start(
        provider,
        vec![
            text_reply(provider, &review_answer()),
            text_reply(provider, &apply_answer()),
        ],
        Some(KEY),
    );
    let uri = s.uri.clone();
    // Listing actions is cheap: Review with AI is there, and nothing reached the provider.
    let actions = code_actions(&mut s.client, &uri, 0);
    let review_action = titled(&actions, "Review with AI");
    assert_eq!(review_action["command"]["command"], "promptstack.ai.review");
    assert_eq!(
        review_action["command"]["arguments"][0]["uri"],
        uri.as_str()
    );
    assert!(s.server.requests().is_empty());

    assert_eq!(
        review(&mut s.client, &uri).expect("review")["suggestions"],
        1
    );
    let published = s
        .client
        .wait_notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri.as_str() && !ai_diagnostics(p).is_empty()
        });
    let diagnostics = ai_diagnostics(&published);
    assert_eq!(diagnostics.len(), 1);
    let d = &diagnostics[0];
    assert_eq!(d["code"], "contradiction");
    assert_eq!(d["severity"], 3);
    assert_eq!(
        d["range"],
        json!({"start": {"line": 2, "character": 0}, "end": {"line": 3, "character": 13}})
    );
    assert!(d["message"].as_str().unwrap().contains("Short or long?"));
    let suggestion_id = d["data"].as_str().expect("id").to_string();
    // Progress was reported around the call.
    assert!(s.client.seen.iter().any(|m| matches!(m,
        support::Incoming::Request { method, .. } if method == "window/workDoneProgress/create")));

    let actions = code_actions(&mut s.client, &uri, 3);
    let apply = titled(&actions, "Apply: Short or long?");
    assert!(apply.get("edit").is_none_or(Value::is_null), "edit is lazy");
    assert_eq!(apply["data"]["id"], suggestion_id.as_str());
    assert_eq!(apply["data"]["version"], 1);
    titled(&actions, "Dismiss");
    titled(&actions, "Review with AI");
    // Away from the suggestion only the review is offered.
    let elsewhere = code_actions(&mut s.client, &uri, 0);
    assert_eq!(elsewhere.len(), 1, "{elsewhere:#?}");

    let resolved = s
        .client
        .request("codeAction/resolve", apply.clone())
        .expect("resolve");
    let change = &resolved["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"], json!({"uri": uri, "version": 1}));
    assert_eq!(
        change["edits"],
        json!([{
            "range": {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 0}},
            "newText": "Keep it to eight lines.\n"
        }])
    );

    let requests = s.server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.method, "POST");
        match provider {
            Provider::Claude => {
                assert_eq!(r.path, "/v1/messages");
                assert_eq!(r.headers.get("x-api-key").map(String::as_str), Some(KEY));
                assert!(r.headers.contains_key("anthropic-version"));
                assert!(r.body["max_tokens"].is_number());
            }
            Provider::OpenAi => {
                assert_eq!(r.path, "/v1/chat/completions");
                assert_eq!(
                    r.headers.get("authorization").cloned(),
                    Some(format!("Bearer {KEY}"))
                );
                assert!(r.body["messages"].is_array());
            }
        }
    }

    // Dismiss removes the diagnostic and keeps the others.
    let dismiss = titled(&actions, "Dismiss");
    let command = &dismiss["command"];
    s.client
        .request(
            "workspace/executeCommand",
            json!({"command": command["command"], "arguments": command["arguments"]}),
        )
        .expect("dismiss");
    s.client
        .wait_notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri.as_str() && ai_diagnostics(p).is_empty()
        });
    assert_eq!(code_actions(&mut s.client, &uri, 3).len(), 1);

    // Stats count both calls.
    let stats = s
        .client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.ai.stats", "arguments": []}),
        )
        .expect("stats");
    assert!(stats.to_string().contains("\"calls\":1"), "{stats}");

    // A change after the review: the old Apply is refused.
    s.client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"text": format!("{DRAFT}More.\n")}]}),
    );
    let error = s
        .client
        .request("codeAction/resolve", apply)
        .expect_err("stale resolve is refused");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("changed since the review"),
        "{error}"
    );
    assert_no_key(&s);
    s.client.shutdown();
    // Resolving is what editors do to preview: the edit was never applied, so nothing was
    // accepted (tests/lsp_ai_apply.rs applies one).
    let audit =
        std::fs::read_to_string(s.sandbox.home().join("data/audit.log")).unwrap_or_default();
    assert!(!audit.contains("suggestion_accepted"), "{audit}");
    assert!(!audit.contains(&suggestion_id), "{audit}");
    assert!(!audit.contains(KEY));
}

#[test]
fn claude_review_apply_dismiss_and_stale() {
    full_flow(Provider::Claude);
}

#[test]
fn openai_review_apply_dismiss_and_stale() {
    full_flow(Provider::OpenAi);
}

#[test]
fn not_configured_explains_how_and_settings_fix_it() {
    let mut s = start(
        Provider::Claude,
        vec![Reply::claude_text(&review_answer())],
        None,
    );
    let uri = s.uri.clone();
    let error = review(&mut s.client, &uri).expect_err("not configured");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("ai.claude_api_key"), "{message}");
    assert!(message.contains("ANTHROPIC_API_KEY"), "{message}");
    let shown = s.client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("ANTHROPIC_API_KEY"))
    });
    assert_eq!(shown["type"], 1);
    assert!(s.server.requests().is_empty());

    // Configuring it in the editor settings rebuilds the provider; no restart needed.
    let settings = ai_options(Provider::Claude, &s.server.url, Some(KEY));
    s.client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"promptstack": settings}}),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match review(&mut s.client, &uri) {
            Ok(result) => {
                assert_eq!(result["suggestions"], 1);
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "still failing: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_no_key(&s);
    s.client.shutdown();
}

#[test]
fn unauthorized_says_check_your_api_key_without_the_key() {
    let mut s = start(
        Provider::Claude,
        vec![Reply::claude_error(
            401,
            "authentication_error",
            &format!("invalid x-api-key {KEY}"),
        )],
        Some(KEY),
    );
    let uri = s.uri.clone();
    let error = review(&mut s.client, &uri).expect_err("401");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("check your API key"), "{message}");
    assert!(!message.contains(KEY), "{message}");
    let shown = s.client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("check your API key"))
    });
    assert!(!shown.to_string().contains(KEY));
    // Not retried.
    assert_eq!(s.server.requests().len(), 1);
    assert_no_key(&s);
    s.client.shutdown();
}

#[test]
fn cancelling_resolve_closes_the_provider_connection() {
    let mut s = start(
        Provider::OpenAi,
        vec![
            text_reply(Provider::OpenAi, &review_answer()),
            Reply::hang(),
        ],
        Some(KEY),
    );
    let uri = s.uri.clone();
    review(&mut s.client, &uri).expect("review");
    s.client
        .wait_notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri.as_str() && !ai_diagnostics(p).is_empty()
        });
    let apply = titled(&code_actions(&mut s.client, &uri, 2), "Apply:");
    let id = s.client.send_request("codeAction/resolve", apply);
    wait_requests(&s.server, 2);
    s.client.notify("$/cancelRequest", json!({"id": id}));
    wait_closed(&mut s);
    let error = s.client.wait_response(id).expect_err("cancelled");
    assert_eq!(error["code"], -32800);
    s.client.shutdown();
}

#[test]
fn closing_the_document_aborts_its_review() {
    let mut s = start(Provider::Claude, vec![Reply::hang()], Some(KEY));
    let uri = s.uri.clone();
    let id = s.client.send_request(
        "workspace/executeCommand",
        json!({"command": "promptstack.ai.review", "arguments": [{"uri": uri}]}),
    );
    wait_requests(&s.server, 1);
    s.client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    wait_closed(&mut s);
    let error = s.client.wait_response(id).expect_err("cancelled");
    assert!(
        error["message"].as_str().unwrap().contains("cancelled"),
        "{error}"
    );
    let _ = &s.sandbox;
    s.client.shutdown();
}

#[test]
fn recommendation_inserts_the_library_prompt() {
    let mut s = start_with(
        brevity_library("Be brief: {{text:limit}} at most."),
        vec![Reply::claude_text(&brevity_recommendation())],
        ai_options_key(Provider::Claude, Some(KEY)),
    );
    let uri = s.uri.clone();
    // The library opens after `initialized`; wait until it knows the prompt.
    wait_library_prompt(&mut s.client, "Brevity");
    review(&mut s.client, &uri).expect("review");
    s.client
        .wait_notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri.as_str() && !ai_diagnostics(p).is_empty()
        });
    // The prompt went to the model as context.
    assert!(s.server.requests()[0].body.to_string().contains("Be brief"));
    let apply = titled(
        &code_actions(&mut s.client, &uri, 1),
        "Apply: Use the brevity rule",
    );
    let resolved = s
        .client
        .request("codeAction/resolve", apply)
        .expect("resolve");
    assert_eq!(
        resolved["edit"]["documentChanges"][0]["edits"],
        json!([{
            "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}},
            "newText": "Be brief: {{text:limit}} at most.\n"
        }])
    );
    // No apply call: the prompt comes from the library.
    assert_eq!(s.server.requests().len(), 1);
    s.client.shutdown();
}

#[test]
fn server_error_offers_retry() {
    let mut s = start_with(
        Sandbox::new(),
        vec![Reply::openai_error(
            500,
            "The server had an error while processing your request",
        )],
        |url| {
            let mut options = ai_options(Provider::OpenAi, url, Some(KEY));
            options["ai"]["max_retries"] = json!(1);
            options
        },
    );
    let uri = s.uri.clone();
    let error = review(&mut s.client, &uri).expect_err("500");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("HTTP 500"), "{message}");
    assert!(
        message.contains("while processing your request"),
        "{message}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let asked = s.client.seen.iter().any(|m| matches!(m,
            support::Incoming::Request { method, params }
                if method == "window/showMessageRequest" && params["actions"][0]["title"] == "Retry"));
        if asked {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no Retry prompt: {:#?}",
            s.client.seen
        );
        // Any traffic moves messages into `seen`.
        let _ = code_actions(&mut s.client, &uri, 0);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_no_key(&s);
    s.client.shutdown();
}

#[test]
fn a_new_review_aborts_the_one_in_flight() {
    let mut s = start(
        Provider::Claude,
        vec![Reply::hang(), Reply::claude_text(&review_answer())],
        Some(KEY),
    );
    let uri = s.uri.clone();
    let first = s.client.send_request(
        "workspace/executeCommand",
        json!({"command": "promptstack.ai.review", "arguments": [{"uri": uri}]}),
    );
    wait_requests(&s.server, 1);
    assert_eq!(
        review(&mut s.client, &uri).expect("second review")["suggestions"],
        1
    );
    wait_closed(&mut s);
    let error = s.client.wait_response(first).expect_err("first cancelled");
    assert_eq!(error["code"], -32800);
    s.client.shutdown();
}

#[test]
fn timeout_is_clear_and_closes_the_connection() {
    let mut s = start_with(Sandbox::new(), vec![Reply::hang()], |url| {
        let mut options = ai_options(Provider::Claude, url, Some(KEY));
        options["ai"]["timeout"] = json!(1);
        options["ai"]["max_retries"] = json!(1);
        options
    });
    let uri = s.uri.clone();
    let error = review(&mut s.client, &uri).expect_err("timeout");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("did not answer within 1 s"), "{message}");
    wait_closed(&mut s);
    s.client.shutdown();
}
