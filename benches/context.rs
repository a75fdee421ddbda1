//! Context selection benchmark: how long the scoring selector takes to choose a review's
//! context from a library of 10,000 prompts (1–3 KB, a vocabulary of thousands of words), in
//! process: the first selection (which also reads every prompt's keywords) and then p50/p99
//! over varied compositions.
//!
//! Run: `cargo bench --bench context` (sizes: `PROMPTSTACK_BENCH_SIZES=10000`).

mod common;

use common::{CATEGORIES, Rng, WORDS, percentile};
use std::time::{Duration, Instant};

use promptstack::ai::{CandidatePrompt, ContextSelector, ScoringSelector, TokenCounter};

/// The first 34 of the shared topic words: the figures in docs/performance.md were measured
/// with these.
fn topics() -> &'static [&'static str] {
    &WORDS[..34]
}
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ren", "sta", "por", "qui", "del", "va", "tor", "shi", "ban", "gle", "mo",
    "ter", "nu", "pla", "dri", "zen", "cor", "fa", "wil", "ost", "ique",
];

/// Thousands of distinct made-up words (2–4 syllables), so most body words are rare.
fn vocabulary() -> Vec<String> {
    let mut rng = Rng(0xC0FF_EE00_1234_5678);
    let mut words: Vec<String> = (0..12_000)
        .map(|_| (0..2 + rng.below(3)).map(|_| rng.pick(SYLLABLES)).collect())
        .collect();
    words.sort();
    words.dedup();
    words
}

fn text(rng: &mut Rng, vocabulary: &[&str], words: usize) -> String {
    let mut out = String::new();
    for i in 0..words {
        let word = match rng.below(10) {
            0 => rng.pick(topics()),
            1..=3 => rng.pick(common::FILLER),
            _ => rng.pick_skewed(vocabulary),
        };
        out.push_str(word);
        out.push(if i % 17 == 16 { '\n' } else { ' ' });
    }
    out
}

fn candidates(n: usize, vocabulary: &[&str]) -> Vec<CandidatePrompt> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|i| {
            let category = rng.pick(CATEGORIES);
            // ~150–450 words: 1–3 KB.
            let (title_words, description_words) = (2 + rng.below(3), 4 + rng.below(6));
            let words = 150 + rng.below(300);
            CandidatePrompt {
                id: format!("{category}/p{i}"),
                title: text(&mut rng, vocabulary, title_words).trim().to_string(),
                description: text(&mut rng, vocabulary, description_words)
                    .trim()
                    .to_string(),
                tags: (0..1 + rng.below(3))
                    .map(|_| rng.pick(topics()).to_string())
                    .collect(),
                category: category.to_string(),
                body: text(&mut rng, vocabulary, words),
                hash: format!("v1-{i}"),
                use_count: rng.below(5) as u32,
                last_used: None,
            }
        })
        .collect()
}

fn main() {
    let sizes: Vec<usize> = std::env::var("PROMPTSTACK_BENCH_SIZES")
        .unwrap_or_else(|_| "10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let vocabulary = vocabulary();
    let vocabulary: Vec<&str> = vocabulary.iter().map(String::as_str).collect();
    println!(
        "| prompts | first selection | selection p50 | selection p99 | prompts chosen (median) |"
    );
    println!("|---|---|---|---|---|");
    for n in sizes {
        let library = candidates(n, &vocabulary);
        let mut rng = Rng(7);
        // Compositions of 80–400 words; every tenth links to a prompt.
        let compositions: Vec<String> = (0..201)
            .map(|i| {
                let words = 80 + rng.below(320);
                let mut c = text(&mut rng, &vocabulary, words);
                if i % 10 == 0 {
                    c.push_str(&format!("\nSee @{}.", library[rng.below(n)].id));
                }
                c
            })
            .collect();
        let selector = ScoringSelector::new(TokenCounter::for_model("gpt-4o-mini"));
        let t = Instant::now();
        std::hint::black_box(selector.select(&compositions[0], &library, 8_000));
        let first = t.elapsed();
        let mut times: Vec<Duration> = Vec::new();
        let mut chosen = Vec::new();
        for composition in &compositions[1..] {
            let t = Instant::now();
            let selection = selector.select(composition, &library, 8_000);
            times.push(t.elapsed());
            chosen.push(selection.prompts.len());
        }
        times.sort();
        chosen.sort();
        println!(
            "| {n:>7} | {first:>8.1?} | {:>8.1?} | {:>8.1?} | {} |",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            percentile(&chosen, 0.5),
        );
    }
}
