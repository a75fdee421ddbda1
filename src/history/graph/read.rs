//! Reads from the graph: load, list, full-text search (FalkorDB's full-text index finds and
//! scores; snippets are built here for the returned page only), stats, export and the questions
//! only a graph answers directly: related compositions and prompts used together.

use std::path::Path;

use super::{
    GraphRepository, Params, SUMMARY, SUMMARY_WIDTH, Value, as_count, as_i64, as_opt_str, as_str,
    as_strings, int, opt_path, strings, text,
};
use crate::history::{
    Composition, CompositionExport, CompositionRecord, CompositionSummary, FileStamp, HistoryError,
    HistoryStats, ListOptions, Page, PromptPairing, RELATED_LIMIT_MAX, RELATED_PROMPT_WEIGHT,
    RELATED_TAG_WEIGHT, RELATED_WORKSPACE_WEIGHT, RelatedComposition, SEARCH_CANDIDATES,
    SEARCH_COUNT_CAP, SearchHit, SortOrder, VersionInfo, VersionRecord, from_millis, snippet,
};

/// Cypher conditions (on node `c`) for the filters of `options`, with their parameters.
fn filters(options: &ListOptions) -> (String, Params) {
    let mut sql = String::new();
    let mut params: Params = Vec::new();
    if let Some(dir) = &options.working_dir {
        sql.push_str(" AND c.working_dir = $f_dir");
        params.push(("f_dir", opt_path(Some(dir))));
    }
    if let Some(from) = options.updated_from {
        sql.push_str(" AND c.updated_at >= $f_from");
        params.push(("f_from", Value::I64(crate::history::to_millis(from))));
    }
    if let Some(until) = options.updated_until {
        sql.push_str(" AND c.updated_at < $f_until");
        params.push(("f_until", Value::I64(crate::history::to_millis(until))));
    }
    if !options.tags.is_empty() {
        sql.push_str(" AND all(t IN $f_tags WHERE t IN c.tags)");
        params.push(("f_tags", strings(&options.tags)));
    }
    if let Some(author) = &options.author {
        sql.push_str(" AND c.author = $f_author");
        params.push(("f_author", text(author)));
    }
    (sql, params)
}

fn order_by(sort: SortOrder) -> &'static str {
    match sort {
        SortOrder::UpdatedDesc => "c.updated_at DESC, c.id DESC",
        SortOrder::UpdatedAsc => "c.updated_at ASC, c.id ASC",
        SortOrder::CreatedDesc => "c.created_at DESC, c.id DESC",
        SortOrder::CreatedAsc => "c.created_at ASC, c.id ASC",
    }
}

/// Paging parameters, bounded to what the server takes.
fn paging(options: &ListOptions) -> Params {
    let bound = |n: usize| int(n.min(i64::MAX as usize / 2));
    vec![
        ("skip", bound(options.offset)),
        ("limit", bound(options.limit)),
    ]
}

pub(super) fn load(repo: &GraphRepository, id: &str) -> Result<Option<Composition>, HistoryError> {
    let rows = repo.run(
        &format!("MATCH (c:Composition {{key: $key}}) RETURN {SUMMARY}, c.content"),
        vec![("key", Value::String(repo.key_of(id)))],
    )?;
    Ok(rows.first().map(|r| Composition {
        summary: repo.summary(r),
        content: as_str(&r[SUMMARY_WIDTH]),
    }))
}

pub(super) fn find_by_source(
    repo: &GraphRepository,
    source_path: &Path,
) -> Result<Option<CompositionSummary>, HistoryError> {
    let rows = repo.run(
        &format!(
            "MATCH (c:Composition {{origin: $origin, source_path: $source}})
             RETURN {SUMMARY} ORDER BY c.updated_at DESC LIMIT 1"
        ),
        vec![
            ("origin", text(&repo.identity.origin)),
            ("source", opt_path(Some(source_path))),
        ],
    )?;
    Ok(rows.first().map(|r| repo.summary(r)))
}

pub(super) fn list(
    repo: &GraphRepository,
    options: &ListOptions,
) -> Result<Page<CompositionSummary>, HistoryError> {
    let (conditions, params) = filters(options);
    let mut page_params = params.clone();
    page_params.extend(paging(options));
    let items = repo
        .run(
            &format!(
                "MATCH (c:Composition) WHERE true{conditions}
                 RETURN {SUMMARY} ORDER BY {} SKIP $skip LIMIT $limit",
                order_by(options.sort)
            ),
            page_params,
        )?
        .iter()
        .map(|r| repo.summary(r))
        .collect();
    let counted = repo.run(
        &format!("MATCH (c:Composition) WHERE true{conditions} RETURN count(c)"),
        params,
    )?;
    let total = counted.first().map_or(0, |r| as_count(&r[0]));
    Ok(Page::exact(items, total))
}

/// The full-text query for `words`: all of them, the last one as a prefix (the word being
/// typed). Only letters and digits reach it (see [`snippet::query_words`]).
fn fulltext_query(words: &[String]) -> String {
    let mut query = words.join(" ");
    if words.last().is_some_and(|w| w.chars().count() >= 2) {
        query.push('*');
    }
    query
}

// Filters go on the YIELD itself: FalkorDB 4 evaluates a list predicate (`all(...)`) in a
// WHERE after `WITH node AS c` to false.
const MATCHES: &str =
    "CALL db.idx.fulltext.queryNodes('Composition', $query) YIELD node AS c, score WHERE true";

pub(super) fn search(
    repo: &GraphRepository,
    query: &str,
    options: &ListOptions,
) -> Result<Page<SearchHit>, HistoryError> {
    let words = snippet::query_words(query);
    if words.is_empty() {
        return Ok(Page::exact(Vec::new(), 0));
    }
    let (conditions, mut params) = filters(options);
    params.push(("query", Value::String(fulltext_query(&words))));
    // Counting stops at the cap, and only the most recent matches are ranked (as on SQLite and
    // PostgreSQL), so a common word does not sort the whole history by score.
    let counted = repo.run(
        &format!(
            "{MATCHES}{conditions} WITH c LIMIT {} RETURN count(c)",
            SEARCH_COUNT_CAP + 1
        ),
        params.clone(),
    )?;
    let counted = counted.first().map_or(0, |r| as_count(&r[0]));
    let total = counted.min(SEARCH_COUNT_CAP);
    let capped = counted > SEARCH_COUNT_CAP;
    if total <= options.offset {
        return Ok(Page {
            items: Vec::new(),
            total,
            capped,
        });
    }
    params.extend(paging(options));
    let rows = repo.run(
        &format!(
            "{MATCHES}{conditions}
             WITH c, score ORDER BY c.updated_at DESC LIMIT {SEARCH_CANDIDATES}
             RETURN {SUMMARY}, score, c.content
             ORDER BY score DESC, c.updated_at DESC, c.id SKIP $skip LIMIT $limit"
        ),
        params,
    )?;
    let items = rows
        .iter()
        .map(|r| SearchHit {
            summary: repo.summary(r),
            score: -match &r[SUMMARY_WIDTH] {
                Value::F64(f) => *f,
                other => as_i64(other) as f64,
            },
            snippet: snippet::build(&as_str(&r[SUMMARY_WIDTH + 1]), &words),
        })
        .collect();
    Ok(Page {
        items,
        total,
        capped,
    })
}

pub(super) fn versions(repo: &GraphRepository, id: &str) -> Result<Vec<VersionInfo>, HistoryError> {
    let rows = repo.run(
        "MATCH (v:Version {key: $key})
         RETURN v.version, v.saved_at, v.content_hash, v.characters ORDER BY v.version",
        vec![("key", Value::String(repo.key_of(id)))],
    )?;
    Ok(rows
        .iter()
        .map(|r| VersionInfo {
            version: u32::try_from(as_i64(&r[0])).unwrap_or(0),
            saved_at: from_millis(as_i64(&r[1])),
            content_hash: as_str(&r[2]),
            characters: as_count(&r[3]),
        })
        .collect())
}

pub(super) fn stats(repo: &GraphRepository) -> Result<HistoryStats, HistoryError> {
    let own = || vec![("origin", text(&repo.identity.origin))];
    let one = |cypher: &str, params: Params| -> Result<Vec<Value>, HistoryError> {
        Ok(repo
            .run(cypher, params)?
            .into_iter()
            .next()
            .unwrap_or_default())
    };
    let totals = one(
        "MATCH (c:Composition {origin: $origin})
         RETURN count(c), sum(c.characters), min(c.created_at), max(c.updated_at)",
        own(),
    )?;
    let count_of = |cypher: &str, params: Params| -> Result<usize, HistoryError> {
        Ok(one(cypher, params)?.first().map_or(0, as_count))
    };
    let time = |v: Option<&Value>| match v {
        Some(Value::I64(ms)) => Some(from_millis(*ms)),
        _ => None,
    };
    Ok(HistoryStats {
        compositions: totals.first().map_or(0, as_count),
        characters: totals.get(1).map_or(0, |v| as_i64(v).max(0) as u64),
        oldest: time(totals.get(2)),
        newest: time(totals.get(3)),
        versions: count_of(
            "MATCH (:Composition {origin: $origin})-[:HAS_VERSION]->(v:Version) RETURN count(v)",
            own(),
        )?,
        tags: count_of(
            "MATCH (:Composition {origin: $origin})-[:TAGGED]->(t:Tag) RETURN count(DISTINCT t)",
            own(),
        )?,
        prompt_uses: count_of(
            "MATCH (:Composition {origin: $origin})-[u:USES]->(:Prompt) RETURN count(u)",
            own(),
        )?,
        placeholder_values: count_of("MATCH (v:PlaceholderValue) RETURN count(v)", Vec::new())?,
        everyone: Some(count_of(
            "MATCH (c:Composition) RETURN count(c)",
            Vec::new(),
        )?),
    })
}

pub(super) fn export(
    repo: &GraphRepository,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<CompositionExport>, HistoryError> {
    let rows = repo.run(
        "MATCH (c:Composition {origin: $origin}) WHERE $after IS NULL OR c.id > $after
         WITH c ORDER BY c.id LIMIT $limit
         RETURN c.id, c.file_name, c.source_path, c.working_dir, c.created_at, c.updated_at,
                c.content, c.tags, c.file_size, c.file_mtime,
                [(c)-[:HAS_VERSION]->(v:Version) | [v.version, v.saved_at, v.content, v.content_hash]],
                [(c)-[u:USES]->(p:Prompt) | [p.id, u.used_at]]
         ORDER BY c.id",
        vec![
            ("origin", text(&repo.identity.origin)),
            ("after", after.map_or(Value::None, text)),
            ("limit", int(limit.min(i64::MAX as usize))),
        ],
    )?;
    let pairs = |v: &Value| match v {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Array(fields) => fields.clone(),
                _ => Vec::new(),
            })
            .filter(|fields| !fields.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    Ok(rows
        .iter()
        .map(|r| {
            let mut versions: Vec<Vec<Value>> = pairs(&r[10]);
            versions.sort_by_key(|v| as_i64(&v[0]));
            let mut tags = as_strings(&r[7]);
            tags.sort();
            CompositionExport {
                record: CompositionRecord {
                    id: as_str(&r[0]),
                    file_name: as_str(&r[1]),
                    source_path: as_opt_str(&r[2]).map(Into::into),
                    working_dir: as_opt_str(&r[3]).map(Into::into),
                    created_at: from_millis(as_i64(&r[4])),
                    updated_at: from_millis(as_i64(&r[5])),
                    content: as_str(&r[6]),
                    tags,
                    file_stamp: match (&r[8], &r[9]) {
                        (Value::I64(size), Value::I64(modified_ns)) => Some(FileStamp {
                            size: u64::try_from(*size).unwrap_or(0),
                            modified_ns: *modified_ns,
                        }),
                        _ => None,
                    },
                },
                versions: versions
                    .iter()
                    .map(|v| VersionRecord {
                        saved_at: from_millis(as_i64(&v[1])),
                        content: as_str(&v[2]),
                        content_hash: as_str(&v[3]),
                    })
                    .collect(),
                prompt_uses: pairs(&r[11])
                    .iter()
                    .map(|u| (as_str(&u[0]), from_millis(as_i64(&u[1]))))
                    .collect(),
            }
        })
        .collect())
}

pub(super) fn related(
    repo: &GraphRepository,
    id: &str,
    limit: usize,
) -> Result<Vec<RelatedComposition>, HistoryError> {
    let rows = repo.run(
        &format!(
            "MATCH (me:Composition {{key: $key}})-[r:USES|TAGGED|IN]->(n)<-[r2:USES|TAGGED|IN]-(c:Composition)
             WHERE c <> me AND type(r) = type(r2)
             WITH c,
                  sum(CASE WHEN type(r) = 'USES' THEN 1 ELSE 0 END) AS prompts,
                  sum(CASE WHEN type(r) = 'TAGGED' THEN 1 ELSE 0 END) AS tags,
                  sum(CASE WHEN type(r) = 'IN' THEN 1 ELSE 0 END) AS workspace
             WITH c, prompts, tags, workspace,
                  prompts * $prompt_weight + tags * $tag_weight + workspace * $workspace_weight AS score
             RETURN {SUMMARY}, prompts, tags, workspace
             ORDER BY score DESC, c.updated_at DESC, c.id LIMIT $limit"
        ),
        vec![
            ("key", Value::String(repo.key_of(id))),
            ("prompt_weight", int(RELATED_PROMPT_WEIGHT)),
            ("tag_weight", int(RELATED_TAG_WEIGHT)),
            ("workspace_weight", int(RELATED_WORKSPACE_WEIGHT)),
            ("limit", int(limit.min(RELATED_LIMIT_MAX))),
        ],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let (prompts, tags) = (as_count(&r[SUMMARY_WIDTH]), as_count(&r[SUMMARY_WIDTH + 1]));
            let same_workspace = as_count(&r[SUMMARY_WIDTH + 2]) > 0;
            RelatedComposition {
                summary: repo.summary(r),
                score: RelatedComposition::score_of(prompts, tags, same_workspace),
                shared_prompts: prompts,
                shared_tags: tags,
                same_workspace,
            }
        })
        .collect())
}

pub(super) fn used_together(
    repo: &GraphRepository,
    prompt_id: &str,
    limit: usize,
) -> Result<Vec<PromptPairing>, HistoryError> {
    let rows = repo.run(
        "MATCH (p:Prompt {id: $prompt})<-[:USES]-(c:Composition)-[:USES]->(q:Prompt)
         WHERE q <> p
         RETURN q.id, count(DISTINCT c) AS n ORDER BY n DESC, q.id LIMIT $limit",
        vec![
            ("prompt", text(prompt_id)),
            ("limit", int(limit.min(RELATED_LIMIT_MAX))),
        ],
    )?;
    Ok(rows
        .iter()
        .map(|r| PromptPairing {
            prompt_id: as_str(&r[0]),
            compositions: as_count(&r[1]),
        })
        .collect())
}
