//! `promptstack migrate status|up|down [--to N]`: the history database schema of the configured
//! backend (SQLite file, PostgreSQL database or FalkorDB graph).
// stdout is this command's output (the protocol owns stdout only under `lsp`).
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use crate::config::Loaded;
use crate::history::graph::GraphSettings;
use crate::history::migrations::{self, MigrationStatus};
use crate::history::postgres::ConnectSettings;
use crate::history::{HistoryError, check_backend};

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
    /// Roll back migrations above --to N (default: the last one). Nothing is lost: what the
    /// history files cannot restore is kept aside and brought back by `migrate up`.
    Down {
        #[arg(long, value_name = "N")]
        to: Option<u32>,
    },
}

/// One backend's schema, as the command sees it.
trait Schema {
    fn describe(&self) -> String;
    fn latest(&self) -> u32;
    fn current(&mut self) -> Result<u32, HistoryError>;
    fn status(&mut self) -> Result<Vec<MigrationStatus>, HistoryError>;
    fn up(&mut self, to: Option<u32>) -> Result<Vec<u32>, HistoryError>;
    fn down(&mut self, to: u32) -> Result<Vec<u32>, HistoryError>;
    fn kept(&mut self) -> Result<Vec<(String, u64)>, HistoryError>;
}

struct SqliteSchema {
    path: std::path::PathBuf,
    conn: rusqlite::Connection,
}

impl Schema for SqliteSchema {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }
    fn latest(&self) -> u32 {
        migrations::sqlite::latest_version()
    }
    fn current(&mut self) -> Result<u32, HistoryError> {
        migrations::sqlite::refuse_newer(&self.conn)
    }
    fn status(&mut self) -> Result<Vec<MigrationStatus>, HistoryError> {
        migrations::sqlite::status(&self.conn)
    }
    fn up(&mut self, to: Option<u32>) -> Result<Vec<u32>, HistoryError> {
        migrations::sqlite::migrate_up(&mut self.conn, to)
    }
    fn down(&mut self, to: u32) -> Result<Vec<u32>, HistoryError> {
        migrations::sqlite::migrate_down(&mut self.conn, to)
    }
    fn kept(&mut self) -> Result<Vec<(String, u64)>, HistoryError> {
        migrations::sqlite::kept_rows(&self.conn)
    }
}

struct PostgresSchema {
    url: String,
    client: postgres::Client,
}

impl Schema for PostgresSchema {
    fn describe(&self) -> String {
        self.url.clone()
    }
    fn latest(&self) -> u32 {
        migrations::postgres::latest_version()
    }
    fn current(&mut self) -> Result<u32, HistoryError> {
        migrations::postgres::refuse_newer(&mut self.client)
    }
    fn status(&mut self) -> Result<Vec<MigrationStatus>, HistoryError> {
        migrations::postgres::status(&mut self.client)
    }
    fn up(&mut self, to: Option<u32>) -> Result<Vec<u32>, HistoryError> {
        migrations::postgres::migrate_up(&mut self.client, to)
    }
    fn down(&mut self, to: u32) -> Result<Vec<u32>, HistoryError> {
        migrations::postgres::migrate_down(&mut self.client, to)
    }
    fn kept(&mut self) -> Result<Vec<(String, u64)>, HistoryError> {
        migrations::postgres::kept_rows(&mut self.client)
    }
}

struct GraphSchema {
    settings: GraphSettings,
    client: falkordb::FalkorSyncClient,
}

impl Schema for GraphSchema {
    fn describe(&self) -> String {
        format!(
            "{} graph {}",
            self.settings.masked_url, self.settings.graph_name
        )
    }
    fn latest(&self) -> u32 {
        migrations::graph::latest_version()
    }
    fn current(&mut self) -> Result<u32, HistoryError> {
        migrations::graph::refuse_newer(&self.settings, &self.client)
    }
    fn status(&mut self) -> Result<Vec<MigrationStatus>, HistoryError> {
        migrations::graph::status(&self.settings, &self.client)
    }
    fn up(&mut self, to: Option<u32>) -> Result<Vec<u32>, HistoryError> {
        migrations::graph::migrate_up(&self.settings, &self.client, to)
    }
    fn down(&mut self, to: u32) -> Result<Vec<u32>, HistoryError> {
        migrations::graph::migrate_down(&self.settings, &self.client, to)
    }
    fn kept(&mut self) -> Result<Vec<(String, u64)>, HistoryError> {
        // A graph step only adds or drops indexes: nothing is ever kept aside.
        Ok(Vec::new())
    }
}

fn open(loaded: &Loaded) -> anyhow::Result<Box<dyn Schema>> {
    let config = loaded.config();
    check_backend(config)?;
    Ok(match config.storage.as_str() {
        "postgres" => {
            let settings = ConnectSettings::from_config(config)?;
            Box::new(PostgresSchema {
                url: settings.masked_url.clone(),
                client: settings.connect()?,
            })
        }
        "graph" => {
            let settings = GraphSettings::from_config(config)?;
            Box::new(GraphSchema {
                client: settings.connect()?,
                settings,
            })
        }
        _ => {
            let path = loaded.data_paths().database_path;
            Box::new(SqliteSchema {
                conn: migrations::sqlite::open_for_migration(&path)?,
                path,
            })
        }
    })
}

pub fn run(args: MigrateArgs, loaded: &Loaded) -> anyhow::Result<ExitCode> {
    let mut schema = open(loaded)?;
    match args.command {
        MigrateCommand::Status => {
            let current = schema.current()?;
            println!(
                "{}: schema version {current} of {}",
                schema.describe(),
                schema.latest()
            );
            for m in schema.status()? {
                let state = m.applied_at.map_or("pending".to_string(), |at| {
                    let format =
                        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
                    format!("applied {}", at.format(format).unwrap_or_default())
                });
                println!("  {:04} {:<16} {state}", m.version, m.name);
            }
            print_kept(schema.as_mut())?;
        }
        MigrateCommand::Up { to } => {
            let applied = schema.up(to)?;
            if applied.is_empty() {
                println!("Already up to date.");
            }
            for version in applied {
                println!("Applied {version:04}.");
            }
        }
        MigrateCommand::Down { to } => {
            let current = schema.current()?;
            let to = to.unwrap_or(current.saturating_sub(1));
            anyhow::ensure!(
                to <= current,
                "cannot roll back to {to}: the schema is at version {current}"
            );
            let undone = schema.down(to)?;
            if undone.is_empty() {
                println!("Nothing to roll back.");
            }
            for version in undone {
                println!("Rolled back {version:04}.");
            }
            if print_kept(schema.as_mut())? {
                println!(
                    "Nothing was deleted: `promptstack migrate up` brings the kept rows back. The history files are untouched."
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists the rows kept aside by down-migrations; whether there were any.
fn print_kept(schema: &mut dyn Schema) -> anyhow::Result<bool> {
    let kept: Vec<(String, u64)> = schema.kept()?;
    if kept.is_empty() {
        return Ok(false);
    }
    println!("Kept aside until `migrate up`:");
    for (table, rows) in &kept {
        println!("  {table}: {rows} rows");
    }
    Ok(true)
}
