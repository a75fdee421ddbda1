//! The PostgreSQL history: one database shared by a team. Every row is keyed by its origin (the
//! history directory that saved it) and id, and names its author and machine. Saves are
//! idempotent upserts (a repeated save adds no version); sync, cleanup and delete touch only
//! this history's own rows; search, list, references and placeholder values see everyone's.
//!
//! The server is connected to on first use, so an unreachable database never stops the history
//! from opening: calls fail with [`HistoryError::Unreachable`] and the recorder retries.

mod copy;
mod pool;
mod related;
mod search;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use postgres::types::ToSql;
use postgres::{GenericClient, Row};
use time::OffsetDateTime;

pub use pool::{ConnectSettings, TlsMode};

use super::identity::{qualified, split_qualified};
use super::migrations::postgres as schema;
use super::{
    Composition, CompositionExport, CompositionRecord, CompositionRepository, CompositionSummary,
    FileStamp, HistoryError, HistoryStats, Identity, ImportReport, IndexEntry, ListOptions, Page,
    PlaceholderValue, PromptReference, SearchHit, SortOrder, StoredVersion, VersionInfo,
    content_hash, title_of,
};
use super::{PromptPairing, RelatedComposition};
use crate::document::TextStats;
use pool::{Conn, Pool};

/// Most rows a listing counts; beyond it the total is reported as capped.
const LIST_COUNT_CAP: i64 = 10_000;

/// A query parameter.
type Param = Box<dyn ToSql + Sync + Send>;

/// The team backend.
pub struct PostgresRepository {
    pool: Pool,
    identity: Identity,
}

/// A driver error as a sentence for the user (the server's message when it sent one).
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            text
        }
        None => {
            // The driver's own message is short ("error connecting to server"); the cause says
            // what happened ("Connection refused").
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.contains(&cause_text) {
                    text.push_str(&format!(": {cause_text}"));
                }
                source = cause.source();
            }
            text
        }
    }
}

/// A driver error as a history error: a lost or refused connection is "unreachable".
pub(crate) fn db_error(e: postgres::Error) -> HistoryError {
    use postgres::error::SqlState;
    let lost = e.is_closed()
        || e.as_db_error().is_none()
        || e.code().is_some_and(|code| {
            [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(code)
        });
    if lost {
        HistoryError::Unreachable {
            reason: describe(&e),
        }
    } else {
        HistoryError::Database(describe(&e))
    }
}

const SUMMARY_COLUMNS: &str = "c.origin, c.id, c.file_path, c.source_path, c.working_dir, \
     c.created_at, c.updated_at, c.char_count, c.line_count, c.content_hash, \
     (SELECT COALESCE(MAX(v.version), 0) FROM composition_versions v \
        WHERE v.origin = c.origin AND v.id = c.id), \
     c.tags, left(c.content, 2000), c.author, c.machine";
/// Columns in [`SUMMARY_COLUMNS`]; extra columns of a query follow.
const SUMMARY_WIDTH: usize = 15;

/// Every stored column of a composition row, in the order [`save_statement`] takes them.
const SAVE_SQL: &str = "
WITH input AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
            $7::timestamptz[], $8::text[], $9::int4[], $10::int4[], $11::text[], $12::int8[],
            $13::int8[], $14::text[]) WITH ORDINALITY
        AS i(id, file_path, source_path, working_dir, created_at, updated_at, content,
             char_count, line_count, content_hash, file_size, file_mtime, tags, ord)
),
prev AS (
    SELECT c.id, c.content_hash,
        (SELECT COALESCE(MAX(v.version), 0) FROM composition_versions v
         WHERE v.origin = c.origin AND v.id = c.id) AS version
    FROM compositions c JOIN input i ON i.id = c.id
    WHERE c.origin = $1
    FOR UPDATE OF c
),
upsert AS (
    INSERT INTO compositions AS c (origin, id, author, machine, file_path, source_path,
        working_dir, created_at, updated_at, content, char_count, line_count, content_hash,
        file_size, file_mtime, tags)
    SELECT $1, i.id, $15, $16, i.file_path, i.source_path, i.working_dir, i.created_at,
        i.updated_at, i.content, i.char_count, i.line_count, i.content_hash, i.file_size,
        i.file_mtime, string_to_array(i.tags, chr(31))
    FROM input i
    ON CONFLICT (origin, id) DO UPDATE SET
        author = excluded.author, machine = excluded.machine, file_path = excluded.file_path,
        source_path = excluded.source_path, working_dir = excluded.working_dir,
        created_at = excluded.created_at, updated_at = excluded.updated_at,
        content = excluded.content, char_count = excluded.char_count,
        line_count = excluded.line_count, content_hash = excluded.content_hash,
        file_size = excluded.file_size, file_mtime = excluded.file_mtime, tags = excluded.tags
    WHERE (c.content_hash, c.updated_at, c.file_path, c.source_path, c.working_dir,
           c.created_at, c.file_size, c.file_mtime, c.tags, c.author, c.machine)
        IS DISTINCT FROM
          (excluded.content_hash, excluded.updated_at, excluded.file_path, excluded.source_path,
           excluded.working_dir, excluded.created_at, excluded.file_size, excluded.file_mtime,
           excluded.tags, excluded.author, excluded.machine)
),
added AS (
    INSERT INTO composition_versions (origin, id, version, saved_at, content, content_hash)
    SELECT $1, i.id, COALESCE(p.version, 0) + 1, i.updated_at, i.content, i.content_hash
    FROM input i LEFT JOIN prev p ON p.id = i.id
    WHERE p.id IS NULL OR p.version = 0 OR p.content_hash <> i.content_hash
    RETURNING id, version
)
SELECT (p.id IS NULL) AS created, (a.id IS NOT NULL) AS changed,
    COALESCE(a.version, p.version, 0)::int4 AS version
FROM input i LEFT JOIN prev p ON p.id = i.id LEFT JOIN added a ON a.id = i.id
ORDER BY i.ord";

/// Text as PostgreSQL can store it: a `text` value cannot hold NUL, so NUL becomes U+FFFD
/// (content hashes are of the original, so the history file still matches its row).
pub(crate) fn clean(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

fn path_text(path: &Path) -> String {
    clean(&path.to_string_lossy())
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PostgresRepository {
    /// A repository over the database in `settings`, saving as `identity`. Connects (and applies
    /// pending migrations, refusing a newer schema) on first use.
    pub fn new(settings: ConnectSettings, identity: Identity) -> Self {
        let schema_ready = Arc::new(AtomicBool::new(false));
        let on_connect: pool::OnConnect = Box::new(move |conn: &mut Conn| {
            // Plans made for the actual query words: a common word and a rare one need
            // different plans (see `search`).
            conn.client
                .batch_execute("SET plan_cache_mode = force_custom_plan")
                .map_err(db_error)?;
            if !schema_ready.load(Ordering::Acquire) {
                schema::migrate_up(&mut conn.client, None)?;
                schema_ready.store(true, Ordering::Release);
            }
            Ok(())
        });
        PostgresRepository {
            pool: Pool::new(settings, on_connect),
            identity,
        }
    }

    /// Who this repository saves as.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The database URL with the password masked.
    pub fn masked_url(&self) -> &str {
        &self.pool.settings().masked_url
    }

    /// Rows of `query` mapped to summaries of what this repository sees.
    fn summary_from_row(&self, row: &Row) -> CompositionSummary {
        let origin: String = row.get(0);
        let id: String = row.get(1);
        let foreign = origin != self.identity.origin;
        let mut tags: Vec<String> = row.get(11);
        tags.sort();
        let head: String = row.get(12);
        CompositionSummary {
            id: if foreign { qualified(&id, &origin) } else { id },
            file_name: row.get(2),
            source_path: row.get::<_, Option<String>>(3).map(Into::into),
            working_dir: row.get::<_, Option<String>>(4).map(Into::into),
            created_at: row.get(5),
            updated_at: row.get(6),
            characters: count(i64::from(row.get::<_, i32>(7))),
            lines: count(i64::from(row.get::<_, i32>(8))),
            content_hash: row.get(9),
            version: row.get::<_, i32>(10).max(0) as u32,
            tags,
            title: title_of(&head),
            author: Some(row.get(13)),
            machine: Some(row.get(14)),
            origin: foreign.then_some(origin),
        }
    }

    /// The origin and bare id an id (possibly `id@origin`) names.
    fn key(&self, id: &str) -> (String, String) {
        let (bare, origin) = split_qualified(id);
        (
            origin.unwrap_or(&self.identity.origin).to_string(),
            clean(bare),
        )
    }

    /// Saves `records` (no id twice) in `client`'s transaction; one statement per call.
    fn save_statement(
        &self,
        client: &mut impl GenericClient,
        statement: &postgres::Statement,
        records: &[CompositionRecord],
    ) -> Result<Vec<StoredVersion>, postgres::Error> {
        let mut cols = SaveColumns::default();
        for r in records {
            let stats = TextStats::of(&r.content);
            let mut tags = r.tags.clone();
            tags.sort();
            tags.dedup();
            cols.id.push(clean(&r.id));
            cols.file_path.push(clean(&r.file_name));
            cols.source_path
                .push(r.source_path.as_deref().map(path_text));
            cols.working_dir
                .push(r.working_dir.as_deref().map(path_text));
            cols.created_at.push(r.created_at);
            cols.updated_at.push(r.updated_at);
            cols.content.push(clean(&r.content));
            cols.char_count
                .push(i32::try_from(stats.characters).unwrap_or(i32::MAX));
            cols.line_count
                .push(i32::try_from(stats.lines).unwrap_or(i32::MAX));
            cols.content_hash.push(content_hash(&r.content));
            cols.file_size.push(
                r.file_stamp
                    .map(|s| i64::try_from(s.size).unwrap_or(i64::MAX)),
            );
            cols.file_mtime.push(r.file_stamp.map(|s| s.modified_ns));
            cols.tags.push(clean(&tags.join("\u{1f}")));
        }
        let rows = client.query(
            statement,
            &[
                &self.identity.origin,
                &cols.id,
                &cols.file_path,
                &cols.source_path,
                &cols.working_dir,
                &cols.created_at,
                &cols.updated_at,
                &cols.content,
                &cols.char_count,
                &cols.line_count,
                &cols.content_hash,
                &cols.file_size,
                &cols.file_mtime,
                &cols.tags,
                &self.identity.author,
                &self.identity.machine,
            ],
        )?;
        Ok(rows
            .iter()
            .map(|row| StoredVersion {
                created: row.get(0),
                changed: row.get(1),
                version: row.get::<_, i32>(2).max(0) as u32,
            })
            .collect())
    }

    /// Runs `work` in one transaction on a pooled connection, once more after a conflict with a
    /// concurrent writer of the same rows.
    fn in_transaction<T>(
        &self,
        mut work: impl FnMut(&mut postgres::Transaction<'_>, &Prepared) -> Result<T, postgres::Error>,
    ) -> Result<T, HistoryError> {
        use postgres::error::SqlState;
        self.pool.run(|conn| {
            let prepared = Prepared {
                save: conn.prepared(SAVE_SQL).map_err(db_error)?,
            };
            let mut attempt = 0;
            loop {
                attempt += 1;
                let result: Result<T, postgres::Error> = (|| {
                    let mut tx = conn.client.transaction()?;
                    let value = work(&mut tx, &prepared)?;
                    tx.commit()?;
                    Ok(value)
                })();
                match result {
                    Err(e)
                        if attempt == 1
                            && e.code().is_some_and(|c| {
                                [
                                    SqlState::UNIQUE_VIOLATION,
                                    SqlState::T_R_SERIALIZATION_FAILURE,
                                    SqlState::T_R_DEADLOCK_DETECTED,
                                ]
                                .contains(c)
                            }) => {}
                    other => return other.map_err(db_error),
                }
            }
        })
    }

    /// One query on a pooled connection, with its statement prepared once per connection.
    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, HistoryError> {
        self.pool.run(|conn| {
            let statement = conn.prepared(sql).map_err(db_error)?;
            conn.client.query(&statement, params).map_err(db_error)
        })
    }
}

/// Statements every transaction may need.
struct Prepared {
    save: postgres::Statement,
}

/// The columns of [`SAVE_SQL`]'s input, one vector per column.
#[derive(Default)]
struct SaveColumns {
    id: Vec<String>,
    file_path: Vec<String>,
    source_path: Vec<Option<String>>,
    working_dir: Vec<Option<String>>,
    created_at: Vec<OffsetDateTime>,
    updated_at: Vec<OffsetDateTime>,
    content: Vec<String>,
    char_count: Vec<i32>,
    line_count: Vec<i32>,
    content_hash: Vec<String>,
    file_size: Vec<Option<i64>>,
    file_mtime: Vec<Option<i64>>,
    tags: Vec<String>,
}

/// SQL conditions (on alias `c`) for the filters of `options`, numbering parameters from `next`.
fn filters(options: &ListOptions, mut next: usize) -> (String, Vec<Param>) {
    let mut sql = String::new();
    let mut params: Vec<Param> = Vec::new();
    let mut add = |condition: &str, param: Param| {
        sql.push_str(&condition.replace('?', &format!("${next}")));
        next += 1;
        params.push(param);
    };
    if let Some(dir) = &options.working_dir {
        add(" AND c.working_dir = ?", Box::new(path_text(dir)));
    }
    if let Some(from) = options.updated_from {
        add(" AND c.updated_at >= ?", Box::new(from));
    }
    if let Some(until) = options.updated_until {
        add(" AND c.updated_at < ?", Box::new(until));
    }
    if !options.tags.is_empty() {
        let tags: Vec<String> = options.tags.iter().map(|t| clean(t)).collect();
        add(" AND c.tags @> ?::text[]", Box::new(tags));
    }
    if let Some(author) = &options.author {
        add(" AND c.author = ?", Box::new(clean(author)));
    }
    (sql, params)
}

fn order_by(sort: SortOrder) -> &'static str {
    match sort {
        SortOrder::UpdatedDesc => "c.updated_at DESC, c.id DESC",
        SortOrder::UpdatedAsc => "c.updated_at ASC, c.id ASC",
        SortOrder::CreatedDesc => "c.created_at DESC, c.id DESC",
        SortOrder::CreatedAsc => "c.created_at ASC, c.id ASC",
    }
}

fn as_params(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl CompositionRepository for PostgresRepository {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn save(&self, record: &CompositionRecord) -> Result<StoredVersion, HistoryError> {
        self.save_many(std::slice::from_ref(record))?
            .pop()
            .ok_or_else(|| HistoryError::Database("save stored nothing".into()))
    }

    fn save_many(&self, records: &[CompositionRecord]) -> Result<Vec<StoredVersion>, HistoryError> {
        // One statement cannot update a row twice.
        let groups = super::runs_without_repeats(records);
        self.in_transaction(|tx, prepared| {
            let mut out = Vec::with_capacity(records.len());
            for group in groups.iter().filter(|g| !g.is_empty()) {
                out.extend(self.save_statement(tx, &prepared.save, group)?);
            }
            Ok(out)
        })
    }

    fn load(&self, id: &str) -> Result<Option<Composition>, HistoryError> {
        let (origin, bare) = self.key(id);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, c.content FROM compositions c
             WHERE c.origin = $1 AND c.id = $2"
        );
        let rows = self.query(&sql, &[&origin, &bare])?;
        Ok(rows.first().map(|row| Composition {
            summary: self.summary_from_row(row),
            content: row.get(SUMMARY_WIDTH),
        }))
    }

    fn find_by_source(
        &self,
        source_path: &Path,
    ) -> Result<Option<CompositionSummary>, HistoryError> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM compositions c
             WHERE c.origin = $1 AND c.source_path = $2 ORDER BY c.updated_at DESC LIMIT 1"
        );
        let rows = self.query(&sql, &[&self.identity.origin, &path_text(source_path)])?;
        Ok(rows.first().map(|row| self.summary_from_row(row)))
    }

    fn search(&self, query: &str, options: &ListOptions) -> Result<Page<SearchHit>, HistoryError> {
        search::search(self, query, options)
    }

    fn list(&self, options: &ListOptions) -> Result<Page<CompositionSummary>, HistoryError> {
        let (conditions, params) = filters(options, 3);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM compositions c WHERE true{conditions}
             ORDER BY {} LIMIT $1 OFFSET $2",
            order_by(options.sort)
        );
        let (limit_to, offset) = (limit(options.limit), limit(options.offset));
        let mut all: Vec<&(dyn ToSql + Sync)> = vec![&limit_to, &offset];
        all.extend(as_params(&params));
        let items: Vec<CompositionSummary> = self
            .query(&sql, &all)?
            .iter()
            .map(|row| self.summary_from_row(row))
            .collect();
        // Counting a million rows for a picker is the slow part of a listing: count up to a cap.
        let (conditions, params) = filters(options, 2);
        let count_sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM compositions c WHERE true{conditions} LIMIT $1) t"
        );
        let cap = LIST_COUNT_CAP + 1;
        let mut all: Vec<&(dyn ToSql + Sync)> = vec![&cap];
        all.extend(as_params(&params));
        let counted: i64 = self.query(&count_sql, &all)?[0].get(0);
        Ok(Page {
            items,
            total: count(counted.min(LIST_COUNT_CAP)),
            capped: counted > LIST_COUNT_CAP,
        })
    }

    fn versions(&self, id: &str) -> Result<Vec<VersionInfo>, HistoryError> {
        let (origin, bare) = self.key(id);
        let rows = self.query(
            "SELECT version, saved_at, content_hash, char_length(content) FROM composition_versions
             WHERE origin = $1 AND id = $2 ORDER BY version",
            &[&origin, &bare],
        )?;
        Ok(rows
            .iter()
            .map(|r| VersionInfo {
                version: r.get::<_, i32>(0).max(0) as u32,
                saved_at: r.get(1),
                content_hash: r.get(2),
                characters: count(i64::from(r.get::<_, i32>(3))),
            })
            .collect())
    }

    fn delete(&self, ids: &[String]) -> Result<usize, HistoryError> {
        // Only this history's own compositions: other people's are not ours to remove.
        let own: Vec<String> = ids
            .iter()
            .map(|id| split_qualified(id))
            .filter(|(_, origin)| origin.is_none_or(|o| o == self.identity.origin))
            .map(|(bare, _)| clean(bare))
            .collect();
        let deleted = self.in_transaction(|tx, _| {
            tx.execute(
                "DELETE FROM compositions WHERE origin = $1 AND id = ANY($2)",
                &[&self.identity.origin, &own],
            )
        })?;
        Ok(count(i64::try_from(deleted).unwrap_or(0)))
    }

    fn stats(&self) -> Result<HistoryStats, HistoryError> {
        let rows = self.query(
            "SELECT
                 (SELECT COUNT(*) FROM compositions WHERE origin = $1),
                 (SELECT COALESCE(SUM(char_count), 0)::int8 FROM compositions WHERE origin = $1),
                 (SELECT MIN(created_at) FROM compositions WHERE origin = $1),
                 (SELECT MAX(updated_at) FROM compositions WHERE origin = $1),
                 (SELECT COUNT(*) FROM composition_versions WHERE origin = $1),
                 (SELECT COUNT(DISTINCT t) FROM compositions, unnest(tags) t WHERE origin = $1),
                 (SELECT COUNT(*) FROM composition_prompts WHERE origin = $1),
                 (SELECT COUNT(*) FROM placeholder_values),
                 (SELECT COUNT(*) FROM compositions)",
            &[&self.identity.origin],
        )?;
        let r = &rows[0];
        Ok(HistoryStats {
            compositions: count(r.get(0)),
            characters: r.get::<_, i64>(1).max(0) as u64,
            oldest: r.get(2),
            newest: r.get(3),
            versions: count(r.get(4)),
            tags: count(r.get(5)),
            prompt_uses: count(r.get(6)),
            placeholder_values: count(r.get(7)),
            everyone: Some(count(r.get(8))),
        })
    }

    fn index_entries(&self) -> Result<Vec<IndexEntry>, HistoryError> {
        let rows = self.query(
            "SELECT id, file_path, content_hash, updated_at, file_size, file_mtime
             FROM compositions WHERE origin = $1",
            &[&self.identity.origin],
        )?;
        Ok(rows
            .iter()
            .map(|r| IndexEntry {
                id: r.get(0),
                file_name: r.get(1),
                content_hash: r.get(2),
                updated_at: r.get(3),
                file_stamp: match (r.get::<_, Option<i64>>(4), r.get::<_, Option<i64>>(5)) {
                    (Some(size), Some(modified_ns)) => Some(FileStamp {
                        size: size.max(0) as u64,
                        modified_ns,
                    }),
                    _ => None,
                },
            })
            .collect())
    }

    fn reindex(&self) -> Result<(), HistoryError> {
        // The search column is generated and its index kept by PostgreSQL, so nothing derived
        // goes stale; fresh planner statistics are what a rebuild can still improve.
        self.pool.run(|conn| {
            conn.client
                .batch_execute("ANALYZE compositions")
                .map_err(db_error)
        })
    }

    fn record_prompt_use(&self, source_path: &Path, prompt_id: &str) -> Result<bool, HistoryError> {
        let changed = self.in_transaction(|tx, _| {
            tx.execute(
                "INSERT INTO composition_prompts (origin, id, prompt_id, used_at)
                 SELECT origin, id, $3, $4 FROM compositions
                 WHERE origin = $1 AND source_path = $2 ORDER BY updated_at DESC LIMIT 1
                 ON CONFLICT (origin, id, prompt_id) DO UPDATE SET used_at = excluded.used_at",
                &[
                    &self.identity.origin,
                    &path_text(source_path),
                    &clean(prompt_id),
                    &OffsetDateTime::now_utc(),
                ],
            )
        })?;
        Ok(changed > 0)
    }

    fn compositions_using(&self, prompt_id: &str) -> Result<Vec<PromptReference>, HistoryError> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, cp.used_at FROM composition_prompts cp
             JOIN compositions c ON c.origin = cp.origin AND c.id = cp.id
             WHERE cp.prompt_id = $1 ORDER BY cp.used_at DESC, c.id LIMIT 1000"
        );
        Ok(self
            .query(&sql, &[&clean(prompt_id)])?
            .iter()
            .map(|row| PromptReference {
                summary: self.summary_from_row(row),
                used_at: row.get(SUMMARY_WIDTH),
            })
            .collect())
    }

    fn related(&self, id: &str, limit_to: usize) -> Result<Vec<RelatedComposition>, HistoryError> {
        related::related(self, id, limit_to)
    }

    fn used_together(
        &self,
        prompt_id: &str,
        limit_to: usize,
    ) -> Result<Vec<PromptPairing>, HistoryError> {
        related::used_together(self, prompt_id, limit_to)
    }

    fn record_placeholder_values(&self, values: &[(String, String)]) -> Result<(), HistoryError> {
        let now = OffsetDateTime::now_utc();
        self.in_transaction(|tx, _| {
            for (name, value) in values {
                if value.trim().is_empty() {
                    continue;
                }
                // Strictly increasing per name, so "most recent first" holds within a millisecond.
                tx.execute(
                    "INSERT INTO placeholder_values (name, value, used_at, author)
                     VALUES ($1, $2, GREATEST($3, (SELECT MAX(used_at) + interval '1 millisecond'
                                                   FROM placeholder_values WHERE name = $1)), $4)
                     ON CONFLICT (name, value) DO UPDATE
                         SET used_at = excluded.used_at, author = excluded.author",
                    &[&clean(name), &clean(value), &now, &self.identity.author],
                )?;
            }
            Ok(())
        })
    }

    fn placeholder_values(&self, name: &str, limit_to: usize) -> Result<Vec<String>, HistoryError> {
        let rows = self.query(
            "SELECT value FROM placeholder_values WHERE name = $1
             ORDER BY used_at DESC, value LIMIT $2",
            &[&clean(name), &limit(limit_to)],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn export(
        &self,
        after: Option<&str>,
        limit_to: usize,
    ) -> Result<Vec<CompositionExport>, HistoryError> {
        copy::export(self, after, limit_to)
    }

    fn import(&self, items: &[CompositionExport]) -> Result<ImportReport, HistoryError> {
        copy::import(self, items)
    }

    fn export_placeholder_values(&self) -> Result<Vec<PlaceholderValue>, HistoryError> {
        let rows = self.query(
            "SELECT name, value, used_at FROM placeholder_values ORDER BY name, value",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| PlaceholderValue {
                name: r.get(0),
                value: r.get(1),
                used_at: r.get(2),
            })
            .collect())
    }

    fn import_placeholder_values(
        &self,
        values: &[PlaceholderValue],
    ) -> Result<usize, HistoryError> {
        self.in_transaction(|tx, _| {
            let mut added = 0;
            for v in values {
                let row = tx.query_one(
                    "INSERT INTO placeholder_values (name, value, used_at, author)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (name, value) DO UPDATE
                         SET used_at = GREATEST(placeholder_values.used_at, excluded.used_at)
                     RETURNING (xmax = 0)",
                    &[
                        &clean(&v.name),
                        &clean(&v.value),
                        &v.used_at,
                        &self.identity.author,
                    ],
                )?;
                if row.get::<_, bool>(0) {
                    added += 1;
                }
            }
            Ok(added)
        })
    }
}
