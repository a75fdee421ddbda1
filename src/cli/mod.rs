//! The command line: one file per subcommand. Exit codes: 0 ok, 1 problems found (e.g. validation
//! errors), 2 bad usage or a failure to run.
// The command line is where output to stdout belongs.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Loaded;
use crate::home::Home;

mod ai_cmd;
mod config_cmd;
mod history;
mod init;
mod library;
mod lsp;
mod mcp;
mod migrate;
mod publish;
mod render;
mod review;
mod storage;
mod validate;

const EXAMPLES: &str = "\
Examples:
  promptstack init --defaults         set up ~/.promptstack with the starter library
  promptstack lsp                     run the language server over stdio (editors start this)
  promptstack mcp                     serve the library to AI agents over MCP (stdio)
  promptstack mcp --http 127.0.0.1:8765   the same over streamable HTTP
  promptstack validate                check the library; exit 1 on errors
  promptstack validate --format json prompts/
  promptstack library search revew   search the library (typos are fine)
  promptstack config                  show the effective configuration and where each value comes from
  promptstack config check            exit non-zero if the configuration is invalid
  promptstack history search \"code review\"  full-text search over saved compositions
  promptstack history cleanup --older-than 90   show what would go; add --yes to delete
  promptstack history related 2026-11-26_13-02-06   compositions sharing its prompts, tags or workspace
  promptstack migrate status          history database schema version
  promptstack storage copy --to postgres   copy this history into the team database
  promptstack storage copy --to graph      copy this history into the FalkorDB graph
  promptstack library sync            fetch the git prompt sources now
  promptstack publish --to skills .github/skills   write the library as Agent Skills
  promptstack render .claude/commands/fix.md --set ARGUMENTS=\"issue 12\"   fill a prompt's placeholders
  promptstack review draft.prompt.md  print AI suggestions for a composition
  promptstack ai stats                counts, errors, latencies and tokens of AI calls";

#[derive(Debug, Parser)]
#[command(name = "promptstack", version, about = "A language server and CLI for AI prompt libraries and compositions", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the language server over stdio.
    Lsp(lsp::LspArgs),
    /// Serve the library and history to AI agents over MCP (stdio, or --http ADDR).
    Mcp(mcp::McpArgs),
    /// First-run setup: home layout, config.yaml and the starter library.
    Init(init::InitArgs),
    /// Validate library prompt files and report errors and warnings.
    Validate(validate::ValidateArgs),
    /// List, search, reindex or count the prompt library.
    Library(library::LibraryArgs),
    /// Show the effective configuration, or check it.
    Config(config_cmd::ConfigArgs),
    /// Browse, search and clean up composition history.
    History(history::HistoryArgs),
    /// Show, apply or roll back history database migrations.
    Migrate(migrate::MigrateArgs),
    /// Move the history between storage backends (`storage copy --to postgres`).
    Storage(storage::StorageArgs),
    /// Write library prompts into another tool's folder (skills, commands, prompt files, rules).
    Publish(publish::PublishArgs),
    /// Print a prompt or agent file with its placeholders (every dialect) filled.
    Render(render::RenderArgs),
    /// Review a composition with the configured AI provider and print the suggestions.
    Review(review::ReviewArgs),
    /// AI provider statistics.
    Ai(ai_cmd::AiArgs),
}

/// Entry point for the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!("error: {}", crate::logging::secrets::redact(&message));
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    if !matches!(command, Command::Lsp(_) | Command::Mcp(_)) {
        restore_default_sigpipe();
        // The server sets up its own logging from the config; a one-shot command logs warnings,
        // and whatever PROMPTSTACK_LOG asks for, to stderr (stdout is its output).
        crate::logging::init("warn", None);
    }
    let home = Home::from_env()?;
    match command {
        Command::Lsp(args) => lsp::run(args, home),
        Command::Mcp(args) => mcp::run(args, &prepare(home)?),
        Command::Init(args) => init::run(args, home),
        Command::Validate(args) => validate::run(args, &prepare(home)?),
        Command::Library(args) => library::run(args, &prepare(home)?),
        Command::Config(args) => config_cmd::run(args, home),
        Command::History(args) => history::run(args, &prepare(home)?),
        Command::Migrate(args) => migrate::run(args, &prepare(home)?),
        Command::Storage(args) => storage::run(args, &prepare(home)?),
        Command::Publish(args) => publish::run(args, &prepare(home)?),
        Command::Render(args) => render::run(args),
        Command::Review(args) => review::run(args, &prepare(home)?),
        Command::Ai(args) => ai_cmd::run(args, &prepare(home)?),
    }
}

/// Rust ignores SIGPIPE, which turns `promptstack history list | head` into a panic on the
/// next print; a CLI should end quietly like other Unix tools instead.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal disposition to its default before any threads start.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Loads the configuration for a subcommand, reports config problems on stderr, and writes the
/// starter library on first run. Subcommands other than `lsp`, `init` and `config` start here.
pub(crate) fn prepare(home: Home) -> anyhow::Result<Loaded> {
    let loaded = Loaded::load(home);
    for error in &loaded.errors {
        eprintln!("warning: config: {error}");
    }
    if let Some(note) = loaded.migration_note() {
        eprintln!("note: {note}");
    }
    crate::library::starter::install(&loaded.data_paths().library_dir)?;
    Ok(loaded)
}
