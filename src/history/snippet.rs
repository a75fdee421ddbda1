//! Snippets built from a composition's text for a search page (SQLite ranks its candidates
//! itself, the graph's full-text index returns matches without excerpts). Only the returned
//! page is excerpted.

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use super::Snippet;

/// Words around the first match that a snippet shows (before it / in all).
const WORDS_BEFORE: usize = 8;
const WORDS_IN_SNIPPET: usize = 24;

/// The query's words: runs of letters and digits, lowercase, at most 32 of at most 64 characters
/// each (nothing else reaches an index's query parser, so no input can break its syntax).
pub fn query_words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(32)
        .map(|w| w.to_lowercase().chars().take(64).collect())
        .collect()
}

/// `word` as the full-text indexes compare it: lowercase, accents removed ("Résumé" → "resume"),
/// like SQLite's `unicode61 remove_diacritics 2` tokenizer.
pub fn fold(word: &str) -> String {
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    word.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Byte ranges of the words (runs of letters and digits) in `text`.
pub fn word_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = None;
    for (at, ch) in text.char_indices() {
        match (ch.is_alphanumeric(), start) {
            (true, None) => start = Some(at),
            (false, Some(s)) => {
                ranges.push(s..at);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        ranges.push(s..text.len());
    }
    ranges
}

/// A one-line excerpt of `content` around the first word that starts with one of `words`
/// (lowercase, from [`query_words`]), every such word highlighted; the opening words when none
/// matches.
pub fn build(content: &str, words: &[String]) -> Snippet {
    let ranges = word_ranges(content);
    let words: Vec<String> = words.iter().map(|w| fold(w)).collect();
    let matches = |r: &std::ops::Range<usize>| {
        let word = fold(&content[r.clone()]);
        words.iter().any(|w| word.starts_with(w.as_str()))
    };
    let first = ranges.iter().position(matches).unwrap_or(0);
    let from = first.saturating_sub(WORDS_BEFORE);
    let to = (from + WORDS_IN_SNIPPET).min(ranges.len());
    let Some(window) = ranges.get(from..to).filter(|w| !w.is_empty()) else {
        return Snippet {
            text: String::new(),
            highlights: Vec::new(),
        };
    };
    let (start, end) = (window[0].start, window[window.len() - 1].end);
    // Line breaks and tabs are one byte, as is the space replacing them: ranges stay valid.
    let text = content[start..end].replace(['\n', '\r', '\t'], " ");
    let highlights = window
        .iter()
        .filter(|r| matches(r))
        .map(|r| r.start - start..r.end - start)
        .collect();
    Snippet { text, highlights }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(content: &str, query: &str, want: &str) {
        let snippet = build(content, &query_words(query));
        assert_eq!(snippet.marked("[", "]"), want, "{content:?} / {query:?}");
    }

    #[test]
    fn snippets_highlight_the_query_words_around_the_first_match() {
        check(
            "Write a polite email to the team.",
            "polite",
            "Write a [polite] email to the team",
        );
        check(
            "Review\nthe PARSER; pars it",
            "pars",
            "Review the [PARSER]; [pars] it",
        );
        check("Le café est prêt", "CAFÉ", "Le [café] est prêt");
        check(
            "Résumé of the café",
            "resume cafe",
            "[Résumé] of the [café]",
        );
        check("nothing here", "absent", "nothing here");
        check("", "x", "");
        let long: String = (0..100).map(|i| format!("w{i} ")).collect();
        check(
            &long,
            "w50",
            "w42 w43 w44 w45 w46 w47 w48 w49 [w50] w51 w52 w53 w54 w55 w56 w57 w58 w59 w60 w61 w62 w63 w64 w65",
        );
    }

    #[test]
    fn query_words_are_bounded_and_lowercase() {
        assert_eq!(query_words("Foo-BAR's 42"), ["foo", "bar", "s", "42"]);
        assert!(query_words("'\"); -- :* ()").is_empty());
        assert_eq!(query_words(&"x".repeat(10_000))[0].len(), 64);
        assert_eq!(query_words(&"a ".repeat(100)).len(), 32);
    }
}
