//! The SQLite schema runner: [`SQLITE_MIGRATIONS`] applied to one database file.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};
use time::OffsetDateTime;

use super::{Migration, MigrationStatus, failed, latest, pending_down, pending_up};
use crate::history::{HistoryError, from_millis, to_millis};

/// Every SQLite migration, in order.
pub const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "compositions",
        up: include_str!("../../../migrations/sqlite/0001_compositions.up.sql"),
        down: include_str!("../../../migrations/sqlite/0001_compositions.down.sql"),
    },
    Migration {
        version: 2,
        name: "usage",
        up: include_str!("../../../migrations/sqlite/0002_usage.up.sql"),
        down: include_str!("../../../migrations/sqlite/0002_usage.down.sql"),
    },
    Migration {
        version: 3,
        name: "search_prefixes",
        up: include_str!("../../../migrations/sqlite/0003_search_prefixes.up.sql"),
        down: include_str!("../../../migrations/sqlite/0003_search_prefixes.down.sql"),
    },
];

/// The newest schema this binary knows.
pub fn latest_version() -> u32 {
    latest(SQLITE_MIGRATIONS)
}

/// The schema version recorded in the database (0 for a new or empty one). Never writes.
pub fn current_version(conn: &Connection) -> Result<u32, HistoryError> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    let version: Option<u32> =
        conn.query_row("SELECT MAX(version) FROM schema_version", [], |row| {
            row.get(0)
        })?;
    Ok(version.unwrap_or(0))
}

/// Fails with [`HistoryError::SchemaTooNew`] when the database is newer than this binary.
pub fn refuse_newer(conn: &Connection) -> Result<u32, HistoryError> {
    let found = current_version(conn)?;
    let known = latest_version();
    if found > known {
        return Err(HistoryError::SchemaTooNew { found, known });
    }
    Ok(found)
}

fn ensure_version_table(conn: &Connection) -> Result<(), HistoryError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at INTEGER NOT NULL
         )",
    )?;
    Ok(())
}

/// Applies pending migrations up to `target` (default: the latest); returns the versions applied.
pub fn migrate_up(conn: &mut Connection, target: Option<u32>) -> Result<Vec<u32>, HistoryError> {
    let pending = pending_up(SQLITE_MIGRATIONS, refuse_newer(conn)?, target)?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    ensure_version_table(conn)?;
    let mut applied = Vec::new();
    for m in pending {
        // IMMEDIATE, then look again: another process opening the same new database may have
        // applied this step while we waited for the lock.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if current_version(&tx)? >= m.version {
            continue;
        }
        tx.execute_batch(m.up).map_err(|e| failed(m, e))?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, m.name, to_millis(OffsetDateTime::now_utc())],
        )
        .map_err(|e| failed(m, e))?;
        tx.commit().map_err(|e| failed(m, e))?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied.push(m.version);
    }
    Ok(applied)
}

/// Rolls back applied migrations above `to` (0 empties the schema); returns the versions undone.
/// What the history files cannot restore is kept aside for the next `migrate_up`.
pub fn migrate_down(conn: &mut Connection, to: u32) -> Result<Vec<u32>, HistoryError> {
    let pending = pending_down(SQLITE_MIGRATIONS, refuse_newer(conn)?, to)?;
    let mut undone = Vec::new();
    for m in pending {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if current_version(&tx)? < m.version {
            continue;
        }
        tx.execute_batch(m.down).map_err(|e| failed(m, e))?;
        tx.execute("DELETE FROM schema_version WHERE version = ?1", [m.version])
            .map_err(|e| failed(m, e))?;
        tx.commit().map_err(|e| failed(m, e))?;
        tracing::info!(version = m.version, name = m.name, "rolled back migration");
        undone.push(m.version);
    }
    Ok(undone)
}

/// Every known migration with its applied time, if applied.
pub fn status(conn: &Connection) -> Result<Vec<MigrationStatus>, HistoryError> {
    let current = refuse_newer(conn)?;
    let mut out = Vec::new();
    for m in SQLITE_MIGRATIONS {
        let applied_at = if current == 0 {
            None
        } else {
            conn.query_row(
                "SELECT applied_at FROM schema_version WHERE version = ?1",
                [m.version],
                |row| row.get::<_, i64>(0),
            )
            .optional()?
            .map(from_millis)
        };
        out.push(MigrationStatus {
            version: m.version,
            name: m.name.to_string(),
            applied_at,
        });
    }
    Ok(out)
}

/// Rows kept aside by down-migrations, per kept table (empty when nothing is kept).
pub fn kept_rows(conn: &Connection) -> Result<Vec<(String, u64)>, HistoryError> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'kept\\_%' ESCAPE '\\'
             ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for name in names {
        let rows: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM \"{name}\""), [], |r| {
            r.get(0)
        })?;
        out.push((name, rows.max(0) as u64));
    }
    Ok(out)
}

/// Opens a database file for the `migrate` command without applying anything.
pub fn open_for_migration(path: &Path) -> Result<Connection, HistoryError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| HistoryError::io("cannot create directory", dir, e))?;
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'compositions_fts_%'
                 ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn apply_roll_back_to_zero_and_reapply() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_for_migration(&dir.path().join("h.db")).unwrap();
        assert!(
            status(&conn)
                .unwrap()
                .iter()
                .all(|s| s.applied_at.is_none())
        );
        assert_eq!(migrate_up(&mut conn, None).unwrap(), vec![1, 2, 3]);
        assert_eq!(current_version(&conn).unwrap(), 3);
        let full = tables(&conn);
        assert!(full.contains(&"placeholder_values".to_string()), "{full:?}");
        assert!(!full.iter().any(|t| t.starts_with("kept_")), "{full:?}");
        assert!(
            migrate_up(&mut conn, None).unwrap().is_empty(),
            "idempotent"
        );

        assert_eq!(migrate_down(&mut conn, 1).unwrap(), vec![3, 2]);
        assert!(!tables(&conn).contains(&"placeholder_values".to_string()));
        let st = status(&conn).unwrap();
        assert!(st[0].applied_at.is_some() && st[1].applied_at.is_none());

        assert_eq!(migrate_down(&mut conn, 0).unwrap(), vec![1]);
        let left: Vec<String> = tables(&conn)
            .into_iter()
            .filter(|t| !t.starts_with("kept_"))
            .collect();
        assert_eq!(left, vec!["schema_version"]);
        assert_eq!(current_version(&conn).unwrap(), 0);

        assert_eq!(migrate_up(&mut conn, Some(1)).unwrap(), vec![1]);
        assert_eq!(migrate_up(&mut conn, None).unwrap(), vec![2, 3]);
        assert_eq!(tables(&conn), full);
        assert!(kept_rows(&conn).unwrap().is_empty());
    }

    /// What only the database knows (older versions, prompt uses, placeholder values) survives
    /// a round trip down to any version and back up.
    #[test]
    fn down_and_up_keep_what_the_files_cannot_restore() {
        use crate::history::testing::record;
        use crate::history::{CompositionRepository, SqliteRepository};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let repo = SqliteRepository::open(&path, Default::default()).unwrap();
        repo.save(&record("a", "first draft", 0)).unwrap();
        repo.save(&record("a", "second draft", 1)).unwrap();
        repo.record_prompt_use(std::path::Path::new("/w/a.prompt.md"), "commands/review")
            .unwrap();
        repo.record_placeholder_values(&[("lang".into(), "Rust".into())])
            .unwrap();
        drop(repo);
        for to in [1, 0] {
            let mut conn = open_for_migration(&path).unwrap();
            migrate_down(&mut conn, to).unwrap();
            let kept = kept_rows(&conn).unwrap();
            assert!(
                kept.contains(&("kept_0002_placeholder_values".into(), 1)),
                "{kept:?}"
            );
            drop(conn);
            let repo = SqliteRepository::open(&path, Default::default()).unwrap();
            assert_eq!(repo.versions("a").unwrap().len(), 2, "down to {to}");
            assert_eq!(repo.compositions_using("commands/review").unwrap().len(), 1);
            assert_eq!(repo.placeholder_values("lang", 5).unwrap(), ["Rust"]);
            assert_eq!(repo.search("second", &Default::default()).unwrap().total, 1);
        }
    }

    #[test]
    fn a_newer_database_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let mut conn = open_for_migration(&path).unwrap();
        migrate_up(&mut conn, None).unwrap();
        conn.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 0)",
            [],
        )
        .unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        let mut conn = open_for_migration(&path).unwrap();
        for result in [
            migrate_up(&mut conn, None).map(|_| ()),
            migrate_down(&mut conn, 0).map(|_| ()),
            status(&conn).map(|_| ()),
        ] {
            let err = result.unwrap_err();
            assert!(
                matches!(err, HistoryError::SchemaTooNew { found: 99, .. }),
                "{err}"
            );
        }
        drop(conn);
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn concurrent_first_opens_apply_each_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut conn = open_for_migration(&path).unwrap();
                    migrate_up(&mut conn, None).map(|v| v.len())
                })
            })
            .collect();
        let applied: usize = workers
            .into_iter()
            .map(|w| w.join().unwrap().unwrap())
            .sum();
        assert_eq!(applied, SQLITE_MIGRATIONS.len());
    }

    #[test]
    fn a_failing_migration_is_rolled_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_for_migration(&dir.path().join("h.db")).unwrap();
        migrate_up(&mut conn, Some(1)).unwrap();
        // A table in the way makes migration 2 fail half way; nothing of it may remain.
        conn.execute_batch("CREATE TABLE placeholder_values (x)")
            .unwrap();
        let err = migrate_up(&mut conn, None).unwrap_err();
        assert!(
            matches!(err, HistoryError::Migration { version: 2, .. }),
            "{err}"
        );
        assert_eq!(current_version(&conn).unwrap(), 1);
        assert!(!tables(&conn).contains(&"composition_prompts".to_string()));
    }
}
