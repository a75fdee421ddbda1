//! A local HTTP/1.1 server for tests that answers like the Anthropic and OpenAI APIs and records
//! every request (path, headers, JSON body).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One scripted response.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    delay: Duration,
    /// Never answer; report when the client closes the connection.
    hang: bool,
}

impl Reply {
    pub fn raw(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
            hang: false,
        }
    }

    /// A Messages API success whose text block is `text`.
    pub fn claude_text(text: &str) -> Self {
        Self::raw(
            200,
            &json!({
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": null,
                "usage": {"input_tokens": 120, "output_tokens": 34}
            })
            .to_string(),
        )
    }

    /// A Messages API error body.
    pub fn claude_error(status: u16, kind: &str, message: &str) -> Self {
        Self::raw(
            status,
            &json!({"type": "error", "error": {"type": kind, "message": message}}).to_string(),
        )
    }

    /// A Chat Completions success whose message content is `text`.
    pub fn openai_text(text: &str) -> Self {
        Self::raw(
            200,
            &json!({
                "id": "chatcmpl-abc123",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "gpt-4o-mini",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": null},
                    "logprobs": null,
                    "finish_reason": "stop"
                }],
                "usage": {"prompt_tokens": 120, "completion_tokens": 34, "total_tokens": 154}
            })
            .to_string(),
        )
    }

    /// A Chat Completions error body.
    pub fn openai_error(status: u16, message: &str) -> Self {
        Self::raw(
            status,
            &json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
                .to_string(),
        )
    }

    /// Keeps the connection open without answering.
    pub fn hang() -> Self {
        Reply {
            hang: true,
            ..Self::raw(200, "")
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A request as the server received it; header names are lower-cased.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Value,
}

/// The running server; it stops with the test's runtime.
pub struct TestServer {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    closed: mpsc::UnboundedReceiver<()>,
}

impl TestServer {
    /// Serves `replies` in order, one per request; then answers 500.
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let (closed_tx, closed) = mpsc::unbounded_channel();
        let recorded = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (recorded, replies, closed_tx) =
                    (recorded.clone(), replies.clone(), closed_tx.clone());
                tokio::spawn(async move {
                    serve(stream, recorded, replies, closed_tx).await;
                });
            }
        });
        TestServer {
            url,
            requests,
            closed,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }

    /// Waits until a hanging request's connection is closed by the client.
    pub async fn connection_closed(&mut self) {
        self.closed.recv().await.expect("server running");
    }
}

async fn serve(
    mut stream: TcpStream,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    closed: mpsc::UnboundedSender<()>,
) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    recorded.lock().expect("lock").push(request);
    let reply = replies
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_else(|| Reply::raw(500, "{\"error\":{\"message\":\"no scripted reply\"}}"));
    if reply.hang {
        let mut buf = [0u8; 1024];
        // Read until the client closes its side.
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        let _ = closed.send(());
        return;
    }
    tokio::time::sleep(reply.delay).await;
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(reply.body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        529 => "Overloaded",
        _ => "Status",
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}
