//! The process-wide set of secret values (API keys, passwords and credentials inside URLs), so
//! no log line and no error shows one. Values are learnt from every configuration layer as it is
//! resolved and from editor settings as they arrive on stdin — before the protocol framework,
//! which logs every message at trace level, has seen them.

use std::borrow::Cow;
use std::sync::{OnceLock, RwLock};

use serde_json::Value;

use crate::config::{FIELDS, FieldKind, FieldSpec};

/// What a secret is replaced with.
pub const REDACTED: &str = "****";

/// Shorter values are not registered: redacting every `ab` in every log line would make the
/// logs useless, and a two-character key is no secret anyway.
const MIN_SECRET_CHARS: usize = 4;

/// Query parameters whose value is a credential when their name contains one of these words.
const CREDENTIAL_WORDS: &[&str] = &[
    "key",
    "token",
    "secret",
    "pass",
    "auth",
    "sig",
    "credential",
];

/// Known secrets, longest first (so a secret containing another is replaced whole).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers `value` as a secret, and its JSON-escaped form when that differs (it appears so in
/// logged protocol messages).
pub fn register(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let escaped = serde_json::to_string(value).unwrap_or_default();
    let escaped = escaped.trim_matches('"');
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    for form in [value, escaped] {
        if !secrets.iter().any(|s| s == form) {
            secrets.push(form.to_string());
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every known secret replaced by [`REDACTED`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
        }
    }
    out
}

/// The credentials a URL carries: the password of `user:password@host` (as written and
/// percent-decoded) and the values of query parameters named like keys or tokens.
pub fn url_credentials(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Some((_, rest)) = url.split_once("://") else {
        return found;
    };
    if let Some((userinfo, _)) = split_userinfo(rest)
        && let Some((_, password)) = userinfo.split_once(':')
        && !password.is_empty()
    {
        found.push(password.to_string());
        let decoded = percent_decode(password);
        if decoded != password {
            found.push(decoded);
        }
    }
    for (_, value) in credential_params(url) {
        found.push(value.to_string());
    }
    found
}

/// A URL safe to show: the password and credential query values replaced by [`REDACTED`].
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host_and_tail)) = split_userinfo(rest)
    {
        let user = userinfo.split(':').next().unwrap_or("");
        let shown = if userinfo.contains(':') {
            format!("{user}:{REDACTED}")
        } else {
            // A bare `token@host` is a credential too.
            REDACTED.to_string()
        };
        out = format!("{scheme}://{shown}@{host_and_tail}");
    }
    for (name, value) in credential_params(url) {
        out = out.replace(&format!("{name}={value}"), &format!("{name}={REDACTED}"));
    }
    out
}

/// The user info of a URL (what follows `scheme://`) and what comes after its `@`. The last `@`
/// before the query ends it: people write passwords with raw `@` and `/` in them
/// (`me:p@ss/w@rd@db`), and masking a path that holds an `@` too is the safe mistake.
fn split_userinfo(rest: &str) -> Option<(&str, &str)> {
    let before_query = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    let at = before_query.rfind('@')?;
    Some((&rest[..at], &rest[at + 1..]))
}

/// `(name, value)` of query parameters that hold credentials.
fn credential_params(url: &str) -> Vec<(&str, &str)> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, value)| {
            let name = name.to_ascii_lowercase();
            !value.is_empty() && CREDENTIAL_WORDS.iter().any(|w| name.contains(w))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Registers what a configuration field's raw value holds that must not be shown: the whole
/// value of a secret field, the credentials of a URL field.
pub fn learn_field(kind: FieldKind, value: &str) {
    match kind {
        FieldKind::Secret => register(value),
        FieldKind::Url | FieldKind::SecretUrl => {
            for credential in url_credentials(value) {
                register(&credential);
            }
        }
        _ => {}
    }
}

/// Fields whose value can be or carry a secret.
fn secret_fields() -> impl Iterator<Item = &'static FieldSpec> {
    FIELDS.iter().filter(|f| {
        matches!(
            f.kind,
            FieldKind::Secret | FieldKind::Url | FieldKind::SecretUrl
        )
    })
}

/// The names a settings key may give a field: the last part of its path (nested shape), its
/// whole dotted path (`"ai.openai_api_key"`, as some editors send), its flat name.
fn setting_names(field: &FieldSpec) -> [&'static str; 3] {
    let leaf = field.path.rsplit('.').next().unwrap_or(field.path);
    [leaf, field.path, field.flat]
}

/// The kind of the secret-carrying field a settings key names.
fn secret_setting(key: &str) -> Option<FieldKind> {
    secret_fields()
        .find(|f| setting_names(f).contains(&key))
        .map(|f| f.kind)
}

/// Registers every secret-carrying setting found anywhere in `value`, in the nested editor shape
/// (`{"ai": {"claude_api_key": ...}}`) or flat.
pub fn learn_from_settings(value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (secret_setting(key), inner) {
                    (Some(kind), Value::String(s)) => learn_field(kind, s),
                    _ => learn_from_settings(inner),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(learn_from_settings),
        _ => {}
    }
}

/// Registers the secret settings a protocol message carries (`initializationOptions`,
/// `didChangeConfiguration`, an answer to `workspace/configuration`). Call it on every body
/// before the protocol framework reads it. Cheap for messages that name no such setting.
pub fn learn_from_message(body: &[u8]) {
    // Every such name ends so; two quick scans rule out nearly every message (a 5 MB edit).
    let may_name_one = [b"_key\"".as_slice(), b"_url\""]
        .iter()
        .any(|tail| memchr::memmem::find(body, tail).is_some());
    if !may_name_one {
        return;
    }
    // Quoted on both sides: a JSON key, not the same words inside a document's text (whose
    // quotes are escaped).
    static NEEDLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let needles = NEEDLES.get_or_init(|| {
        let mut names: Vec<Vec<u8>> = secret_fields()
            .flat_map(setting_names)
            .map(|name| format!("\"{name}\"").into_bytes())
            .collect();
        names.sort();
        names.dedup();
        names
    });
    let names_a_setting = needles
        .iter()
        .any(|needle| memchr::memmem::find(body, needle).is_some());
    if !names_a_setting {
        return;
    }
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        learn_from_settings(&value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_passwords_and_credential_parameters() {
        let cases = [
            (
                "https://user:hunter2@host:8080/v1",
                "https://user:****@host:8080/v1",
            ),
            (
                "https://host/v1?api_key=abcd1234&model=x",
                "https://host/v1?api_key=****&model=x",
            ),
            ("https://token1234@host/v1", "https://****@host/v1"),
            (
                "https://host/v1?key=k1k1k1#frag",
                "https://host/v1?key=****#frag",
            ),
            ("https://host/v1", "https://host/v1"),
            ("postgres://me@db/x", "postgres://****@db/x"),
            (
                "postgres://me:p@ss/w@rd@db:5433/x?sslmode=require",
                "postgres://me:****@db:5433/x?sslmode=require",
            ),
        ];
        for (url, masked) in cases {
            assert_eq!(mask_url(url), masked, "{url}");
        }
        assert_eq!(
            url_credentials("https://u:p%40ss@h/?access_token=tok"),
            ["p%40ss", "p@ss", "tok"]
        );
        assert_eq!(
            url_credentials("postgres://me:p@ss/w@rd@db/x"),
            ["p@ss/w@rd"]
        );
    }

    #[test]
    fn settings_in_messages_are_learnt_and_redacted() {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"initializationOptions":{"ai":{"claude_api_key":"sk-ant-from-init-0001","openai_base_url":"https://u:url-pass-0002@h"}}}}"#;
        learn_from_message(body);
        let answer = br#"{"jsonrpc":"2.0","id":7,"result":[{"ai":{"openai_api_key":"sk-pulled\"quoted-0003"}}]}"#;
        learn_from_message(answer);
        let text = String::from_utf8_lossy(body).into_owned() + &String::from_utf8_lossy(answer);
        let redacted = redact(&text);
        for secret in ["sk-ant-from-init-0001", "url-pass-0002", "quoted-0003"] {
            assert!(!redacted.contains(secret), "{redacted}");
        }
        assert!(
            redacted.contains(r#""claude_api_key":"****""#),
            "{redacted}"
        );
        assert_eq!(redact("sk-pulled\"quoted-0003 in a log"), "**** in a log");
        learn_from_message(
            br#"{"params":{"settings":{"promptstack":{"ai.claude_api_key":"dotted-0005"}}}}"#,
        );
        assert_eq!(redact("dotted-0005"), "****");
        // A document that only talks about a setting registers nothing.
        learn_from_message(br#"{"params":{"text":"\"openai_api_key\": \"not-a-key-0004\""}}"#);
        assert_eq!(redact("not-a-key-0004"), "not-a-key-0004");
    }
}
