//! Pieces every benchmark shares: a deterministic generator and percentiles.
#![allow(dead_code)] // Each bench uses a different part.

pub mod realistic;

/// Plain English filler words; benches take a prefix of the list so older figures stay comparable.
pub const FILLER: &[&str] = &[
    "the",
    "a",
    "with",
    "for",
    "and",
    "each",
    "every",
    "carefully",
    "briefly",
    "then",
    "before",
    "after",
    "list",
    "check",
    "write",
    "keep",
    "avoid",
    "prefer",
    "include",
    "describe",
    "make",
    "sure",
    "that",
    "this",
    "into",
    "from",
    "when",
    "only",
    "should",
    "must",
    "not",
    "all",
    "any",
    "use",
    "give",
    "show",
    "explain",
    "why",
    "how",
    "what",
    "clear",
    "short",
    "simple",
    "steps",
    "answer",
    "question",
    "example",
    "first",
    "next",
    "finally",
    "also",
    "please",
    "return",
    "output",
    "input",
    "user",
    "team",
    "project",
    "current",
    "new",
    "old",
    "change",
    "result",
];

/// A small deterministic generator (xorshift), so runs are comparable.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// Skewed towards the front of `items` (a rough Zipf head).
    pub fn pick_skewed<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let a = self.below(items.len());
        let b = self.below(items.len());
        items[a * b / items.len()]
    }
}

/// The `p` quantile (0.0–1.0) of sorted samples; zero when there are none.
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

/// Library categories of the generated prompts.
/// Placeholder names the generated prompts and compositions use.
pub const PLACEHOLDERS: &[&str] = &[
    "language",
    "audience",
    "goal",
    "context",
    "constraints",
    "examples",
    "files",
    "deadline",
    "tone",
    "format",
    "topic",
    "steps",
    "risks",
    "owner",
];

pub const CATEGORIES: &[&str] = &["commands", "workflows", "rules", "prompt-decorations"];
/// The topic words of generated prompts (titles, tags, bodies).
pub const WORDS: &[&str] = &[
    "review",
    "code",
    "release",
    "notes",
    "security",
    "test",
    "debug",
    "plan",
    "feature",
    "design",
    "document",
    "summary",
    "refactor",
    "performance",
    "database",
    "migration",
    "api",
    "error",
    "logging",
    "deploy",
    "incident",
    "postmortem",
    "onboarding",
    "checklist",
    "style",
    "commit",
    "message",
    "explain",
    "translate",
    "tone",
    "json",
    "table",
    "citation",
    "sources",
    "architecture",
    "latency",
    "memory",
    "cache",
    "index",
    "search",
    "query",
    "schema",
    "budget",
    "customer",
    "support",
    "email",
    "meeting",
    "agenda",
    "roadmap",
    "analysis",
    "risk",
    "audit",
];
