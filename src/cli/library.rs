//! `promptstack library list|search QUERY|reindex|stats|sync`: the prompt library from the shell.
#![allow(clippy::print_stdout)] // stdout is the output of a CLI command

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Loaded;
use crate::events::EventBus;
use crate::library::index::Progress;
use crate::library::prompt::Prompt;
use crate::library::{Library, LibraryStats, OpenOptions, PromptHit};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct LibraryArgs {
    #[command(subcommand)]
    command: LibraryCommand,
    /// Output format.
    #[arg(long, value_enum, default_value = "text", global = true)]
    format: Format,
}

#[derive(Debug, clap::Subcommand)]
enum LibraryCommand {
    /// List every prompt (id, title, tags).
    List,
    /// Search prompts the way completion does (prefix, typo-tolerant, ranked by usage).
    Search {
        /// Words to look for.
        query: String,
        /// Most results to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Re-read every file and rebuild the search index.
    Reindex,
    /// Counts: prompts, indexed documents, tags, placeholders, skipped files.
    Stats,
    /// Fetch the git prompt sources now and report the prompts added, updated and removed.
    Sync {
        /// Only this source (a `name` of `library.sources`).
        name: Option<String>,
        /// Check out the commit recorded in data/sources.lock instead of the newest.
        #[arg(long)]
        locked: bool,
    },
}

pub fn run(args: LibraryArgs, loaded: &Loaded) -> anyhow::Result<ExitCode> {
    let progress = matches!(args.command, LibraryCommand::Reindex).then(progress_on_stderr);
    let library = open_loaded(loaded)?;
    match args.command {
        LibraryCommand::List => {
            let prompts = library.all();
            match args.format {
                Format::Json => {
                    print_json(&prompts.iter().map(|p| prompt_json(p, None)).collect())?
                }
                Format::Text => {
                    for p in &prompts {
                        println!("{}", prompt_line(p));
                    }
                    println!("{} prompts", prompts.len());
                }
            }
        }
        LibraryCommand::Search { query, limit } => {
            let hits = library.search(&query, limit)?;
            match args.format {
                Format::Json => print_json(
                    &hits
                        .iter()
                        .map(|h| prompt_json(&h.prompt, Some(h.score)))
                        .collect(),
                )?,
                Format::Text => print_hits(&hits),
            }
            if hits.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        LibraryCommand::Reindex => {
            let started = std::time::Instant::now();
            let stats = library.reindex(progress)?;
            eprintln!();
            print_stats(&stats, args.format)?;
            if matches!(args.format, Format::Text) {
                println!("reindexed in {:.2?}", started.elapsed());
            }
        }
        LibraryCommand::Stats => print_stats(&library.stats(), args.format)?,
        LibraryCommand::Sync { name, locked } => {
            let request = crate::library::git_source::SyncRequest { name, locked };
            let outcomes = library.sync_sources(&request, None)?;
            match args.format {
                Format::Json => print_json(&outcomes.iter().map(|o| o.to_json()).collect())?,
                Format::Text => {
                    for o in &outcomes {
                        println!("{}", o.summary());
                        if let Ok(r) = &o.result {
                            for (mark, ids) in
                                [("+", &r.added), ("~", &r.updated), ("-", &r.removed)]
                            {
                                for id in ids {
                                    println!("  {mark} {id}");
                                }
                            }
                        }
                    }
                    if outcomes.is_empty() {
                        println!("no git prompt sources in `library.sources`");
                    }
                }
            }
            if outcomes.iter().any(|o| o.result.is_err()) {
                return Ok(ExitCode::from(2));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The configured library, loaded, without watching (one-shot commands).
pub(super) fn open_loaded(loaded: &Loaded) -> anyhow::Result<Library> {
    let paths = loaded.data_paths();
    let library = Library::open_with(
        crate::library::source::open_source(loaded.config(), &paths),
        &paths,
        EventBus::new(),
        OpenOptions {
            watch: false,
            progress: None,
        },
    )?;
    library.wait_ready();
    Ok(library)
}

fn progress_on_stderr() -> Progress {
    Box::new(|done, total| {
        eprint!("\rindexing {done}/{total}");
        let _ = std::io::stderr().flush();
    })
}

fn prompt_line(p: &Prompt) -> String {
    let tags = if p.tags.is_empty() {
        String::new()
    } else {
        format!("  [{}]", p.tags.join(", "))
    };
    format!("{}  {}{tags}", p.id, p.title)
}

fn print_hits(hits: &[PromptHit]) {
    for hit in hits {
        println!("{:>7.2}  {}", hit.score, prompt_line(&hit.prompt));
    }
}

fn prompt_json(p: &Arc<Prompt>, score: Option<f32>) -> serde_json::Value {
    let mut value = serde_json::json!({
        "id": p.id,
        "title": p.title,
        "category": p.category,
        "description": p.description,
        "tags": p.tags,
        "placeholders": p.placeholders.iter().map(|(name, kind)| format!("{}:{name}", kind.keyword())).collect::<Vec<_>>(),
        "path": p.path,
    });
    if let Some(score) = score {
        value["score"] = serde_json::json!(score);
    }
    value
}

fn print_json(values: &Vec<serde_json::Value>) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(values)?);
    Ok(())
}

fn print_stats(stats: &LibraryStats, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            let skipped: Vec<_> = stats
                .skipped
                .iter()
                .map(|s| serde_json::json!({ "path": s.path, "reason": s.reason.to_string() }))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "prompts": stats.prompts,
                    "indexed": stats.indexed,
                    "tags": stats.tags,
                    "placeholder_names": stats.placeholder_names,
                    "skipped": skipped,
                }))?
            );
        }
        Format::Text => {
            println!("prompts:           {}", stats.prompts);
            println!("indexed:           {}", stats.indexed);
            println!("tags:              {}", stats.tags);
            println!("placeholder names: {}", stats.placeholder_names);
            println!("skipped files:     {}", stats.skipped.len());
            for s in &stats.skipped {
                println!("  {}: {}", s.path.display(), s.reason);
            }
        }
    }
    Ok(())
}
