//! Where prompts come from: the [`PromptSource`] seam and the filesystem implementation.
//!
//! Every method here is blocking (directory walks, file reads); callers run them on a worker
//! thread or `spawn_blocking`, never on the protocol loop.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::config::{Config, SourceKind};
use crate::document::MAX_FILE_BYTES;
use crate::home::DataPaths;

use super::folder_source::FolderSource;
use super::git_source::{GitSource, SyncOutcome, SyncRequest};
use super::mcp_source::McpSource;
use super::merged::{MergedSource, NamedSource};
use super::prompt::{FileStamp, Prompt, id_for};

/// Why a library file was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    #[error("cannot read: {0}")]
    Unreadable(String),
    #[error("not UTF-8 text")]
    NotUtf8,
    #[error("larger than 1 MB ({size} bytes)")]
    TooLarge { size: u64 },
    #[error("symbolic link loop")]
    SymlinkLoop,
    #[error(
        "a symbolic link to {}, outside the library (set `library.follow_external_symlinks` to follow it)",
        .target.display()
    )]
    OutsideLibrary { target: PathBuf },
    #[error("not a prompt of this folder's format")]
    NotAPrompt,
}

/// A file the source skipped, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    pub path: PathBuf,
    pub reason: SkipReason,
}

/// A prompt file found by a scan, before reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedFile {
    pub id: String,
    pub path: PathBuf,
    pub stamp: FileStamp,
}

/// The result of a scan: files to read and entries that could not even be listed.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub files: Vec<ScannedFile>,
    pub skipped: Vec<SkippedFile>,
}

/// Everything a source holds: the prompts and the files it skipped.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub prompts: Vec<Prompt>,
    pub skipped: Vec<SkippedFile>,
}

/// One change in a source. Sources are stateless, so "added" and "changed" are both
/// `Upserted`; the cache tells them apart.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceChange {
    /// A prompt that exists now with this content.
    Upserted(Box<Prompt>),
    /// The prompt with this id is gone (deleted, renamed away, or no longer readable).
    Removed { id: String },
    /// Every prompt whose id starts with this prefix (`commands/`) is gone: a folder went away.
    RemovedFolder { id_prefix: String },
    /// A file that can no longer be loaded (it is also reported as `Removed`).
    Skipped(SkippedFile),
    /// Something the user should be told once, such as a prompt server that went away; its
    /// prompts are unchanged.
    Notice(String),
}

/// The source failed as a whole (not one file).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot watch the library at {path}: {message}")]
    Watch { path: PathBuf, message: String },
}

/// A running watch: batches of changes arrive on `changes` until this is dropped.
pub struct Watch {
    pub changes: mpsc::Receiver<Vec<SourceChange>>,
    // Dropping the watcher stops the events and, through the closed channel, the debounce thread.
    _watcher: Box<dyn Send>,
}

impl Watch {
    /// A watch delivering on `changes`, running as long as `guard` lives.
    pub fn new(changes: mpsc::Receiver<Vec<SourceChange>>, guard: Box<dyn Send>) -> Self {
        Watch {
            changes,
            _watcher: guard,
        }
    }

    /// The changes and the guard that keeps them coming, to forward them elsewhere.
    pub fn into_parts(self) -> (mpsc::Receiver<Vec<SourceChange>>, Box<dyn Send>) {
        (self.changes, self._watcher)
    }
}

/// A place prompts are loaded from. All methods block.
pub trait PromptSource: Send + Sync {
    /// Lists the prompt files with their stamps, without reading them.
    fn scan(&self) -> Scan;
    /// Reads one scanned file into a prompt.
    fn read(&self, file: &ScannedFile) -> Result<Prompt, SkippedFile>;
    /// Loads one prompt by id; `Ok(None)` when there is no such prompt.
    fn get(&self, id: &str) -> Result<Option<Prompt>, SkippedFile>;
    /// Turns paths reported changed by someone else (the editor's `didChangeWatchedFiles`, a save)
    /// into changes. Paths outside the source are ignored.
    fn resolve(&self, paths: &[PathBuf]) -> Vec<SourceChange>;
    /// Starts watching for changes.
    fn watch(&self) -> Result<Watch, SourceError>;

    /// Brings sources that follow a remote (git) up to date now. Sources that have nothing to
    /// fetch report nothing.
    fn sync(&self, _request: &SyncRequest) -> Vec<SyncOutcome> {
        Vec::new()
    }

    /// Loads every prompt, skipping (and reporting) files that cannot be read.
    fn load_all(&self) -> LoadReport {
        let scan = self.scan();
        let mut report = LoadReport {
            prompts: Vec::with_capacity(scan.files.len()),
            skipped: scan.skipped,
        };
        for file in &scan.files {
            match self.read(file) {
                Ok(p) => report.prompts.push(p),
                Err(s) => report.skipped.push(s),
            }
        }
        report
    }
}

/// The prompt source chosen by the configuration: the library folder, merged with the
/// `library.sources` entries when there are any.
pub fn open_source(config: &Config, paths: &DataPaths) -> Arc<dyn PromptSource> {
    let local: Arc<dyn PromptSource> = Arc::new(
        FilesystemSource::new(paths.library_dir.clone())
            .following_external_symlinks(config.follow_external_symlinks),
    );
    let named: Vec<NamedSource> = config
        .library_sources
        .iter()
        .map(|spec| NamedSource {
            name: spec.name.clone(),
            source: match &spec.kind {
                SourceKind::Folder { path, format } => Arc::new(FolderSource::new(
                    path.clone(),
                    *format,
                    config.follow_external_symlinks,
                )) as Arc<dyn PromptSource>,
                SourceKind::Mcp(endpoint) => Arc::new(McpSource::new(
                    &spec.name,
                    endpoint.clone(),
                    &paths.data_dir,
                    Duration::from_secs(config.timeout_secs.max(1)),
                )),
                // A clone of a large repository takes longer than one request.
                SourceKind::Git(git) => Arc::new(GitSource::new(
                    &spec.name,
                    git.clone(),
                    &paths.data_dir,
                    Duration::from_secs(config.timeout_secs.max(1) * 4),
                )),
            },
        })
        .collect();
    if named.is_empty() {
        return local;
    }
    Arc::new(MergedSource::new(local, named))
}

/// Prompts as Markdown files under a directory; category = top-level folder.
#[derive(Debug, Clone)]
pub struct FilesystemSource {
    root: PathBuf,
    /// Whether symbolic links leading out of the root are followed (else skipped, reported).
    follow_external: bool,
}

/// How long the watcher waits for more events before publishing a batch: editors save in
/// several steps (temp file, rename, chmod), and one batch per save is enough.
const DEBOUNCE: Duration = Duration::from_millis(50);
/// A burst of events (a `git checkout`) is still published at least this often.
const MAX_BATCH_DELAY: Duration = Duration::from_millis(300);

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| n.starts_with('.'))
}

impl FilesystemSource {
    /// A source over `root` (which may not exist yet: it then holds no prompts).
    pub fn new(root: PathBuf) -> Self {
        // Ids are relative to the root as the walker reports paths, so keep one canonical form.
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        FilesystemSource {
            root,
            follow_external: false,
        }
    }

    /// Also follows symbolic links that lead out of the library (`/etc/passwd` would then be
    /// read as a prompt: only for links the user made on purpose).
    pub fn following_external_symlinks(mut self, follow: bool) -> Self {
        self.follow_external = follow;
        self
    }

    /// Where `path` really leads, when that is outside the library and such links are not
    /// followed.
    fn leads_outside(&self, path: &Path) -> Option<PathBuf> {
        if self.follow_external {
            return None;
        }
        std::fs::canonicalize(path)
            .ok()
            .filter(|real| !real.starts_with(&self.root))
    }

    /// The library directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes `path` comparable with the root (the editor may send a path through a symlink).
    fn normalize(&self, path: &Path) -> PathBuf {
        if path.starts_with(&self.root) {
            return path.to_path_buf();
        }
        // A deleted file cannot be canonicalized; its parent usually can.
        if let Ok(p) = std::fs::canonicalize(path) {
            return p;
        }
        match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) => std::fs::canonicalize(parent)
                .map(|p| p.join(name))
                .unwrap_or_else(|_| path.to_path_buf()),
            _ => path.to_path_buf(),
        }
    }

    fn walk(&self, dir: &Path, scan: &mut Scan) {
        let mut walker = walkdir::WalkDir::new(dir)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
        while let Some(entry) = walker.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let reason = if e.loop_ancestor().is_some() {
                        SkipReason::SymlinkLoop
                    } else {
                        SkipReason::Unreadable(
                            e.io_error()
                                .map_or_else(|| e.to_string(), |io| io.to_string()),
                        )
                    };
                    let path = e.path().unwrap_or(dir).to_path_buf();
                    scan.skipped.push(SkippedFile { path, reason });
                    continue;
                }
            };
            // Only links can lead out: everything else below the root stays below it.
            if entry.path_is_symlink()
                && let Some(target) = self.leads_outside(entry.path())
            {
                if entry.file_type().is_dir() {
                    walker.skip_current_dir();
                }
                scan.skipped.push(SkippedFile {
                    path: entry.into_path(),
                    reason: SkipReason::OutsideLibrary { target },
                });
                continue;
            }
            if !entry.file_type().is_file() {
                continue;
            }
            let Some(id) = id_for(&self.root, entry.path()) else {
                continue;
            };
            match entry.metadata() {
                Ok(meta) => scan.files.push(ScannedFile {
                    id,
                    path: entry.into_path(),
                    stamp: FileStamp::of(&meta),
                }),
                Err(e) => scan.skipped.push(SkippedFile {
                    path: entry.into_path(),
                    reason: SkipReason::Unreadable(e.to_string()),
                }),
            }
        }
    }

    fn read_path(&self, id: String, path: PathBuf) -> Result<Prompt, SkippedFile> {
        let skip = |reason| SkippedFile {
            path: path.clone(),
            reason,
        };
        let unreadable = |e: std::io::Error| skip(SkipReason::Unreadable(e.to_string()));
        let file = std::fs::File::open(&path).map_err(unreadable)?;
        let meta = file.metadata().map_err(unreadable)?;
        if meta.len() > MAX_FILE_BYTES as u64 {
            return Err(skip(SkipReason::TooLarge { size: meta.len() }));
        }
        // The limit also holds if the file grows between the stat and the read.
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(skip(SkipReason::TooLarge {
                size: bytes.len() as u64,
            }));
        }
        let text = String::from_utf8(bytes).map_err(|_| skip(SkipReason::NotUtf8))?;
        Ok(Prompt::from_text(id, path, &text, FileStamp::of(&meta)))
    }

    /// The changes one path stands for now.
    fn resolve_one(&self, path: &Path, out: &mut Vec<SourceChange>) {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return;
        };
        if rel.as_os_str().is_empty() || rel.components().any(|c| is_hidden(c.as_os_str())) {
            return;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let mut scan = Scan::default();
                self.walk(path, &mut scan);
                out.extend(scan.skipped.into_iter().map(SourceChange::Skipped));
                for file in scan.files {
                    self.push_read(file.id, file.path, out);
                }
            }
            Ok(meta) if meta.is_file() => {
                if let Some(id) = id_for(&self.root, path) {
                    self.push_read(id, path.to_path_buf(), out);
                }
            }
            Ok(_) => {}
            Err(_) => match id_for(&self.root, path) {
                Some(id) => out.push(SourceChange::Removed { id }),
                None => {
                    let mut prefix = rel.to_string_lossy().replace('\\', "/");
                    prefix.push('/');
                    out.push(SourceChange::RemovedFolder { id_prefix: prefix });
                }
            },
        }
    }

    fn push_read(&self, id: String, path: PathBuf, out: &mut Vec<SourceChange>) {
        if let Some(target) = self.leads_outside(&path) {
            out.push(SourceChange::Removed { id });
            out.push(SourceChange::Skipped(SkippedFile {
                path,
                reason: SkipReason::OutsideLibrary { target },
            }));
            return;
        }
        match self.read_path(id.clone(), path) {
            Ok(p) => out.push(SourceChange::Upserted(Box::new(p))),
            Err(skipped) => {
                out.push(SourceChange::Removed { id });
                out.push(SourceChange::Skipped(skipped));
            }
        }
    }
}

impl PromptSource for FilesystemSource {
    fn scan(&self) -> Scan {
        let mut scan = Scan::default();
        if self.root.is_dir() {
            self.walk(&self.root, &mut scan);
        }
        scan
    }

    fn read(&self, file: &ScannedFile) -> Result<Prompt, SkippedFile> {
        self.read_path(file.id.clone(), file.path.clone())
    }

    fn get(&self, id: &str) -> Result<Option<Prompt>, SkippedFile> {
        // Refuse ids that would step outside the library.
        if id.is_empty() || id.split('/').any(|p| p.is_empty() || p == "." || p == "..") {
            return Ok(None);
        }
        let path = self.root.join(format!("{id}.md"));
        if !path.is_file() {
            return Ok(None);
        }
        if let Some(target) = self.leads_outside(&path) {
            return Err(SkippedFile {
                path,
                reason: SkipReason::OutsideLibrary { target },
            });
        }
        self.read_path(id.to_string(), path).map(Some)
    }

    fn resolve(&self, paths: &[PathBuf]) -> Vec<SourceChange> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for path in paths {
            let path = self.normalize(path);
            if seen.insert(path.clone()) {
                self.resolve_one(&path, &mut out);
            }
        }
        out
    }

    fn watch(&self) -> Result<Watch, SourceError> {
        use notify::Watcher;
        let error = |e: &dyn std::fmt::Display| SourceError::Watch {
            path: self.root.clone(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(&self.root).map_err(|e| error(&e))?;
        let (raw_tx, raw_rx) = mpsc::channel::<Vec<PathBuf>>();
        let mut watcher =
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
                Ok(event) if !event.kind.is_access() => {
                    let _ = raw_tx.send(event.paths);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("library watcher: {e}"),
            })
            .map_err(|e| error(&e))?;
        watcher
            .watch(&self.root, notify::RecursiveMode::Recursive)
            .map_err(|e| error(&e))?;
        let (tx, changes) = mpsc::channel();
        let source = self.clone();
        std::thread::Builder::new()
            .name("library-watch".into())
            .spawn(move || debounce(&source, &raw_rx, &tx))
            .map_err(|e| error(&e))?;
        Ok(Watch::new(changes, Box::new(watcher)))
    }
}

/// Collects raw paths into batches, resolves them, and forwards the changes until either side
/// hangs up.
fn debounce(
    source: &FilesystemSource,
    raw: &mpsc::Receiver<Vec<PathBuf>>,
    out: &mpsc::Sender<Vec<SourceChange>>,
) {
    while let Ok(first) = raw.recv() {
        let mut paths = first;
        let started = Instant::now();
        loop {
            let left = MAX_BATCH_DELAY.saturating_sub(started.elapsed());
            match raw.recv_timeout(DEBOUNCE.min(left)) {
                Ok(more) => paths.extend(more),
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if left.is_zero() {
                break;
            }
        }
        paths.sort();
        paths.dedup();
        let changes = source.resolve(&paths);
        if !changes.is_empty() && out.send(changes).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &[u8]) -> PathBuf {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn ids(report: &LoadReport) -> Vec<String> {
        let mut ids: Vec<_> = report.prompts.iter().map(|p| p.id.clone()).collect();
        ids.sort();
        ids
    }

    #[test]
    fn loads_recursively_and_skips_bad_files_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "commands/review.md", b"---\ntitle: Review\n---\nbody");
        write(root, "workflows/deep/plan.md", b"# Plan\n");
        write(root, "root.md", b"root");
        write(root, "notes.txt", b"ignored");
        write(root, ".git/hidden.md", b"ignored");
        write(root, "rules/latin1.md", b"caf\xe9");
        let big = vec![b'a'; MAX_FILE_BYTES + 1];
        write(root, "rules/big.md", &big);
        let report = FilesystemSource::new(root.to_path_buf()).load_all();
        assert_eq!(
            ids(&report),
            ["commands/review", "root", "workflows/deep/plan"]
        );
        let mut reasons: Vec<_> = report
            .skipped
            .iter()
            .map(|s| {
                (
                    s.path.file_name().unwrap().to_str().unwrap(),
                    s.reason.clone(),
                )
            })
            .collect();
        reasons.sort_by_key(|r| r.0);
        assert_eq!(
            reasons,
            [
                (
                    "big.md",
                    SkipReason::TooLarge {
                        size: MAX_FILE_BYTES as u64 + 1
                    }
                ),
                ("latin1.md", SkipReason::NotUtf8)
            ]
        );
        let plan = report
            .prompts
            .iter()
            .find(|p| p.id.ends_with("plan"))
            .unwrap();
        assert_eq!(plan.category.as_deref(), Some("workflows"));
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_file_is_skipped_not_fatal() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "rules/secret.md", b"x");
        write(dir.path(), "rules/open.md", b"y");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&path).is_ok() {
            // Running as root: permissions do not apply, nothing to test.
            return;
        }
        let report = FilesystemSource::new(dir.path().to_path_buf()).load_all();
        assert_eq!(ids(&report), ["rules/open"]);
        assert!(matches!(
            report.skipped[0].reason,
            SkipReason::Unreadable(_)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_terminate_and_links_out_of_the_library_are_skipped_unless_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("lib");
        write(&root, "commands/a.md", b"a");
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "shared.md", b"shared");
        let secret = write(outside.path(), "passwd", b"root:x:0:0");
        std::os::unix::fs::symlink(&root, root.join("commands/loop")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("linked")).unwrap();
        std::os::unix::fs::symlink(&secret, root.join("commands/passwd.md")).unwrap();
        std::os::unix::fs::symlink(root.join("commands/a.md"), root.join("alias.md")).unwrap();

        let source = FilesystemSource::new(root.clone());
        let report = source.load_all();
        assert_eq!(
            ids(&report),
            ["alias", "commands/a"],
            "links inside are followed"
        );
        let mut reasons: Vec<String> = report
            .skipped
            .iter()
            .map(|s| {
                format!(
                    "{}: {}",
                    s.path.file_name().unwrap().to_string_lossy(),
                    s.reason
                )
            })
            .collect();
        reasons.sort();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert_eq!(reasons[0], "linked: a symbolic link to {}, outside the library (set `library.follow_external_symlinks` to follow it)".replace("{}", &std::fs::canonicalize(outside.path()).unwrap().display().to_string()));
        assert_eq!(reasons[1], "loop: symbolic link loop");
        assert!(
            reasons[2].starts_with("passwd.md: a symbolic link to "),
            "{reasons:?}"
        );
        // Reported by the editor or the watcher, or asked for by id: still not read.
        let passwd = root.join("commands/passwd.md");
        assert!(matches!(
            source.resolve(&[passwd]).as_slice(),
            [SourceChange::Removed { .. }, SourceChange::Skipped(s)]
                if matches!(s.reason, SkipReason::OutsideLibrary { .. })
        ));
        assert!(source.get("commands/passwd").is_err());

        let following = FilesystemSource::new(root.clone()).following_external_symlinks(true);
        let report = following.load_all();
        assert_eq!(
            ids(&report),
            ["alias", "commands/a", "commands/passwd", "linked/shared"]
        );
    }

    #[test]
    fn get_and_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let source = FilesystemSource::new(dir.path().to_path_buf());
        let root = source.root().to_path_buf();
        let a = write(&root, "commands/a.md", b"# A");
        assert_eq!(source.get("commands/a").unwrap().unwrap().title, "a");
        assert_eq!(source.get("../etc/passwd").unwrap(), None);
        assert_eq!(source.get("missing").unwrap(), None);
        std::fs::remove_file(&a).unwrap();
        write(&root, "rules/b.md", b"# B");
        let changes = source.resolve(&[a.clone(), root.join("rules"), "/elsewhere/x.md".into()]);
        assert_eq!(changes.len(), 2);
        assert_eq!(
            changes[0],
            SourceChange::Removed {
                id: "commands/a".into()
            }
        );
        assert!(matches!(&changes[1], SourceChange::Upserted(p) if p.id == "rules/b"));
        std::fs::remove_dir_all(root.join("rules")).unwrap();
        assert_eq!(
            source.resolve(&[root.join("rules")]),
            [SourceChange::RemovedFolder {
                id_prefix: "rules/".into()
            }]
        );
    }

    #[test]
    fn watcher_sees_added_and_deleted_files_within_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let source = FilesystemSource::new(dir.path().to_path_buf());
        let watch = source.watch().unwrap();
        let path = write(source.root(), "commands/new.md", b"# New");
        let wait_for = |want: &dyn Fn(&SourceChange) -> bool| {
            let deadline = Instant::now() + Duration::from_secs(1);
            while let Some(left) = deadline.checked_duration_since(Instant::now()) {
                match watch.changes.recv_timeout(left) {
                    Ok(batch) if batch.iter().any(want) => return true,
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
            false
        };
        assert!(wait_for(
            &|c| matches!(c, SourceChange::Upserted(p) if p.id == "commands/new")
        ));
        std::fs::remove_file(&path).unwrap();
        assert!(wait_for(
            &|c| matches!(c, SourceChange::Removed { id } if id == "commands/new")
        ));
    }
}
