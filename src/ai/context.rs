//! Choosing which library prompts go to the model as context, within a token budget.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use super::ContextPrompt;
use super::tokens::TokenCounter;

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
    pub use_count: u32,
    pub last_used: Option<SystemTime>,
}

/// Picks context prompts for a composition.
pub trait ContextSelector: Send + Sync {
    /// The prompts to send with `composition`, most relevant first, within `budget_tokens`
    /// (prompts the composition links to are always included and count against it).
    fn select(
        &self,
        composition: &str,
        candidates: &[CandidatePrompt],
        budget_tokens: usize,
    ) -> Vec<ContextPrompt>;
}

/// Scores prompts: tag +10, category +5, keyword overlap +1 (+0.5 for body-only words), recently
/// used +3, + use count. Only prompts with a relevance (tag, category, keywords) of at least 1
/// are scored, so a much-used but unrelated prompt is not sent; at most [`MAX_SCORED`] are picked.
#[derive(Debug, Clone)]
pub struct ScoringSelector {
    counter: TokenCounter,
    now: SystemTime,
    recent: Duration,
}

/// Most prompts chosen by score (linked ones come on top): more rarely helps a review and makes
/// every request larger.
pub const MAX_SCORED: usize = 8;

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
        }
    }

    fn score(&self, words: &HashSet<String>, prompt: &CandidatePrompt) -> f64 {
        let mut relevance = 0.0;
        for tag in &prompt.tags {
            if words.contains(&tag.to_lowercase()) {
                relevance += 10.0;
            }
        }
        let category = prompt.category.to_lowercase();
        let singular = category.trim_end_matches('s');
        if !category.is_empty() && (words.contains(&category) || words.contains(singular)) {
            relevance += 5.0;
        }
        let head = keywords(&format!("{} {}", prompt.title, prompt.description));
        let body = keywords(&prompt.body);
        relevance += head.intersection(words).count() as f64;
        relevance += body
            .iter()
            .filter(|w| words.contains(*w) && !head.contains(*w))
            .count() as f64
            * 0.5;
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
    ) -> Vec<ContextPrompt> {
        let lower = composition.to_lowercase();
        let words = keywords(composition);
        let mut linked = Vec::new();
        let mut scored = Vec::new();
        for prompt in candidates {
            if links_to(&lower, prompt) {
                linked.push(prompt);
                continue;
            }
            let score = self.score(&words, prompt);
            if score > 0.0 {
                scored.push((score, prompt));
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let mut used = 0;
        let mut out = Vec::new();
        for prompt in linked {
            used += self.cost(prompt);
            out.push(to_context(prompt));
        }
        let mut picked = 0;
        for (_, prompt) in scored {
            let cost = self.cost(prompt);
            if picked < MAX_SCORED && used + cost <= budget_tokens {
                used += cost;
                picked += 1;
                out.push(to_context(prompt));
            }
        }
        out
    }
}

impl ScoringSelector {
    fn cost(&self, prompt: &CandidatePrompt) -> usize {
        // The title and wrapper tags cost a few tokens too.
        self.counter.count(&prompt.body) + self.counter.count(&prompt.title) + 12
    }
}

fn to_context(prompt: &CandidatePrompt) -> ContextPrompt {
    ContextPrompt {
        id: prompt.id.clone(),
        title: prompt.title.clone(),
        body: prompt.body.clone(),
    }
}

/// Whether the composition links to the prompt's file (`…/<id>.md`) or names it (`@<id>`).
fn links_to(lower_composition: &str, prompt: &CandidatePrompt) -> bool {
    let id = prompt.id.to_lowercase();
    !id.is_empty()
        && (lower_composition.contains(&format!("{id}.md"))
            || lower_composition.contains(&format!("@{id}")))
}

/// Lower-cased words of at least [`MIN_KEYWORD_CHARS`] characters, without stopwords.
fn keywords(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
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
            use_count: 0,
            last_used: None,
        }
    }

    fn ids(selected: &[ContextPrompt]) -> Vec<&str> {
        selected.iter().map(|p| p.id.as_str()).collect()
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
        assert!(
            selector
                .select("nothing relevant", &candidates, 100)
                .is_empty()
        );
    }

    #[test]
    fn at_most_a_few_prompts_are_picked_by_score() {
        let selector = ScoringSelector::new(TokenCounter::Estimate);
        let candidates: Vec<_> = (0..20)
            .map(|i| prompt(&format!("rules/r{i:02}"), &["security"], "Short."))
            .collect();
        let selected = selector.select("security", &candidates, 100_000);
        assert_eq!(selected.len(), MAX_SCORED);
        assert_eq!(selected[0].id, "rules/r00");
    }
}
