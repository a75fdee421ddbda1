//! Keeps the index in step with the history files (the source of truth): files missing from the
//! index are added, changed files re-indexed, rows without a file removed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::files;
use super::{CompositionRecord, CompositionRepository, HistoryError, content_hash};

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
    pub problems: Vec<SyncProblem>,
}

impl SyncReport {
    /// One line for logs and the terminal.
    pub fn summary(&self) -> String {
        format!(
            "{} history files: {} added, {} updated, {} removed from the index, {} unreadable",
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
    let indexed: HashMap<String, super::IndexEntry> = repo
        .index_entries()?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    let total = names.len();
    let mut report = SyncReport {
        files: total,
        ..SyncReport::default()
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    // Files that exist but cannot be read: their rows stay until the file is fixed or deleted.
    let mut unreadable: HashSet<String> = HashSet::new();
    let mut batch: Vec<CompositionRecord> = Vec::new();
    progress(0, total);
    for (done, name) in names.iter().enumerate() {
        let path = history_dir.join(name);
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
                } else {
                    seen.insert(file.id.clone(), name.clone());
                    let stale = match indexed.get(&file.id) {
                        None => true,
                        Some(entry) => {
                            entry.file_name != *name
                                || entry.content_hash != content_hash(&file.content)
                        }
                    };
                    if stale || mode == SyncMode::Rebuild {
                        batch.push(file.record(name));
                    }
                }
            }
        }
        if batch.len() >= BATCH {
            flush(repo, &mut batch, &mut report)?;
        }
        progress(done + 1, total);
    }
    flush(repo, &mut batch, &mut report)?;
    let extra: Vec<String> = indexed
        .values()
        .filter(|e| !seen.contains_key(&e.id) && !unreadable.contains(&e.file_name))
        .map(|e| e.id.clone())
        .collect();
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

fn flush(
    repo: &dyn CompositionRepository,
    batch: &mut Vec<CompositionRecord>,
    report: &mut SyncReport,
) -> Result<(), HistoryError> {
    if batch.is_empty() {
        return Ok(());
    }
    for stored in repo.save_many(batch)? {
        if stored.created {
            report.added += 1;
        } else if stored.changed {
            report.updated += 1;
        }
    }
    batch.clear();
    Ok(())
}
