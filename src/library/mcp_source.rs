//! Prompts from an MCP server (`library.sources` entries of type `mcp`), read-only.
//!
//! The server's prompts are mirrored as Markdown files under `<data_dir>/sources/<name>/` (mode
//! 0444): that mirror is the cache completion reads from, so a slow or dead server never blocks
//! it, the prompts are there at the next start before the server answers, and editors can open
//! them (workspace symbols, definition). A background thread keeps the mirror in sync: it
//! connects, lists the prompts, fetches each one with every argument bound to a placeholder of
//! that name (`{{text:name}}`, so arguments become tabstops like any library prompt), rewrites
//! what changed, and refreshes on `notifications/prompts/list_changed`. A server that fails or
//! exits is restarted with back-off (1 s doubling to a minute), and reported once per outage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::config::McpEndpoint;
use crate::mcp::client::{McpClient, McpClientError, RemotePrompt};

use super::prompt::Prompt;
use super::source::{
    FilesystemSource, PromptSource, Scan, ScannedFile, SkippedFile, SourceChange, SourceError,
    Watch,
};

/// The longest wait between restarts of a failing server.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The longest mirrored file name (most file systems allow 255 bytes).
const MAX_FILE_NAME: usize = 200;

/// An MCP server's prompts, mirrored in a folder.
pub struct McpSource {
    name: String,
    endpoint: McpEndpoint,
    mirror: FilesystemSource,
    timeout: Duration,
}

/// A prompt name as a file name: `[A-Za-z0-9_-]` and inner `.` kept, every other byte as `%XX`,
/// so any name maps to one safe file (no `/`, no leading `.`) and back.
pub fn file_stem(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The prompt name of a mirrored file's stem; `None` for a file this source did not write.
pub fn prompt_name(stem: &str) -> Option<String> {
    crate::mcp::percent_decoded(stem)
}

/// A placeholder name for an argument name (`[A-Za-z0-9_]+`; other characters become `_`).
pub fn placeholder_name(argument: &str) -> String {
    let name: String = argument
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() { "_".into() } else { name }
}

/// The mirror file of one prompt: frontmatter naming where it came from, then the body.
pub fn mirror_text(source: &str, prompt: &RemotePrompt, body: &str) -> String {
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let title = prompt
        .title
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(&prompt.name);
    let mut text = format!("---\ntitle: {}\n", quote(title.trim()));
    if let Some(d) = prompt
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        text.push_str(&format!("description: {}\n", quote(d.trim())));
    }
    text.push_str(&format!(
        "mcp_source: {}\nmcp_prompt: {}\n---\n",
        quote(source),
        quote(&prompt.name)
    ));
    text.push_str(body);
    if !body.ends_with('\n') {
        text.push('\n');
    }
    text
}

impl McpSource {
    /// A source named `name` for the server at `endpoint`, mirrored under `data_dir/sources/`.
    pub fn new(name: &str, endpoint: McpEndpoint, data_dir: &Path, timeout: Duration) -> Self {
        let dir = data_dir.join("sources").join(name);
        McpSource {
            name: name.to_string(),
            endpoint,
            mirror: FilesystemSource::new(dir),
            timeout,
        }
    }

    /// The folder the prompts are mirrored in.
    pub fn mirror_dir(&self) -> &Path {
        self.mirror.root()
    }

    /// A mirror id (the file stem) as the prompt's id: its MCP name.
    fn own_id(mirror_id: &str) -> Option<String> {
        if mirror_id.contains('/') {
            return None;
        }
        prompt_name(mirror_id)
    }

    fn own_prompt(mut prompt: Prompt) -> Option<Prompt> {
        prompt.id = Self::own_id(&prompt.id)?;
        prompt.category = None;
        Some(prompt)
    }

    fn own_change(change: SourceChange) -> Option<SourceChange> {
        Some(match change {
            SourceChange::Upserted(p) => SourceChange::Upserted(Box::new(Self::own_prompt(*p)?)),
            SourceChange::Removed { id } => SourceChange::Removed {
                id: Self::own_id(&id)?,
            },
            // The mirror has no folders of its own.
            SourceChange::RemovedFolder { .. } => return None,
            SourceChange::Skipped(s) => SourceChange::Skipped(s),
            SourceChange::Notice(n) => SourceChange::Notice(n),
        })
    }
}

impl PromptSource for McpSource {
    fn scan(&self) -> Scan {
        let scan = self.mirror.scan();
        Scan {
            files: scan
                .files
                .into_iter()
                .filter_map(|f| {
                    Some(ScannedFile {
                        id: Self::own_id(&f.id)?,
                        ..f
                    })
                })
                .collect(),
            skipped: scan.skipped,
        }
    }

    fn read(&self, file: &ScannedFile) -> Result<Prompt, SkippedFile> {
        let mirrored = ScannedFile {
            id: file_stem(&file.id),
            ..file.clone()
        };
        let mut prompt = self.mirror.read(&mirrored)?;
        prompt.id = file.id.clone();
        prompt.category = None;
        Ok(prompt)
    }

    fn get(&self, id: &str) -> Result<Option<Prompt>, SkippedFile> {
        Ok(self.mirror.get(&file_stem(id))?.and_then(Self::own_prompt))
    }

    fn resolve(&self, paths: &[PathBuf]) -> Vec<SourceChange> {
        self.mirror
            .resolve(paths)
            .into_iter()
            .filter_map(Self::own_change)
            .collect()
    }

    fn watch(&self) -> Result<Watch, SourceError> {
        let error = |e: &dyn std::fmt::Display| SourceError::Watch {
            path: self.mirror.root().to_path_buf(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(self.mirror.root()).map_err(|e| error(&e))?;
        let (tx, rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let sync = Sync {
            name: self.name.clone(),
            endpoint: self.endpoint.clone(),
            mirror: FilesystemSource::new(self.mirror.root().to_path_buf()),
            timeout: self.timeout,
            changes: tx,
        };
        std::thread::Builder::new()
            .name(format!("mcp-source-{}", self.name))
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(sync.run(stopped)),
                    Err(e) => tracing::error!("prompt source `{}`: {e}", sync.name),
                }
            })
            .map_err(|e| error(&e))?;
        // Dropping the sender (with the watch) stops the thread and the server with it.
        Ok(Watch::new(rx, Box::new(stop)))
    }
}

/// The background side of a source: keeps the mirror in sync with the server.
struct Sync {
    name: String,
    endpoint: McpEndpoint,
    mirror: FilesystemSource,
    timeout: Duration,
    changes: mpsc::Sender<Vec<SourceChange>>,
}

impl Sync {
    async fn run(self, mut stopped: tokio::sync::oneshot::Receiver<()>) {
        let mut backoff = Duration::from_secs(1);
        // Set while the server is unavailable, so an outage is reported once.
        let mut down = false;
        loop {
            let (notify, mut notified) = tokio::sync::mpsc::unbounded_channel();
            let connected = tokio::select! {
                _ = &mut stopped => return,
                c = McpClient::connect(&self.endpoint, self.timeout, notify) => c,
            };
            let client = match connected {
                Ok(client) => client,
                Err(e) => {
                    self.report_down(&mut down, &e, backoff);
                    tokio::select! {
                        _ = &mut stopped => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            if down {
                tracing::info!("prompt source `{}` is back", self.name);
                down = false;
            }
            backoff = Duration::from_secs(1);
            loop {
                match self.refresh(&client).await {
                    Ok(changes) if changes.is_empty() => {}
                    Ok(changes) => {
                        if self.changes.send(changes).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        self.report_down(&mut down, &e, backoff);
                        break;
                    }
                }
                tokio::select! {
                    _ = &mut stopped => return,
                    Some(()) = notified.recv() => {
                        // A burst of notifications needs one refresh.
                        while notified.try_recv().is_ok() {}
                    }
                    () = client.closed() => {
                        let e = McpClientError::Closed {
                            endpoint: self.endpoint.describe(),
                            message: "the server went away".into(),
                        };
                        self.report_down(&mut down, &e, backoff);
                        break;
                    }
                }
            }
            drop(client);
            tokio::select! {
                _ = &mut stopped => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn report_down(&self, down: &mut bool, e: &McpClientError, retry: Duration) {
        if *down {
            tracing::debug!("prompt source `{}` still unavailable: {e}", self.name);
            return;
        }
        *down = true;
        let notice = format!(
            "prompt source `{}` is unavailable: {e}; its last known prompts stay offered, \
             retrying in {} s and then with back-off",
            self.name,
            retry.as_secs()
        );
        tracing::warn!("{notice}");
        // Once per outage, to the user too (the library forwards it to the editor).
        let _ = self.changes.send(vec![SourceChange::Notice(notice)]);
    }

    /// Lists and fetches every prompt, rewrites the mirror where it differs, and returns the
    /// resulting changes. A prompt the server refuses to render is left out (logged).
    async fn refresh(&self, client: &McpClient) -> Result<Vec<SourceChange>, McpClientError> {
        let listed = client.list_prompts().await?;
        let mut wanted: BTreeMap<String, String> = BTreeMap::new();
        for prompt in &listed {
            let stem = file_stem(&prompt.name);
            if stem.len() > MAX_FILE_NAME {
                tracing::warn!(
                    "prompt source `{}`: prompt name too long to mirror; skipped",
                    self.name
                );
                continue;
            }
            let arguments: BTreeMap<String, String> = prompt
                .arguments
                .iter()
                .map(|a| {
                    (
                        a.name.clone(),
                        format!("{{{{text:{}}}}}", placeholder_name(&a.name)),
                    )
                })
                .collect();
            match client.get_prompt(&prompt.name, &arguments).await {
                Ok(body) => {
                    wanted.insert(stem, mirror_text(&self.name, prompt, &body));
                }
                Err(e) if e.is_transport() => return Err(e),
                Err(e) => tracing::warn!(
                    "prompt source `{}`: prompt `{}` left out: {e}",
                    self.name,
                    prompt.name
                ),
            }
        }
        let root = self.mirror.root().to_path_buf();
        let written = tokio::task::spawn_blocking({
            let root = root.clone();
            move || write_mirror(&root, &wanted)
        })
        .await
        .unwrap_or_default();
        if written.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .mirror
            .resolve(&written)
            .into_iter()
            .filter_map(McpSource::own_change)
            .collect())
    }
}

/// Makes the mirror hold exactly `wanted` (file stem → text); returns the paths it touched.
fn write_mirror(root: &Path, wanted: &BTreeMap<String, String>) -> Vec<PathBuf> {
    let mut touched = Vec::new();
    if let Err(e) = std::fs::create_dir_all(root) {
        tracing::warn!("cannot create {}: {e}", root.display());
        return touched;
    }
    let existing: BTreeSet<String> = std::fs::read_dir(root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()?
                        .strip_suffix(".md")
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    for stem in existing.iter().filter(|s| !wanted.contains_key(*s)) {
        let path = root.join(format!("{stem}.md"));
        match std::fs::remove_file(&path) {
            Ok(()) => touched.push(path),
            Err(e) => tracing::warn!("cannot remove {}: {e}", path.display()),
        }
    }
    for (stem, text) in wanted {
        let path = root.join(format!("{stem}.md"));
        if std::fs::read_to_string(&path).is_ok_and(|old| old == *text) {
            continue;
        }
        // Read-only: the mirror is rewritten from the server, edits there would be lost.
        match crate::home::write_atomic_with_mode(&path, text.as_bytes(), Some(0o444)) {
            Ok(()) => touched.push(path),
            Err(e) => tracing::warn!("cannot write {}: {e}", path.display()),
        }
    }
    touched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::client::RemoteArgument;

    #[test]
    fn names_map_to_safe_file_names_and_back() {
        for name in [
            "review",
            "code/review",
            "..",
            ".hidden",
            "a b%c",
            "été",
            "x.y",
        ] {
            let stem = file_stem(name);
            assert!(!stem.contains('/') && !stem.starts_with('.'), "{stem}");
            assert_eq!(prompt_name(&stem).as_deref(), Some(name));
        }
        assert_eq!(file_stem("code/review"), "code%2Freview");
        assert_eq!(prompt_name("%zz"), None);
        assert_eq!(placeholder_name("file-path"), "file_path");
    }

    #[test]
    fn mirror_round_trips_through_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let source = McpSource::new(
            "team",
            McpEndpoint::Url("http://127.0.0.1:9/mcp".into()),
            dir.path(),
            Duration::from_secs(1),
        );
        let prompt = RemotePrompt {
            name: "code/review".into(),
            title: Some("Team review".into()),
            description: Some("Review \"quoted\"".into()),
            arguments: vec![RemoteArgument {
                name: "lang".into(),
                description: None,
                required: true,
            }],
        };
        let text = mirror_text("team", &prompt, "Review {{text:lang}}");
        let wanted: BTreeMap<String, String> = [(file_stem(&prompt.name), text)].into();
        let touched = write_mirror(source.mirror_dir(), &wanted);
        assert_eq!(touched.len(), 1);
        assert!(
            write_mirror(source.mirror_dir(), &wanted).is_empty(),
            "unchanged: no write"
        );
        let loaded = source.load_all();
        assert_eq!(loaded.prompts.len(), 1);
        let p = &loaded.prompts[0];
        assert_eq!(
            (p.id.as_str(), p.title.as_str(), p.description.as_deref()),
            ("code/review", "Team review", Some("Review \"quoted\""))
        );
        assert_eq!(p.body, "Review {{text:lang}}\n");
        assert_eq!(p.category, None);
        assert_eq!(
            source.get("code/review").unwrap().unwrap().id,
            "code/review"
        );
        let removed = write_mirror(source.mirror_dir(), &BTreeMap::new());
        assert_eq!(
            source.resolve(&removed),
            [SourceChange::Removed {
                id: "code/review".into()
            }]
        );
    }
}
