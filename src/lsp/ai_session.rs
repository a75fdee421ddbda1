//! What the server keeps for AI review: the provider (rebuilt when the config changes), the
//! current suggestions per document, and the review in flight per document.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::task::AbortHandle;
use tower_lsp_server::ls_types::Uri;

use crate::ai::{AiError, AiMetrics, AiProvider, Suggestion, create_provider, stats_file};
use crate::config::Config;
use crate::home::DataPaths;

/// The suggestions of a document's last review, for the version they were computed for.
#[derive(Debug, Clone)]
pub struct Review {
    pub version: i32,
    pub suggestions: Vec<Suggestion>,
}

type Built = (Config, Result<Arc<dyn AiProvider>, AiError>);

/// AI state shared by the code-action, command and diagnostics handlers.
#[derive(Default)]
pub struct AiSession {
    /// Outlives provider rebuilds, so the totals keep counting.
    metrics: OnceLock<Arc<AiMetrics>>,
    /// The provider built for a config; the error explains what is missing.
    provider: Mutex<Option<Built>>,
    reviews: Mutex<HashMap<Uri, Review>>,
    /// The review task running per document, with a ticket so only its owner untracks it.
    in_flight: Mutex<HashMap<Uri, (u64, AbortHandle)>>,
    tickets: AtomicU64,
}

impl AiSession {
    /// The metrics, saved under the data directory.
    pub fn metrics(&self, paths: &DataPaths) -> Arc<AiMetrics> {
        self.metrics
            .get_or_init(|| Arc::new(AiMetrics::persistent(stats_file(&paths.data_dir))))
            .clone()
    }

    /// The provider for `config`, built again only when the config changed.
    pub fn provider(
        &self,
        config: &Config,
        paths: &DataPaths,
    ) -> Result<Arc<dyn AiProvider>, AiError> {
        let mut built = self.provider.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((for_config, result)) = built.as_ref()
            && for_config == config
        {
            return result.clone();
        }
        let result = create_provider(config, self.metrics(paths));
        *built = Some((config.clone(), result.clone()));
        result
    }

    /// Registers `task` as the review of `uri`, aborting the one before it. Returns its ticket.
    pub fn track(&self, uri: &Uri, task: AbortHandle) -> u64 {
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        let previous = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(uri.clone(), (ticket, task));
        if let Some((_, previous)) = previous {
            previous.abort();
        }
        ticket
    }

    /// Forgets a finished review task (unless a newer one replaced it).
    pub fn untrack(&self, uri: &Uri, ticket: u64) {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if in_flight.get(uri).is_some_and(|(t, _)| *t == ticket) {
            in_flight.remove(uri);
        }
    }

    /// Stores a finished review, replacing the previous one.
    pub fn set_review(&self, uri: Uri, review: Review) {
        self.reviews
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(uri, review);
    }

    /// The suggestions still valid at `version` (a changed document has none: their lines moved).
    pub fn current(&self, uri: &Uri, version: i32) -> Vec<Suggestion> {
        self.reviews
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(uri)
            .filter(|r| r.version == version)
            .map(|r| r.suggestions.clone())
            .unwrap_or_default()
    }

    /// One current suggestion by id.
    pub fn suggestion(&self, uri: &Uri, version: i32, id: &str) -> Option<Suggestion> {
        self.current(uri, version).into_iter().find(|s| s.id == id)
    }

    /// Removes one suggestion; whether it was there.
    pub fn dismiss(&self, uri: &Uri, id: &str) -> bool {
        let mut reviews = self.reviews.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(review) = reviews.get_mut(uri) else {
            return false;
        };
        let before = review.suggestions.len();
        review.suggestions.retain(|s| s.id != id);
        before != review.suggestions.len()
    }

    /// A closed document: abort its review (dropping the HTTP request) and drop its suggestions.
    pub fn forget(&self, uri: &Uri) {
        if let Some((_, task)) = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uri)
        {
            task.abort();
        }
        self.reviews
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uri);
    }
}
