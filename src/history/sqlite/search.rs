//! Full-text search on the SQLite index, bounded whatever the number of matches: FTS5 finds
//! the [`CANDIDATES`] most recently created matches (its doclists are in row order, so that is
//! a walk from their end), they are ranked here with BM25 over that set, and matches are counted
//! up to [`COUNT_CAP`] ("1,000+"). Snippets are built for the returned page only.

use rusqlite::types::Value;

use super::{SqliteRepository, filters};
use crate::history::{
    HistoryError, ListOptions, Page, SEARCH_CANDIDATES as CANDIDATES,
    SEARCH_COUNT_CAP as COUNT_CAP, SearchHit, snippet,
};

/// BM25's usual constants: term-frequency saturation and length normalisation.
const K1: f64 = 1.2;
const B: f64 = 0.75;

pub(super) fn search(
    repo: &SqliteRepository,
    query: &str,
    options: &ListOptions,
) -> Result<Page<SearchHit>, HistoryError> {
    let Some(matcher) = fts_query(query) else {
        return Ok(Page::exact(Vec::new(), 0));
    };
    let (conditions, values) = filters(options, &repo.author);
    let mut params = vec![Value::Text(matcher)];
    params.extend(values);
    // One pass over the index finds the matches to count and, newest first, the candidates
    // (a prefix's doclists are merged once per statement, the main cost of a common prefix).
    // Without filters the full-text index alone answers it.
    let sql = if conditions.is_empty() {
        format!(
            "SELECT rowid FROM compositions_fts WHERE compositions_fts MATCH ?
             ORDER BY rowid DESC LIMIT {}",
            COUNT_CAP + 1
        )
    } else {
        format!(
            "SELECT c.pk FROM compositions_fts JOIN compositions c ON c.pk = compositions_fts.rowid
             WHERE compositions_fts MATCH ?{conditions}
             ORDER BY compositions_fts.rowid DESC LIMIT {}",
            COUNT_CAP + 1
        )
    };
    let conn = repo.reader();
    let matches = conn
        .prepare(&sql)?
        .query_map(rusqlite::params_from_iter(params.iter()), |row| {
            row.get::<_, i64>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let counted = matches.len();
    let candidates = contents(&conn, &matches[..counted.min(CANDIDATES)])?;
    let words = snippet::query_words(query);
    let ranked = rank(&candidates, &words);
    let page: Vec<(usize, f64)> = ranked
        .into_iter()
        .skip(options.offset)
        .take(options.limit)
        .collect();
    let mut summaries = repo.summaries_by_pk(&conn, page.iter().map(|(i, _)| candidates[*i].0))?;
    let items = page
        .into_iter()
        .filter_map(|(i, score)| {
            let (pk, content) = &candidates[i];
            Some(SearchHit {
                summary: summaries.remove(pk)?,
                score,
                snippet: snippet::build(content, &words),
            })
        })
        .collect();
    Ok(Page {
        items,
        total: counted.min(COUNT_CAP),
        capped: counted > COUNT_CAP,
    })
}

/// The content of the compositions with these row keys.
fn contents(conn: &rusqlite::Connection, pks: &[i64]) -> Result<Vec<(i64, String)>, HistoryError> {
    if pks.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; pks.len()].join(", ");
    let rows = conn
        .prepare(&format!(
            "SELECT pk, content FROM compositions WHERE pk IN ({marks})"
        ))?
        .query_map(rusqlite::params_from_iter(pks.iter()), |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The FTS5 query for user words: each word a quoted string (nothing reaches FTS5's query
/// syntax), all required, the last a prefix (the word being typed). `None` without a word.
fn fts_query(query: &str) -> Option<String> {
    // FTS5 reads the query as a C string: a NUL would end it inside a quoted word.
    let query = query.replace('\0', " ");
    let words: Vec<&str> = query.split_whitespace().collect();
    let last = words.len().checked_sub(1)?;
    let terms: Vec<String> = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let star = if i == last { "*" } else { "" };
            format!("\"{}\"{star}", w.replace('"', "\"\""))
        })
        .collect();
    Some(terms.join(" "))
}

/// Candidates ranked by BM25 over the candidate set, best first, as `(index, score)` with SQLite's
/// convention (lower is better); ties go to the newer composition. Every word but the last must
/// equal a word of the text and the last may begin one, as in [`fts_query`]; words are folded
/// like the FTS5 tokenizer folds them. Lengths are in bytes: only their ratio to the average
/// matters.
fn rank(candidates: &[(i64, String)], words: &[String]) -> Vec<(usize, f64)> {
    let terms: Vec<String> = words.iter().map(|w| snippet::fold(w)).collect();
    let counts: Vec<Vec<usize>> = candidates
        .iter()
        .map(|(_, text)| occurrences(text, &terms))
        .collect();
    let n = candidates.len() as f64;
    let average = candidates.iter().map(|(_, t)| t.len() as f64).sum::<f64>() / n.max(1.0);
    let idf: Vec<f64> = (0..terms.len())
        .map(|i| {
            let having = counts.iter().filter(|tf| tf[i] > 0).count() as f64;
            (1.0 + (n - having + 0.5) / (having + 0.5)).ln()
        })
        .collect();
    let mut ranked: Vec<(usize, f64)> = candidates
        .iter()
        .zip(&counts)
        .enumerate()
        .map(|(i, ((_, text), tf))| {
            let norm = K1 * (1.0 - B + B * text.len() as f64 / average.max(1.0));
            let score: f64 = tf
                .iter()
                .zip(&idf)
                .map(|(&f, idf)| idf * (f as f64 * (K1 + 1.0)) / (f as f64 + norm))
                .sum();
            (i, -score)
        })
        .collect();
    let pk = |i: usize| candidates[i].0;
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(pk(b.0).cmp(&pk(a.0))));
    ranked
}

/// How often each folded term occurs in `text` as a word (the last term: as a word's start).
/// ASCII text, most compositions, is searched with `memmem` in a lower-cased copy; other text
/// is folded word by word.
fn occurrences(text: &str, terms: &[String]) -> Vec<usize> {
    let last = terms.len().saturating_sub(1);
    if !text.is_ascii() {
        let mut tf = vec![0; terms.len()];
        for range in snippet::word_ranges(text) {
            let word = snippet::fold(&text[range]);
            for (i, term) in terms.iter().enumerate() {
                let hit = if i == last {
                    word.starts_with(term.as_str())
                } else {
                    word == *term
                };
                tf[i] += usize::from(hit);
            }
        }
        return tf;
    }
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let inside_word = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_alphanumeric);
    terms
        .iter()
        .enumerate()
        .map(|(i, term)| {
            memchr::memmem::find_iter(bytes, term.as_bytes())
                .filter(|&at| at == 0 || !inside_word(at - 1))
                .filter(|&at| i == last || !inside_word(at + term.len()))
                .count()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::CompositionRepository;
    use crate::history::testing::{record, repo};

    #[test]
    fn matches_are_counted_up_to_the_cap_and_the_newest_ranked() {
        let (_dir, repo) = repo();
        let older: Vec<_> = (0..COUNT_CAP + 5)
            .map(|i| record(&format!("c{i}"), &format!("common note {i}"), i as i64))
            .collect();
        repo.save_many(&older).unwrap();
        repo.save(&record("best", "Common, common, common.", 0))
            .unwrap();
        let page = repo.search("common", &ListOptions::default()).unwrap();
        assert_eq!((page.total, page.capped), (COUNT_CAP, true));
        assert_eq!(page.items[0].summary.id, "best");
        assert_eq!(
            page.items[0].snippet.marked("[", "]"),
            "[Common], [common], [common]"
        );
        // Past the candidates there is nothing to page to.
        let past = ListOptions {
            offset: CANDIDATES,
            ..ListOptions::default()
        };
        assert!(repo.search("common", &past).unwrap().items.is_empty());
        let few = repo.search("note 100", &ListOptions::default()).unwrap();
        // "100" is a prefix: 100 and 1000–1004.
        assert_eq!((few.total, few.capped), (6, false));
        assert_eq!(few.items.len(), 6);
    }

    fn ranked(texts: &[&str], query: &str) -> Vec<i64> {
        let candidates: Vec<(i64, String)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (i as i64, t.to_string()))
            .collect();
        rank(&candidates, &snippet::query_words(query))
            .into_iter()
            .map(|(i, _)| candidates[i].0)
            .collect()
    }

    #[test]
    fn more_occurrences_in_a_shorter_text_rank_first() {
        let texts = [
            "review the plan and then some other long words that dilute it a lot more",
            "review review the plan",
            "a plan to review",
        ];
        assert_eq!(ranked(&texts, "review"), [1, 2, 0]);
    }

    #[test]
    fn the_last_word_is_a_prefix_and_accents_fold() {
        let texts = [
            "Résumé of the meeting",
            "resumes everywhere resume",
            "nothing",
        ];
        assert_eq!(ranked(&texts, "RESUM"), [1, 0, 2]);
        // Earlier words match whole words only.
        assert_eq!(ranked(&texts, "resum meeting")[0], 0);
    }

    #[test]
    fn ties_go_to_the_newer_composition() {
        assert_eq!(
            ranked(&["same text", "same text", "same text"], "same"),
            [2, 1, 0]
        );
    }

    #[test]
    fn queries_quote_every_word_and_the_last_is_a_prefix() {
        assert_eq!(
            fts_query("a \"b\" c").unwrap(),
            "\"a\" \"\"\"b\"\"\" \"c\"*"
        );
        assert_eq!(fts_query("x\0y").unwrap(), "\"x\" \"y\"*");
        assert_eq!(fts_query("   "), None);
    }
}
