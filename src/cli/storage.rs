//! `promptstack storage copy`: moves this history between backends (SQLite, PostgreSQL, graph) —
//! compositions, versions, tags, prompt uses and placeholder values — idempotently, and prints
//! the counts on both sides.
// stdout is this command's output (the protocol owns stdout only under `lsp`).
#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Loaded, Secret};
use crate::history::copy;
use crate::history::graph::GraphSettings;
use crate::history::postgres::ConnectSettings;
use crate::history::{
    CompositionRepository, GraphRepository, HistoryStats, Identity, PostgresRepository,
    SqliteRepository,
};

#[derive(Debug, clap::Args)]
pub struct StorageArgs {
    #[command(subcommand)]
    command: StorageCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
    Graph,
}

#[derive(Debug, clap::Subcommand)]
enum StorageCommand {
    /// Copy this history into another backend (running it again copies nothing twice).
    Copy {
        /// Where to copy from (default: SQLite, or PostgreSQL when copying to SQLite).
        #[arg(long, value_enum)]
        from: Option<Backend>,
        /// Where to copy to.
        #[arg(long, value_enum)]
        to: Backend,
        /// PostgreSQL URL or FalkorDB address of the networked side (default:
        /// `storage.postgres_url` / `storage.graph_url`).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

pub fn run(args: StorageArgs, loaded: &Loaded) -> anyhow::Result<ExitCode> {
    let StorageCommand::Copy { from, to, url } = args.command;
    let from = from.unwrap_or(match to {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres | Backend::Graph => Backend::Sqlite,
    });
    anyhow::ensure!(from != to, "--from and --to are the same backend");
    anyhow::ensure!(
        url.is_none() || from == Backend::Sqlite || to == Backend::Sqlite,
        "--url names one server: copy between a networked backend and sqlite"
    );
    let source = open(loaded, from, url.as_deref())?;
    let target = open(loaded, to, url.as_deref())?;
    eprintln!("Copying {} to {}", source.1, target.1);
    let report = copy::copy(
        source.0.as_ref(),
        target.0.as_ref(),
        &mut super::history::progress_bar("Copying history"),
    )?;
    let i = report.imported;
    println!(
        "Copied {} compositions: {} added, {} updated, {} versions, {} prompt uses and {} placeholder values added.",
        report.compositions_read,
        i.compositions_added,
        i.compositions_updated,
        i.versions_added,
        i.prompt_uses_added,
        report.placeholder_values_added
    );
    println!(
        "{:<10} {:>12} {:>9} {:>5} {:>11} {:>18}",
        "", "compositions", "versions", "tags", "prompt uses", "placeholder values"
    );
    for (name, stats) in [(&source.1, &report.source), (&target.1, &report.target)] {
        println!("{}", counts_line(name, stats));
    }
    Ok(ExitCode::SUCCESS)
}

fn counts_line(name: &str, s: &HistoryStats) -> String {
    let label = name.split_whitespace().next().unwrap_or(name);
    let everyone = s
        .everyone
        .map(|n| format!("  ({n} compositions by everyone)"))
        .unwrap_or_default();
    format!(
        "{label:<10} {:>12} {:>9} {:>5} {:>11} {:>18}{everyone}",
        s.compositions, s.versions, s.tags, s.prompt_uses, s.placeholder_values
    )
}

/// A repository of `backend` for this history, and how to name it to the user.
fn open(
    loaded: &Loaded,
    backend: Backend,
    url: Option<&str>,
) -> anyhow::Result<(Arc<dyn CompositionRepository>, String)> {
    let config = loaded.config();
    let paths = loaded.data_paths();
    Ok(match backend {
        Backend::Sqlite => {
            let repo = SqliteRepository::open(&paths.database_path, Default::default())?
                .with_author(config.author());
            (
                Arc::new(repo),
                format!("sqlite ({})", paths.database_path.display()),
            )
        }
        Backend::Postgres => {
            let settings = match url {
                Some(url) => ConnectSettings::from_url(
                    &Secret::new(url),
                    1,
                    Duration::from_secs(config.postgres_connect_timeout_secs.max(1)),
                )?,
                None => ConnectSettings::from_config(config)?,
            };
            let name = format!("postgres ({})", settings.masked_url);
            let identity = Identity::load(&paths.history_dir, config)?;
            (Arc::new(PostgresRepository::new(settings, identity)), name)
        }
        Backend::Graph => {
            let settings = match url {
                Some(url) => GraphSettings::from_url(
                    &Secret::new(url),
                    &config.graph_name,
                    Duration::from_secs(config.postgres_connect_timeout_secs.max(1)),
                )?,
                None => GraphSettings::from_config(config)?,
            };
            let name = format!("graph ({} {})", settings.masked_url, settings.graph_name);
            let identity = Identity::load(&paths.history_dir, config)?;
            (Arc::new(GraphRepository::new(settings, identity)), name)
        }
    })
}
