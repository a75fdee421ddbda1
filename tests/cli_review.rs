//! `promptstack review` and `promptstack ai stats` through the real binary, against a local
//! server that answers like the Anthropic Messages API.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;

const KEY: &str = "sk-ant-cli-test-0123456789SECRET";

/// Answers `count` requests with a review, returning the request bodies when done.
fn serve(count: usize) -> (String, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = thread::spawn(move || {
        let answer = serde_json::json!({"suggestions": [{
            "type": "contradiction", "title": "Short or long?",
            "description": "Lines 3 and 4 disagree.", "start_line": 3, "end_line": 4,
            "prompt_id": null}]})
        .to_string();
        let mut bodies = Vec::new();
        for stream in listener.incoming().take(count) {
            let mut stream = stream.expect("connection");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0;
            let mut headers = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("header");
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().expect("length");
                }
                headers.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            assert!(headers.starts_with("POST /v1/messages "), "{headers}");
            assert!(headers.contains(&format!("x-api-key: {KEY}")), "{headers}");
            bodies.push(String::from_utf8(body).expect("utf-8"));
            let reply = serde_json::json!({
                "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn",
                "stop_sequence": null, "usage": {"input_tokens": 100, "output_tokens": 20}})
            .to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
        bodies
    });
    (url, handle)
}

fn promptstack(home: &std::path::Path, url: &str, key: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_promptstack"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PROMPTSTACK_HOME", home)
        .env("ANTHROPIC_BASE_URL", url);
    if let Some(key) = key {
        cmd.env("ANTHROPIC_API_KEY", key);
    }
    cmd
}

#[test]
fn review_prints_suggestions_and_stats_count_them() {
    let home = tempfile::tempdir().expect("home");
    let draft = home.path().join("draft.prompt.md");
    std::fs::write(
        &draft,
        "# Task\nWrite a poem.\nKeep it short.\nMake it long.\n",
    )
    .expect("draft");
    let (url, server) = serve(1);

    let out = promptstack(home.path(), &url, Some(KEY))
        .arg("review")
        .arg(&draft)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "draft.prompt.md:3-4: contradiction: Short or long?\n    Lines 3 and 4 disagree.\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("1 suggestion(s) from claude"), "{stdout}");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    let bodies = server.join().expect("server");
    assert!(bodies[0].contains("3 | Keep it short."), "{}", bodies[0]);

    let out = promptstack(home.path(), &url, None)
        .args(["ai", "stats", "--format", "json"])
        .output()
        .expect("run");
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(stats["methods"]["review"]["calls"], 1);
    assert_eq!(stats["methods"]["review"]["input_tokens"], 100);
}

#[test]
fn review_without_a_key_says_how_to_configure_and_exits_2() {
    let home = tempfile::tempdir().expect("home");
    let draft = home.path().join("draft.prompt.md");
    std::fs::write(&draft, "Hello\n").expect("draft");
    let out = promptstack(home.path(), "https://api.anthropic.com", None)
        .arg("review")
        .arg(&draft)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`ai.claude_api_key`") && stderr.contains("ANTHROPIC_API_KEY"),
        "{stderr}"
    );
}
