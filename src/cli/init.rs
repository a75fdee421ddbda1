//! `promptstack init`: first-run setup. Interactive when stdin is a terminal, otherwise driven
//! by flags. Writes `config.yaml` (mode 0600), the data layout and the starter library.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Map, Value, json};

use crate::config::{AI_PROVIDERS, CONFIG_VERSION, Loaded, STORAGE_BACKENDS};
use crate::home::Home;

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Accept every default without asking (AI off until a key is set, SQLite history).
    #[arg(long)]
    defaults: bool,
    /// AI provider.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(AI_PROVIDERS))]
    provider: Option<String>,
    /// Model name (default: the provider's).
    #[arg(long)]
    model: Option<String>,
    /// Base URL of an OpenAI-compatible server (Ollama, llama.cpp, vLLM).
    #[arg(long)]
    openai_base_url: Option<String>,
    /// Read the API key from standard input instead of the environment variable.
    #[arg(long)]
    api_key_stdin: bool,
    /// History storage backend.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(STORAGE_BACKENDS))]
    storage: Option<String>,
    /// PostgreSQL URL for `--storage postgres`.
    #[arg(long)]
    postgres_url: Option<String>,
    /// Replace an existing config.yaml (the old one is kept as config.yaml.bak).
    #[arg(long)]
    force: bool,
}

/// The answers that end up in config.yaml.
#[derive(Debug, Default)]
struct Answers {
    provider: Option<String>,
    model: Option<String>,
    openai_base_url: Option<String>,
    api_key: Option<String>,
    storage: Option<String>,
    postgres_url: Option<String>,
}

pub fn run(args: InitArgs, home: Home) -> anyhow::Result<ExitCode> {
    let config_path = home.config_file();
    if config_path.exists() && !args.force {
        anyhow::bail!(
            "{} already exists; edit it, or run `promptstack init --force` to replace it (a backup is kept)",
            config_path.display()
        );
    }
    let interactive = !args.defaults && std::io::stdin().is_terminal() && args.provider.is_none();
    let answers = if interactive {
        ask(&args)?
    } else {
        let api_key = if args.api_key_stdin {
            let mut key = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut key)
                .context("reading the API key from stdin")?;
            Some(key.trim().to_string()).filter(|k| !k.is_empty())
        } else {
            None
        };
        Answers {
            provider: args.provider.clone(),
            model: args.model.clone(),
            openai_base_url: args.openai_base_url.clone(),
            api_key,
            storage: args.storage.clone(),
            postgres_url: args.postgres_url.clone(),
        }
    };
    let settings = settings_from(&answers);
    refuse_unusable_backend(&settings)?;
    if config_path.exists() {
        let backup = config_path.with_extension("yaml.bak");
        std::fs::copy(&config_path, &backup)
            .with_context(|| format!("backing up {}", config_path.display()))?;
        eprintln!("kept the old config as {}", backup.display());
    }
    let yaml = crate::config::to_yaml(&settings).map_err(anyhow::Error::msg)?;
    crate::home::write_atomic_with_mode(
        &config_path,
        format!("# PromptStack configuration; see docs/configuration.md\n{yaml}").as_bytes(),
        Some(0o600),
    )
    .with_context(|| format!("writing {}", config_path.display()))?;

    // Validate what we wrote with the same code every other command uses.
    let loaded = Loaded::load(home);
    for error in &loaded.errors {
        eprintln!("warning: {error}");
    }
    let paths = loaded.data_paths();
    for dir in [&paths.data_dir, &paths.history_dir, &paths.index_dir] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let written = crate::library::starter::install(&paths.library_dir).with_context(|| {
        format!(
            "writing the starter library to {}",
            paths.library_dir.display()
        )
    })?;
    println!("Wrote {}", config_path.display());
    if written > 0 {
        println!(
            "Wrote {written} starter prompts to {}",
            paths.library_dir.display()
        );
    } else {
        println!(
            "Kept the existing library in {}",
            paths.library_dir.display()
        );
    }
    if !loaded.config().ai_configured() {
        println!(
            "AI review is off until a key or endpoint is configured: set ANTHROPIC_API_KEY (claude) or OPENAI_API_KEY / OPENAI_BASE_URL (openai)."
        );
    }
    println!("Next: point your editor at `promptstack lsp` (see docs/editors.md).");
    Ok(ExitCode::SUCCESS)
}

/// Refuses a storage backend that cannot work (not supported yet, or PostgreSQL without a
/// valid URL) before anything is written.
fn refuse_unusable_backend(settings: &Value) -> anyhow::Result<()> {
    let layers = crate::config::Layers {
        file: Some(settings.clone()),
        ..Default::default()
    };
    let (resolved, _) = crate::config::resolve(&layers, None);
    crate::history::check_backend(&resolved.config)
        .map_err(|e| anyhow::anyhow!("{e}; nothing was written"))
}

fn settings_from(answers: &Answers) -> Value {
    let mut ai = Map::new();
    let provider = answers.provider.clone().unwrap_or_else(|| "claude".into());
    if let Some(model) = &answers.model {
        ai.insert("model".into(), json!(model));
    }
    if let Some(url) = &answers.openai_base_url {
        ai.insert("openai_base_url".into(), json!(url));
    }
    if let Some(key) = &answers.api_key {
        let field = if provider == "openai" {
            "openai_api_key"
        } else {
            "claude_api_key"
        };
        ai.insert(field.into(), json!(key));
    }
    ai.insert("provider".into(), json!(provider));
    let mut storage = Map::new();
    storage.insert(
        "backend".into(),
        json!(answers.storage.clone().unwrap_or_else(|| "sqlite".into())),
    );
    if let Some(url) = &answers.postgres_url {
        storage.insert("postgres_url".into(), json!(url));
    }
    json!({ "version": CONFIG_VERSION, "ai": ai, "storage": storage })
}

/// The interactive wizard (prompts on stderr, answers from stdin).
fn ask(args: &InitArgs) -> anyhow::Result<Answers> {
    let mut input = std::io::stdin().lock();
    let mut question = |text: &str, default: &str| -> anyhow::Result<String> {
        eprint!("{text} [{default}]: ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        input.read_line(&mut line)?;
        let line = line.trim();
        Ok(if line.is_empty() {
            default.to_string()
        } else {
            line.to_string()
        })
    };
    eprintln!("PromptStack setup. Press Enter to accept the value in brackets.");
    let provider = loop {
        let p = question("AI provider (claude, openai, mcp)", "claude")?.to_ascii_lowercase();
        if AI_PROVIDERS.contains(&p.as_str()) {
            break p;
        }
        eprintln!("  please answer one of: {}", AI_PROVIDERS.join(", "));
    };
    let model = question(
        "Model (empty: the provider's default)",
        args.model.as_deref().unwrap_or(""),
    )?;
    let mut answers = Answers {
        model: Some(model).filter(|m| !m.is_empty()),
        ..Answers::default()
    };
    let env_var = match provider.as_str() {
        "openai" => {
            let url = question("OpenAI-compatible base URL", "https://api.openai.com")?;
            answers.openai_base_url = Some(url).filter(|u| u != "https://api.openai.com");
            Some("OPENAI_API_KEY")
        }
        "claude" => Some("ANTHROPIC_API_KEY"),
        _ => None,
    };
    if let Some(var) = env_var {
        let key = rpassword::prompt_password(format!(
            "API key (input hidden; press Enter to use the {var} environment variable): "
        ))?;
        answers.api_key = Some(key.trim().to_string()).filter(|k| !k.is_empty());
    }
    answers.provider = Some(provider);
    let storage = loop {
        let s = question("History storage (sqlite, postgres)", "sqlite")?.to_ascii_lowercase();
        if s == "sqlite" || s == "postgres" {
            break s;
        }
        eprintln!("  please answer sqlite or postgres");
    };
    if storage == "postgres" {
        answers.postgres_url = Some(question(
            "PostgreSQL URL",
            "postgres://localhost/promptstack",
        )?);
    }
    answers.storage = Some(storage);
    Ok(answers)
}
