//! The tools `promptstack mcp` offers models, which cannot see prompts by themselves:
//! `search_prompts`, `get_prompt`, `search_history`, `get_composition`. Each has an input and an
//! output schema; results are structured (and the same JSON as text for older clients); a
//! problem with the arguments or the lookup is a tool error the model can read and correct.

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, Tool};
use serde_json::{Map, Value, json};

use super::catalog;
use super::server::Catalog;
use crate::history::ListOptions;

/// The tool names, in the order they are listed.
pub const NAMES: &[&str] = &[
    "search_prompts",
    "get_prompt",
    "search_history",
    "get_composition",
];

const MAX_LIMIT: u64 = 50;
const DEFAULT_LIMIT: u64 = 10;

fn object(value: Value) -> Arc<Map<String, Value>> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(Map::new()),
    }
}

fn query_schema(what: &str) -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": format!("Words to look for in {what}; typos are fine.")},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT,
                      "description": "Most results to return."}
        },
        "required": ["query"],
        "additionalProperties": false
    })
}

/// The tool list, with schemas.
pub fn definitions() -> Vec<Tool> {
    let prompt_summary = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "source": {"type": ["string", "null"]},
            "arguments": {"type": "array", "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "kind": {"type": "string", "enum": ["text", "list"]}},
                "required": ["name", "kind"]
            }}
        },
        "required": ["id", "title", "arguments"]
    });
    let composition_summary = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "updated_at": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "snippet": {"type": "string"}
        },
        "required": ["id", "title", "updated_at"]
    });
    vec![
        Tool::new(
            "search_prompts",
            "Search the user's prompt library by title, tags, description and body. Returns ids \
             to pass to get_prompt.",
            object(query_schema("the prompt library")),
        )
        .with_title("Search prompts")
        .with_raw_output_schema(object(json!({
            "type": "object",
            "properties": {"prompts": {"type": "array", "items": prompt_summary}},
            "required": ["prompts"]
        }))),
        Tool::new(
            "get_prompt",
            "Get one library prompt filled in with arguments (one per placeholder; a list \
             argument takes one item per line or an array).",
            object(json!({
                "type": "object",
                "properties": {
                    "id": {"type": "string", "description": "The prompt id from search_prompts."},
                    "arguments": {"type": "object", "description": "Placeholder name → value.",
                                  "additionalProperties": {"type": ["string", "array"], "items": {"type": "string"}}}
                },
                "required": ["id"],
                "additionalProperties": false
            })),
        )
        .with_title("Get a prompt")
        .with_raw_output_schema(object(json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "text": {"type": "string"}
            },
            "required": ["id", "title", "text"]
        }))),
        Tool::new(
            "search_history",
            "Full-text search over the compositions the user saved. Returns ids for \
             get_composition.",
            object(query_schema("saved compositions")),
        )
        .with_title("Search history")
        .with_raw_output_schema(object(json!({
            "type": "object",
            "properties": {"compositions": {"type": "array", "items": composition_summary}},
            "required": ["compositions"]
        }))),
        Tool::new(
            "get_composition",
            "Get the full text of one saved composition.",
            object(json!({
                "type": "object",
                "properties": {"id": {"type": "string", "description": "The id from search_history."}},
                "required": ["id"],
                "additionalProperties": false
            })),
        )
        .with_title("Get a composition")
        .with_raw_output_schema(object(json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "created_at": {"type": "string"},
                "updated_at": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "content": {"type": "string"}
            },
            "required": ["id", "title", "updated_at", "content"]
        }))),
    ]
}

/// A problem the model can fix: shown to it as a tool error.
struct ToolError(String);

fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// Runs one tool (blocking: searches and history reads). `name` is one of [`NAMES`].
pub fn call(catalog: &Catalog, name: &str, args: &Map<String, Value>) -> CallToolResult {
    let result = match name {
        "search_prompts" => search_prompts(catalog, args),
        "get_prompt" => get_prompt(catalog, args),
        "search_history" => search_history(catalog, args),
        "get_composition" => get_composition(catalog, args),
        other => Err(ToolError(format!("no tool `{other}`"))),
    };
    match result {
        Ok(value) => CallToolResult::structured(value),
        Err(ToolError(message)) => error_result(message),
    }
}

fn check_keys(args: &Map<String, Value>, allowed: &[&str]) -> Result<(), ToolError> {
    match args.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ToolError(format!(
            "unknown argument `{k}`; this tool takes {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn string_arg(args: &Map<String, Value>, key: &str) -> Result<String, ToolError> {
    match args.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(ToolError(format!("`{key}` must not be empty"))),
        Some(other) => Err(ToolError(format!("`{key}` must be a string, not {other}"))),
        None => Err(ToolError(format!("`{key}` is required"))),
    }
}

fn limit_arg(args: &Map<String, Value>) -> Result<usize, ToolError> {
    match args.get("limit") {
        None | Some(Value::Null) => Ok(DEFAULT_LIMIT as usize),
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .map(|n| n as usize)
            .ok_or_else(|| {
                ToolError(format!(
                    "`limit` must be a whole number from 1 to {MAX_LIMIT}, not {v}"
                ))
            }),
    }
}

fn search_prompts(catalog: &Catalog, args: &Map<String, Value>) -> Result<Value, ToolError> {
    check_keys(args, &["query", "limit"])?;
    let query = match args.get("query") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(ToolError("`query` is required and must be a string".into())),
    };
    let limit = limit_arg(args)?;
    let hits = catalog
        .library
        .search(&query, limit)
        .map_err(|e| ToolError(format!("the search failed: {e}")))?;
    let prompts: Vec<Value> = hits
        .iter()
        .map(|hit| {
            let p = &hit.prompt;
            let arguments: Vec<Value> = catalog::arguments(p)
                .iter()
                .map(|a| json!({"name": a.name, "kind": a.kind.keyword()}))
                .collect();
            json!({
                "id": p.id,
                "title": p.title,
                "description": p.description,
                "tags": p.tags,
                "source": p.source,
                "arguments": arguments,
            })
        })
        .collect();
    Ok(json!({ "prompts": prompts }))
}

fn get_prompt(catalog: &Catalog, args: &Map<String, Value>) -> Result<Value, ToolError> {
    check_keys(args, &["id", "arguments"])?;
    let id = string_arg(args, "id")?;
    let values: HashMap<String, String> = match args.get("arguments") {
        None | Some(Value::Null) => HashMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .map(|items| (k.clone(), items.join("\n")))
                    .ok_or_else(|| ToolError(format!("`arguments.{k}` must list strings"))),
                other => Err(ToolError(format!(
                    "`arguments.{k}` must be a string or a list of strings, not {other}"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(ToolError(format!(
                "`arguments` must be an object of placeholder values, not {other}"
            )));
        }
    };
    let rendered =
        catalog::render(&catalog.library, &id, &values).map_err(|e| ToolError(e.to_string()))?;
    Ok(json!({ "id": id, "title": rendered.prompt.title, "text": rendered.text }))
}

fn history(
    catalog: &Catalog,
) -> Result<&Arc<dyn crate::history::CompositionRepository>, ToolError> {
    catalog
        .history
        .as_ref()
        .ok_or_else(|| ToolError("the composition history is not available".into()))
}

fn timestamp(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn search_history(catalog: &Catalog, args: &Map<String, Value>) -> Result<Value, ToolError> {
    check_keys(args, &["query", "limit"])?;
    let query = string_arg(args, "query")?;
    let options = ListOptions {
        limit: limit_arg(args)?,
        ..ListOptions::default()
    };
    let page = history(catalog)?
        .search(&query, &options)
        .map_err(|e| ToolError(format!("the history search failed: {e}")))?;
    let compositions: Vec<Value> = page
        .items
        .iter()
        .map(|hit| {
            json!({
                "id": hit.summary.id,
                "title": hit.summary.title,
                "updated_at": timestamp(hit.summary.updated_at),
                "tags": hit.summary.tags,
                "snippet": hit.snippet.marked("**", "**"),
            })
        })
        .collect();
    Ok(json!({ "compositions": compositions }))
}

fn get_composition(catalog: &Catalog, args: &Map<String, Value>) -> Result<Value, ToolError> {
    check_keys(args, &["id"])?;
    let id = string_arg(args, "id")?;
    let found = history(catalog)?
        .load(&id)
        .map_err(|e| ToolError(format!("reading the history failed: {e}")))?
        .ok_or_else(|| {
            ToolError(format!(
                "no composition with id `{id}`; find ids with search_history"
            ))
        })?;
    let s = &found.summary;
    Ok(json!({
        "id": s.id,
        "title": s.title,
        "created_at": timestamp(s.created_at),
        "updated_at": timestamp(s.updated_at),
        "tags": s.tags,
        "content": found.content,
    }))
}
