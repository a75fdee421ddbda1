//! Configuration: defaults < `config.yaml` < environment < editor settings.
//!
//! Every field is described once in [`FIELDS`]; that table drives reading each layer, validation,
//! the per-field source shown by `promptstack config`, migration of old flat files and the docs.
//! The file, `initializationOptions` and `workspace/configuration` share one nested shape
//! (`ai.provider`, `storage.backend`, ...). Environment variables use the flat names
//! (`PROMPTSTACK_AI_PROVIDER`, `PROMPTSTACK_STORAGE`, ...).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::home::{DataPaths, Home};

pub mod sources;

pub use sources::{AiMcpSpec, GitSpec, McpEndpoint, SourceKind, SourceSpec};

/// The config file format this binary writes.
pub const CONFIG_VERSION: u64 = 2;

/// What a field holds, and so how it is parsed and validated.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
    Text,
    /// Shown masked, never logged.
    Secret,
    /// An `http://` or `https://` address.
    Url,
    /// A URL that may carry a password (masked when shown).
    SecretUrl,
    Path,
    Integer {
        min: i64,
        max: i64,
    },
    Bool,
    /// A list of strings (a comma-separated string in the environment).
    List,
    /// The `library.sources` list of entries (JSON in the environment), see [`sources`].
    Sources,
    /// The `ai.mcp` object (JSON in the environment), see [`sources`].
    McpServer,
}

/// A field's default value.
#[derive(Debug, Clone, Copy)]
pub enum FieldDefault {
    None,
    Str(&'static str),
    Int(i64),
    Bool(bool),
    List(&'static [&'static str]),
}

/// One configuration field.
#[derive(Debug)]
pub struct FieldSpec {
    /// Dotted path in the file and editor settings.
    pub path: &'static str,
    /// The flat name: the old file's key and, upper-cased after `PROMPTSTACK_`, the env variable.
    pub flat: &'static str,
    pub kind: FieldKind,
    pub default: FieldDefault,
    /// Other environment variables read for this field, after `PROMPTSTACK_<FLAT>`.
    pub extra_env: &'static [&'static str],
    pub doc: &'static str,
}

impl FieldSpec {
    /// The primary environment variable.
    pub fn env_var(&self) -> String {
        format!("PROMPTSTACK_{}", self.flat.to_ascii_uppercase())
    }

    /// A value of this field as it may be shown: keys masked, URLs without their credentials.
    fn shown(&self, value: &str) -> String {
        match self.kind {
            FieldKind::Secret | FieldKind::SecretUrl | FieldKind::Url => mask(value),
            _ => value.to_string(),
        }
    }
}

pub const AI_PROVIDERS: &[&str] = &["claude", "openai", "mcp"];
pub const STORAGE_BACKENDS: &[&str] = &["sqlite", "postgres", "graph"];
pub const STRUCTURED_OUTPUT_MODES: &[&str] =
    &["none", "json_object", "json_object_schema", "json_schema"];
pub const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

/// Every configuration field, in the order `promptstack config` shows them.
pub const FIELDS: &[FieldSpec] = &[
    FieldSpec {
        path: "ai.provider",
        flat: "ai_provider",
        kind: FieldKind::Choice(AI_PROVIDERS),
        default: FieldDefault::Str("claude"),
        extra_env: &[],
        doc: "AI provider for reviews.",
    },
    FieldSpec {
        path: "ai.model",
        flat: "model",
        kind: FieldKind::Text,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "Model name; empty uses the provider's default.",
    },
    FieldSpec {
        path: "ai.claude_api_key",
        flat: "claude_api_key",
        kind: FieldKind::Secret,
        default: FieldDefault::None,
        extra_env: &["ANTHROPIC_API_KEY"],
        doc: "Anthropic API key.",
    },
    FieldSpec {
        path: "ai.anthropic_base_url",
        flat: "anthropic_base_url",
        kind: FieldKind::Url,
        default: FieldDefault::Str("https://api.anthropic.com"),
        extra_env: &["ANTHROPIC_BASE_URL"],
        doc: "Anthropic API address.",
    },
    FieldSpec {
        path: "ai.openai_api_key",
        flat: "openai_api_key",
        kind: FieldKind::Secret,
        default: FieldDefault::None,
        extra_env: &["OPENAI_API_KEY"],
        doc: "OpenAI (or compatible server) API key; optional for local servers.",
    },
    FieldSpec {
        path: "ai.openai_base_url",
        flat: "openai_base_url",
        kind: FieldKind::Url,
        default: FieldDefault::Str("https://api.openai.com"),
        extra_env: &["OPENAI_BASE_URL"],
        doc: "Any OpenAI-compatible server: OpenAI, Ollama, llama.cpp, vLLM.",
    },
    FieldSpec {
        path: "ai.structured_output",
        flat: "structured_output",
        kind: FieldKind::Choice(STRUCTURED_OUTPUT_MODES),
        default: FieldDefault::Str("json_object"),
        extra_env: &[],
        doc: "How the openai provider asks for JSON answers.",
    },
    FieldSpec {
        path: "ai.max_retries",
        flat: "max_retries",
        kind: FieldKind::Integer { min: 0, max: 10 },
        default: FieldDefault::Int(3),
        extra_env: &[],
        doc: "Attempts for a failed AI request (429, 5xx, network).",
    },
    FieldSpec {
        path: "ai.timeout",
        flat: "timeout",
        kind: FieldKind::Integer { min: 1, max: 3600 },
        default: FieldDefault::Int(60),
        extra_env: &[],
        doc: "Seconds to wait for an AI answer.",
    },
    FieldSpec {
        path: "ai.context_budget_percent",
        flat: "context_budget_percent",
        kind: FieldKind::Integer { min: 0, max: 90 },
        default: FieldDefault::Int(30),
        extra_env: &[],
        doc: "Share of the model's context window for library prompts sent as context.",
    },
    FieldSpec {
        path: "ai.response_budget_percent",
        flat: "response_budget_percent",
        kind: FieldKind::Integer { min: 1, max: 90 },
        default: FieldDefault::Int(20),
        extra_env: &[],
        doc: "Share of the model's context window kept for its answer.",
    },
    FieldSpec {
        path: "ai.mcp_host",
        flat: "mcp_host",
        kind: FieldKind::Text,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "URL of the MCP server for the `mcp` provider (the URL form of `ai.mcp`).",
    },
    FieldSpec {
        path: "ai.mcp",
        flat: "ai_mcp",
        kind: FieldKind::McpServer,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "MCP server for the `mcp` provider: `command: [PROGRAM, ARG...]` or `url: URL`, with `review_tool`, `apply_tool` (docs/ai.md).",
    },
    FieldSpec {
        path: "ai.specialists",
        flat: "specialists",
        kind: FieldKind::List,
        default: FieldDefault::List(&[]),
        extra_env: &[],
        doc: "Review specialists to run (empty: all).",
    },
    FieldSpec {
        path: "storage.backend",
        flat: "storage",
        kind: FieldKind::Choice(STORAGE_BACKENDS),
        default: FieldDefault::Str("sqlite"),
        extra_env: &[],
        doc: "History storage backend.",
    },
    FieldSpec {
        path: "storage.database_path",
        flat: "database_path",
        kind: FieldKind::Path,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "SQLite database; default <data_dir>/history.db.",
    },
    FieldSpec {
        path: "storage.postgres_url",
        flat: "postgres_url",
        kind: FieldKind::SecretUrl,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "PostgreSQL connection URL for the `postgres` backend (`sslmode`: disable, prefer, require or verify-full; `sslrootcert=FILE`); see docs/team.md.",
    },
    FieldSpec {
        path: "storage.postgres_pool_size",
        flat: "postgres_pool_size",
        kind: FieldKind::Integer { min: 1, max: 32 },
        default: FieldDefault::Int(4),
        extra_env: &[],
        doc: "Connections the server keeps open to PostgreSQL.",
    },
    FieldSpec {
        path: "storage.postgres_connect_timeout",
        flat: "postgres_connect_timeout",
        kind: FieldKind::Integer { min: 1, max: 300 },
        default: FieldDefault::Int(5),
        extra_env: &[],
        doc: "Seconds to wait for a PostgreSQL connection before the team history counts as unreachable.",
    },
    FieldSpec {
        path: "storage.author",
        flat: "author",
        kind: FieldKind::Text,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "Name saved with every composition in a team history; default `$USER@hostname`.",
    },
    FieldSpec {
        path: "storage.graph_url",
        flat: "graph_url",
        kind: FieldKind::SecretUrl,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "FalkorDB address for the `graph` backend (`falkor://[user:password@]host:port`); see docs/history.md.",
    },
    FieldSpec {
        path: "storage.graph_name",
        flat: "graph_name",
        kind: FieldKind::Text,
        default: FieldDefault::Str("promptstack"),
        extra_env: &[],
        doc: "Name of the graph inside the FalkorDB server.",
    },
    FieldSpec {
        path: "storage.neo4j_url",
        flat: "neo4j_url",
        kind: FieldKind::SecretUrl,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "Neo4j URL: Neo4j is not supported yet (the `graph` backend runs on FalkorDB, `storage.graph_url`).",
    },
    FieldSpec {
        path: "paths.data_dir",
        flat: "data_dir",
        kind: FieldKind::Path,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "Data directory; default <home>/data.",
    },
    FieldSpec {
        path: "paths.library_dir",
        flat: "library_dir",
        kind: FieldKind::Path,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "Prompt library; default <data_dir>/library.",
    },
    FieldSpec {
        path: "library.follow_external_symlinks",
        flat: "follow_external_symlinks",
        kind: FieldKind::Bool,
        default: FieldDefault::Bool(false),
        extra_env: &[],
        doc: "Follow symbolic links that lead out of the library (skipped and reported otherwise); `createPrompt` may then write through them.",
    },
    FieldSpec {
        path: "library.workspace_agent_files",
        flat: "workspace_agent_files",
        kind: FieldKind::Bool,
        default: FieldDefault::Bool(true),
        extra_env: &[],
        doc: "Add the workspace's own skills, Claude Code commands and agents and VS Code prompt files (under `.claude/`, `.github/`, `.agents/`) to the library, and check them in `validateLibrary`; see docs/formats.md.",
    },
    FieldSpec {
        path: "library.sources",
        flat: "library_sources",
        kind: FieldKind::Sources,
        default: FieldDefault::List(&[]),
        extra_env: &[],
        doc: "More prompt sources after the library folder: `{type: mcp, name, command or url}` and `{type: folder, name, path, format}` and `{type: git, name, url, ref, path, refresh}` entries (`format`: auto, skills, claude, vscode or cursor); see below.",
    },
    FieldSpec {
        path: "compositions.globs",
        flat: "composition_globs",
        kind: FieldKind::List,
        default: FieldDefault::List(&[
            "**/*.prompt.md",
            "**/*.composition.md",
            "!**/.github/prompts/**",
        ]),
        extra_env: &[],
        doc: "Files treated as compositions; a glob starting with `!` excludes.",
    },
    FieldSpec {
        path: "plugins.enabled",
        flat: "enable_plugins",
        kind: FieldKind::Bool,
        default: FieldDefault::Bool(false),
        extra_env: &[],
        doc: "Load plugins from plugins.dir.",
    },
    FieldSpec {
        path: "plugins.dir",
        flat: "plugin_dir",
        kind: FieldKind::Path,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "Plugin directory; default <home>/plugins.",
    },
    FieldSpec {
        path: "log.level",
        flat: "log_level",
        kind: FieldKind::Choice(LOG_LEVELS),
        default: FieldDefault::Str("info"),
        extra_env: &[],
        doc: "Log level (PROMPTSTACK_LOG takes a full filter and wins).",
    },
    FieldSpec {
        path: "log.file",
        flat: "log_file",
        kind: FieldKind::Path,
        default: FieldDefault::None,
        extra_env: &[],
        doc: "Also write logs to this file.",
    },
];

/// Keys of the original flat file that no longer mean anything; migration drops them.
const OBSOLETE_KEYS: &[&str] = &["vim_mode"];

/// Where a field's effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    Env(String),
    Editor,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File => f.write_str("file"),
            Source::Env(var) => write!(f, "env {var}"),
            Source::Editor => f.write_str("editor"),
        }
    }
}

/// A problem with the configuration; the message names the field, the value and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value for `{field}` (from {origin}): {value}; allowed: {allowed}")]
    InvalidValue {
        field: String,
        /// Already masked for secrets.
        value: String,
        allowed: String,
        origin: Source,
    },
    #[error("cannot read {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("{path} is not valid YAML{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    InvalidYaml {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
    #[error("{path}: the top level must be a mapping of settings")]
    NotAMapping { path: PathBuf },
    #[error(
        "{path} has version {found}, newer than this binary understands ({CONFIG_VERSION}); upgrade promptstack"
    )]
    TooNew { path: PathBuf, found: u64 },
    #[error("`{field}` (from {origin}) is not a known setting; known: {known}")]
    UnknownField {
        field: String,
        known: String,
        origin: Source,
    },
    #[error(
        "`ai.context_budget_percent` + `ai.response_budget_percent` is {sum}; it must be at most 95"
    )]
    BudgetTooLarge { sum: i64 },
    #[error("cannot migrate {path}: {message}")]
    Migration { path: PathBuf, message: String },
}

/// A string that is never shown in full (API keys, URLs with passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value, for the one place that sends it (an HTTP header, a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A form safe to show: the last four characters of a key, or a URL without its password.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

fn mask(value: &str) -> String {
    if value.contains("://") {
        return crate::logging::secrets::mask_url(value);
    }
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 8 {
        "****".to_string()
    } else {
        format!(
            "****{}",
            chars[chars.len() - 4..].iter().collect::<String>()
        )
    }
}

/// The typed, validated configuration the rest of the program reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub ai_provider: String,
    pub model: Option<String>,
    pub claude_api_key: Option<Secret>,
    pub anthropic_base_url: String,
    pub openai_api_key: Option<Secret>,
    pub openai_base_url: String,
    pub structured_output: String,
    pub max_retries: u32,
    pub timeout_secs: u64,
    pub context_budget_percent: u32,
    pub response_budget_percent: u32,
    pub mcp_host: Option<String>,
    /// `ai.mcp`, or `ai.mcp_host` as its URL form.
    pub ai_mcp: Option<AiMcpSpec>,
    pub specialists: Vec<String>,
    pub storage: String,
    pub database_path: Option<PathBuf>,
    pub postgres_url: Option<Secret>,
    pub postgres_pool_size: u32,
    pub postgres_connect_timeout_secs: u64,
    /// `storage.author`; see [`Config::author`] for the effective name.
    pub author: Option<String>,
    pub neo4j_url: Option<Secret>,
    /// `storage.graph_url`: the FalkorDB server of the `graph` backend.
    pub graph_url: Option<Secret>,
    /// `storage.graph_name`: the graph inside that server.
    pub graph_name: String,
    pub data_dir: Option<PathBuf>,
    pub library_dir: Option<PathBuf>,
    pub follow_external_symlinks: bool,
    /// Whether the workspace's own agent files join the library.
    pub workspace_agent_files: bool,
    /// `library.sources`: more prompt sources after the library folder.
    pub library_sources: Vec<SourceSpec>,
    pub composition_globs: Vec<String>,
    pub enable_plugins: bool,
    pub plugin_dir: Option<PathBuf>,
    pub log_level: String,
    pub log_file: Option<PathBuf>,
}

impl Config {
    /// The data layout this config selects under `home`.
    pub fn data_paths(&self, home: &Home) -> DataPaths {
        DataPaths::new(
            self.data_dir
                .clone()
                .unwrap_or_else(|| home.default_data_dir()),
            self.library_dir.clone(),
            self.database_path.clone(),
        )
    }

    /// The name saved with every composition: `storage.author`, else `$USER@hostname`.
    pub fn author(&self) -> String {
        self.author
            .clone()
            .unwrap_or_else(crate::history::identity::default_author)
    }

    /// Whether the AI provider has what it needs to be called (a key, or a local endpoint).
    pub fn ai_configured(&self) -> bool {
        match self.ai_provider.as_str() {
            "claude" => self.claude_api_key.is_some(),
            "openai" => {
                self.openai_api_key.is_some()
                    || !self.openai_base_url.starts_with("https://api.openai.com")
            }
            "mcp" => self.ai_mcp.is_some(),
            _ => false,
        }
    }
}

/// The configuration with, for every field, its value and where it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub config: Config,
    /// Field path → (effective value, source). Fields without a value are absent.
    pub values: BTreeMap<&'static str, (Value, Source)>,
}

impl Resolved {
    /// Rows for display: field, value (secrets masked), source.
    pub fn rows(&self) -> Vec<(&'static str, String, Source)> {
        FIELDS
            .iter()
            .map(|spec| match self.values.get(spec.path) {
                Some((value, source)) => (spec.path, display_value(spec, value), source.clone()),
                None => (spec.path, "(not set)".to_string(), Source::Default),
            })
            .collect()
    }
}

fn display_value(spec: &FieldSpec, value: &Value) -> String {
    match value {
        Value::String(s) => spec.shown(s),
        _ if matches!(spec.kind, FieldKind::Sources | FieldKind::McpServer) => {
            sources::masked(value).to_string()
        }
        // An empty list would print as nothing at all, which reads as a missing value.
        Value::Array(items) if items.is_empty() => "[]".to_string(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The layers a configuration is resolved from.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    /// The file's nested settings, already migrated.
    pub file: Option<Value>,
    /// Environment variables (name → value) that matter to the config.
    pub env: BTreeMap<String, String>,
    /// Editor settings (`initializationOptions` / `workspace/configuration`), nested.
    pub editor: Option<Value>,
}

impl Layers {
    /// Reads the relevant variables from the process environment.
    pub fn env_from_process() -> BTreeMap<String, String> {
        FIELDS
            .iter()
            .flat_map(|spec| {
                std::iter::once(spec.env_var()).chain(spec.extra_env.iter().map(|s| s.to_string()))
            })
            .filter_map(|name| {
                std::env::var(&name)
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (name, v))
            })
            .collect()
    }
}

/// Looks up a dotted path in nested settings.
fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(root, |node, key| node.get(key))
        .filter(|v| !v.is_null())
}

fn set_path(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut node = root;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        if keys.peek().is_none() {
            node.insert(key.to_string(), value);
            return;
        }
        let entry = node
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        node = entry.as_object_mut().expect("just made an object");
    }
}

/// Parses and normalises one raw value for `spec`. Environment values arrive as strings.
fn normalise(spec: &FieldSpec, raw: &Value, source: &Source) -> Result<Value, ConfigError> {
    let invalid = |allowed: String| ConfigError::InvalidValue {
        field: spec.path.to_string(),
        value: match raw {
            Value::String(s) => format!("{:?}", spec.shown(s)),
            other => other.to_string(),
        },
        allowed,
        origin: source.clone(),
    };
    let text = match raw {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match spec.kind {
        FieldKind::Choice(allowed) => text
            .map(|t| t.to_ascii_lowercase())
            .filter(|t| allowed.contains(&t.as_str()))
            .map(Value::String)
            .ok_or_else(|| invalid(allowed.join(", "))),
        FieldKind::Text | FieldKind::Secret => text
            .filter(|t| !t.is_empty())
            .map(Value::String)
            .ok_or_else(|| invalid("a non-empty string".into())),
        FieldKind::Url | FieldKind::SecretUrl => {
            let schemes: &[&str] = if spec.path == "storage.postgres_url" {
                &["postgres://", "postgresql://"]
            } else if spec.path == "storage.graph_url" {
                &["falkor://", "falkors://", "redis://", "rediss://"]
            } else if spec.path == "storage.neo4j_url" {
                &["bolt://", "neo4j://", "neo4j+s://", "http://", "https://"]
            } else {
                &["http://", "https://"]
            };
            text.filter(|t| {
                schemes
                    .iter()
                    .any(|s| t.starts_with(s) && t.len() > s.len())
            })
            .map(|t| Value::String(t.trim_end_matches('/').to_string()))
            .ok_or_else(|| invalid(format!("a URL starting with {}", schemes.join(" or "))))
        }
        FieldKind::Path => text
            .filter(|t| !t.is_empty())
            .map(Value::String)
            .ok_or_else(|| invalid("a file system path".into())),
        FieldKind::Integer { min, max } => text
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|n| (min..=max).contains(n))
            .map(Value::from)
            .ok_or_else(|| invalid(format!("a whole number from {min} to {max}"))),
        FieldKind::Bool => match text.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("true" | "1" | "yes" | "on") => Ok(Value::Bool(true)),
            Some("false" | "0" | "no" | "off") => Ok(Value::Bool(false)),
            _ => Err(invalid("true or false".into())),
        },
        FieldKind::List => {
            let items: Option<Vec<String>> = match raw {
                Value::String(s) => Some(s.split(',').map(|i| i.trim().to_string()).collect()),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(|s| s.trim().to_string()))
                    .collect(),
                _ => None,
            };
            items
                .map(|items| {
                    Value::from(
                        items
                            .into_iter()
                            .filter(|i| !i.is_empty())
                            .collect::<Vec<_>>(),
                    )
                })
                .ok_or_else(|| invalid("a list of strings".into()))
        }
        FieldKind::Sources | FieldKind::McpServer => {
            let normalised = if matches!(spec.kind, FieldKind::Sources) {
                sources::normalise_sources(raw)
            } else {
                sources::normalise_ai_mcp(raw)
            };
            normalised.map_err(|p| ConfigError::InvalidValue {
                field: format!("{}{}", spec.path, p.at),
                value: p.value,
                allowed: p.allowed,
                origin: source.clone(),
            })
        }
    }
}

fn default_value(spec: &FieldSpec) -> Option<Value> {
    match spec.default {
        FieldDefault::None => None,
        FieldDefault::Str(s) => Some(Value::from(s)),
        FieldDefault::Int(n) => Some(Value::from(n)),
        FieldDefault::Bool(b) => Some(Value::from(b)),
        FieldDefault::List(items) => Some(Value::from(items.to_vec())),
    }
}

/// Top-level sections of the nested shape.
fn sections() -> Vec<&'static str> {
    let mut s: Vec<&str> = FIELDS
        .iter()
        .filter_map(|f| f.path.split('.').next())
        .collect();
    s.dedup();
    s
}

/// Keys in nested settings that match no field (typos, stale settings).
fn unknown_fields(settings: &Value, source: &Source) -> Vec<ConfigError> {
    let known: Vec<&str> = FIELDS.iter().map(|f| f.path).collect();
    let mut out = Vec::new();
    let Some(top) = settings.as_object() else {
        return out;
    };
    for (key, value) in top {
        if key == "version" {
            continue;
        }
        let paths: Vec<String> = match value.as_object() {
            Some(inner) if sections().contains(&key.as_str()) => {
                inner.keys().map(|k| format!("{key}.{k}")).collect()
            }
            _ => vec![key.clone()],
        };
        for path in paths {
            if !known.contains(&path.as_str()) {
                out.push(ConfigError::UnknownField {
                    field: path,
                    known: known.join(", "),
                    origin: source.clone(),
                });
            }
        }
    }
    out
}

/// Resolves the layers into a configuration. Never fails: a bad value is reported and replaced by
/// the `previous` effective value when there is one (a live settings change), else by the next
/// lower layer. The returned errors are what the user should see.
pub fn resolve(layers: &Layers, previous: Option<&Resolved>) -> (Resolved, Vec<ConfigError>) {
    let mut errors = Vec::new();
    if let Some(file) = &layers.file {
        errors.extend(unknown_fields(file, &Source::File));
    }
    if let Some(editor) = &layers.editor {
        errors.extend(unknown_fields(editor, &Source::Editor));
    }
    learn_secrets(layers);
    let mut values = BTreeMap::new();
    for spec in FIELDS {
        let mut chosen: Option<(Value, Source)> = default_value(spec).map(|v| (v, Source::Default));
        if let Some(raw) = layers.file.as_ref().and_then(|f| lookup(f, spec.path)) {
            match normalise(spec, raw, &Source::File) {
                Ok(v) => chosen = Some((v, Source::File)),
                Err(e) => errors.push(e),
            }
        }
        let env_names =
            std::iter::once(spec.env_var()).chain(spec.extra_env.iter().map(|s| s.to_string()));
        if let Some((name, raw)) = env_names
            .filter_map(|name| layers.env.get(&name).map(|v| (name, v)))
            .next()
        {
            let source = Source::Env(name);
            match normalise(spec, &Value::String(raw.clone()), &source) {
                Ok(v) => chosen = Some((v, source)),
                Err(e) => errors.push(e),
            }
        }
        if let Some(raw) = layers.editor.as_ref().and_then(|e| lookup(e, spec.path)) {
            match normalise(spec, raw, &Source::Editor) {
                Ok(v) => chosen = Some((v, Source::Editor)),
                Err(e) => {
                    errors.push(e);
                    if let Some(prev) = previous.and_then(|p| p.values.get(spec.path)) {
                        chosen = Some(prev.clone());
                    }
                }
            }
        }
        if let Some(value) = chosen {
            values.insert(spec.path, value);
        }
    }
    let int = |path: &str| values.get(path).and_then(|(v, _)| v.as_i64()).unwrap_or(0);
    let sum = int("ai.context_budget_percent") + int("ai.response_budget_percent");
    if sum > 95 {
        errors.push(ConfigError::BudgetTooLarge { sum });
        for path in ["ai.context_budget_percent", "ai.response_budget_percent"] {
            let spec = FIELDS
                .iter()
                .find(|f| f.path == path)
                .expect("field exists");
            let fallback = previous
                .and_then(|p| p.values.get(path).cloned())
                .or_else(|| default_value(spec).map(|v| (v, Source::Default)));
            if let Some(v) = fallback {
                values.insert(path, v);
            }
        }
    }
    let config = typed(&values);
    (Resolved { config, values }, errors)
}

/// Tells the log redactor about every secret in every layer, valid or not, before any of it
/// can reach a log line or a message.
fn learn_secrets(layers: &Layers) {
    for spec in FIELDS {
        let env = std::iter::once(spec.env_var())
            .chain(spec.extra_env.iter().map(|s| s.to_string()))
            .filter_map(|name| layers.env.get(&name).cloned());
        let nested = [&layers.file, &layers.editor]
            .into_iter()
            .filter_map(|layer| layer.as_ref().and_then(|l| lookup(l, spec.path)))
            .filter_map(|v| v.as_str().map(str::to_string));
        for value in env.chain(nested) {
            crate::logging::secrets::learn_field(spec.kind, &value);
        }
    }
}

fn typed(values: &BTreeMap<&'static str, (Value, Source)>) -> Config {
    let get = |path: &str| values.get(path).map(|(v, _)| v);
    let string = |path: &str| get(path).and_then(Value::as_str).map(str::to_string);
    let path_of = |path: &str| string(path).map(|s| expand_tilde(&s));
    let secret = |path: &str| string(path).map(Secret);
    let int = |path: &str| get(path).and_then(Value::as_i64).unwrap_or(0).max(0) as u64;
    let flag = |path: &str| get(path).and_then(Value::as_bool).unwrap_or(false);
    let list = |path: &str| {
        get(path)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Config {
        ai_provider: string("ai.provider").unwrap_or_else(|| "claude".into()),
        model: string("ai.model"),
        claude_api_key: secret("ai.claude_api_key"),
        anthropic_base_url: string("ai.anthropic_base_url").unwrap_or_default(),
        openai_api_key: secret("ai.openai_api_key"),
        openai_base_url: string("ai.openai_base_url").unwrap_or_default(),
        structured_output: string("ai.structured_output").unwrap_or_default(),
        max_retries: int("ai.max_retries") as u32,
        timeout_secs: int("ai.timeout"),
        context_budget_percent: int("ai.context_budget_percent") as u32,
        response_budget_percent: int("ai.response_budget_percent") as u32,
        mcp_host: string("ai.mcp_host"),
        ai_mcp: sources::ai_mcp_from_json(get("ai.mcp")).or_else(|| {
            string("ai.mcp_host").map(|host| AiMcpSpec {
                endpoint: McpEndpoint::Url(if host.contains("://") {
                    host
                } else {
                    format!("http://{host}")
                }),
                review_tool: sources::DEFAULT_REVIEW_TOOL.into(),
                apply_tool: sources::DEFAULT_APPLY_TOOL.into(),
            })
        }),
        specialists: list("ai.specialists"),
        storage: string("storage.backend").unwrap_or_else(|| "sqlite".into()),
        database_path: path_of("storage.database_path"),
        postgres_url: secret("storage.postgres_url"),
        postgres_pool_size: int("storage.postgres_pool_size") as u32,
        postgres_connect_timeout_secs: int("storage.postgres_connect_timeout"),
        author: string("storage.author"),
        neo4j_url: secret("storage.neo4j_url"),
        graph_url: secret("storage.graph_url"),
        graph_name: string("storage.graph_name").unwrap_or_else(|| "promptstack".into()),
        data_dir: path_of("paths.data_dir"),
        library_dir: path_of("paths.library_dir"),
        follow_external_symlinks: flag("library.follow_external_symlinks"),
        workspace_agent_files: flag("library.workspace_agent_files"),
        library_sources: sources::sources_from_json(get("library.sources")),
        composition_globs: list("compositions.globs"),
        enable_plugins: flag("plugins.enabled"),
        plugin_dir: path_of("plugins.dir"),
        log_level: string("log.level").unwrap_or_else(|| "info".into()),
        log_file: path_of("log.file"),
    }
}

/// `~/x` → `$HOME/x`; other paths unchanged.
fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// Outcome of reading the config file.
#[derive(Debug, Clone, Default)]
pub struct FileLoad {
    /// Nested settings, or `None` when there is no file.
    pub settings: Option<Value>,
    /// Set when an old file was migrated: where the original was backed up.
    pub migrated_backup: Option<PathBuf>,
}

/// Reads `path` (absent is fine), migrating an old flat file in place with a backup.
pub fn load_file(path: &Path) -> Result<FileLoad, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileLoad::default()),
        Err(e) => {
            return Err(ConfigError::Unreadable {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    let value = parse_yaml(path, &text)?;
    if !needs_migration(&value) {
        if let Some(found) = value
            .get("version")
            .and_then(Value::as_u64)
            .filter(|v| *v > CONFIG_VERSION)
        {
            return Err(ConfigError::TooNew {
                path: path.to_path_buf(),
                found,
            });
        }
        return Ok(FileLoad {
            settings: Some(value),
            migrated_backup: None,
        });
    }
    let migrated = migrate(&value);
    let backup = backup_path(path);
    let migration_error = |e: std::io::Error| ConfigError::Migration {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::copy(path, &backup).map_err(migration_error)?;
    let yaml = to_yaml(&migrated).map_err(|message| ConfigError::Migration {
        path: path.to_path_buf(),
        message,
    })?;
    let header = format!(
        "# Migrated from the original flat format; the old file is kept as {}\n",
        backup.file_name().unwrap_or_default().to_string_lossy()
    );
    crate::home::write_atomic_with_mode(path, format!("{header}{yaml}").as_bytes(), Some(0o600))
        .map_err(migration_error)?;
    tracing::info!(path = %path.display(), backup = %backup.display(), "migrated config file");
    Ok(FileLoad {
        settings: Some(migrated),
        migrated_backup: Some(backup),
    })
}

fn parse_yaml(path: &Path, text: &str) -> Result<Value, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value =
        crate::document::frontmatter::parse_yaml(text).map_err(|e| ConfigError::InvalidYaml {
            path: path.to_path_buf(),
            line: e.location().map(|l| l.line()),
            message: e.to_string().lines().next().unwrap_or_default().to_string(),
        })?;
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        _ => Err(ConfigError::NotAMapping {
            path: path.to_path_buf(),
        }),
    }
}

/// Serialises settings as YAML for writing the config file.
pub fn to_yaml(value: &Value) -> Result<String, String> {
    serde_saphyr::to_string(value).map_err(|e| e.to_string())
}

/// An old file is flat: a known flat key at the top level holding a scalar, an obsolete key, or
/// a version older than this format.
fn needs_migration(value: &Value) -> bool {
    let Some(top) = value.as_object() else {
        return false;
    };
    let old_version = match top.get("version") {
        Some(Value::Number(n)) => n.as_f64().is_some_and(|v| v < CONFIG_VERSION as f64),
        Some(Value::String(_)) => true,
        _ => false,
    };
    old_version
        || top.keys().any(|k| OBSOLETE_KEYS.contains(&k.as_str()))
        || top.iter().any(|(k, v)| {
            !v.is_object()
                && FIELDS
                    .iter()
                    .any(|f| f.flat == k && !f.path.starts_with(&format!("{k}.")))
        })
        || top.get("storage").is_some_and(|v| v.is_string())
}

/// Moves flat keys to their nested places; keeps sections and unknown keys as they were.
fn migrate(value: &Value) -> Value {
    let mut out = Map::new();
    out.insert("version".into(), Value::from(CONFIG_VERSION));
    let Some(top) = value.as_object() else {
        return Value::Object(out);
    };
    for (key, v) in top {
        if key == "version" || OBSOLETE_KEYS.contains(&key.as_str()) || v.is_null() {
            continue;
        }
        let flat = FIELDS
            .iter()
            .find(|f| f.flat == key)
            .filter(|_| !v.is_object());
        match flat {
            Some(spec) => set_path(&mut out, spec.path, v.clone()),
            None => {
                out.insert(key.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

fn backup_path(path: &Path) -> PathBuf {
    let mut n = 0;
    loop {
        let suffix = if n == 0 {
            ".bak".to_string()
        } else {
            format!(".bak.{n}")
        };
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        let candidate = path.with_file_name(name);
        if !candidate.exists() {
            return candidate;
        }
        n += 1;
    }
}

/// Everything needed to run: home, resolved config, the file's settings and the problems found.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub home: Home,
    pub resolved: Resolved,
    pub layers: Layers,
    pub errors: Vec<ConfigError>,
    pub migrated_backup: Option<PathBuf>,
}

impl Loaded {
    /// Loads file and environment for `home`. File errors are reported in `errors` and the file
    /// layer is skipped, so the program can still start on defaults.
    pub fn load(home: Home) -> Self {
        let mut errors = Vec::new();
        let file = match load_file(&home.config_file()) {
            Ok(load) => load,
            Err(e) => {
                errors.push(e);
                FileLoad::default()
            }
        };
        let layers = Layers {
            file: file.settings,
            env: Layers::env_from_process(),
            editor: None,
        };
        let (resolved, resolve_errors) = resolve(&layers, None);
        errors.extend(resolve_errors);
        Loaded {
            home,
            resolved,
            layers,
            errors,
            migrated_backup: file.migrated_backup,
        }
    }

    pub fn config(&self) -> &Config {
        &self.resolved.config
    }

    /// The note for the user when loading migrated an old config file (once: the file is
    /// rewritten in the current format).
    pub fn migration_note(&self) -> Option<String> {
        self.migrated_backup.as_ref().map(|backup| {
            format!(
                "migrated {} to the current format; the original is kept as {}",
                self.home.config_file().display(),
                backup.display()
            )
        })
    }

    pub fn data_paths(&self) -> DataPaths {
        self.resolved.config.data_paths(&self.home)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layers(file: Option<Value>, env: &[(&str, &str)], editor: Option<Value>) -> Layers {
        Layers {
            file,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            editor,
        }
    }

    fn source_of(resolved: &Resolved, path: &str) -> Source {
        resolved.values[path].1.clone()
    }

    #[test]
    fn defaults_without_any_layer() {
        let (resolved, errors) = resolve(&Layers::default(), None);
        assert!(errors.is_empty(), "{errors:?}");
        let c = &resolved.config;
        assert_eq!(c.ai_provider, "claude");
        assert_eq!(c.storage, "sqlite");
        assert_eq!(c.max_retries, 3);
        assert_eq!(
            c.composition_globs,
            vec![
                "**/*.prompt.md",
                "**/*.composition.md",
                "!**/.github/prompts/**"
            ]
        );
        assert!(!c.ai_configured());
        assert_eq!(source_of(&resolved, "ai.provider"), Source::Default);
    }

    #[test]
    fn precedence_editor_over_env_over_file_over_default() {
        let file = json!({"ai": {"provider": "openai", "model": "file-model", "max_retries": 5}});
        let env = [
            ("PROMPTSTACK_MODEL", "env-model"),
            ("PROMPTSTACK_MAX_RETRIES", "7"),
        ];
        let editor = json!({"ai": {"model": "editor-model"}});
        let (resolved, errors) = resolve(&layers(Some(file), &env, Some(editor)), None);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(resolved.config.ai_provider, "openai");
        assert_eq!(source_of(&resolved, "ai.provider"), Source::File);
        assert_eq!(resolved.config.model.as_deref(), Some("editor-model"));
        assert_eq!(source_of(&resolved, "ai.model"), Source::Editor);
        assert_eq!(resolved.config.max_retries, 7);
        assert_eq!(
            source_of(&resolved, "ai.max_retries"),
            Source::Env("PROMPTSTACK_MAX_RETRIES".into())
        );
    }

    #[test]
    fn provider_env_variables_and_prefixed_ones_win_over_them() {
        let env = [("ANTHROPIC_API_KEY", "sk-ant-0123456789abcd")];
        let (resolved, _) = resolve(&layers(None, &env, None), None);
        assert!(resolved.config.ai_configured());
        assert_eq!(resolved.rows()[2].1, "****abcd");
        let env = [
            ("ANTHROPIC_API_KEY", "a-key-from-anthropic"),
            ("PROMPTSTACK_CLAUDE_API_KEY", "ours-0000000000"),
        ];
        let (resolved, _) = resolve(&layers(None, &env, None), None);
        assert_eq!(
            resolved.config.claude_api_key.unwrap().expose(),
            "ours-0000000000"
        );
    }

    #[test]
    fn invalid_values_name_field_value_and_allowed() {
        let file = json!({"ai": {"provider": "gemini"}, "storage": {"backend": "mongo"}});
        let (resolved, errors) = resolve(
            &layers(Some(file), &[("PROMPTSTACK_TIMEOUT", "soon")], None),
            None,
        );
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "invalid value for `ai.provider` (from file): \"gemini\"; allowed: claude, openai, mcp",
                "invalid value for `ai.timeout` (from env PROMPTSTACK_TIMEOUT): \"soon\"; allowed: a whole number from 1 to 3600",
                "invalid value for `storage.backend` (from file): \"mongo\"; allowed: sqlite, postgres, graph",
            ]
        );
        // Bad values fall back to the next layer down.
        assert_eq!(resolved.config.ai_provider, "claude");
    }

    #[test]
    fn invalid_editor_value_keeps_the_previous_value() {
        let editor = json!({"ai": {"provider": "openai"}});
        let (first, _) = resolve(&layers(None, &[], Some(editor)), None);
        let bad = json!({"ai": {"provider": "nope"}});
        let (second, errors) = resolve(&layers(None, &[], Some(bad)), Some(&first));
        assert_eq!(errors.len(), 1);
        assert_eq!(second.config.ai_provider, "openai");
    }

    #[test]
    fn unknown_keys_and_budget_are_reported() {
        let file = json!({"ai": {"modle": "x"}, "colour": "red", "version": 2});
        let (_, errors) = resolve(&layers(Some(file), &[], None), None);
        let fields: Vec<String> = errors
            .iter()
            .filter_map(|e| match e {
                ConfigError::UnknownField { field, .. } => Some(field.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(fields, vec!["ai.modle", "colour"]);
        let file = json!({"ai": {"context_budget_percent": 80, "response_budget_percent": 50}});
        let (resolved, errors) = resolve(&layers(Some(file), &[], None), None);
        assert_eq!(errors, vec![ConfigError::BudgetTooLarge { sum: 130 }]);
        assert_eq!(resolved.config.context_budget_percent, 30);
    }

    #[test]
    fn sources_and_ai_mcp_resolve() {
        let file = json!({"library": {"sources": [
            {"type": "mcp", "name": "team", "command": ["team-prompts"], "env": {"TOKEN": "t0ps3cret"}},
            {"type": "folder", "name": "shared", "path": "/srv/prompts", "format": "skills"},
            {"type": "git", "name": "repo", "url": "https://example.org/p.git"},
        ]}, "ai": {"provider": "mcp", "mcp_host": "127.0.0.1:9000"}});
        let (resolved, errors) = resolve(&layers(Some(file), &[], None), None);
        assert!(errors.is_empty(), "{errors:?}");
        let c = &resolved.config;
        assert_eq!(c.library_sources[2].kind.type_name(), "git");
        assert_eq!(c.library_sources.len(), 3);
        assert_eq!(
            c.library_sources[1].kind,
            SourceKind::Folder {
                path: "/srv/prompts".into(),
                format: crate::formats::FormatHint::Skills
            }
        );
        assert_eq!(c.library_sources[0].name, "team");
        // `ai.mcp_host` is the URL form of `ai.mcp`.
        assert_eq!(
            c.ai_mcp.as_ref().map(|m| &m.endpoint),
            Some(&McpEndpoint::Url("http://127.0.0.1:9000".into()))
        );
        assert!(c.ai_configured());
        let shown: Vec<String> = resolved.rows().into_iter().map(|r| r.1).collect();
        assert!(
            shown.iter().any(|v| v.contains("\"TOKEN\":\"****\"")),
            "{shown:?}"
        );
        assert!(!shown.iter().any(|v| v.contains("t0ps3cret")));
        // A bad entry names the entry and the key; the editor's JSON shape is the same.
        let editor =
            json!({"library": {"sources": [{"type": "mcp", "name": "x", "url": "ftp://h"}]}});
        let (_, errors) = resolve(&layers(None, &[], Some(editor)), None);
        assert_eq!(
            errors[0].to_string(),
            "invalid value for `library.sources[0] (`x`).url` (from editor): \"ftp://h\"; allowed: a URL starting with http:// or https://"
        );
    }

    #[test]
    fn secrets_are_masked() {
        assert_eq!(Secret::new("sk-1234567890").masked(), "****7890");
        assert_eq!(Secret::new("short").masked(), "****");
        assert_eq!(
            Secret::new("postgres://me:hunter2@db/x").masked(),
            "postgres://me:****@db/x"
        );
        assert_eq!(
            Secret::new("postgres://me:p@ss/w@rd@db:5433/x?sslmode=require").masked(),
            "postgres://me:****@db:5433/x?sslmode=require"
        );
        assert_eq!(
            Secret::new("postgres://db/x?user=me&password=hunter2&sslmode=disable").masked(),
            "postgres://db/x?user=me&password=****&sslmode=disable"
        );
        assert!(!format!("{:?}", Secret::new("sk-1234567890")).contains("sk-123"));
    }

    #[test]
    fn credentials_in_urls_are_masked_when_shown_and_in_errors() {
        let file = json!({"ai": {
            "openai_base_url": "https://me:url-password-1@llm.example/v1?api_key=query-key-2",
            "anthropic_base_url": "ftp://me:bad-scheme-pass-3@x"
        }});
        let (resolved, errors) = resolve(&layers(Some(file), &[], None), None);
        let shown: String = resolved
            .rows()
            .iter()
            .map(|(field, value, _)| format!("{field} {value}\n"))
            .collect();
        assert!(
            shown.contains("ai.openai_base_url https://me:****@llm.example/v1?api_key=****"),
            "{shown}"
        );
        let message = errors[0].to_string();
        assert!(message.contains("ftp://me:****@x"), "{message}");
        for secret in ["url-password-1", "query-key-2", "bad-scheme-pass-3"] {
            assert!(!shown.contains(secret) && !message.contains(secret));
            // And the log redactor knows them all, valid or not.
            assert_eq!(crate::logging::secrets::redact(secret), "****");
        }
    }

    #[test]
    fn old_flat_file_is_migrated_in_place_with_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        let old = "claude_api_key: sk-ant-old-key-123456\nmodel: claude-3-opus\nvim_mode: true\ndata_dir: /tmp/ps-data\nversion: \"1.0\"\n";
        std::fs::write(&path, old).unwrap();
        let load = load_file(&path).unwrap();
        let backup = load.migrated_backup.expect("migrated");
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), old);
        let settings = load.settings.unwrap();
        assert_eq!(settings["ai"]["claude_api_key"], "sk-ant-old-key-123456");
        assert_eq!(settings["ai"]["model"], "claude-3-opus");
        assert_eq!(settings["paths"]["data_dir"], "/tmp/ps-data");
        assert!(settings.get("vim_mode").is_none());
        // The rewritten file loads without another migration and resolves the same values.
        let again = load_file(&path).unwrap();
        assert!(again.migrated_backup.is_none());
        let (resolved, errors) = resolve(&layers(again.settings, &[], None), None);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(resolved.config.model.as_deref(), Some("claude-3-opus"));
        assert_eq!(
            resolved.config.data_dir,
            Some(PathBuf::from("/tmp/ps-data"))
        );
    }

    /// The field table in docs/configuration.md, generated from [`FIELDS`].
    fn fields_markdown() -> String {
        let mut out = String::from(
            "| setting | values | default | environment | old flat name | meaning |\n|---|---|---|---|---|---|\n",
        );
        for f in FIELDS {
            let values = match f.kind {
                FieldKind::Choice(c) => c.join(" \\| "),
                FieldKind::Text => "text".into(),
                FieldKind::Secret => "secret (masked when shown)".into(),
                FieldKind::Url => "URL".into(),
                FieldKind::SecretUrl => "URL (password masked)".into(),
                FieldKind::Path => "path (`~/` expands)".into(),
                FieldKind::Integer { min, max } => format!("{min}–{max}"),
                FieldKind::Bool => "true \\| false".into(),
                FieldKind::List => "list (comma-separated in env)".into(),
                FieldKind::Sources => "list of source entries (JSON in env)".into(),
                FieldKind::McpServer => "MCP server entry (JSON in env)".into(),
            };
            let default = match f.default {
                FieldDefault::None => String::new(),
                FieldDefault::Str(s) => format!("`{s}`"),
                FieldDefault::Int(n) => format!("`{n}`"),
                FieldDefault::Bool(b) => format!("`{b}`"),
                FieldDefault::List(items) => format!("`[{}]`", items.join(", ")),
            };
            let env: Vec<String> = std::iter::once(f.env_var())
                .chain(f.extra_env.iter().map(|e| e.to_string()))
                .map(|e| format!("`{e}`"))
                .collect();
            out.push_str(&format!(
                "| `{}` | {values} | {default} | {} | `{}` | {} |\n",
                f.path,
                env.join(", "),
                f.flat,
                f.doc
            ));
        }
        out
    }

    /// docs/configuration.md lists every field exactly as the code knows them.
    /// Regenerate with `UPDATE_DOCS=1 cargo test --lib config`.
    #[test]
    fn docs_list_every_field() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
        let doc = std::fs::read_to_string(&path).expect("docs/configuration.md exists");
        let (start, end) = ("<!-- fields:start -->\n", "<!-- fields:end -->");
        let from = doc.find(start).expect("start marker") + start.len();
        let to = doc.find(end).expect("end marker");
        let table = fields_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{table}{}", &doc[..from], &doc[to..]);
            std::fs::write(&path, updated).expect("write docs");
            return;
        }
        assert_eq!(
            &doc[from..to],
            table,
            "docs/configuration.md is out of date: UPDATE_DOCS=1 cargo test --lib config"
        );
    }

    #[test]
    fn file_errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, "ai:\n  provider: [unclosed\n").unwrap();
        let err = load_file(&path).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidYaml { .. }), "{err}");
        std::fs::write(&path, "version: 9\n").unwrap();
        assert!(matches!(
            load_file(&path),
            Err(ConfigError::TooNew { found: 9, .. })
        ));
    }
}
