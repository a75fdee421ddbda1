//! The VS Code extension's `promptstack.*` settings mirror the server's configuration fields:
//! same paths, same choices, same ranges and defaults. Fails when the two lists drift.

use std::collections::BTreeSet;
use std::path::PathBuf;

use promptstack::config::{self, FIELDS, FieldDefault, FieldKind, Layers};
use serde_json::{Map, Value, json};

/// Settings of the extension itself (where the binary is, editor behaviour), not server settings.
const CLIENT_ONLY: &[&str] = &["server.", "vscode."];

/// The server field a VS Code key stands for: `ai.anthropicBaseUrl` → `ai.anthropic_base_url`.
fn server_path(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every property of `contributes.configuration` (a list of categories).
fn properties(pkg: &Value) -> Map<String, Value> {
    let configuration = pkg
        .pointer("/contributes/configuration")
        .expect("package.json has contributes.configuration");
    let categories = match configuration {
        Value::Array(list) => list.clone(),
        other => vec![other.clone()],
    };
    let mut out = Map::new();
    for category in categories {
        if let Some(p) = category.get("properties").and_then(Value::as_object) {
            out.extend(p.clone());
        }
    }
    out
}

fn package_json() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("editors/vscode/package.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The server path of each `promptstack.<key>` → its schema, minus the client-only settings.
fn server_settings() -> Map<String, Value> {
    properties(&package_json())
        .iter()
        .filter_map(|(key, schema)| {
            let path = key.strip_prefix("promptstack.")?;
            (!CLIENT_ONLY.iter().any(|c| path.starts_with(c)))
                .then(|| (server_path(path), schema.clone()))
        })
        .collect()
}

#[test]
fn every_field_has_a_setting_and_no_setting_is_unknown() {
    let settings = server_settings();
    let in_extension: BTreeSet<&str> = settings.keys().map(String::as_str).collect();
    let in_server: BTreeSet<&str> = FIELDS.iter().map(|f| f.path).collect();
    let missing: Vec<_> = in_server.difference(&in_extension).collect();
    let unknown: Vec<_> = in_extension.difference(&in_server).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "editors/vscode/package.json drifted from config::FIELDS.\n  \
         missing in package.json: {missing:?}\n  unknown to the server: {unknown:?}"
    );
    // Every property outside `promptstack.` would be ignored by the client's settings collection.
    let stray: Vec<_> = properties(&package_json())
        .keys()
        .filter(|k| !k.starts_with("promptstack."))
        .cloned()
        .collect();
    assert!(
        stray.is_empty(),
        "settings outside promptstack.*: {stray:?}"
    );
}

#[test]
fn kinds_choices_ranges_and_defaults_match() {
    let settings = server_settings();
    let mut problems = Vec::new();
    for field in FIELDS {
        let Some(schema) = settings.get(field.path) else {
            continue; // reported by the test above
        };
        // An object setting that may be unset is `["object", "null"]`.
        let ty = match schema.get("type") {
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or(""),
            other => other.and_then(Value::as_str).unwrap_or(""),
        };
        let expected_type = match field.kind {
            FieldKind::Integer { .. } => "integer",
            FieldKind::Bool => "boolean",
            FieldKind::List | FieldKind::Sources => "array",
            FieldKind::McpServer => "object",
            _ => "string",
        };
        if ty != expected_type {
            problems.push(format!(
                "{}: type {ty:?}, expected {expected_type:?}",
                field.path
            ));
        }
        match field.kind {
            FieldKind::Choice(allowed) => {
                let got: Vec<&str> = schema
                    .get("enum")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if got != allowed {
                    problems.push(format!(
                        "{}: enum {got:?}, server allows {allowed:?}",
                        field.path
                    ));
                }
            }
            FieldKind::Integer { min, max } => {
                let bounds = (
                    schema.get("minimum").and_then(Value::as_i64),
                    schema.get("maximum").and_then(Value::as_i64),
                );
                if bounds != (Some(min), Some(max)) {
                    problems.push(format!(
                        "{}: minimum/maximum {bounds:?}, server allows {min}..={max}",
                        field.path
                    ));
                }
            }
            FieldKind::List
                if schema.pointer("/items/type").and_then(Value::as_str) != Some("string") =>
            {
                problems.push(format!("{}: items must be strings", field.path));
            }
            _ => {}
        }
        // Text-like fields without a server default use "" (= not set; the client omits it).
        let expected_default = match field.default {
            FieldDefault::None if matches!(field.kind, FieldKind::McpServer) => Value::Null,
            FieldDefault::None => json!(""),
            FieldDefault::Str(s) => json!(s),
            FieldDefault::Int(n) => json!(n),
            FieldDefault::Bool(b) => json!(b),
            FieldDefault::List(items) => json!(items),
        };
        if schema.get("default") != Some(&expected_default) {
            problems.push(format!(
                "{}: default {:?}, server default {expected_default}",
                field.path,
                schema.get("default")
            ));
        }
        let described = schema
            .get("markdownDescription")
            .or_else(|| schema.get("description"))
            .and_then(Value::as_str)
            .is_some_and(|d| !d.trim().is_empty());
        if !described {
            problems.push(format!("{}: no description", field.path));
        }
    }
    assert!(
        problems.is_empty(),
        "package.json settings drifted:\n  {}",
        problems.join("\n  ")
    );
}

/// The nested object the extension sends (every setting at a non-empty default) is accepted by
/// the server's settings parser without a single error.
#[test]
fn the_server_accepts_every_default_the_extension_can_send() {
    let settings = server_settings();
    let mut editor = Map::new();
    for (path, schema) in &settings {
        let Some(default) = schema.get("default") else {
            continue;
        };
        // The client never sends empty strings (they mean "not set").
        if default.as_str().is_some_and(str::is_empty) {
            continue;
        }
        let (section, key) = path.split_once('.').expect("settings are section.key");
        editor
            .entry(section.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("section object")
            .insert(key.to_string(), default.clone());
    }
    assert!(!editor.is_empty(), "no defaults found in package.json");
    let layers = Layers {
        editor: Some(Value::Object(editor)),
        ..Layers::default()
    };
    let (_, errors) = config::resolve(&layers, None);
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        errors.is_empty(),
        "the server refused the extension's defaults: {errors:#?}"
    );

    // And every enum value of every choice setting.
    for (path, schema) in &settings {
        let Some(choices) = schema.get("enum").and_then(Value::as_array) else {
            continue;
        };
        let (section, key) = path.split_once('.').expect("section.key");
        for choice in choices {
            let layers = Layers {
                editor: Some(json!({ section: { key: choice } })),
                ..Layers::default()
            };
            let (_, errors) = config::resolve(&layers, None);
            assert!(errors.is_empty(), "{path} = {choice} refused: {errors:?}");
        }
    }
}

/// The Settings UI shows a title made from the key, in the given order, with a line per choice:
/// keys are camelCase ("Anthropic Base Url", not "Anthropic_base_url"), every setting has an
/// `order`, every choice an `enumDescriptions` entry.
#[test]
fn the_settings_ui_reads_well() {
    let mut problems = Vec::new();
    for (key, schema) in properties(&package_json()) {
        if key.contains('_') {
            problems.push(format!("{key}: snake_case key shows as a raw title"));
        }
        if schema.get("order").and_then(Value::as_u64).is_none() {
            problems.push(format!("{key}: no order"));
        }
        if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
            let described = schema
                .get("enumDescriptions")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if described != choices.len() {
                problems.push(format!(
                    "{key}: {described} enumDescriptions for {} choices",
                    choices.len()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The walkthrough's links run commands the extension contributes, its media and the icon are
/// files that ship in the package (`.vscodeignore` keeps `media/`).
#[test]
fn walkthrough_links_and_icon_point_at_real_things() {
    let pkg = package_json();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("editors/vscode");
    let commands: BTreeSet<String> = pkg
        .pointer("/contributes/commands")
        .and_then(Value::as_array)
        .expect("contributes.commands")
        .iter()
        .filter_map(|c| c["command"].as_str().map(str::to_string))
        .collect();
    let steps = pkg
        .pointer("/contributes/walkthroughs/0/steps")
        .and_then(Value::as_array)
        .expect("a walkthrough");
    assert!(
        steps.len() >= 5,
        "install, composition, library, history, AI"
    );
    for step in steps {
        let description = step["description"].as_str().unwrap_or_default();
        let links: Vec<&str> = description
            .split("(command:")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
            .collect();
        assert!(!links.is_empty(), "step {} has no action", step["id"]);
        for command in links {
            assert!(
                commands.contains(command),
                "{command} is not a contributed command"
            );
        }
        let media = step
            .pointer("/media/markdown")
            .and_then(Value::as_str)
            .expect("media");
        assert!(root.join(media).is_file(), "{media} is missing");
    }
    let icon = root.join(pkg["icon"].as_str().expect("icon"));
    let bytes = std::fs::read(&icon).expect("the icon file");
    assert!(
        bytes.starts_with(b"\x89PNG"),
        "{} is not a PNG",
        icon.display()
    );
    let ignore = std::fs::read_to_string(root.join(".vscodeignore")).expect(".vscodeignore");
    assert!(
        ignore.lines().any(|l| l == "!media/**"),
        "media/ is left out of the package"
    );
}
