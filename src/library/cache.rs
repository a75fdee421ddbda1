//! The in-memory view of the library that sits in front of a source.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use super::prompt::{Prompt, id_key};
use super::source::SourceChange;

/// What changed in the library, as subscribers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibraryChange {
    Added(String),
    Changed(String),
    Removed(String),
}

impl LibraryChange {
    /// The prompt id the change is about.
    pub fn id(&self) -> &str {
        match self {
            LibraryChange::Added(id) | LibraryChange::Changed(id) | LibraryChange::Removed(id) => {
                id
            }
        }
    }
}

/// A cache of prompts keyed by id. Changes touch exactly the affected entries.
pub trait PromptCache: Send + Sync {
    /// Replaces the whole content (after a full load); returns how the content changed.
    fn replace_all(&self, prompts: Vec<Arc<Prompt>>) -> Vec<LibraryChange>;
    /// Adds or updates these prompts, keeping the rest (a load in steps); returns what changed.
    fn extend(&self, prompts: Vec<Arc<Prompt>>) -> Vec<LibraryChange>;
    /// Applies one source change; returns what actually changed (nothing for an identical file).
    fn apply(&self, change: SourceChange) -> Vec<LibraryChange>;
    fn get(&self, id: &str) -> Option<Arc<Prompt>>;
    /// The prompt whose [`id_key`] is `key`.
    fn get_by_key(&self, key: u64) -> Option<Arc<Prompt>>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Every prompt, in title order.
    fn all(&self) -> Vec<Arc<Prompt>>;
    /// The first `limit` prompts in title order, skipping `skip` ids (cheap at any library size).
    fn first_by_title(&self, limit: usize, skip: &dyn Fn(&str) -> bool) -> Vec<Arc<Prompt>>;
    /// Every tag with the number of prompts using it, sorted by tag.
    fn all_tags(&self) -> Vec<(String, usize)>;
    /// Every placeholder name used in the library with the number of prompts using it.
    fn placeholder_names(&self) -> Vec<(String, usize)>;
}

/// [`PromptCache`] in memory, with tag, placeholder and title indexes kept up to date per entry.
#[derive(Default)]
pub struct MemoryCache {
    state: RwLock<CacheState>,
}

#[derive(Default)]
struct CacheState {
    prompts: HashMap<String, Arc<Prompt>>,
    by_key: HashMap<u64, Arc<Prompt>>,
    /// (lower-cased title, id): the listing order for an empty query.
    by_title: BTreeSet<(String, String)>,
    tags: BTreeMap<String, usize>,
    placeholders: BTreeMap<String, usize>,
}

fn title_key(p: &Prompt) -> (String, String) {
    (p.title.to_lowercase(), p.id.clone())
}

fn bump(map: &mut BTreeMap<String, usize>, key: &str, up: bool) {
    if up {
        *map.entry(key.to_string()).or_default() += 1;
    } else if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl CacheState {
    fn account(&mut self, p: &Prompt, up: bool) {
        let tags: BTreeSet<&str> = p.tags.iter().map(String::as_str).collect();
        for tag in tags {
            bump(&mut self.tags, tag, up);
        }
        for (name, _) in &p.placeholders {
            bump(&mut self.placeholders, name, up);
        }
        if up {
            self.by_title.insert(title_key(p));
        } else {
            self.by_title.remove(&title_key(p));
        }
    }

    fn insert(&mut self, prompt: Arc<Prompt>) -> Option<LibraryChange> {
        if let Some(old) = self.prompts.get(&prompt.id)
            && old.hash == prompt.hash
            && old.path == prompt.path
        {
            // Same content (a touch or a duplicate event): keep the fresher stamp only.
            if old.mtime_ns != prompt.mtime_ns {
                self.put(prompt);
            }
            return None;
        }
        self.account(&prompt, true);
        let id = prompt.id.clone();
        match self.put(prompt) {
            Some(old) => {
                self.account(&old, false);
                // Re-add in case the old and new title keys were equal and the removal took it.
                if let Some(new) = self.prompts.get(&id).cloned() {
                    self.by_title.insert(title_key(&new));
                }
                Some(LibraryChange::Changed(id))
            }
            None => Some(LibraryChange::Added(id)),
        }
    }

    fn put(&mut self, prompt: Arc<Prompt>) -> Option<Arc<Prompt>> {
        self.by_key.insert(id_key(&prompt.id), prompt.clone());
        self.prompts.insert(prompt.id.clone(), prompt)
    }

    fn remove(&mut self, id: &str) -> Option<LibraryChange> {
        let old = self.prompts.remove(id)?;
        self.by_key.remove(&id_key(id));
        self.account(&old, false);
        Some(LibraryChange::Removed(id.to_string()))
    }
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        MemoryCache::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, CacheState> {
        // A panic while holding the lock leaves consistent maps (updates are per entry).
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, CacheState> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl PromptCache for MemoryCache {
    fn replace_all(&self, prompts: Vec<Arc<Prompt>>) -> Vec<LibraryChange> {
        let mut state = self.write();
        let fresh: std::collections::HashSet<String> =
            prompts.iter().map(|p| p.id.clone()).collect();
        let gone: Vec<String> = state
            .prompts
            .keys()
            .filter(|id| !fresh.contains(*id))
            .cloned()
            .collect();
        let mut changes: Vec<LibraryChange> =
            gone.iter().filter_map(|id| state.remove(id)).collect();
        changes.extend(prompts.into_iter().filter_map(|p| state.insert(p)));
        changes
    }

    fn extend(&self, prompts: Vec<Arc<Prompt>>) -> Vec<LibraryChange> {
        let mut state = self.write();
        prompts
            .into_iter()
            .filter_map(|p| state.insert(p))
            .collect()
    }

    fn apply(&self, change: SourceChange) -> Vec<LibraryChange> {
        let mut state = self.write();
        match change {
            SourceChange::Upserted(p) => state.insert(Arc::new(*p)).into_iter().collect(),
            SourceChange::Removed { id } => state.remove(&id).into_iter().collect(),
            SourceChange::RemovedFolder { id_prefix } => {
                let ids: Vec<String> = state
                    .prompts
                    .keys()
                    .filter(|id| id.starts_with(&id_prefix))
                    .cloned()
                    .collect();
                ids.iter().filter_map(|id| state.remove(id)).collect()
            }
            SourceChange::Skipped(_) | SourceChange::Notice(_) => Vec::new(),
        }
    }

    fn get(&self, id: &str) -> Option<Arc<Prompt>> {
        self.read().prompts.get(id).cloned()
    }

    fn get_by_key(&self, key: u64) -> Option<Arc<Prompt>> {
        self.read().by_key.get(&key).cloned()
    }

    fn len(&self) -> usize {
        self.read().prompts.len()
    }

    fn all(&self) -> Vec<Arc<Prompt>> {
        let state = self.read();
        state
            .by_title
            .iter()
            .filter_map(|(_, id)| state.prompts.get(id).cloned())
            .collect()
    }

    fn first_by_title(&self, limit: usize, skip: &dyn Fn(&str) -> bool) -> Vec<Arc<Prompt>> {
        let state = self.read();
        state
            .by_title
            .iter()
            .filter(|(_, id)| !skip(id))
            .filter_map(|(_, id)| state.prompts.get(id).cloned())
            .take(limit)
            .collect()
    }

    fn all_tags(&self) -> Vec<(String, usize)> {
        self.read()
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    fn placeholder_names(&self) -> Vec<(String, usize)> {
        self.read()
            .placeholders
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::prompt::FileStamp;

    fn prompt(id: &str, text: &str) -> Prompt {
        Prompt::from_text(
            id.into(),
            format!("/lib/{id}.md").into(),
            text,
            FileStamp {
                mtime_ns: 1,
                size: 1,
            },
        )
    }

    fn shared(prompts: Vec<Prompt>) -> Vec<Arc<Prompt>> {
        prompts.into_iter().map(Arc::new).collect()
    }

    fn upsert(p: Prompt) -> SourceChange {
        SourceChange::Upserted(Box::new(p))
    }

    #[test]
    fn changes_touch_only_affected_entries() {
        let cache = MemoryCache::new();
        let added = cache.replace_all(shared(vec![
            prompt("a", "---\ntitle: Beta\ntags: [x, z]\n---\n{{text:n}}"),
            prompt("b", "---\ntitle: alpha\ntags: [x]\n---\n"),
            prompt("dir/c", "# Gamma"),
        ]));
        assert_eq!(added.len(), 3);
        let a_before = cache.get("a").unwrap();
        assert!(Arc::ptr_eq(
            &a_before,
            &cache.get_by_key(id_key("a")).unwrap()
        ));
        assert_eq!(cache.all_tags(), [("x".into(), 2), ("z".into(), 1)]);
        assert_eq!(cache.placeholder_names(), [("n".to_string(), 1)]);
        let titles: Vec<_> = cache.all().iter().map(|p| p.title.clone()).collect();
        // An untitled file is named by its file name, not its "# Gamma" heading.
        assert_eq!(titles, ["alpha", "Beta", "c"]);

        // An identical file is no change; an edit changes one entry and its aggregates.
        assert_eq!(
            cache.apply(upsert(prompt(
                "a",
                "---\ntitle: Beta\ntags: [x, z]\n---\n{{text:n}}"
            ))),
            []
        );
        assert_eq!(
            cache.apply(upsert(prompt("b", "---\ntitle: Alpha 2\n---\n"))),
            [LibraryChange::Changed("b".into())]
        );
        assert!(Arc::ptr_eq(&a_before, &cache.get("a").unwrap()));
        assert_eq!(cache.all_tags(), [("x".into(), 1), ("z".into(), 1)]);
        assert_eq!(
            cache.apply(SourceChange::RemovedFolder {
                id_prefix: "dir/".into()
            }),
            [LibraryChange::Removed("dir/c".into())]
        );
        assert_eq!(
            cache.apply(SourceChange::Removed { id: "a".into() }),
            [LibraryChange::Removed("a".into())]
        );
        assert!(cache.all_tags().is_empty() && cache.placeholder_names().is_empty());
        assert!(cache.get_by_key(id_key("a")).is_none());
        let firsts = cache.first_by_title(5, &|id| id == "zzz");
        assert_eq!(firsts.len(), 1);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn same_title_edit_keeps_the_listing_entry() {
        let cache = MemoryCache::new();
        cache.replace_all(shared(vec![prompt("a", "# Same\none")]));
        cache.apply(upsert(prompt("a", "# Same\ntwo")));
        assert_eq!(cache.all().len(), 1);
        assert_eq!(cache.all()[0].body, "# Same\ntwo");
    }

    #[test]
    fn extend_adds_and_updates_but_keeps_the_rest() {
        let cache = MemoryCache::new();
        cache.extend(shared(vec![prompt("a", "one"), prompt("b", "two")]));
        let changes = cache.extend(shared(vec![prompt("b", "two"), prompt("c", "three")]));
        assert_eq!(changes, [LibraryChange::Added("c".into())]);
        let ids: Vec<_> = cache.all().iter().map(|p| p.id.clone()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }
}
