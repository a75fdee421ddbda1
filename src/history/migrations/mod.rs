//! Schema migrations, per backend: numbered up/down SQL files under `migrations/<backend>/`,
//! embedded in the binary, each applied in its own transaction and recorded in `schema_version`.
//!
//! Down-migrations never throw away what the history files cannot bring back (older versions,
//! prompt uses, placeholder values): they move it into `kept_<version>_<table>` tables, and the
//! matching up-migration moves it back.

pub mod graph;
pub mod postgres;
pub mod sqlite;

use time::OffsetDateTime;

use super::HistoryError;

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub up: &'static str,
    pub down: &'static str,
}

/// A migration and whether (and when) it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: u32,
    pub name: String,
    pub applied_at: Option<OffsetDateTime>,
}

/// The newest version in `migrations`.
pub fn latest(migrations: &[Migration]) -> u32 {
    migrations.last().map_or(0, |m| m.version)
}

/// The steps `migrate up` applies from `current` to `target` (default: the latest), in order.
pub fn pending_up(
    migrations: &'static [Migration],
    current: u32,
    target: Option<u32>,
) -> Result<Vec<&'static Migration>, HistoryError> {
    let known = latest(migrations);
    if current > known {
        return Err(HistoryError::SchemaTooNew {
            found: current,
            known,
        });
    }
    let target = target.unwrap_or(known);
    if target > known {
        return Err(HistoryError::InvalidInput(format!(
            "no migration {target}; the latest is {known}"
        )));
    }
    Ok(migrations
        .iter()
        .filter(|m| m.version > current && m.version <= target)
        .collect())
}

/// The steps `migrate down --to to` undoes from `current`, newest first.
pub fn pending_down(
    migrations: &'static [Migration],
    current: u32,
    to: u32,
) -> Result<Vec<&'static Migration>, HistoryError> {
    let known = latest(migrations);
    if current > known {
        return Err(HistoryError::SchemaTooNew {
            found: current,
            known,
        });
    }
    Ok(migrations
        .iter()
        .rev()
        .filter(|m| m.version > to && m.version <= current)
        .collect())
}

/// A failed step, for the user.
pub(crate) fn failed(m: &Migration, e: impl std::fmt::Display) -> HistoryError {
    HistoryError::Migration {
        version: m.version,
        name: m.name.to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backend_numbers_its_migrations_in_order() {
        for list in [
            sqlite::SQLITE_MIGRATIONS,
            postgres::POSTGRES_MIGRATIONS,
            graph::GRAPH_MIGRATIONS,
        ] {
            for (i, m) in list.iter().enumerate() {
                assert_eq!(m.version as usize, i + 1, "{}", m.name);
            }
        }
    }

    #[test]
    fn plans_refuse_newer_schemas_and_unknown_targets() {
        let list = sqlite::SQLITE_MIGRATIONS;
        let versions = |plan: Vec<&Migration>| plan.iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(versions(pending_up(list, 0, None).unwrap()), [1, 2, 3]);
        assert_eq!(versions(pending_up(list, 1, Some(2)).unwrap()), [2]);
        assert_eq!(versions(pending_down(list, 3, 0).unwrap()), [3, 2, 1]);
        assert!(matches!(
            pending_up(list, 9, None),
            Err(HistoryError::SchemaTooNew { found: 9, .. })
        ));
        assert!(matches!(
            pending_down(list, 9, 0),
            Err(HistoryError::SchemaTooNew { found: 9, .. })
        ));
        let err = pending_up(list, 0, Some(7)).unwrap_err();
        assert!(err.to_string().contains("no migration 7"), "{err}");
    }
}
