//! Cleanup: a dry run shows exactly what would go and returns a token; deleting needs that token,
//! so nothing is removed that the user has not seen.

use std::path::{Path, PathBuf};

use time::{Date, Duration, OffsetDateTime, Time};

use super::{CompositionRepository, HistoryError, IndexEntry};

/// Which compositions to remove (by when they were last updated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupSelection {
    All,
    /// Last updated more than this many days ago.
    OlderThanDays(u32),
    /// All but the N most recently updated.
    KeepLast(usize),
    /// Last updated on a day from `from` to `to` (UTC, both included).
    Between {
        from: Date,
        to: Date,
    },
}

/// One composition a cleanup would remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupEntry {
    pub id: String,
    pub file: PathBuf,
    /// Size of the history file on disk.
    pub bytes: u64,
    pub updated_at: OffsetDateTime,
}

/// The dry run: what would be removed, and the token that confirms exactly this selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupPlan {
    /// Most recently updated first.
    pub entries: Vec<CleanupEntry>,
    pub bytes: u64,
    pub oldest: Option<OffsetDateTime>,
    pub newest: Option<OffsetDateTime>,
    pub token: String,
}

impl CleanupPlan {
    pub fn count(&self) -> usize {
        self.entries.len()
    }
}

/// What a confirmed cleanup removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CleanupReport {
    pub deleted: usize,
    pub bytes: u64,
    /// Files that could not be removed (their rows are kept).
    pub failures: Vec<(PathBuf, String)>,
}

impl CleanupReport {
    /// "Deleted X files, freed Y MB".
    pub fn message(&self) -> String {
        format!(
            "Deleted {} file{}, freed {}",
            self.deleted,
            if self.deleted == 1 { "" } else { "s" },
            megabytes(self.bytes)
        )
    }
}

/// Bytes as megabytes with two decimals.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / (1024.0 * 1024.0))
}

fn selected(
    mut entries: Vec<IndexEntry>,
    selection: CleanupSelection,
    now: OffsetDateTime,
) -> Result<Vec<IndexEntry>, HistoryError> {
    entries.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    Ok(match selection {
        CleanupSelection::All => entries,
        CleanupSelection::OlderThanDays(days) => {
            let cutoff = now - Duration::days(i64::from(days));
            entries.retain(|e| e.updated_at < cutoff);
            entries
        }
        CleanupSelection::KeepLast(n) => entries.into_iter().skip(n).collect(),
        CleanupSelection::Between { from, to } => {
            if from > to {
                return Err(HistoryError::InvalidInput(format!(
                    "the start date {from} is after the end date {to}"
                )));
            }
            let start = from.with_time(Time::MIDNIGHT).assume_utc();
            let end = to.with_time(Time::MIDNIGHT).assume_utc() + Duration::days(1);
            entries.retain(|e| e.updated_at >= start && e.updated_at < end);
            entries
        }
    })
}

/// The dry run for `selection` at time `now`.
pub fn plan(
    repo: &dyn CompositionRepository,
    history_dir: &Path,
    selection: CleanupSelection,
    now: OffsetDateTime,
) -> Result<CleanupPlan, HistoryError> {
    let entries = selected(repo.index_entries()?, selection, now)?;
    let token = token_of(&entries);
    let entries: Vec<CleanupEntry> = entries
        .into_iter()
        .map(|e| {
            let file = history_dir.join(&e.file_name);
            let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            CleanupEntry {
                id: e.id,
                file,
                bytes,
                updated_at: e.updated_at,
            }
        })
        .collect();
    Ok(CleanupPlan {
        bytes: entries.iter().map(|e| e.bytes).sum(),
        oldest: entries.iter().map(|e| e.updated_at).min(),
        newest: entries.iter().map(|e| e.updated_at).max(),
        entries,
        token,
    })
}

/// A short hash of the selection: ids, files and update times.
fn token_of(entries: &[IndexEntry]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for e in entries {
        hasher.update(e.id.as_bytes());
        hasher.update([0]);
        hasher.update(e.file_name.as_bytes());
        hasher.update([0]);
        hasher.update(super::to_millis(e.updated_at).to_le_bytes());
    }
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deletes what the dry run with `token` showed; fails with [`HistoryError::CleanupChanged`]
/// when the selection is no longer the same. Files and index rows are removed together.
pub fn confirm(
    repo: &dyn CompositionRepository,
    history_dir: &Path,
    selection: CleanupSelection,
    token: &str,
    now: OffsetDateTime,
) -> Result<CleanupReport, HistoryError> {
    let plan = plan(repo, history_dir, selection, now)?;
    if plan.token != token.trim() {
        return Err(HistoryError::CleanupChanged);
    }
    let mut report = CleanupReport::default();
    let mut removed = Vec::new();
    for entry in plan.entries {
        match std::fs::remove_file(&entry.file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                report.failures.push((entry.file, e.to_string()));
                continue;
            }
        }
        report.bytes += entry.bytes;
        removed.push(entry.id);
    }
    // Files first: if this fails, the next sync drops the rows whose files are gone.
    repo.delete(&removed)?;
    report.deleted = removed.len();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::SqliteRepository;
    use crate::history::files::{self, HistoryFile};
    use crate::history::testing::record;
    use time::macros::{date, datetime};

    /// Five compositions updated on 2026-01-01 .. 2026-01-05 at noon, each with a file.
    fn setup() -> (tempfile::TempDir, PathBuf, SqliteRepository) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".history");
        let repo =
            SqliteRepository::open(&tmp.path().join("history.db"), Default::default()).unwrap();
        for day in 1..=5u8 {
            let id = format!("d{day}");
            let mut rec = record(&id, &"x".repeat(100 * day as usize), 0);
            rec.updated_at = datetime!(2026-01-01 12:00 UTC) + Duration::days(i64::from(day) - 1);
            let file = HistoryFile {
                id: id.clone(),
                source_path: rec.source_path.clone(),
                working_dir: None,
                created: rec.created_at,
                updated: rec.updated_at,
                content: rec.content.clone(),
            };
            files::write(&dir, &rec.file_name, &file).unwrap();
            repo.save(&rec).unwrap();
        }
        (tmp, dir, repo)
    }

    #[test]
    fn selections_pick_the_right_compositions() {
        let (_tmp, dir, repo) = setup();
        let now = datetime!(2026-01-06 00:00 UTC);
        let cases: Vec<(CleanupSelection, Vec<&str>)> = vec![
            (CleanupSelection::All, vec!["d5", "d4", "d3", "d2", "d1"]),
            (CleanupSelection::OlderThanDays(3), vec!["d2", "d1"]),
            (CleanupSelection::OlderThanDays(30), vec![]),
            (CleanupSelection::KeepLast(3), vec!["d2", "d1"]),
            (CleanupSelection::KeepLast(10), vec![]),
            (
                CleanupSelection::Between {
                    from: date!(2026 - 01 - 02),
                    to: date!(2026 - 01 - 03),
                },
                vec!["d3", "d2"],
            ),
        ];
        for (selection, want) in cases {
            let plan = plan(&repo, &dir, selection, now).unwrap();
            let got: Vec<&str> = plan.entries.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(got, want, "{selection:?}");
            assert_eq!(plan.count(), want.len());
        }
        let err = plan(
            &repo,
            &dir,
            CleanupSelection::Between {
                from: date!(2026 - 01 - 03),
                to: date!(2026 - 01 - 02),
            },
            now,
        )
        .unwrap_err();
        assert!(err.to_string().contains("after the end date"), "{err}");
    }

    #[test]
    fn dry_run_then_confirm_with_the_token() {
        let (_tmp, dir, repo) = setup();
        let now = datetime!(2026-01-06 00:00 UTC);
        let selection = CleanupSelection::KeepLast(3);
        let dry = plan(&repo, &dir, selection, now).unwrap();
        assert_eq!(dry.oldest, Some(datetime!(2026-01-01 12:00 UTC)));
        assert_eq!(dry.newest, Some(datetime!(2026-01-02 12:00 UTC)));
        let on_disk: u64 = dry
            .entries
            .iter()
            .map(|e| std::fs::metadata(&e.file).unwrap().len())
            .sum();
        assert_eq!(dry.bytes, on_disk);
        assert!(
            dry.entries.iter().all(|e| e.file.exists()),
            "a dry run deletes nothing"
        );

        let err = confirm(&repo, &dir, selection, "not-the-token", now).unwrap_err();
        assert!(matches!(err, HistoryError::CleanupChanged));
        let report = confirm(&repo, &dir, selection, &dry.token, now).unwrap();
        assert_eq!((report.deleted, report.bytes), (2, dry.bytes));
        assert_eq!(report.message(), "Deleted 2 files, freed 0.00 MB");
        assert!(dry.entries.iter().all(|e| !e.file.exists()));
        assert_eq!(repo.stats().unwrap().compositions, 3);
        assert_eq!(files::list(&dir).unwrap().len(), 3);
        // The same token no longer matches what KeepLast(3) selects... which is now nothing.
        let again = plan(&repo, &dir, selection, now).unwrap();
        assert_eq!(again.count(), 0);
        assert_ne!(again.token, dry.token);
    }

    #[test]
    fn a_changed_history_invalidates_the_token() {
        let (_tmp, dir, repo) = setup();
        let now = datetime!(2026-01-06 00:00 UTC);
        let dry = plan(&repo, &dir, CleanupSelection::All, now).unwrap();
        repo.save(&record("new", "added after the dry run", 0))
            .unwrap();
        let err = confirm(&repo, &dir, CleanupSelection::All, &dry.token, now).unwrap_err();
        assert!(err.to_string().contains("dry run again"), "{err}");
        assert_eq!(repo.stats().unwrap().compositions, 6);
    }

    #[test]
    fn sizes_are_reported_in_megabytes() {
        let report = CleanupReport {
            deleted: 1,
            bytes: 3 * 1024 * 1024 / 2,
            failures: vec![],
        };
        assert_eq!(report.message(), "Deleted 1 file, freed 1.50 MB");
    }
}
