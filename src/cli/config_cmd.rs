//! `promptstack config [check]`: the effective configuration and where each value comes from.

use std::process::ExitCode;

use crate::config::Loaded;
use crate::home::Home;

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    action: Option<ConfigAction>,
}

#[derive(Debug, clap::Subcommand)]
enum ConfigAction {
    /// Exit 1 with the problems if the configuration is invalid, 0 if it is fine.
    Check,
    /// Print the path of the config file.
    Path,
}

pub fn run(args: ConfigArgs, home: Home) -> anyhow::Result<ExitCode> {
    let loaded = Loaded::load(home);
    if let Some(note) = loaded.migration_note() {
        eprintln!("note: {note}");
    }
    match args.action {
        Some(ConfigAction::Path) => {
            println!("{}", loaded.home.config_file().display());
            Ok(ExitCode::SUCCESS)
        }
        Some(ConfigAction::Check) => {
            if loaded.errors.is_empty() {
                println!(
                    "{}: configuration is valid",
                    loaded.home.config_file().display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            for error in &loaded.errors {
                eprintln!("error: {error}");
            }
            eprintln!("{} problem(s) in the configuration", loaded.errors.len());
            Ok(ExitCode::from(1))
        }
        None => {
            for error in &loaded.errors {
                eprintln!("warning: {error}");
            }
            println!("# config file: {}", loaded.home.config_file().display());
            let rows = loaded.resolved.rows();
            let width = rows
                .iter()
                .map(|(field, _, _)| field.len())
                .max()
                .unwrap_or(0);
            for (field, value, source) in rows {
                println!("{field:width$}  {value}  ({source})");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
