//! `promptstack review FILE`: review a composition with the configured AI provider and print the
//! suggestions (nothing is changed).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use super::validate::Format;
use crate::ai::tokens::window_share;
use crate::ai::{
    AiMetrics, CandidatePrompt, ContextSelector, ReviewRequest, ScoringSelector, TokenCounter,
    create_provider, stats_file,
};
use crate::config::Loaded;
use crate::document::{MAX_FILE_BYTES, frontmatter};

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
    let context = if args.no_context {
        Vec::new()
    } else {
        let selector = ScoringSelector::new(TokenCounter::for_model(provider.model()));
        let budget = window_share(provider.model(), config.context_budget_percent);
        selector.select(&text, &library_candidates(&paths.library_dir), budget)
    };
    let request = ReviewRequest {
        composition: text,
        context,
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
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The library's prompts as context candidates; unreadable files are skipped (validation
/// reports them). Usage counts are not known here, so they start at zero.
fn library_candidates(library_dir: &Path) -> Vec<CandidatePrompt> {
    walkdir::WalkDir::new(library_dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "md"))
        .filter(|e| {
            e.metadata()
                .is_ok_and(|m| m.len() as usize <= MAX_FILE_BYTES)
        })
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path()).ok()?;
            let relative = entry.path().strip_prefix(library_dir).ok()?;
            let id = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let meta = match frontmatter::split(&text) {
                frontmatter::Split::Found(block) => frontmatter::parse(&block).ok(),
                _ => None,
            }
            .unwrap_or_default();
            Some(CandidatePrompt {
                title: meta.title.unwrap_or_else(|| id.clone()),
                description: meta.description.unwrap_or_default(),
                tags: meta.tags.unwrap_or_default(),
                category: id.split('/').next().unwrap_or_default().to_string(),
                body: frontmatter::body(&text).to_string(),
                use_count: 0,
                last_used: None,
                id,
            })
        })
        .collect()
}
