//! Wrappers that add retry, timeout, caching, logging and metrics to any [`AiProvider`].
//! [`stack`] composes them: logging → metrics → cache → retry → timeout → provider, so a cache
//! hit skips the network, each attempt gets its own timeout, and logs see the whole call.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AiError, AiFuture, AiProvider, Answer, LineEdit, ReviewRequest, Suggestion};
use crate::config::Config;

/// Wraps `base` in the full middleware stack configured by `config`.
pub fn stack(
    base: Arc<dyn AiProvider>,
    config: &Config,
    metrics: Arc<AiMetrics>,
) -> Arc<dyn AiProvider> {
    let timed = Arc::new(Timeout::new(
        base,
        Duration::from_secs(config.timeout_secs.max(1)),
    ));
    let retried = Arc::new(Retry::new(timed, config.max_retries));
    let cached = Arc::new(Cache::new(retried, CACHE_CAPACITY));
    let metered = Arc::new(Metered::new(cached, metrics));
    Arc::new(Logged::new(metered))
}

/// Answers kept by the cache of one provider stack.
const CACHE_CAPACITY: usize = 256;

/// Which call; for logs, metrics and cache keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Review,
    Apply,
}

impl Method {
    /// `review` or `apply`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Review => "review",
            Method::Apply => "apply",
        }
    }
}

/// Retries transient failures (network, 429, 5xx) with exponential backoff; never 4xx auth or
/// bad-request errors, nor unusable answers (asking again costs money and rarely helps).
#[derive(Debug)]
pub struct Retry {
    inner: Arc<dyn AiProvider>,
    attempts: u32,
    base_delay: Duration,
}

/// A `Retry-After` longer than this is reported to the user instead of waited out.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

impl Retry {
    /// At most `attempts` calls in total (at least one), waiting 1 s, 2 s, 4 s, ... between them.
    pub fn new(inner: Arc<dyn AiProvider>, attempts: u32) -> Self {
        Retry {
            inner,
            attempts: attempts.max(1),
            base_delay: Duration::from_secs(1),
        }
    }

    async fn run<'a, T>(
        &'a self,
        method: Method,
        call: impl Fn() -> AiFuture<'a, T>,
    ) -> Result<Answer<T>, AiError> {
        let mut attempt = 0;
        loop {
            let error = match call().await {
                Ok(answer) => return Ok(answer),
                Err(e) => e,
            };
            attempt += 1;
            let retry_after = match &error {
                AiError::RateLimited { retry_after, .. } | AiError::Server { retry_after, .. } => {
                    *retry_after
                }
                AiError::Network { .. } => None,
                _ => return Err(error),
            };
            if attempt >= self.attempts || retry_after.is_some_and(|d| d > MAX_RETRY_AFTER) {
                return Err(error);
            }
            let delay =
                retry_after.unwrap_or_else(|| self.base_delay * 2u32.saturating_pow(attempt - 1));
            tracing::info!(
                method = method.as_str(),
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = error.kind(),
                "retrying AI request"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

impl AiProvider for Retry {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn review<'a>(&'a self, request: &'a ReviewRequest) -> AiFuture<'a, Vec<Suggestion>> {
        Box::pin(self.run(Method::Review, move || self.inner.review(request)))
    }

    fn apply<'a>(
        &'a self,
        composition: &'a str,
        suggestion: &'a Suggestion,
    ) -> AiFuture<'a, Vec<LineEdit>> {
        Box::pin(self.run(Method::Apply, move || {
            self.inner.apply(composition, suggestion)
        }))
    }
}

/// Bounds each call; the dropped call closes its connection.
#[derive(Debug)]
pub struct Timeout {
    inner: Arc<dyn AiProvider>,
    after: Duration,
}

impl Timeout {
    /// Fails calls that take longer than `after`.
    pub fn new(inner: Arc<dyn AiProvider>, after: Duration) -> Self {
        Timeout { inner, after }
    }

    async fn run<T>(&self, call: AiFuture<'_, T>) -> Result<Answer<T>, AiError> {
        tokio::time::timeout(self.after, call)
            .await
            .unwrap_or_else(|_| {
                Err(AiError::Timeout {
                    provider: self.inner.name().to_string(),
                    after: self.after,
                })
            })
    }
}

impl AiProvider for Timeout {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn review<'a>(&'a self, request: &'a ReviewRequest) -> AiFuture<'a, Vec<Suggestion>> {
        Box::pin(self.run(self.inner.review(request)))
    }

    fn apply<'a>(
        &'a self,
        composition: &'a str,
        suggestion: &'a Suggestion,
    ) -> AiFuture<'a, Vec<LineEdit>> {
        Box::pin(self.run(self.inner.apply(composition, suggestion)))
    }
}

#[derive(Debug, Clone)]
enum Cached {
    Review(Vec<Suggestion>),
    Apply(Vec<LineEdit>),
}

#[derive(Debug, Default)]
struct CacheState {
    entries: HashMap<[u8; 32], (Cached, u64)>,
    tick: u64,
}

/// Remembers successful answers, keyed by provider, model, method and a SHA-256 of the request;
/// the least recently used entry goes when full.
#[derive(Debug)]
pub struct Cache {
    inner: Arc<dyn AiProvider>,
    capacity: usize,
    state: Mutex<CacheState>,
}

impl Cache {
    /// Keeps at most `capacity` answers.
    pub fn new(inner: Arc<dyn AiProvider>, capacity: usize) -> Self {
        Cache {
            inner,
            capacity: capacity.max(1),
            state: Mutex::new(CacheState::default()),
        }
    }

    fn key(&self, method: Method, parts: &[&[u8]]) -> [u8; 32] {
        let mut hash = Sha256::new();
        for part in [
            self.inner.name().as_bytes(),
            self.inner.model().as_bytes(),
            method.as_str().as_bytes(),
        ]
        .into_iter()
        .chain(parts.iter().copied())
        {
            // Length-prefixed so that part boundaries cannot collide.
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        hash.finalize().into()
    }

    fn get(&self, key: &[u8; 32]) -> Option<Cached> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.tick += 1;
        let tick = state.tick;
        let (value, used) = state.entries.get_mut(key)?;
        *used = tick;
        Some(value.clone())
    }

    fn put(&self, key: [u8; 32], value: Cached) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.tick += 1;
        let tick = state.tick;
        if state.entries.len() >= self.capacity && !state.entries.contains_key(&key) {
            let oldest = state
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                state.entries.remove(&oldest);
            }
        }
        state.entries.insert(key, (value, tick));
    }
}

fn hit<T>(value: T) -> Answer<T> {
    Answer {
        value,
        usage: Default::default(),
        cached: true,
    }
}

impl AiProvider for Cache {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn review<'a>(&'a self, request: &'a ReviewRequest) -> AiFuture<'a, Vec<Suggestion>> {
        Box::pin(async move {
            let body = serde_json::to_vec(request).unwrap_or_default();
            let key = self.key(Method::Review, &[&body]);
            if !request.fresh
                && let Some(Cached::Review(value)) = self.get(&key)
            {
                return Ok(hit(value));
            }
            let answer = self.inner.review(request).await?;
            self.put(key, Cached::Review(answer.value.clone()));
            Ok(answer)
        })
    }

    fn apply<'a>(
        &'a self,
        composition: &'a str,
        suggestion: &'a Suggestion,
    ) -> AiFuture<'a, Vec<LineEdit>> {
        Box::pin(async move {
            let accepted = serde_json::to_vec(suggestion).unwrap_or_default();
            let key = self.key(Method::Apply, &[composition.as_bytes(), &accepted]);
            if let Some(Cached::Apply(value)) = self.get(&key) {
                return Ok(hit(value));
            }
            let answer = self.inner.apply(composition, suggestion).await?;
            self.put(key, Cached::Apply(answer.value.clone()));
            Ok(answer)
        })
    }
}

/// Counts per method: what `promptstack.ai.stats` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MethodStats {
    pub calls: u64,
    pub cache_hits: u64,
    pub errors: u64,
    /// Error kind (`rate_limited`, `timeout`, ...) → count.
    pub errors_by_kind: BTreeMap<String, u64>,
    pub total_latency_ms: u64,
    pub max_latency_ms: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A snapshot of the AI metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AiStats {
    pub methods: BTreeMap<Method, MethodStats>,
}

impl AiStats {
    /// Reads a snapshot written by [`AiMetrics::persistent`]; none yet is empty stats.
    pub fn load(path: &Path) -> std::io::Result<AiStats> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AiStats::default()),
            Err(e) => Err(e),
        }
    }
}

/// Where the running totals are kept under the data directory.
pub fn stats_file(data_dir: &Path) -> PathBuf {
    data_dir.join("ai-stats.json")
}

/// Collects counts, latencies and errors of AI calls; shared across provider rebuilds.
#[derive(Debug, Default)]
pub struct AiMetrics {
    stats: Mutex<AiStats>,
    /// Totals are saved here after each call, so `promptstack ai stats` can show them.
    file: Option<PathBuf>,
}

impl AiMetrics {
    /// Empty metrics kept in memory only.
    pub fn new() -> Self {
        AiMetrics::default()
    }

    /// Metrics continuing the totals saved in `file` (see [`stats_file`]) and saving them there.
    /// Processes running at once each save their own view; the last write wins.
    pub fn persistent(file: PathBuf) -> Self {
        let stats = AiStats::load(&file).unwrap_or_else(|e| {
            tracing::warn!(file = %file.display(), "cannot read AI stats, starting afresh: {e}");
            AiStats::default()
        });
        AiMetrics {
            stats: Mutex::new(stats),
            file: Some(file),
        }
    }

    /// A copy of the current numbers.
    pub fn stats(&self) -> AiStats {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record<T>(&self, method: Method, latency: Duration, result: &Result<Answer<T>, AiError>) {
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = stats.methods.entry(method).or_default();
        let ms = latency.as_millis() as u64;
        entry.calls += 1;
        entry.total_latency_ms += ms;
        entry.max_latency_ms = entry.max_latency_ms.max(ms);
        match result {
            Ok(answer) => {
                entry.cache_hits += u64::from(answer.cached);
                entry.input_tokens += answer.usage.input_tokens;
                entry.output_tokens += answer.usage.output_tokens;
            }
            Err(e) => {
                entry.errors += 1;
                *entry
                    .errors_by_kind
                    .entry(e.kind().to_string())
                    .or_default() += 1;
            }
        }
        if let Some(file) = &self.file {
            // A few hundred bytes after a call that took seconds; written under the lock so
            // snapshots land in order.
            let saved = serde_json::to_vec_pretty(&*stats)
                .map_err(std::io::Error::other)
                .and_then(|json| crate::home::write_atomic(file, &json));
            if let Err(e) = saved {
                tracing::warn!(file = %file.display(), "cannot save AI stats: {e}");
            }
        }
    }
}

/// Records every call into [`AiMetrics`].
#[derive(Debug)]
pub struct Metered {
    inner: Arc<dyn AiProvider>,
    metrics: Arc<AiMetrics>,
}

impl Metered {
    /// Records into `metrics`.
    pub fn new(inner: Arc<dyn AiProvider>, metrics: Arc<AiMetrics>) -> Self {
        Metered { inner, metrics }
    }

    async fn run<T>(&self, method: Method, call: AiFuture<'_, T>) -> Result<Answer<T>, AiError> {
        let started = Instant::now();
        let result = call.await;
        self.metrics.record(method, started.elapsed(), &result);
        result
    }
}

impl AiProvider for Metered {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn review<'a>(&'a self, request: &'a ReviewRequest) -> AiFuture<'a, Vec<Suggestion>> {
        Box::pin(self.run(Method::Review, self.inner.review(request)))
    }

    fn apply<'a>(
        &'a self,
        composition: &'a str,
        suggestion: &'a Suggestion,
    ) -> AiFuture<'a, Vec<LineEdit>> {
        Box::pin(self.run(Method::Apply, self.inner.apply(composition, suggestion)))
    }
}

/// Logs each call (method, provider, model, latency, outcome, tokens) through `tracing`; never
/// keys, never bodies.
#[derive(Debug)]
pub struct Logged {
    inner: Arc<dyn AiProvider>,
}

impl Logged {
    /// Logs calls to `inner`.
    pub fn new(inner: Arc<dyn AiProvider>) -> Self {
        Logged { inner }
    }

    async fn run<T>(&self, method: Method, call: AiFuture<'_, T>) -> Result<Answer<T>, AiError> {
        let started = Instant::now();
        let result = call.await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let (provider, model, method) = (self.inner.name(), self.inner.model(), method.as_str());
        match &result {
            Ok(answer) => tracing::info!(
                method,
                provider,
                model,
                latency_ms,
                status = "ok",
                cached = answer.cached,
                input_tokens = answer.usage.input_tokens,
                output_tokens = answer.usage.output_tokens,
                "AI call"
            ),
            Err(e) => tracing::warn!(
                method,
                provider,
                model,
                latency_ms,
                status = e.kind(),
                error = %e,
                "AI call failed"
            ),
        }
        result
    }
}

impl AiProvider for Logged {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn review<'a>(&'a self, request: &'a ReviewRequest) -> AiFuture<'a, Vec<Suggestion>> {
        Box::pin(self.run(Method::Review, self.inner.review(request)))
    }

    fn apply<'a>(
        &'a self,
        composition: &'a str,
        suggestion: &'a Suggestion,
    ) -> AiFuture<'a, Vec<LineEdit>> {
        Box::pin(self.run(Method::Apply, self.inner.apply(composition, suggestion)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::ai::{SuggestionKind, Usage};

    /// An inner provider that fails with scripted errors, then succeeds; for backoff timing under
    /// a paused clock, where a real socket would race the auto-advancing timers.
    #[derive(Debug)]
    struct Scripted {
        errors: Mutex<VecDeque<AiError>>,
        calls: Mutex<Vec<tokio::time::Instant>>,
    }

    impl Scripted {
        fn new(errors: Vec<AiError>) -> Arc<Self> {
            Arc::new(Scripted {
                errors: Mutex::new(errors.into()),
                calls: Mutex::new(Vec::new()),
            })
        }

        /// Seconds between consecutive calls.
        fn gaps(&self) -> Vec<u64> {
            let calls = self.calls.lock().unwrap();
            calls.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect()
        }

        fn next(&self) -> Result<(), AiError> {
            self.calls.lock().unwrap().push(tokio::time::Instant::now());
            match self.errors.lock().unwrap().pop_front() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
    }

    impl AiProvider for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }

        fn model(&self) -> &str {
            "m"
        }

        fn review<'a>(&'a self, _: &'a ReviewRequest) -> AiFuture<'a, Vec<Suggestion>> {
            Box::pin(async move {
                self.next()?;
                Ok(Answer::new(
                    vec![Suggestion {
                        id: "s-1".into(),
                        kind: SuggestionKind::Gap,
                        title: "t".into(),
                        description: "d".into(),
                        start_line: 1,
                        end_line: 1,
                        prompt_id: None,
                    }],
                    Usage::default(),
                ))
            })
        }

        fn apply<'a>(&'a self, _: &'a str, _: &'a Suggestion) -> AiFuture<'a, Vec<LineEdit>> {
            Box::pin(async move {
                self.next()?;
                Ok(Answer::new(Vec::new(), Usage::default()))
            })
        }
    }

    fn server_error(retry_after: Option<u64>) -> AiError {
        AiError::Server {
            provider: "scripted".into(),
            status: 503,
            message: "busy".into(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    fn request() -> ReviewRequest {
        ReviewRequest {
            composition: "x".into(),
            context: vec![],
            fresh: false,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_and_stops_after_the_attempts() {
        let inner = Scripted::new(vec![server_error(None); 5]);
        let retry = Retry::new(inner.clone(), 5);
        let err = retry.review(&request()).await.unwrap_err();
        assert_eq!(err, server_error(None));
        assert_eq!(inner.gaps(), [1, 2, 4, 8]);

        let inner = Scripted::new(vec![server_error(None), server_error(None)]);
        let retry = Retry::new(inner.clone(), 3);
        assert!(retry.review(&request()).await.is_ok());
        assert_eq!(inner.gaps(), [1, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_unless_too_long() {
        let inner = Scripted::new(vec![server_error(Some(7))]);
        assert!(
            Retry::new(inner.clone(), 3)
                .review(&request())
                .await
                .is_ok()
        );
        assert_eq!(inner.gaps(), [7]);

        let inner = Scripted::new(vec![server_error(Some(3600))]);
        assert!(
            Retry::new(inner.clone(), 3)
                .review(&request())
                .await
                .is_err()
        );
        assert_eq!(inner.calls.lock().unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn client_errors_and_unusable_answers_are_not_retried() {
        for error in [
            AiError::Unauthorized {
                provider: "p".into(),
                status: 403,
                hint: "h".into(),
                message: "m".into(),
            },
            AiError::Refused {
                provider: "p".into(),
                status: 400,
                message: "m".into(),
            },
            AiError::UnusableAnswer("x".into()),
        ] {
            let inner = Scripted::new(vec![error.clone()]);
            let retry = Retry::new(inner.clone(), 3);
            assert_eq!(retry.apply("x", &suggestion()).await.unwrap_err(), error);
            assert_eq!(inner.calls.lock().unwrap().len(), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_bounds_each_call() {
        #[derive(Debug)]
        struct Never;
        impl AiProvider for Never {
            fn name(&self) -> &str {
                "never"
            }
            fn model(&self) -> &str {
                "m"
            }
            fn review<'a>(&'a self, _: &'a ReviewRequest) -> AiFuture<'a, Vec<Suggestion>> {
                Box::pin(std::future::pending())
            }
            fn apply<'a>(&'a self, _: &'a str, _: &'a Suggestion) -> AiFuture<'a, Vec<LineEdit>> {
                Box::pin(std::future::pending())
            }
        }
        let timed = Timeout::new(Arc::new(Never), Duration::from_secs(60));
        let started = tokio::time::Instant::now();
        let err = timed.review(&request()).await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        assert_eq!(err.to_string(), "never did not answer within 60 s");
    }

    fn suggestion() -> Suggestion {
        Suggestion {
            id: "s-1".into(),
            kind: SuggestionKind::Clarity,
            title: "t".into(),
            description: "d".into(),
            start_line: 1,
            end_line: 1,
            prompt_id: None,
        }
    }

    #[tokio::test]
    async fn cache_is_keyed_by_request_and_bounded() {
        let inner = Scripted::new(vec![]);
        let cache = Cache::new(inner.clone(), 2);
        let texts = ["a", "b", "a", "c", "b", "a"];
        let mut cached = Vec::new();
        for text in texts {
            let request = ReviewRequest {
                composition: text.into(),
                context: vec![],
                fresh: false,
            };
            cached.push(cache.review(&request).await.unwrap().cached);
        }
        // a, b miss; a hits; c evicts b (least recently used); b misses and evicts a; a misses.
        assert_eq!(cached, [false, false, true, false, false, false]);
        assert!(cache.apply("a", &suggestion()).await.is_ok());
        assert!(cache.apply("a", &suggestion()).await.unwrap().cached);
        // A fresh request asks again, and what it gets serves the next plain request.
        let mut fresh = request();
        fresh.fresh = true;
        assert!(!cache.review(&fresh).await.unwrap().cached);
        assert!(!cache.review(&fresh).await.unwrap().cached);
        assert!(cache.review(&request()).await.unwrap().cached);
    }

    #[tokio::test]
    async fn metrics_count_calls_errors_and_hits() {
        let metrics = Arc::new(AiMetrics::new());
        let inner = Scripted::new(vec![AiError::UnusableAnswer("x".into())]);
        let metered = Metered::new(Arc::new(Cache::new(inner, 4)), metrics.clone());
        for _ in 0..3 {
            let _ = metered.review(&request()).await;
        }
        let stats = metrics.stats();
        let review = &stats.methods[&Method::Review];
        assert_eq!((review.calls, review.errors, review.cache_hits), (3, 1, 1));
        assert_eq!(review.errors_by_kind["unusable_answer"], 1);
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["methods"]["review"]["calls"], 3);
    }

    #[tokio::test]
    async fn persistent_metrics_continue_the_saved_totals() {
        let dir = tempfile::tempdir().unwrap();
        let file = stats_file(dir.path());
        assert_eq!(AiStats::load(&file).unwrap(), AiStats::default());
        for expected in [1, 2] {
            let metrics = Arc::new(AiMetrics::persistent(file.clone()));
            let metered = Metered::new(Scripted::new(vec![]), metrics);
            metered.apply("x", &suggestion()).await.unwrap();
            let saved = AiStats::load(&file).unwrap();
            assert_eq!(saved.methods[&Method::Apply].calls, expected);
        }
    }
}
