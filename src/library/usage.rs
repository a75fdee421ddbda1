//! Prompt usage stats (use count, last use), fed by `PromptUsed` events, persisted in `data/usage`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::events::{DomainEvent, EventHandler};
use crate::home::write_atomic;

/// How often and how recently one prompt was used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEntry {
    pub count: u64,
    /// Seconds since the Unix epoch.
    pub last_used: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct UsageFile {
    version: u32,
    prompts: HashMap<String, UsageEntry>,
}

const USAGE_FILE_VERSION: u32 = 1;

/// Usage stats shared by the ranking and the event handler.
#[derive(Debug)]
pub struct UsageStats {
    path: PathBuf,
    entries: RwLock<HashMap<String, UsageEntry>>,
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl UsageStats {
    /// Loads `path`; a missing file is empty stats, an unreadable one is logged and starts empty
    /// (usage only affects ranking, so it must never stop the library from opening).
    pub fn load(path: &Path) -> Self {
        let entries = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<UsageFile>(&bytes) {
                Ok(file) => file.prompts,
                Err(e) => {
                    tracing::warn!("ignoring unreadable usage file {}: {e}", path.display());
                    HashMap::new()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(e) => {
                tracing::warn!("cannot read usage file {}: {e}", path.display());
                HashMap::new()
            }
        };
        UsageStats {
            path: path.to_path_buf(),
            entries: RwLock::new(entries),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, UsageEntry>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one use of `id` at `now` and persists the stats atomically. Blocking (fsync).
    pub fn record(&self, id: &str, now: i64) -> std::io::Result<()> {
        let bytes = {
            let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
            let entry = entries.entry(id.to_string()).or_default();
            entry.count += 1;
            entry.last_used = now;
            serde_json::to_vec_pretty(&UsageFile {
                version: USAGE_FILE_VERSION,
                prompts: entries.clone(),
            })?
        };
        write_atomic(&self.path, &bytes)
    }

    /// The stats of one prompt.
    pub fn get(&self, id: &str) -> Option<UsageEntry> {
        self.read().get(id).copied()
    }

    /// Every used prompt, most used first (ties: most recent first, then id).
    pub fn ranked(&self) -> Vec<(String, UsageEntry)> {
        let mut all: Vec<_> = self.read().iter().map(|(k, v)| (k.clone(), *v)).collect();
        all.sort_by(|a, b| {
            b.1.count
                .cmp(&a.1.count)
                .then(b.1.last_used.cmp(&a.1.last_used))
                .then(a.0.cmp(&b.0))
        });
        all
    }

    /// The factor a prompt's search score is multiplied by:
    ///
    /// `factor = 1 + 0.25·ln(1 + count) + 0.5·0.5^(days since last use / 7)`
    ///
    /// so usage reorders close matches (10 uses ≈ ×1.6, used today ≈ +0.5) without lifting a
    /// poor text match over a good one; the recency part halves every week.
    pub fn boost(&self, id: &str, now: i64) -> f32 {
        match self.get(id) {
            None => 1.0,
            Some(e) => {
                let days = (now - e.last_used).max(0) as f32 / 86_400.0;
                1.0 + 0.25 * (1.0 + e.count as f32).ln() + 0.5 * 0.5f32.powf(days / 7.0)
            }
        }
    }
}

/// The event handler that records `PromptUsed` into [`UsageStats`].
pub struct UsageHandler(pub Arc<UsageStats>);

impl EventHandler for UsageHandler {
    fn name(&self) -> &'static str {
        "usage-stats"
    }

    fn wants(&self, event: &DomainEvent) -> bool {
        matches!(event, DomainEvent::PromptUsed { .. })
    }

    fn handle(&self, event: &DomainEvent) -> anyhow::Result<()> {
        if let DomainEvent::PromptUsed { prompt_id } = event {
            self.0.record(prompt_id, now_secs())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventBus;

    #[test]
    fn events_are_counted_persisted_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/usage");
        let stats = Arc::new(UsageStats::load(&path));
        let bus = EventBus::new();
        bus.subscribe(Arc::new(UsageHandler(stats.clone())));
        for id in ["a", "b", "a"] {
            bus.publish(DomainEvent::PromptUsed {
                prompt_id: id.into(),
            });
        }
        bus.drain();
        assert_eq!(stats.get("a").unwrap().count, 2);
        let reloaded = UsageStats::load(&path);
        let ranked: Vec<_> = reloaded
            .ranked()
            .into_iter()
            .map(|(id, e)| (id, e.count))
            .collect();
        assert_eq!(ranked, [("a".to_string(), 2), ("b".to_string(), 1)]);
    }

    #[test]
    fn boost_grows_with_use_and_fades_with_age() {
        let dir = tempfile::tempdir().unwrap();
        let stats = UsageStats::load(&dir.path().join("usage"));
        let now = 1_000_000_000;
        assert_eq!(stats.boost("x", now), 1.0);
        stats.record("x", now).unwrap();
        let fresh = stats.boost("x", now);
        assert!((fresh - (1.0 + 0.25 * 2f32.ln() + 0.5)).abs() < 1e-5);
        assert!(stats.boost("x", now + 7 * 86_400) < fresh);
        stats.record("x", now).unwrap();
        assert!(stats.boost("x", now) > fresh);
    }

    #[test]
    fn corrupt_file_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(UsageStats::load(&path).ranked().is_empty());
    }
}
