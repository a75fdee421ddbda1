//! [`Library`]: the one object the server and the CLI hold for everything about prompts.
//!
//! A worker thread owns all changes (first load, watcher batches, editor-reported paths,
//! reindex) and applies them in order: source → cache → index → subscribers. Reads (`search`,
//! `get`, tags) are served from the cache and the index at any time and never wait for it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, RwLock};

use tokio::sync::broadcast;

use crate::config::Config;
use crate::events::{DomainEvent, EventBus, Subscription};
use crate::home::DataPaths;

use super::cache::{LibraryChange, MemoryCache, PromptCache};
use super::git_source::{SyncOutcome, SyncRequest};
use super::index::{Build, Fresh, IndexError, Progress, PromptIndex, is_blank_query};
use super::prompt::Prompt;
use super::source::{PromptSource, SkipReason, SkippedFile, SourceChange, open_source};
use super::usage::{UsageEntry, UsageHandler, UsageStats, now_secs};

/// Why a library operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the library worker has stopped")]
    WorkerGone,
    #[error("no git prompt source is named `{0}` in `library.sources`")]
    NoSuchSource(String),
}

/// A search result: the prompt and its final score (index score × usage boost).
#[derive(Debug, Clone)]
pub struct PromptHit {
    pub prompt: Arc<Prompt>,
    pub score: f32,
}

/// Figures about the library for `library stats` and the server's status.
#[derive(Debug, Clone)]
pub struct LibraryStats {
    pub prompts: usize,
    pub indexed: u64,
    pub tags: usize,
    pub placeholder_names: usize,
    pub skipped: Vec<SkippedFile>,
    /// Why the index was rebuilt from scratch at open, if it was.
    pub index_rebuilt: Option<Fresh>,
    /// Whether the first load has finished.
    pub ready: bool,
}

enum Job {
    Load(Option<Progress>),
    Changes(Vec<SourceChange>),
    Paths(Vec<PathBuf>),
    Reindex(Option<Progress>, mpsc::Sender<Result<(), LibraryError>>),
    Flush(mpsc::Sender<()>),
    Shutdown,
}

struct Inner {
    library_dir: PathBuf,
    source: Arc<dyn PromptSource>,
    cache: Arc<dyn PromptCache>,
    index: PromptIndex,
    usage: Arc<UsageStats>,
    bus: EventBus,
    changes: broadcast::Sender<Arc<Vec<LibraryChange>>>,
    /// Problems the library recovered from that the user should hear about.
    notices: broadcast::Sender<String>,
    skipped: RwLock<HashMap<PathBuf, SkipReason>>,
    ready: (Mutex<bool>, Condvar),
    ready_flag: AtomicBool,
    watch: bool,
}

/// The prompt library: source, cache, search index, usage stats and change notifications.
pub struct Library {
    inner: Arc<Inner>,
    jobs: mpsc::Sender<Job>,
    worker: Option<std::thread::JoinHandle<()>>,
    /// The usage-stats handler on the bus, removed when the library closes (a server that
    /// switches libraries must not count a use twice).
    usage_subscription: Subscription,
}

/// Options for [`Library::open_with`].
pub struct OpenOptions {
    /// Watch the library directory for changes (off for one-shot CLI commands).
    pub watch: bool,
    /// Build progress, `(done, total)`: each file counts once for reading and once for indexing.
    pub progress: Option<Progress>,
}

impl Library {
    /// Opens the library: the index is opened at once (searches work immediately from an
    /// existing index); loading, reconciling and watching continue on a worker thread. Blocking
    /// but quick (opens files, no walk). Subscribes the usage-stats handler to `bus`. Fails only
    /// when no index can be made at all, not even in memory.
    pub fn open(
        config: &Config,
        paths: &DataPaths,
        bus: EventBus,
        progress: Option<Progress>,
    ) -> Result<Library, LibraryError> {
        Library::open_with(
            open_source(config, paths),
            paths,
            bus,
            OpenOptions {
                watch: true,
                progress,
            },
        )
    }

    /// [`Library::open`] with a given source and options.
    pub fn open_with(
        source: Arc<dyn PromptSource>,
        paths: &DataPaths,
        bus: EventBus,
        options: OpenOptions,
    ) -> Result<Library, LibraryError> {
        let index = PromptIndex::open(&paths.index_dir).or_else(|e| {
            // An index we cannot create on disk (permissions, full disk) costs speed, not service.
            tracing::error!("{e}; keeping the search index in memory");
            PromptIndex::in_memory()
        })?;
        let usage = Arc::new(UsageStats::load(&paths.usage_file));
        let usage_subscription = bus.subscribe(Arc::new(UsageHandler(usage.clone())));
        let inner = Arc::new(Inner {
            library_dir: paths.library_dir.clone(),
            source,
            cache: Arc::new(MemoryCache::new()),
            index,
            usage,
            bus,
            changes: broadcast::channel(64).0,
            notices: broadcast::channel(16).0,
            skipped: RwLock::new(HashMap::new()),
            ready: (Mutex::new(false), Condvar::new()),
            ready_flag: AtomicBool::new(false),
            watch: options.watch,
        });
        let (jobs, receiver) = mpsc::channel();
        let _ = jobs.send(Job::Load(options.progress));
        let worker_inner = inner.clone();
        let worker_jobs = jobs.clone();
        let worker = std::thread::Builder::new()
            .name("library".into())
            .spawn(move || run_worker(&worker_inner, &receiver, worker_jobs));
        let worker = worker.map_err(|_| {
            inner.bus.unsubscribe(usage_subscription);
            LibraryError::WorkerGone
        })?;
        Ok(Library {
            inner,
            jobs,
            worker: Some(worker),
            usage_subscription,
        })
    }

    /// The library directory.
    pub fn library_dir(&self) -> &Path {
        &self.inner.library_dir
    }

    /// Whether the first load has finished (before that, searches answer from the index alone).
    pub fn is_ready(&self) -> bool {
        self.inner.ready_flag.load(Ordering::Acquire)
    }

    /// Blocks until the first load has finished.
    pub fn wait_ready(&self) {
        let (lock, cvar) = &self.inner.ready;
        let mut ready = lock.lock().unwrap_or_else(|p| p.into_inner());
        while !*ready && self.worker.is_some() {
            ready = cvar.wait(ready).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Ranked prompts for `query`, at most `limit`. A blank query lists prompts by usage, then
    /// title. Synchronous and fast (well under the 2 ms budget); fine to call inline.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<PromptHit>, LibraryError> {
        let inner = &self.inner;
        if is_blank_query(query) {
            return self.listing(limit);
        }
        // Fetch more than asked so usage can reorder close matches.
        let found = inner
            .index
            .search(query, limit.saturating_mul(2).max(limit + 20))?;
        let now = now_secs();
        let ready = self.is_ready();
        let mut out = Vec::with_capacity(found.hits.len());
        for hit in &found.hits {
            let prompt = match inner.cache.get_by_key(hit.key) {
                Some(p) => p,
                // Before the first load finishes, the index alone answers.
                None if !ready => match found.prompt(hit)? {
                    Some(p) => Arc::new(p),
                    None => continue,
                },
                // Deleted since the index answered.
                None => continue,
            };
            let score = hit.score * inner.usage.boost(&prompt.id, now);
            out.push(PromptHit { prompt, score });
        }
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.prompt.title.cmp(&b.prompt.title))
        });
        out.truncate(limit);
        Ok(out)
    }

    /// Most used first, then by title: cheap at any size (usage holds few entries).
    fn listing(&self, limit: usize) -> Result<Vec<PromptHit>, LibraryError> {
        let cache = &self.inner.cache;
        let mut out: Vec<PromptHit> = self
            .inner
            .usage
            .ranked()
            .into_iter()
            .filter_map(|(id, _)| cache.get(&id))
            .take(limit)
            .map(|prompt| PromptHit { prompt, score: 0.0 })
            .collect();
        let used: std::collections::HashSet<String> =
            out.iter().map(|h| h.prompt.id.clone()).collect();
        let rest = cache.first_by_title(limit - out.len(), &|id| used.contains(id));
        out.extend(
            rest.into_iter()
                .map(|prompt| PromptHit { prompt, score: 0.0 }),
        );
        Ok(out)
    }

    /// One prompt by id. Before the first load finishes it comes from the index.
    pub fn get(&self, id: &str) -> Option<Arc<Prompt>> {
        if let Some(p) = self.inner.cache.get(id) {
            return Some(p);
        }
        if self.is_ready() {
            return None;
        }
        let from_index = self.inner.index.prompts(&[id]).ok()?;
        from_index.into_iter().next().map(Arc::new)
    }

    /// Every prompt, in title order.
    pub fn all(&self) -> Vec<Arc<Prompt>> {
        self.inner.cache.all()
    }

    /// Every tag in the library with the number of prompts using it.
    pub fn all_tags(&self) -> Vec<(String, usize)> {
        self.inner.cache.all_tags()
    }

    /// Every placeholder name in the library with the number of prompts using it.
    pub fn placeholder_names(&self) -> Vec<(String, usize)> {
        self.inner.cache.placeholder_names()
    }

    /// Usage stats of one prompt.
    pub fn usage(&self, id: &str) -> Option<UsageEntry> {
        self.inner.usage.get(id)
    }

    /// Files that could not be loaded, with the reason.
    pub fn skipped(&self) -> Vec<SkippedFile> {
        let mut out: Vec<SkippedFile> = self
            .inner
            .skipped
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(path, reason)| SkippedFile {
                path: path.clone(),
                reason: reason.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// Figures about the library.
    pub fn stats(&self) -> LibraryStats {
        LibraryStats {
            prompts: self.inner.cache.len(),
            indexed: self.inner.index.len(),
            tags: self.inner.cache.all_tags().len(),
            placeholder_names: self.inner.cache.placeholder_names().len(),
            skipped: self.skipped(),
            index_rebuilt: self.inner.index.fresh().cloned(),
            ready: self.is_ready(),
        }
    }

    /// Re-reads every file and rebuilds the index from scratch. Blocking (seconds on large
    /// libraries): run it on `spawn_blocking`.
    pub fn reindex(&self, progress: Option<Progress>) -> Result<LibraryStats, LibraryError> {
        let (done, wait) = mpsc::channel();
        self.send(Job::Reindex(progress, done))?;
        wait.recv().map_err(|_| LibraryError::WorkerGone)??;
        Ok(self.stats())
    }

    /// Takes paths reported changed from outside (`workspace/didChangeWatchedFiles`, a save of a
    /// library file). Returns at once; subscribers hear about the result.
    pub fn apply_changes(&self, paths: Vec<PathBuf>) {
        if self.send(Job::Paths(paths)).is_err() {
            tracing::warn!("library worker stopped; ignoring reported changes");
        }
    }

    /// Fetches the git sources (`request.name`: only that one) and applies what changed, then
    /// returns each source's outcome. Blocking (network): run it on `spawn_blocking`. `progress`
    /// hears `(sources done, sources)`.
    pub fn sync_sources(
        &self,
        request: &SyncRequest,
        mut progress: Option<Progress>,
    ) -> Result<Vec<SyncOutcome>, LibraryError> {
        if let Some(p) = progress.as_mut() {
            p(0, 1);
        }
        let mut outcomes = self.inner.source.sync(request);
        if let Some(name) = &request.name
            && outcomes.is_empty()
        {
            return Err(LibraryError::NoSuchSource(name.clone()));
        }
        for outcome in &mut outcomes {
            let changes = std::mem::take(&mut outcome.changes);
            if !changes.is_empty() {
                self.send(Job::Changes(changes))?;
            }
        }
        self.flush()?;
        if let Some(p) = progress.as_mut() {
            p(1, 1);
        }
        Ok(outcomes)
    }

    /// Blocks until every change queued so far is in the cache and the index.
    pub fn flush(&self) -> Result<(), LibraryError> {
        let (done, wait) = mpsc::channel();
        self.send(Job::Flush(done))?;
        wait.recv().map_err(|_| LibraryError::WorkerGone)
    }

    /// Change notifications: one message per applied batch. Works from async (`recv().await`)
    /// and sync (`blocking_recv`) code; a lagging receiver should re-read what it shows.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Vec<LibraryChange>>> {
        self.inner.changes.subscribe()
    }

    /// Problems the library recovered from (its index directory deleted while running, ...),
    /// one message each, for the user.
    pub fn notices(&self) -> broadcast::Receiver<String> {
        self.inner.notices.subscribe()
    }

    fn send(&self, job: Job) -> Result<(), LibraryError> {
        if self.worker.is_none() {
            return Err(LibraryError::WorkerGone);
        }
        self.jobs.send(job).map_err(|_| LibraryError::WorkerGone)
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        self.inner.bus.unsubscribe(self.usage_subscription);
        let _ = self.jobs.send(Job::Shutdown);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn run_worker(inner: &Arc<Inner>, jobs: &mpsc::Receiver<Job>, sender: mpsc::Sender<Job>) {
    // Keeps the watcher alive for the life of the worker.
    let mut _watch = None;
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Load(progress) => {
                // Watch first: a change during the load queues behind it instead of being lost.
                if inner.watch {
                    _watch = start_watch(inner, sender.clone());
                }
                if let Err(e) = load(inner, progress) {
                    tracing::error!("loading the library failed: {e}");
                }
                let (lock, cvar) = &inner.ready;
                *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
                inner.ready_flag.store(true, Ordering::Release);
                cvar.notify_all();
            }
            Job::Changes(changes) => apply(inner, changes),
            Job::Paths(paths) => apply(inner, inner.source.resolve(&paths)),
            Job::Reindex(progress, done) => {
                let _ = done.send(reindex(inner, progress));
            }
            Job::Flush(done) => {
                let _ = done.send(());
            }
            Job::Shutdown => break,
        }
    }
    // The worker is gone: release anyone waiting for the first load.
    inner.ready_flag.store(true, Ordering::Release);
    *inner.ready.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
    inner.ready.1.notify_all();
}

fn start_watch(inner: &Arc<Inner>, jobs: mpsc::Sender<Job>) -> Option<super::source::Watch> {
    match inner.source.watch() {
        Ok(mut watch) => {
            // The worker cannot wait on two channels, so a small thread forwards watcher batches.
            let (tx, rx) = mpsc::channel();
            let changes = std::mem::replace(&mut watch.changes, rx);
            drop(tx);
            let forwarded = std::thread::Builder::new()
                .name("library-watch-forward".into())
                .spawn(move || {
                    for batch in changes {
                        if jobs.send(Job::Changes(batch)).is_err() {
                            return;
                        }
                    }
                });
            if let Err(e) = forwarded {
                tracing::warn!("cannot forward library changes: {e}");
            }
            Some(watch)
        }
        Err(e) => {
            // Editors still report changes through didChangeWatchedFiles.
            tracing::warn!("{e}; relying on the editor to report library changes");
            None
        }
    }
}

/// Files read and indexed per step of the first load: the first step is small so the first
/// prompts answer searches within a second of starting on a large library that has no index yet;
/// later steps grow so the commits between them stay few.
const FIRST_STEP: usize = 1000;
const LARGEST_STEP: usize = 8192;

/// Build progress over `files * 2` units: each file counts once when read and once when indexed.
struct Tracker {
    progress: Option<Arc<Mutex<Progress>>>,
    total: usize,
    done: usize,
}

impl Tracker {
    fn new(progress: Option<Progress>, files: usize) -> Tracker {
        Tracker {
            progress: progress.map(|p| Arc::new(Mutex::new(p))),
            total: files * 2,
            done: 0,
        }
    }

    fn report(&self, done: usize) {
        if let Some(p) = &self.progress {
            (p.lock().unwrap_or_else(|e| e.into_inner()))(done, self.total);
        }
    }

    fn advance(&mut self, units: usize) {
        self.done += units;
        self.report(self.done);
    }

    /// Maps the index's `(done, total)` over one step's upserts onto that step's `units`.
    fn indexing(&self, units: usize) -> Option<Progress> {
        let progress = self.progress.clone()?;
        let (base, total) = (self.done, self.total);
        Some(Box::new(move |done, of| {
            let scaled = (done * units).checked_div(of).unwrap_or(units);
            (progress.lock().unwrap_or_else(|e| e.into_inner()))(base + scaled, total);
        }))
    }
}

/// First load: files against the index. Unchanged files (same path, mtime and size as indexed)
/// are taken from the index without reading them and answer at once; the rest are read and
/// indexed in steps, each searchable as soon as it is committed, so a library without an index
/// answers from what is loaded so far (completion lists are incomplete anyway). The index gets
/// exactly the added, changed and removed prompts.
fn load(inner: &Inner, progress: Option<Progress>) -> Result<(), LibraryError> {
    let mut indexed = if inner.index.fresh().is_none() {
        inner.index.stored_prompts()?
    } else {
        HashMap::new()
    };
    let scan = inner.source.scan();
    let mut tracker = Tracker::new(progress, scan.files.len());
    tracker.report(0);
    let mut skipped = scan.skipped;
    let mut reused = Vec::new();
    let mut to_read = Vec::new();
    for file in scan.files {
        match indexed.remove(&file.id) {
            Some(p)
                if p.path == file.path
                    && p.mtime_ns == file.stamp.mtime_ns
                    && p.size == file.stamp.size =>
            {
                reused.push(Arc::new(p));
            }
            old => to_read.push((file, old)),
        }
    }
    let reused_count = reused.len();
    inner.cache.extend(reused);
    tracker.advance(reused_count * 2);
    let mut deletes: Vec<String> = indexed.into_keys().collect();
    let deleted = deletes.len();
    let (mut upserted, mut step) = (0, FIRST_STEP);
    let mut pending = to_read.into_iter();
    let build = inner.index.begin_build();
    loop {
        let batch: Vec<_> = pending.by_ref().take(step).collect();
        if batch.is_empty() && deletes.is_empty() {
            break;
        }
        let units = batch.len();
        let base = tracker.done;
        let read = read_parallel(inner.source.as_ref(), batch, |n| tracker.report(base + n));
        tracker.advance(units);
        let mut loaded = Vec::with_capacity(units);
        let mut upserts = Vec::new();
        for (result, old) in read {
            match result {
                Ok(p) => {
                    let p = Arc::new(p);
                    if old
                        .as_ref()
                        .is_none_or(|o| o.hash != p.hash || o.path != p.path)
                    {
                        upserts.push(p.clone());
                    }
                    loaded.push(p);
                }
                Err(s) => skipped.push(s),
            }
        }
        upserted += upserts.len();
        // The cache first: a prompt the index finds is then always one `get` knows.
        inner.cache.extend(loaded);
        if !upserts.is_empty() || !deletes.is_empty() {
            update_index(
                inner,
                false,
                upserts,
                std::mem::take(&mut deletes),
                tracker.indexing(units),
                || inner.cache.all(),
            )?;
        }
        tracker.advance(units);
        step = (step * 2).min(LARGEST_STEP);
    }
    finish_build(build, upserted);
    tracing::info!(
        prompts = inner.cache.len(),
        reused = reused_count,
        upserts = upserted,
        deletes = deleted,
        skipped = skipped.len(),
        "library loaded"
    );
    *inner.skipped.write().unwrap_or_else(|p| p.into_inner()) =
        skipped.into_iter().map(|s| (s.path, s.reason)).collect();
    release_freed_memory();
    Ok(())
}

/// Hands memory freed after a load back to the OS: the load briefly holds every prompt twice
/// (index copy and file copy), and glibc keeps freed heap otherwise, inflating resident memory
/// for the life of the server.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

type ReadResult<T> = (Result<Prompt, SkippedFile>, T);

/// Reads files on every core; `report(done)` is called from this thread as reading advances.
fn read_parallel<T: Send>(
    source: &dyn PromptSource,
    files: Vec<(super::source::ScannedFile, T)>,
    mut report: impl FnMut(usize),
) -> Vec<ReadResult<T>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    if files.len() < 256 || threads == 1 {
        // Every file counts: with a few dozen files, reporting every 64th would show nothing
        // until the indexing half (the reporter drops repeats within one percent).
        return files
            .into_iter()
            .enumerate()
            .map(|(n, (file, extra))| {
                let result = source.read(&file);
                report(n + 1);
                (result, extra)
            })
            .collect();
    }
    let done = AtomicUsize::new(0);
    let chunk = files.len().div_ceil(threads);
    let mut chunks: Vec<Vec<_>> = Vec::new();
    let mut files = files.into_iter();
    loop {
        let part: Vec<_> = files.by_ref().take(chunk).collect();
        if part.is_empty() {
            break;
        }
        chunks.push(part);
    }
    let read_chunk = |part: Vec<(super::source::ScannedFile, T)>| -> Vec<ReadResult<T>> {
        part.into_iter()
            .map(|(file, extra)| {
                let result = source.read(&file);
                done.fetch_add(1, Ordering::Relaxed);
                (result, extra)
            })
            .collect()
    };
    std::thread::scope(|scope| {
        let mut first = None;
        let mut handles = Vec::new();
        for part in chunks {
            if first.is_none() {
                first = Some(part);
            } else {
                handles.push(scope.spawn(|| read_chunk(part)));
            }
        }
        // This thread reads too, reporting progress between files.
        let mut out = Vec::new();
        if let Some(part) = first {
            for item in part {
                out.extend(read_chunk(vec![item]));
                if out.len() % 64 == 0 {
                    report(done.load(Ordering::Relaxed));
                }
            }
        }
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part),
                Err(_) => tracing::error!("a library reader thread panicked"),
            }
        }
        report(done.load(Ordering::Relaxed));
        out
    })
}

fn reindex(inner: &Inner, progress: Option<Progress>) -> Result<(), LibraryError> {
    let scan = inner.source.scan();
    let files = scan.files.len();
    let mut tracker = Tracker::new(progress, files);
    tracker.report(0);
    let mut skipped = scan.skipped;
    let scanned = scan.files.into_iter().map(|f| (f, ())).collect();
    let read = read_parallel(inner.source.as_ref(), scanned, |n| tracker.report(n));
    tracker.advance(files);
    let mut prompts = Vec::new();
    for (result, ()) in read {
        match result {
            Ok(p) => prompts.push(Arc::new(p)),
            Err(s) => skipped.push(s),
        }
    }
    let build = inner.index.begin_build();
    update_index(
        inner,
        true,
        prompts.clone(),
        Vec::new(),
        tracker.indexing(files),
        || prompts.clone(),
    )?;
    tracker.advance(files);
    finish_build(build, prompts.len());
    *inner.skipped.write().unwrap_or_else(|p| p.into_inner()) =
        skipped.into_iter().map(|s| (s.path, s.reason)).collect();
    let changes = inner.cache.replace_all(prompts);
    release_freed_memory();
    notify(inner, changes);
    Ok(())
}

/// Applies a batch of source changes to the cache, then the index, then tells subscribers.
fn apply(inner: &Inner, changes: Vec<SourceChange>) {
    let mut library_changes = Vec::new();
    {
        let mut skipped = inner.skipped.write().unwrap_or_else(|p| p.into_inner());
        for change in changes {
            match &change {
                SourceChange::Skipped(s) => {
                    skipped.insert(s.path.clone(), s.reason.clone());
                }
                SourceChange::Upserted(p) => {
                    skipped.remove(&p.path);
                }
                SourceChange::Removed { id } => {
                    skipped.remove(&inner.library_dir.join(format!("{id}.md")));
                }
                SourceChange::RemovedFolder { .. } => {}
                SourceChange::Notice(notice) => {
                    // Nobody listening (the CLI) is fine: the source logged it too.
                    let _ = inner.notices.send(notice.clone());
                }
            }
            library_changes.extend(inner.cache.apply(change));
        }
    }
    if library_changes.is_empty() {
        return;
    }
    let mut upserts = Vec::new();
    let mut deletes = Vec::new();
    for change in &library_changes {
        match change {
            LibraryChange::Added(id) | LibraryChange::Changed(id) => {
                upserts.extend(inner.cache.get(id));
            }
            LibraryChange::Removed(id) => deletes.push(id.clone()),
        }
    }
    if let Err(e) = update_index(inner, false, upserts, deletes, None, || inner.cache.all()) {
        tracing::error!("updating the search index failed: {e}");
    }
    notify(inner, library_changes);
}

/// Ends a build of the index; a failed merge only costs search speed, so it is logged.
fn finish_build(build: Build<'_>, written: usize) {
    if let Err(e) = build.finish(written) {
        tracing::warn!("merging the search index after a build: {e}");
    }
}

/// Updates the index. When its directory was deleted under it (writes fail, and tantivy's
/// writer would not survive a second failure), creates it again, adds back `everything` (every
/// prompt once this change is applied) and tells the user.
fn update_index(
    inner: &Inner,
    clear: bool,
    upserts: Vec<Arc<Prompt>>,
    deletes: Vec<String>,
    progress: Option<Progress>,
    everything: impl FnOnce() -> Vec<Arc<Prompt>>,
) -> Result<(), LibraryError> {
    match inner.index.update(clear, upserts, deletes, progress) {
        Err(e) if inner.index.is_lost() => {
            tracing::warn!("the search index directory is gone ({e}); creating it again");
            inner.index.recreate()?;
            let prompts = everything();
            let count = prompts.len();
            let build = inner.index.begin_build();
            inner.index.update(true, prompts, Vec::new(), None)?;
            finish_build(build, count);
            let dir = inner.index.dir().unwrap_or(Path::new("")).display();
            // Nobody listening (the CLI) is fine: the log line above says it.
            let _ = inner.notices.send(format!(
                "the prompt search index at {dir} was deleted while PromptStack was running; it was created again and all {count} prompts were reindexed"
            ));
            Ok(())
        }
        other => Ok(other?),
    }
}

fn notify(inner: &Inner, changes: Vec<LibraryChange>) {
    if changes.is_empty() {
        return;
    }
    // A prompt still in the cache knows its file (a source's prompts live outside the folder).
    let paths = changes
        .iter()
        .map(|c| match inner.cache.get(c.id()) {
            Some(p) => p.path.clone(),
            None => inner.library_dir.join(format!("{}.md", c.id())),
        })
        .collect();
    inner.bus.publish(DomainEvent::LibraryChanged { paths });
    // No subscribers is fine: nobody is listening yet.
    let _ = inner.changes.send(Arc::new(changes));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::source::FilesystemSource;
    use std::time::{Duration, Instant};

    struct Fixture {
        _dir: tempfile::TempDir,
        paths: DataPaths,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let paths = DataPaths::new(dir.path().join("data"), None, None);
            std::fs::create_dir_all(&paths.library_dir).unwrap();
            Fixture { _dir: dir, paths }
        }

        fn write(&self, rel: &str, text: &str) -> PathBuf {
            let path = self.paths.library_dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            path
        }

        fn open(&self, watch: bool) -> Library {
            let source = Arc::new(FilesystemSource::new(self.paths.library_dir.clone()));
            let library = Library::open_with(
                source,
                &self.paths,
                EventBus::new(),
                OpenOptions {
                    watch,
                    progress: None,
                },
            )
            .unwrap();
            library.wait_ready();
            library
        }
    }

    fn prompt_text(title: &str, tags: &str, body: &str) -> String {
        format!("---\ntitle: {title}\ndescription: about {title}\ntags: [{tags}]\n---\n{body}\n")
    }

    fn ids(library: &Library, query: &str) -> Vec<String> {
        library
            .search(query, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.prompt.id.clone())
            .collect()
    }

    #[test]
    fn typo_finds_the_prompt_and_blank_lists_by_usage_then_title() {
        let fx = Fixture::new();
        fx.write(
            "commands/code-review.md",
            &prompt_text("Code review", "review", "Review {{text:lang}}"),
        );
        fx.write(
            "workflows/plan.md",
            &prompt_text("Plan a feature", "planning", "Plan it"),
        );
        fx.write(
            "rules/style.md",
            &prompt_text("Style guide", "style", "{{list:rules}}"),
        );
        let library = fx.open(false);
        assert_eq!(ids(&library, "reveiw")[0], "commands/code-review");
        assert_eq!(ids(&library, "pla")[0], "workflows/plan");
        assert_eq!(
            ids(&library, ""),
            ["commands/code-review", "workflows/plan", "rules/style"]
        );
        library
            .inner
            .usage
            .record("rules/style", now_secs())
            .unwrap();
        assert_eq!(ids(&library, " ")[0], "rules/style");
        assert_eq!(
            library.placeholder_names(),
            [("lang".to_string(), 1), ("rules".to_string(), 1)]
        );
        assert_eq!(library.all_tags().len(), 3);
        assert_eq!(
            library.get("workflows/plan").unwrap().title,
            "Plan a feature"
        );
    }

    #[test]
    fn reconciles_edits_made_while_closed() {
        let fx = Fixture::new();
        fx.write("commands/a.md", &prompt_text("Alpha", "x", "one"));
        let b = fx.write("commands/b.md", &prompt_text("Bravo", "x", "two"));
        fx.write("commands/c.md", &prompt_text("Charlie", "x", "three"));
        {
            let library = fx.open(false);
            assert_eq!(library.stats().indexed, 3);
            assert!(library.stats().index_rebuilt.is_some());
        }
        std::fs::remove_file(&b).unwrap();
        // Same size, different content and mtime: a real edit.
        std::thread::sleep(Duration::from_millis(20));
        fx.write("commands/c.md", &prompt_text("Chaplin", "x", "three"));
        fx.write("rules/d.md", &prompt_text("Delta", "why", "four"));
        let library = fx.open(false);
        let stats = library.stats();
        assert_eq!(stats.index_rebuilt, None, "reconciled, not rebuilt");
        assert_eq!((stats.prompts, stats.indexed), (3, 3));
        assert!(ids(&library, "bravo").is_empty());
        assert_eq!(ids(&library, "chaplin"), ["commands/c"]);
        assert!(ids(&library, "charlie").is_empty());
        assert_eq!(ids(&library, "delta"), ["rules/d"]);
        assert_eq!(library.get("commands/a").unwrap().body, "one\n");
    }

    #[test]
    fn schema_version_change_rebuilds_on_open() {
        let fx = Fixture::new();
        fx.write("commands/a.md", &prompt_text("Alpha", "x", "one"));
        drop(fx.open(false));
        std::fs::write(fx.paths.index_dir.join("promptstack-schema-version"), "999").unwrap();
        let library = fx.open(false);
        assert!(matches!(
            library.stats().index_rebuilt,
            Some(Fresh::SchemaChanged { .. })
        ));
        assert_eq!(ids(&library, "alpha"), ["commands/a"]);
    }

    #[test]
    fn reported_paths_and_reindex_update_everything() {
        let fx = Fixture::new();
        let a = fx.write("commands/a.md", &prompt_text("Alpha", "x", "one"));
        let library = fx.open(false);
        let mut changes = library.subscribe();
        fx.write(
            "commands/new.md",
            &prompt_text("Newcomer", "z", "{{text:who}}"),
        );
        std::fs::remove_file(&a).unwrap();
        fx.write("rules/bad.md", "caf\u{e9}");
        std::fs::write(fx.paths.library_dir.join("rules/bad.md"), b"caf\xe9").unwrap();
        library.apply_changes(vec![
            fx.paths.library_dir.join("commands/new.md"),
            a.clone(),
            fx.paths.library_dir.join("rules/bad.md"),
        ]);
        library.flush().unwrap();
        assert_eq!(ids(&library, "newcomer"), ["commands/new"]);
        assert!(ids(&library, "alpha").is_empty());
        assert_eq!(library.skipped().len(), 1);
        let batch = changes.try_recv().unwrap();
        assert_eq!(
            batch.as_slice(),
            [
                LibraryChange::Added("commands/new".into()),
                LibraryChange::Removed("commands/a".into())
            ]
        );
        let stats = library.reindex(None).unwrap();
        assert_eq!((stats.prompts, stats.indexed), (1, 1));
    }

    #[test]
    fn a_deleted_index_directory_is_recreated_and_refilled_once() {
        let fx = Fixture::new();
        fx.write("commands/a.md", &prompt_text("Alpha", "x", "one"));
        fx.write("commands/b.md", &prompt_text("Bravo", "y", "two"));
        let library = fx.open(false);
        let mut notices = library.notices();
        std::fs::remove_dir_all(&fx.paths.index_dir).unwrap();
        // Searches still answer from the files the index has open.
        assert_eq!(ids(&library, "alpha"), ["commands/a"]);
        for (n, title) in ["Charlie", "Delta", "Echo"].iter().enumerate() {
            fx.write(
                &format!("commands/new{n}.md"),
                &prompt_text(title, "z", "three"),
            );
            library.apply_changes(vec![
                fx.paths.library_dir.join(format!("commands/new{n}.md")),
            ]);
            library.flush().unwrap();
            assert_eq!(ids(&library, title), [format!("commands/new{n}")]);
        }
        assert_eq!(
            ids(&library, "bravo"),
            ["commands/b"],
            "old prompts are back"
        );
        assert!(fx.paths.index_dir.join("meta.json").is_file());
        let notice = notices.try_recv().expect("told");
        assert!(
            notice.contains("deleted while PromptStack was running"),
            "{notice}"
        );
        assert!(notices.try_recv().is_err(), "told once");
        let stats = library.reindex(None).unwrap();
        assert_eq!((stats.prompts, stats.indexed), (5, 5));
        // And a restart finds the recreated index as it should.
        drop(library);
        let library = fx.open(false);
        assert_eq!(library.stats().index_rebuilt, None);
        assert_eq!(ids(&library, "echo"), ["commands/new2"]);
    }

    #[test]
    fn watcher_updates_search_within_a_second() {
        let fx = Fixture::new();
        fx.write("commands/a.md", &prompt_text("Alpha", "x", "one"));
        let library = fx.open(true);
        let eventually = |q: &str, want: &[&str]| {
            let deadline = Instant::now() + Duration::from_secs(1);
            loop {
                if ids(&library, q) == want {
                    return true;
                }
                if Instant::now() > deadline {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        let path = fx.write(
            "workflows/zebra.md",
            &prompt_text("Zebra crossing", "z", "go"),
        );
        assert!(eventually("zebra", &["workflows/zebra"]));
        std::fs::remove_file(path).unwrap();
        assert!(eventually("zebra", &[]));
    }

    /// The library folder, except that reads past the first `open` files wait for `release`.
    struct GatedSource {
        folder: FilesystemSource,
        open: usize,
        reads: AtomicUsize,
        released: (Mutex<bool>, Condvar),
    }

    impl GatedSource {
        fn release(&self) {
            *self.released.0.lock().unwrap() = true;
            self.released.1.notify_all();
        }
    }

    impl PromptSource for GatedSource {
        fn scan(&self) -> crate::library::source::Scan {
            self.folder.scan()
        }

        fn read(&self, file: &crate::library::source::ScannedFile) -> Result<Prompt, SkippedFile> {
            if self.reads.fetch_add(1, Ordering::SeqCst) >= self.open {
                let mut released = self.released.0.lock().unwrap();
                while !*released {
                    released = self.released.1.wait(released).unwrap();
                }
            }
            self.folder.read(file)
        }

        fn get(&self, id: &str) -> Result<Option<Prompt>, SkippedFile> {
            self.folder.get(id)
        }

        fn resolve(&self, paths: &[PathBuf]) -> Vec<SourceChange> {
            self.folder.resolve(paths)
        }

        fn watch(
            &self,
        ) -> Result<crate::library::source::Watch, crate::library::source::SourceError> {
            self.folder.watch()
        }
    }

    #[test]
    fn a_first_load_answers_from_the_prompts_indexed_so_far() {
        let fx = Fixture::new();
        let files = FIRST_STEP + 200;
        for n in 0..files {
            fx.write(
                &format!("commands/p{n}.md"),
                &prompt_text(&format!("Zebra {n}"), "x", "b"),
            );
        }
        let source = Arc::new(GatedSource {
            folder: FilesystemSource::new(fx.paths.library_dir.clone()),
            open: FIRST_STEP,
            reads: AtomicUsize::new(0),
            released: (Mutex::new(false), Condvar::new()),
        });
        let library = Library::open_with(
            source.clone(),
            &fx.paths,
            EventBus::new(),
            OpenOptions {
                watch: false,
                progress: None,
            },
        )
        .unwrap();
        // The second step's reads wait: the first step alone must answer.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut found = Vec::new();
        while found.is_empty() && Instant::now() < deadline {
            found = library.search("zebra", 5).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        let ready_early = library.is_ready();
        let got = found.first().map(|hit| library.get(&hit.prompt.id));
        // Released before asserting: a failed assertion must not leave the worker waiting.
        source.release();
        assert!(!ready_early, "the load cannot have finished");
        assert_eq!(
            found.len(),
            5,
            "the first step answers before the load ends"
        );
        assert_eq!(got.flatten().as_ref(), Some(&found[0].prompt));
        library.wait_ready();
        let stats = library.stats();
        assert_eq!((stats.prompts, stats.indexed), (files, files as u64));
    }

    #[test]
    fn progress_reaches_the_total() {
        let fx = Fixture::new();
        for n in 0..300 {
            fx.write(
                &format!("commands/p{n}.md"),
                &prompt_text(&format!("P {n}"), "x", "b"),
            );
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let source = Arc::new(FilesystemSource::new(fx.paths.library_dir.clone()));
        let library = Library::open_with(
            source,
            &fx.paths,
            EventBus::new(),
            OpenOptions {
                watch: false,
                progress: Some(Box::new(move |d, t| sink.lock().unwrap().push((d, t)))),
            },
        )
        .unwrap();
        library.wait_ready();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.last(), Some(&(600, 600)));
        assert!(
            seen.windows(2).all(|w| w[0].0 <= w[1].0),
            "monotonic: {seen:?}"
        );
    }
}
