//! The SQLite index as the program uses it: a [`SqliteRepository`] that survives its faults.
//!
//! - **Corrupt** (found at open, by [`verify`](CompositionRepository::verify)'s `quick_check`,
//!   or by any query that touches a damaged page): the file is moved aside, a fresh database is
//!   created, the call is retried once on it, and [`take_replaced`](CompositionRepository::take_replaced)
//!   tells the caller to refill it from the history files (the source of truth).
//! - **Read-only** (a file restored with the wrong mode, a read-only mount): SQLite silently
//!   opens such a file read-only and stays so, so after a refused write the connections are
//!   reopened on the next call; once the file is writable again, writes succeed.
//! - **Unavailable at open** (locked by another process, read-only, unopenable): the repository
//!   starts anyway and every call tries to open it again, so saves still reach the history files
//!   (the recorder writes the file first) and the index catches up when the fault is gone.
//!
//! Only a database newer than this binary (or a failed migration) refuses to start.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use super::sqlite::{SqliteOptions, SqliteRepository, move_aside};
use super::{
    Composition, CompositionExport, CompositionRecord, CompositionRepository, CompositionSummary,
    HistoryError, HistoryStats, ImportReport, IndexEntry, IndexReplaced, ListOptions, Page,
    PlaceholderValue, PromptReference, SearchHit, StoredVersion, VersionInfo,
};
use super::{PromptPairing, RelatedComposition};

/// A SQLite history index that replaces itself when corrupt and reopens after faults.
pub struct RecoveringSqlite {
    path: PathBuf,
    options: SqliteOptions,
    /// `None` while the database is not open (it could not be, or a write was refused as
    /// read-only): the next call opens it again.
    database: RwLock<Option<SqliteRepository>>,
    /// Bumped by every replacement, so two calls that both ran into the same corruption replace
    /// the file once, not the fresh one too.
    replacements: AtomicU64,
    replaced: Mutex<Option<IndexReplaced>>,
    /// Stamped on the rows this process saves (see [`SqliteRepository::with_author`]).
    author: Option<String>,
}

/// Errors that mean "not now" rather than "never": the repository starts without a database.
fn is_transient(e: &HistoryError) -> bool {
    matches!(
        e,
        HistoryError::Locked
            | HistoryError::ReadOnly
            | HistoryError::Io { .. }
            | HistoryError::Database(_)
    )
}

impl RecoveringSqlite {
    /// Opens the database at `path` (moving a corrupt one aside). Fails only for a database this
    /// binary must not touch (newer schema) or a failed migration.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<Self, HistoryError> {
        let me = RecoveringSqlite {
            path: path.to_path_buf(),
            options,
            database: RwLock::new(None),
            replacements: AtomicU64::new(0),
            replaced: Mutex::new(None),
            author: None,
        };
        match me.open_database() {
            Ok(repo) => *me.write_lock() = Some(repo),
            Err(e) if is_transient(&e) => {
                tracing::warn!(path = %path.display(), "history database unavailable for now: {e}");
            }
            Err(e) => return Err(e),
        }
        Ok(me)
    }

    /// Stamps `author` on the rows saved from now on, also through reopened databases.
    pub fn with_author(mut self, author: impl Into<String>) -> Self {
        let author = author.into();
        let database = self.database.get_mut().unwrap_or_else(|p| p.into_inner());
        *database = database.take().map(|repo| repo.with_author(author.clone()));
        self.author = Some(author);
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_database(&self) -> Result<SqliteRepository, HistoryError> {
        let (mut repo, moved_aside) = SqliteRepository::open_or_recover(&self.path, self.options)?;
        if let Some(moved_to) = moved_aside {
            self.note_replaced(moved_to, "it is not a readable database".into());
        }
        if let Some(author) = &self.author {
            repo = repo.with_author(author.clone());
        }
        Ok(repo)
    }

    fn note_replaced(&self, moved_to: PathBuf, reason: String) {
        tracing::warn!(
            moved_to = %moved_to.display(),
            "history database was corrupt ({reason}); moved aside, a fresh one is refilled from the history files"
        );
        *self.replaced.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(IndexReplaced { moved_to, reason });
    }

    fn write_lock(&self) -> std::sync::RwLockWriteGuard<'_, Option<SqliteRepository>> {
        self.database.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `op` on the database; on corruption replaces the database and retries once, on a
    /// read-only refusal closes it so the next call reopens it.
    fn run<T>(
        &self,
        op: impl Fn(&SqliteRepository) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let generation = self.replacements.load(Ordering::Acquire);
        match self.attempt(&op) {
            Err(HistoryError::Corrupt { message }) => {
                self.replace(generation, &message)?;
                self.attempt(&op)
            }
            Err(HistoryError::ReadOnly) => {
                // SQLite keeps a connection to a read-only file read-only, even once the file
                // is writable again.
                *self.write_lock() = None;
                Err(HistoryError::ReadOnly)
            }
            other => other,
        }
    }

    /// One try of `op`, opening the database first if it is not open.
    fn attempt<T>(
        &self,
        op: &impl Fn(&SqliteRepository) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        {
            let database = self.database.read().unwrap_or_else(|p| p.into_inner());
            if let Some(repo) = &*database {
                return op(repo);
            }
        }
        let mut database = self.write_lock();
        if let Some(repo) = &*database {
            return op(repo);
        }
        let repo = self.open_database()?;
        let result = op(&repo);
        *database = Some(repo);
        result
    }

    /// Moves the corrupt database aside and starts a fresh one in its place, unless that was
    /// done since `generation` (by a call that failed at the same time).
    fn replace(&self, generation: u64, reason: &str) -> Result<(), HistoryError> {
        let mut database = self.write_lock();
        if self.replacements.load(Ordering::Acquire) != generation {
            return Ok(());
        }
        self.replacements.fetch_add(1, Ordering::AcqRel);
        // Every connection closes before the file moves: SQLite deletes a closing connection's
        // `-wal` file by name, which must not be the fresh database's.
        *database = None;
        if self.path.exists() {
            let moved_to = move_aside(&self.path)?;
            self.note_replaced(moved_to, reason.to_string());
        }
        *database = Some(self.open_database()?);
        Ok(())
    }
}

impl CompositionRepository for RecoveringSqlite {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn save(&self, record: &CompositionRecord) -> Result<StoredVersion, HistoryError> {
        self.run(|db| db.save(record))
    }

    fn save_many(&self, records: &[CompositionRecord]) -> Result<Vec<StoredVersion>, HistoryError> {
        self.run(|db| db.save_many(records))
    }

    fn load(&self, id: &str) -> Result<Option<Composition>, HistoryError> {
        self.run(|db| db.load(id))
    }

    fn find_by_source(
        &self,
        source_path: &Path,
    ) -> Result<Option<CompositionSummary>, HistoryError> {
        self.run(|db| db.find_by_source(source_path))
    }

    fn search(&self, query: &str, options: &ListOptions) -> Result<Page<SearchHit>, HistoryError> {
        self.run(|db| db.search(query, options))
    }

    fn list(&self, options: &ListOptions) -> Result<Page<CompositionSummary>, HistoryError> {
        self.run(|db| db.list(options))
    }

    fn versions(&self, id: &str) -> Result<Vec<VersionInfo>, HistoryError> {
        self.run(|db| db.versions(id))
    }

    fn delete(&self, ids: &[String]) -> Result<usize, HistoryError> {
        self.run(|db| db.delete(ids))
    }

    fn stats(&self) -> Result<HistoryStats, HistoryError> {
        self.run(|db| db.stats())
    }

    fn index_entries(&self) -> Result<Vec<IndexEntry>, HistoryError> {
        self.run(|db| db.index_entries())
    }

    fn reindex(&self) -> Result<(), HistoryError> {
        self.run(|db| db.reindex())
    }

    fn record_prompt_use(&self, source_path: &Path, prompt_id: &str) -> Result<bool, HistoryError> {
        self.run(|db| db.record_prompt_use(source_path, prompt_id))
    }

    fn compositions_using(&self, prompt_id: &str) -> Result<Vec<PromptReference>, HistoryError> {
        self.run(|db| db.compositions_using(prompt_id))
    }

    fn related(&self, id: &str, limit: usize) -> Result<Vec<RelatedComposition>, HistoryError> {
        self.run(|db| db.related(id, limit))
    }

    fn used_together(
        &self,
        prompt_id: &str,
        limit: usize,
    ) -> Result<Vec<PromptPairing>, HistoryError> {
        self.run(|db| db.used_together(prompt_id, limit))
    }

    fn record_placeholder_values(&self, values: &[(String, String)]) -> Result<(), HistoryError> {
        self.run(|db| db.record_placeholder_values(values))
    }

    fn placeholder_values(&self, name: &str, limit: usize) -> Result<Vec<String>, HistoryError> {
        self.run(|db| db.placeholder_values(name, limit))
    }

    fn export(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CompositionExport>, HistoryError> {
        self.run(|db| db.export(after, limit))
    }

    fn import(&self, items: &[CompositionExport]) -> Result<ImportReport, HistoryError> {
        self.run(|db| db.import(items))
    }

    fn export_placeholder_values(&self) -> Result<Vec<PlaceholderValue>, HistoryError> {
        self.run(|db| db.export_placeholder_values())
    }

    fn import_placeholder_values(
        &self,
        values: &[PlaceholderValue],
    ) -> Result<usize, HistoryError> {
        self.run(|db| db.import_placeholder_values(values))
    }

    fn verify(&self) -> Result<(), HistoryError> {
        // No retry: a fresh database has nothing to check.
        let generation = self.replacements.load(Ordering::Acquire);
        match self.attempt(&|db: &SqliteRepository| db.quick_check()) {
            Err(HistoryError::Corrupt { message }) => self.replace(generation, &message),
            other => other,
        }
    }

    fn take_replaced(&self) -> Option<IndexReplaced> {
        self.replaced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testing::record;
    use rusqlite::Connection;
    use std::time::Duration;

    /// A database of `n` compositions whose `compositions` table's root page (an interior page
    /// at this size) is then overwritten: it opens fine, and queries of that table fail.
    fn damaged_database(dir: &Path, n: usize) -> PathBuf {
        let path = dir.join("history.db");
        let repo = SqliteRepository::open(&path, SqliteOptions::default()).unwrap();
        let records: Vec<_> = (0..n)
            .map(|i| {
                record(
                    &format!("c{i}"),
                    &format!("composition {i} {}", "x".repeat(900)),
                    0,
                )
            })
            .collect();
        repo.save_many(&records).unwrap();
        drop(repo);
        let conn = Connection::open(&path).unwrap();
        let (root, page_size): (i64, i64) = conn
            .query_row(
                "SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_master WHERE name = 'compositions'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        drop(conn);
        let mut bytes = std::fs::read(&path).unwrap();
        let start = ((root - 1) * page_size) as usize;
        assert_eq!(bytes[start], 0x05, "the root is an interior table page");
        bytes[start..start + page_size as usize].fill(0x5a);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn aside_files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with("history.db.corrupt-") && !name.ends_with("-wal")
            })
            .count()
    }

    #[test]
    fn interior_damage_opens_fine_until_verify_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = damaged_database(dir.path(), 300);
        // What the issue saw: the damaged database opens without complaint.
        assert!(SqliteRepository::open(&path, SqliteOptions::default()).is_ok());
        let repo = RecoveringSqlite::open(&path, SqliteOptions::default()).unwrap();
        assert_eq!(repo.take_replaced(), None);
        repo.verify().unwrap();
        let replaced = repo.take_replaced().expect("replaced");
        assert!(replaced.moved_to.exists(), "{replaced:?}");
        assert_eq!(repo.take_replaced(), None, "told once");
        assert_eq!(
            repo.stats().unwrap().compositions,
            0,
            "fresh, to be refilled"
        );
        assert_eq!(aside_files(dir.path()), 1);
        repo.verify().unwrap();
        assert_eq!(repo.take_replaced(), None, "the fresh database is fine");
    }

    #[test]
    fn a_query_that_hits_damage_replaces_the_database_and_the_save_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = damaged_database(dir.path(), 300);
        let repo = RecoveringSqlite::open(&path, SqliteOptions::default()).unwrap();
        let stored = repo
            .save(&record("new", "saved after the damage", 5))
            .unwrap();
        assert!(stored.created);
        let replaced = repo.take_replaced().expect("replaced");
        assert!(replaced.reason.contains("malformed"), "{replaced:?}");
        assert_eq!(
            repo.load("new").unwrap().unwrap().content,
            "saved after the damage"
        );
        assert_eq!(aside_files(dir.path()), 1, "moved aside once");
    }

    #[test]
    fn a_database_locked_at_open_is_opened_when_the_lock_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        drop(SqliteRepository::open(&path, SqliteOptions::default()).unwrap());
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let options = SqliteOptions {
            busy_timeout: Duration::from_millis(50),
        };
        let repo = RecoveringSqlite::open(&path, options).expect("starts without the database");
        let err = repo.save(&record("a", "x", 0)).unwrap_err();
        assert!(matches!(err, HistoryError::Locked), "{err}");
        other.execute_batch("COMMIT").unwrap();
        drop(other);
        repo.save(&record("a", "x", 0)).unwrap();
        assert_eq!(repo.stats().unwrap().compositions, 1);
        assert_eq!(repo.take_replaced(), None);
    }

    #[test]
    fn a_newer_database_still_refuses_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        drop(SqliteRepository::open(&path, SqliteOptions::default()).unwrap());
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 0)",
                [],
            )
            .unwrap();
        let err = RecoveringSqlite::open(&path, SqliteOptions::default())
            .err()
            .expect("refused");
        assert!(matches!(err, HistoryError::SchemaTooNew { .. }), "{err}");
    }
}
