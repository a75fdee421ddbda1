//! Validating each message body before the framework sees it. tower-lsp-server ends its read
//! loop on the first body it cannot decode, so only what its own `Request` and `Response` types
//! decode is passed on; everything else is answered (a request) or logged and dropped (a
//! notification or a response) here, and the server lives.

use serde_json::{Map, Value, json};
use tower_lsp_server::jsonrpc::{self, Request, Response};

/// JSON-RPC's code for a body that is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's code for JSON that is not a valid request.
pub const INVALID_REQUEST: i64 = -32600;

/// What one body turned out to be.
#[derive(Debug)]
pub enum Incoming {
    /// A request or notification the framework decodes.
    Request(Request),
    /// A response to a request the server sent.
    Response(Response),
    /// Not a usable message. `reply` is the error to send back, when the message was a
    /// request (or cannot be told apart from one); notifications and responses get none.
    Invalid {
        reason: String,
        reply: Option<Value>,
        /// The body was not JSON at all, so its framing was probably wrong too.
        not_json: bool,
    },
}

/// Classifies one body.
pub fn classify(body: &[u8]) -> Incoming {
    let value = match parse(body) {
        Ok(value) => value,
        Err(reason) => {
            // Invalid UTF-8 in a string still lets the id be read, for an error the client can
            // match to its request.
            let id = serde_json::from_str::<Value>(&String::from_utf8_lossy(body))
                .ok()
                .and_then(|v| v.get("id").and_then(readable_id));
            return Incoming::Invalid {
                reply: Some(error_reply(id, PARSE_ERROR, &reason)),
                reason,
                not_json: true,
            };
        }
    };
    match value {
        Value::Object(object) => classify_object(object),
        Value::Array(_) => invalid_request(None, "batches are not supported by LSP".into()),
        _ => invalid_request(None, "a message must be a JSON object".into()),
    }
}

/// Parses JSON, accepting lone UTF-16 surrogate escapes (which JavaScript clients produce for
/// half an emoji) as U+FFFD: one UTF-16 unit either way, so the client's positions still hold.
fn parse(body: &[u8]) -> Result<Value, String> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(first) => match replace_lone_surrogates(body) {
            Some(repaired) => serde_json::from_slice(&repaired).map_err(|_| describe(&first)),
            None => Err(describe(&first)),
        },
    }
}

/// A serde error without the content it quotes (a body may hold secrets).
fn describe(error: &serde_json::Error) -> String {
    let what = match error.classify() {
        serde_json::error::Category::Io => "an I/O error",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "JSON the server cannot represent",
        serde_json::error::Category::Eof => "JSON cut short",
    };
    format!(
        "{what} (line {}, column {}{})",
        error.line(),
        error.column(),
        if error.to_string().contains("recursion limit") {
            ", nested too deeply"
        } else {
            ""
        }
    )
}

/// The body with each lone surrogate escape (`\ud800` without its pair) replaced by `\ufffd`;
/// `None` when it has none.
fn replace_lone_surrogates(body: &[u8]) -> Option<Vec<u8>> {
    let hex = |at: usize| -> Option<u16> {
        let digits = body.get(at..at + 4)?;
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let escape_at = |at: usize| -> Option<u16> {
        (body.get(at) == Some(&b'\\') && body.get(at + 1) == Some(&b'u'))
            .then(|| hex(at + 2))
            .flatten()
    };
    let mut out = Vec::with_capacity(body.len());
    let mut changed = false;
    let (mut i, mut in_string) = (0, false);
    while i < body.len() {
        match body[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                let width = match escape_at(i) {
                    // A complete pair stays as written.
                    Some(0xD800..=0xDBFF)
                        if escape_at(i + 6).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low)) =>
                    {
                        12
                    }
                    Some(0xD800..=0xDFFF) => {
                        out.extend_from_slice(b"\\ufffd");
                        changed = true;
                        i += 6;
                        continue;
                    }
                    Some(_) => 6,
                    None => 2,
                };
                let end = (i + width).min(body.len());
                out.extend_from_slice(&body[i..end]);
                i = end;
                continue;
            }
            _ => {}
        }
        out.push(body[i]);
        i += 1;
    }
    changed.then_some(out)
}

fn classify_object(object: Map<String, Value>) -> Incoming {
    let id = object.get("id").and_then(readable_id);
    let has_method = object.contains_key("method");
    if !has_method && (object.contains_key("result") || object.contains_key("error")) {
        return classify_response(object);
    }
    // A notification is what has a method name and no id; it never gets an answer.
    let notification =
        matches!(object.get("method"), Some(Value::String(_))) && !object.contains_key("id");
    let invalid = |reason: String| {
        if notification {
            Incoming::Invalid {
                reason,
                reply: None,
                not_json: false,
            }
        } else {
            invalid_request(id.clone(), reason)
        }
    };
    if let Err(reason) = check_version(&object) {
        return invalid(reason);
    }
    match object.get("method") {
        Some(Value::String(_)) => {}
        Some(_) => return invalid("`method` must be a string".into()),
        None => return invalid("a request needs a `method`".into()),
    }
    if let Some(bad) = object.get("id").filter(|id| !is_framework_id(id)) {
        return invalid(format!(
            "`id` must be an integer or a string, not {}",
            kind_of(bad)
        ));
    }
    match object.get("params") {
        None | Some(Value::Null | Value::Object(_) | Value::Array(_)) => {}
        Some(other) => {
            return invalid(format!(
                "`params` must be an object or an array, not {}",
                kind_of(other)
            ));
        }
    }
    match serde_json::from_value::<Request>(Value::Object(object)) {
        Ok(request) => Incoming::Request(request),
        Err(_) => invalid("not a JSON-RPC request".into()),
    }
}

/// A response from the client. One the framework cannot decode becomes an error response for
/// the same id, so the server's request waiting for it still finishes.
fn classify_response(object: Map<String, Value>) -> Incoming {
    let framework_id = object.get("id").filter(|id| is_framework_id(id)).cloned();
    let problem = check_version(&object).err().or_else(|| {
        match (object.get("result"), object.get("error")) {
            (Some(_), Some(_)) => Some("a response with both `result` and `error`".to_string()),
            (None, Some(error)) => check_error_object(error).err(),
            _ => None,
        }
    });
    let problem = match problem {
        Some(problem) => problem,
        None => match serde_json::from_value::<Response>(Value::Object(object)) {
            Ok(response) => return Incoming::Response(response),
            Err(_) => "not a JSON-RPC response".into(),
        },
    };
    let Some(id) = framework_id.and_then(|id| serde_json::from_value::<jsonrpc::Id>(id).ok())
    else {
        return Incoming::Invalid {
            reason: format!("{problem}, for no request the server can name"),
            reply: None,
            not_json: false,
        };
    };
    let mut error = jsonrpc::Error::internal_error();
    error.message = format!("the client's response was malformed: {problem}").into();
    Incoming::Response(Response::from_error(id, error))
}

/// The framework's error object accepts `code` (an integer), `message` and `data` only.
fn check_error_object(error: &Value) -> Result<(), String> {
    let Value::Object(fields) = error else {
        return Err("`error` must be an object".into());
    };
    if !fields.get("code").is_some_and(|c| c.is_i64()) {
        return Err("`error.code` must be an integer".into());
    }
    if !fields.get("message").is_some_and(Value::is_string) {
        return Err("`error.message` must be a string".into());
    }
    if let Some(extra) = fields
        .keys()
        .find(|k| !matches!(k.as_str(), "code" | "message" | "data"))
    {
        return Err(format!("`error` has an unknown member `{extra}`"));
    }
    Ok(())
}

fn check_version(object: &Map<String, Value>) -> Result<(), String> {
    match object.get("jsonrpc") {
        Some(Value::String(v)) if v == "2.0" => Ok(()),
        Some(_) => Err("`jsonrpc` must be \"2.0\"".into()),
        None => Err("a message needs `\"jsonrpc\": \"2.0\"`".into()),
    }
}

/// An id tower-lsp-server represents: a 64-bit signed integer, a string or null.
fn is_framework_id(id: &Value) -> bool {
    matches!(id, Value::String(_) | Value::Null) || id.is_i64()
}

/// An id worth echoing in an error: any number or string the client sent.
fn readable_id(id: &Value) -> Option<Value> {
    matches!(id, Value::Number(_) | Value::String(_)).then(|| id.clone())
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "an integer out of range",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn invalid_request(id: Option<Value>, reason: String) -> Incoming {
    Incoming::Invalid {
        reply: Some(error_reply(id, INVALID_REQUEST, &reason)),
        reason,
        not_json: false,
    }
}

/// A JSON-RPC error response with `id` (null when it could not be read).
pub fn error_reply(id: Option<Value>, code: i64, reason: &str) -> Value {
    let title = if code == PARSE_ERROR {
        "Parse error"
    } else {
        "Invalid request"
    };
    json!({
        "jsonrpc": "2.0",
        "id": id.unwrap_or(Value::Null),
        "error": { "code": code, "message": format!("{title}: {reason}") },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `R` request, `N` notification, `S` response, or the reply's code and id (`-` no reply).
    fn check(body: &str, expected: &str) {
        let got = match classify(body.as_bytes()) {
            Incoming::Request(r) if r.id().is_some() => "R".to_string(),
            Incoming::Request(_) => "N".to_string(),
            Incoming::Response(r) if r.is_ok() => "S".to_string(),
            Incoming::Response(r) => format!("S {}", r.error().map_or(0, |e| e.code.code())),
            Incoming::Invalid { reply: None, .. } => "-".to_string(),
            Incoming::Invalid {
                reply: Some(reply), ..
            } => format!("{} {}", reply["error"]["code"], reply["id"]),
        };
        assert_eq!(got, expected, "{body}");
    }

    #[test]
    fn valid_messages_pass() {
        check(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
            "R",
        );
        check(r#"{"jsonrpc":"2.0","id":"a","method":"shutdown"}"#, "R");
        check(r#"{"jsonrpc":"2.0","method":"exit"}"#, "N");
        check(r#"{"jsonrpc":"2.0","id":3,"result":null}"#, "S");
        check(
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"no","data":[1]}}"#,
            "S -1",
        );
    }

    #[test]
    fn invalid_requests_get_the_spec_error_with_their_id() {
        check("{}", "-32600 null");
        check("[]", "-32600 null");
        check(r#"[{"jsonrpc":"2.0","id":1,"method":"x"}]"#, "-32600 null");
        check("42", "-32600 null");
        check(r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#, "-32600 1");
        check(r#"{"jsonrpc":2,"id":1,"method":"x"}"#, "-32600 1");
        check(r#"{"id":1,"method":"x"}"#, "-32600 1");
        check(r#"{"jsonrpc":"2.0","id":1,"method":5}"#, "-32600 1");
        check(
            r#"{"jsonrpc":"2.0","method":1,"params":"bar"}"#,
            "-32600 null",
        );
        check(r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#, "-32600 1.5");
        check(
            r#"{"jsonrpc":"2.0","id":1e308,"method":"x"}"#,
            "-32600 1e+308",
        );
        check(r#"{"jsonrpc":"2.0","id":true,"method":"x"}"#, "-32600 null");
        check(
            r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"x"}"#,
            "-32600 9223372036854775808",
        );
        check(
            r#"{"jsonrpc":"2.0","id":2,"method":"x","params":7}"#,
            "-32600 2",
        );
        check(r#"{"jsonrpc":"2.0","id":2}"#, "-32600 2");
    }

    #[test]
    fn bodies_that_are_not_json_get_a_parse_error() {
        check("{not json", "-32700 null");
        check("", "-32700 null");
        check(
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":1e400}}"#,
            "-32700 null",
        );
        let deep = format!(
            r#"{{"jsonrpc":"2.0","id":4,"method":"x","params":{}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        check(&deep, "-32700 null");
        let mut bad_utf8 = br#"{"jsonrpc":"2.0","id":9,"method":"x","params":{"t":""#.to_vec();
        bad_utf8.extend_from_slice(&[0xff, 0xfe]);
        bad_utf8.extend_from_slice(br#""}}"#);
        match classify(&bad_utf8) {
            Incoming::Invalid {
                reply: Some(reply),
                not_json: true,
                ..
            } => assert_eq!(
                (reply["error"]["code"].clone(), reply["id"].clone()),
                (json!(-32700), json!(9))
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_notifications_and_responses_get_no_reply() {
        check(r#"{"jsonrpc":"1.0","method":"x"}"#, "-");
        check(r#"{"method":"textDocument/didChange","params":{}}"#, "-");
        check(r#"{"jsonrpc":"2.0","method":"x","params":"s"}"#, "-");
        check(r#"{"jsonrpc":"2.0","id":true,"result":1}"#, "-");
        // A malformed answer to the server's request 4 still answers it, as an error.
        check(
            r#"{"jsonrpc":"2.0","id":4,"result":1,"error":{}}"#,
            "S -32603",
        );
        check(
            r#"{"jsonrpc":"2.0","id":4,"error":{"code":1,"message":"m","x":0}}"#,
            "S -32603",
        );
        check(
            r#"{"jsonrpc":"2.0","id":4,"error":{"code":1.5,"message":"m"}}"#,
            "S -32603",
        );
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let body =
            r#"{"jsonrpc":"2.0","method":"x","params":{"t":"a\ud83db\ude00\ud83d\ude00\\ud800"}}"#;
        match classify(body.as_bytes()) {
            Incoming::Request(r) => {
                assert_eq!(r.params().unwrap()["t"], "a\u{fffd}b\u{fffd}😀\\ud800")
            }
            other => panic!("{other:?}"),
        }
    }
}
