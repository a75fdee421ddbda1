//! Document-sized work off the protocol loop. A request takes its snapshot of the document
//! (a cheap rope clone) when it starts, so it sees the text its positions refer to, then parses
//! on the blocking pool (the text and its line index are built once per revision and shared).
//! The work gives up as soon as the request is cancelled (tower-lsp drops the future on
//! `$/cancelRequest`, which raises the flag here) or the document changes (the answer would
//! describe text the editor no longer shows: `ContentModified`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tower_lsp_server::jsonrpc::{self, ErrorCode};
use tower_lsp_server::ls_types::Uri;

use super::convert::{IndexedText, internal_error, not_open};
use super::state::ServerState;
use crate::document::DocumentKind;

/// How many items long loops produce between two [`Interrupt::check`]s.
pub const CHECK_EVERY: usize = 4096;

/// Asks long work whether to carry on.
pub struct Interrupt {
    cancelled: Arc<AtomicBool>,
    state: Arc<ServerState>,
    uri: Uri,
    revision: u64,
}

impl Interrupt {
    /// `Err` once the request was cancelled or the document moved on. Call it between stages
    /// and every few thousand items.
    pub fn check(&self) -> jsonrpc::Result<()> {
        if self.cancelled.load(Ordering::Relaxed) {
            let mut error = jsonrpc::Error::request_cancelled();
            error.message = "the request was cancelled".into();
            return Err(error);
        }
        let current = self
            .state
            .read_documents()
            .get(&self.uri)
            .map(|d| d.revision());
        if current != Some(self.revision) {
            let mut error = jsonrpc::Error::content_modified();
            error.message = "the document changed while this request ran".into();
            return Err(error);
        }
        Ok(())
    }
}

/// Raises the flag when the request's future is dropped before the work finished.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What the work sees: the text with its line index, and what kind of document it is.
pub struct Snapshot<'a> {
    pub indexed: IndexedText<'a>,
    pub kind: DocumentKind,
    pub version: i32,
}

impl Snapshot<'_> {
    pub fn text(&self) -> &str {
        self.indexed.text
    }
}

/// Runs `work` on the blocking pool against the open document `uri`, as it is now.
pub async fn on_document<T: Send + 'static>(
    state: &Arc<ServerState>,
    uri: &Uri,
    work: impl FnOnce(&Snapshot<'_>, &Interrupt) -> jsonrpc::Result<T> + Send + 'static,
) -> jsonrpc::Result<T> {
    let document = state
        .read_documents()
        .get(uri)
        .cloned()
        .ok_or_else(|| not_open(uri))?;
    let cancelled = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(cancelled.clone());
    let interrupt = Interrupt {
        cancelled,
        state: state.clone(),
        uri: uri.clone(),
        revision: document.revision(),
    };
    let encoding = state.encoding();
    tokio::task::spawn_blocking(move || {
        let result = interrupt.check().and_then(|()| {
            let (text, index) = document.indexed();
            let snapshot = Snapshot {
                indexed: IndexedText::with_index(&text, index, encoding),
                kind: document.kind,
                version: document.version,
            };
            let answer = work(&snapshot, &interrupt)?;
            interrupt.check().map(|()| answer)
        });
        if let Err(e) = &result
            && matches!(
                e.code,
                ErrorCode::RequestCancelled | ErrorCode::ContentModified
            )
        {
            tracing::debug!("stopped work on {}: {}", interrupt.uri.as_str(), e.message);
        }
        result
    })
    .await
    .map_err(|e| internal_error(format!("the request's work failed: {e}")))?
}
