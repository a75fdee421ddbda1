//! What the server keeps for AI review: the provider (rebuilt when the config changes), the
//! current suggestions per document, the review in flight per document, dismissed suggestions,
//! and the edits handed to the client that have not been applied yet.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::task::AbortHandle;
use tower_lsp_server::ls_types::Uri;

use crate::ai::{
    AiError, AiMetrics, AiProvider, KeywordCache, Suggestion, create_provider, stats_file,
};
use crate::config::Config;
use crate::home::DataPaths;

/// The suggestions of a document's last review, for the version they were computed for.
#[derive(Debug, Clone)]
pub struct Review {
    pub version: i32,
    pub suggestions: Vec<Suggestion>,
}

type Built = (Config, Result<Arc<dyn AiProvider>, AiError>);

/// An `Apply` whose edit was handed to the client: it counts as accepted once the document
/// becomes `expected` (the edit applied) or the client runs the action's command.
#[derive(Debug, Clone)]
struct PendingAcceptance {
    /// The suggestion whose edit it is.
    suggestion: Suggestion,
    /// Hash of the text the edit produces.
    expected: u64,
    /// The document version the edit is for.
    version: i32,
}

/// Changes after which an edit handed out is no longer watched for: a versioned edit applies
/// to its version only, and even an edit of many parts arrives in a few changes.
const PENDING_VERSIONS: i32 = 16;

/// Dismissed suggestion ids per text (by hash), so a new review of the same text keeps them
/// away. A handful of texts per document is plenty (undo back to an earlier text).
type Dismissed = HashMap<u64, HashSet<String>>;
const DISMISSED_TEXTS: usize = 16;

/// AI state shared by the code-action, command and diagnostics handlers.
#[derive(Default)]
pub struct AiSession {
    /// Outlives provider rebuilds, so the totals keep counting.
    metrics: OnceLock<Arc<AiMetrics>>,
    /// The provider built for a config; the error explains what is missing.
    provider: Mutex<Option<Built>>,
    reviews: Mutex<HashMap<Uri, Review>>,
    dismissed: Mutex<HashMap<Uri, Dismissed>>,
    /// Per document, by suggestion id.
    pending: Mutex<HashMap<Uri, HashMap<String, PendingAcceptance>>>,
    /// The review task running per document, with a ticket so only its owner untracks it.
    in_flight: Mutex<HashMap<Uri, (u64, AbortHandle)>>,
    tickets: AtomicU64,
    /// Library prompts' words, read once per version for every review's context.
    keywords: Arc<KeywordCache>,
}

impl AiSession {
    /// The library prompts' words kept across reviews.
    pub fn keywords(&self) -> Arc<KeywordCache> {
        self.keywords.clone()
    }

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

    /// Stores a finished review of `text`, replacing the previous one; suggestions dismissed for
    /// this same text stay out. Returns how many are kept.
    pub fn set_review(&self, uri: Uri, mut review: Review, text: &str) -> usize {
        if let Some(ids) = self
            .dismissed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&uri)
            .and_then(|texts| texts.get(&text_hash(text)))
        {
            review.suggestions.retain(|s| !ids.contains(&s.id));
        }
        let kept = review.suggestions.len();
        self.reviews
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(uri, review);
        kept
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

    /// Removes one suggestion, and keeps it out of later reviews of `text`; whether it was there.
    pub fn dismiss(&self, uri: &Uri, id: &str, text: &str) -> bool {
        {
            let mut dismissed = self
                .dismissed
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let texts = dismissed.entry(uri.clone()).or_default();
            if texts.len() >= DISMISSED_TEXTS && !texts.contains_key(&text_hash(text)) {
                texts.clear();
            }
            texts
                .entry(text_hash(text))
                .or_default()
                .insert(id.to_string());
        }
        let mut reviews = self.reviews.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(review) = reviews.get_mut(uri) else {
            return false;
        };
        let before = review.suggestions.len();
        review.suggestions.retain(|s| s.id != id);
        before != review.suggestions.len()
    }

    /// Remembers that the client got `suggestion`'s edit of `version`, which turns the document
    /// into `expected`.
    pub fn expect_acceptance(
        &self,
        uri: &Uri,
        version: i32,
        suggestion: Suggestion,
        expected: &str,
    ) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(uri.clone())
            .or_default()
            .insert(
                suggestion.id.clone(),
                PendingAcceptance {
                    suggestion,
                    expected: text_hash(expected),
                    version,
                },
            );
    }

    /// Whether an edit handed out for `uri` may still be applied at `version`; forgets those
    /// that can no longer be.
    pub fn awaits_acceptance(&self, uri: &Uri, version: i32) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(waiting) = pending.get_mut(uri) else {
            return false;
        };
        waiting.retain(|_, p| version.saturating_sub(p.version) <= PENDING_VERSIONS);
        !waiting.is_empty()
    }

    /// The suggestions whose edit `text` is the result of, taken (each is accepted once).
    pub fn accepted_by_text(&self, uri: &Uri, text: &str) -> Vec<Suggestion> {
        let hash = text_hash(text);
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(waiting) = pending.get_mut(uri) else {
            return Vec::new();
        };
        let ids: Vec<String> = waiting
            .iter()
            .filter(|(_, p)| p.expected == hash)
            .map(|(id, _)| id.clone())
            .collect();
        ids.iter()
            .filter_map(|id| waiting.remove(id))
            .map(|p| p.suggestion)
            .collect()
    }

    /// The pending suggestion `id`, taken: the client says it applied its edit.
    pub fn take_acceptance(&self, uri: &Uri, id: &str) -> Option<Suggestion> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(uri)?
            .remove(id)
            .map(|p| p.suggestion)
    }

    /// A closed document: abort its review (dropping the HTTP request) and drop its suggestions
    /// and pending edits.
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
        // Dismissals outlive the document: reopening the same text must not bring them back.
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uri);
    }
}

/// A hash of a document's text, to recognise the same text again within this process.
fn text_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}
