//! AI suggestions from review to applied edit, end to end over the real binary's stdio against a
//! local server speaking the providers' wire formats: acceptance counted only when an edit is
//! applied, clients without `codeAction/resolve` or `documentChanges`, reviews asked for again,
//! dismissals, and the context budget.

mod support;

use serde_json::{Value, json};
use support::ai::*;
use support::wire_server::Reply;
use support::{Client, Sandbox};

fn execute(client: &mut Client, command: &Value) -> Result<Value, Value> {
    client.request(
        "workspace/executeCommand",
        json!({"command": command["command"], "arguments": command["arguments"]}),
    )
}

fn events_named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

#[test]
fn a_suggestion_is_accepted_when_its_edit_is_applied_not_when_previewed() {
    let mut s = start(
        Provider::Claude,
        vec![
            Reply::claude_text(&review_answer()),
            Reply::claude_text(&apply_answer()),
        ],
        Some(KEY),
    );
    let uri = s.uri.clone();
    review(&mut s.client, &uri).expect("review");
    let id = wait_ai_diagnostics(&mut s.client, &uri)[0]["data"]
        .as_str()
        .expect("id")
        .to_string();
    let apply = titled(&code_actions(&mut s.client, &uri, 3), "Apply:");
    // Lazy edit, and the command the client runs once it has applied it.
    assert!(apply.get("edit").is_none_or(Value::is_null), "{apply}");
    assert_eq!(apply["command"]["command"], "promptstack.ai.accepted");
    assert_eq!(
        apply["command"]["arguments"][0],
        json!({"uri": uri, "id": id})
    );

    // Previewing twice: one model call (the second comes from the cache), no acceptance yet.
    let first = s
        .client
        .request("codeAction/resolve", apply.clone())
        .expect("resolve");
    let second = s
        .client
        .request("codeAction/resolve", apply.clone())
        .expect("resolve again");
    assert_eq!(first["edit"], second["edit"]);
    assert_eq!(s.server.requests().len(), 2);

    // The editor applies the edit: the document becomes the edit's result...
    let applied = "# Task\nWrite a poem.\nKeep it to eight lines.\n";
    s.client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{
                   "range": {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 0}},
                   "text": "Keep it to eight lines.\n"}]}),
    );
    // ...then runs the action's command, which finds the acceptance already counted.
    let ran = execute(&mut s.client, &apply["command"]).expect("accepted command");
    assert_eq!(ran, json!({"accepted": false}));
    let rendered = s
        .client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.render", "arguments": [{"uri": uri, "values": {}}]}),
        )
        .expect("render");
    assert_eq!(rendered["text"], applied, "the server saw the edit applied");
    s.client.shutdown();
    let events = audit_events(&s.sandbox);
    let accepted = events_named(&events, "suggestion_accepted");
    assert_eq!(accepted.len(), 1, "{events:#?}");
    assert_eq!(accepted[0]["details"]["suggestion_id"], id.as_str());
    assert_eq!(accepted[0]["details"]["kind"], "contradiction");
}

#[test]
fn the_command_alone_counts_when_the_document_shows_other_text() {
    // Some editors reformat while applying; running the command is then what says "applied".
    let mut s = start(
        Provider::OpenAi,
        vec![
            Reply::openai_text(&review_answer()),
            Reply::openai_text(&apply_answer()),
        ],
        Some(KEY),
    );
    let uri = s.uri.clone();
    review(&mut s.client, &uri).expect("review");
    wait_ai_diagnostics(&mut s.client, &uri);
    let apply = titled(&code_actions(&mut s.client, &uri, 3), "Apply:");
    s.client
        .request("codeAction/resolve", apply.clone())
        .expect("resolve");
    let ran = execute(&mut s.client, &apply["command"]).expect("accepted command");
    assert_eq!(ran, json!({"accepted": true}));
    // Counted once, however often it runs.
    let again = execute(&mut s.client, &apply["command"]).expect("accepted command");
    assert_eq!(again, json!({"accepted": false}));
    s.client.shutdown();
    let events = audit_events(&s.sandbox);
    assert_eq!(
        events_named(&events, "suggestion_accepted").len(),
        1,
        "{events:#?}"
    );
}

#[test]
fn clients_without_resolve_or_document_changes_get_a_command_and_plain_changes() {
    let mut s = start_as(
        brevity_library("Be brief."),
        vec![Reply::claude_text(&brevity_recommendation())],
        ai_options_key(Provider::Claude, Some(KEY)),
        json!({
            "workspace": {"workspaceEdit": null},
            "textDocument": {"codeAction": {"resolveSupport": null}}
        }),
    );
    let uri = s.uri.clone();
    wait_library_prompt(&mut s.client, "Brevity");
    review(&mut s.client, &uri).expect("review");
    wait_ai_diagnostics(&mut s.client, &uri);
    let apply = titled(&code_actions(&mut s.client, &uri, 1), "Apply:");
    // Neither an empty action nor one waiting for a resolve the client never sends.
    assert!(apply.get("data").is_none_or(Value::is_null), "{apply}");
    assert_eq!(apply["command"]["command"], "promptstack.ai.apply");
    let result = execute(&mut s.client, &apply["command"]).expect("apply command");
    assert_eq!(result["applied"], true, "{result}");
    let sent = s.client.server_requests("workspace/applyEdit");
    assert_eq!(sent.len(), 1);
    let edit = &sent[0]["edit"];
    assert!(edit.get("documentChanges").is_none(), "{edit}");
    assert_eq!(
        edit["changes"][&uri],
        json!([{
            "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}},
            "newText": "Be brief.\n"
        }])
    );
    s.client.shutdown();
    // Applying a recommendation is a use of its prompt, for usage ranking and references.
    let events = audit_events(&s.sandbox);
    assert_eq!(
        events_named(&events, "suggestion_accepted").len(),
        1,
        "{events:#?}"
    );
    let used = events_named(&events, "prompt_used");
    assert_eq!(used.len(), 1, "{events:#?}");
    assert_eq!(used[0]["details"]["prompt_id"], "rules/brevity");
    let usage = std::fs::read_to_string(s.sandbox.home().join("data/usage")).expect("usage file");
    assert!(usage.contains("rules/brevity"), "{usage}");
}

#[test]
fn a_review_asked_for_again_goes_to_the_model_and_dismissals_stay() {
    let mut s = start(
        Provider::Claude,
        vec![
            Reply::claude_text(&review_answer()),
            Reply::claude_text(&review_answer()),
            Reply::claude_text(&review_answer()),
        ],
        Some(KEY),
    );
    let uri = s.uri.clone();
    assert_eq!(
        review(&mut s.client, &uri).expect("review")["suggestions"],
        1
    );
    let diagnostics = wait_ai_diagnostics(&mut s.client, &uri);
    assert_eq!(
        review(&mut s.client, &uri).expect("again")["suggestions"],
        1
    );
    assert_eq!(
        s.server.requests().len(),
        2,
        "the second review of the same text reached the model"
    );

    let dismiss = titled(&code_actions(&mut s.client, &uri, 3), "Dismiss");
    execute(&mut s.client, &dismiss["command"]).expect("dismiss");
    s.client
        .wait_notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri.as_str() && ai_diagnostics(p).is_empty()
        });
    // The model finds the same thing again; the user already said no to it for this text.
    assert_eq!(
        review(&mut s.client, &uri).expect("third")["suggestions"],
        0
    );
    assert_eq!(s.server.requests().len(), 3);
    let actions = code_actions(&mut s.client, &uri, 3);
    assert_eq!(actions.len(), 1, "only Review with AI: {actions:#?}");
    assert!(!diagnostics.is_empty());
    s.client.shutdown();
}

/// A library prompt of about 11,000 tokens (by the ~4 characters per token estimate).
fn huge_prompt() -> String {
    let mut body = String::from("START-OF-HUGE\n");
    for i in 0..1100 {
        body.push_str(&format!(
            "Rule {i:04}: keep every answer precise and short.\n"
        ));
    }
    body.push_str("END-OF-HUGE\n");
    format!("---\ntitle: House rules\ndescription: All of them\n---\n{body}")
}

/// Review requests' text as sent (system prompt and messages), from the wire server.
fn sent_text(request: &Value) -> String {
    let mut out = String::new();
    for message in request["messages"].as_array().cloned().unwrap_or_default() {
        out.push_str(message["content"].as_str().unwrap_or_default());
    }
    out
}

fn budget_setup(context_percent: u32) -> (Setup, Value) {
    let sandbox = Sandbox::new();
    let prompt = sandbox.write(
        &sandbox.library().join("rules/house.md"),
        huge_prompt().as_bytes(),
    );
    let mut s = start_with(
        sandbox,
        vec![Reply::openai_text(&json!({"suggestions": []}).to_string())],
        |url| {
            let mut options = ai_options(Provider::OpenAi, url, Some(KEY));
            // A local model: an 8,192-token window.
            options["ai"]["model"] = json!("llama3.2");
            options["ai"]["context_budget_percent"] = json!(context_percent);
            options
        },
    );
    wait_library_prompt(&mut s.client, "House rules");
    let uri = s.uri.clone();
    let text = format!("Follow [the rules]({}).\nWrite a poem.\n", prompt.display());
    s.client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text}]}),
    );
    let result = review(&mut s.client, &uri).expect("review");
    (s, result)
}

#[test]
fn a_linked_prompt_counts_against_the_context_budget() {
    let (mut s, result) = budget_setup(30);
    let requests = s.server.requests();
    let sent = sent_text(&requests[0].body);
    // Everything sent fits the model's window, with room for the answer.
    let estimated_tokens = sent.chars().count().div_ceil(4);
    assert!(
        estimated_tokens <= 8192 * 80 / 100,
        "{estimated_tokens} tokens sent"
    );
    assert!(sent.contains("START-OF-HUGE"), "the beginning is sent");
    assert!(!sent.contains("END-OF-HUGE"), "the rest is not");
    assert!(sent.contains("[shortened: the rest of this prompt did not fit"));
    // The review says so.
    assert_eq!(result["shortened"], json!(["rules/house"]), "{result}");
    assert_eq!(result["left_out"], json!([]));
    let budget = result["context_budget_tokens"].as_u64().unwrap();
    assert!(budget <= 8192 * 30 / 100, "{result}");
    let told = s.client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("did not fit the context budget"))
    });
    assert!(
        told["message"].as_str().unwrap().contains("rules/house"),
        "{told}"
    );
    s.client.shutdown();
}

#[test]
fn with_no_context_budget_a_linked_prompt_is_left_out_and_the_review_says_so() {
    let (mut s, result) = budget_setup(0);
    let sent = sent_text(&s.server.requests()[0].body);
    assert!(!sent.contains("START-OF-HUGE"), "nothing of it is sent");
    assert_eq!(result["left_out"], json!(["rules/house"]), "{result}");
    assert_eq!(result["context"], json!([]));
    s.client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("left out rules/house"))
    });
    s.client.shutdown();
}

#[test]
fn short_tags_bring_their_prompts_as_context() {
    let sandbox = Sandbox::new();
    for (file, tag, body) in [
        ("rules/rest.md", "api", "Name endpoints as plural nouns."),
        (
            "commands/commit.md",
            "git",
            "Write the subject in the imperative.",
        ),
        ("rules/ml.md", "ml", "Train on held-out data."),
    ] {
        sandbox.write(
            &sandbox.library().join(file),
            format!("---\ntitle: {tag} guide\ndescription: about it\ntags: [{tag}]\n---\n{body}\n")
                .as_bytes(),
        );
    }
    let mut s = start_with(
        sandbox,
        vec![Reply::claude_text(&json!({"suggestions": []}).to_string())],
        ai_options_key(Provider::Claude, Some(KEY)),
    );
    wait_library_prompt(&mut s.client, "ml guide");
    let uri = s.uri.clone();
    s.client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"text": "Design the API, then commit it with Git.\n"}]}),
    );
    let result = review(&mut s.client, &uri).expect("review");
    let sent = s.server.requests()[0].body.to_string();
    assert!(
        sent.contains("plural nouns"),
        "the `api` prompt was not sent"
    );
    assert!(sent.contains("imperative"), "the `git` prompt was not sent");
    assert!(!sent.contains("held-out"), "an unrelated short tag scored");
    let mut context: Vec<String> = result["context"]
        .as_array()
        .expect("the review lists its context")
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_string())
        .collect();
    context.sort();
    assert_eq!(context, ["commands/commit", "rules/rest"], "{result}");
    s.client.shutdown();
}
