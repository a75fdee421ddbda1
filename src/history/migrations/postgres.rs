//! The PostgreSQL schema runner: [`POSTGRES_MIGRATIONS`] applied to the team database. Every
//! step takes a transaction-scoped advisory lock, so servers starting together apply it once.

use postgres::{Client, GenericClient};
use time::OffsetDateTime;

use super::{Migration, MigrationStatus, failed, latest, pending_down, pending_up};
use crate::history::HistoryError;
use crate::history::postgres::{db_error, describe};

/// Every PostgreSQL migration, in order.
pub const POSTGRES_MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "team_history",
    up: include_str!("../../../migrations/postgres/0001_team_history.up.sql"),
    down: include_str!("../../../migrations/postgres/0001_team_history.down.sql"),
}];

/// Any number, as long as every promptstack uses the same one for its migrations.
const MIGRATION_LOCK: i64 = 0x5052_4f4d_5054;

/// The newest schema this binary knows.
pub fn latest_version() -> u32 {
    latest(POSTGRES_MIGRATIONS)
}

/// The schema version recorded in the database (0 for a new one). Never writes.
pub fn current_version(client: &mut impl GenericClient) -> Result<u32, HistoryError> {
    // A catalog query, not `to_regclass`: its snapshot sees a table another server created a
    // moment ago (the relation cache may not yet).
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables
                            WHERE schemaname = current_schema() AND tablename = 'schema_version')",
            &[],
        )
        .map_err(db_error)?;
    if !row.get::<_, bool>(0) {
        return Ok(0);
    }
    let row = client
        .query_one("SELECT MAX(version) FROM schema_version", &[])
        .map_err(db_error)?;
    Ok(row.get::<_, Option<i32>>(0).unwrap_or(0).max(0) as u32)
}

/// Fails with [`HistoryError::SchemaTooNew`] when the database is newer than this binary.
pub fn refuse_newer(client: &mut impl GenericClient) -> Result<u32, HistoryError> {
    let found = current_version(client)?;
    let known = latest_version();
    if found > known {
        return Err(HistoryError::SchemaTooNew { found, known });
    }
    Ok(found)
}

/// Applies pending migrations up to `target` (default: the latest); returns the versions applied.
pub fn migrate_up(client: &mut Client, target: Option<u32>) -> Result<Vec<u32>, HistoryError> {
    let pending = pending_up(POSTGRES_MIGRATIONS, refuse_newer(client)?, target)?;
    let mut applied = Vec::new();
    for m in pending {
        let mut tx = client.transaction().map_err(db_error)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(db_error)?;
        // Another server may have applied this step while we waited for the lock.
        if current_version(&mut tx)? >= m.version {
            continue;
        }
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (
                 version    INTEGER PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL
             )",
        )
        .map_err(db_error)?;
        tx.batch_execute(m.up)
            .map_err(|e| failed(m, describe(&e)))?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&(m.version as i32), &m.name, &OffsetDateTime::now_utc()],
        )
        .map_err(|e| failed(m, describe(&e)))?;
        tx.commit().map_err(|e| failed(m, describe(&e)))?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied.push(m.version);
    }
    Ok(applied)
}

/// Rolls back applied migrations above `to`; returns the versions undone. What the history
/// files cannot restore is kept aside for the next `migrate_up`.
pub fn migrate_down(client: &mut Client, to: u32) -> Result<Vec<u32>, HistoryError> {
    let pending = pending_down(POSTGRES_MIGRATIONS, refuse_newer(client)?, to)?;
    let mut undone = Vec::new();
    for m in pending {
        let mut tx = client.transaction().map_err(db_error)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(db_error)?;
        if current_version(&mut tx)? < m.version {
            continue;
        }
        tx.batch_execute(m.down)
            .map_err(|e| failed(m, describe(&e)))?;
        tx.execute(
            "DELETE FROM schema_version WHERE version = $1",
            &[&(m.version as i32)],
        )
        .map_err(|e| failed(m, describe(&e)))?;
        tx.commit().map_err(|e| failed(m, describe(&e)))?;
        tracing::info!(version = m.version, name = m.name, "rolled back migration");
        undone.push(m.version);
    }
    Ok(undone)
}

/// Every known migration with its applied time, if applied.
pub fn status(client: &mut Client) -> Result<Vec<MigrationStatus>, HistoryError> {
    let current = refuse_newer(client)?;
    let mut out = Vec::new();
    for m in POSTGRES_MIGRATIONS {
        let applied_at = if current == 0 {
            None
        } else {
            client
                .query_opt(
                    "SELECT applied_at FROM schema_version WHERE version = $1",
                    &[&(m.version as i32)],
                )
                .map_err(db_error)?
                .map(|row| row.get::<_, OffsetDateTime>(0))
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
pub fn kept_rows(client: &mut Client) -> Result<Vec<(String, u64)>, HistoryError> {
    let names: Vec<String> = client
        .query(
            "SELECT tablename FROM pg_tables
             WHERE schemaname = current_schema() AND tablename LIKE 'kept\\_%' ORDER BY tablename",
            &[],
        )
        .map_err(db_error)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut out = Vec::new();
    for name in names {
        let row = client
            .query_one(&format!("SELECT COUNT(*) FROM \"{name}\""), &[])
            .map_err(db_error)?;
        out.push((name, row.get::<_, i64>(0).max(0) as u64));
    }
    Ok(out)
}
