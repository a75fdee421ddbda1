//! The graph schema runner: [`GRAPH_MIGRATIONS`] (indexes of the FalkorDB graph) applied to the
//! graph, each applied step recorded as a `(:SchemaVersion)` node in the graph itself. Servers
//! starting together may both apply a step: creating an index that exists is not an error here.

use falkordb::FalkorSyncClient;
use falkordb::FalkorValue as Value;
use time::OffsetDateTime;

use super::{Migration, MigrationStatus, failed, latest, pending_down, pending_up};
use crate::history::graph::{GraphSettings, run_on};
use crate::history::{HistoryError, from_millis, to_millis};

/// Every graph migration, in order.
pub const GRAPH_MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "graph_schema",
    up: include_str!("../../../migrations/graph/0001_graph_schema.up.cypher"),
    down: include_str!("../../../migrations/graph/0001_graph_schema.down.cypher"),
}];

/// The newest schema this binary knows.
pub fn latest_version() -> u32 {
    latest(GRAPH_MIGRATIONS)
}

/// The statements of a migration file: `;`-terminated, `//` comment lines left out.
fn statements(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    code.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Applied steps recorded in the graph: (version, name, applied at), by version.
fn recorded(
    settings: &GraphSettings,
    client: &FalkorSyncClient,
) -> Result<Vec<(u32, String, OffsetDateTime)>, HistoryError> {
    let rows = run_on(
        client,
        &settings.graph_name,
        "MATCH (s:SchemaVersion) RETURN s.version, s.name, s.applied_at ORDER BY s.version",
        Vec::new(),
    )
    .map_err(|e| settings.error(e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let int = |v: &Value| match v {
                Value::I64(n) => *n,
                _ => 0,
            };
            let name = match &r[1] {
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            (
                u32::try_from(int(&r[0])).unwrap_or(0),
                name,
                from_millis(int(&r[2])),
            )
        })
        .collect())
}

/// The schema version recorded in the graph (0 for a new one).
pub fn current_version(
    settings: &GraphSettings,
    client: &FalkorSyncClient,
) -> Result<u32, HistoryError> {
    Ok(recorded(settings, client)?
        .iter()
        .map(|(v, _, _)| *v)
        .max()
        .unwrap_or(0))
}

/// Fails with [`HistoryError::SchemaTooNew`] when the graph is newer than this binary.
pub fn refuse_newer(
    settings: &GraphSettings,
    client: &FalkorSyncClient,
) -> Result<u32, HistoryError> {
    let found = current_version(settings, client)?;
    let known = latest_version();
    if found > known {
        return Err(HistoryError::SchemaTooNew { found, known });
    }
    Ok(found)
}

/// Runs a step's statements; an index that already exists (or is already gone) is no error.
fn apply(
    settings: &GraphSettings,
    client: &FalkorSyncClient,
    m: &Migration,
    text: &str,
) -> Result<(), HistoryError> {
    for statement in statements(text) {
        if let Err(e) = run_on(client, &settings.graph_name, &statement, Vec::new()) {
            let message = e.to_string();
            let lower = message.to_ascii_lowercase();
            let settled = [
                "already indexed",
                "already exists",
                "unable to drop",
                "not exist",
            ]
            .iter()
            .any(|w| lower.contains(w));
            if !settled {
                return Err(match settings.error(e) {
                    unreachable @ HistoryError::Unreachable { .. } => unreachable,
                    _ => failed(m, message),
                });
            }
        }
    }
    Ok(())
}

/// Applies pending migrations up to `target` (default: the latest); returns the versions applied.
pub fn migrate_up(
    settings: &GraphSettings,
    client: &FalkorSyncClient,
    target: Option<u32>,
) -> Result<Vec<u32>, HistoryError> {
    let pending = pending_up(GRAPH_MIGRATIONS, refuse_newer(settings, client)?, target)?;
    let mut applied = Vec::new();
    for m in pending {
        apply(settings, client, m, m.up)?;
        run_on(
            client,
            &settings.graph_name,
            "MERGE (s:SchemaVersion {version: $version}) SET s.name = $name, s.applied_at = $at",
            vec![
                ("version", Value::I64(i64::from(m.version))),
                ("name", Value::String(m.name.to_string())),
                ("at", Value::I64(to_millis(OffsetDateTime::now_utc()))),
            ],
        )
        .map_err(|e| settings.error(e))?;
        applied.push(m.version);
    }
    Ok(applied)
}

/// Rolls back migrations above `to`, newest first; returns the versions rolled back. Only
/// indexes go: every node and relationship stays.
pub fn migrate_down(
    settings: &GraphSettings,
    client: &FalkorSyncClient,
    to: u32,
) -> Result<Vec<u32>, HistoryError> {
    let pending = pending_down(GRAPH_MIGRATIONS, refuse_newer(settings, client)?, to)?;
    let mut undone = Vec::new();
    for m in pending {
        apply(settings, client, m, m.down)?;
        run_on(
            client,
            &settings.graph_name,
            "MATCH (s:SchemaVersion {version: $version}) DELETE s",
            vec![("version", Value::I64(i64::from(m.version)))],
        )
        .map_err(|e| settings.error(e))?;
        undone.push(m.version);
    }
    Ok(undone)
}

/// Every known migration and whether it is applied.
pub fn status(
    settings: &GraphSettings,
    client: &FalkorSyncClient,
) -> Result<Vec<MigrationStatus>, HistoryError> {
    let applied = recorded(settings, client)?;
    Ok(GRAPH_MIGRATIONS
        .iter()
        .map(|m| MigrationStatus {
            version: m.version,
            name: m.name.to_string(),
            applied_at: applied
                .iter()
                .find(|(v, _, _)| *v == m.version)
                .map(|(_, _, at)| *at),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_files_split_into_statements() {
        let up = statements(GRAPH_MIGRATIONS[0].up);
        assert!(up.iter().all(|s| !s.contains("//") && !s.ends_with(';')));
        assert!(
            up.iter()
                .any(|s| s.contains("db.idx.fulltext.createNodeIndex"))
        );
        assert_eq!(up.len(), statements(GRAPH_MIGRATIONS[0].down).len());
    }
}
