//! Full-text search on the team database: the stored `tsvector` column and its GIN index find
//! the matches; only the most recent [`CANDIDATES`] of them are ranked (ranking every match of a
//! common word at a million rows is the slow path); snippets are built for the returned page.

use postgres::types::ToSql;

use super::{PostgresRepository, SUMMARY_COLUMNS, SUMMARY_WIDTH, as_params, count, filters, limit};
use crate::history::{HistoryError, ListOptions, Page, SearchHit, parse_snippet};

/// Matches ranked per query: the most recently updated ones. Ranking reads each candidate's
/// tsvector, so this bounds the cost of a query whatever the number of matches.
const CANDIDATES: i64 = crate::history::SEARCH_CANDIDATES as i64;

/// Turns user words into a `tsquery`: every run of letters and digits is a required lexeme and
/// the last one a prefix (the word being typed). Nothing else reaches the query parser, so no
/// input can break its syntax. `None` when there is no word.
pub fn ts_query(query: &str) -> Option<String> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("'{}'", w.to_lowercase()))
        .collect();
    let last = words.len().checked_sub(1)?;
    Some(
        words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == last {
                    format!("{w}:*")
                } else {
                    w.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" & "),
    )
}

/// Headline options: our highlight markers and one short excerpt (fragment mode costs ~3× as
/// much per document).
const HEADLINE: &str =
    "format('StartSel=%s, StopSel=%s, MaxWords=24, MinWords=10', chr(2), chr(3))";

pub(super) fn search(
    repo: &PostgresRepository,
    query: &str,
    options: &ListOptions,
) -> Result<Page<SearchHit>, HistoryError> {
    let Some(tsquery) = ts_query(query) else {
        return Ok(Page::exact(Vec::new(), 0));
    };
    let (conditions, params) = filters(options, 4);
    // The words are a constant of each plan (`plan_cache_mode = force_custom_plan`), so the
    // planner sees how common they are: for a rare word it reads the GIN index and sorts the
    // few matches; for a common one it walks `updated_at` backwards and stops at CANDIDATES.
    let candidates = format!(
        "SELECT c.origin, c.id, c.updated_at, c.search FROM compositions c
         WHERE c.search @@ to_tsquery('simple', $1){conditions}
         ORDER BY c.updated_at DESC LIMIT {CANDIDATES}"
    );
    // Ranked after the limit, and only ids and ranks kept: tsvectors are never sorted or copied.
    let sql = format!(
        "WITH ranked AS MATERIALIZED (
             SELECT origin, id, updated_at,
                    ts_rank_cd(search, to_tsquery('simple', $1), 1) AS rank
             FROM ({candidates}) candidates
         ),
         page AS MATERIALIZED (
             SELECT origin, id, updated_at, rank FROM ranked
             ORDER BY rank DESC, updated_at DESC, id LIMIT $2 OFFSET $3
         )
         SELECT {SUMMARY_COLUMNS}, p.rank,
                ts_headline('simple', c.content, to_tsquery('simple', $1), {HEADLINE}),
                (SELECT COUNT(*) FROM ranked)
         FROM page p JOIN compositions c ON c.origin = p.origin AND c.id = p.id
         ORDER BY p.rank DESC, p.updated_at DESC, p.id"
    );
    let (limit_to, offset) = (limit(options.limit), limit(options.offset));
    let mut all: Vec<&(dyn ToSql + Sync)> = vec![&tsquery, &limit_to, &offset];
    all.extend(as_params(&params));
    let rows = repo.query(&sql, &all)?;
    let total: i64 = match rows.first() {
        Some(row) => row.get(SUMMARY_WIDTH + 2),
        None => {
            // An empty page (past the end, or no match): count on its own.
            let (conditions, params) = filters(options, 2);
            let sql = format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM compositions c
                 WHERE c.search @@ to_tsquery('simple', $1){conditions} LIMIT {CANDIDATES}) t"
            );
            let mut all: Vec<&(dyn ToSql + Sync)> = vec![&tsquery];
            all.extend(as_params(&params));
            repo.query(&sql, &all)?[0].get(0)
        }
    };
    let items = rows
        .iter()
        .map(|row| SearchHit {
            summary: repo.summary_from_row(row),
            score: -f64::from(row.get::<_, f32>(SUMMARY_WIDTH)),
            snippet: parse_snippet(&row.get::<_, String>(SUMMARY_WIDTH + 1)),
        })
        .collect();
    Ok(Page {
        items,
        total: count(total),
        capped: total >= CANDIDATES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_lexemes_and_the_last_is_a_prefix() {
        let cases = [
            ("review", Some("'review':*")),
            ("Review the PLAN", Some("'review' & 'the' & 'plan':*")),
            ("foo-bar's", Some("'foo' & 'bar' & 's':*")),
            ("café 42", Some("'café' & '42':*")),
            ("'); DROP TABLE x; --", Some("'drop' & 'table' & 'x':*")),
            ("AND OR ! & | <-> :*", Some("'and' & 'or':*")),
            ("   ", None),
            ("?!", None),
        ];
        for (input, want) in cases {
            assert_eq!(ts_query(input).as_deref(), want, "{input:?}");
        }
    }
}
