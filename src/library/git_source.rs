//! Prompts from a git repository (`library.sources` entries of type `git`), read-only.
//!
//! The repository is checked out (shallow) under `<data_dir>/sources/<name>/` and read like a
//! `folder` source: agent files by their format, other Markdown as library prompts. A background
//! thread fetches every `refresh` interval (never the protocol loop); `library sync` and the
//! `promptstack.library.sync` command fetch now. A fetch goes to `FETCH_HEAD` and the checkout is
//! reset to it, so a force-pushed remote is followed like any other change. When anything fails
//! (unreachable remote, bad ref, refused credentials, corrupt checkout) the last good checkout
//! keeps serving and the user hears it once. The commit served is recorded in
//! `data/sources.lock`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::config::GitSpec;

use super::folder_source::FolderSource;
use super::git::{Git, GitError};
use super::prompt::Prompt;
use super::source::{
    PromptSource, Scan, ScannedFile, SkippedFile, SourceChange, SourceError, Watch,
};
use super::sources_lock::{self, Locked};

/// What `library sync` asks for.
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    /// Only the source of this name; `None`: every source that syncs.
    pub name: Option<String>,
    /// Check out the commit recorded in `data/sources.lock` instead of the newest.
    pub locked: bool,
}

/// What one sync changed, prompt ids as the library names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub previous: Option<String>,
    pub commit: String,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
}

/// One source's sync: its report or why it failed (the last revision then keeps serving), and
/// the changes for the library.
#[derive(Debug)]
pub struct SyncOutcome {
    pub source: String,
    pub result: Result<SyncReport, String>,
    pub changes: Vec<SourceChange>,
}

impl SyncOutcome {
    /// The outcome as the CLI's `--format json` and the editor command return it.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.result {
            Ok(r) => serde_json::json!({
                "source": self.source,
                "ok": true,
                "previous": r.previous,
                "commit": r.commit,
                "added": r.added,
                "updated": r.updated,
                "removed": r.removed,
            }),
            Err(message) => serde_json::json!({
                "source": self.source,
                "ok": false,
                "error": message,
            }),
        }
    }

    /// One line for people: `team: abc1234 (+1 ~2 -0)` or the error.
    pub fn summary(&self) -> String {
        match &self.result {
            Ok(r) => {
                let short = |c: &str| c.chars().take(12).collect::<String>();
                let moved = match &r.previous {
                    Some(p) if *p == r.commit => format!("at {} (unchanged)", short(&r.commit)),
                    Some(p) => format!("{} -> {}", short(p), short(&r.commit)),
                    None => format!("checked out {}", short(&r.commit)),
                };
                format!(
                    "{}: {moved}; {} added, {} updated, {} removed",
                    self.source,
                    r.added.len(),
                    r.updated.len(),
                    r.removed.len()
                )
            }
            Err(message) => message.clone(),
        }
    }
}

/// Where a git source named `name` is checked out.
pub fn checkout_dir(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("sources").join(name)
}

/// The git source whose checkout holds `path`, with a message for someone who saves there: the
/// files are read-only and are changed in the remote.
pub fn read_only_notice(
    sources: &[crate::config::SourceSpec],
    data_dir: &Path,
    path: &Path,
) -> Option<String> {
    sources.iter().find_map(|spec| {
        let crate::config::SourceKind::Git(git) = &spec.kind else {
            return None;
        };
        let dir = checkout_dir(data_dir, &spec.name);
        crate::confine::is_within(path, &[dir]).then(|| {
            format!(
                "{} comes from the git prompt source `{}` and is read-only here: change it in \
                 the repository ({}), push, then run `promptstack library sync {}` \
                 (command promptstack.library.sync); a save here is replaced at the next sync",
                path.file_name().unwrap_or_default().to_string_lossy(),
                spec.name,
                crate::logging::secrets::mask_url(&git.url),
                spec.name
            )
        })
    })
}

/// A git repository's prompts.
pub struct GitSource {
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    spec: GitSpec,
    /// The checkout: `data/sources/<name>/`.
    dir: PathBuf,
    lock_file: PathBuf,
    reader: FolderSource,
    git: Git,
    /// Syncs take turns; `true` while the remote is failing, so an outage is told once.
    turn: Mutex<bool>,
}

impl GitSource {
    /// A source named `name` for `spec`, checked out under `data_dir/sources/`; `timeout` bounds
    /// each git command.
    pub fn new(name: &str, spec: GitSpec, data_dir: &Path, timeout: Duration) -> Self {
        for credential in crate::logging::secrets::url_credentials(&spec.url) {
            crate::logging::secrets::register(&credential);
        }
        let dir = checkout_dir(data_dir, name);
        let root = match &spec.path {
            // A `path` that is a symbolic link in the repository must not lead out of it.
            Some(sub)
                if dir.exists()
                    && !crate::confine::is_within(&dir.join(sub), std::slice::from_ref(&dir)) =>
            {
                tracing::warn!(
                    "prompt source `{name}`: `path` {sub} leads out of the repository; not read"
                );
                dir.join(".outside-the-repository")
            }
            Some(sub) => dir.join(sub),
            None => dir.clone(),
        };
        let reader = match spec.format {
            Some(hint) => FolderSource::new(root, hint, false),
            None => FolderSource::new(root, crate::formats::FormatHint::Auto, false)
                .with_library_prompts(),
        };
        GitSource {
            shared: Arc::new(Shared {
                name: name.to_string(),
                git: Git::new(&spec.url, timeout),
                spec,
                dir,
                lock_file: data_dir.join("sources.lock"),
                reader,
                turn: Mutex::new(false),
            }),
        }
    }
}

impl PromptSource for GitSource {
    fn scan(&self) -> Scan {
        self.shared.reader.scan()
    }

    fn read(&self, file: &ScannedFile) -> Result<Prompt, SkippedFile> {
        self.shared.reader.read(file)
    }

    fn get(&self, id: &str) -> Result<Option<Prompt>, SkippedFile> {
        self.shared.reader.get(id)
    }

    fn resolve(&self, paths: &[PathBuf]) -> Vec<SourceChange> {
        self.shared.reader.resolve(paths)
    }

    /// Starts the refresh thread: a first sync at once (unless the source only syncs on demand
    /// and is already checked out), then one every `refresh`.
    fn watch(&self) -> Result<Watch, SourceError> {
        let (tx, rx) = mpsc::channel();
        let (stop, stopped) = mpsc::channel::<()>();
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name(format!("git-source-{}", shared.name))
            .spawn(move || shared.refresh_loop(&stopped, &tx))
            .map_err(|e| SourceError::Watch {
                path: self.shared.dir.clone(),
                message: e.to_string(),
            })?;
        // Dropping the sender (with the watch) ends the thread at its next wait.
        Ok(Watch::new(rx, Box::new(stop)))
    }

    fn sync(&self, request: &SyncRequest) -> Vec<SyncOutcome> {
        vec![self.shared.sync_reporting(request.locked, false)]
    }
}

impl Shared {
    fn refresh_loop(
        &self,
        stopped: &mpsc::Receiver<()>,
        changes: &mpsc::Sender<Vec<SourceChange>>,
    ) {
        let on_demand = self.spec.refresh.is_zero();
        let mut due = !on_demand || !self.dir.join(".git").is_dir();
        loop {
            if due {
                let outcome = self.sync_reporting(false, true);
                if !outcome.changes.is_empty() && changes.send(outcome.changes).is_err() {
                    return;
                }
            }
            let waited = if on_demand {
                stopped
                    .recv()
                    .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
            } else {
                stopped.recv_timeout(self.spec.refresh)
            };
            match waited {
                Err(mpsc::RecvTimeoutError::Timeout) => due = true,
                _ => return,
            }
        }
    }

    /// Syncs and turns a failure into one notice per outage (`background`) or an error result.
    fn sync_reporting(&self, locked: bool, background: bool) -> SyncOutcome {
        let mut failing = self.turn.lock().unwrap_or_else(|p| p.into_inner());
        // The server and a `library sync` in a shell take turns on the checkout too.
        let _between_processes = lock_between_processes(&self.dir);
        match self.sync(locked) {
            Ok((report, changes)) => {
                if *failing {
                    tracing::info!("prompt source `{}` syncs again", self.name);
                    *failing = false;
                }
                SyncOutcome {
                    source: self.name.clone(),
                    result: Ok(report),
                    changes,
                }
            }
            Err(e) => {
                let message = format!(
                    "prompt source `{}`: {e}; its last synced prompts stay offered",
                    self.name
                );
                let mut changes = Vec::new();
                if !*failing || !background {
                    tracing::warn!("{message}");
                } else {
                    tracing::debug!("{message}");
                }
                if background && !*failing {
                    changes.push(SourceChange::Notice(message.clone()));
                }
                *failing = true;
                SyncOutcome {
                    source: self.name.clone(),
                    result: Err(message),
                    changes,
                }
            }
        }
    }

    /// Fetches and checks out the ref (or the locked commit), records it, and returns what
    /// changed. Called in turn.
    fn sync(&self, locked: bool) -> Result<(SyncReport, Vec<SourceChange>), GitError> {
        let before: HashMap<String, String> = self
            .reader
            .load_all()
            .prompts
            .into_iter()
            .map(|p| (p.id, p.hash))
            .collect();
        let previous = self.head(&self.dir).ok();
        let want = if locked {
            let entry = sources_lock::read(&self.lock_file, &self.name).ok_or_else(|| {
                GitError::Failed {
                    action: "sync --locked".into(),
                    detail: format!(
                        "{} records no commit for `{}`; run `promptstack library sync {}` first",
                        self.lock_file.display(),
                        self.name,
                        self.name
                    ),
                }
            })?;
            Want::Commit(entry.commit)
        } else {
            Want::Ref(self.spec.reference.clone())
        };
        let commit = match &previous {
            Some(_) => self.checkout(&self.dir, &want),
            None => Err(GitError::Failed {
                action: "checkout".into(),
                detail: "no usable checkout".into(),
            }),
        };
        let commit = match commit {
            Ok(c) => c,
            // A missing or corrupt checkout: a fresh one beside it, swapped in when complete.
            Err(GitError::Failed { .. }) => self.fresh_checkout(&want)?,
            Err(e) => return Err(e),
        };
        make_read_only(&self.dir);
        let entry = Locked {
            url: self.git.shown_url(),
            reference: self.spec.reference.clone(),
            commit: commit.clone(),
        };
        if let Err(e) = sources_lock::record(&self.lock_file, &self.name, entry) {
            tracing::warn!(
                "cannot record the revision in {}: {e}",
                self.lock_file.display()
            );
        }
        let after = self.reader.load_all();
        let mut report = SyncReport {
            previous,
            commit,
            ..SyncReport::default()
        };
        let mut changes: Vec<SourceChange> = after
            .skipped
            .into_iter()
            .map(SourceChange::Skipped)
            .collect();
        let mut gone = before;
        for prompt in after.prompts {
            match gone.remove(&prompt.id) {
                Some(hash) if hash == prompt.hash => continue,
                Some(_) => report.updated.push(prompt.id.clone()),
                None => report.added.push(prompt.id.clone()),
            }
            changes.push(SourceChange::Upserted(Box::new(prompt)));
        }
        report.removed = gone.into_keys().collect();
        for list in [&mut report.added, &mut report.updated, &mut report.removed] {
            list.sort();
        }
        changes.extend(
            report
                .removed
                .iter()
                .map(|id| SourceChange::Removed { id: id.clone() }),
        );
        Ok((report, changes))
    }

    fn head(&self, dir: &Path) -> Result<String, GitError> {
        if !dir.join(".git").is_dir() {
            return Err(GitError::Failed {
                action: "rev-parse".into(),
                detail: "not checked out".into(),
            });
        }
        self.git
            .run(dir, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
            .map(|out| out.trim().to_string())
    }

    /// Fetches `want` into the repository at `dir` and resets its files to it.
    fn checkout(&self, dir: &Path, want: &Want) -> Result<String, GitError> {
        let url = self.spec.url.as_str();
        let commit = match want {
            Want::Ref(reference) => {
                let default_branch = reference.is_none();
                let reference = reference.as_deref().unwrap_or("HEAD");
                let fetched = self.git.run(
                    dir,
                    &[
                        "fetch",
                        "--quiet",
                        "--depth=1",
                        "--no-tags",
                        "--force",
                        url,
                        reference,
                    ],
                );
                match fetched {
                    // A bare repository whose HEAD names a branch nobody pushed.
                    Err(GitError::BadRef { url, detail, .. }) if default_branch => {
                        return Err(GitError::BadRef {
                            url,
                            reference: "HEAD".into(),
                            detail: format!(
                                "{detail} (the remote names no default branch: set `ref` to a branch)"
                            ),
                        });
                    }
                    other => other?,
                };
                self.git
                    .run(dir, &["rev-parse", "--verify", "FETCH_HEAD^{commit}"])?
                    .trim()
                    .to_string()
            }
            Want::Commit(commit) => {
                let object = format!("{commit}^{{commit}}");
                if self.git.run(dir, &["cat-file", "-e", &object]).is_err() {
                    self.git.run(
                        dir,
                        &["fetch", "--quiet", "--depth=1", "--no-tags", url, commit],
                    )?;
                }
                commit.clone()
            }
        };
        self.git
            .run(dir, &["reset", "--quiet", "--hard", &commit])?;
        self.git.run(dir, &["clean", "--quiet", "-ffdx"])?;
        Ok(commit)
    }

    /// Clones into `data/sources/.<name>.new` and swaps it in for the checkout.
    fn fresh_checkout(&self, want: &Want) -> Result<String, GitError> {
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        let fresh = parent.join(format!(".{}.new", self.name));
        let old = parent.join(format!(".{}.old", self.name));
        let io = |action: &str, e: std::io::Error| GitError::Failed {
            action: action.into(),
            detail: e.to_string(),
        };
        for leftover in [&fresh, &old] {
            if leftover.exists() {
                std::fs::remove_dir_all(leftover).map_err(|e| io("cleanup", e))?;
            }
        }
        std::fs::create_dir_all(&fresh).map_err(|e| io("init", e))?;
        let commit = self
            .git
            .run(&fresh, &["init", "--quiet"])
            .and_then(|_| self.checkout(&fresh, want));
        let commit = match commit {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&fresh);
                return Err(e);
            }
        };
        if self.dir.exists() {
            std::fs::rename(&self.dir, &old).map_err(|e| io("swap", e))?;
        }
        std::fs::rename(&fresh, &self.dir).map_err(|e| io("swap", e))?;
        if old.exists()
            && let Err(e) = std::fs::remove_dir_all(&old)
        {
            tracing::warn!("cannot remove {}: {e}", old.display());
        }
        Ok(commit)
    }
}

/// Takes an exclusive `flock` on `data/sources/.NAME.lock`, held while the file returned lives
/// (or the process does). Without it (no such file can be made) syncs still take turns within
/// this process.
fn lock_between_processes(checkout: &Path) -> Option<std::fs::File> {
    let (parent, name) = (checkout.parent()?, checkout.file_name()?);
    let path = parent.join(format!(".{}.lock", name.to_string_lossy()));
    let file = std::fs::create_dir_all(parent).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
    });
    let file = match file {
        Ok(file) => file,
        Err(e) => {
            tracing::debug!("cannot open {}: {e}", path.display());
            return None;
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock(2) on a descriptor this File owns for its whole life.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            tracing::debug!("cannot lock {}", path.display());
        }
    }
    Some(file)
}

enum Want {
    /// The newest commit of a ref (`None`: the remote's default branch).
    Ref(Option<String>),
    Commit(String),
}

/// Marks the checked-out files read-only (not `.git`): the source is changed in the remote, and
/// an edit here would be lost at the next sync. Folders stay writable so git can update them.
fn make_read_only(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let files = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_entry(|e| e.file_name() != ".git")
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file());
        for file in files {
            let Ok(meta) = file.metadata() else { continue };
            let mode = meta.permissions().mode();
            if mode & 0o222 != 0 {
                let read_only = std::fs::Permissions::from_mode(mode & !0o222);
                if let Err(e) = std::fs::set_permissions(file.path(), read_only) {
                    tracing::debug!("cannot make {} read-only: {e}", file.path().display());
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: Option<&str>) -> GitSpec {
        GitSpec {
            url: "file:///nowhere".into(),
            reference: None,
            path: path.map(str::to_string),
            refresh: Duration::ZERO,
            format: None,
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_path_linking_out_of_the_checkout_is_not_read() {
        let data = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.md"), "# Secret\n").unwrap();
        let checkout = checkout_dir(data.path(), "team");
        std::fs::create_dir_all(checkout.join("inside")).unwrap();
        std::fs::write(checkout.join("inside/ok.md"), "# Fine\n").unwrap();
        std::os::unix::fs::symlink(outside.path(), checkout.join("prompts")).unwrap();
        let timeout = Duration::from_secs(1);
        let linked = GitSource::new("team", spec(Some("prompts")), data.path(), timeout);
        assert!(linked.load_all().prompts.is_empty());
        let inside = GitSource::new("team", spec(Some("inside")), data.path(), timeout);
        let ids: Vec<String> = inside
            .load_all()
            .prompts
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, ["ok"]);
        let notice = read_only_notice(
            &[crate::config::SourceSpec {
                name: "team".into(),
                kind: crate::config::SourceKind::Git(spec(None)),
            }],
            data.path(),
            &checkout.join("inside/ok.md"),
        );
        assert!(notice.is_some_and(|n| n.contains("read-only") && n.contains("file:///nowhere")));
    }
}
