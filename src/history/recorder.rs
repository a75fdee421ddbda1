//! The save path: a dedicated worker thread applies saves in order (file first, then the index)
//! without ever blocking the caller.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use time::OffsetDateTime;
use tokio::sync::oneshot;

use super::files::{self, HistoryFile};
use super::sync::{self, SyncMode, SyncReport};
use super::{CompositionRepository, FileStamp, HistoryError, content_hash, now_millis};
use crate::document::MAX_FILE_BYTES;
use crate::events::{DomainEvent, EventBus};

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
    /// The history file (written even when the index failed).
    pub history_file: PathBuf,
    /// The composition's version in the index; `None` when the index could not be updated.
    pub version: Option<u32>,
    /// The first save of this source path.
    pub created: bool,
    /// Whether the content differed from the last save (unchanged saves write nothing).
    pub changed: bool,
    /// Set when the file was saved but the index was not; the message is for the user.
    pub index_error: Option<String>,
}

impl SaveOutcome {
    /// Whether the index is behind the files and will be repaired on the next save or start.
    pub fn needs_repair(&self) -> bool {
        self.index_error.is_some()
    }
}

type Reply<T> = oneshot::Sender<Result<T, HistoryError>>;
type Progress = Box<dyn FnMut(usize, usize) + Send>;

enum Job {
    Save(SaveRequest, Reply<SaveOutcome>),
    Sync(SyncMode, Progress, Reply<SyncReport>),
}

/// Owns the history worker. Dropping it finishes queued jobs and stops the worker.
pub struct HistoryRecorder {
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<JoinHandle<()>>,
}

impl HistoryRecorder {
    /// Starts the worker over `repo` and the history files in `history_dir`.
    pub fn start(
        repo: Arc<dyn CompositionRepository>,
        history_dir: PathBuf,
        bus: EventBus,
    ) -> Result<Self, HistoryError> {
        let (jobs, receiver) = mpsc::channel::<Job>();
        let mut worker = Worker {
            repo,
            dir: history_dir,
            bus,
            known: HashMap::new(),
            pending: BTreeSet::new(),
        };
        let handle = std::thread::Builder::new()
            .name("history".into())
            .spawn(move || {
                for job in receiver {
                    // A bug in one job must not take the worker (and every later save) down.
                    let outcome =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.run(job)));
                    if outcome.is_err() {
                        tracing::error!("history worker job panicked");
                    }
                }
            })
            .map_err(|e| HistoryError::io("cannot start the history worker", Path::new(""), e))?;
        Ok(HistoryRecorder {
            jobs: Some(jobs),
            worker: Some(handle),
        })
    }

    async fn submit<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, HistoryError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .as_ref()
            .ok_or(HistoryError::WorkerStopped)?
            .send(job(reply))
            .map_err(|_| HistoryError::WorkerStopped)?;
        answer.await.map_err(|_| HistoryError::WorkerStopped)?
    }

    /// Saves a composition: history file, then index row and version, then `CompositionSaved`.
    pub async fn save(&self, request: SaveRequest) -> Result<SaveOutcome, HistoryError> {
        self.submit(|reply| Job::Save(request, reply)).await
    }

    /// Compares the index with the history files and repairs it, in order with saves.
    pub async fn sync(
        &self,
        mode: SyncMode,
        progress: impl FnMut(usize, usize) + Send + 'static,
    ) -> Result<SyncReport, HistoryError> {
        self.submit(|reply| Job::Sync(mode, Box::new(progress), reply))
            .await
    }
}

impl Drop for HistoryRecorder {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// What the worker remembers about a source path's history file.
#[derive(Debug, Clone)]
struct Known {
    id: String,
    file_name: String,
    created: OffsetDateTime,
    content_hash: String,
    version: Option<u32>,
}

struct Worker {
    repo: Arc<dyn CompositionRepository>,
    dir: PathBuf,
    bus: EventBus,
    known: HashMap<PathBuf, Known>,
    /// History files written while the index was failing; re-indexed on the next save.
    pending: BTreeSet<String>,
}

impl Worker {
    fn run(&mut self, job: Job) {
        match job {
            Job::Save(request, reply) => {
                let _ = reply.send(self.save(request));
            }
            Job::Sync(mode, mut progress, reply) => {
                let result = sync::sync(self.repo.as_ref(), &self.dir, mode, &mut progress);
                if result.is_ok() {
                    // The index now matches the files; what the cache says may not.
                    self.pending.clear();
                    self.known.clear();
                }
                let _ = reply.send(result);
            }
        }
    }

    fn save(&mut self, request: SaveRequest) -> Result<SaveOutcome, HistoryError> {
        if request.content.len() > MAX_FILE_BYTES {
            return Err(HistoryError::InvalidInput(format!(
                "{} is {:.1} MB; history keeps compositions up to 1 MB",
                request.source_path.display(),
                request.content.len() as f64 / (1024.0 * 1024.0)
            )));
        }
        self.repair_pending();
        let known = match self.known.get(&request.source_path) {
            Some(known) => Some(known.clone()),
            None => self.lookup(&request.source_path)?,
        };
        let hash = content_hash(&request.content);
        if let Some(known) = &known {
            let path = self.dir.join(&known.file_name);
            if known.content_hash == hash
                && !self.pending.contains(&known.file_name)
                && path.exists()
            {
                return Ok(SaveOutcome {
                    composition_id: known.id.clone(),
                    history_file: path,
                    version: known.version,
                    created: false,
                    changed: false,
                    index_error: None,
                });
            }
        }
        let now = now_millis();
        let created = known.is_none();
        let (id, file_name, created_at) = match known {
            Some(k) => (k.id, k.file_name, k.created),
            None => {
                let name = files::new_file_name(&self.dir, now);
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
        let path = files::write(&self.dir, &file_name, &file)?;
        let characters = file.content.chars().count();
        let mut known = Known {
            id: id.clone(),
            file_name: file_name.clone(),
            created: created_at,
            content_hash: hash,
            version: None,
        };
        let record = file.record(&file_name, FileStamp::of(&path));
        let (version, index_error) = match self.repo.save(&record) {
            Ok(stored) => {
                known.version = Some(stored.version);
                for prompt in &request.prompts_used {
                    if let Err(e) = self.repo.record_prompt_use(&request.source_path, prompt) {
                        tracing::warn!(prompt, "cannot record prompt use: {e}");
                    }
                }
                (Some(stored.version), None)
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), "history index update failed: {e}");
                self.pending.insert(file_name.clone());
                let message = format!(
                    "Saved {}, but the history index could not be updated ({e}); it will be repaired on the next save or start.",
                    path.display()
                );
                (None, Some(message))
            }
        };
        self.known.insert(request.source_path.clone(), known);
        self.bus.publish(DomainEvent::CompositionSaved {
            composition_id: id.clone(),
            source_path: Some(request.source_path),
            history_file: path.clone(),
            characters,
            // 0: not known yet, the index is behind.
            version: version.unwrap_or(0),
        });
        Ok(SaveOutcome {
            composition_id: id,
            history_file: path,
            version,
            created,
            changed: true,
            index_error,
        })
    }

    /// The history file for a source path: from the index, or by scanning the files when the
    /// index cannot answer (so a failing index never splits a composition in two).
    fn lookup(&self, source: &Path) -> Result<Option<Known>, HistoryError> {
        match self.repo.find_by_source(source) {
            Ok(found) => Ok(found.map(|s| Known {
                id: s.id,
                file_name: s.file_name,
                created: s.created_at,
                content_hash: s.content_hash,
                version: Some(s.version),
            })),
            Err(e) => {
                tracing::warn!("history index lookup failed, scanning files: {e}");
                Ok(
                    files::find_by_source(&self.dir, source)?.map(|(name, file)| Known {
                        content_hash: content_hash(&file.content),
                        id: file.id,
                        file_name: name,
                        created: file.created,
                        version: None,
                    }),
                )
            }
        }
    }

    /// Re-indexes files whose index update failed earlier; stops at the first failure.
    fn repair_pending(&mut self) {
        while let Some(name) = self.pending.first().cloned() {
            let path = self.dir.join(&name);
            // A file gone or broken since is left to the start-up sync.
            if let Ok(Ok(file)) = files::read(&path) {
                match self.repo.save(&file.record(&name, FileStamp::of(&path))) {
                    Ok(stored) => {
                        tracing::info!(file = %path.display(), "history index repaired");
                        if let Some(k) = self.known.values_mut().find(|k| k.file_name == name) {
                            k.version = Some(stored.version);
                        }
                    }
                    Err(e) => {
                        tracing::debug!("history index still failing: {e}");
                        return;
                    }
                }
            }
            self.pending.remove(&name);
        }
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
        let recorder =
            HistoryRecorder::start(repo.clone(), dir.path().join(".history"), bus.clone()).unwrap();
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

    #[tokio::test]
    async fn a_locked_index_still_writes_the_file_and_the_next_save_repairs() {
        let s = setup();
        let other = rusqlite::Connection::open(s.dir.path().join("history.db")).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let outcome = s
            .recorder
            .save(request("/w/a.prompt.md", "locked out"))
            .await
            .unwrap();
        assert!(outcome.needs_repair() && outcome.version.is_none());
        let message = outcome.index_error.unwrap();
        assert!(
            message.contains("locked") && message.contains("repaired"),
            "{message}"
        );
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
        other.execute_batch("COMMIT").unwrap();
        let repaired = s
            .recorder
            .save(request("/w/b.prompt.md", "b"))
            .await
            .unwrap();
        assert!(!repaired.needs_repair());
        let loaded = s
            .repo
            .load(&outcome.composition_id)
            .unwrap()
            .expect("repaired");
        assert_eq!(loaded.content, "still locked");
        assert_eq!(s.repo.stats().unwrap().compositions, 2);
    }

    #[tokio::test]
    async fn an_unwritable_history_directory_is_a_clear_error() {
        let s = setup();
        // A file where the directory should be fails for every user, root included.
        std::fs::write(s.dir.path().join(".history"), "not a dir").unwrap();
        let err = s
            .recorder
            .save(request("/w/a.prompt.md", "x"))
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("cannot write history file"),
            "{message}"
        );
        assert!(message.contains(".history"), "{message}");
        assert_eq!(
            s.repo.stats().unwrap().compositions,
            0,
            "nothing indexed without a file"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_read_only_history_directory_is_a_clear_error() {
        use std::os::unix::fs::PermissionsExt;
        let s = setup();
        let dir = s.dir.path().join(".history");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        if std::fs::write(dir.join("probe"), "x").is_ok() {
            eprintln!("skipped: permissions are not enforced for this user (root)");
            return;
        }
        let err = s
            .recorder
            .save(request("/w/a.prompt.md", "x"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Permission denied"), "{err}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}
