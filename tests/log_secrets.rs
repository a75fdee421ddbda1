//! No secret in any log line, at any level: keys and URL passwords from the config file, the
//! environment, `initializationOptions`, `workspace/configuration` answers and
//! `didChangeConfiguration`, and provider answers that echo them, with `PROMPTSTACK_LOG=trace`
//! (the protocol framework then logs every message it reads) — in stderr and in the log file.

mod support;

use serde_json::json;
use support::wire_server::{Reply, TestServer};
use support::{Client, Sandbox, uri};

const URL_PASSWORD: &str = "url-pass-7Hq2Zp9w";
const QUERY_KEY: &str = "query-key-Mv4Lr8sT";
const ENV_KEY: &str = "sk-env-key-Qz81Xc0p";
const INIT_KEY: &str = "sk-init-key-Rt55Hn3a";
const PULLED_KEY: &str = "sk-pulled-key-Gk27Wy6e";
const PUSHED_KEY: &str = "sk-pushed-key-Bn90Fd4u";
const SECRETS: &[&str] = &[
    URL_PASSWORD,
    QUERY_KEY,
    ENV_KEY,
    INIT_KEY,
    PULLED_KEY,
    PUSHED_KEY,
];

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{secret} leaked into {what}:\n{}",
            text.lines()
                .filter(|l| l.contains(secret))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn no_secret_reaches_stderr_or_the_log_file_at_trace_level() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    // The provider answers with text that is not JSON and with model text, both echoing secrets.
    let echo = format!("echo {PUSHED_KEY} {URL_PASSWORD} {INIT_KEY}");
    let server = rt.block_on(TestServer::start(vec![
        Reply::raw(200, &format!("<html>{echo}</html>")),
        Reply::openai_text(&echo),
    ]));
    let sandbox = Sandbox::new();
    let log_file = sandbox.dir.path().join("server.log");
    let base = server
        .url
        .replacen("http://", &format!("http://user:{URL_PASSWORD}@"), 1);
    sandbox.write(
        &sandbox.home().join("config.yaml"),
        format!(
            "version: 2\nai:\n  provider: openai\n  openai_base_url: \"{base}\"\n  anthropic_base_url: \"https://proxy.example/v1?api_key={QUERY_KEY}\"\nlog:\n  file: \"{}\"\n",
            log_file.display()
        )
        .as_bytes(),
    );

    let mut client = Client::start(
        &sandbox,
        &[("PROMPTSTACK_LOG", "trace"), ("OPENAI_API_KEY", ENV_KEY)],
    );
    *client.settings.lock().unwrap() = json!({"ai": {"openai_api_key": PULLED_KEY}});
    client.initialize(json!({"ai": {"openai_api_key": INIT_KEY}}), false);
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"promptstack": {"ai": {"openai_api_key": PUSHED_KEY}}}}),
    );
    let path = sandbox.workspace().join("draft.prompt.md");
    let text = "# Task\nWrite a poem.\n";
    std::fs::write(&path, text).unwrap();
    let uri = uri(&path);
    client.open(&uri, text);
    client.wait_diagnostics(&uri, Some(1));
    for _ in 0..2 {
        let answer = client.request(
            "workspace/executeCommand",
            json!({"command": "promptstack.ai.review", "arguments": [{"uri": uri}]}),
        );
        let error = answer.expect_err("neither answer is a usable review");
        assert_clean("an error answer", &error.to_string());
    }
    assert_eq!(
        server.requests().len(),
        2,
        "both reviews reached the provider"
    );
    let shown: Vec<String> = client.seen.iter().map(|m| format!("{m:?}")).collect();
    assert_clean("messages to the editor", &shown.join("\n"));
    let stderr = client.stderr.lock().unwrap().clone();
    assert_eq!(client.shutdown(), Some(0));
    let file = std::fs::read_to_string(&log_file).expect("the log file was written");
    for (what, log) in [("stderr", &stderr), ("the log file", &file)] {
        assert_clean(what, log);
        // The messages were logged (so the check above means something), with keys redacted.
        assert!(
            log.contains("<- {"),
            "{what}: no trace of incoming messages"
        );
        for shape in [
            "\"initializationOptions\":{\"ai\":{\"openai_api_key\":\"****\"}}",
            "\"result\":[{\"ai\":{\"openai_api_key\":\"****\"}}]",
            "\"promptstack\":{\"ai\":{\"openai_api_key\":\"****\"}}",
        ] {
            assert!(log.contains(shape), "{what} lacks {shape}");
        }
        assert!(
            log.contains("provider answer is not JSON") && log.contains("unusable model answer"),
            "{what}: the provider answers were logged"
        );
    }
}

#[test]
fn promptstack_config_masks_keys_and_url_credentials() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.home().join("config.yaml"),
        format!(
            "version: 2\nai:\n  openai_base_url: \"https://user:{URL_PASSWORD}@llm.example/v1\"\n  anthropic_base_url: \"https://proxy.example/v1?api_key={QUERY_KEY}\"\n  claude_api_key: \"{INIT_KEY}\"\n"
        )
        .as_bytes(),
    );
    let (code, stdout, stderr) = sandbox.cli(&["config"]);
    assert_eq!(code, 0, "{stderr}");
    assert_clean("`promptstack config`", &format!("{stdout}{stderr}"));
    assert!(
        stdout.contains("https://user:****@llm.example/v1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("https://proxy.example/v1?api_key=****"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ai.claude_api_key ") && l.contains(" ****Hn3a ")),
        "{stdout}"
    );
}
