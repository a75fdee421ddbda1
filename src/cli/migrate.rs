//! `promptstack migrate status|up|down [--to N]`: the history database schema.
// stdout is this command's output (the protocol owns stdout only under `lsp`).
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use crate::config::Loaded;
use crate::history::migrations::{self, latest_version};

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    command: MigrateCommand,
}

#[derive(Debug, clap::Subcommand)]
enum MigrateCommand {
    /// List migrations and which are applied.
    Status,
    /// Apply pending migrations (up to --to N, default all).
    Up {
        #[arg(long, value_name = "N")]
        to: Option<u32>,
    },
    /// Roll back migrations above --to N (default: the last one). History files are untouched.
    Down {
        #[arg(long, value_name = "N")]
        to: Option<u32>,
    },
}

pub fn run(args: MigrateArgs, loaded: &Loaded) -> anyhow::Result<ExitCode> {
    let backend = loaded.config().storage.as_str();
    anyhow::ensure!(
        backend == "sqlite",
        "migrations for storage backend `{backend}` are not supported yet"
    );
    let path = loaded.data_paths().database_path;
    let mut conn = migrations::open_for_migration(&path)?;
    match args.command {
        MigrateCommand::Status => {
            let current = migrations::refuse_newer(&conn)?;
            println!(
                "{}: schema version {current} of {}",
                path.display(),
                latest_version()
            );
            for m in migrations::status(&conn)? {
                let state = m.applied_at.map_or("pending".to_string(), |at| {
                    let format =
                        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
                    format!("applied {}", at.format(format).unwrap_or_default())
                });
                println!("  {:04} {:<16} {state}", m.version, m.name);
            }
        }
        MigrateCommand::Up { to } => {
            let applied = migrations::migrate_up(&mut conn, to)?;
            if applied.is_empty() {
                println!("Already up to date.");
            }
            for version in applied {
                println!("Applied {version:04}.");
            }
        }
        MigrateCommand::Down { to } => {
            let current = migrations::refuse_newer(&conn)?;
            let to = to.unwrap_or(current.saturating_sub(1));
            anyhow::ensure!(
                to <= current,
                "cannot roll back to {to}: the schema is at version {current}"
            );
            let undone = migrations::migrate_down(&mut conn, to)?;
            if undone.is_empty() {
                println!("Nothing to roll back.");
            }
            for version in undone {
                println!("Rolled back {version:04}.");
            }
            println!(
                "The history files are untouched; `promptstack migrate up` and `promptstack history rebuild` restore the index."
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
