//! `promptstack ai stats`: counts, errors, latencies and tokens of AI calls so far.

use std::process::ExitCode;

use super::validate::Format;
use crate::ai::{AiStats, stats_file};
use crate::config::Loaded;

#[derive(Debug, clap::Args)]
pub struct AiArgs {
    #[command(subcommand)]
    action: AiAction,
}

#[derive(Debug, clap::Subcommand)]
enum AiAction {
    /// Show the totals of AI calls made by the server and `promptstack review`.
    Stats {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

pub fn run(args: AiArgs, loaded: &Loaded) -> anyhow::Result<ExitCode> {
    let AiAction::Stats { format } = args.action;
    let file = stats_file(&loaded.data_paths().data_dir);
    let stats =
        AiStats::load(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&stats)?),
        Format::Text if stats.methods.is_empty() => println!("no AI calls yet"),
        Format::Text => {
            println!(
                "{:<8} {:>6} {:>10} {:>7} {:>8} {:>8} {:>10} {:>10}",
                "method",
                "calls",
                "cache hits",
                "errors",
                "avg ms",
                "max ms",
                "tokens in",
                "tokens out"
            );
            for (method, s) in &stats.methods {
                println!(
                    "{:<8} {:>6} {:>10} {:>7} {:>8} {:>8} {:>10} {:>10}",
                    method.as_str(),
                    s.calls,
                    s.cache_hits,
                    s.errors,
                    s.total_latency_ms.checked_div(s.calls).unwrap_or(0),
                    s.max_latency_ms,
                    s.input_tokens,
                    s.output_tokens
                );
            }
            for (method, s) in &stats.methods {
                for (kind, count) in &s.errors_by_kind {
                    println!("{} errors: {kind} × {count}", method.as_str());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
