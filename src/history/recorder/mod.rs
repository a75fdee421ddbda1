//! The save path, in two stages on two threads so saves apply in order and the caller never
//! blocks: the save stage writes the history file (the source of truth) first; the index stage
//! ([`indexer`]) then applies the save to the repository.
//!
//! One mechanism keeps what a fault leaves undone until the fault clears, whichever it is:
//! - the index refuses (PostgreSQL down, SQLite locked, its disk full): the save waits in the
//!   index stage's queue (journaled) and is pushed in order when the index takes writes again;
//! - the history file cannot be written (`.history` read-only, the disk full): the content is
//!   kept — in the index, whose row then has no file stamp so a restart writes the file from it,
//!   and in memory — and the file is written as soon as the directory takes it.
//!
//! Both are retried on a timer as well as on the next save, so nothing needs a restart.

mod indexer;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::oneshot;

use super::files::{self, HistoryFile};
use super::sync::{SyncMode, SyncReport};
use super::{CompositionRepository, FileStamp, HistoryError, content_hash, now_millis};
use crate::document::MAX_FILE_BYTES;
use crate::events::{DomainEvent, EventBus};
use indexer::{IndexJob, Indexer, MAX_BACKOFF, MIN_BACKOFF};

/// One save of a composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveRequest {
    /// The composition's file in the workspace; one history file per source path.
    pub source_path: PathBuf,
    pub working_dir: Option<PathBuf>,
    pub content: String,
    /// Library prompts inserted since the last save (for find-references).
    pub prompts_used: Vec<String>,
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveOutcome {
    pub composition_id: String,
    /// The history file (written unless `file_error` says otherwise).
    pub history_file: PathBuf,
    /// The composition's version in the index; `None` when the index has not taken it yet.
    pub version: Option<u32>,
    /// The first save of this source path.
    pub created: bool,
    /// Whether the content differed from the last save (unchanged saves write nothing).
    pub changed: bool,
    /// Why the index has not taken the save yet; it waits and is pushed in order later.
    pub index_error: Option<String>,
    /// Why the history file could not be written; it is written as soon as it can be.
    pub file_error: Option<String>,
    /// Whether there is an index at all (a backend not supported yet keeps files only).
    pub indexed_backend: bool,
}

impl SaveOutcome {
    /// Whether part of the save is still waiting for a fault to clear.
    pub fn needs_repair(&self) -> bool {
        self.index_error.is_some() || self.file_error.is_some()
    }

    /// Whether the save is somewhere a crash cannot take it: its history file, or the index.
    pub fn is_durable(&self) -> bool {
        self.file_error.is_none() || (self.indexed_backend && self.index_error.is_none())
    }
}

type Reply<T> = oneshot::Sender<Result<T, HistoryError>>;
type Progress = Box<dyn FnMut(usize, usize) + Send>;
/// The answer to a queued job; the job runs whether or not this is awaited.
pub type Pending<T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, HistoryError>> + Send>>;

enum Job {
    Save(SaveRequest, Reply<SaveOutcome>),
    Sync(SyncMode, Progress, Reply<SyncReport>),
}

/// Owns the history threads. Dropping it finishes queued jobs and stops them.
pub struct HistoryRecorder {
    jobs: Option<mpsc::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl HistoryRecorder {
    /// Starts the save path over `repo` (none: history files only) and the history files in
    /// `history_dir`.
    pub fn start(
        repo: Option<Arc<dyn CompositionRepository>>,
        history_dir: PathBuf,
        bus: EventBus,
    ) -> Result<Self, HistoryError> {
        let mut threads = Vec::new();
        let index = match &repo {
            Some(repo) => {
                let (sender, receiver) = mpsc::channel();
                let indexer = Indexer::new(repo.clone(), history_dir.clone(), bus.clone());
                threads.push(
                    std::thread::Builder::new()
                        .name("history-index".into())
                        .spawn(move || indexer.run(receiver))
                        .map_err(HistoryError::WorkerStart)?,
                );
                Some(sender)
            }
            None => None,
        };
        let (jobs, receiver) = mpsc::channel::<Job>();
        let mut stage = SaveStage {
            repo,
            dir: history_dir,
            bus,
            index,
            known: HashMap::new(),
            owed: BTreeMap::new(),
            backoff: MIN_BACKOFF,
        };
        threads.push(
            std::thread::Builder::new()
                .name("history".into())
                .spawn(move || stage.run(receiver))
                .map_err(HistoryError::WorkerStart)?,
        );
        Ok(HistoryRecorder {
            jobs: Some(jobs),
            threads,
        })
    }

    /// Queues a job now (so jobs run in the order of these calls) and returns its answer.
    fn submit<T: Send + 'static>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Pending<T> {
        let (reply, answer) = oneshot::channel();
        let queued = self
            .jobs
            .as_ref()
            .ok_or(HistoryError::WorkerStopped)
            .and_then(|jobs| {
                jobs.send(job(reply))
                    .map_err(|_| HistoryError::WorkerStopped)
            });
        Box::pin(async move {
            queued?;
            answer.await.map_err(|_| HistoryError::WorkerStopped)?
        })
    }

    /// Saves a composition: history file, then index row and version, then `CompositionSaved`.
    /// The save is queued when this is called, so saves apply in call order.
    pub fn save(&self, request: SaveRequest) -> Pending<SaveOutcome> {
        self.submit(move |reply| Job::Save(request, reply))
    }

    /// Compares the index with the history files and repairs it, in order with saves.
    pub fn sync(
        &self,
        mode: SyncMode,
        progress: impl FnMut(usize, usize) + Send + 'static,
    ) -> Pending<SyncReport> {
        self.submit(move |reply| Job::Sync(mode, Box::new(progress), reply))
    }
}

impl Drop for HistoryRecorder {
    fn drop(&mut self) {
        // The save stage ends when its jobs end, and the index stage when the save stage does.
        self.jobs.take();
        for thread in self.threads.drain(..).rev() {
            let _ = thread.join();
        }
    }
}

/// What the save stage remembers about a source path's history file.
#[derive(Debug, Clone)]
struct Known {
    id: String,
    file_name: String,
    created: OffsetDateTime,
    content_hash: String,
    /// The file's stamp when we wrote it: a file changed since (by hand) is written again.
    stamp: Option<FileStamp>,
}

/// The save stage: history files first.
struct SaveStage {
    repo: Option<Arc<dyn CompositionRepository>>,
    dir: PathBuf,
    bus: EventBus,
    index: Option<mpsc::Sender<IndexJob>>,
    known: HashMap<PathBuf, Known>,
    /// History files not written yet (the latest content per file name).
    owed: BTreeMap<String, HistoryFile>,
    backoff: Duration,
}

impl SaveStage {
    fn run(&mut self, jobs: mpsc::Receiver<Job>) {
        loop {
            let job = if self.owed.is_empty() {
                match jobs.recv() {
                    Ok(job) => job,
                    Err(_) => break,
                }
            } else {
                match jobs.recv_timeout(self.backoff) {
                    Ok(job) => job,
                    Err(RecvTimeoutError::Timeout) => {
                        self.write_owed();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            };
            // A bug in one job must not take the stage (and every later save) down.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle(job)));
            if ran.is_err() {
                tracing::error!("history save job panicked");
            }
        }
        self.write_owed();
        if !self.owed.is_empty() {
            tracing::error!(
                count = self.owed.len(),
                "history files still not written at exit; their content is in the index when it took the save"
            );
        }
    }

    fn handle(&mut self, job: Job) {
        match job {
            Job::Save(request, reply) => {
                if let Err(e) = self.save(request, reply) {
                    tracing::warn!("history save failed: {e}");
                }
            }
            Job::Sync(mode, progress, reply) => match &self.index {
                Some(index) => {
                    if let Err(mpsc::SendError(IndexJob::Sync(_, _, reply))) =
                        index.send(IndexJob::Sync(mode, progress, reply))
                    {
                        let _ = reply.send(Err(HistoryError::WorkerStopped));
                    }
                }
                None => {
                    let _ = reply.send(Err(HistoryError::Unavailable(
                        "there is no history index to check".into(),
                    )));
                }
            },
        }
    }

    /// Handles one save; an `Err` was already sent to the caller.
    fn save(&mut self, request: SaveRequest, reply: Reply<SaveOutcome>) -> Result<(), String> {
        if request.content.len() > MAX_FILE_BYTES {
            let e = HistoryError::InvalidInput(format!(
                "{} is {:.1} MB; history keeps compositions up to 1 MB",
                request.source_path.display(),
                request.content.len() as f64 / (1024.0 * 1024.0)
            ));
            let message = e.to_string();
            let _ = reply.send(Err(e));
            return Err(message);
        }
        self.write_owed();
        let known = match self.known.get(&request.source_path) {
            Some(known) => Some(known.clone()),
            None => match self.lookup(&request.source_path) {
                Ok(known) => known,
                Err(e) => {
                    let message = e.to_string();
                    let _ = reply.send(Err(e));
                    return Err(message);
                }
            },
        };
        let hash = content_hash(&request.content);
        if let Some(known) = &known {
            let path = self.dir.join(&known.file_name);
            if known.content_hash == hash
                && !self.owed.contains_key(&known.file_name)
                && FileStamp::of(&path).is_some_and(|stamp| known.stamp.is_none_or(|k| k == stamp))
            {
                let outcome = SaveOutcome {
                    composition_id: known.id.clone(),
                    history_file: path,
                    version: None,
                    created: false,
                    changed: false,
                    index_error: None,
                    file_error: None,
                    indexed_backend: self.index.is_some(),
                };
                self.send_index(IndexJob::Unchanged { outcome, reply });
                return Ok(());
            }
        }
        let now = now_millis();
        let created = known.is_none();
        let (id, file_name, created_at) = match known {
            Some(k) => (k.id, k.file_name, k.created),
            None => {
                let name = self.new_file_name(now);
                let id = name.trim_end_matches(".md").to_string();
                (id, name, now)
            }
        };
        let file = HistoryFile {
            id: id.clone(),
            source_path: Some(request.source_path.clone()),
            working_dir: request.working_dir,
            created: created_at,
            updated: now,
            content: request.content,
        };
        let path = self.dir.join(&file_name);
        let (stamp, file_error) = match files::write(&self.dir, &file_name, &file) {
            Ok(path) => {
                self.owed.remove(&file_name);
                (FileStamp::of(&path), None)
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), "history file not written: {e}");
                self.owed.insert(file_name.clone(), file.clone());
                (None, Some(e.to_string()))
            }
        };
        self.known.insert(
            request.source_path.clone(),
            Known {
                id: id.clone(),
                file_name: file_name.clone(),
                created: created_at,
                content_hash: hash,
                stamp,
            },
        );
        let record = file.record(&file_name, stamp);
        let characters = file.content.chars().count();
        let outcome = SaveOutcome {
            composition_id: id.clone(),
            history_file: path.clone(),
            version: None,
            created,
            changed: true,
            index_error: None,
            file_error,
            indexed_backend: self.index.is_some(),
        };
        match &self.index {
            Some(_) => self.send_index(IndexJob::Save {
                record,
                source_path: request.source_path,
                prompts_used: request.prompts_used,
                characters,
                outcome,
                reply,
            }),
            None => {
                self.bus.publish(DomainEvent::CompositionSaved {
                    composition_id: id,
                    source_path: Some(request.source_path),
                    history_file: path,
                    characters,
                    version: 0,
                });
                let _ = reply.send(Ok(outcome));
            }
        }
        Ok(())
    }

    fn send_index(&self, job: IndexJob) {
        let Some(index) = &self.index else {
            if let IndexJob::Unchanged { outcome, reply } = job {
                let _ = reply.send(Ok(outcome));
            }
            return;
        };
        if let Err(mpsc::SendError(job)) = index.send(job) {
            match job {
                IndexJob::Save { reply, .. } | IndexJob::Unchanged { reply, .. } => {
                    let _ = reply.send(Err(HistoryError::WorkerStopped));
                }
                IndexJob::Sync(_, _, reply) => {
                    let _ = reply.send(Err(HistoryError::WorkerStopped));
                }
                IndexJob::Restamp(_) => {}
            }
        }
    }

    /// A file name not used on disk nor by a file still owed.
    fn new_file_name(&self, now: OffsetDateTime) -> String {
        let mut name = files::new_file_name(&self.dir, now);
        let mut n = 1;
        while self.owed.contains_key(&name) {
            n += 1;
            name = format!("{}-{n}.md", name.trim_end_matches(".md"));
        }
        name
    }

    /// Writes the history files that could not be written before; stops at the first failure.
    fn write_owed(&mut self) {
        while let Some((name, file)) = self.owed.first_key_value() {
            let (name, file) = (name.clone(), file.clone());
            match files::write(&self.dir, &name, &file) {
                Ok(path) => {
                    tracing::info!(file = %path.display(), "history file written after a fault");
                    self.owed.remove(&name);
                    let stamp = FileStamp::of(&path);
                    if let Some(k) = self.known.values_mut().find(|k| k.file_name == name) {
                        k.stamp = stamp;
                    }
                    if self.index.is_some() {
                        self.send_index(IndexJob::Restamp(file.record(&name, stamp)));
                    }
                    self.backoff = MIN_BACKOFF;
                }
                Err(e) => {
                    tracing::debug!("history file still not writable: {e}");
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    return;
                }
            }
        }
    }

    /// The history file for a source path: from the index, or by scanning the files when the
    /// index cannot answer (so a failing index never splits a composition in two).
    fn lookup(&self, source: &Path) -> Result<Option<Known>, HistoryError> {
        if let Some((name, file)) = self
            .owed
            .iter()
            .find(|(_, f)| f.source_path.as_deref() == Some(source))
        {
            return Ok(Some(Known {
                id: file.id.clone(),
                file_name: name.clone(),
                created: file.created,
                content_hash: content_hash(&file.content),
                stamp: None,
            }));
        }
        if let Some(repo) = &self.repo {
            match repo.find_by_source(source) {
                Ok(found) => {
                    return Ok(found.map(|s| Known {
                        stamp: FileStamp::of(&self.dir.join(&s.file_name)),
                        id: s.id,
                        file_name: s.file_name,
                        created: s.created_at,
                        content_hash: s.content_hash,
                    }));
                }
                Err(e) => tracing::warn!("history index lookup failed, scanning files: {e}"),
            }
        }
        Ok(
            files::find_by_source(&self.dir, source)?.map(|(name, file)| Known {
                content_hash: content_hash(&file.content),
                stamp: FileStamp::of(&self.dir.join(&name)),
                id: file.id,
                file_name: name,
                created: file.created,
            }),
        )
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventHandler;
    use crate::history::SqliteRepository;
    use crate::history::sqlite::SqliteOptions;
    use std::sync::Mutex;

    struct Seen(Mutex<Vec<DomainEvent>>);

    impl EventHandler for Seen {
        fn name(&self) -> &'static str {
            "seen"
        }
        fn handle(&self, event: &DomainEvent) -> anyhow::Result<()> {
            self.0.lock().unwrap().push(event.clone());
            Ok(())
        }
    }

    struct Setup {
        dir: tempfile::TempDir,
        repo: Arc<SqliteRepository>,
        bus: EventBus,
        seen: Arc<Seen>,
        recorder: HistoryRecorder,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteOptions {
            busy_timeout: std::time::Duration::from_millis(50),
        };
        let repo =
            Arc::new(SqliteRepository::open(&dir.path().join("history.db"), options).unwrap());
        let bus = EventBus::new();
        let seen = Arc::new(Seen(Mutex::new(Vec::new())));
        bus.subscribe(seen.clone());
        let recorder = HistoryRecorder::start(
            Some(repo.clone() as Arc<dyn CompositionRepository>),
            dir.path().join(".history"),
            bus.clone(),
        )
        .unwrap();
        Setup {
            dir,
            repo,
            bus,
            seen,
            recorder,
        }
    }

    fn request(source: &str, content: &str) -> SaveRequest {
        SaveRequest {
            source_path: PathBuf::from(source),
            working_dir: Some("/w".into()),
            content: content.into(),
            prompts_used: Vec::new(),
        }
    }

    #[tokio::test]
    async fn first_save_creates_later_saves_update_and_events_follow() {
        let s = setup();
        let mut req = request("/w/a.prompt.md", "# A\none");
        req.prompts_used = vec!["commands/review".into()];
        let first = s.recorder.save(req).await.unwrap();
        assert!(first.created && first.changed && !first.needs_repair());
        assert_eq!(first.version, Some(1));
        let text = std::fs::read_to_string(&first.history_file).unwrap();
        assert!(text.starts_with("---\nid: "), "{text}");
        assert!(text.contains("source: \"/w/a.prompt.md\"") && text.ends_with("\n---\n# A\none"));

        let second = s
            .recorder
            .save(request("/w/a.prompt.md", "# A\ntwo"))
            .await
            .unwrap();
        assert_eq!(second.history_file, first.history_file);
        assert_eq!((second.version, second.created), (Some(2), false));
        let same = s
            .recorder
            .save(request("/w/a.prompt.md", "# A\ntwo"))
            .await
            .unwrap();
        assert_eq!((same.version, same.changed), (Some(2), false));

        let other = s
            .recorder
            .save(request("/w/b.prompt.md", "b"))
            .await
            .unwrap();
        assert_ne!(
            other.history_file, first.history_file,
            "one file per source"
        );

        let loaded = s.repo.load(&first.composition_id).unwrap().unwrap();
        assert_eq!(loaded.content, "# A\ntwo");
        assert_eq!(
            s.repo.compositions_using("commands/review").unwrap().len(),
            1
        );
        drop(s.recorder);
        s.bus.drain();
        let versions: Vec<u32> = s
            .seen
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|e| match e {
                DomainEvent::CompositionSaved { version, .. } => *version,
                _ => 99,
            })
            .collect();
        assert_eq!(versions, [1, 2, 1], "no event for an unchanged save");
        drop(s.dir);
    }

    #[tokio::test]
    async fn oversized_compositions_are_refused() {
        let s = setup();
        let big = "x".repeat(MAX_FILE_BYTES + 1);
        let err = s
            .recorder
            .save(request("/w/big.prompt.md", &big))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("up to 1 MB"), "{err}");
        assert!(
            files::list(&s.dir.path().join(".history"))
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn saves_of_one_composition_apply_in_order() {
        let s = setup();
        let saves: Vec<_> = (0..40)
            .map(|i| s.recorder.save(request("/w/a.prompt.md", &format!("v{i}"))))
            .collect();
        let outcomes = futures::future::join_all(saves).await;
        let versions: Vec<u32> = outcomes
            .into_iter()
            .map(|o| o.unwrap().version.unwrap())
            .collect();
        assert_eq!(versions, (1..=40).collect::<Vec<_>>());
        let id = s.repo.list(&Default::default()).unwrap().items[0]
            .id
            .clone();
        assert_eq!(s.repo.load(&id).unwrap().unwrap().content, "v39");
    }

    /// Polls `check` until it holds (the recorder retries on a timer).
    async fn eventually(what: &str, check: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !check() {
            assert!(
                std::time::Instant::now() < deadline,
                "never happened: {what}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_locked_index_still_writes_the_file_and_waiting_saves_go_in_in_order() {
        let s = setup();
        let other = rusqlite::Connection::open(s.dir.path().join("history.db")).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let outcome = s
            .recorder
            .save(request("/w/a.prompt.md", "locked out"))
            .await
            .unwrap();
        assert!(outcome.needs_repair() && outcome.is_durable() && outcome.version.is_none());
        let message = outcome.index_error.clone().unwrap();
        assert!(message.contains("locked"), "{message}");
        assert!(
            std::fs::read_to_string(&outcome.history_file)
                .unwrap()
                .ends_with("locked out")
        );
        // Still locked: the same file is updated, not a second one created.
        let again = s
            .recorder
            .save(request("/w/a.prompt.md", "still locked"))
            .await
            .unwrap();
        assert_eq!(again.history_file, outcome.history_file);
        assert!(again.index_error.is_some());
        // Waiting saves are journaled, so a restart would keep them too.
        let journal = s.dir.path().join(".history/.pending");
        assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 2);
        other.execute_batch("COMMIT").unwrap();
        // No new save needed: the recorder retries on its own, in order.
        let id = outcome.composition_id.clone();
        eventually("the waiting saves are indexed", || {
            s.repo.versions(&id).map(|v| v.len()).unwrap_or(0) == 2
        })
        .await;
        assert_eq!(s.repo.load(&id).unwrap().unwrap().content, "still locked");
        assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0);
        let next = s
            .recorder
            .save(request("/w/b.prompt.md", "b"))
            .await
            .unwrap();
        assert!(!next.needs_repair());
    }

    #[tokio::test]
    async fn saves_waiting_in_the_journal_survive_a_restart() {
        let s = setup();
        let other = rusqlite::Connection::open(s.dir.path().join("history.db")).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        for text in ["one", "two", "three"] {
            s.recorder
                .save(request("/w/a.prompt.md", text))
                .await
                .unwrap();
        }
        let Setup {
            dir,
            repo,
            recorder,
            ..
        } = s;
        drop(recorder);
        other.execute_batch("COMMIT").unwrap();
        // A new recorder (the next start) pushes what the last one left waiting, in order.
        let recorder = HistoryRecorder::start(
            Some(repo.clone() as Arc<dyn CompositionRepository>),
            dir.path().join(".history"),
            EventBus::new(),
        )
        .unwrap();
        eventually("the journal is replayed", || {
            repo.list(&Default::default())
                .is_ok_and(|p| p.items.first().is_some_and(|c| c.version == 3))
        })
        .await;
        let id = repo.list(&Default::default()).unwrap().items[0].id.clone();
        let versions = repo.versions(&id).unwrap();
        assert_eq!(versions.len(), 3);
        assert_eq!(repo.load(&id).unwrap().unwrap().content, "three");
        drop(recorder);
    }

    #[tokio::test]
    async fn an_unwritable_history_directory_keeps_the_save_in_the_index() {
        let s = setup();
        // A file where the directory should be fails for every user, root included.
        let history = s.dir.path().join(".history");
        std::fs::write(&history, "not a dir").unwrap();
        let outcome = s
            .recorder
            .save(request("/w/a.prompt.md", "kept while the disk is broken"))
            .await
            .unwrap();
        let message = outcome.file_error.clone().unwrap();
        assert!(
            message.starts_with("cannot write history file"),
            "{message}"
        );
        assert!(message.contains(".history"), "{message}");
        assert!(outcome.is_durable() && outcome.index_error.is_none());
        // The index holds the content, marked as having no file yet.
        let entries = s.repo.index_entries().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].file_stamp, None);
        assert_eq!(
            s.repo
                .load(&outcome.composition_id)
                .unwrap()
                .unwrap()
                .content,
            "kept while the disk is broken"
        );
        // The fault clears: the file is written without another save.
        std::fs::remove_file(&history).unwrap();
        let file = outcome.history_file.clone();
        eventually("the history file is written", || {
            std::fs::read_to_string(&file)
                .is_ok_and(|t| t.ends_with("kept while the disk is broken"))
        })
        .await;
        eventually("the row gets the file's stamp", || {
            s.repo
                .index_entries()
                .is_ok_and(|e| e[0].file_stamp.is_some())
        })
        .await;
    }

    #[tokio::test]
    async fn without_an_index_the_files_are_still_written() {
        let dir = tempfile::tempdir().unwrap();
        let recorder =
            HistoryRecorder::start(None, dir.path().join(".history"), EventBus::new()).unwrap();
        let outcome = recorder
            .save(request("/w/a.prompt.md", "no index, still kept"))
            .await
            .unwrap();
        assert!(!outcome.needs_repair() && !outcome.indexed_backend);
        let text = std::fs::read_to_string(&outcome.history_file).unwrap();
        assert!(text.ends_with("no index, still kept"), "{text}");
        let again = recorder
            .save(request("/w/a.prompt.md", "second save"))
            .await
            .unwrap();
        assert_eq!(again.history_file, outcome.history_file);
        assert!(recorder.sync(SyncMode::Check, |_, _| {}).await.is_err());
    }
}
