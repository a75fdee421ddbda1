//! Each library prompt's words, read once per version of the prompt and kept as numbers, so
//! choosing a review's context compares numbers instead of re-reading every body; and its token
//! cost, counted once per version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::context::{CandidatePrompt, split_words};
use super::tokens::COUNTER_KINDS;

/// A prompt's words as vocabulary numbers (see [`KeywordCache`]).
#[derive(Debug, Default)]
pub(crate) struct PromptWords {
    /// Lower-cased tags, one number per tag as written (a repeated tag counts twice).
    pub tags: Vec<u32>,
    /// The lower-cased category and its singular (`rules`, `rule`); empty without a category.
    pub category: Vec<u32>,
    /// Distinct keyword-length words of the title and description.
    pub head: Vec<u32>,
    /// Distinct keyword-length words of the body that are not in `head`.
    pub body: Vec<u32>,
    /// What sending the prompt costs in tokens, by [`super::TokenCounter::kind`]: counted the
    /// first time a selection considers it, since BPE-counting a body costs far more than scoring.
    pub cost: [OnceLock<usize>; COUNTER_KINDS],
}

/// The words of every prompt seen, by prompt id and content hash; shared by the reviews of a
/// session so only new or edited prompts are read again.
#[derive(Debug, Default)]
pub struct KeywordCache {
    inner: Mutex<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    /// Every word seen, lower-cased, to its number.
    vocabulary: HashMap<String, u32>,
    /// By prompt id: the content hash the words were read from, and the words.
    prompts: HashMap<String, (String, Arc<PromptWords>)>,
}

/// The composition's words as a set of vocabulary numbers; words no prompt has are left out,
/// since they cannot match.
pub(crate) struct WordSet(Vec<u64>);

impl WordSet {
    pub fn contains(&self, word: u32) -> bool {
        let (slot, bit) = (word as usize / 64, word % 64);
        self.0.get(slot).is_some_and(|bits| bits & (1 << bit) != 0)
    }
}

/// What [`KeywordCache::read`] gives a selection: each candidate's words, in order, and the
/// composition's keywords and words as sets.
pub(crate) struct Read {
    pub prompts: Vec<Arc<PromptWords>>,
    pub keywords: WordSet,
    pub words: WordSet,
}

impl KeywordCache {
    /// The words of `candidates` (reading only prompts not seen at their hash; prompts no longer
    /// among the candidates are forgotten), and `keywords` and `words` of the composition as sets.
    pub(crate) fn read<'a>(
        &self,
        candidates: &[CandidatePrompt],
        keywords: impl Iterator<Item = &'a str>,
        words: impl Iterator<Item = &'a str>,
    ) -> Read {
        let mut cached = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Cached {
            vocabulary,
            prompts: previous,
        } = &mut *cached;
        let prompts = match unchanged(previous, candidates) {
            Some(prompts) => prompts,
            None => read_changed(vocabulary, previous, candidates),
        };
        let set = |words: &mut dyn Iterator<Item = &str>| {
            let mut bits = vec![0u64; vocabulary.len().div_ceil(64)];
            for number in words.filter_map(|w| vocabulary.get(w)) {
                bits[*number as usize / 64] |= 1 << (number % 64);
            }
            WordSet(bits)
        };
        Read {
            prompts,
            keywords: set(&mut { keywords }),
            words: set(&mut { words }),
        }
    }
}

/// The cached words of `candidates` when every one is cached at its hash and no other prompt
/// is (the common case: reviews between library edits), without copying an id or a hash.
fn unchanged(
    cached: &HashMap<String, (String, Arc<PromptWords>)>,
    candidates: &[CandidatePrompt],
) -> Option<Vec<Arc<PromptWords>>> {
    if cached.len() != candidates.len() {
        return None;
    }
    candidates
        .iter()
        .map(|prompt| match cached.get(&prompt.id) {
            Some((hash, words)) if !hash.is_empty() && *hash == prompt.hash => Some(words.clone()),
            _ => None,
        })
        .collect()
}

/// Reads the prompts not cached at their hash and keeps exactly `candidates` in the cache.
fn read_changed(
    vocabulary: &mut HashMap<String, u32>,
    previous: &mut HashMap<String, (String, Arc<PromptWords>)>,
    candidates: &[CandidatePrompt],
) -> Vec<Arc<PromptWords>> {
    let mut current = HashMap::with_capacity(candidates.len());
    let prompts = candidates
        .iter()
        .map(|prompt| {
            let kept = previous
                .remove_entry(&prompt.id)
                .filter(|(_, (hash, _))| !prompt.hash.is_empty() && *hash == prompt.hash);
            let (id, words) = match kept {
                Some((id, (_, words))) => (id, words),
                None => (prompt.id.clone(), Arc::new(read_prompt(vocabulary, prompt))),
            };
            current.insert(id, (prompt.hash.clone(), words.clone()));
            words
        })
        .collect();
    *previous = current;
    prompts
}

fn read_prompt(vocabulary: &mut HashMap<String, u32>, prompt: &CandidatePrompt) -> PromptWords {
    let mut number = |word: String| {
        let next = vocabulary.len() as u32;
        *vocabulary.entry(word).or_insert(next)
    };
    let tags = prompt
        .tags
        .iter()
        .map(|t| number(t.to_lowercase()))
        .collect();
    let category = prompt.category.to_lowercase();
    let category = if category.is_empty() {
        Vec::new()
    } else {
        let singular = category.trim_end_matches('s').to_string();
        vec![number(category), number(singular)]
    };
    let mut head = distinct(
        split_words(&prompt.title)
            .chain(split_words(&prompt.description))
            .map(|w| number(w.to_lowercase())),
    );
    let mut body = distinct(split_words(&prompt.body).map(|w| number(w.to_lowercase())));
    body.retain(|w| head.binary_search(w).is_err());
    head.shrink_to_fit();
    body.shrink_to_fit();
    PromptWords {
        tags,
        category,
        head,
        body,
        cost: Default::default(),
    }
}

fn distinct(numbers: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut numbers: Vec<u32> = numbers.collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}
