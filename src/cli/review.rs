//! `promptstack review FILE`: review a composition with the configured AI provider and print the
//! suggestions (nothing is changed).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context as _;

use super::validate::Format;
use crate::ai::{
    AiMetrics, CandidatePrompt, ContextSelection, ReviewRequest, context_budget, create_provider,
    create_selector, stats_file,
};
use crate::config::Loaded;
use crate::document::MAX_FILE_BYTES;
use crate::home::DataPaths;
use crate::library::source::open_source;
use crate::library::usage::UsageStats;

#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// The composition to review.
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Send no library prompts as context.
    #[arg(long)]
    no_context: bool,
}

pub fn run(args: ReviewArgs, loaded: &Loaded) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    if text.len() > MAX_FILE_BYTES {
        anyhow::bail!("{} is larger than 1 MB", args.file.display());
    }
    let config = loaded.config();
    let paths = loaded.data_paths();
    let metrics = Arc::new(AiMetrics::persistent(stats_file(&paths.data_dir)));
    let provider = create_provider(config, metrics)?;
    let budget = context_budget(
        provider.model(),
        config.context_budget_percent,
        config.response_budget_percent,
        &text,
    );
    let selection = if args.no_context {
        ContextSelection::default()
    } else {
        create_selector(provider.model()).select(&text, &library_candidates(loaded, &paths), budget)
    };
    let request = ReviewRequest {
        composition: text,
        context: selection.prompts.clone(),
        fresh: true,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(provider.review(&request))?;
    match args.format {
        Format::Json => {
            let value = serde_json::json!({
                "file": args.file,
                "provider": provider.name(),
                "model": provider.model(),
                "context": request.context.iter().map(|c| &c.id).collect::<Vec<_>>(),
                "context_budget_tokens": budget,
                "shortened": selection.shortened,
                "left_out": selection.left_out,
                "suggestions": answer.value,
                "usage": {
                    "input_tokens": answer.usage.input_tokens,
                    "output_tokens": answer.usage.output_tokens,
                },
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Format::Text => {
            let file = args.file.display();
            for s in &answer.value {
                let lines = if s.start_line == s.end_line {
                    s.start_line.to_string()
                } else {
                    format!("{}-{}", s.start_line, s.end_line)
                };
                let prompt = s
                    .prompt_id
                    .as_ref()
                    .map(|p| format!(" (library prompt {p})"))
                    .unwrap_or_default();
                println!("{file}:{lines}: {}: {}{prompt}", s.kind, s.title);
                println!("    {}", s.description.replace('\n', "\n    "));
            }
            println!(
                "{} suggestion(s) from {} ({}; {} library prompt(s) as context; {} tokens in, {} out)",
                answer.value.len(),
                provider.name(),
                provider.model(),
                request.context.len(),
                answer.usage.input_tokens,
                answer.usage.output_tokens
            );
            if let Some(note) = selection.note(budget) {
                println!("note: {note}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The library's prompts as context candidates, with their usage; files that cannot be read are
/// skipped (`promptstack validate` reports them).
fn library_candidates(loaded: &Loaded, paths: &DataPaths) -> Vec<CandidatePrompt> {
    let usage = UsageStats::load(&paths.usage_file);
    open_source(loaded.config(), paths)
        .load_all()
        .prompts
        .into_iter()
        .map(|prompt| {
            let used = usage.get(&prompt.id).unwrap_or_default();
            CandidatePrompt {
                category: prompt.category.unwrap_or_default(),
                title: prompt.title,
                description: prompt.description.unwrap_or_default(),
                tags: prompt.tags,
                body: prompt.body,
                hash: prompt.hash,
                use_count: u32::try_from(used.count).unwrap_or(u32::MAX),
                last_used: u64::try_from(used.last_used)
                    .ok()
                    .filter(|secs| *secs > 0)
                    .map(|secs| UNIX_EPOCH + Duration::from_secs(secs)),
                id: prompt.id,
            }
        })
        .collect()
}
