//! Domain events and the bus that delivers them.
//!
//! Publishing never blocks: each handler has its own queue and worker thread, so a slow handler
//! delays only itself. A handler that returns an error or panics is logged; the others still run.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Something that happened which other parts of the program may react to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    /// A composition was saved into history.
    CompositionSaved {
        composition_id: String,
        source_path: Option<PathBuf>,
        history_file: PathBuf,
        characters: usize,
        version: u32,
    },
    /// A library prompt was inserted (completion accepted, recommendation applied).
    PromptUsed { prompt_id: String },
    /// The user applied an AI suggestion.
    SuggestionAccepted {
        suggestion_id: String,
        kind: String,
        document: Option<PathBuf>,
    },
    /// Library files changed (added, edited or removed).
    LibraryChanged { paths: Vec<PathBuf> },
}

impl DomainEvent {
    /// A stable name for logs and the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            DomainEvent::CompositionSaved { .. } => "composition_saved",
            DomainEvent::PromptUsed { .. } => "prompt_used",
            DomainEvent::SuggestionAccepted { .. } => "suggestion_accepted",
            DomainEvent::LibraryChanged { .. } => "library_changed",
        }
    }
}

/// Reacts to events. Runs on the handler's own worker thread, so blocking I/O is fine.
pub trait EventHandler: Send + Sync + 'static {
    /// For logs.
    fn name(&self) -> &'static str;
    /// Whether this handler wants `event`; the default is every event.
    fn wants(&self, _event: &DomainEvent) -> bool {
        true
    }
    fn handle(&self, event: &DomainEvent) -> anyhow::Result<()>;
}

struct Subscriber {
    id: u64,
    handler: Arc<dyn EventHandler>,
    queue: mpsc::Sender<Arc<DomainEvent>>,
}

/// A handler's place on the bus, for [`EventBus::unsubscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription(u64);

/// The event bus. Cheap to clone; all clones share the subscribers.
#[derive(Clone, Default)]
pub struct EventBus {
    inner: Arc<Mutex<BusState>>,
}

#[derive(Default)]
struct BusState {
    subscribers: Vec<Subscriber>,
    workers: Vec<JoinHandle<()>>,
    next_id: u64,
}

impl EventBus {
    pub fn new() -> Self {
        EventBus::default()
    }

    /// Adds a handler with its own worker thread.
    pub fn subscribe(&self, handler: Arc<dyn EventHandler>) -> Subscription {
        let (queue, receiver) = mpsc::channel::<Arc<DomainEvent>>();
        let worker_handler = handler.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("event-{}", handler.name()))
            .spawn(move || {
                for event in receiver {
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        worker_handler.handle(&event)
                    }));
                    match outcome {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(
                            handler = worker_handler.name(),
                            event = event.name(),
                            "event handler failed: {e:#}"
                        ),
                        Err(_) => tracing::error!(
                            handler = worker_handler.name(),
                            event = event.name(),
                            "event handler panicked"
                        ),
                    }
                }
            });
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        match spawned {
            Ok(worker) => {
                state.workers.push(worker);
                state.subscribers.push(Subscriber { id, handler, queue });
            }
            Err(e) => tracing::error!(handler = handler.name(), "cannot start event worker: {e}"),
        }
        Subscription(id)
    }

    /// Removes a handler (its worker finishes the events already queued, then stops), e.g. the
    /// usage stats of a library that was closed.
    pub fn unsubscribe(&self, subscription: Subscription) {
        self.lock()
            .subscribers
            .retain(|sub| sub.id != subscription.0);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BusState> {
        // A poisoned lock only means a panic elsewhere while holding it; the state is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `event` for every interested handler and returns at once.
    pub fn publish(&self, event: DomainEvent) {
        let event = Arc::new(event);
        tracing::debug!(event = event.name(), "publish");
        for sub in self.lock().subscribers.iter() {
            if sub.handler.wants(&event) && sub.queue.send(event.clone()).is_err() {
                tracing::warn!(handler = sub.handler.name(), "event worker has stopped");
            }
        }
    }

    /// Stops accepting events and waits until every queued event has been handled (for the CLI
    /// and for an orderly server exit).
    pub fn drain(&self) {
        let workers = {
            let mut state = self.lock();
            state.subscribers.clear();
            std::mem::take(&mut state.workers)
        };
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// Appends one JSON line per event to `data/audit.log`: ids, paths and counts, never contents.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl AuditLog {
    pub fn new(path: PathBuf) -> Self {
        AuditLog {
            path,
            file: Mutex::new(None),
        }
    }

    fn record(event: &DomainEvent) -> serde_json::Value {
        use serde_json::json;
        let at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let details = match event {
            DomainEvent::CompositionSaved {
                composition_id,
                source_path,
                history_file,
                characters,
                version,
            } => json!({
                "composition_id": composition_id,
                "source_path": source_path,
                "history_file": history_file,
                "characters": characters,
                "version": version,
            }),
            DomainEvent::PromptUsed { prompt_id } => json!({ "prompt_id": prompt_id }),
            DomainEvent::SuggestionAccepted {
                suggestion_id,
                kind,
                document,
            } => json!({ "suggestion_id": suggestion_id, "kind": kind, "document": document }),
            DomainEvent::LibraryChanged { paths } => json!({ "paths": paths }),
        };
        json!({ "at": at, "event": event.name(), "details": details })
    }
}

impl EventHandler for AuditLog {
    fn name(&self) -> &'static str {
        "audit-log"
    }

    fn handle(&self, event: &DomainEvent) -> anyhow::Result<()> {
        use std::io::Write;
        let mut line = serde_json::to_vec(&Self::record(event))?;
        line.push(b'\n');
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            *guard = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let file = guard.as_mut().expect("opened above");
        // One write per line, so concurrent processes appending do not interleave within a line.
        file.write_all(&line)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends every event it sees to a channel, optionally failing or panicking first.
    struct Probe {
        name: &'static str,
        seen: Mutex<mpsc::Sender<String>>,
        behaviour: &'static str,
    }

    impl EventHandler for Probe {
        fn name(&self) -> &'static str {
            self.name
        }
        fn wants(&self, event: &DomainEvent) -> bool {
            self.behaviour != "only-prompt-used" || matches!(event, DomainEvent::PromptUsed { .. })
        }
        fn handle(&self, event: &DomainEvent) -> anyhow::Result<()> {
            match self.behaviour {
                "panic" => panic!("handler bug"),
                "error" => anyhow::bail!("handler failed"),
                _ => {
                    let _ =
                        self.seen
                            .lock()
                            .unwrap()
                            .send(format!("{}:{}", self.name, event.name()));
                    Ok(())
                }
            }
        }
    }

    fn probe(name: &'static str, behaviour: &'static str, tx: &mpsc::Sender<String>) -> Arc<Probe> {
        Arc::new(Probe {
            name,
            seen: Mutex::new(tx.clone()),
            behaviour,
        })
    }

    #[test]
    fn failing_and_panicking_handlers_do_not_stop_the_others() {
        let (tx, rx) = mpsc::channel();
        let bus = EventBus::new();
        bus.subscribe(probe("panicky", "panic", &tx));
        bus.subscribe(probe("failing", "error", &tx));
        bus.subscribe(probe("good", "ok", &tx));
        bus.subscribe(probe("picky", "only-prompt-used", &tx));
        bus.publish(DomainEvent::PromptUsed {
            prompt_id: "a".into(),
        });
        bus.publish(DomainEvent::LibraryChanged { paths: vec![] });
        // The panicking handler keeps its worker and sees the second event too (and panics again).
        assert_eq!(
            drained(&bus, tx, &rx),
            vec![
                "good:library_changed",
                "good:prompt_used",
                "picky:prompt_used"
            ]
        );
    }

    /// Drains the bus and returns what the probes saw, sorted.
    fn drained(
        bus: &EventBus,
        tx: mpsc::Sender<String>,
        rx: &mpsc::Receiver<String>,
    ) -> Vec<String> {
        bus.drain();
        drop(tx);
        let mut seen: Vec<String> = rx.iter().collect();
        seen.sort();
        seen
    }

    #[test]
    fn an_unsubscribed_handler_hears_nothing_more() {
        let (tx, rx) = mpsc::channel();
        let bus = EventBus::new();
        let gone = bus.subscribe(probe("gone", "ok", &tx));
        bus.subscribe(probe("stays", "ok", &tx));
        bus.publish(DomainEvent::LibraryChanged { paths: vec![] });
        bus.unsubscribe(gone);
        bus.publish(DomainEvent::PromptUsed {
            prompt_id: "a".into(),
        });
        assert_eq!(
            drained(&bus, tx, &rx),
            vec![
                "gone:library_changed",
                "stays:library_changed",
                "stays:prompt_used"
            ]
        );
    }

    #[test]
    fn audit_log_writes_json_lines_without_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/audit.log");
        let bus = EventBus::new();
        bus.subscribe(Arc::new(AuditLog::new(path.clone())));
        bus.publish(DomainEvent::CompositionSaved {
            composition_id: "c1".into(),
            source_path: Some("/w/a.prompt.md".into()),
            history_file: "/h/.history/x.md".into(),
            characters: 42,
            version: 2,
        });
        bus.publish(DomainEvent::PromptUsed {
            prompt_id: "commands/review".into(),
        });
        bus.drain();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "composition_saved");
        assert_eq!(lines[0]["details"]["characters"], 42);
        assert_eq!(lines[1]["details"]["prompt_id"], "commands/review");
    }
}
