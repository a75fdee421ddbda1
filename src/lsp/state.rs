//! What the server keeps between requests: open documents, configuration, client features.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tower_lsp_server::Client;
use tower_lsp_server::ls_types::Uri;

use crate::config::{Layers, Resolved};
use crate::document::composition_file::CompositionGlobs;
use crate::document::{ColumnEncoding, Document, DocumentKind};
use crate::events::EventBus;
use crate::home::{DataPaths, Home};
use crate::library::Library;
use crate::library::use_tracker::UseTracker;
use crate::lsp::handlers::history::HistorySlot;
use crate::lsp::handlers::library_sync::LibrarySlot;

/// What the client said it can do, read once at `initialize`.
#[derive(Debug, Clone, Default)]
pub struct ClientFeatures {
    pub encoding: ColumnEncoding,
    /// `workspace/configuration` pull.
    pub configuration: bool,
    /// Dynamic registration of `workspace/didChangeConfiguration`.
    pub dynamic_configuration: bool,
    /// `workspace/codeLens/refresh` (the size lens changes with every edit).
    pub code_lens_refresh: bool,
    /// `window/workDoneProgress`.
    pub work_done_progress: bool,
    /// Snippet syntax in completion items.
    pub snippets: bool,
    /// `window/showDocument`.
    pub show_document: bool,
    /// `workspace/applyEdit`: the server may ask the client to apply an edit.
    pub apply_edit: bool,
    /// `workspace.workspaceEdit.documentChanges`: versioned edits; else plain `changes`.
    pub document_changes: bool,
    /// `codeAction/resolve` can fill in an action's `edit`; else the action must carry it, or a
    /// command, from the start.
    pub resolve_code_action_edit: bool,
    /// The client presents command results itself (PromptStack's own plugins say so with
    /// `experimental.promptstack.commandResults`); others are told with messages.
    pub shows_command_results: bool,
}

impl ClientFeatures {
    /// Whether to ask the client to open a file: when it supports `window/showDocument`, and
    /// for generic clients, which may handle it without announcing it (Helix 25.07 does).
    pub fn opens_documents(&self) -> bool {
        self.show_document || !self.shows_command_results
    }
}

/// A walk of the workspace folders: which roots, when, and the files found.
pub struct FileWalk {
    pub roots: Vec<PathBuf>,
    pub at: std::time::Instant,
    pub files: Arc<Vec<crate::document::file_refs::WorkspaceFile>>,
}

/// The server's shared state. Locks are held only for short, non-blocking sections.
pub struct ServerState {
    pub client: Client,
    pub home: Home,
    pub events: EventBus,
    pub features: OnceLock<ClientFeatures>,
    /// The editor settings sent with `initialize`, the fallback when a pull answers nothing.
    pub initialization_options: OnceLock<serde_json::Value>,
    /// The prompt library, opened after `initialized` and reopened when its folder changes.
    pub library: LibrarySlot,
    /// The composition history, opened after `initialized`.
    pub history: HistorySlot,
    /// Workspace folders from `initialize` (`workspaceFolders`, else `rootUri`), kept current
    /// by `workspace/didChangeWorkspaceFolders`: working directory of saved compositions, and
    /// where file completion looks.
    pub workspace_folders: RwLock<Vec<PathBuf>>,
    /// The last walk of the workspace folders for file completion, reused while fresh.
    pub file_walk: Mutex<Option<FileWalk>>,
    /// AI provider, suggestions and reviews in flight.
    pub ai: super::ai_session::AiSession,
    /// Prompts offered by completion, to count a use when an edit inserts one.
    pub uses: Mutex<UseTracker>,
    layers: Mutex<Layers>,
    config: RwLock<Arc<Resolved>>,
    /// The settings problems the user was last told about: a problem is shown when it appears,
    /// not again while it persists (one bad value, one popup).
    shown_problems: Mutex<HashSet<String>>,
    documents: RwLock<HashMap<Uri, Document>>,
    /// Bumped on every change; a diagnostics run publishes only if its generation is current.
    generations: Mutex<HashMap<Uri, u64>>,
}

impl ServerState {
    pub fn new(
        client: Client,
        home: Home,
        layers: Layers,
        resolved: Resolved,
        events: EventBus,
        startup_problems: &[String],
    ) -> Self {
        ServerState {
            client,
            home,
            events,
            features: OnceLock::new(),
            initialization_options: OnceLock::new(),
            library: LibrarySlot::default(),
            history: HistorySlot::default(),
            workspace_folders: RwLock::new(Vec::new()),
            file_walk: Mutex::new(None),
            ai: Default::default(),
            uses: Mutex::new(UseTracker::default()),
            layers: Mutex::new(layers),
            config: RwLock::new(Arc::new(resolved)),
            shown_problems: Mutex::new(startup_problems.iter().cloned().collect()),
            documents: RwLock::new(HashMap::new()),
            generations: Mutex::new(HashMap::new()),
        }
    }

    pub fn features(&self) -> ClientFeatures {
        self.features.get().cloned().unwrap_or_default()
    }

    /// The library, once opened.
    pub fn library(&self) -> Option<Arc<Library>> {
        self.library.get()
    }

    /// The workspace folders, first one first.
    pub fn workspace_folders(&self) -> Vec<PathBuf> {
        self.workspace_folders
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The innermost workspace folder containing `path`.
    pub fn workspace_folder_of(&self, path: &Path) -> Option<PathBuf> {
        self.workspace_folders
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|folder| path.starts_with(folder))
            .max_by_key(|folder| folder.components().count())
            .cloned()
    }

    pub fn encoding(&self) -> ColumnEncoding {
        self.features().encoding
    }

    pub fn config(&self) -> Arc<Resolved> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn data_paths(&self) -> DataPaths {
        self.config().config.data_paths(&self.home)
    }

    /// Replaces the editor layer and re-resolves; invalid editor values keep their previous
    /// effective value. Returns the problems the user has not been told about yet (those of the
    /// file and environment were shown at start).
    pub fn apply_editor_settings(&self, settings: Option<serde_json::Value>) -> Vec<String> {
        let mut layers = self.layers.lock().unwrap_or_else(|p| p.into_inner());
        layers.editor = settings;
        let previous = self.config();
        let (resolved, errors) = crate::config::resolve(&layers, Some(&previous));
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(resolved);
        drop(layers);
        self.reclassify_documents();
        let current: HashSet<String> = errors.iter().map(ToString::to_string).collect();
        let mut shown = self
            .shown_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let new = errors
            .iter()
            .map(ToString::to_string)
            .filter(|e| !shown.contains(e))
            .collect();
        *shown = current;
        new
    }

    /// Decides whether `uri` is a composition, a library prompt or neither, by the current config.
    pub fn classify(&self, uri: &Uri) -> DocumentKind {
        let Some(path) = crate::lsp::convert::uri_to_path(uri) else {
            return DocumentKind::Other;
        };
        let config = self.config();
        if is_under(&path, &config.config.data_paths(&self.home).library_dir)
            && path.extension().is_some_and(|e| e == "md")
        {
            return DocumentKind::LibraryPrompt;
        }
        if crate::formats::detect(&path).is_some() {
            return DocumentKind::AgentFile;
        }
        if CompositionGlobs::new(&config.config.composition_globs).is_match(&path) {
            return DocumentKind::Composition;
        }
        DocumentKind::Other
    }

    fn reclassify_documents(&self) {
        let uris: Vec<Uri> = self.read_documents().keys().cloned().collect();
        for uri in uris {
            let kind = self.classify(&uri);
            if let Some(doc) = self.write_documents().get_mut(&uri) {
                doc.kind = kind;
            }
        }
    }

    pub fn read_documents(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Uri, Document>> {
        self.documents.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn write_documents(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Uri, Document>> {
        self.documents.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of an open document's text, version and kind.
    pub fn snapshot(&self, uri: &Uri) -> Option<(String, i32, DocumentKind)> {
        self.read_documents()
            .get(uri)
            .map(|d| (d.text(), d.version, d.kind))
    }

    /// Starts a new diagnostics generation for `uri` and returns it.
    pub fn next_generation(&self, uri: &Uri) -> u64 {
        let mut generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        let generation = generations.entry(uri.clone()).or_insert(0);
        *generation += 1;
        *generation
    }

    pub fn is_current_generation(&self, uri: &Uri, generation: u64) -> bool {
        self.generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(uri)
            .is_some_and(|g| *g == generation)
    }

    pub fn forget(&self, uri: &Uri) {
        self.ai.forget(uri);
        self.uses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget(uri.as_str());
        self.write_documents().remove(uri);
        self.generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(uri);
    }
}

/// Whether `path` is inside `dir`, comparing real paths when they differ (symlinked homes).
fn is_under(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir) || crate::confine::is_within(path, &[dir.to_path_buf()])
}
