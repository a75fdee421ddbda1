//! A small typed LSP client for end-to-end tests: starts the real `promptstack lsp` binary with a
//! temporary `PROMPTSTACK_HOME` and speaks JSON-RPC over its stdio.
#![allow(dead_code)] // Each test binary uses a different part of the harness.

pub mod agent_catalog;
pub mod ai;
pub mod falkor;
pub mod fuzz;
pub mod git_remote;
pub mod mcp_peer;
pub mod pg;
pub mod team_outage;
pub mod wire_server;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any single wait may take before the test fails with what it saw.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_promptstack"))
}

/// A temp home plus a workspace folder for documents.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn library(&self) -> PathBuf {
        self.home().join("data/library")
    }

    pub fn workspace(&self) -> PathBuf {
        let w = self.dir.path().join("workspace");
        std::fs::create_dir_all(&w).expect("workspace dir");
        w
    }

    /// Writes a file (creating parents) and returns its path.
    pub fn write(&self, path: &Path, text: &[u8]) -> PathBuf {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
        path.to_path_buf()
    }

    /// Runs the CLI with this home; returns (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        self.cli_with(args, &[])
    }

    /// [`Sandbox::cli`] with extra environment variables.
    pub fn cli_with(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let out = Command::new(binary())
            .args(args)
            .env("PROMPTSTACK_HOME", self.home())
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("OPENAI_API_KEY")
            .envs(env.iter().copied())
            .output()
            .expect("run promptstack");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

pub fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The path of a `file://` URI (percent escapes decoded).
pub fn uri_path(uri: &str) -> PathBuf {
    let raw = uri.strip_prefix("file://").unwrap_or(uri).as_bytes();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if raw[i] == b'%'
            && i + 2 < raw.len()
            && let (Some(h), Some(l)) = (hex(raw[i + 1]), hex(raw[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    PathBuf::from(String::from_utf8_lossy(&out).into_owned())
}

/// One message from the server.
#[derive(Debug, Clone)]
pub enum Incoming {
    Response {
        id: i64,
        result: Result<Value, Value>,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// A request from the server (answered automatically, kept for inspection).
    Request {
        method: String,
        params: Value,
    },
    /// A request from the server whose method is in [`Client::held`]: not answered; the test
    /// answers it with [`Client::respond`].
    Held {
        id: Value,
        method: String,
        params: Value,
    },
}

/// The client side of a running server.
pub struct Client {
    child: Child,
    stdin: Stdin,
    incoming: Receiver<Incoming>,
    /// Notifications and server requests seen while waiting for something else.
    pub seen: Vec<Incoming>,
    next_id: AtomicI64,
    /// What the client answers to `workspace/configuration`.
    pub settings: Arc<Mutex<Value>>,
    /// Answers to other server requests by method, replacing the defaults (e.g. the item a user
    /// picks in `window/showMessageRequest`, or `{"applied": false}` for `workspace/applyEdit`).
    pub replies: Arc<Mutex<HashMap<String, Value>>>,
    /// Methods of server requests the client does not answer by itself.
    pub held: Arc<Mutex<std::collections::HashSet<String>>>,
    pub stderr: Arc<Mutex<String>>,
}

/// The server's stdin, written by a thread of its own. Neither the test nor the thread answering
/// the server's requests may block on a full pipe: the answering thread is also the one reading
/// stdout, and a server whose stdout is not read stops reading stdin, so both sides would wait
/// for each other (seen under load in the open/close cycles of tests/lsp_load.rs).
#[derive(Clone)]
struct Stdin(std::sync::mpsc::Sender<Vec<u8>>);

impl Stdin {
    fn spawn(mut pipe: ChildStdin) -> Stdin {
        let (tx, rx) = channel::<Vec<u8>>();
        std::thread::spawn(move || {
            for bytes in rx {
                if pipe.write_all(&bytes).and_then(|()| pipe.flush()).is_err() {
                    return;
                }
            }
        });
        Stdin(tx)
    }

    fn write(&self, bytes: Vec<u8>) -> std::io::Result<()> {
        self.0.send(bytes).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the server's stdin is closed",
            )
        })
    }
}

fn write_message(stdin: &Stdin, value: &Value) -> std::io::Result<()> {
    let body = serde_json::to_vec(value).expect("serialise");
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(&body);
    stdin.write(frame)
}

/// Reads one framed message; `None` at end of stream.
fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            length = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    /// Starts `promptstack lsp` with the sandbox's home and extra environment.
    pub fn start(sandbox: &Sandbox, env: &[(&str, &str)]) -> Client {
        let mut command = Command::new(binary());
        command
            .arg("lsp")
            .env("PROMPTSTACK_HOME", sandbox.home())
            .env("PROMPTSTACK_LOG", "promptstack=debug")
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("OPENAI_API_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start promptstack lsp");
        let stdin = Stdin::spawn(child.stdin.take().expect("stdin"));
        let stdout = child.stdout.take().expect("stdout");
        let stderr_pipe = child.stderr.take().expect("stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_sink = stderr.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr_pipe);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                stderr_sink.lock().expect("stderr lock").push_str(&line);
                line.clear();
            }
        });
        let settings = Arc::new(Mutex::new(Value::Null));
        let replies: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
        let (tx, rx) = channel();
        let reply_stdin = stdin.clone();
        let reply_settings = settings.clone();
        let scripted = replies.clone();
        let held: Arc<Mutex<std::collections::HashSet<String>>> = Arc::default();
        let holding = held.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(msg) = read_message(&mut reader) {
                let method = msg
                    .get("method")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let id = msg.get("id").cloned();
                let incoming = match (method, id) {
                    (Some(method), Some(id)) if holding.lock().expect("held").contains(&method) => {
                        Incoming::Held {
                            id,
                            method,
                            params: msg.get("params").cloned().unwrap_or(Value::Null),
                        }
                    }
                    (Some(method), Some(id)) => {
                        // Answer server-to-client requests the way an editor would.
                        let chosen = scripted.lock().expect("replies").get(&method).cloned();
                        let result = match (chosen, method.as_str()) {
                            (Some(scripted), _) => scripted,
                            (None, "workspace/configuration") => {
                                let items = msg["params"]["items"].as_array().map_or(1, Vec::len);
                                let value = reply_settings.lock().expect("settings").clone();
                                Value::Array(vec![value; items])
                            }
                            (None, "window/showDocument") => json!({ "success": true }),
                            (None, "workspace/applyEdit") => json!({ "applied": true }),
                            (None, _) => Value::Null,
                        };
                        let _ = write_message(
                            &reply_stdin,
                            &json!({"jsonrpc": "2.0", "id": id, "result": result}),
                        );
                        Incoming::Request {
                            method,
                            params: msg.get("params").cloned().unwrap_or(Value::Null),
                        }
                    }
                    (Some(method), None) => Incoming::Notification {
                        method,
                        params: msg.get("params").cloned().unwrap_or(Value::Null),
                    },
                    (None, Some(id)) => Incoming::Response {
                        id: id.as_i64().unwrap_or(-1),
                        result: match msg.get("error") {
                            Some(e) => Err(e.clone()),
                            None => Ok(msg.get("result").cloned().unwrap_or(Value::Null)),
                        },
                    },
                    (None, None) => continue,
                };
                if tx.send(incoming).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming: rx,
            seen: Vec::new(),
            next_id: AtomicI64::new(1),
            settings,
            replies,
            held,
            stderr,
        }
    }

    /// `initialize` + `initialized` with typical editor capabilities.
    pub fn initialize(&mut self, init_options: Value, utf8: bool) -> Value {
        self.initialize_as(init_options, utf8, Value::Null)
    }

    /// [`Client::initialize`] with `capabilities` merged over the typical ones (a `null` leaf
    /// removes a capability), to play a less capable editor.
    pub fn initialize_as(&mut self, init_options: Value, utf8: bool, capabilities: Value) -> Value {
        let encodings = if utf8 {
            json!(["utf-8", "utf-16"])
        } else {
            json!(["utf-16"])
        };
        let mut typical = json!({
            "general": { "positionEncodings": encodings },
            "workspace": {
                "applyEdit": true,
                "workspaceEdit": { "documentChanges": true },
                "configuration": true,
                "didChangeConfiguration": { "dynamicRegistration": true },
                "codeLens": { "refreshSupport": true },
                "workspaceFolders": true
            },
            "window": { "workDoneProgress": true, "showDocument": { "support": true } },
            "textDocument": {
                "completion": { "completionItem": { "snippetSupport": true } },
                "codeAction": {
                    "codeActionLiteralSupport": {
                        "codeActionKind": { "valueSet": ["quickfix", "refactor", "refactor.rewrite"] }
                    },
                    "resolveSupport": { "properties": ["edit"] }
                },
                "synchronization": { "didSave": true }
            }
        });
        merge(&mut typical, capabilities);
        self.initialize_with(init_options, typical)
    }

    /// `initialize` + `initialized` with exactly these client capabilities.
    pub fn initialize_with(&mut self, init_options: Value, capabilities: Value) -> Value {
        let result = self
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": null,
                    "capabilities": capabilities,
                    "initializationOptions": init_options
                }),
            )
            .expect("initialize succeeds");
        self.notify("initialized", json!({}));
        result
    }

    /// `initialize` + `initialized` with `workspace` as the only workspace folder, and
    /// `init_options` as `initializationOptions`.
    pub fn initialize_in(&mut self, workspace: &Path, init_options: Value) -> Value {
        let result = self
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": uri(workspace),
                    "workspaceFolders": [{ "uri": uri(workspace), "name": "workspace" }],
                    "capabilities": {
                        "general": { "positionEncodings": ["utf-16"] },
                        "workspace": { "workspaceFolders": true },
                        "window": { "showDocument": { "support": true } },
                        "textDocument": {
                            "completion": { "completionItem": { "snippetSupport": true } }
                        }
                    },
                    "initializationOptions": init_options
                }),
            )
            .expect("initialize succeeds");
        self.notify("initialized", json!({}));
        result
    }

    /// Runs `workspace/executeCommand`, retrying while the history is still opening (it opens
    /// in the background after start).
    pub fn history_command(&mut self, name: &str, args: Value) -> Result<Value, Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let result = self.request(
                "workspace/executeCommand",
                json!({ "command": name, "arguments": [args.clone()] }),
            );
            match &result {
                Err(e)
                    if e["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("still opening")) =>
                {
                    assert!(Instant::now() < deadline, "history never opened");
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => return result,
            }
        }
    }

    /// Polls `promptstack.history.search` until `pred` holds for its results.
    pub fn history_search_until(
        &mut self,
        query: &str,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let found = self
                .history_command("promptstack.history.search", json!({ "query": query }))
                .expect("history search answers");
            let results = found["results"].as_array().cloned().unwrap_or_default();
            if pred(&results) {
                return results;
            }
            assert!(
                Instant::now() < deadline,
                "search for {query:?} never matched: {found}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Replaces a document's text and saves it, as an editor does.
    pub fn save(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
        self.notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": uri}, "text": text}),
        );
    }

    /// The params of the requests the server made with `method`, oldest first (among the
    /// messages kept in `seen`).
    pub fn server_requests(&self, method: &str) -> Vec<Value> {
        self.seen
            .iter()
            .filter_map(|m| match m {
                Incoming::Request { method: m, params } if m == method => Some(params.clone()),
                _ => None,
            })
            .collect()
    }

    /// The params of the notifications with `method` kept in `seen`, oldest first.
    pub fn notifications(&self, method: &str) -> Vec<Value> {
        self.seen
            .iter()
            .filter_map(|m| match m {
                Incoming::Notification { method: m, params } if m == method => Some(params.clone()),
                _ => None,
            })
            .collect()
    }

    /// Sends a notification; a null `params` is left out, as editors do for `exit`.
    pub fn notify(&mut self, method: &str, params: Value) {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        write_message(&self.stdin, &message).expect("write notification");
    }

    /// Writes raw bytes (for malformed-input tests).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stdin.write(bytes.to_vec()).expect("write raw");
    }

    /// Sends a request and waits for its response: `Ok(result)` or `Err(error object)`.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        write_message(&self.stdin, &message).expect("write request");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.next(deadline) {
                Some(Incoming::Response { id: got, result }) if got == id => return result,
                Some(other) => self.seen.push(other),
                None => panic!(
                    "no response to {method} within {TIMEOUT:?}; stderr:\n{}",
                    self.stderr.lock().expect("stderr")
                ),
            }
        }
    }

    /// Sends a request without waiting; returns its id (see [`Client::wait_response`]).
    /// Answers a [`Incoming::Held`] request of the server.
    pub fn respond(&mut self, id: Value, result: Value) {
        let message = json!({"jsonrpc": "2.0", "id": id, "result": result});
        write_message(&self.stdin, &message).expect("write response");
    }

    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        write_message(&self.stdin, &message).expect("write request");
        id
    }

    /// Waits for the response to a request sent with [`Client::send_request`].
    pub fn wait_response(&mut self, id: i64) -> Result<Value, Value> {
        if let Some(pos) = self
            .seen
            .iter()
            .position(|m| matches!(m, Incoming::Response { id: got, .. } if *got == id))
            && let Incoming::Response { result, .. } = self.seen.remove(pos)
        {
            return result;
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.next(deadline) {
                Some(Incoming::Response { id: got, result }) if got == id => return result,
                Some(other) => self.seen.push(other),
                None => panic!(
                    "no response to request {id} within {TIMEOUT:?}; stderr:\n{}",
                    self.stderr.lock().expect("stderr")
                ),
            }
        }
    }

    /// The next message from the server within `wait`, if any (for clients juggling many
    /// requests at once).
    pub fn poll(&mut self, wait: Duration) -> Option<Incoming> {
        self.incoming.recv_timeout(wait).ok()
    }

    fn next(&mut self, deadline: Instant) -> Option<Incoming> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.incoming.recv_timeout(left).ok()
    }

    /// Waits for a notification matching `pred`, first among those already seen.
    pub fn wait_notification(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(pos) = self.seen.iter().position(
            |m| matches!(m, Incoming::Notification { method: m2, params } if m2 == method && pred(params)),
        ) && let Incoming::Notification { params, .. } = self.seen.remove(pos)
        {
            return params;
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.next(deadline) {
                Some(Incoming::Notification { method: m, params })
                    if m == method && pred(&params) =>
                {
                    return params;
                }
                Some(other) => self.seen.push(other),
                None => panic!(
                    "no {method} notification within {TIMEOUT:?}; seen: {:#?}\nstderr:\n{}",
                    self.seen,
                    self.stderr.lock().expect("stderr")
                ),
            }
        }
    }

    /// Reads messages into `seen` until `done(&seen)` holds; panics after [`TIMEOUT`] naming `what`.
    pub fn wait_until(&mut self, what: &str, done: impl Fn(&[Incoming]) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        while !done(&self.seen) {
            match self.next(deadline) {
                Some(message) => self.seen.push(message),
                None => panic!(
                    "{what} did not happen within {TIMEOUT:?}; seen: {:#?}\nstderr:\n{}",
                    self.seen,
                    self.stderr.lock().expect("stderr")
                ),
            }
        }
    }

    /// Waits for a request from the server (already answered) matching `pred`; returns its params.
    pub fn wait_server_request(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(pos) = self.seen.iter().position(
            |m| matches!(m, Incoming::Request { method: m2, params } if m2 == method && pred(params)),
        ) && let Incoming::Request { params, .. } = self.seen.remove(pos)
        {
            return params;
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.next(deadline) {
                Some(Incoming::Request { method: m, params }) if m == method && pred(&params) => {
                    return params;
                }
                Some(other) => self.seen.push(other),
                None => panic!(
                    "no {method} request within {TIMEOUT:?}; seen: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Waits for `publishDiagnostics` for `uri` (optionally at a document version).
    pub fn wait_diagnostics(&mut self, uri: &str, version: Option<i64>) -> Vec<Value> {
        let params = self.wait_notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri && version.is_none_or(|v| p["version"] == v)
        });
        params["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": text}}),
        );
    }

    /// Waits until the server's stderr has a line containing `needle` and returns the log so far.
    /// The log is its own pipe: a line may arrive after a message the server sent later on stdout.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let log = self.stderr.lock().expect("stderr").clone();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?}; stderr:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's process id (benchmarks read its memory use).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `shutdown` + `exit`, and the process's exit status code.
    pub fn shutdown(mut self) -> Option<i32> {
        let _ = self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The error message of `promptstack.createPrompt` asked to write into the read-only `source`.
pub fn create_prompt_refused(client: &mut Client, source: &str) -> String {
    let refused = client
        .request(
            "workspace/executeCommand",
            json!({"command": "promptstack.createPrompt", "arguments": [
                {"title": "Mine", "category": "commands", "source": source}]}),
        )
        .expect_err("createPrompt refuses a read-only source");
    refused["message"].as_str().unwrap_or_default().to_string()
}

/// The texts of the `window/showMessage` notifications among `seen`.
pub fn shown_messages(seen: &[Incoming]) -> Vec<String> {
    seen.iter()
        .filter_map(|m| match m {
            Incoming::Notification { method, params } if method == "window/showMessage" => {
                params["message"].as_str().map(str::to_string)
            }
            _ => None,
        })
        .collect()
}

/// Starts the server and initializes it with `workspace` as the only workspace folder (and
/// otherwise few capabilities: UTF-16, snippets, `window/showDocument`).
pub fn start_in(sandbox: &Sandbox, workspace: &Path) -> Client {
    let mut client = Client::start(sandbox, &[]);
    client.initialize_in(workspace, Value::Null);
    client
}

/// Merges `patch` into `base`: objects key by key, anything else replaces; `null` removes.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    base.remove(&key);
                } else {
                    merge(base.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        (_, Value::Null) => {}
        (base, patch) => *base = patch,
    }
}

/// Asks until `done` accepts the answer (the library loads in the background) or time runs out.
pub fn poll(
    client: &mut Client,
    method: &str,
    params: Value,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let answer = client
            .request(method, params.clone())
            .expect("request succeeds");
        if done(&answer) || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The items of a completion answer (a list or an array).
pub fn completion_items(answer: &Value) -> Vec<Value> {
    answer
        .get("items")
        .or(Some(answer))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The labels of a completion answer's items.
pub fn completion_labels(answer: &Value) -> Vec<String> {
    completion_items(answer)
        .iter()
        .map(|i| i["label"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Saves compositions the way the server does (a recorder over the SQLite index in `data`),
/// without a server; `(source path, content)` in order. Returns the composition ids.
pub fn save_through_recorder(
    data: &promptstack::home::DataPaths,
    saves: &[(&str, &str)],
) -> Vec<String> {
    use promptstack::history::{HistoryRecorder, SaveRequest, SqliteRepository};
    let repo = Arc::new(SqliteRepository::open(&data.database_path, Default::default()).unwrap());
    let recorder = HistoryRecorder::start(
        Some(repo),
        data.history_dir.clone(),
        promptstack::events::EventBus::new(),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    saves
        .iter()
        .map(|(source, content)| {
            let outcome = runtime
                .block_on(recorder.save(SaveRequest {
                    source_path: PathBuf::from(source),
                    working_dir: Some("/work/project".into()),
                    content: content.to_string(),
                    prompts_used: Vec::new(),
                }))
                .unwrap();
            assert!(!outcome.needs_repair(), "{:?}", outcome.index_error);
            outcome.composition_id
        })
        .collect()
}

/// The Markdown history files under the sandbox's data directory, sorted.
pub fn history_files(sandbox: &Sandbox) -> Vec<PathBuf> {
    let dir = sandbox.home().join("data/.history");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "md"));
    files.sort();
    files
}

/// Types `query` as the whole text of `doc` (at `version`) and asks for completion at its end
/// until an item labelled `label` is offered (sources and indexes fill in the background).
pub fn completed(client: &mut Client, doc: &str, version: i64, query: &str, label: &str) -> Value {
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": version}, "contentChanges": [{"text": query}]}),
    );
    let deadline = Instant::now() + TIMEOUT * 2;
    loop {
        let answer = client
            .request(
                "textDocument/completion",
                json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": query.len()}}),
            )
            .unwrap();
        if let Some(item) = completion_items(&answer)
            .into_iter()
            .find(|i| i["label"] == label)
        {
            return item;
        }
        assert!(
            Instant::now() < deadline,
            "{label:?} never completed: {answer:#}\nserver log:\n{}",
            client.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
