//! Keeps the index in step with the history files (the source of truth): files missing from the
//! index are added, changed files re-indexed, rows without a file removed — except rows without
//! a file stamp: the save reached the index but its file could not be written (a read-only or
//! full disk), so the row is the only copy and the file is written from it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::files::{self, HistoryFile};
use super::{
    CompositionRecord, CompositionRepository, FileStamp, HistoryError, IndexEntry, content_hash,
};

/// How thorough a sync is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Re-index only what differs (start-up).
    Check,
    /// Re-index every file and rebuild the full-text index (`history rebuild`).
    Rebuild,
}

/// A history file that could not be read back; it is left alone and its row kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncProblem {
    pub path: PathBuf,
    pub message: String,
}

/// What a sync found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// History files looked at.
    pub files: usize,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    /// History files written from the index (their save could not write them at the time).
    pub restored: usize,
    /// Temp files of writers killed mid-write, deleted.
    pub temp_files_removed: usize,
    /// Compositions the index did not know although their file shows more than one save: their
    /// earlier versions lived only in the database (deleted, truncated or replaced since), and
    /// only the latest, in the file, is back.
    pub earlier_versions_lost: usize,
    pub problems: Vec<SyncProblem>,
}

impl SyncReport {
    /// What the user should be told about versions the index no longer has, if anything.
    pub fn lost_versions_notice(&self) -> Option<String> {
        (self.earlier_versions_lost > 0).then(|| {
            format!(
                "{} composition(s) in the history files were missing from the index and were saved more than once; their earlier versions were only in the database (deleted, truncated or replaced?) and are gone — the latest version of each is back",
                self.earlier_versions_lost
            )
        })
    }

    /// One line for logs and the terminal.
    pub fn summary(&self) -> String {
        let restored = if self.restored > 0 {
            format!(", {} files restored from the index", self.restored)
        } else {
            String::new()
        };
        format!(
            "{} history files: {} added, {} updated, {} removed from the index, {} unreadable{restored}",
            self.files,
            self.added,
            self.updated,
            self.removed,
            self.problems.len()
        )
    }
}

// Rows written per transaction: large enough to amortise commits, small enough to keep the
// write lock short.
const BATCH: usize = 500;

/// Brings the index in line with the files in `history_dir`, reporting `progress(done, total)`.
pub fn sync(
    repo: &dyn CompositionRepository,
    history_dir: &Path,
    mode: SyncMode,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<SyncReport, HistoryError> {
    let names = files::list(history_dir)?;
    let temp_files_removed = files::remove_stale_temp_files(history_dir);
    let indexed: HashMap<String, super::IndexEntry> = repo
        .index_entries()?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    let by_file: HashMap<&str, &super::IndexEntry> = indexed
        .values()
        .map(|e| (e.file_name.as_str(), e))
        .collect();
    let total = names.len();
    let mut report = SyncReport {
        files: total,
        temp_files_removed,
        ..SyncReport::default()
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    // Files that exist but cannot be read: their rows stay until the file is fixed or deleted.
    let mut unreadable: HashSet<String> = HashSet::new();
    let mut batch: Vec<CompositionRecord> = Vec::new();
    progress(0, total);
    for (done, name) in names.iter().enumerate() {
        let path = history_dir.join(name);
        let stamp = FileStamp::of(&path);
        // Unchanged size and modification time: the row is current, skip reading the file.
        if mode == SyncMode::Check
            && stamp.is_some()
            && let Some(entry) = by_file.get(name.as_str())
            && entry.file_stamp == stamp
            && !seen.contains_key(&entry.id)
        {
            seen.insert(entry.id.clone(), name.clone());
            progress(done + 1, total);
            continue;
        }
        match files::read(&path) {
            Err(e) => {
                unreadable.insert(name.clone());
                report.problems.push(SyncProblem {
                    path,
                    message: e.to_string(),
                });
            }
            Ok(Err(problem)) => {
                unreadable.insert(name.clone());
                report.problems.push(SyncProblem {
                    path,
                    message: problem.to_string(),
                });
            }
            Ok(Ok(file)) => {
                if let Some(other) = seen.get(&file.id) {
                    report.problems.push(SyncProblem {
                        path,
                        message: format!("id `{}` is already used by {other}; skipped", file.id),
                    });
                } else if let Some(entry) = indexed.get(&file.id)
                    && entry.file_stamp.is_none()
                    && entry.updated_at > file.updated
                {
                    // The row is newer than the file: its save could not write the file.
                    seen.insert(file.id.clone(), name.clone());
                    match restore(repo, history_dir, entry) {
                        Ok(record) => {
                            report.restored += 1;
                            batch.push(record);
                        }
                        Err(e) => report.problems.push(SyncProblem {
                            path,
                            message: format!("cannot write it from the index: {e}"),
                        }),
                    }
                } else {
                    seen.insert(file.id.clone(), name.clone());
                    let stale = match indexed.get(&file.id) {
                        None => true,
                        Some(entry) => {
                            entry.file_name != *name
                                || entry.file_stamp != stamp
                                || entry.content_hash != content_hash(&file.content)
                        }
                    };
                    if stale || mode == SyncMode::Rebuild {
                        batch.push(file.record(name, stamp));
                    }
                }
            }
        }
        if batch.len() >= BATCH {
            flush(repo, &mut batch, &mut report)?;
        }
        progress(done + 1, total);
    }
    let mut extra: Vec<String> = Vec::new();
    for entry in indexed
        .values()
        .filter(|e| !seen.contains_key(&e.id) && !unreadable.contains(&e.file_name))
    {
        if entry.file_stamp.is_some() {
            extra.push(entry.id.clone());
            continue;
        }
        match restore(repo, history_dir, entry) {
            Ok(record) => {
                report.restored += 1;
                batch.push(record);
            }
            Err(e) => report.problems.push(SyncProblem {
                path: history_dir.join(&entry.file_name),
                message: format!("cannot write it from the index: {e}"),
            }),
        }
    }
    flush(repo, &mut batch, &mut report)?;
    if !extra.is_empty() {
        report.removed = repo.delete(&extra)?;
    }
    if mode == SyncMode::Rebuild {
        repo.reindex()?;
    }
    for problem in &report.problems {
        tracing::warn!(file = %problem.path.display(), "history file skipped: {}", problem.message);
    }
    Ok(report)
}

/// Writes the history file of a row whose save could not write it, from the row; returns the
/// record with the new file's stamp.
fn restore(
    repo: &dyn CompositionRepository,
    history_dir: &Path,
    entry: &IndexEntry,
) -> Result<CompositionRecord, HistoryError> {
    let name = Path::new(&entry.file_name);
    if name.components().count() != 1 || entry.file_name.starts_with('.') {
        return Err(HistoryError::InvalidInput(format!(
            "`{}` is not a history file name",
            entry.file_name
        )));
    }
    let composition = repo
        .load(&entry.id)?
        .ok_or_else(|| HistoryError::NotFound(entry.id.clone()))?;
    let s = composition.summary;
    let file = HistoryFile {
        id: entry.id.clone(),
        source_path: s.source_path,
        working_dir: s.working_dir,
        created: s.created_at,
        updated: s.updated_at,
        content: composition.content,
    };
    let path = files::write(history_dir, &entry.file_name, &file)?;
    tracing::info!(file = %path.display(), "history file written from the index");
    Ok(file.record(&entry.file_name, FileStamp::of(&path)))
}

fn flush(
    repo: &dyn CompositionRepository,
    batch: &mut Vec<CompositionRecord>,
    report: &mut SyncReport,
) -> Result<(), HistoryError> {
    if batch.is_empty() {
        return Ok(());
    }
    for (stored, record) in repo.save_many(batch)?.iter().zip(batch.iter()) {
        if stored.created {
            report.added += 1;
            if record.updated_at > record.created_at {
                report.earlier_versions_lost += 1;
            }
        } else if stored.changed {
            report.updated += 1;
        }
    }
    batch.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::files::HistoryFile;
    use crate::history::{ListOptions, SqliteRepository};
    use time::macros::datetime;

    fn write(dir: &Path, name: &str, content: &str) {
        files::write(dir, name, &file(name, content)).unwrap();
    }

    /// Without fsync, for tests that need many files.
    fn write_fast(dir: &Path, name: &str, content: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), file(name, content).render()).unwrap();
    }

    fn file(name: &str, content: &str) -> HistoryFile {
        HistoryFile {
            id: name.trim_end_matches(".md").into(),
            source_path: Some(format!("/w/{name}").into()),
            working_dir: None,
            created: datetime!(2026-02-01 10:00 UTC),
            updated: datetime!(2026-02-01 11:00 UTC),
            content: content.into(),
        }
    }

    fn run(
        repo: &dyn CompositionRepository,
        dir: &Path,
        mode: SyncMode,
    ) -> (SyncReport, Vec<(usize, usize)>) {
        let mut calls = Vec::new();
        let report = sync(repo, dir, mode, &mut |done, total| {
            calls.push((done, total))
        })
        .unwrap();
        (report, calls)
    }

    #[test]
    fn sync_adds_updates_removes_and_reports_bad_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".history");
        let repo =
            SqliteRepository::open(&tmp.path().join("history.db"), Default::default()).unwrap();
        write(&dir, "a.md", "alpha");
        write(&dir, "b.md", "beta");
        write(&dir, "c.md", "gamma");
        let (report, calls) = run(&repo, &dir, SyncMode::Check);
        assert_eq!(
            (report.files, report.added, report.updated, report.removed),
            (3, 3, 0, 0)
        );
        assert_eq!(calls, [(0, 3), (1, 3), (2, 3), (3, 3)]);

        // Edited by hand while stopped, deleted, broken, and an extra file added.
        let a = dir.join("a.md");
        let edited = std::fs::read_to_string(&a)
            .unwrap()
            .replace("alpha", "alpha edited by hand");
        std::fs::write(&a, edited).unwrap();
        std::fs::remove_file(dir.join("b.md")).unwrap();
        std::fs::write(dir.join("c.md"), "---\nid: [broken\n---\ngamma").unwrap();
        write(&dir, "d.md", "delta");
        let (report, _) = run(&repo, &dir, SyncMode::Check);
        assert_eq!(
            (report.files, report.added, report.updated, report.removed),
            (3, 1, 1, 1)
        );
        assert_eq!(report.problems.len(), 1);
        assert!(report.problems[0].path.ends_with("c.md"));
        assert!(
            report.problems[0].message.contains("invalid frontmatter"),
            "{:?}",
            report.problems
        );
        assert_eq!(
            repo.load("a").unwrap().unwrap().content,
            "alpha edited by hand"
        );
        assert_eq!(repo.versions("a").unwrap().len(), 2);
        assert!(repo.load("b").unwrap().is_none());
        assert!(
            repo.load("c").unwrap().is_some(),
            "a broken file keeps its row"
        );
        assert_eq!(
            repo.search("delta", &ListOptions::default()).unwrap().total,
            1
        );

        // Nothing left to do; a rebuild re-reads everything without adding versions.
        let (report, _) = run(&repo, &dir, SyncMode::Check);
        assert_eq!((report.added, report.updated, report.removed), (0, 0, 0));
        let (report, _) = run(&repo, &dir, SyncMode::Rebuild);
        assert_eq!((report.added, report.updated, report.removed), (0, 0, 0));
        assert_eq!(repo.versions("a").unwrap().len(), 2);
    }

    #[test]
    fn a_garbage_database_is_rebuilt_from_the_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".history");
        let db = tmp.path().join("history.db");
        for i in 0..1200 {
            write_fast(
                &dir,
                &format!("f{i:04}.md"),
                &format!("composition number {i}"),
            );
        }
        std::fs::write(&db, [0xde_u8, 0xad, 0xbe, 0xef].repeat(4096)).unwrap();
        let (repo, aside) = SqliteRepository::open_or_recover(&db, Default::default()).unwrap();
        assert!(aside.is_some());
        let (report, calls) = run(&repo, &dir, SyncMode::Check);
        assert_eq!(report.added, 1200);
        assert_eq!(calls.last(), Some(&(1200, 1200)));
        assert_eq!(
            repo.search("1199", &ListOptions::default()).unwrap().total,
            1
        );
    }

    #[test]
    fn check_trusts_unchanged_stamps_and_rebuild_reads_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".history");
        let repo =
            SqliteRepository::open(&tmp.path().join("history.db"), Default::default()).unwrap();
        write(&dir, "a.md", "original");
        run(&repo, &dir, SyncMode::Check);
        // Same size and modification time: a check does not read the file again.
        let path = dir.join("a.md");
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("original", "OVERRIDE");
        std::fs::write(&path, text).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(modified).unwrap();
        drop(file);
        let (report, _) = run(&repo, &dir, SyncMode::Check);
        assert_eq!(report.updated, 0);
        assert_eq!(repo.load("a").unwrap().unwrap().content, "original");
        let (report, _) = run(&repo, &dir, SyncMode::Rebuild);
        assert_eq!(report.updated, 1);
        assert_eq!(repo.load("a").unwrap().unwrap().content, "OVERRIDE");
    }

    #[test]
    fn files_saved_more_than_once_but_missing_from_the_index_count_as_lost_versions() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".history");
        let repo =
            SqliteRepository::open(&tmp.path().join("history.db"), Default::default()).unwrap();
        write(&dir, "twice.md", "saved at 10:00 and 11:00");
        let mut once = file("once.md", "saved once");
        once.updated = once.created;
        files::write(&dir, "once.md", &once).unwrap();
        let (report, _) = run(&repo, &dir, SyncMode::Check);
        assert_eq!((report.added, report.earlier_versions_lost), (2, 1));
        let notice = report.lost_versions_notice().unwrap();
        assert!(notice.starts_with("1 composition(s)"), "{notice}");
        // Known to the index: nothing lost, nothing to say.
        let (report, _) = run(&repo, &dir, SyncMode::Rebuild);
        assert_eq!(report.earlier_versions_lost, 0);
        assert_eq!(report.lost_versions_notice(), None);
    }

    #[test]
    fn duplicate_ids_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".history");
        let repo =
            SqliteRepository::open(&tmp.path().join("history.db"), Default::default()).unwrap();
        write(&dir, "a.md", "one");
        std::fs::copy(dir.join("a.md"), dir.join("copy.md")).unwrap();
        let (report, _) = run(&repo, &dir, SyncMode::Check);
        assert_eq!(report.added, 1);
        assert!(
            report.problems[0].message.contains("already used by a.md"),
            "{:?}",
            report.problems
        );
    }
}
