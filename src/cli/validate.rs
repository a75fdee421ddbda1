//! `promptstack validate [PATH...]`: check library prompt files and agent files (skills,
//! commands, prompt files, rules), each by its format's rules.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Loaded;
use crate::library::validation::{self, Severity};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Files or directories to check (default: the configured library).
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(args: ValidateArgs, loaded: &Loaded) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        vec![loaded.data_paths().library_dir]
    } else {
        args.paths
    };
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        anyhow::bail!("{} does not exist", missing.display());
    }
    let follow = loaded.config().follow_external_symlinks;
    // The library folder (named or by default) holds library prompts only; other paths are
    // checked by each file's format.
    let library = loaded.data_paths().library_dir;
    let same = |p: &PathBuf| std::fs::canonicalize(p).ok() == std::fs::canonicalize(&library).ok();
    let mut report = validation::Report::default();
    for path in &paths {
        report.extend(if same(path) {
            validation::validate_library(path, follow)
        } else {
            validation::validate_paths(std::slice::from_ref(path), follow)
        });
    }
    match args.format {
        Format::Json => {
            let mut value = serde_json::to_value(&report)?;
            value["summary"] = serde_json::json!(report.summary());
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Format::Text => print_text(&report),
    }
    Ok(if report.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_text(report: &validation::Report) {
    for (severity, heading) in [
        (Severity::Error, "Errors"),
        (Severity::Warning, "Warnings"),
        (Severity::Hint, "Hints"),
    ] {
        let lines: Vec<String> = report
            .files
            .iter()
            .flat_map(|file| {
                file.findings
                    .iter()
                    .filter(move |f| f.severity == severity)
                    .map(move |f| {
                        format!(
                            "  {}:{}: {} [{}, {}]",
                            file.path.display(),
                            f.line,
                            f.message,
                            f.code,
                            file.format
                        )
                    })
            })
            .collect();
        if !lines.is_empty() {
            println!("{heading}:");
            for line in lines {
                println!("{line}");
            }
        }
    }
    let formats = report.by_format();
    if formats.len() > 1
        || formats
            .first()
            .is_some_and(|(f, ..)| *f != validation::PROMPTSTACK_FORMAT)
    {
        println!("By format:");
        for (format, files, errors, warnings) in formats {
            println!("  {format}: {files} files, {errors} errors, {warnings} warnings");
        }
    }
    println!("{}", report.summary());
}
