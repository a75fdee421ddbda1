//! History: every save of a composition, kept as a Markdown file under `data/.history/` (the
//! source of truth) and indexed by a [`CompositionRepository`] for search and browsing.
//!
//! Everything here is synchronous and may block on disk; callers run it on a worker thread
//! ([`HistoryRecorder`] owns one for saves) or `spawn_blocking`.

pub mod cleanup;
pub mod copy;
pub mod files;
pub mod graph;
pub mod identity;
pub mod migrations;
pub mod postgres;
pub mod recorder;
pub mod recovering;
pub mod related;
pub mod snippet;
pub mod sqlite;
pub mod sync;
pub mod team_files;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::config::Config;
use crate::home::DataPaths;

pub use cleanup::{CleanupPlan, CleanupReport, CleanupSelection};
pub use files::HistoryFile;
pub use graph::GraphRepository;
pub use identity::Identity;
pub use postgres::PostgresRepository;
pub use recorder::{HistoryRecorder, SaveOutcome, SaveRequest};
pub use recovering::RecoveringSqlite;
pub use related::{
    PromptPairing, RELATED_LIMIT_MAX, RELATED_PROMPT_WEIGHT, RELATED_TAG_WEIGHT,
    RELATED_WORKSPACE_WEIGHT, RelatedComposition,
};
pub use sqlite::SqliteRepository;
pub use sync::{SyncMode, SyncReport};

/// Why a history operation failed. Messages are meant for the user as they are.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "storage backend `{backend}` is not supported yet; set `storage.backend` to `sqlite`, `postgres` or `graph`"
    )]
    BackendNotSupported { backend: String },
    /// The backend needs a setting that is missing or wrong (the message names it).
    #[error("{0}")]
    NotConfigured(String),
    /// The team database cannot be reached; the reason never contains a password.
    #[error("team history unreachable: {reason}")]
    Unreachable { reason: String },
    /// The index is not taking writes yet (saves are waiting); the message says why.
    #[error("{0}")]
    Unavailable(String),
    #[error("the history database is locked by another process; try again when it is done")]
    Locked,
    #[error("the history database is corrupt or not a database: {message}")]
    Corrupt { message: String },
    #[error(
        "the history database cannot be written (read-only); saves are kept in the history files and indexed once it can be"
    )]
    ReadOnly,
    #[error(
        "the history database has schema version {found}, newer than this promptstack knows ({known}); upgrade promptstack (the database was not modified)"
    )]
    SchemaTooNew { found: u32, known: u32 },
    #[error("migration {version} ({name}) failed: {message}")]
    Migration {
        version: u32,
        name: String,
        message: String,
    },
    #[error("history database error: {0}")]
    Database(String),
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no composition `{0}` in history")]
    NotFound(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("history changed since the dry run; run the dry run again and confirm its new token")]
    CleanupChanged,
    #[error("the history worker has stopped")]
    WorkerStopped,
    #[error("cannot start the history worker: {0}")]
    WorkerStart(#[source] std::io::Error),
}

impl HistoryError {
    /// An I/O error with what was being done and where.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        HistoryError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<rusqlite::Error> for HistoryError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => HistoryError::Locked,
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => HistoryError::Corrupt {
                message: e.to_string(),
            },
            Some(ErrorCode::ReadOnly) => HistoryError::ReadOnly,
            _ => HistoryError::Database(e.to_string()),
        }
    }
}

/// What the index stores for one composition (built from a save or from a history file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositionRecord {
    pub id: String,
    /// The history file's name inside the history directory.
    pub file_name: String,
    pub source_path: Option<PathBuf>,
    pub working_dir: Option<PathBuf>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub content: String,
    pub tags: Vec<String>,
    /// The history file's size and modification time when this record was read or written.
    pub file_stamp: Option<FileStamp>,
}

/// A file's size and modification time (nanoseconds since the epoch): cheap change detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    pub modified_ns: i64,
}

impl FileStamp {
    /// The stamp of the file at `path`, if it can be read.
    pub fn of(path: &Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        let modified = OffsetDateTime::from(meta.modified().ok()?);
        Some(FileStamp {
            size: meta.len(),
            modified_ns: i64::try_from(modified.unix_timestamp_nanos()).ok()?,
        })
    }
}

/// Result of storing a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredVersion {
    /// The composition's current version (1 for the first).
    pub version: u32,
    /// Whether the content differed from the stored one (a new version was added).
    pub changed: bool,
    /// Whether the composition was not in the index before.
    pub created: bool,
}

/// A composition as listed: everything but the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositionSummary {
    pub id: String,
    pub file_name: String,
    pub source_path: Option<PathBuf>,
    pub working_dir: Option<PathBuf>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub characters: usize,
    pub lines: usize,
    pub content_hash: String,
    pub version: u32,
    pub tags: Vec<String>,
    /// The first non-empty line of the body, for pickers.
    pub title: String,
    /// Who saved it (`storage.author` of the saving server), when the backend knows.
    pub author: Option<String>,
    /// The machine it was saved on, when the backend knows.
    pub machine: Option<String>,
    /// For a composition saved from another history directory (another person or machine):
    /// that history's origin. Its file is not in this history directory. `None` for our own.
    pub origin: Option<String>,
}

impl CompositionSummary {
    /// Whether the composition was saved from this history directory.
    pub fn is_own(&self) -> bool {
        self.origin.is_none()
    }
}

/// A composition with its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composition {
    pub summary: CompositionSummary,
    pub content: String,
}

/// One stored version of a composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: u32,
    pub saved_at: OffsetDateTime,
    pub content_hash: String,
    pub characters: usize,
}

/// Sort order for listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    UpdatedDesc,
    UpdatedAsc,
    CreatedDesc,
    CreatedAsc,
}

/// Filters, sort and paging for [`CompositionRepository::list`] and `search`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    /// Only compositions saved from this working directory.
    pub working_dir: Option<PathBuf>,
    /// Only compositions last updated at or after this time.
    pub updated_from: Option<OffsetDateTime>,
    /// Only compositions last updated before this time.
    pub updated_until: Option<OffsetDateTime>,
    /// Only compositions carrying every one of these tags.
    pub tags: Vec<String>,
    /// Only compositions saved by this author (`None`: everyone's).
    pub author: Option<String>,
    /// Ignored by search, which ranks by relevance.
    pub sort: SortOrder,
    pub limit: usize,
    pub offset: usize,
}

/// The author filter a user typed: `"me"` is `me` (`storage.author`); nothing, `""`,
/// `"everyone"` and `"all"` mean everyone's; anything else is that author.
pub fn author_filter(typed: Option<&str>, me: &str) -> Option<String> {
    match typed.map(str::trim) {
        None | Some("" | "everyone" | "all") => None,
        Some("me") => Some(me.to_string()),
        Some(name) => Some(name.to_string()),
    }
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            working_dir: None,
            updated_from: None,
            updated_until: None,
            tags: Vec::new(),
            author: None,
            sort: SortOrder::default(),
            limit: 50,
            offset: 0,
        }
    }
}

/// Matches a full-text search ranks: the most recent ones, so a query costs the same whatever
/// the number of matches (ranking every match of a common word at a million compositions took
/// a second).
pub const SEARCH_CANDIDATES: usize = 250;
/// Matches a search counts where counting is cheap (SQLite, the graph); more are reported as
/// "at least this many" ([`Page::capped`]).
pub const SEARCH_COUNT_CAP: usize = 1000;

/// One page of results and the total number of matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Matches counted; at most the backend's candidate limit for search (see `capped`).
    pub total: usize,
    /// Whether there are more matches than `total` (a search ranks a bounded candidate set).
    pub capped: bool,
}

impl<T> Page<T> {
    /// An exact page.
    pub fn exact(items: Vec<T>, total: usize) -> Self {
        Page {
            items,
            total,
            capped: false,
        }
    }
}

/// A snippet of matching text; `highlights` are byte ranges of the matched terms in `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<std::ops::Range<usize>>,
}

impl Snippet {
    /// The snippet with every highlight wrapped in `open` / `close` (e.g. ANSI bold, `**`).
    pub fn marked(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + 8 * self.highlights.len());
        let mut at = 0;
        for range in &self.highlights {
            out.push_str(&self.text[at..range.start]);
            out.push_str(open);
            out.push_str(&self.text[range.clone()]);
            out.push_str(close);
            at = range.end;
        }
        out.push_str(&self.text[at..]);
        out
    }
}

/// A full-text search match.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub summary: CompositionSummary,
    /// Relevance; lower is more relevant (SQLite's bm25 convention; PostgreSQL's rank negated).
    pub score: f64,
    pub snippet: Snippet,
}

// Snippet highlight markers: control characters that cannot occur in a composition's text.
pub(crate) const MARK_OPEN: char = '\u{2}';
pub(crate) const MARK_CLOSE: char = '\u{3}';

/// Splits a snippet marked with [`MARK_OPEN`] / [`MARK_CLOSE`] into text and highlight ranges.
pub(crate) fn parse_snippet(marked: &str) -> Snippet {
    let mut text = String::with_capacity(marked.len());
    let mut highlights = Vec::new();
    let mut open_at = None;
    for ch in marked.chars() {
        match ch {
            MARK_OPEN => open_at = Some(text.len()),
            MARK_CLOSE => {
                if let Some(start) = open_at.take() {
                    highlights.push(start..text.len());
                }
            }
            // Snippets are one line in pickers and terminals.
            '\n' | '\r' | '\t' => text.push(' '),
            _ => text.push(ch),
        }
    }
    Snippet { text, highlights }
}

/// What the index holds for a history file, for sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub id: String,
    pub file_name: String,
    pub content_hash: String,
    pub updated_at: OffsetDateTime,
    pub file_stamp: Option<FileStamp>,
}

/// Totals over this history's own compositions (those whose files are in its directory).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryStats {
    pub compositions: usize,
    pub versions: usize,
    pub characters: u64,
    pub tags: usize,
    pub prompt_uses: usize,
    /// Placeholder values remembered (shared by everyone on a team backend).
    pub placeholder_values: usize,
    pub oldest: Option<OffsetDateTime>,
    pub newest: Option<OffsetDateTime>,
    /// Compositions by everyone, on a backend shared by a team.
    pub everyone: Option<usize>,
}

/// One stored version with its content, for copying between backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    pub saved_at: OffsetDateTime,
    pub content: String,
    pub content_hash: String,
}

/// Everything a backend keeps about one composition, for copying between backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositionExport {
    pub record: CompositionRecord,
    /// Oldest first.
    pub versions: Vec<VersionRecord>,
    /// Library prompts it used, with when.
    pub prompt_uses: Vec<(String, OffsetDateTime)>,
}

/// A value filled into a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceholderValue {
    pub name: String,
    pub value: String,
    pub used_at: OffsetDateTime,
}

/// What an import added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub compositions_added: usize,
    pub compositions_updated: usize,
    pub versions_added: usize,
    pub prompt_uses_added: usize,
}

/// The versions of one composition after importing `incoming` into `existing` (both oldest
/// first): the union by save time and content, oldest first; `None` when nothing is new.
pub(crate) fn merge_versions(
    existing: &[VersionRecord],
    incoming: &[VersionRecord],
) -> Option<Vec<VersionRecord>> {
    let key = |v: &VersionRecord| (to_millis(v.saved_at), v.content_hash.clone());
    let known: std::collections::HashSet<_> = existing.iter().map(key).collect();
    let new: Vec<&VersionRecord> = incoming
        .iter()
        .filter(|v| !known.contains(&key(v)))
        .collect();
    if new.is_empty() {
        return None;
    }
    let mut merged: Vec<VersionRecord> = existing.iter().chain(new).cloned().collect();
    merged.sort_by_key(|v| (to_millis(v.saved_at), v.content_hash.clone()));
    merged.dedup_by_key(|v| key(v));
    Some(merged)
}

/// `records` split into consecutive runs in which no id repeats (one statement of a batch
/// save cannot update a composition twice); empty runs left out.
pub(crate) fn runs_without_repeats(records: &[CompositionRecord]) -> Vec<&[CompositionRecord]> {
    let mut runs: Vec<&[CompositionRecord]> = Vec::new();
    let mut start = 0;
    let mut seen = std::collections::HashSet::new();
    for (i, record) in records.iter().enumerate() {
        if !seen.insert(record.id.as_str()) {
            runs.push(&records[start..i]);
            start = i;
            seen.clear();
            seen.insert(record.id.as_str());
        }
    }
    runs.push(&records[start..]);
    runs.retain(|run| !run.is_empty());
    runs
}

/// A composition that used a library prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptReference {
    pub summary: CompositionSummary,
    pub used_at: OffsetDateTime,
}

/// The history index. Methods block; call them from a worker or `spawn_blocking`.
pub trait CompositionRepository: Send + Sync {
    /// The backend's name, for messages.
    fn backend(&self) -> &'static str;
    /// Stores a record (insert or update) and a new version when the content changed, in one
    /// transaction.
    fn save(&self, record: &CompositionRecord) -> Result<StoredVersion, HistoryError>;
    /// [`save`](Self::save) for many records in one transaction (sync and rebuild).
    fn save_many(&self, records: &[CompositionRecord]) -> Result<Vec<StoredVersion>, HistoryError>;
    /// One composition with its content.
    fn load(&self, id: &str) -> Result<Option<Composition>, HistoryError>;
    /// The composition last saved from `source_path`, if any.
    fn find_by_source(
        &self,
        source_path: &Path,
    ) -> Result<Option<CompositionSummary>, HistoryError>;
    /// Full-text search ranked by relevance, with highlighted snippets; `options` filter and page.
    fn search(&self, query: &str, options: &ListOptions) -> Result<Page<SearchHit>, HistoryError>;
    /// Compositions filtered, sorted and paged.
    fn list(&self, options: &ListOptions) -> Result<Page<CompositionSummary>, HistoryError>;
    /// Stored versions of a composition, oldest first.
    fn versions(&self, id: &str) -> Result<Vec<VersionInfo>, HistoryError>;
    /// Removes compositions (and their versions, tags and prompt uses); returns how many existed.
    fn delete(&self, ids: &[String]) -> Result<usize, HistoryError>;
    /// Totals.
    fn stats(&self) -> Result<HistoryStats, HistoryError>;
    /// Every indexed composition, for comparing with the history files.
    fn index_entries(&self) -> Result<Vec<IndexEntry>, HistoryError>;
    /// Rebuilds derived search structures from the stored rows.
    fn reindex(&self) -> Result<(), HistoryError>;
    /// Notes that the composition saved from `source_path` used a library prompt; `false` when
    /// that source has no history yet.
    fn record_prompt_use(&self, source_path: &Path, prompt_id: &str) -> Result<bool, HistoryError>;
    /// Compositions that used a library prompt, most recent use first.
    fn compositions_using(&self, prompt_id: &str) -> Result<Vec<PromptReference>, HistoryError>;
    /// Remembers values filled into placeholders (name, value).
    fn record_placeholder_values(&self, values: &[(String, String)]) -> Result<(), HistoryError>;
    /// Distinct values used before for a placeholder name, most recent first.
    fn placeholder_values(&self, name: &str, limit: usize) -> Result<Vec<String>, HistoryError>;
    /// This history's own compositions with ids after `after`, by id, at most `limit`, with
    /// every version and prompt use (for `storage copy`).
    fn export(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CompositionExport>, HistoryError>;
    /// Merges exported compositions in as this history's own: the newer row wins, versions are
    /// united by save time and content, prompt uses kept. Importing twice adds nothing.
    fn import(&self, items: &[CompositionExport]) -> Result<ImportReport, HistoryError>;
    /// Every remembered placeholder value.
    fn export_placeholder_values(&self) -> Result<Vec<PlaceholderValue>, HistoryError>;
    /// Merges placeholder values in (the later use wins); returns how many were new.
    fn import_placeholder_values(&self, values: &[PlaceholderValue])
    -> Result<usize, HistoryError>;
    /// Compositions sharing library prompts, tags or the workspace with `id`, best first (score,
    /// then most recently updated), at most `limit` (capped at [`RELATED_LIMIT_MAX`]).
    fn related(&self, id: &str, limit: usize) -> Result<Vec<RelatedComposition>, HistoryError>;
    /// Library prompts used in the most compositions that also used `prompt_id`, most first
    /// (ties by id), at most `limit` (capped at [`RELATED_LIMIT_MAX`]).
    fn used_together(
        &self,
        prompt_id: &str,
        limit: usize,
    ) -> Result<Vec<PromptPairing>, HistoryError>;
    /// Looks for damage an ordinary open does not notice, replacing an index that cannot be
    /// trusted (then [`take_replaced`](Self::take_replaced) says so). Can take seconds on a
    /// large index: run it in the background.
    fn verify(&self) -> Result<(), HistoryError> {
        Ok(())
    }
    /// Whether the index was found corrupt and replaced by an empty one since the last call; the
    /// caller refills it from the history files ([`sync::sync`]) and tells the user.
    fn take_replaced(&self) -> Option<IndexReplaced> {
        None
    }
}

/// The index was corrupt: it was moved aside and replaced by an empty one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexReplaced {
    /// Where the corrupt database went.
    pub moved_to: PathBuf,
    /// What was wrong with it.
    pub reason: String,
}

/// Whether the configured backend can be used: `sqlite`, `postgres` with a valid URL or `graph`
/// with a valid FalkorDB address. Other backends, and `graph` with a Neo4j URL, are refused
/// (`config check`, `init`, server start) with a message that says so.
pub fn check_backend(config: &Config) -> Result<(), HistoryError> {
    if let Some(url) = config
        .neo4j_url
        .as_ref()
        .filter(|_| config.storage == "graph")
    {
        return Err(HistoryError::NotConfigured(format!(
            "`storage.neo4j_url` ({}) is set, but Neo4j is not supported yet: the `graph` backend runs on FalkorDB; set `storage.graph_url` instead and remove `storage.neo4j_url` (see docs/history.md)",
            url.masked()
        )));
    }
    match config.storage.as_str() {
        "sqlite" => Ok(()),
        "postgres" => postgres::ConnectSettings::from_config(config).map(|_| ()),
        "graph" => graph::GraphSettings::from_config(config).map(|_| ()),
        other => Err(HistoryError::BackendNotSupported {
            backend: other.to_string(),
        }),
    }
}

/// Opens the repository the config selects. A corrupt SQLite file is moved aside and a fresh one
/// created (see [`CompositionRepository::take_replaced`]; run [`sync::sync`] afterwards to fill
/// it from the history files). PostgreSQL is connected to on first use, so an unreachable server
/// does not stop the history from opening.
pub fn open_repository(
    config: &Config,
    paths: &DataPaths,
) -> Result<Arc<dyn CompositionRepository>, HistoryError> {
    check_backend(config)?;
    match config.storage.as_str() {
        "postgres" => {
            let settings = postgres::ConnectSettings::from_config(config)?;
            let identity = Identity::load(&paths.history_dir, config)?;
            Ok(Arc::new(PostgresRepository::new(settings, identity)))
        }
        "graph" => {
            let settings = graph::GraphSettings::from_config(config)?;
            let identity = Identity::load(&paths.history_dir, config)?;
            Ok(Arc::new(GraphRepository::new(settings, identity)))
        }
        _ => Ok(Arc::new(
            RecoveringSqlite::open(&paths.database_path, Default::default())?
                .with_author(config.author()),
        )),
    }
}

/// The current time at millisecond precision (what the index stores), so files and rows agree.
pub(crate) fn now_millis() -> OffsetDateTime {
    from_millis(to_millis(OffsetDateTime::now_utc()))
}

/// Unix milliseconds, the storage form of timestamps.
pub(crate) fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The inverse of [`to_millis`]; out-of-range values clamp to the epoch.
pub(crate) fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Hex SHA-256 of a composition's content.
pub(crate) fn content_hash(content: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(content.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tags declared in a composition's own frontmatter.
pub(crate) fn tags_of(content: &str) -> Vec<String> {
    use crate::document::frontmatter;
    match frontmatter::split(content) {
        frontmatter::Split::Found(block) => frontmatter::parse(&block)
            .ok()
            .and_then(|fm| fm.tags)
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A one-line title for pickers: the first non-empty body line, without heading marks.
pub(crate) fn title_of(content: &str) -> String {
    let body = crate::document::frontmatter::body(content);
    let line = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let line = line.trim_start_matches('#').trim();
    line.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::testing::record;
    use super::*;

    #[test]
    fn other_backends_are_not_supported_yet() {
        let dir = tempfile::tempdir().unwrap();
        let paths = DataPaths::new(dir.path().join("data"), None, None);
        let loaded = crate::config::Loaded::load(crate::home::Home::at(dir.path()));
        let mut config = loaded.config().clone();
        config.storage = "mongo".into();
        let err = open_repository(&config, &paths).err().expect("refused");
        assert!(err.to_string().contains("`mongo`"), "{err}");
        assert!(err.to_string().contains("not supported yet"), "{err}");
        assert!(check_backend(&config).is_err());
        let loaded = crate::config::Loaded::load(crate::home::Home::at(dir.path()));
        let mut config = loaded.config().clone();
        config.storage = "postgres".into();
        let err = check_backend(&config).unwrap_err();
        assert!(err.to_string().contains("storage.postgres_url"), "{err}");
        config.storage = "graph".into();
        let err = check_backend(&config).unwrap_err();
        assert!(err.to_string().contains("storage.graph_url"), "{err}");
        config.graph_url = Some(crate::config::Secret::new("falkor://127.0.0.1:6379"));
        assert!(check_backend(&config).is_ok());
        config.neo4j_url = Some(crate::config::Secret::new("bolt://neo:s3cret-pass@db:7687"));
        let err = check_backend(&config).unwrap_err().to_string();
        assert!(err.contains("Neo4j is not supported yet"), "{err}");
        assert!(!err.contains("s3cret-pass"), "{err}");
        config.storage = "sqlite".into();
        assert!(
            check_backend(&config).is_ok(),
            "a leftover Neo4j URL does not stop SQLite"
        );
    }

    #[test]
    fn merged_versions_are_the_union_in_time_order() {
        let at = |m: i64| record("x", "", m).updated_at;
        let v = |m: i64, hash: &str| VersionRecord {
            saved_at: at(m),
            content: hash.to_uppercase(),
            content_hash: hash.into(),
        };
        let existing = [v(0, "a"), v(5, "c")];
        assert_eq!(merge_versions(&existing, &[v(0, "a"), v(5, "c")]), None);
        let merged = merge_versions(&existing, &[v(0, "a"), v(2, "b"), v(5, "c")]).unwrap();
        let hashes: Vec<&str> = merged.iter().map(|v| v.content_hash.as_str()).collect();
        assert_eq!(hashes, ["a", "b", "c"]);
    }

    #[test]
    fn titles_tags_and_snippet_marks() {
        assert_eq!(
            title_of("---\ntags: [a]\n---\n\n## Review the plan\nbody"),
            "Review the plan"
        );
        assert_eq!(tags_of("---\ntags: [a, b]\n---\nx"), vec!["a", "b"]);
        assert!(tags_of("no frontmatter").is_empty());
        let snippet = Snippet {
            text: "find the bug here".into(),
            highlights: vec![9..12, 13..13],
        };
        assert_eq!(snippet.marked("**", "**"), "find the **bug** ****here");
    }
}

/// Helpers shared by the history tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A record for `id` saved from `/w/<id>.prompt.md`, updated `minutes` after a fixed start.
    pub fn record(id: &str, content: &str, minutes: i64) -> CompositionRecord {
        let start = time::macros::datetime!(2026-01-10 12:00 UTC);
        CompositionRecord {
            id: id.into(),
            file_name: format!("{id}.md"),
            source_path: Some(PathBuf::from(format!("/w/{id}.prompt.md"))),
            working_dir: Some(PathBuf::from("/w")),
            created_at: start,
            updated_at: start + time::Duration::minutes(minutes),
            content: content.into(),
            tags: tags_of(content),
            file_stamp: None,
        }
    }

    /// A fresh SQLite repository in a temp dir (kept alive by the returned guard).
    pub fn repo() -> (tempfile::TempDir, SqliteRepository) {
        let dir = tempfile::tempdir().unwrap();
        let repo =
            SqliteRepository::open(&dir.path().join("history.db"), Default::default()).unwrap();
        (dir, repo)
    }
}
