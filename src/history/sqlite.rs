//! The SQLite history index: WAL, a busy timeout, foreign keys, FTS5 kept in sync by triggers.

mod related;
mod search;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;

use super::migrations::sqlite as migrations;
use super::{
    Composition, CompositionExport, CompositionRecord, CompositionRepository, CompositionSummary,
    FileStamp, HistoryError, HistoryStats, ImportReport, IndexEntry, ListOptions, Page,
    PlaceholderValue, PromptReference, SearchHit, SortOrder, StoredVersion, VersionInfo,
    VersionRecord, content_hash, from_millis, merge_versions, title_of, to_millis,
};
use super::{PromptPairing, RelatedComposition};
use crate::document::TextStats;

/// Connection settings.
#[derive(Debug, Clone, Copy)]
pub struct SqliteOptions {
    /// How long a write waits for another process's lock before failing with `Locked`.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The SQLite backend. One connection writes; another serves reads, so searches run while a
/// save is in progress (WAL allows it). Everything in it is one person's: their author name is
/// reported on every composition.
pub struct SqliteRepository {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    author: Option<String>,
}

const SUMMARY_COLUMNS: &str = "c.id, c.file_path, c.source_path, c.working_dir, c.created_at, \
     c.updated_at, c.char_count, c.line_count, c.content_hash, \
     (SELECT COALESCE(MAX(version), 0) FROM composition_versions v WHERE v.composition_id = c.id), \
     (SELECT group_concat(t.name, char(31)) FROM composition_tags ct JOIN tags t ON t.id = ct.tag_id \
        WHERE ct.composition_id = c.id), \
     substr(c.content, 1, 2000)";

fn summary_from_row(
    row: &Row<'_>,
    author: &Option<String>,
) -> rusqlite::Result<CompositionSummary> {
    let tags: Option<String> = row.get(10)?;
    let mut tags: Vec<String> = tags
        .map(|t| t.split('\u{1f}').map(str::to_string).collect())
        .unwrap_or_default();
    tags.sort();
    let head: String = row.get(11)?;
    Ok(CompositionSummary {
        id: row.get(0)?,
        file_name: row.get(1)?,
        source_path: row.get::<_, Option<String>>(2)?.map(PathBuf::from),
        working_dir: row.get::<_, Option<String>>(3)?.map(PathBuf::from),
        created_at: from_millis(row.get(4)?),
        updated_at: from_millis(row.get(5)?),
        characters: row.get::<_, i64>(6)? as usize,
        lines: row.get::<_, i64>(7)? as usize,
        content_hash: row.get(8)?,
        version: row.get(9)?,
        tags,
        title: title_of(&head),
        author: author.clone(),
        machine: None,
        origin: None,
    })
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn configure(conn: &Connection, options: SqliteOptions) -> Result<(), HistoryError> {
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

impl SqliteRepository {
    /// Opens (creating if needed) the database at `path` and applies pending migrations. A
    /// database newer than this binary is refused without being modified.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<Self, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| HistoryError::io("cannot create directory", dir, e))?;
        }
        let mut writer = Connection::open(path)?;
        configure(&writer, options)?;
        // Checked before anything that writes (journal mode, migrations).
        migrations::refuse_newer(&writer)?;
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "history database is not in WAL mode");
        }
        // The index can be rebuilt from the files, so NORMAL (durable across app crashes, not
        // power loss) is enough and keeps saves fast.
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        migrations::migrate_up(&mut writer, None)?;
        let reader = Connection::open(path)?;
        configure(&reader, options)?;
        Ok(SqliteRepository {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            author: None,
        })
    }

    /// The same repository, reporting `author` as the author of every composition.
    pub fn with_author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }

    /// [`open`](Self::open), but a corrupt file (or one that is not a database) is moved aside
    /// to `<name>.corrupt-<timestamp>` and a fresh database created; returns where it went.
    pub fn open_or_recover(
        path: &Path,
        options: SqliteOptions,
    ) -> Result<(Self, Option<PathBuf>), HistoryError> {
        match Self::open(path, options) {
            Ok(repo) => Ok((repo, None)),
            Err(HistoryError::Corrupt { message }) => {
                tracing::warn!(path = %path.display(), "history database is corrupt: {message}");
                let aside = move_aside(path)?;
                Ok((Self::open(path, options)?, Some(aside)))
            }
            Err(e) => Err(e),
        }
    }

    /// Runs SQLite's `PRAGMA quick_check` on its own read-only connection (so searches and saves
    /// go on meanwhile): a database whose interior pages are damaged opens fine, and only this,
    /// or a query that happens to touch the damage, finds out. Linear in the database's size.
    pub fn quick_check(&self) -> Result<(), HistoryError> {
        let conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let mut stmt = conn.prepare("PRAGMA quick_check(5)")?;
        let problems = stmt
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        match problems.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            _ => Err(HistoryError::Corrupt {
                message: problems.join("; "),
            }),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Summaries for the given row keys, by key.
    fn summaries_by_pk(
        &self,
        conn: &Connection,
        pks: impl Iterator<Item = i64>,
    ) -> Result<std::collections::HashMap<i64, CompositionSummary>, HistoryError> {
        let pks: Vec<Value> = pks.map(Value::Integer).collect();
        if pks.is_empty() {
            return Ok(Default::default());
        }
        let marks = vec!["?"; pks.len()].join(", ");
        let sql =
            format!("SELECT {SUMMARY_COLUMNS}, c.pk FROM compositions c WHERE c.pk IN ({marks})");
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(pks.iter()), |row| {
                Ok((row.get::<_, i64>(12)?, summary_from_row(row, &self.author)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock means a panic while holding it; SQLite rolled back, the connection is fine.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save_in(
        tx: &Transaction<'_>,
        record: &CompositionRecord,
    ) -> Result<StoredVersion, HistoryError> {
        let hash = content_hash(&record.content);
        let stats = TextStats::of(&record.content);
        let previous: Option<(String, u32)> = tx
            .query_row(
                "SELECT c.content_hash,
                    (SELECT COALESCE(MAX(version), 0) FROM composition_versions v WHERE v.composition_id = c.id)
                 FROM compositions c WHERE c.id = ?1",
                [&record.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        tx.execute(
            "INSERT INTO compositions (id, file_path, source_path, created_at, updated_at,
                 working_dir, content, char_count, line_count, content_hash, file_size, file_mtime)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT(id) DO UPDATE SET
                 file_path = excluded.file_path, source_path = excluded.source_path,
                 created_at = excluded.created_at, updated_at = excluded.updated_at,
                 working_dir = excluded.working_dir, char_count = excluded.char_count,
                 line_count = excluded.line_count, content_hash = excluded.content_hash,
                 content = excluded.content, file_size = excluded.file_size,
                 file_mtime = excluded.file_mtime
             WHERE compositions.content_hash <> excluded.content_hash
                OR compositions.updated_at <> excluded.updated_at
                OR compositions.file_path <> excluded.file_path
                OR compositions.source_path IS NOT excluded.source_path
                OR compositions.working_dir IS NOT excluded.working_dir
                OR compositions.created_at <> excluded.created_at
                OR compositions.file_size IS NOT excluded.file_size
                OR compositions.file_mtime IS NOT excluded.file_mtime",
            params![
                record.id,
                record.file_name,
                record.source_path.as_deref().map(path_text),
                to_millis(record.created_at),
                to_millis(record.updated_at),
                record.working_dir.as_deref().map(path_text),
                record.content,
                stats.characters as i64,
                stats.lines as i64,
                hash,
                record
                    .file_stamp
                    .map(|s| i64::try_from(s.size).unwrap_or(i64::MAX)),
                record.file_stamp.map(|s| s.modified_ns),
            ],
        )?;
        let (version, changed) = match &previous {
            Some((old_hash, version)) if *old_hash == hash && *version > 0 => (*version, false),
            Some((_, version)) => (version + 1, true),
            None => (1, true),
        };
        if changed {
            tx.execute(
                "INSERT INTO composition_versions (composition_id, version, saved_at, content, content_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![record.id, version, to_millis(record.updated_at), record.content, hash],
            )?;
        }
        tx.execute(
            "DELETE FROM composition_tags WHERE composition_id = ?1",
            [&record.id],
        )?;
        for tag in &record.tags {
            tx.execute("INSERT OR IGNORE INTO tags (name) VALUES (?1)", [tag])?;
            tx.execute(
                "INSERT OR IGNORE INTO composition_tags (composition_id, tag_id)
                 SELECT ?1, id FROM tags WHERE name = ?2",
                [&record.id, tag],
            )?;
        }
        Ok(StoredVersion {
            version,
            changed,
            created: previous.is_none(),
        })
    }
}

/// Renames a bad database file (and its WAL/SHM companions) out of the way.
pub(super) fn move_aside(path: &Path) -> Result<PathBuf, HistoryError> {
    let stamp = OffsetDateTime::now_utc().unix_timestamp();
    // Never over an earlier copy (two repairs within one second).
    let aside = (0..)
        .map(|n| {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".corrupt-{stamp}"));
            if n > 0 {
                name.push(format!("-{n}"));
            }
            path.with_file_name(name)
        })
        .find(|candidate| !candidate.exists())
        .unwrap_or_else(|| path.with_extension("corrupt"));
    std::fs::rename(path, &aside)
        .map_err(|e| HistoryError::io("cannot move the corrupt database aside", path, e))?;
    for suffix in ["-wal", "-shm"] {
        let mut companion = path.as_os_str().to_os_string();
        companion.push(suffix);
        let companion = PathBuf::from(companion);
        if companion.exists() {
            let mut target = aside.as_os_str().to_os_string();
            target.push(suffix);
            let _ = std::fs::rename(&companion, PathBuf::from(target));
        }
    }
    Ok(aside)
}

/// SQL conditions (on alias `c`) and their parameters for the filters of `options`; every row
/// is by `author`.
fn filters(options: &ListOptions, author: &Option<String>) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    if options.author.is_some() && options.author != *author {
        sql.push_str(" AND 0");
    }
    if let Some(dir) = &options.working_dir {
        sql.push_str(" AND c.working_dir = ?");
        values.push(Value::Text(path_text(dir)));
    }
    if let Some(from) = options.updated_from {
        sql.push_str(" AND c.updated_at >= ?");
        values.push(Value::Integer(to_millis(from)));
    }
    if let Some(until) = options.updated_until {
        sql.push_str(" AND c.updated_at < ?");
        values.push(Value::Integer(to_millis(until)));
    }
    for tag in &options.tags {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM composition_tags ct JOIN tags t ON t.id = ct.tag_id
                WHERE ct.composition_id = c.id AND t.name = ?)",
        );
        values.push(Value::Text(tag.clone()));
    }
    (sql, values)
}

fn order_by(sort: SortOrder) -> &'static str {
    match sort {
        SortOrder::UpdatedDesc => "c.updated_at DESC, c.id DESC",
        SortOrder::UpdatedAsc => "c.updated_at ASC, c.id ASC",
        SortOrder::CreatedDesc => "c.created_at DESC, c.id DESC",
        SortOrder::CreatedAsc => "c.created_at ASC, c.id ASC",
    }
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl CompositionRepository for SqliteRepository {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn save(&self, record: &CompositionRecord) -> Result<StoredVersion, HistoryError> {
        self.save_many(std::slice::from_ref(record))?
            .pop()
            .ok_or_else(|| HistoryError::Database("save stored nothing".into()))
    }

    fn save_many(&self, records: &[CompositionRecord]) -> Result<Vec<StoredVersion>, HistoryError> {
        let mut conn = self.writer();
        // IMMEDIATE takes the write lock up front, so a locked database fails here, cleanly.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            out.push(Self::save_in(&tx, record)?);
        }
        tx.commit()?;
        Ok(out)
    }

    fn load(&self, id: &str) -> Result<Option<Composition>, HistoryError> {
        let conn = self.reader();
        let sql =
            format!("SELECT {SUMMARY_COLUMNS}, c.content FROM compositions c WHERE c.id = ?1");
        Ok(conn
            .query_row(&sql, [id], |row| {
                Ok(Composition {
                    summary: summary_from_row(row, &self.author)?,
                    content: row.get(12)?,
                })
            })
            .optional()?)
    }

    fn find_by_source(
        &self,
        source_path: &Path,
    ) -> Result<Option<CompositionSummary>, HistoryError> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM compositions c WHERE c.source_path = ?1
             ORDER BY c.updated_at DESC LIMIT 1"
        );
        Ok(conn
            .query_row(&sql, [path_text(source_path)], |row| {
                summary_from_row(row, &self.author)
            })
            .optional()?)
    }

    fn search(&self, query: &str, options: &ListOptions) -> Result<Page<SearchHit>, HistoryError> {
        search::search(self, query, options)
    }

    fn list(&self, options: &ListOptions) -> Result<Page<CompositionSummary>, HistoryError> {
        let (conditions, mut values) = filters(options, &self.author);
        let conn = self.reader();
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM compositions c WHERE 1 = 1{conditions}"),
            rusqlite::params_from_iter(values.iter()),
            |r| r.get(0),
        )?;
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM compositions c WHERE 1 = 1{conditions}
             ORDER BY {} LIMIT ? OFFSET ?",
            order_by(options.sort)
        );
        values.push(Value::Integer(limit(options.limit)));
        values.push(Value::Integer(limit(options.offset)));
        let mut stmt = conn.prepare(&sql)?;
        let items = stmt
            .query_map(rusqlite::params_from_iter(values.iter()), |row| {
                summary_from_row(row, &self.author)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::exact(items, total as usize))
    }

    fn versions(&self, id: &str) -> Result<Vec<VersionInfo>, HistoryError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT version, saved_at, content_hash, length(content) FROM composition_versions
             WHERE composition_id = ?1 ORDER BY version",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(VersionInfo {
                    version: r.get(0)?,
                    saved_at: from_millis(r.get(1)?),
                    content_hash: r.get(2)?,
                    characters: r.get::<_, i64>(3)? as usize,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn delete(&self, ids: &[String]) -> Result<usize, HistoryError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut deleted = 0;
        for id in ids {
            deleted += tx.execute("DELETE FROM compositions WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(deleted)
    }

    fn stats(&self) -> Result<HistoryStats, HistoryError> {
        let conn = self.reader();
        let (compositions, characters, oldest, newest): (i64, i64, Option<i64>, Option<i64>) = conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(char_count), 0), MIN(created_at), MAX(updated_at)
                 FROM compositions",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
        let versions: i64 =
            conn.query_row("SELECT COUNT(*) FROM composition_versions", [], |r| {
                r.get(0)
            })?;
        let tags: i64 = conn.query_row(
            "SELECT COUNT(DISTINCT tag_id) FROM composition_tags",
            [],
            |r| r.get(0),
        )?;
        let (prompt_uses, placeholder_values): (i64, i64) = conn.query_row(
            "SELECT (SELECT COUNT(*) FROM composition_prompts),
                    (SELECT COUNT(*) FROM placeholder_values)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(HistoryStats {
            compositions: compositions as usize,
            versions: versions as usize,
            characters: characters as u64,
            tags: tags as usize,
            prompt_uses: prompt_uses as usize,
            placeholder_values: placeholder_values as usize,
            oldest: oldest.map(from_millis),
            newest: newest.map(from_millis),
            everyone: None,
        })
    }

    fn index_entries(&self) -> Result<Vec<IndexEntry>, HistoryError> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare("SELECT id, file_path, content_hash, updated_at, file_size, file_mtime FROM compositions")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(IndexEntry {
                    id: r.get(0)?,
                    file_name: r.get(1)?,
                    content_hash: r.get(2)?,
                    updated_at: from_millis(r.get(3)?),
                    file_stamp: match (r.get::<_, Option<i64>>(4)?, r.get::<_, Option<i64>>(5)?) {
                        (Some(size), Some(modified_ns)) => Some(FileStamp {
                            size: size as u64,
                            modified_ns,
                        }),
                        _ => None,
                    },
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn reindex(&self) -> Result<(), HistoryError> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO compositions_fts(compositions_fts) VALUES ('rebuild')",
            [],
        )?;
        Ok(())
    }

    fn record_prompt_use(&self, source_path: &Path, prompt_id: &str) -> Result<bool, HistoryError> {
        let conn = self.writer();
        let changed = conn.execute(
            "INSERT INTO composition_prompts (composition_id, prompt_id, used_at)
             SELECT id, ?2, ?3 FROM compositions WHERE source_path = ?1
             ORDER BY updated_at DESC LIMIT 1
             ON CONFLICT(composition_id, prompt_id) DO UPDATE SET used_at = excluded.used_at",
            params![
                path_text(source_path),
                prompt_id,
                to_millis(OffsetDateTime::now_utc())
            ],
        )?;
        Ok(changed > 0)
    }

    fn compositions_using(&self, prompt_id: &str) -> Result<Vec<PromptReference>, HistoryError> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, cp.used_at FROM composition_prompts cp
             JOIN compositions c ON c.id = cp.composition_id
             WHERE cp.prompt_id = ?1 ORDER BY cp.used_at DESC, c.id"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt
            .query_map([prompt_id], |row| {
                Ok(PromptReference {
                    summary: summary_from_row(row, &self.author)?,
                    used_at: from_millis(row.get(12)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn related(&self, id: &str, limit: usize) -> Result<Vec<RelatedComposition>, HistoryError> {
        related::related(self, id, limit)
    }

    fn used_together(
        &self,
        prompt_id: &str,
        limit: usize,
    ) -> Result<Vec<PromptPairing>, HistoryError> {
        related::used_together(self, prompt_id, limit)
    }

    fn record_placeholder_values(&self, values: &[(String, String)]) -> Result<(), HistoryError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = to_millis(OffsetDateTime::now_utc());
        for (name, value) in values {
            if value.trim().is_empty() {
                continue;
            }
            tx.execute(
                // Strictly increasing per name, so "most recent first" holds within one millisecond.
                "INSERT INTO placeholder_values (name, value, used_at)
                 VALUES (?1, ?2, MAX(?3, COALESCE(
                     (SELECT MAX(used_at) + 1 FROM placeholder_values WHERE name = ?1), 0)))
                 ON CONFLICT(name, value) DO UPDATE SET used_at = excluded.used_at",
                params![name, value, now],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn placeholder_values(&self, name: &str, limit_to: usize) -> Result<Vec<String>, HistoryError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT value FROM placeholder_values WHERE name = ?1
             ORDER BY used_at DESC, rowid DESC LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![name, limit(limit_to)], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn export(
        &self,
        after: Option<&str>,
        limit_to: usize,
    ) -> Result<Vec<CompositionExport>, HistoryError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT id, file_path, source_path, working_dir, created_at, updated_at, content,
                    file_size, file_mtime
             FROM compositions WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let records = stmt
            .query_map(params![after, limit(limit_to)], |r| {
                let content: String = r.get(6)?;
                Ok(CompositionRecord {
                    id: r.get(0)?,
                    file_name: r.get(1)?,
                    source_path: r.get::<_, Option<String>>(2)?.map(PathBuf::from),
                    working_dir: r.get::<_, Option<String>>(3)?.map(PathBuf::from),
                    created_at: from_millis(r.get(4)?),
                    updated_at: from_millis(r.get(5)?),
                    tags: super::tags_of(&content),
                    content,
                    file_stamp: match (r.get::<_, Option<i64>>(7)?, r.get::<_, Option<i64>>(8)?) {
                        (Some(size), Some(modified_ns)) => Some(FileStamp {
                            size: size as u64,
                            modified_ns,
                        }),
                        _ => None,
                    },
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut versions = conn.prepare(
            "SELECT saved_at, content, content_hash FROM composition_versions
             WHERE composition_id = ?1 ORDER BY version",
        )?;
        let mut uses = conn.prepare(
            "SELECT prompt_id, used_at FROM composition_prompts WHERE composition_id = ?1
             ORDER BY prompt_id",
        )?;
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            let versions = versions
                .query_map([&record.id], |r| {
                    Ok(VersionRecord {
                        saved_at: from_millis(r.get(0)?),
                        content: r.get(1)?,
                        content_hash: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let prompt_uses = uses
                .query_map([&record.id], |r| Ok((r.get(0)?, from_millis(r.get(1)?))))?
                .collect::<Result<Vec<_>, _>>()?;
            out.push(CompositionExport {
                record,
                versions,
                prompt_uses,
            });
        }
        Ok(out)
    }

    fn import(&self, items: &[CompositionExport]) -> Result<ImportReport, HistoryError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut report = ImportReport::default();
        for item in items {
            let record = &item.record;
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT updated_at FROM compositions WHERE id = ?1",
                    [&record.id],
                    |r| r.get(0),
                )
                .optional()?;
            let newer = existing.is_none_or(|at| at < to_millis(record.updated_at));
            match existing {
                None => report.compositions_added += 1,
                Some(_) if newer => report.compositions_updated += 1,
                Some(_) => {}
            }
            let count_versions = || -> Result<usize, HistoryError> {
                let n: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM composition_versions WHERE composition_id = ?1",
                    [&record.id],
                    |r| r.get(0),
                )?;
                Ok(n as usize)
            };
            let before = count_versions()?;
            if newer {
                Self::save_in(&tx, record)?;
            }
            merge_versions_into(&tx, &record.id, &item.versions)?;
            report.versions_added += count_versions()?.saturating_sub(before);
            for (prompt, used_at) in &item.prompt_uses {
                let at = to_millis(*used_at);
                report.prompt_uses_added += tx.execute(
                    "INSERT OR IGNORE INTO composition_prompts (composition_id, prompt_id, used_at)
                     VALUES (?1, ?2, ?3)",
                    params![record.id, prompt, at],
                )?;
                tx.execute(
                    "UPDATE composition_prompts SET used_at = ?3
                     WHERE composition_id = ?1 AND prompt_id = ?2 AND used_at < ?3",
                    params![record.id, prompt, at],
                )?;
            }
        }
        tx.commit()?;
        Ok(report)
    }

    fn export_placeholder_values(&self) -> Result<Vec<PlaceholderValue>, HistoryError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare("SELECT name, value, used_at FROM placeholder_values ORDER BY name, value")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(PlaceholderValue {
                    name: r.get(0)?,
                    value: r.get(1)?,
                    used_at: from_millis(r.get(2)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn import_placeholder_values(
        &self,
        values: &[PlaceholderValue],
    ) -> Result<usize, HistoryError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut added = 0;
        for v in values {
            let at = to_millis(v.used_at);
            added += tx.execute(
                "INSERT OR IGNORE INTO placeholder_values (name, value, used_at) VALUES (?1, ?2, ?3)",
                params![v.name, v.value, at],
            )?;
            tx.execute(
                "UPDATE placeholder_values SET used_at = ?3
                 WHERE name = ?1 AND value = ?2 AND used_at < ?3",
                params![v.name, v.value, at],
            )?;
        }
        tx.commit()?;
        Ok(added)
    }
}

/// Unites `incoming` versions with the stored ones (renumbered in time order).
fn merge_versions_into(
    tx: &Transaction<'_>,
    id: &str,
    incoming: &[VersionRecord],
) -> Result<(), HistoryError> {
    let existing = tx
        .prepare(
            "SELECT saved_at, content, content_hash FROM composition_versions
             WHERE composition_id = ?1 ORDER BY version",
        )?
        .query_map([id], |r| {
            Ok(VersionRecord {
                saved_at: from_millis(r.get(0)?),
                content: r.get(1)?,
                content_hash: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let Some(merged) = merge_versions(&existing, incoming) else {
        return Ok(());
    };
    tx.execute(
        "DELETE FROM composition_versions WHERE composition_id = ?1",
        [id],
    )?;
    for (n, v) in merged.iter().enumerate() {
        tx.execute(
            "INSERT INTO composition_versions (composition_id, version, saved_at, content, content_hash)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, n as i64 + 1, to_millis(v.saved_at), v.content, v.content_hash],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testing::{record, repo};

    // The behaviour every backend shares is tested once for all in tests/history_contract.rs;
    // these are SQLite's own.

    #[test]
    fn search_folds_diacritics() {
        let (_dir, repo) = repo();
        repo.save(&record("accent", "Résumé of the café meeting", 0))
            .unwrap();
        for query in ["resume cafe", "RÉSUMÉ", "caf"] {
            let page = repo.search(query, &ListOptions::default()).unwrap();
            assert_eq!(page.total, 1, "{query}");
        }
    }

    #[test]
    fn a_corrupt_database_is_moved_aside_and_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        std::fs::write(
            &path,
            b"this is not a database, just garbage bytes \x00\x01\x02".repeat(200),
        )
        .unwrap();
        let err = SqliteRepository::open(&path, Default::default())
            .err()
            .unwrap();
        assert!(matches!(err, HistoryError::Corrupt { .. }), "{err}");
        let (repo, aside) = SqliteRepository::open_or_recover(&path, Default::default()).unwrap();
        let aside = aside.expect("moved aside");
        assert!(
            aside
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("history.db.corrupt-")
        );
        assert!(std::fs::read(&aside).unwrap().starts_with(b"this is not"));
        assert_eq!(repo.stats().unwrap().compositions, 0);
    }

    #[test]
    fn a_locked_database_fails_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let options = SqliteOptions {
            busy_timeout: Duration::from_millis(50),
        };
        let repo = SqliteRepository::open(&path, options).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let err = repo.save(&record("a", "x", 0)).unwrap_err();
        assert!(matches!(err, HistoryError::Locked), "{err}");
        assert!(err.to_string().contains("locked by another process"));
        other.execute_batch("COMMIT").unwrap();
        repo.save(&record("a", "x", 0)).unwrap();
    }

    #[test]
    fn a_newer_database_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        drop(SqliteRepository::open(&path, Default::default()).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (42, 'future', 0)",
            [],
        )
        .unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        let err = SqliteRepository::open_or_recover(&path, Default::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("schema version 42"), "{err}");
        assert!(err.to_string().contains("not modified"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
