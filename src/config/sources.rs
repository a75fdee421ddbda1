//! The settings that hold objects rather than scalars: `library.sources` (extra prompt sources
//! beside the library folder) and `ai.mcp` (the MCP server of the `mcp` AI provider).
//!
//! Both are validated here into plain structs; a problem names the entry (its index and name)
//! and the key, so `promptstack config check` can say exactly what to fix.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::Secret;

/// The source types `library.sources` accepts.
pub const SOURCE_TYPES: &[&str] = &["mcp", "folder", "git"];

/// How PromptStack reaches an MCP server.
#[derive(Debug, Clone, PartialEq)]
pub enum McpEndpoint {
    /// Start `program args...` and speak MCP over its stdin/stdout.
    Command {
        program: String,
        args: Vec<String>,
        /// Extra environment for the program; values may be tokens, so they are masked when shown.
        env: BTreeMap<String, Secret>,
    },
    /// A streamable-HTTP MCP endpoint.
    Url(String),
}

impl McpEndpoint {
    /// A short description safe to show: the program name or the URL.
    pub fn describe(&self) -> String {
        match self {
            McpEndpoint::Command { program, .. } => format!("`{program}`"),
            McpEndpoint::Url(url) => super::mask(url),
        }
    }
}

/// What kind of place an entry of `library.sources` names.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// An MCP server's prompts.
    Mcp(McpEndpoint),
    /// A folder of agent files (skills, commands, prompt files), each read by its format.
    Folder {
        path: PathBuf,
        format: crate::formats::FormatHint,
    },
    /// A git repository of prompt files, checked out under `data/sources/<name>/`.
    Git(GitSpec),
}

impl SourceKind {
    /// The `type` word of the entry.
    pub fn type_name(&self) -> &'static str {
        match self {
            SourceKind::Mcp(_) => "mcp",
            SourceKind::Folder { .. } => "folder",
            SourceKind::Git(_) => "git",
        }
    }
}

/// A `git` entry of `library.sources`.
#[derive(Debug, Clone, PartialEq)]
pub struct GitSpec {
    /// The remote as configured (https, ssh or file); may carry a token, so never shown as is.
    pub url: String,
    /// Branch, tag or commit; `None`: the remote's default branch.
    pub reference: Option<String>,
    /// A sub-folder of the repository that holds the prompts.
    pub path: Option<String>,
    /// How often the background task fetches; zero: only on demand.
    pub refresh: std::time::Duration,
    /// What the files are; `None`: agent files by their format, other Markdown as library prompts.
    pub format: Option<crate::formats::FormatHint>,
}

/// How often a git source fetches when its entry does not say.
pub const DEFAULT_GIT_REFRESH: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// One validated entry of `library.sources`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    /// Unique among the sources; prefixes the ids of the source's prompts (`name:prompt`).
    pub name: String,
    pub kind: SourceKind,
}

/// The validated `ai.mcp` setting.
#[derive(Debug, Clone, PartialEq)]
pub struct AiMcpSpec {
    pub endpoint: McpEndpoint,
    /// The tool called for a review.
    pub review_tool: String,
    /// The tool called to turn an accepted suggestion into edits.
    pub apply_tool: String,
}

/// The tool names used when `ai.mcp` does not name them.
pub const DEFAULT_REVIEW_TOOL: &str = "review";
pub const DEFAULT_APPLY_TOOL: &str = "apply";

/// A problem in one object setting: which key (`[1].command`, `.url`), what was there, what is
/// allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryProblem {
    /// Appended to the setting's path: `[0] (`team`).command`.
    pub at: String,
    pub value: String,
    pub allowed: String,
}

fn problem(at: impl Into<String>, value: &Value, allowed: impl Into<String>) -> EntryProblem {
    EntryProblem {
        at: at.into(),
        value: match value {
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        },
        allowed: allowed.into(),
    }
}

/// Source names: what ids are prefixed with, so kept to characters that read well in an id.
fn is_source_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses `library.sources` (a list, or a JSON string from the environment) into normalised JSON.
pub fn normalise_sources(raw: &Value) -> Result<Value, EntryProblem> {
    let parsed;
    let raw = match raw {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).map_err(|_| {
                problem(
                    "",
                    raw,
                    "a JSON list of source entries (in the environment)",
                )
            })?;
            &parsed
        }
        other => other,
    };
    let Value::Array(entries) = raw else {
        return Err(problem(
            "",
            raw,
            "a list of entries like {type: mcp, name: NAME, command: [PROGRAM, ARG...]}",
        ));
    };
    let mut names = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let spec = source_entry(index, entry)?;
        if !names.insert(spec.name.clone()) {
            return Err(problem(
                format!("[{index}].name"),
                &Value::from(spec.name.as_str()),
                "a name not used by another source",
            ));
        }
        out.push(entry_json(&spec));
    }
    Ok(Value::Array(out))
}

fn source_entry(index: usize, entry: &Value) -> Result<SourceSpec, EntryProblem> {
    let Value::Object(map) = entry else {
        return Err(problem(
            format!("[{index}]"),
            entry,
            "an entry like {type: mcp, name: NAME, url: URL}",
        ));
    };
    let name = match map.get("name") {
        Some(Value::String(n)) if is_source_name(n.trim()) => n.trim().to_string(),
        other => {
            return Err(problem(
                format!("[{index}].name"),
                other.unwrap_or(&Value::Null),
                "a name of letters, digits, `_` and `-` (at most 64)",
            ));
        }
    };
    let at = |key: &str| format!("[{index}] (`{name}`).{key}");
    let kind = match map.get("type").and_then(Value::as_str) {
        Some("mcp") => {
            check_keys(map, &["type", "name", "command", "env", "url"], &at)?;
            SourceKind::Mcp(endpoint(map, &at)?)
        }
        Some("folder") => {
            check_keys(map, &["type", "name", "path", "format"], &at)?;
            let format = format_hint(map, &at)?.unwrap_or_default();
            match map.get("path") {
                Some(Value::String(p)) if !p.trim().is_empty() => SourceKind::Folder {
                    path: super::expand_tilde(p.trim()),
                    format,
                },
                other => {
                    return Err(problem(
                        at("path"),
                        other.unwrap_or(&Value::Null),
                        "a folder path",
                    ));
                }
            }
        }
        Some("git") => {
            check_keys(
                map,
                &[
                    "type", "name", "url", "ref", "branch", "path", "refresh", "format",
                ],
                &at,
            )?;
            SourceKind::Git(git_entry(map, &at)?)
        }
        _ => {
            return Err(problem(
                at("type"),
                map.get("type").unwrap_or(&Value::Null),
                SOURCE_TYPES.join(", "),
            ));
        }
    };
    Ok(SourceSpec { name, kind })
}

fn format_hint(
    map: &Map<String, Value>,
    at: &dyn Fn(&str) -> String,
) -> Result<Option<crate::formats::FormatHint>, EntryProblem> {
    match map.get("format") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(crate::formats::FormatHint::from_name)
            .map(Some)
            .ok_or_else(|| {
                problem(
                    at("format"),
                    value,
                    crate::formats::FormatHint::NAMES.join(", "),
                )
            }),
    }
}

fn git_entry(
    map: &Map<String, Value>,
    at: &dyn Fn(&str) -> String,
) -> Result<GitSpec, EntryProblem> {
    let url = match map.get("url") {
        Some(Value::String(u)) if is_git_url(u.trim()) => u.trim().to_string(),
        other => {
            return Err(problem(
                at("url"),
                other.unwrap_or(&Value::Null),
                "a git remote URL (https://, http://, ssh://, git://, file://, or user@host:path)",
            ));
        }
    };
    // The token of `https://user:TOKEN@host/...` must never reach a log line or a message.
    for credential in crate::logging::secrets::url_credentials(&url) {
        crate::logging::secrets::register(&credential);
    }
    if map.contains_key("ref") && map.contains_key("branch") {
        return Err(problem(
            at("branch"),
            &map["branch"],
            "either `ref` or its older name `branch`, not both",
        ));
    }
    let reference = match optional_string(map, "ref", at)? {
        Some(r) => Some(r),
        None => optional_string(map, "branch", at)?,
    };
    if let Some(r) = &reference
        && !is_git_ref(r)
    {
        return Err(problem(
            at("ref"),
            &Value::from(r.as_str()),
            "a branch, tag or commit name (no spaces, no leading `-`)",
        ));
    }
    let path = optional_string(map, "path", at)?;
    if let Some(p) = &path
        && (p.starts_with('/') || p.split('/').any(|part| part == ".."))
    {
        return Err(problem(
            at("path"),
            &Value::from(p.as_str()),
            "a folder inside the repository (relative, no `..`)",
        ));
    }
    let refresh = match map.get("refresh") {
        None | Some(Value::Null) => DEFAULT_GIT_REFRESH,
        Some(value) => parse_interval(value).ok_or_else(|| {
            problem(
                at("refresh"),
                value,
                "seconds, or a number with s, m or h (`15m`); 0 = only on demand",
            )
        })?,
    };
    Ok(GitSpec {
        url,
        reference,
        path,
        refresh,
        format: format_hint(map, at)?,
    })
}

fn is_git_url(url: &str) -> bool {
    let has_rest = |prefix: &str| url.strip_prefix(prefix).is_some_and(|r| !r.is_empty());
    ["https://", "http://", "ssh://", "git://", "file://"]
        .iter()
        .any(|p| has_rest(p))
        // scp-like `git@host:team/prompts.git`
        || (!url.starts_with('-') && url.split_once(':').is_some_and(|(host, path)| {
            host.contains('@') && !host.contains('/') && !path.is_empty()
        }))
}

/// Refs are passed to `git` as arguments: refuse what git would read as an option or reject.
fn is_git_ref(reference: &str) -> bool {
    !reference.starts_with('-')
        && !reference.contains("..")
        && reference
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"~^:?*[\\".contains(c))
}

/// `900`, `"900"`, `"30s"`, `"15m"`, `"1h"`.
fn parse_interval(value: &Value) -> Option<std::time::Duration> {
    let secs = match value {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => {
            let s = s.trim();
            let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
                Some((i, _)) => s.split_at(i),
                None => (s, ""),
            };
            let n: u64 = digits.parse().ok()?;
            match unit.trim() {
                "" | "s" => n,
                "m" => n.checked_mul(60)?,
                "h" => n.checked_mul(3600)?,
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(std::time::Duration::from_secs(secs))
}

fn check_keys(
    map: &Map<String, Value>,
    allowed: &[&str],
    at: &dyn Fn(&str) -> String,
) -> Result<(), EntryProblem> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(problem(
            at(key),
            &map[key],
            format!("no such key; this entry takes {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn optional_string(
    map: &Map<String, Value>,
    key: &str,
    at: &dyn Fn(&str) -> String,
) -> Result<Option<String>, EntryProblem> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
        Some(other) => Err(problem(at(key), other, "a non-empty string")),
    }
}

/// `command: [PROGRAM, ARG...]` with optional `env`, or `url: URL`; exactly one of them.
fn endpoint(
    map: &Map<String, Value>,
    at: &dyn Fn(&str) -> String,
) -> Result<McpEndpoint, EntryProblem> {
    match (map.get("command"), map.get("url")) {
        (Some(command), None) => {
            let words: Option<Vec<String>> = match command {
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => None,
            };
            let mut words = words
                .filter(|w| w.first().is_some_and(|p| !p.trim().is_empty()))
                .ok_or_else(|| {
                    problem(
                        at("command"),
                        command,
                        "a list [PROGRAM, ARG...] of strings",
                    )
                })?
                .into_iter();
            let program = words.next().unwrap_or_default();
            let env = match map.get("env") {
                None | Some(Value::Null) => BTreeMap::new(),
                Some(Value::Object(vars)) => vars
                    .iter()
                    .map(|(k, v)| match v {
                        Value::String(s) if is_env_name(k) => Ok((k.clone(), Secret::new(s))),
                        _ => Err(problem(
                            at(&format!("env.{k}")),
                            &Value::from("****"),
                            "a variable name of letters, digits and `_` with a string value",
                        )),
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => {
                    return Err(problem(at("env"), other, "a map of NAME: value"));
                }
            };
            Ok(McpEndpoint::Command {
                program,
                args: words.collect(),
                env,
            })
        }
        (None, Some(url)) => {
            if map.contains_key("env") {
                return Err(problem(
                    at("env"),
                    &map["env"],
                    "no `env` with `url` (env is for a started `command`)",
                ));
            }
            match url.as_str().map(str::trim) {
                Some(u)
                    if (u.starts_with("http://") && u.len() > 7)
                        || (u.starts_with("https://") && u.len() > 8) =>
                {
                    Ok(McpEndpoint::Url(u.to_string()))
                }
                _ => Err(problem(
                    at("url"),
                    url,
                    "a URL starting with http:// or https://",
                )),
            }
        }
        (Some(_), Some(_)) => Err(problem(
            at("url"),
            &map["url"],
            "either `command` or `url`, not both",
        )),
        (None, None) => Err(problem(
            at("command"),
            &Value::Null,
            "`command: [PROGRAM, ARG...]` or `url: URL`",
        )),
    }
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The normalised JSON form of an entry (what `promptstack config` shows, secrets masked later).
fn entry_json(spec: &SourceSpec) -> Value {
    let mut out = json!({ "type": spec.kind.type_name(), "name": spec.name });
    let map = out.as_object_mut().expect("an object");
    match &spec.kind {
        SourceKind::Mcp(endpoint) => endpoint_json(endpoint, map),
        SourceKind::Folder { path, format } => {
            map.insert("path".into(), Value::from(path.to_string_lossy()));
            map.insert("format".into(), Value::from(format.name()));
        }
        SourceKind::Git(git) => {
            map.insert("url".into(), Value::from(git.url.as_str()));
            if let Some(r) = &git.reference {
                map.insert("ref".into(), Value::from(r.as_str()));
            }
            if let Some(p) = &git.path {
                map.insert("path".into(), Value::from(p.as_str()));
            }
            map.insert("refresh".into(), Value::from(git.refresh.as_secs()));
            if let Some(f) = git.format {
                map.insert("format".into(), Value::from(f.name()));
            }
        }
    }
    out
}

fn endpoint_json(endpoint: &McpEndpoint, map: &mut Map<String, Value>) {
    match endpoint {
        McpEndpoint::Command { program, args, env } => {
            let command: Vec<&str> = std::iter::once(program.as_str())
                .chain(args.iter().map(String::as_str))
                .collect();
            map.insert("command".into(), Value::from(command));
            if !env.is_empty() {
                let vars: Map<String, Value> = env
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.expose())))
                    .collect();
                map.insert("env".into(), Value::Object(vars));
            }
        }
        McpEndpoint::Url(url) => {
            map.insert("url".into(), Value::from(url.as_str()));
        }
    }
}

/// The typed entries of normalised `library.sources` JSON.
pub fn sources_from_json(value: Option<&Value>) -> Vec<SourceSpec> {
    let Some(Value::Array(entries)) = value else {
        return Vec::new();
    };
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| source_entry(i, e).ok())
        .collect()
}

/// Parses `ai.mcp` (an object, or a JSON string from the environment) into normalised JSON.
pub fn normalise_ai_mcp(raw: &Value) -> Result<Value, EntryProblem> {
    let parsed;
    let raw = match raw {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|_| problem("", raw, "a JSON object (in the environment)"))?;
            &parsed
        }
        other => other,
    };
    let spec = ai_mcp_entry(raw)?;
    let mut map = Map::new();
    endpoint_json(&spec.endpoint, &mut map);
    map.insert("review_tool".into(), Value::from(spec.review_tool));
    map.insert("apply_tool".into(), Value::from(spec.apply_tool));
    Ok(Value::Object(map))
}

fn ai_mcp_entry(raw: &Value) -> Result<AiMcpSpec, EntryProblem> {
    let Value::Object(map) = raw else {
        return Err(problem(
            "",
            raw,
            "{command: [PROGRAM, ARG...] | url: URL, review_tool: NAME, apply_tool: NAME}",
        ));
    };
    let at = |key: &str| format!(".{key}");
    check_keys(
        map,
        &["command", "env", "url", "review_tool", "apply_tool"],
        &at,
    )?;
    let tool = |key: &str, default: &str| -> Result<String, EntryProblem> {
        Ok(optional_string(map, key, &at)?.unwrap_or_else(|| default.to_string()))
    };
    Ok(AiMcpSpec {
        endpoint: endpoint(map, &at)?,
        review_tool: tool("review_tool", DEFAULT_REVIEW_TOOL)?,
        apply_tool: tool("apply_tool", DEFAULT_APPLY_TOOL)?,
    })
}

/// The typed `ai.mcp` of its normalised JSON.
pub fn ai_mcp_from_json(value: Option<&Value>) -> Option<AiMcpSpec> {
    value.and_then(|v| ai_mcp_entry(v).ok())
}

/// Normalised JSON with `env` values masked, for display.
pub fn masked(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(masked).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("env", Value::Object(vars)) => Value::Object(
                            vars.iter()
                                .map(|(n, _)| (n.clone(), Value::from("****")))
                                .collect(),
                        ),
                        ("url", Value::String(u)) => Value::from(super::mask(u)),
                        _ => masked(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(raw: Value) -> String {
        let e = normalise_sources(&raw).unwrap_err();
        format!("{} | {} | {}", e.at, e.value, e.allowed)
    }

    #[test]
    fn accepts_each_source_shape() {
        let raw = json!([
            {"type": "mcp", "name": "team", "command": ["uvx", "team-prompts", "--ro"],
             "env": {"TOKEN": "abc"}},
            {"type": "mcp", "name": "web", "url": "https://example.test/mcp"},
            {"type": "folder", "name": "shared", "path": "/srv/prompts"},
            {"type": "git", "name": "upstream", "url": "https://git.test/p.git", "branch": "main"},
        ]);
        let value = normalise_sources(&raw).unwrap();
        let specs = sources_from_json(Some(&value));
        assert_eq!(specs.len(), 4);
        assert_eq!(
            specs[0].kind,
            SourceKind::Mcp(McpEndpoint::Command {
                program: "uvx".into(),
                args: vec!["team-prompts".into(), "--ro".into()],
                env: [("TOKEN".to_string(), Secret::new("abc"))].into(),
            })
        );
        assert_eq!(
            specs[1].kind,
            SourceKind::Mcp(McpEndpoint::Url("https://example.test/mcp".into()))
        );
        assert_eq!(specs[2].kind.type_name(), "folder");
        assert_eq!(specs[3].name, "upstream");
        assert_eq!(masked(&value)[0]["env"]["TOKEN"], "****");
        // The environment form is JSON.
        let from_env = normalise_sources(&Value::from(value.to_string())).unwrap();
        assert_eq!(from_env, value);
    }

    #[test]
    fn problems_name_the_entry_and_the_key() {
        let cases = [
            (
                json!({"type": "mcp"}),
                " | {\"type\":\"mcp\"} | a list of entries like {type: mcp, name: NAME, command: [PROGRAM, ARG...]}",
            ),
            (
                json!([{"type": "mcp", "name": "a b", "url": "http://x"}]),
                "[0].name | \"a b\" | a name of letters, digits, `_` and `-` (at most 64)",
            ),
            (
                json!([{"type": "svn", "name": "a"}]),
                "[0] (`a`).type | \"svn\" | mcp, folder, git",
            ),
            (
                json!([{"type": "mcp", "name": "a"}]),
                "[0] (`a`).command | null | `command: [PROGRAM, ARG...]` or `url: URL`",
            ),
            (
                json!([{"type": "mcp", "name": "a", "command": "uvx x"}]),
                "[0] (`a`).command | \"uvx x\" | a list [PROGRAM, ARG...] of strings",
            ),
            (
                json!([{"type": "mcp", "name": "a", "url": "ftp://x"}]),
                "[0] (`a`).url | \"ftp://x\" | a URL starting with http:// or https://",
            ),
            (
                json!([{"type": "mcp", "name": "a", "url": "http://x", "command": ["p"]}]),
                "[0] (`a`).url | \"http://x\" | either `command` or `url`, not both",
            ),
            (
                json!([{"type": "mcp", "name": "a", "command": ["p"], "env": {"K": 1}}]),
                "[0] (`a`).env.K | \"****\" | a variable name of letters, digits and `_` with a string value",
            ),
            (
                json!([{"type": "mcp", "name": "a", "url": "http://x", "colour": 1}]),
                "[0] (`a`).colour | 1 | no such key; this entry takes type, name, command, env, url",
            ),
            (
                json!([{"type": "folder", "name": "f"}]),
                "[0] (`f`).path | null | a folder path",
            ),
            (
                json!([{"type": "git", "name": "g", "url": ""}]),
                "[0] (`g`).url | \"\" | a git remote URL (https://, http://, ssh://, git://, file://, or user@host:path)",
            ),
            (
                json!([{"type": "git", "name": "g", "url": "file:///r", "ref": "--upload-pack=x"}]),
                "[0] (`g`).ref | \"--upload-pack=x\" | a branch, tag or commit name (no spaces, no leading `-`)",
            ),
            (
                json!([{"type": "git", "name": "g", "url": "file:///r", "refresh": "soon"}]),
                "[0] (`g`).refresh | \"soon\" | seconds, or a number with s, m or h (`15m`); 0 = only on demand",
            ),
            (
                json!([{"type": "git", "name": "g", "url": "file:///r", "path": "../up"}]),
                "[0] (`g`).path | \"../up\" | a folder inside the repository (relative, no `..`)",
            ),
            (
                json!([{"type": "mcp", "name": "a", "url": "http://x"}, {"type": "mcp", "name": "a", "url": "http://y"}]),
                "[1].name | \"a\" | a name not used by another source",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(err(raw.clone()), expected, "for {raw}");
        }
    }

    #[test]
    fn git_entries_take_ref_refresh_and_a_token_is_registered() {
        let raw = json!([
            {"type": "git", "name": "team", "url": "https://me:tok-1234@git.test/p.git",
             "ref": "v2", "path": "prompts", "refresh": "2m"},
            {"type": "git", "name": "ssh", "url": "git@host:team/p.git", "refresh": 0},
            {"type": "git", "name": "old", "url": "file:///srv/p.git", "branch": "main"},
        ]);
        let specs = sources_from_json(Some(&normalise_sources(&raw).unwrap()));
        let git = |i: usize| match &specs[i].kind {
            SourceKind::Git(g) => g.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(git(0).reference.as_deref(), Some("v2"));
        assert_eq!(git(0).path.as_deref(), Some("prompts"));
        assert_eq!(git(0).refresh, std::time::Duration::from_secs(120));
        assert_eq!(git(1).refresh, std::time::Duration::ZERO);
        assert_eq!(git(1).reference, None);
        assert_eq!(git(2).reference.as_deref(), Some("main"));
        assert_eq!(git(2).refresh, DEFAULT_GIT_REFRESH);
        assert_eq!(
            crate::logging::secrets::redact("fetch https://me:tok-1234@git.test"),
            "fetch https://me:****@git.test"
        );
    }

    #[test]
    fn ai_mcp_defaults_tool_names() {
        let value = normalise_ai_mcp(&json!({"url": "http://127.0.0.1:9/mcp"})).unwrap();
        let spec = ai_mcp_from_json(Some(&value)).unwrap();
        assert_eq!(
            spec.endpoint,
            McpEndpoint::Url("http://127.0.0.1:9/mcp".into())
        );
        assert_eq!(
            (spec.review_tool.as_str(), spec.apply_tool.as_str()),
            ("review", "apply")
        );
        let bad = normalise_ai_mcp(&json!({"command": ["x"], "review_tool": ""})).unwrap_err();
        assert_eq!(bad.at, ".review_tool");
    }
}
