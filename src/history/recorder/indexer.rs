//! The index stage of the save path: applies saves to the repository in order on its own thread,
//! so a slow or unreachable database never delays a history file. Saves the index cannot take
//! wait in a queue (journaled under `<history>/.pending/` while the disk allows, so a restart
//! keeps them too) and are pushed, in order, as soon as it takes writes again — on a timer, no
//! new save or restart needed.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Progress, Reply, SaveOutcome};
use crate::events::{DomainEvent, EventBus};
use crate::history::sync::{self, SyncMode, SyncReport};
use crate::history::{
    CompositionRecord, CompositionRepository, FileStamp, HistoryError, from_millis, tags_of,
    to_millis,
};

/// First wait before retrying a failing index; doubles up to [`MAX_BACKOFF`].
pub(super) const MIN_BACKOFF: Duration = Duration::from_millis(250);
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// Work for the index stage, in the order the saves happened.
pub(super) enum IndexJob {
    /// A changed save: its file is written (or owed) already.
    Save {
        record: CompositionRecord,
        source_path: PathBuf,
        prompts_used: Vec<String>,
        characters: usize,
        outcome: SaveOutcome,
        reply: Reply<SaveOutcome>,
    },
    /// An unchanged save: answered with the version the index knows.
    Unchanged {
        outcome: SaveOutcome,
        reply: Reply<SaveOutcome>,
    },
    /// A history file written late: its row gets the file's stamp.
    Restamp(CompositionRecord),
    Sync(SyncMode, Progress, Reply<SyncReport>),
}

/// A save the index has not taken yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Waiting {
    id: String,
    file_name: String,
    source_path: Option<PathBuf>,
    working_dir: Option<PathBuf>,
    created_ms: i64,
    updated_ms: i64,
    content: String,
    file_size: Option<u64>,
    file_mtime: Option<i64>,
    prompts_used: Vec<String>,
    /// The source path prompt uses are recorded for.
    prompt_source: Option<PathBuf>,
}

impl Waiting {
    fn new(
        record: &CompositionRecord,
        prompt_source: Option<PathBuf>,
        prompts: Vec<String>,
    ) -> Self {
        Waiting {
            id: record.id.clone(),
            file_name: record.file_name.clone(),
            source_path: record.source_path.clone(),
            working_dir: record.working_dir.clone(),
            created_ms: to_millis(record.created_at),
            updated_ms: to_millis(record.updated_at),
            content: record.content.clone(),
            file_size: record.file_stamp.map(|s| s.size),
            file_mtime: record.file_stamp.map(|s| s.modified_ns),
            prompts_used: prompts,
            prompt_source,
        }
    }

    fn record(&self) -> CompositionRecord {
        CompositionRecord {
            id: self.id.clone(),
            file_name: self.file_name.clone(),
            source_path: self.source_path.clone(),
            working_dir: self.working_dir.clone(),
            created_at: from_millis(self.created_ms),
            updated_at: from_millis(self.updated_ms),
            tags: tags_of(&self.content),
            content: self.content.clone(),
            file_stamp: match (self.file_size, self.file_mtime) {
                (Some(size), Some(modified_ns)) => Some(FileStamp { size, modified_ns }),
                _ => None,
            },
        }
    }
}

/// The waiting saves, in memory and (when the disk allows) in `<history>/.pending/`.
struct Queue {
    dir: PathBuf,
    items: VecDeque<(Waiting, Option<PathBuf>)>,
    next: u64,
}

impl Queue {
    /// The queue, with what an earlier run left in the journal.
    fn open(history_dir: &Path) -> Queue {
        let dir = history_dir.join(".pending");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let mut items = VecDeque::new();
        for path in names {
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<Waiting>(&bytes).map_err(|e| e.to_string())
                }) {
                Ok(waiting) => items.push_back((waiting, Some(path))),
                Err(e) => {
                    tracing::warn!(file = %path.display(), "unreadable waiting save skipped: {e}")
                }
            }
        }
        if !items.is_empty() {
            tracing::info!(
                count = items.len(),
                "history saves waiting from an earlier run"
            );
        }
        Queue {
            dir,
            next: items.len() as u64,
            items,
        }
    }

    fn push(&mut self, waiting: Waiting) {
        self.next += 1;
        let name = format!(
            "{:013}-{:06}.json",
            to_millis(crate::history::now_millis()),
            self.next
        );
        let path = self.dir.join(name);
        let journaled = serde_json::to_vec(&waiting)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                std::fs::create_dir_all(&self.dir)?;
                crate::home::write_atomic(&path, &bytes)
            });
        let path = match journaled {
            Ok(()) => Some(path),
            Err(e) => {
                tracing::warn!("waiting save kept in memory only: {e}");
                None
            }
        };
        self.items.push_back((waiting, path));
    }

    fn pop_front(&mut self) {
        if let Some((_, Some(path))) = self.items.pop_front()
            && let Err(e) = std::fs::remove_file(&path)
        {
            tracing::warn!(file = %path.display(), "cannot remove a pushed waiting save: {e}");
        }
    }
}

/// The index stage.
pub(super) struct Indexer {
    repo: Arc<dyn CompositionRepository>,
    history_dir: PathBuf,
    bus: EventBus,
    queue: Queue,
    /// Why the index last refused a write, while saves wait.
    failing: Option<String>,
    /// A start-up check that could not run, to run once the index is back.
    sync_owed: bool,
    /// The version the index holds per composition id, for unchanged saves.
    versions: HashMap<String, u32>,
    backoff: Duration,
}

impl Indexer {
    pub(super) fn new(
        repo: Arc<dyn CompositionRepository>,
        history_dir: PathBuf,
        bus: EventBus,
    ) -> Self {
        Indexer {
            queue: Queue::open(&history_dir),
            repo,
            history_dir,
            bus,
            failing: None,
            sync_owed: false,
            versions: HashMap::new(),
            backoff: MIN_BACKOFF,
        }
    }

    /// Runs jobs until the save stage stops, retrying waiting work between them.
    pub(super) fn run(mut self, jobs: Receiver<IndexJob>) {
        self.retry();
        loop {
            let job = if self.has_work() {
                match jobs.recv_timeout(self.backoff) {
                    Ok(job) => job,
                    Err(RecvTimeoutError::Timeout) => {
                        self.retry();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match jobs.recv() {
                    Ok(job) => job,
                    Err(_) => break,
                }
            };
            // A bug in one job must not take the stage (and every later save) down.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle(job)));
            if ran.is_err() {
                tracing::error!("history index job panicked");
            }
        }
        // Stopping: one last try, so a database that is back does not wait for the next start.
        self.retry();
        if !self.queue.items.is_empty() {
            tracing::warn!(
                count = self.queue.items.len(),
                "history saves still waiting for the index; they are pushed on the next start"
            );
        }
    }

    fn has_work(&self) -> bool {
        !self.queue.items.is_empty() || self.sync_owed
    }

    fn handle(&mut self, job: IndexJob) {
        match job {
            IndexJob::Save {
                record,
                source_path,
                prompts_used,
                characters,
                mut outcome,
                reply,
            } => {
                let version = self.apply(&record, Some(source_path.clone()), prompts_used);
                match version {
                    Ok(version) => outcome.version = version,
                    Err(reason) => outcome.index_error = Some(reason),
                }
                self.bus.publish(DomainEvent::CompositionSaved {
                    composition_id: record.id.clone(),
                    source_path: Some(source_path),
                    history_file: outcome.history_file.clone(),
                    characters,
                    // 0: not known yet, the index is behind.
                    version: outcome.version.unwrap_or(0),
                });
                let _ = reply.send(Ok(outcome));
            }
            IndexJob::Unchanged { mut outcome, reply } => {
                outcome.version = self.versions.get(&outcome.composition_id).copied();
                outcome.index_error = self.failing.clone().filter(|_| self.has_work());
                let _ = reply.send(Ok(outcome));
            }
            IndexJob::Restamp(record) => {
                let _ = self.apply(&record, None, Vec::new());
            }
            IndexJob::Sync(mode, mut progress, reply) => {
                let _ = reply.send(self.sync(mode, &mut progress));
            }
        }
    }

    /// Saves `record` now, or queues it behind earlier waiting saves; `Ok(None)` when queued
    /// behind others, `Err(reason)` when the index refused it.
    fn apply(
        &mut self,
        record: &CompositionRecord,
        prompt_source: Option<PathBuf>,
        prompts: Vec<String>,
    ) -> Result<Option<u32>, String> {
        self.retry();
        if !self.queue.items.is_empty() {
            self.queue
                .push(Waiting::new(record, prompt_source, prompts));
            return Err(self
                .failing
                .clone()
                .unwrap_or_else(|| "earlier saves are waiting".into()));
        }
        match self.push(&Waiting::new(
            record,
            prompt_source.clone(),
            prompts.clone(),
        )) {
            Ok(version) => Ok(Some(version)),
            Err(e) => {
                let reason = e.to_string();
                tracing::warn!(composition = %record.id, "history index update failed: {reason}");
                self.failing = Some(reason.clone());
                self.queue
                    .push(Waiting::new(record, prompt_source, prompts));
                Err(reason)
            }
        }
    }

    /// One save into the repository, with its prompt uses.
    fn push(&mut self, waiting: &Waiting) -> Result<u32, HistoryError> {
        let stored = self.repo.save(&waiting.record())?;
        self.versions.insert(waiting.id.clone(), stored.version);
        if let Some(source) = &waiting.prompt_source {
            for prompt in &waiting.prompts_used {
                if let Err(e) = self.repo.record_prompt_use(source, prompt) {
                    tracing::warn!(prompt, "cannot record prompt use: {e}");
                }
            }
        }
        Ok(stored.version)
    }

    /// Pushes waiting saves in order, stopping at the first failure; then an owed check.
    fn retry(&mut self) {
        let waiting = self.queue.items.len();
        while let Some((front, _)) = self.queue.items.front() {
            let front = front.clone();
            match self.push(&front) {
                Ok(_) => self.queue.pop_front(),
                Err(e) => {
                    tracing::debug!("history index still failing: {e}");
                    self.failing = Some(e.to_string());
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    return;
                }
            }
        }
        self.backoff = MIN_BACKOFF;
        if waiting > 0 {
            tracing::info!(
                count = waiting,
                "history index is back: pushed the waiting saves in order"
            );
        }
        self.failing = None;
        if self.sync_owed {
            self.sync_owed = false;
            match sync::sync(
                self.repo.as_ref(),
                &self.history_dir,
                SyncMode::Check,
                &mut |_, _| {},
            ) {
                Ok(report) => tracing::info!("history check: {}", report.summary()),
                Err(e) => {
                    tracing::debug!("history check still failing: {e}");
                    self.failing = Some(e.to_string());
                    self.sync_owed = true;
                }
            }
        }
    }

    fn sync(
        &mut self,
        mode: SyncMode,
        progress: &mut Progress,
    ) -> Result<SyncReport, HistoryError> {
        self.retry();
        let result = if self.queue.items.is_empty() {
            sync::sync(self.repo.as_ref(), &self.history_dir, mode, progress)
        } else {
            Err(HistoryError::Unavailable(
                self.failing
                    .clone()
                    .unwrap_or_else(|| "saves are waiting for the index".into()),
            ))
        };
        if let Err(e) = &result {
            // The start-up check runs as soon as the index is back.
            if mode == SyncMode::Check && is_transient(e) {
                self.sync_owed = true;
            }
        }
        if result.is_ok() {
            self.versions.clear();
        }
        result
    }
}

/// Faults that go away by themselves (a server down, a lock held, a full disk).
fn is_transient(e: &HistoryError) -> bool {
    matches!(
        e,
        HistoryError::Unreachable { .. }
            | HistoryError::Unavailable(_)
            | HistoryError::Locked
            | HistoryError::Io { .. }
            | HistoryError::Database(_)
    )
}
