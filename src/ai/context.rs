//! Choosing which library prompts go to the model as context, within a token budget.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::ContextPrompt;
use super::keywords::{KeywordCache, PromptWords, WordSet};
use super::tokens::{TokenCounter, context_window, window_share};

/// A library prompt the selector may choose; built by the caller from the library and usage data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidatePrompt {
    /// `category/name`, e.g. `rules/tone`; the file is `<library>/<id>.md`.
    pub id: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    /// Folder: `workflows`, `commands`, `prompt-decorations`, `rules`.
    pub category: String,
    /// Body without frontmatter.
    pub body: String,
    /// The content's hash: the prompt's words are read again only when it changes; empty when
    /// unknown (read on every selection).
    pub hash: String,
    pub use_count: u32,
    pub last_used: Option<SystemTime>,
}

/// The context selector for `model` (the scoring selector, counting with the model's tokenizer).
pub fn create_selector(model: &str) -> Arc<dyn ContextSelector> {
    Arc::new(ScoringSelector::new(TokenCounter::for_model(model)))
}

/// Picks context prompts for a composition.
pub trait ContextSelector: Send + Sync {
    /// The prompts to send with `composition`, most relevant first, within `budget_tokens`.
    /// Prompts the composition links to come first and count against the budget like the rest:
    /// one that does not fit is sent shortened, or left out, and the selection says so.
    fn select(
        &self,
        composition: &str,
        candidates: &[CandidatePrompt],
        budget_tokens: usize,
    ) -> ContextSelection;
}

/// What a review sends as context, and which linked prompts did not fit the budget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextSelection {
    /// What is sent, most relevant first (linked prompts first).
    pub prompts: Vec<ContextPrompt>,
    /// Linked prompts sent only in part (their beginning, up to the budget), by id.
    pub shortened: Vec<String>,
    /// Linked prompts not sent at all, by id.
    pub left_out: Vec<String>,
}

impl ContextSelection {
    /// One sentence for the user when a linked prompt did not fit, else `None`.
    pub fn note(&self, budget_tokens: usize) -> Option<String> {
        if self.shortened.is_empty() && self.left_out.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        if !self.shortened.is_empty() {
            parts.push(format!(
                "sent only the beginning of {}",
                self.shortened.join(", ")
            ));
        }
        if !self.left_out.is_empty() {
            parts.push(format!("left out {}", self.left_out.join(", ")));
        }
        Some(format!(
            "linked prompts did not fit the context budget of {budget_tokens} tokens: {}. Raise \
             ai.context_budget_percent or use a model with a larger context window to send them whole.",
            parts.join("; ")
        ))
    }
}

/// The tokens library prompts may use in a review of `composition`: the configured share of the
/// window, and never more than what the window has left after the instructions, the composition
/// and the room kept for the answer. Every token sent counts.
pub fn context_budget(
    model: &str,
    context_percent: u32,
    response_percent: u32,
    composition: &str,
) -> usize {
    let counter = TokenCounter::for_model(model);
    let request = super::ReviewRequest {
        composition: composition.to_string(),
        context: Vec::new(),
        fresh: false,
    };
    let lines = super::contract::line_count(composition);
    let fixed = counter.count(&super::contract::Task::Review.system_prompt(lines))
        + counter.count(&super::contract::review_message(&request))
        + window_share(model, response_percent);
    window_share(model, context_percent).min(context_window(model).saturating_sub(fixed))
}

/// Scores prompts: tag +10, category +5, keyword overlap +1 (+0.5 for body-only words), used
/// together with a prompt the composition links +2 per composition of history that used both
/// (at most 3 counted; see [`ScoringSelector::with_pairings`]), recently used +3, + use count.
/// Only prompts with a relevance (tag, category, keywords) of at least 1 are scored, so a
/// much-used but unrelated prompt is not sent; at most [`MAX_SCORED`] are picked, from the
/// [`MAX_TRIED`] best.
/// Prompts' words are read once per version of each prompt (see [`KeywordCache`]).
#[derive(Debug, Clone)]
pub struct ScoringSelector {
    counter: TokenCounter,
    now: SystemTime,
    recent: Duration,
    keywords: Arc<KeywordCache>,
    /// Prompt id → compositions that used it together with a prompt the composition links.
    paired: HashMap<String, u32>,
}

/// Added per composition that used a prompt together with a linked one, up to [`PAIRED_MAX`].
const PAIRED_BOOST: f64 = 2.0;
const PAIRED_MAX: u32 = 3;

/// Most prompts chosen by score (linked ones come on top): more rarely helps a review and makes
/// every request larger.
pub const MAX_SCORED: usize = 8;

/// Best-scored prompts tried against the budget: when the best ones do not fit, a prompt far
/// down the ranking adds little, and trying every match would count thousands of bodies.
const MAX_TRIED: usize = 64;

/// Used within this long counts as "recently used".
const RECENT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Words shorter than this carry little topic.
const MIN_KEYWORD_CHARS: usize = 4;

const STOPWORDS: &[&str] = &[
    "this", "that", "with", "from", "have", "will", "your", "what", "when", "which", "there",
    "their", "about", "should", "would", "could", "into", "than", "then", "them", "they", "were",
    "been", "also", "each", "only", "some", "more", "most", "other", "such", "very", "make",
    "like", "just", "over", "here", "must", "does", "using", "used",
];

impl ScoringSelector {
    /// Counts tokens with `counter`; "recent" is relative to now.
    pub fn new(counter: TokenCounter) -> Self {
        Self::at(counter, SystemTime::now())
    }

    /// As [`ScoringSelector::new`] with a fixed clock.
    pub fn at(counter: TokenCounter, now: SystemTime) -> Self {
        ScoringSelector {
            counter,
            now,
            recent: RECENT,
            keywords: Arc::default(),
            paired: HashMap::new(),
        }
    }

    /// Boosts prompts history says are used together with the ones the composition links:
    /// `paired` maps a prompt id to the number of compositions that used both (the caller asks
    /// the history once per selection, for the ids [`linked_ids`] finds).
    pub fn with_pairings(mut self, paired: HashMap<String, u32>) -> Self {
        self.paired = paired;
        self
    }

    /// Reads prompts' words through `cache`, kept across selections (a session's reviews).
    pub fn with_keywords(mut self, cache: Arc<KeywordCache>) -> Self {
        self.keywords = cache;
        self
    }

    /// `keywords` are the composition's keywords; `words` every word of any length, for tags
    /// (`api`, `git`, `ci` are short but say exactly what a prompt is about).
    fn score(
        &self,
        keywords: &WordSet,
        words: &WordSet,
        prompt: &CandidatePrompt,
        read: &PromptWords,
    ) -> f64 {
        let tags = read.tags.iter().filter(|t| words.contains(**t)).count();
        let mut relevance = tags as f64 * 10.0;
        if read.category.iter().any(|c| keywords.contains(*c)) {
            relevance += 5.0;
        }
        let overlap = |numbers: &[u32]| numbers.iter().filter(|w| keywords.contains(**w)).count();
        relevance += overlap(&read.head) as f64 + overlap(&read.body) as f64 * 0.5;
        let paired = self.paired.get(&prompt.id).copied().unwrap_or(0);
        relevance += f64::from(paired.min(PAIRED_MAX)) * PAIRED_BOOST;
        if relevance < 1.0 {
            return 0.0;
        }
        let recent = prompt
            .last_used
            .and_then(|t| self.now.duration_since(t).ok())
            .is_some_and(|age| age <= self.recent);
        relevance + if recent { 3.0 } else { 0.0 } + f64::from(prompt.use_count)
    }
}

impl ContextSelector for ScoringSelector {
    fn select(
        &self,
        composition: &str,
        candidates: &[CandidatePrompt],
        budget_tokens: usize,
    ) -> ContextSelection {
        let lower = composition.to_lowercase();
        let keywords = keywords(composition);
        let read = self.keywords.read(
            candidates,
            keywords.iter().map(String::as_str),
            words_of(&lower),
        );
        let linked_ids = linked(&lower, candidates);
        let mut linked = Vec::new();
        let mut scored = Vec::new();
        for (i, (prompt, words)) in candidates.iter().zip(&read.prompts).enumerate() {
            if linked_ids[i] {
                linked.push((prompt, words));
                continue;
            }
            let score = self.score(&read.keywords, &read.words, prompt, words);
            if score > 0.0 {
                scored.push((score, prompt, words));
            }
        }
        // Only the best MAX_TRIED are tried: pick them in linear time, then sort just those.
        let best_first = |a: &(f64, &CandidatePrompt, _), b: &(f64, &CandidatePrompt, _)| {
            b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id))
        };
        if scored.len() > MAX_TRIED {
            scored.select_nth_unstable_by(MAX_TRIED - 1, best_first);
            scored.truncate(MAX_TRIED);
        }
        scored.sort_by(best_first);
        let mut used = 0;
        let mut out = ContextSelection::default();
        for (prompt, words) in linked {
            let room = budget_tokens.saturating_sub(used);
            let cost = self.cost(prompt, words);
            if cost <= room {
                used += cost;
                out.prompts.push(to_context(prompt));
            } else if let Some((shortened, cost)) = self.shortened(prompt, room) {
                used += cost;
                out.prompts.push(shortened);
                out.shortened.push(prompt.id.clone());
            } else {
                out.left_out.push(prompt.id.clone());
            }
        }
        let mut picked = 0;
        for (_, prompt, words) in scored {
            if picked == MAX_SCORED {
                break;
            }
            let cost = self.cost(prompt, words);
            if used + cost <= budget_tokens {
                used += cost;
                picked += 1;
                out.prompts.push(to_context(prompt));
            }
        }
        out
    }
}

/// Ends the body of a prompt sent in part, so the model knows it is not all of it.
const SHORTENED_NOTE: &str =
    "\n\n[shortened: the rest of this prompt did not fit the context budget]";

/// A shortened prompt with less body than this is left out: a few lines rarely help.
const MIN_SHORTENED_BODY_TOKENS: usize = 32;

impl ScoringSelector {
    /// Tokens sending `prompt` whole costs, counted once per prompt version (kept in `words`).
    fn cost(&self, prompt: &CandidatePrompt, words: &PromptWords) -> usize {
        *words.cost[self.counter.kind()]
            .get_or_init(|| self.counter.count(&prompt.body) + self.overhead(prompt))
    }

    /// The title and the `<prompt id=… title=…>` wrapper cost a few tokens too.
    fn overhead(&self, prompt: &CandidatePrompt) -> usize {
        self.counter.count(&prompt.title) + self.counter.count(&prompt.id) + 12
    }

    /// `prompt` cut to fit `room` tokens (its beginning, ending at a line break when one is
    /// near, then [`SHORTENED_NOTE`]), with its cost; `None` when too little of it would fit.
    fn shortened(&self, prompt: &CandidatePrompt, room: usize) -> Option<(ContextPrompt, usize)> {
        let fixed = self.overhead(prompt) + self.counter.count(SHORTENED_NOTE);
        let for_body = room.checked_sub(fixed)?;
        if for_body < MIN_SHORTENED_BODY_TOKENS {
            return None;
        }
        let body = &prompt.body;
        // The longest prefix that fits: token counts grow with the prefix.
        let (mut fits, mut too_long) = (0, body.len() + 1);
        while too_long - fits > 1 {
            let mut mid = fits + (too_long - fits) / 2;
            while !body.is_char_boundary(mid) {
                mid -= 1;
            }
            if mid <= fits {
                break;
            }
            if self.counter.count(&body[..mid]) <= for_body {
                fits = mid;
            } else {
                too_long = mid;
            }
        }
        let mut cut = &body[..fits];
        if let Some(line_end) = cut.rfind('\n').filter(|n| *n >= cut.len() / 2) {
            cut = &cut[..line_end];
        }
        let text = format!("{}{SHORTENED_NOTE}", cut.trim_end());
        let cost = self.counter.count(&text) + self.overhead(prompt);
        Some((
            ContextPrompt {
                id: prompt.id.clone(),
                title: prompt.title.clone(),
                body: text,
            },
            cost,
        ))
    }
}

fn to_context(prompt: &CandidatePrompt) -> ContextPrompt {
    ContextPrompt {
        id: prompt.id.clone(),
        title: prompt.title.clone(),
        body: prompt.body.clone(),
    }
}

/// By candidate: whether the composition links to the prompt's file (`…/<id>.md`) or names it
/// (`@<id>`). Looks up what stands before each `.md` and after each `@` instead of searching the
/// composition once per prompt.
/// The ids of the candidates `composition` links to (they are always sent).
pub fn linked_ids(composition: &str, candidates: &[CandidatePrompt]) -> Vec<String> {
    linked(&composition.to_lowercase(), candidates)
        .iter()
        .zip(candidates)
        .filter(|(is, _)| **is)
        .map(|(_, c)| c.id.clone())
        .collect()
}

fn linked(lower_composition: &str, candidates: &[CandidatePrompt]) -> Vec<bool> {
    let mut out = vec![false; candidates.len()];
    if !lower_composition.contains(".md") && !lower_composition.contains('@') {
        return out;
    }
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, prompt) in candidates.iter().enumerate() {
        if !prompt.id.is_empty() {
            by_id.entry(prompt.id.to_lowercase()).or_default().push(i);
        }
    }
    let mut lengths: Vec<usize> = by_id.keys().map(String::len).collect();
    lengths.sort_unstable();
    lengths.dedup();
    let mut mark = |text: Option<&str>| {
        if let Some(found) = text.and_then(|t| by_id.get(t)) {
            for i in found {
                out[*i] = true;
            }
        }
    };
    for (end, _) in lower_composition.match_indices(".md") {
        for len in &lengths {
            mark(
                end.checked_sub(*len)
                    .and_then(|s| lower_composition.get(s..end)),
            );
        }
    }
    for (at, _) in lower_composition.match_indices('@') {
        for len in &lengths {
            mark(lower_composition.get(at + 1..at + 1 + len));
        }
    }
    out
}

pub(crate) fn split_words(text: &str) -> impl Iterator<Item = &str> {
    words_of(text).filter(|w| w.len() >= MIN_KEYWORD_CHARS)
}

/// Every word of `text`, any length (`-` and `_` join words, as in tags).
pub(crate) fn words_of(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
        .filter(|w| !w.is_empty())
}

/// Lower-cased words of at least [`MIN_KEYWORD_CHARS`] characters, without stopwords.
fn keywords(text: &str) -> HashSet<String> {
    split_words(text)
        .filter(|w| w.chars().count() >= MIN_KEYWORD_CHARS)
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(id: &str, tags: &[&str], body: &str) -> CandidatePrompt {
        CandidatePrompt {
            id: id.into(),
            title: id.rsplit('/').next().unwrap_or(id).replace('-', " "),
            description: String::new(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            category: id.split('/').next().unwrap_or("").into(),
            body: body.into(),
            hash: String::new(),
            use_count: 0,
            last_used: None,
        }
    }

    fn ids(selected: &ContextSelection) -> Vec<&str> {
        selected.prompts.iter().map(|p| p.id.as_str()).collect()
    }

    #[test]
    fn scores_tags_categories_keywords_usage_and_recency() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let selector = ScoringSelector::at(TokenCounter::Estimate, now);
        let mut recent = prompt(
            "commands/summarize",
            &[],
            "Summarize the article and list issues.",
        );
        recent.last_used = Some(now - Duration::from_secs(3600));
        let mut popular = prompt(
            "commands/translate",
            &[],
            "Translate the article, keep issues.",
        );
        popular.use_count = 2;
        let candidates = vec![
            prompt("rules/security", &["security"], "Check for injection."),
            prompt("commands/bake", &[], "Bake bread."),
            prompt("commands/weak", &[], "One article."),
            recent,
            popular,
            prompt("workflows/review", &[], "Step by step."),
        ];
        let composition = "Review this article for security issues as a workflow.";
        let selected = selector.select(composition, &candidates, 10_000);
        // security: tag 10 + title keyword 1; review: category 5 + title keyword 1;
        // summarize: body 2 × 0.5 + recent 3; translate: body 2 × 0.5 + uses 2; weak: 0.5 is
        // below the relevance floor.
        assert_eq!(
            ids(&selected),
            [
                "rules/security",
                "workflows/review",
                "commands/summarize",
                "commands/translate"
            ]
        );
    }

    #[test]
    fn prompts_used_together_with_linked_ones_are_boosted() {
        let selector = ScoringSelector::new(TokenCounter::Estimate);
        let candidates = vec![
            prompt("rules/linked", &[], "Linked."),
            prompt("rules/security", &["security"], "About security."),
            prompt("workflows/partner", &[], "Unrelated words."),
            prompt("workflows/lonely", &[], "Unrelated words."),
        ];
        let composition = "See [rules](../library/rules/linked.md) about security.";
        assert_eq!(linked_ids(composition, &candidates), ["rules/linked"]);
        // Without history the unrelated partner is not sent at all.
        let plain = selector.select(composition, &candidates, 10_000);
        assert_eq!(ids(&plain), ["rules/linked", "rules/security"]);
        // Used with the linked prompt in 2 compositions: +4, enough to be sent after security.
        let paired = selector
            .clone()
            .with_pairings(HashMap::from([("workflows/partner".to_string(), 2)]));
        let boosted = paired.select(composition, &candidates, 10_000);
        assert_eq!(
            ids(&boosted),
            ["rules/linked", "rules/security", "workflows/partner"]
        );
        // Many co-uses count as 3 (+6): still below a matching tag (+10).
        let many = selector
            .clone()
            .with_pairings(HashMap::from([("workflows/partner".to_string(), 50)]));
        let capped = many.select(composition, &candidates, 10_000);
        assert_eq!(
            ids(&capped),
            ["rules/linked", "rules/security", "workflows/partner"]
        );
    }

    #[test]
    fn linked_prompts_always_come_and_the_budget_is_kept() {
        let selector = ScoringSelector::new(TokenCounter::Estimate);
        let long = "security ".repeat(200);
        let candidates = vec![
            prompt("rules/linked", &[], &"x".repeat(4000)),
            prompt("rules/big", &["security"], &long),
            prompt("rules/small", &["security"], "Short."),
        ];
        let composition = "See [rules](../library/rules/linked.md) about security.";
        // Linked (~1015 tokens) counts against the budget; big (~470) no longer fits.
        let selected = selector.select(composition, &candidates, 1100);
        assert_eq!(ids(&selected), ["rules/linked", "rules/small"]);
        assert_eq!(selected.note(1100), None);
        assert_eq!(
            selector.select("nothing relevant", &candidates, 100),
            ContextSelection::default()
        );
    }

    #[test]
    fn a_linked_prompt_over_the_budget_is_shortened_or_left_out() {
        let selector = ScoringSelector::new(TokenCounter::Estimate);
        let body: String = (0..400).map(|i| format!("Rule number {i}.\n")).collect();
        let candidates = vec![prompt("rules/linked", &[], &body)];
        let composition = "Follow [rules](rules/linked.md).";
        let selected = selector.select(composition, &candidates, 300);
        assert_eq!(selected.shortened, ["rules/linked"]);
        let sent = &selected.prompts[0].body;
        assert!(
            sent.starts_with("Rule number 0.\nRule number 1.\n"),
            "{sent}"
        );
        assert!(sent.ends_with(SHORTENED_NOTE), "{sent}");
        // Everything sent fits: body, title and wrapper.
        let cost = TokenCounter::Estimate.count(sent) + selector.overhead(&candidates[0]);
        assert!(cost <= 300 && cost > 250, "{cost}");
        assert!(
            selected
                .note(300)
                .unwrap()
                .contains("sent only the beginning of rules/linked")
        );

        // No room at all (a budget of 0 %): left out, and said so.
        let nothing = selector.select(composition, &candidates, 0);
        assert!(nothing.prompts.is_empty());
        assert_eq!(nothing.left_out, ["rules/linked"]);
        assert!(nothing.note(0).unwrap().contains("left out rules/linked"));

        // Exact counting with a real tokenizer keeps the budget too.
        let bpe = ScoringSelector::new(TokenCounter::for_model("gpt-4o-mini"));
        let selected = bpe.select(composition, &candidates, 500);
        let counter = TokenCounter::for_model("gpt-4o-mini");
        let cost = counter.count(&selected.prompts[0].body) + bpe.overhead(&candidates[0]);
        assert!(cost <= 500, "{cost}");
    }

    #[test]
    fn the_budget_leaves_room_for_the_composition_and_the_answer() {
        // An 8,192-token local model with 30 % for context and 20 % for the answer.
        let small = "Write a haiku.";
        assert_eq!(context_budget("llama3.2", 30, 20, small), 8192 * 30 / 100);
        let long = "word ".repeat(20_000);
        assert_eq!(context_budget("llama3.2", 30, 20, &long), 0);
        let medium = "word ".repeat(4_000);
        let budget = context_budget("llama3.2", 30, 20, &medium);
        assert!(budget < 8192 * 30 / 100 && budget > 0, "{budget}");
        assert_eq!(context_budget("llama3.2", 0, 20, small), 0);
    }

    #[test]
    fn short_tags_score() {
        let selector = ScoringSelector::new(TokenCounter::Estimate);
        let candidates = vec![
            prompt("rules/rest", &["api"], "Name endpoints as nouns."),
            prompt("commands/commit", &["git"], "Write the message."),
            prompt("commands/unrelated", &["ml"], "Train it."),
        ];
        let selected =
            selector.select("Design the API, then commit with Git.", &candidates, 10_000);
        assert_eq!(ids(&selected), ["commands/commit", "rules/rest"]);
    }

    #[test]
    fn at_most_a_few_prompts_are_picked_by_score() {
        let selector = ScoringSelector::new(TokenCounter::Estimate);
        let candidates: Vec<_> = (0..20)
            .map(|i| prompt(&format!("rules/r{i:02}"), &["security"], "Short."))
            .collect();
        let selected = selector.select("security", &candidates, 100_000);
        assert_eq!(selected.prompts.len(), MAX_SCORED);
        assert_eq!(selected.prompts[0].id, "rules/r00");
    }

    #[test]
    fn words_are_read_again_only_when_the_hash_changes() {
        let cache = Arc::new(KeywordCache::default());
        let selector = ScoringSelector::new(TokenCounter::Estimate).with_keywords(cache.clone());
        let mut tone = prompt("rules/tone", &[], "Keep sentences plain.");
        tone.hash = "v1".into();
        let composition = "Keep sentences plain and cheerful.";
        assert_eq!(
            ids(&selector.select(composition, &[tone.clone()], 1000)),
            ["rules/tone"]
        );
        // Same hash: the words read before still count (the body is not read again).
        let mut unchanged = tone.clone();
        unchanged.body = "Bake bread.".into();
        let again = ScoringSelector::new(TokenCounter::Estimate).with_keywords(cache.clone());
        assert_eq!(
            ids(&again.select(composition, &[unchanged], 1000)),
            ["rules/tone"]
        );
        // A new hash: read again, and no longer relevant.
        let mut edited = tone.clone();
        edited.body = "Bake bread.".into();
        edited.hash = "v2".into();
        assert!(
            again
                .select(composition, &[edited], 1000)
                .prompts
                .is_empty()
        );
        // Without a hash, every selection reads the prompt.
        let mut unhashed = tone;
        unhashed.hash = String::new();
        unhashed.body = "Bake bread.".into();
        assert!(
            again
                .select(composition, &[unhashed], 1000)
                .prompts
                .is_empty()
        );
    }

    #[test]
    fn costs_are_counted_once_per_version_and_counter() {
        let cache = Arc::new(KeywordCache::default());
        let estimate = ScoringSelector::new(TokenCounter::Estimate).with_keywords(cache.clone());
        let mut tone = prompt("rules/tone", &["tone"], "Keep sentences plain.");
        tone.hash = "v1".into();
        assert_eq!(
            ids(&estimate.select("tone", &[tone.clone()], 40)),
            ["rules/tone"]
        );
        // Same version with a body that no longer fits: the cost counted before still stands.
        let mut same_version = tone.clone();
        same_version.body = "plain ".repeat(400);
        assert_eq!(
            ids(&estimate.select("tone", &[same_version.clone()], 40)),
            ["rules/tone"]
        );
        // Another counter counts for itself.
        let bpe = ScoringSelector::new(TokenCounter::for_model("gpt-4o-mini"))
            .with_keywords(cache.clone());
        assert!(
            bpe.select("tone", &[same_version.clone()], 40)
                .prompts
                .is_empty()
        );
        // A new version is counted again.
        same_version.hash = "v2".into();
        assert!(
            estimate
                .select("tone", &[same_version], 40)
                .prompts
                .is_empty()
        );
    }

    #[test]
    fn only_the_best_scored_prompts_are_tried_against_the_budget() {
        let selector = ScoringSelector::new(TokenCounter::Estimate);
        // The MAX_TRIED best (two tags) are too long; one short prompt with one tag follows them.
        let mut candidates: Vec<_> = (0..MAX_TRIED)
            .map(|i| {
                prompt(
                    &format!("rules/long{i:02}"),
                    &["api", "rest"],
                    &"word ".repeat(200),
                )
            })
            .collect();
        candidates.push(prompt("rules/short", &["api"], "Short."));
        assert!(
            selector
                .select("api rest", &candidates, 50)
                .prompts
                .is_empty()
        );
        candidates.truncate(MAX_TRIED - 1);
        candidates.push(prompt("rules/short", &["api"], "Short."));
        assert_eq!(
            ids(&selector.select("api rest", &candidates, 50)),
            ["rules/short"]
        );
    }

    #[test]
    fn links_by_file_and_by_name_in_any_case() {
        let candidates = vec![
            prompt("rules/Tone", &[], "Unrelated."),
            prompt("commands/summarize", &[], "Unrelated."),
            prompt("tone", &[], "Unrelated."),
            prompt("commands/plan", &[], "Unrelated."),
        ];
        let composition =
            "Use @commands/SUMMARIZE, then ../library/RULES/tone.md; @commands/pla is no name.";
        // `tone.md` ends `rules/tone.md`: that links the prompt `tone` too.
        assert_eq!(
            linked(&composition.to_lowercase(), &candidates),
            [true, true, true, false]
        );
        assert_eq!(
            linked("see tone.md.", &candidates),
            [false, false, true, false]
        );
    }
}
