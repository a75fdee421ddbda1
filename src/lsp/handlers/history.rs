//! History in the editor: every save of a composition is recorded; the `promptstack.history.*`
//! commands search, open, clean up and rebuild it. Repository calls block, so they run on
//! `spawn_blocking`; saves go through the recorder's worker, in order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use crate::document::{DocumentKind, MAX_FILE_BYTES};
use crate::history::cleanup::{self, CleanupSelection, parse_date};
use crate::history::recorder::{HistoryRecorder, Pending, SaveOutcome, SaveRequest};
use crate::history::sync::{SyncMode, SyncReport};
use crate::history::team_files::TeamFiles;
use crate::history::{
    CompositionRepository, CompositionSummary, HistoryError, IndexReplaced, ListOptions,
    author_filter, open_repository,
};
use crate::lsp::convert::{internal_error, invalid_request, not_ready, path_to_uri, uri_to_path};
use crate::lsp::progress;
use crate::lsp::state::ServerState;

/// The history as the server holds it.
pub struct History {
    /// The index; `None` when it could not be opened (the files are still written).
    repo: Option<Arc<dyn CompositionRepository>>,
    /// Why there is no index, for answers to history requests.
    off_reason: Option<String>,
    recorder: HistoryRecorder,
    dir: PathBuf,
    /// Local copies of other people's compositions, so editors can open them.
    team: TeamFiles,
    /// `storage.author`, what `author: "me"` means.
    author: String,
    /// Set after a failed save was reported, so a failing disk shows one message, not one per save.
    failure_reported: AtomicBool,
}

impl History {
    /// The index, or an error saying why history search is off.
    pub fn repo(&self) -> Result<Arc<dyn CompositionRepository>> {
        self.repo.clone().ok_or_else(|| {
            invalid_request(format!(
                "history search is off: {}",
                self.off_reason.as_deref().unwrap_or("no index")
            ))
        })
    }

    /// The files of `summaries` (other people's written as local copies first). Blocks.
    pub(super) fn files_of(
        &self,
        repo: &dyn CompositionRepository,
        summaries: &[CompositionSummary],
    ) -> Vec<PathBuf> {
        self.team.materialize(repo, &self.dir, summaries)
    }

    /// Runs a blocking repository call off the protocol loop; if the call found the index
    /// corrupt (it was replaced by an empty one), refills it from the files.
    pub(super) async fn query<T: Send + 'static>(
        self: &Arc<Self>,
        state: &ServerState,
        work: impl FnOnce(&dyn CompositionRepository) -> std::result::Result<T, HistoryError>
        + Send
        + 'static,
    ) -> Result<T> {
        let repo = self.repo()?;
        let result = blocking(move || work(repo.as_ref())).await;
        self.refill_if_replaced(state);
        result
    }

    /// Whether the index was found corrupt and replaced since the last look.
    fn take_replaced(&self) -> Option<IndexReplaced> {
        self.repo.as_ref().and_then(|repo| repo.take_replaced())
    }

    /// When the index was replaced because it was corrupt: queues a sync that refills it from the
    /// history files (in order with saves) and tells the user once it is done. Returns whether it
    /// was.
    fn refill_if_replaced(self: &Arc<Self>, state: &ServerState) -> bool {
        let Some(replaced) = self.take_replaced() else {
            return false;
        };
        let refill = self.recorder.sync(
            SyncMode::Check,
            progress::reporter(state, "Rebuilding history"),
        );
        let (history, client) = (self.clone(), state.client.clone());
        tokio::spawn(async move {
            let message = match history
                .sync_until_sound(refill, Some(replaced.clone()))
                .await
            {
                Ok((report, replaced)) => rebuilt_message(replaced.as_ref(), &report),
                Err(e) => Some(format!(
                    "PromptStack history: the database was corrupt and was moved aside to {}, but rebuilding the index failed: {e}",
                    replaced.moved_to.display()
                )),
            };
            if let Some(message) = message {
                client.show_message(MessageType::WARNING, message).await;
            }
        });
        true
    }

    /// Awaits `first`, a queued sync, and syncs again while a sync ran into a corrupt database
    /// (it was then working from the old database's view); at most three rounds. Returns the
    /// last report with the versions lost over all rounds, and the replacement, if any.
    async fn sync_until_sound(
        &self,
        first: Pending<SyncReport>,
        mut replaced: Option<IndexReplaced>,
    ) -> std::result::Result<(SyncReport, Option<IndexReplaced>), HistoryError> {
        let mut report = first.await?;
        let mut lost = report.earlier_versions_lost;
        for _ in 0..2 {
            let Some(again) = self.take_replaced() else {
                break;
            };
            replaced = Some(again);
            report = self.recorder.sync(SyncMode::Check, |_, _| {}).await?;
            lost += report.earlier_versions_lost;
        }
        report.earlier_versions_lost = lost;
        Ok((report, replaced))
    }

    /// Tells the user about a history problem, once until a save succeeds again.
    async fn report_once(&self, state: &ServerState, message: String) {
        if !self.failure_reported.swap(true, Ordering::Relaxed) {
            state
                .client
                .show_message(MessageType::WARNING, message)
                .await;
        } else {
            tracing::warn!("{message}");
        }
    }
}

/// The history's place in the server state: saves that arrive while it is still opening are
/// kept, in order, and recorded as soon as it is ready.
#[derive(Default)]
pub struct HistorySlot {
    inner: Mutex<Slot>,
    /// Library prompts inserted into a composition since its last save (for find-references).
    pending_uses: Mutex<HashMap<PathBuf, Vec<String>>>,
}

enum Slot {
    /// Saves that arrived before the history was open, in arrival order.
    Opening(Vec<SaveRequest>),
    Ready(Arc<History>),
    /// The save path could not even start (the user was told); saves are not recorded.
    Off,
}

impl HistorySlot {
    /// The history, once open.
    pub fn get(&self) -> Option<Arc<History>> {
        match &*self.lock() {
            Slot::Ready(history) => Some(history.clone()),
            Slot::Opening(_) | Slot::Off => None,
        }
    }

    /// Notes that a library prompt was inserted into the composition at `path`; the next save
    /// records it.
    pub fn note_prompt_use(&self, path: PathBuf, prompt_id: String) {
        let mut pending = self.pending_uses.lock().unwrap_or_else(|p| p.into_inner());
        pending.entry(path).or_default().push(prompt_id);
    }

    fn take_prompt_uses(&self, path: &Path) -> Vec<String> {
        let mut pending = self.pending_uses.lock().unwrap_or_else(|p| p.into_inner());
        pending.remove(path).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot::Opening(Vec::new())
    }
}

/// Opens the history off the protocol loop, then checks the index against the history files
/// (with `$/progress`) so a database that is missing, corrupt or behind is repaired. When the
/// index cannot be opened (a backend not supported yet, a database newer than this binary) the
/// user is told once and saves still write the history files.
pub async fn open(state: &Arc<ServerState>) {
    let config = state.config().config.clone();
    let paths = state.data_paths();
    let events = state.events.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let (repo, off_reason) = match open_repository(&config, &paths) {
            Ok(repo) => (Some(repo), None),
            Err(e) => {
                tracing::warn!("history index is off: {e}");
                (None, Some(e.to_string()))
            }
        };
        let recorder = HistoryRecorder::start(repo.clone(), paths.history_dir.clone(), events)?;
        Ok::<_, HistoryError>(History {
            repo,
            off_reason,
            recorder,
            team: TeamFiles::new(paths.team_dir),
            dir: paths.history_dir,
            author: config.author(),
            failure_reported: AtomicBool::new(false),
        })
    })
    .await;
    let history = match opened {
        Ok(Ok(history)) => Arc::new(history),
        Ok(Err(e)) => {
            *state.history.lock() = Slot::Off;
            state
                .client
                .show_message(
                    MessageType::ERROR,
                    format!("PromptStack history is off: {e}"),
                )
                .await;
            return;
        }
        Err(e) => {
            *state.history.lock() = Slot::Off;
            tracing::error!("opening the history panicked: {e}");
            return;
        }
    };
    if let Some(reason) = &history.off_reason {
        state
            .client
            .show_message(
                MessageType::ERROR,
                format!(
                    "PromptStack history search is off: {reason}. Saves are still written to the history files in {}.",
                    history.dir.display()
                ),
            )
            .await;
    }
    // A corrupt database already moved aside by the open: the check below refills the index.
    let replaced_at_open = history.take_replaced();
    let check = history.repo.is_some().then(|| {
        history.recorder.sync(
            SyncMode::Check,
            progress::reporter(state, "Checking history"),
        )
    });
    {
        // Under the slot's lock, so a save arriving now queues after the early ones.
        let mut slot = state.history.lock();
        if let Slot::Opening(early) = std::mem::replace(&mut *slot, Slot::Ready(history.clone())) {
            for request in early {
                follow(state, &history, history.recorder.save(request));
            }
        }
    }
    let Some(check) = check else {
        return;
    };
    match history.sync_until_sound(check, replaced_at_open).await {
        Ok((report, replaced)) => {
            tracing::info!("history check: {}", report.summary());
            for problem in &report.problems {
                tracing::warn!(
                    "history file {}: {}",
                    problem.path.display(),
                    problem.message
                );
            }
            if let Some(message) = rebuilt_message(replaced.as_ref(), &report) {
                state
                    .client
                    .show_message(MessageType::WARNING, message)
                    .await;
            }
        }
        Err(e) => {
            let message = match &e {
                HistoryError::Unreachable { .. } => format!(
                    "PromptStack: {e}. Saves are kept in the history files and pushed to it when it is back."
                ),
                _ => format!(
                    "PromptStack could not check the history index: {e}. It is checked again when the index is back."
                ),
            };
            history.report_once(state, message).await;
        }
    }
    // Damaged interior pages open fine; SQLite's own check finds them. In the background: it
    // reads the whole database (seconds for a large history) while saves and searches go on.
    let Ok(repo) = history.repo() else {
        return;
    };
    match tokio::task::spawn_blocking(move || repo.verify()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("history database check: {e}"),
        Err(e) => tracing::error!("history database check panicked: {e}"),
    }
    history.refill_if_replaced(state);
}

/// What to tell the user after the index was refilled from the files, if anything: that the
/// database was corrupt and replaced, and whether earlier versions are gone.
fn rebuilt_message(replaced: Option<&IndexReplaced>, report: &SyncReport) -> Option<String> {
    let lost = report.lost_versions_notice();
    let mut message = match replaced {
        Some(r) => format!(
            "PromptStack history: the database was corrupt ({}); it was moved aside to {} and the index was rebuilt from {} history files.",
            r.reason,
            r.moved_to.display(),
            report.files
        ),
        None if lost.is_some() => "PromptStack history:".to_string(),
        None => return None,
    };
    if let Some(lost) = lost {
        message.push(' ');
        message.push_str(&lost);
        message.push('.');
    }
    Some(message)
}

/// Records a saved composition. Queued at once (so saves of one file apply in order); the
/// outcome is awaited in a task and a failure is shown once until a save succeeds again.
pub fn did_save(state: &Arc<ServerState>, uri: &Uri) {
    let (Some((content, _, DocumentKind::Composition)), Some(source_path)) =
        (state.snapshot(uri), uri_to_path(uri))
    else {
        return;
    };
    // The size diagnostic already tells the user; history keeps prompts up to 1 MB.
    if content.len() > MAX_FILE_BYTES {
        return;
    }
    let working_dir = state
        .workspace_folder_of(&source_path)
        .or_else(|| source_path.parent().map(Path::to_path_buf));
    let request = SaveRequest {
        prompts_used: state.history.take_prompt_uses(&source_path),
        source_path,
        working_dir,
        content,
    };
    let mut slot = state.history.lock();
    match &mut *slot {
        Slot::Ready(history) => follow(state, history, history.recorder.save(request)),
        Slot::Opening(early) => early.push(request),
        Slot::Off => {}
    }
}

/// What to tell the user about a save that left work waiting for a fault to clear.
fn save_problem(outcome: &SaveOutcome) -> Option<String> {
    match (&outcome.file_error, &outcome.index_error) {
        (None, None) => None,
        (None, Some(index)) => Some(format!(
            "PromptStack saved the history file, but the history index cannot take it yet ({index}). Saves wait and are added in order as soon as it can; nothing is lost."
        )),
        (Some(file), None) if outcome.indexed_backend => Some(format!(
            "PromptStack could not write the history file ({file}). The save is kept in the history index and the file is written as soon as the disk allows."
        )),
        (Some(file), index) => Some(format!(
            "PromptStack could not record this save: {file}{}. It is kept in memory and retried; keep the editor open until the disk is writable again.",
            index.as_ref().map(|i| format!("; {i}")).unwrap_or_default()
        )),
    }
}

/// Awaits a save's outcome in a task and tells the user about a failure once.
fn follow(state: &Arc<ServerState>, history: &Arc<History>, outcome: Pending<SaveOutcome>) {
    let (state, history) = (state.clone(), history.clone());
    tokio::spawn(async move {
        let outcome = outcome.await;
        if history.refill_if_replaced(&state) {
            // The save found the index corrupt: the rebuild message says what happened.
            return;
        }
        let problem = match outcome {
            Ok(outcome) => save_problem(&outcome),
            Err(e) => Some(format!(
                "PromptStack could not record this save in history: {e}"
            )),
        };
        match problem {
            Some(message) => history.report_once(&state, message).await,
            None => history.failure_reported.store(false, Ordering::Relaxed),
        }
    });
}

pub(super) fn history(state: &ServerState) -> Result<Arc<History>> {
    state.history.get().ok_or_else(|| not_ready("the history"))
}

/// Runs a blocking repository call off the protocol loop.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::result::Result<T, HistoryError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| internal_error(format!("history task failed: {e}")))?
        .map_err(to_rpc_error)
}

/// What the caller got wrong (a stale cleanup token, a bad argument, an unknown id) is invalid
/// params; the rest failed inside the server.
fn to_rpc_error(error: HistoryError) -> Error {
    match error {
        HistoryError::CleanupChanged
        | HistoryError::InvalidInput(_)
        | HistoryError::NotFound(_) => Error::invalid_params(error.to_string()),
        other => internal_error(other.to_string()),
    }
}

/// The `author` argument: `"me"`, a name, or everyone (absent, `"everyone"`, `"all"`).
fn author_arg(args: &Value, me: &str) -> Result<Option<String>> {
    match args.get("author") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(a)) => Ok(author_filter(Some(a), me)),
        Some(_) => Err(Error::invalid_params(
            "`author` must be \"me\", a name, or \"everyone\"",
        )),
    }
}

pub(super) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn day_start(date: time::Date) -> OffsetDateTime {
    date.with_time(time::Time::MIDNIGHT).assume_utc()
}

fn date_arg(args: &Value, key: &str) -> Result<Option<time::Date>> {
    args.get(key)
        .and_then(Value::as_str)
        .map(|s| parse_date(s).map_err(|e| Error::invalid_params(format!("`{key}`: {e}"))))
        .transpose()
}

pub(super) fn count_arg(args: &Value, key: &str) -> Result<Option<usize>> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(|n| Some(n as usize))
            .ok_or_else(|| Error::invalid_params(format!("`{key}` must be a whole number"))),
    }
}

/// `promptstack.history.search`: full-text search (or the most recent when the query is empty).
pub async fn search(state: &ServerState, args: Value) -> Result<Value> {
    let history = history(state)?;
    let query = args
        .get("query")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    let to = date_arg(&args, "to")?;
    let options = ListOptions {
        working_dir: args
            .get("working_directory")
            .and_then(Value::as_str)
            .map(PathBuf::from),
        updated_from: date_arg(&args, "from")?.map(day_start),
        updated_until: to.and_then(|d| d.next_day()).map(day_start),
        tags: args
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        author: author_arg(&args, &history.author)?,
        limit: count_arg(&args, "limit")?.unwrap_or(20).clamp(1, 200),
        offset: count_arg(&args, "offset")?.unwrap_or(0),
        ..ListOptions::default()
    };
    let shared = history.clone();
    let (results, total, more) = history
        .query(state, move |repo| {
            let (found, total, more): (Vec<(CompositionSummary, String)>, usize, bool) =
                if query.is_empty() {
                    let page = repo.list(&options)?;
                    let found = page.items.into_iter().map(|s| (s, String::new())).collect();
                    (found, page.total, page.capped)
                } else {
                    let page = repo.search(&query, &options)?;
                    let found = page
                        .items
                        .into_iter()
                        .map(|hit| (hit.summary, hit.snippet.marked("**", "**")))
                        .collect();
                    (found, page.total, page.capped)
                };
            let summaries: Vec<CompositionSummary> = found.iter().map(|(s, _)| s.clone()).collect();
            let files = shared.files_of(repo, &summaries);
            let results: Vec<(CompositionSummary, String, PathBuf)> = found
                .into_iter()
                .zip(files)
                .map(|((summary, snippet), file)| (summary, snippet, file))
                .collect();
            Ok((results, total, more))
        })
        .await?;
    let results: Vec<Value> = results
        .into_iter()
        .map(|(summary, snippet, file)| {
            json!({
                "id": summary.id,
                "title": summary.title,
                "snippet": snippet,
                "uri": path_to_uri(&file).map(|u| u.as_str().to_string()),
                "updated_at": rfc3339(summary.updated_at),
                "working_directory": summary.working_dir,
                "author": summary.author,
                "machine": summary.machine,
            })
        })
        .collect();
    // `more`: the backend stopped counting at `total` ("1,000+ matches").
    Ok(json!({ "results": results, "total": total, "more": more }))
}

/// `promptstack.history.open`: asks the client to show a composition's history file.
pub async fn open_entry(state: &ServerState, args: Value) -> Result<Value> {
    let history = history(state)?;
    let id = args
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid_params("expected `{ \"id\": \"<composition id>\" }`"))?
        .to_string();
    let lookup = id.clone();
    let shared = history.clone();
    let file = history
        .query(state, move |repo| {
            Ok(repo
                .load(&lookup)?
                .map(|c| shared.files_of(repo, &[c.summary]).remove(0)))
        })
        .await?
        .ok_or_else(|| Error::invalid_params(format!("no composition `{id}` in history")))?;
    let uri = path_to_uri(&file)
        .ok_or_else(|| internal_error(format!("{} has no file URI", file.display())))?;
    let shown = state
        .client
        .show_document(ShowDocumentParams {
            uri: uri.clone(),
            external: Some(false),
            take_focus: Some(true),
            selection: None,
        })
        .await;
    if let Err(e) = shown {
        tracing::debug!("client did not show the history file: {e}");
    }
    Ok(json!({ "uri": uri.as_str() }))
}

fn selection(args: &Value) -> Result<CleanupSelection> {
    let all = args.get("all").and_then(Value::as_bool).unwrap_or(false);
    let older = count_arg(args, "older_than_days")?;
    let keep = count_arg(args, "keep_last")?;
    let (from, to) = (date_arg(args, "from")?, date_arg(args, "to")?);
    match (all, older, keep, from, to) {
        (true, None, None, None, None) => Ok(CleanupSelection::All),
        (false, Some(days), None, None, None) => Ok(CleanupSelection::OlderThanDays(
            u32::try_from(days)
                .map_err(|_| Error::invalid_params("`older_than_days` is too large"))?,
        )),
        (false, None, Some(n), None, None) => Ok(CleanupSelection::KeepLast(n)),
        (false, None, None, Some(from), Some(to)) if from <= to => {
            Ok(CleanupSelection::Between { from, to })
        }
        _ => Err(Error::invalid_params(
            "choose exactly one of `all: true`, `older_than_days`, `keep_last`, or `from` with `to` (from ≤ to)",
        )),
    }
}

/// `promptstack.history.cleanup`: a dry run returns what would go and a token; a second call
/// with `confirm: <token>` deletes exactly that.
pub async fn cleanup(state: &ServerState, args: Value) -> Result<Value> {
    let history = history(state)?;
    let selection = selection(&args)?;
    let confirm = args
        .get("confirm")
        .and_then(Value::as_str)
        .map(str::to_string);
    let dir = history.dir.clone();
    let now = OffsetDateTime::now_utc();
    match confirm {
        None => {
            let plan = history
                .query(state, move |repo| cleanup::plan(repo, &dir, selection, now))
                .await?;
            Ok(json!({
                "count": plan.count(),
                "bytes": plan.bytes,
                "oldest": plan.oldest.map(rfc3339),
                "newest": plan.newest.map(rfc3339),
                "files": plan.entries.iter().map(|e| e.file.clone()).collect::<Vec<_>>(),
                "token": plan.token,
            }))
        }
        Some(token) => {
            let report = history
                .query(state, move |repo| {
                    cleanup::confirm(repo, &dir, selection, &token, now)
                })
                .await?;
            let failures: Vec<Value> = report
                .failures
                .iter()
                .map(|(path, message)| json!({ "path": path, "message": message }))
                .collect();
            Ok(json!({
                "deleted": report.deleted,
                "freed_bytes": report.bytes,
                "message": report.message(),
                "failures": failures,
            }))
        }
    }
}

/// `promptstack.history.rebuild`: re-indexes every history file, with `$/progress`.
pub async fn rebuild(state: &ServerState) -> Result<Value> {
    let history = history(state)?;
    history.repo()?;
    let report = history
        .recorder
        .sync(
            SyncMode::Rebuild,
            progress::reporter(state, "Rebuilding history"),
        )
        .await
        .map_err(|e| internal_error(format!("history rebuild failed: {e}")))?;
    Ok(json!({ "compositions": report.files, "summary": report.summary() }))
}

/// Values filled into a placeholder name before, most recent first (for completion).
pub async fn placeholder_values(state: &ServerState, name: String) -> Vec<String> {
    let Some(history) = state.history.get() else {
        return Vec::new();
    };
    history
        .query(state, move |repo| repo.placeholder_values(&name, 20))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!("placeholder values: {}", e.message);
            Vec::new()
        })
}

/// Remembers values the user filled in with `promptstack.render`.
pub fn remember_placeholder_values(state: &ServerState, values: Vec<(String, String)>) {
    let Some(repo) = state.history.get().and_then(|h| h.repo().ok()) else {
        return;
    };
    if values.is_empty() {
        return;
    }
    tokio::task::spawn_blocking(move || {
        if let Err(e) = repo.record_placeholder_values(&values) {
            tracing::warn!("cannot remember placeholder values: {e}");
        }
    });
}

/// Compositions in history as workspace symbols (the cross-editor history picker), with their
/// files (other people's as local copies).
pub async fn symbols(
    state: &ServerState,
    query: String,
    limit: usize,
) -> Vec<(CompositionSummary, PathBuf)> {
    let Some(history) = state.history.get() else {
        return Vec::new();
    };
    let options = ListOptions {
        limit,
        ..ListOptions::default()
    };
    let shared = history.clone();
    history
        .query(state, move |repo| {
            let found = if query.trim().is_empty() {
                repo.list(&options)?.items
            } else {
                repo.search(&query, &options)?
                    .items
                    .into_iter()
                    .map(|hit| hit.summary)
                    .collect()
            };
            let files = shared.files_of(repo, &found);
            Ok(found.into_iter().zip(files).collect())
        })
        .await
        .unwrap_or_else(|e| {
            tracing::warn!("history symbols: {}", e.message);
            Vec::new()
        })
}

/// Compositions that used the library prompt `prompt_id`, as history file paths.
pub async fn references(state: &ServerState, prompt_id: String) -> Result<Vec<PathBuf>> {
    let history = history(state)?;
    let shared = history.clone();
    history
        .query(state, move |repo| {
            let refs = repo.compositions_using(&prompt_id)?;
            let summaries: Vec<CompositionSummary> = refs.into_iter().map(|r| r.summary).collect();
            Ok(shared.files_of(repo, &summaries))
        })
        .await
}
