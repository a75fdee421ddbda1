//! Diagnostics: library rules for library files, size limits for compositions. Debounced, and
//! computed off the protocol loop; a run whose document changed meanwhile is dropped.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::*;

use crate::document::{ColumnEncoding, DocumentKind, MAX_FILE_BYTES, links};
use crate::formats;
use crate::library::validation::{self, Finding, Severity};
use crate::lsp::convert::IndexedText;
use crate::lsp::state::ServerState;

pub const SOURCE: &str = "promptstack";

/// Computes and publishes diagnostics for `uri` after `delay`, unless a newer change arrives.
pub fn schedule(state: &Arc<ServerState>, uri: Uri, delay: Duration) {
    let generation = state.next_generation(&uri);
    let state = state.clone();
    tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if !state.is_current_generation(&uri, generation) {
            return;
        }
        let Some((text, version, kind)) = state.snapshot(&uri) else {
            return;
        };
        let encoding = state.encoding();
        // AI suggestions join the set (a client keeps one list per document and server).
        let ai = super::ai_review::diagnostics_for(&state, &uri, &text, version);
        let path = crate::lsp::convert::uri_to_path(&uri);
        let computed =
            tokio::task::spawn_blocking(move || compute(&text, kind, encoding, path.as_deref()))
                .await;
        let mut diagnostics = match computed {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("diagnostics task failed: {e}");
                return;
            }
        };
        diagnostics.extend(ai);
        if state.is_current_generation(&uri, generation) {
            state
                .client
                .publish_diagnostics(uri, diagnostics, Some(version))
                .await;
            // The size lens is computed on request; ask the editor to re-request it now that the
            // text has settled, or it keeps showing the counts of the first render.
            if kind == DocumentKind::Composition
                && state.features().code_lens_refresh
                && let Err(e) = state.client.code_lens_refresh().await
            {
                tracing::debug!("codeLens refresh refused: {e}");
            }
        }
    });
}

/// The diagnostics for a document's text; its `path` names an agent file's format and resolves
/// file links. Blocking: link checks read file metadata, `applyTo` checks list the workspace.
pub fn compute(
    text: &str,
    kind: DocumentKind,
    encoding: ColumnEncoding,
    path: Option<&Path>,
) -> Vec<Diagnostic> {
    let indexed = IndexedText::new(text, encoding);
    let dir = path.and_then(Path::parent);
    match kind {
        DocumentKind::AgentFile => {
            let Some((path, format)) = path.and_then(|p| Some((p, formats::detect(p)?))) else {
                return Vec::new();
            };
            let context = formats::rules::Context {
                path,
                workspace_root: formats::rules::workspace_root_of(path),
            };
            formats::rules::validate(format, text, &context)
                .iter()
                .map(|f| to_diagnostic(&indexed, f))
                .collect()
        }
        DocumentKind::LibraryPrompt => validation::validate_prompt(text)
            .iter()
            .map(|f| to_diagnostic(&indexed, f))
            .collect(),
        DocumentKind::Composition if text.len() <= MAX_FILE_BYTES => dir
            .map(|dir| links::check(text, dir))
            .unwrap_or_default()
            .iter()
            .map(|problem| Diagnostic {
                range: indexed.range(&problem.range),
                severity: Some(DiagnosticSeverity::WARNING),
                code: Some(NumberOrString::String(problem.code().into())),
                source: Some(SOURCE.into()),
                message: problem.message(),
                ..Default::default()
            })
            .collect(),
        DocumentKind::Composition => vec![Diagnostic {
            range: indexed.range(&(0..0)),
            severity: Some(DiagnosticSeverity::WARNING),
            code: Some(NumberOrString::String("file-too-large".into())),
            source: Some(SOURCE.into()),
            message: format!(
                "this composition is {:.1} MB; PromptStack handles prompts up to 1 MB, so AI review and history skip it",
                text.len() as f64 / (1024.0 * 1024.0)
            ),
            ..Default::default()
        }],
        DocumentKind::Other => Vec::new(),
    }
}

/// One validation finding as a diagnostic.
pub fn to_diagnostic(indexed: &IndexedText<'_>, finding: &Finding) -> Diagnostic {
    Diagnostic {
        range: indexed.range(&finding.range),
        severity: Some(match finding.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Hint => DiagnosticSeverity::HINT,
        }),
        code: Some(NumberOrString::String(finding.code.into())),
        source: Some(SOURCE.into()),
        message: finding.message.clone(),
        ..Default::default()
    }
}
