//! `promptstack publish --to FORMAT DIR`: writes library prompts in the shape another tool
//! reads. Exit codes: 0 done (or, with `--check`, DIR is current), 1 DIR is out of date
//! (`--check`), 2 a failure.
#![allow(clippy::print_stdout)] // stdout is the output of a CLI command

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Loaded;
use crate::formats::publish::Target;
use crate::library::publish::{self, Filter, Mode, PublishReport};

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The shape to write: skills, claude-commands, vscode-prompts or cursor-rules.
    #[arg(long = "to", value_parser = parse_target)]
    target: Target,
    /// The folder the tool reads (`.github/skills`, `.claude/commands`, `.github/prompts`,
    /// `.cursor/rules`); created when missing.
    dir: PathBuf,
    /// Show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write nothing; exit 1 when DIR is out of date (for CI).
    #[arg(long, conflicts_with = "dry_run")]
    check: bool,
    /// Only prompts of this category (repeatable).
    #[arg(long = "category")]
    categories: Vec<String>,
    /// Only prompts with this tag (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Only prompts of this source (`library` or a `library.sources` name; repeatable).
    #[arg(long = "source")]
    sources: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: super::validate::Format,
}

fn parse_target(name: &str) -> Result<Target, String> {
    Target::from_name(name).ok_or_else(|| format!("one of {}", Target::NAMES.join(", ")))
}

pub fn run(args: PublishArgs, loaded: &Loaded) -> anyhow::Result<ExitCode> {
    let library = super::library::open_loaded(loaded)?;
    let filter = Filter {
        categories: args.categories,
        tags: args.tags,
        sources: args.sources,
    };
    let mode = match (args.check, args.dry_run) {
        (true, _) => Mode::Check,
        (_, true) => Mode::DryRun,
        _ => Mode::Write,
    };
    let report = publish::publish(&library.all(), &filter, args.target, &args.dir, mode)?;
    match args.format {
        super::validate::Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        super::validate::Format::Text => print_text(&report),
    }
    Ok(if mode == Mode::Check && report.out_of_date() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_text(report: &PublishReport) {
    for (mark, files) in [
        ("+", &report.created),
        ("~", &report.updated),
        ("-", &report.removed),
    ] {
        for file in files {
            println!("{mark} {file}");
        }
    }
    for left in &report.left_alone {
        println!("! {} left alone: {}", left.path, left.reason);
    }
    println!("{}", report.summary());
}
