//! `promptstack history list|search|show|related|stats|cleanup|rebuild`: browse and maintain
//! history.
// stdout is this command's output (the protocol owns stdout only under `lsp`).
#![allow(clippy::print_stdout)]

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use time::{Date, OffsetDateTime, Time};

use crate::config::Loaded;
use crate::history::cleanup::{self, CleanupSelection, megabytes, parse_date};
use crate::history::sync::{self, SyncMode, SyncReport};
use crate::history::{
    CompositionRepository, CompositionSummary, IndexReplaced, ListOptions, Page, SortOrder,
    author_filter, files, open_repository,
};
use crate::home::DataPaths;

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    command: HistoryCommand,
}

#[derive(Debug, clap::Subcommand)]
enum HistoryCommand {
    /// List compositions, most recently updated first.
    List {
        #[command(flatten)]
        filters: Filters,
        /// Sort order.
        #[arg(long, value_enum, default_value = "updated")]
        sort: Sort,
    },
    /// Full-text search, best matches first.
    Search {
        /// Words to look for (all must occur; the last also matches as a prefix).
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        #[command(flatten)]
        filters: Filters,
    },
    /// Show one composition: metadata, versions and content.
    Show {
        /// The composition's id (its history file name without `.md`).
        id: String,
    },
    /// Compositions related to one: sharing library prompts (3 points each), tags (2 each) or
    /// its workspace (1), best first.
    Related {
        /// The composition's id (its history file name without `.md`).
        id: String,
        /// How many to show (at most 100).
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Totals: compositions, versions, size on disk.
    Stats,
    /// Remove old compositions (a dry run unless --yes).
    #[command(group(clap::ArgGroup::new("selection").required(true).args(["all", "older_than", "keep_last", "from"])))]
    Cleanup {
        /// Every composition.
        #[arg(long)]
        all: bool,
        /// Compositions last updated more than DAYS days ago.
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u32>,
        /// All but the N most recently updated compositions.
        #[arg(long, value_name = "N")]
        keep_last: Option<usize>,
        /// Compositions last updated from this day (YYYY-MM-DD, UTC; needs --to).
        #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "to")]
        from: Option<Date>,
        /// ... to this day, included.
        #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "from")]
        to: Option<Date>,
        /// Delete without asking (otherwise only show what would go).
        #[arg(long)]
        yes: bool,
    },
    /// Rebuild the index from the history files, with progress on stderr.
    Rebuild,
}

/// Filters shared by list and search.
#[derive(Debug, clap::Args)]
struct Filters {
    /// Only compositions saved from this working directory.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
    /// Only compositions with this tag (repeat for several; all must match).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Only compositions last updated on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    since: Option<Date>,
    /// Only compositions last updated on or before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    until: Option<Date>,
    /// Only compositions saved by this author: `me`, a name, or `everyone` (the default).
    #[arg(long, value_name = "AUTHOR")]
    author: Option<String>,
    /// How many to show.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// How many to skip (paging).
    #[arg(long, default_value_t = 0)]
    offset: usize,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Sort {
    /// Most recently updated first.
    Updated,
    /// Least recently updated first.
    UpdatedAsc,
    /// Most recently created first.
    Created,
    /// Least recently created first.
    CreatedAsc,
}

impl Filters {
    fn options(&self, sort: SortOrder, me: &str) -> anyhow::Result<ListOptions> {
        let day = |d: Date| d.with_time(Time::MIDNIGHT).assume_utc();
        if let (Some(since), Some(until)) = (self.since, self.until) {
            anyhow::ensure!(since <= until, "--since {since} is after --until {until}");
        }
        Ok(ListOptions {
            working_dir: self.dir.clone(),
            updated_from: self.since.map(day),
            updated_until: self.until.map(|d| day(d) + time::Duration::days(1)),
            tags: self.tags.clone(),
            author: author_filter(self.author.as_deref(), me),
            sort,
            limit: self.limit,
            offset: self.offset,
        })
    }
}

pub fn run(args: HistoryArgs, loaded: &Loaded) -> anyhow::Result<ExitCode> {
    let paths = loaded.data_paths();
    let me = loaded.config().author();
    let repo = open_repository(loaded.config(), &paths)?;
    if !matches!(args.command, HistoryCommand::Rebuild) {
        catch_up(repo.as_ref(), &paths)?;
    }
    let result = run_command(args, repo.clone(), &paths, &me);
    // A query that ran into a damaged page had the index replaced: refill it now, so the next
    // command finds everything.
    if let Some(replaced) = repo.take_replaced() {
        note_replaced(&replaced);
        let report = sync::sync(
            repo.as_ref(),
            &paths.history_dir,
            SyncMode::Check,
            &mut progress_bar("Rebuilding history index"),
        )?;
        note_rebuilt(&report);
        eprintln!("note: the answer above may be incomplete; run the command again");
    }
    result
}

fn run_command(
    args: HistoryArgs,
    repo: Arc<dyn CompositionRepository>,
    paths: &DataPaths,
    me: &str,
) -> anyhow::Result<ExitCode> {
    match args.command {
        HistoryCommand::Rebuild => rebuild(repo.as_ref(), paths),
        HistoryCommand::List { filters, sort } => list(repo, &filters, sort, me),
        HistoryCommand::Search { query, filters } => search(repo, &query.join(" "), &filters, me),
        HistoryCommand::Show { id } => show(repo, &id),
        HistoryCommand::Related { id, limit } => related(repo.as_ref(), &id, limit),
        HistoryCommand::Stats => stats(repo, paths),
        HistoryCommand::Cleanup {
            all,
            older_than,
            keep_last,
            from,
            to,
            yes,
        } => {
            let selection = match (all, older_than, keep_last, from.zip(to)) {
                (true, ..) => CleanupSelection::All,
                (_, Some(days), ..) => CleanupSelection::OlderThanDays(days),
                (_, _, Some(n), _) => CleanupSelection::KeepLast(n),
                (_, _, _, Some((from, to))) => CleanupSelection::Between { from, to },
                _ => anyhow::bail!(
                    "choose what to clean up: --all, --older-than, --keep-last or --from/--to"
                ),
            };
            clean(repo.as_ref(), paths, selection, yes)
        }
    }
}

/// Indexes history files the index does not know yet (e.g. after the database was deleted or
/// moved aside as corrupt). Counting is cheap; a full comparison runs only on a mismatch.
fn catch_up(repo: &dyn CompositionRepository, paths: &DataPaths) -> anyhow::Result<()> {
    let on_disk = files::list(&paths.history_dir)?.len();
    let indexed = repo.stats()?.compositions;
    if let Some(replaced) = repo.take_replaced() {
        note_replaced(&replaced);
    } else if on_disk == indexed {
        return Ok(());
    }
    let report = sync::sync(
        repo,
        &paths.history_dir,
        SyncMode::Check,
        &mut progress_bar("Indexing history"),
    )?;
    report_problems(&report);
    eprintln!("{}", report.summary());
    note_rebuilt(&report);
    Ok(())
}

/// The index was corrupt and replaced by an empty one (refilled next).
fn note_replaced(replaced: &IndexReplaced) {
    eprintln!(
        "note: the history database was corrupt ({}); it was moved aside to {} and the index is rebuilt from the history files",
        replaced.reason,
        replaced.moved_to.display()
    );
}

/// Versions a refill could not bring back, if any.
fn note_rebuilt(report: &SyncReport) {
    if let Some(lost) = report.lost_versions_notice() {
        eprintln!("note: {lost}");
    }
}

/// A progress line on stderr, redrawn in place on a terminal, that ends with a newline.
pub(super) fn progress_bar(label: &'static str) -> impl FnMut(usize, usize) {
    let terminal = std::io::stderr().is_terminal();
    let mut last_percent = None;
    move |done, total| {
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        if last_percent == Some(percent) {
            return;
        }
        last_percent = Some(percent);
        let mut err = std::io::stderr();
        if terminal {
            let width = 30;
            let filled = percent * width / 100;
            let _ = write!(
                err,
                "\r{label} [{}{}] {done}/{total}",
                "#".repeat(filled),
                "-".repeat(width - filled)
            );
            if done == total {
                let _ = writeln!(err);
            }
        } else if percent % 10 == 0 {
            let _ = writeln!(err, "{label}: {done}/{total} ({percent}%)");
        }
    }
}

fn report_problems(report: &SyncReport) {
    for problem in &report.problems {
        eprintln!(
            "warning: skipped {}: {}",
            problem.path.display(),
            problem.message
        );
    }
}

fn rebuild(repo: &dyn CompositionRepository, paths: &DataPaths) -> anyhow::Result<ExitCode> {
    // Damage an open does not notice (interior pages) would fail the rebuild half-way.
    repo.verify()?;
    if let Some(replaced) = repo.take_replaced() {
        note_replaced(&replaced);
    }
    let report = sync::sync(
        repo,
        &paths.history_dir,
        SyncMode::Rebuild,
        &mut progress_bar("Rebuilding history index"),
    )?;
    report_problems(&report);
    println!("{}", report.summary());
    note_rebuilt(&report);
    Ok(ExitCode::SUCCESS)
}

fn when(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.format(format).unwrap_or_default()
}

fn summary_line(s: &CompositionSummary) -> String {
    let title = if s.title.is_empty() {
        "(empty)"
    } else {
        &s.title
    };
    // Other people's compositions name their author (team history).
    let author = match (&s.author, s.is_own()) {
        (Some(author), false) => format!("{author}  "),
        _ => String::new(),
    };
    format!(
        "{}  {}  {:>6} chars  v{}  {author}{}",
        s.id,
        when(s.updated_at),
        s.characters,
        s.version,
        title
    )
}

fn page_footer<T>(offset: usize, page: &Page<T>) -> String {
    let more = if page.capped { "+" } else { "" };
    let total = page.total;
    if page.items.is_empty() {
        format!("No compositions (of {total}{more}).")
    } else {
        format!(
            "Showing {}-{} of {total}{more}.",
            offset + 1,
            offset + page.items.len()
        )
    }
}

fn list(
    repo: Arc<dyn CompositionRepository>,
    filters: &Filters,
    sort: Sort,
    me: &str,
) -> anyhow::Result<ExitCode> {
    let sort = match sort {
        Sort::Updated => SortOrder::UpdatedDesc,
        Sort::UpdatedAsc => SortOrder::UpdatedAsc,
        Sort::Created => SortOrder::CreatedDesc,
        Sort::CreatedAsc => SortOrder::CreatedAsc,
    };
    let options = filters.options(sort, me)?;
    let page = repo.list(&options)?;
    for item in &page.items {
        println!("{}", summary_line(item));
    }
    println!("{}", page_footer(options.offset, &page));
    Ok(ExitCode::SUCCESS)
}

fn search(
    repo: Arc<dyn CompositionRepository>,
    query: &str,
    filters: &Filters,
    me: &str,
) -> anyhow::Result<ExitCode> {
    let options = filters.options(SortOrder::default(), me)?;
    let page = repo.search(query, &options)?;
    let (open, close) = if std::io::stdout().is_terminal() {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("**", "**")
    };
    for hit in &page.items {
        println!("{}", summary_line(&hit.summary));
        println!("    {}", hit.snippet.marked(open, close));
    }
    if page.total == 0 {
        println!("No matches for \"{query}\".");
    } else {
        println!("{}", page_footer(options.offset, &page));
    }
    Ok(ExitCode::SUCCESS)
}

/// The id a user typed: the history file's name or path as well as the bare id.
fn typed_id(id: &str) -> String {
    let id = Path::new(id)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| id.to_string());
    id.strip_suffix(".md").map(str::to_string).unwrap_or(id)
}

fn not_found(id: &str) -> ExitCode {
    eprintln!("error: no composition `{id}` in history (see `promptstack history list`)");
    ExitCode::from(2)
}

fn related(repo: &dyn CompositionRepository, id: &str, limit: usize) -> anyhow::Result<ExitCode> {
    let id = typed_id(id);
    if repo.load(&id)?.is_none() {
        return Ok(not_found(&id));
    }
    let related = repo.related(&id, limit)?;
    if related.is_empty() {
        println!("No related compositions: none shares a prompt, a tag or the workspace.");
    }
    for r in &related {
        let mut shared = Vec::new();
        if r.shared_prompts > 0 {
            shared.push(format!("{} prompts", r.shared_prompts));
        }
        if r.shared_tags > 0 {
            shared.push(format!("{} tags", r.shared_tags));
        }
        if r.same_workspace {
            shared.push("workspace".to_string());
        }
        println!(
            "{:>3}  {}  (shares {})",
            r.score,
            summary_line(&r.summary),
            shared.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(repo: Arc<dyn CompositionRepository>, id: &str) -> anyhow::Result<ExitCode> {
    let id = typed_id(id);
    let id = id.as_str();
    let Some(composition) = repo.load(id)? else {
        return Ok(not_found(id));
    };
    let s = &composition.summary;
    println!("id:        {}", s.id);
    println!("file:      {}", s.file_name);
    if let Some(source) = &s.source_path {
        println!("source:    {}", source.display());
    }
    if let Some(dir) = &s.working_dir {
        println!("directory: {}", dir.display());
    }
    println!("created:   {}", when(s.created_at));
    println!("updated:   {}", when(s.updated_at));
    println!("size:      {} characters, {} lines", s.characters, s.lines);
    if !s.tags.is_empty() {
        println!("tags:      {}", s.tags.join(", "));
    }
    let versions = repo.versions(id)?;
    println!("versions:  {}", versions.len());
    for v in &versions {
        println!(
            "  v{}  {}  {} characters",
            v.version,
            when(v.saved_at),
            v.characters
        );
    }
    println!();
    print!("{}", composition.content);
    if !composition.content.ends_with('\n') {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn stats(repo: Arc<dyn CompositionRepository>, paths: &DataPaths) -> anyhow::Result<ExitCode> {
    let stats = repo.stats()?;
    println!("compositions: {}", stats.compositions);
    println!("versions:     {}", stats.versions);
    println!("characters:   {}", stats.characters);
    println!("tags:         {}", stats.tags);
    println!("prompt uses:  {}", stats.prompt_uses);
    println!("placeholder values: {}", stats.placeholder_values);
    if let Some(everyone) = stats.everyone {
        println!("team:         {everyone} compositions by everyone");
    }
    if let (Some(oldest), Some(newest)) = (stats.oldest, stats.newest) {
        println!("oldest:       {}", when(oldest));
        println!("newest:       {}", when(newest));
    }
    println!(
        "files:        {} in {}",
        megabytes(dir_bytes(&paths.history_dir)),
        paths.history_dir.display()
    );
    if repo.backend() == "sqlite" {
        let db = std::fs::metadata(&paths.database_path)
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "database:     {} in {}",
            megabytes(db),
            paths.database_path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn clean(
    repo: &dyn CompositionRepository,
    paths: &DataPaths,
    selection: CleanupSelection,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let plan = cleanup::plan(repo, &paths.history_dir, selection, now)?;
    if plan.count() == 0 {
        println!("Nothing to clean up.");
        return Ok(ExitCode::SUCCESS);
    }
    for entry in &plan.entries {
        println!("  {}", entry.file.display());
    }
    let range = match (plan.oldest, plan.newest) {
        (Some(oldest), Some(newest)) => format!(", updated {} to {}", when(oldest), when(newest)),
        _ => String::new(),
    };
    if !yes {
        println!(
            "Would delete {} files ({}{range}). Run again with --yes to delete them.",
            plan.count(),
            megabytes(plan.bytes)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let report = cleanup::confirm(repo, &paths.history_dir, selection, &plan.token, now)
        .context("cleanup")?;
    for (file, message) in &report.failures {
        eprintln!("warning: cannot delete {}: {message}", file.display());
    }
    println!("{}", report.message());
    Ok(if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
