//! The `LanguageServer` implementation: capabilities, and dispatch to one handler per feature.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService};

use super::handlers;
use super::state::{ClientFeatures, ServerState};
use crate::config::Loaded;
use crate::document::ColumnEncoding;
use crate::events::{AuditLog, EventBus};

/// How many requests may run at once (tower-lsp's default of 4 lets one slow request stall
/// completion); document-sized work runs on the blocking pool, so this bounds tasks, not CPU.
const CONCURRENCY: usize = 256;

/// Runs the language server over stdin/stdout until the client exits.
pub async fn serve_stdio(loaded: Loaded) -> anyhow::Result<()> {
    let events = EventBus::new();
    events.subscribe(Arc::new(AuditLog::new(loaded.data_paths().audit_log)));
    let state_events = events.clone();
    let startup_problems: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
    let migration_note = loaded.migration_note();
    let (service, socket) = LspService::new(move |client| Backend {
        state: Arc::new(ServerState::new(
            client,
            loaded.home.clone(),
            loaded.layers.clone(),
            loaded.resolved.clone(),
            state_events,
            &startup_problems,
        )),
        startup_problems,
        migration_note,
    });
    super::transport::serve(
        tokio::io::stdin(),
        tokio::io::stdout(),
        service,
        socket,
        CONCURRENCY,
    )
    .await;
    // Let queued events (audit log, usage) reach disk before the process ends.
    tokio::task::spawn_blocking(move || events.drain()).await?;
    Ok(())
}

struct Backend {
    state: Arc<ServerState>,
    /// Config problems found before the client connected, shown once it has.
    startup_problems: Vec<String>,
    /// Set when the config file was migrated at start: said once, in the editor.
    migration_note: Option<String>,
}

impl Backend {
    fn client(&self) -> &Client {
        &self.state.client
    }
}

fn negotiate_encoding(params: &InitializeParams) -> ColumnEncoding {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(list) if list.contains(&PositionEncodingKind::UTF8) => ColumnEncoding::Utf8,
        _ => ColumnEncoding::Utf16,
    }
}

/// Workspace folder paths, falling back to the deprecated `rootUri`.
#[allow(deprecated)] // `root_uri` is deprecated but older clients only send it.
fn workspace_folders(params: &InitializeParams) -> Vec<std::path::PathBuf> {
    match &params.workspace_folders {
        Some(folders) if !folders.is_empty() => folders
            .iter()
            .filter_map(|f| super::convert::uri_to_path(&f.uri))
            .collect(),
        _ => params
            .root_uri
            .as_ref()
            .and_then(super::convert::uri_to_path)
            .into_iter()
            .collect(),
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let encoding = negotiate_encoding(&params);
        let workspace = params.capabilities.workspace.as_ref();
        let features = ClientFeatures {
            encoding,
            configuration: workspace.and_then(|w| w.configuration).unwrap_or(false),
            dynamic_configuration: workspace
                .and_then(|w| w.did_change_configuration.as_ref())
                .and_then(|d| d.dynamic_registration)
                .unwrap_or(false),
            code_lens_refresh: workspace
                .and_then(|w| w.code_lens.as_ref())
                .and_then(|c| c.refresh_support)
                .unwrap_or(false),
            work_done_progress: params
                .capabilities
                .window
                .as_ref()
                .and_then(|w| w.work_done_progress)
                .unwrap_or(false),
            snippets: params
                .capabilities
                .text_document
                .as_ref()
                .and_then(|t| t.completion.as_ref())
                .and_then(|c| c.completion_item.as_ref())
                .and_then(|i| i.snippet_support)
                .unwrap_or(false),
            show_document: params
                .capabilities
                .window
                .as_ref()
                .and_then(|w| w.show_document.as_ref())
                .is_some_and(|s| s.support),
            apply_edit: workspace.and_then(|w| w.apply_edit).unwrap_or(false),
            document_changes: workspace
                .and_then(|w| w.workspace_edit.as_ref())
                .and_then(|e| e.document_changes)
                .unwrap_or(false),
            resolve_code_action_edit: params
                .capabilities
                .text_document
                .as_ref()
                .and_then(|t| t.code_action.as_ref())
                .and_then(|c| c.resolve_support.as_ref())
                .is_some_and(|r| r.properties.iter().any(|p| p == "edit")),
            shows_command_results: params
                .capabilities
                .experimental
                .as_ref()
                .and_then(|e| e.pointer("/promptstack/commandResults"))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        };
        *self
            .state
            .workspace_folders
            .write()
            .unwrap_or_else(|p| p.into_inner()) = workspace_folders(&params);
        let _ = self.state.features.set(features);
        if let Some(options) = params.initialization_options {
            let _ = self.state.initialization_options.set(options.clone());
            handlers::configuration::apply(&self.state, Some(options)).await;
        }
        Ok(InitializeResult {
            offset_encoding: None,
            server_info: Some(ServerInfo {
                name: "promptstack".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            capabilities: ServerCapabilities {
                position_encoding: Some(match encoding {
                    ColumnEncoding::Utf8 => PositionEncodingKind::UTF8,
                    ColumnEncoding::Utf16 => PositionEncodingKind::UTF16,
                }),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        will_save: Some(true),
                        save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                            include_text: Some(true),
                        })),
                        ..Default::default()
                    },
                )),
                semantic_tokens_provider: Some(handlers::semantic_tokens::capability()),
                document_symbol_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: Default::default(),
                })),
                code_action_provider: Some(handlers::code_actions::capability()),
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                completion_provider: Some(handlers::completion::capability()),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                workspace: Some(WorkspaceServerCapabilities {
                    workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(OneOf::Left(true)),
                    }),
                    file_operations: None,
                }),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                document_link_provider: Some(DocumentLinkOptions {
                    resolve_provider: Some(false),
                    work_done_progress_options: Default::default(),
                }),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: handlers::commands::NAMES
                        .iter()
                        .map(|c| c.to_string())
                        .collect(),
                    work_done_progress_options: Default::default(),
                }),
                ..Default::default()
            },
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        if let Some(note) = &self.migration_note {
            self.client()
                .show_message(MessageType::INFO, format!("PromptStack: {note}"))
                .await;
        }
        for problem in &self.startup_problems {
            self.client()
                .show_message(
                    MessageType::WARNING,
                    format!("PromptStack config: {problem}"),
                )
                .await;
        }
        // Requests to the client run in their own task: if the client exits without answering,
        // an awaited request here would keep the protocol loop from ever finishing.
        let state = self.state.clone();
        tokio::spawn(async move { handlers::configuration::on_initialized(&state).await });
        let state = self.state.clone();
        tokio::spawn(async move { handlers::library_sync::open(&state).await });
        let state = self.state.clone();
        tokio::spawn(async move { handlers::history::open(&state).await });
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::text_sync::did_open(&self.state, params).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        handlers::text_sync::did_change(&self.state, params).await;
    }

    async fn will_save(&self, params: WillSaveTextDocumentParams) {
        handlers::library_sync::will_save(&self.state, &params.text_document.uri);
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        handlers::library_sync::did_save(&self.state, &params.text_document.uri);
        handlers::text_sync::did_save(&self.state, params).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::text_sync::did_close(&self.state, params).await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        // May ask the client for settings: off the protocol loop, for the reason in `initialized`.
        let state = self.state.clone();
        tokio::spawn(async move { handlers::configuration::did_change(&state, params).await });
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        handlers::semantic_tokens::full(&self.state, params).await
    }

    async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        handlers::semantic_tokens::range(&self.state, params).await
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        handlers::document_symbols::document_symbol(&self.state, params).await
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        handlers::rename::prepare(&self.state, params).await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        handlers::references::references(&self.state, params).await
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        handlers::rename::rename(&self.state, params).await
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        handlers::code_lens::code_lens(&self.state, params).await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        handlers::code_actions::code_action(&self.state, params).await
    }

    async fn code_action_resolve(&self, action: CodeAction) -> Result<CodeAction> {
        handlers::code_actions::resolve(&self.state, action).await
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        handlers::folding::folding_range(&self.state, params).await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        handlers::completion::completion(&self.state, params).await
    }

    async fn completion_resolve(&self, item: CompletionItem) -> Result<CompletionItem> {
        handlers::completion::resolve(&self.state, item)
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        handlers::hover::hover(&self.state, params).await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        handlers::definition::goto_definition(&self.state, params).await
    }

    async fn document_link(&self, params: DocumentLinkParams) -> Result<Option<Vec<DocumentLink>>> {
        handlers::document_links::document_link(&self.state, params).await
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        handlers::workspace_symbols::symbol(&self.state, params).await
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        handlers::file_completion::did_change_workspace_folders(&self.state, params);
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        handlers::library_sync::did_change_watched_files(&self.state, params);
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        handlers::commands::execute(&self.state, params).await
    }
}
