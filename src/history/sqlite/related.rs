//! Related compositions and prompts used together, answered with joins over the prompt, tag
//! and composition tables (the graph backend walks its edges instead; both rank the same way).

use rusqlite::params;

use super::{SUMMARY_COLUMNS, SqliteRepository, summary_from_row};
use crate::history::{
    HistoryError, PromptPairing, RELATED_LIMIT_MAX, RELATED_PROMPT_WEIGHT, RELATED_TAG_WEIGHT,
    RELATED_WORKSPACE_WEIGHT, RelatedComposition,
};

/// Column of the shared-prompt count after [`SUMMARY_COLUMNS`].
const EXTRA: usize = 12;

pub(super) fn related(
    repo: &SqliteRepository,
    id: &str,
    limit: usize,
) -> Result<Vec<RelatedComposition>, HistoryError> {
    let conn = repo.reader();
    let sql = format!(
        "WITH shared(id, kind) AS (
             SELECT o.composition_id, 'p' FROM composition_prompts m
             JOIN composition_prompts o
               ON o.prompt_id = m.prompt_id AND o.composition_id <> m.composition_id
             WHERE m.composition_id = ?1
             UNION ALL
             SELECT o.composition_id, 't' FROM composition_tags m
             JOIN composition_tags o
               ON o.tag_id = m.tag_id AND o.composition_id <> m.composition_id
             WHERE m.composition_id = ?1
             UNION ALL
             SELECT c.id, 'w' FROM compositions me
             JOIN compositions c ON c.working_dir = me.working_dir AND c.id <> me.id
             WHERE me.id = ?1
         ),
         scored AS (
             SELECT id, SUM(kind = 'p') AS prompts, SUM(kind = 't') AS tags,
                    MAX(kind = 'w') AS workspace
             FROM shared GROUP BY id
         )
         SELECT {SUMMARY_COLUMNS}, s.prompts, s.tags, s.workspace
         FROM scored s JOIN compositions c ON c.id = s.id
         ORDER BY s.prompts * ?3 + s.tags * ?4 + s.workspace * ?5 DESC, c.updated_at DESC, c.id
         LIMIT ?2"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(
            params![
                id,
                limit.min(RELATED_LIMIT_MAX) as i64,
                RELATED_PROMPT_WEIGHT,
                RELATED_TAG_WEIGHT,
                RELATED_WORKSPACE_WEIGHT
            ],
            |row| {
                let prompts = row.get::<_, i64>(EXTRA)?.max(0) as usize;
                let tags = row.get::<_, i64>(EXTRA + 1)?.max(0) as usize;
                let same_workspace = row.get::<_, i64>(EXTRA + 2)? > 0;
                Ok(RelatedComposition {
                    summary: summary_from_row(row, &repo.author)?,
                    score: RelatedComposition::score_of(prompts, tags, same_workspace),
                    shared_prompts: prompts,
                    shared_tags: tags,
                    same_workspace,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn used_together(
    repo: &SqliteRepository,
    prompt_id: &str,
    limit: usize,
) -> Result<Vec<PromptPairing>, HistoryError> {
    let conn = repo.reader();
    let mut stmt = conn.prepare(
        "SELECT o.prompt_id, COUNT(DISTINCT o.composition_id) AS n FROM composition_prompts m
         JOIN composition_prompts o
           ON o.composition_id = m.composition_id AND o.prompt_id <> m.prompt_id
         WHERE m.prompt_id = ?1
         GROUP BY o.prompt_id ORDER BY n DESC, o.prompt_id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(
            params![prompt_id, limit.min(RELATED_LIMIT_MAX) as i64],
            |row| {
                Ok(PromptPairing {
                    prompt_id: row.get(0)?,
                    compositions: row.get::<_, i64>(1)?.max(0) as usize,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
