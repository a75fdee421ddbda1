//! The Helix setup (editors/helix/languages.toml) and the Helix snippets in the docs: they parse,
//! start the right command, keep Helix's default Markdown servers, and their `config` is accepted
//! by the server's settings resolution (the same path initializationOptions take).

mod support;

use std::path::Path;

use promptstack::config::{Layers, Source, resolve};
use serde_json::{Value, json};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn parse(text: &str, what: &str) -> toml::Table {
    text.parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{what} is not valid TOML: {e}\n{text}"))
}

/// Resolves editor settings the way the server does and returns the errors as strings.
fn settings_errors(settings: Value) -> (promptstack::config::Resolved, Vec<String>) {
    let layers = Layers {
        editor: Some(settings),
        ..Default::default()
    };
    let (resolved, errors) = resolve(&layers, None);
    (resolved, errors.iter().map(ToString::to_string).collect())
}

fn promptstack_server(table: &toml::Table) -> &toml::Table {
    table
        .get("language-server")
        .and_then(|v| v.get("promptstack"))
        .and_then(|v| v.as_table())
        .expect("[language-server.promptstack]")
}

fn config_json(server: &toml::Table) -> Value {
    let config = server
        .get("config")
        .expect("[language-server.promptstack.config]");
    serde_json::to_value(config).expect("config as JSON")
}

#[test]
fn languages_toml_starts_promptstack_lsp() {
    let table = parse(&read("editors/helix/languages.toml"), "languages.toml");
    let server = promptstack_server(&table);
    assert_eq!(
        server.get("command").and_then(|v| v.as_str()),
        Some("promptstack")
    );
    let args: Vec<&str> = server
        .get("args")
        .and_then(|v| v.as_array())
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg"))
        .collect();
    assert_eq!(args, ["lsp"]);
}

#[test]
fn languages_toml_lists_promptstack_beside_the_default_markdown_servers() {
    let table = parse(&read("editors/helix/languages.toml"), "languages.toml");
    let languages = table
        .get("language")
        .and_then(|v| v.as_array())
        .expect("[[language]] entries");
    let markdown: Vec<_> = languages
        .iter()
        .filter(|l| l.get("name").and_then(|n| n.as_str()) == Some("markdown"))
        .collect();
    assert_eq!(markdown.len(), 1, "exactly one markdown entry");
    let servers: Vec<&str> = markdown[0]
        .get("language-servers")
        .and_then(|v| v.as_array())
        .expect("language-servers")
        .iter()
        .map(|s| s.as_str().expect("server name"))
        .collect();
    // Helix's defaults for Markdown, kept because the list replaces them.
    assert_eq!(servers, ["marksman", "markdown-oxide", "promptstack"]);
}

#[test]
fn languages_toml_config_is_accepted_by_the_server_settings() {
    let table = parse(&read("editors/helix/languages.toml"), "languages.toml");
    let config = config_json(promptstack_server(&table));
    assert!(
        config.as_object().is_some_and(|o| !o.is_empty()),
        "config should show at least one setting: {config}"
    );
    let (resolved, errors) = settings_errors(config.clone());
    assert!(errors.is_empty(), "{config} was refused: {errors:?}");
    // The setting took effect as an editor setting (not silently ignored).
    let (value, source) = resolved
        .values
        .get("compositions.globs")
        .expect("compositions.globs resolved");
    assert_eq!(*source, Source::Editor);
    // The server's default globs: a list in `config` replaces them, so it repeats them all.
    assert_eq!(
        *value,
        json!([
            "**/*.composition.md",
            "**/*.prompt.md",
            "!**/.github/prompts/**"
        ])
    );
}

#[test]
fn commented_examples_in_languages_toml_are_valid_settings() {
    let text = read("editors/helix/languages.toml");
    // `# key = { ... }` lines right under [language-server.promptstack.config].
    let section = text
        .split("[language-server.promptstack.config]")
        .nth(1)
        .expect("config section");
    let examples: Vec<&str> = section
        .lines()
        .skip(1) // the rest of the header line
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.contains(" = "))
        .collect();
    assert!(
        examples.len() >= 2,
        "expected commented examples, got {examples:?}"
    );
    for example in examples {
        let settings = serde_json::to_value(parse(example, example)).expect("JSON");
        let (_, errors) = settings_errors(settings);
        assert!(errors.is_empty(), "`{example}` was refused: {errors:?}");
    }
}

#[test]
fn a_bad_value_in_the_config_is_refused() {
    // The check above can fail: the same path reports a wrong value and an unknown key.
    let bad = parse(
        "ai = { provider = \"nope\" }\ncompositoins = { globs = [\"*.md\"] }\n",
        "bad config",
    );
    let (_, errors) = settings_errors(serde_json::to_value(bad).expect("JSON"));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("ai.provider") && e.contains("nope")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("compositoins")),
        "{errors:?}"
    );
}

/// Every ```toml block in the Helix docs that configures promptstack is valid too.
#[test]
fn helix_snippets_in_the_docs_are_valid() {
    let mut checked = 0;
    for doc in ["editors/helix/README.md", "docs/editors.md"] {
        let text = read(doc);
        for block in text.split("```toml").skip(1) {
            let block = block.split("```").next().expect("closing fence");
            let table = parse(block, &format!("a toml block in {doc}"));
            if let Some(server) = table
                .get("language-server")
                .and_then(|v| v.get("promptstack"))
                .and_then(|v| v.as_table())
            {
                if server.contains_key("command") {
                    assert_eq!(
                        server.get("command").and_then(|v| v.as_str()),
                        Some("promptstack"),
                        "{doc}"
                    );
                }
                if let Some(config) = server.get("config") {
                    let json = serde_json::to_value(config).expect("JSON");
                    let (_, errors) = settings_errors(json.clone());
                    assert!(errors.is_empty(), "{doc}: {json} was refused: {errors:?}");
                    checked += 1;
                }
            }
            if let Some(languages) = table.get("language").and_then(|v| v.as_array()) {
                for language in languages {
                    let servers = language
                        .get("language-servers")
                        .and_then(|v| v.as_array())
                        .expect("language-servers");
                    assert!(
                        servers.iter().any(|s| s.as_str() == Some("promptstack")),
                        "{doc}: a [[language]] entry without promptstack"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 3,
        "too few Helix snippets found in the docs ({checked})"
    );
}

/// Helix logs a server's stderr as [ERROR]: the shipped config keeps the server to warnings,
/// and with it a normal start and a command write no INFO line (at the default level they do).
#[test]
fn languages_toml_keeps_info_lines_out_of_helix_s_error_log() {
    let table = parse(&read("editors/helix/languages.toml"), "languages.toml");
    let level = promptstack_server(&table)
        .get("environment")
        .and_then(|e| e.get("PROMPTSTACK_LOG"))
        .and_then(|v| v.as_str())
        .expect("environment.PROMPTSTACK_LOG")
        .to_string();
    let stderr_with = |log: &str| {
        let sandbox = support::Sandbox::new();
        let mut client = support::Client::start(&sandbox, &[("PROMPTSTACK_LOG", log)]);
        client.initialize(Value::Null, true);
        client
            .request(
                "workspace/executeCommand",
                json!({"command": "promptstack.validateLibrary", "arguments": []}),
            )
            .expect("validateLibrary");
        let stderr = client.stderr.clone();
        client.shutdown();
        stderr.lock().expect("stderr").clone()
    };
    let shipped = stderr_with(&level);
    assert!(
        !shipped.contains(" INFO "),
        "INFO lines with PROMPTSTACK_LOG={level}:\n{shipped}"
    );
    let default = stderr_with("info");
    assert!(
        default.contains(" INFO "),
        "the check cannot fail: no INFO line at info level either"
    );
}
