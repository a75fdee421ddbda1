//! Related compositions and prompts used together on the team database, with joins (ranked as
//! the graph backend ranks them). Everyone's compositions take part, as in search.

use super::{PostgresRepository, SUMMARY_COLUMNS, SUMMARY_WIDTH, clean, count, limit};
use crate::history::{
    HistoryError, PromptPairing, RELATED_LIMIT_MAX, RELATED_PROMPT_WEIGHT, RELATED_TAG_WEIGHT,
    RELATED_WORKSPACE_WEIGHT, RelatedComposition,
};

pub(super) fn related(
    repo: &PostgresRepository,
    id: &str,
    limit_to: usize,
) -> Result<Vec<RelatedComposition>, HistoryError> {
    let (origin, bare) = repo.key(id);
    let sql = format!(
        "WITH me AS (SELECT origin, id, working_dir, tags FROM compositions
                     WHERE origin = $1 AND id = $2),
         shared AS (
             SELECT o.origin, o.id, 'p' AS kind FROM composition_prompts m
             JOIN composition_prompts o
               ON o.prompt_id = m.prompt_id AND (o.origin, o.id) <> (m.origin, m.id)
             WHERE m.origin = $1 AND m.id = $2
             UNION ALL
             SELECT c.origin, c.id, 't' FROM me, unnest(me.tags) t
             JOIN compositions c ON t = ANY(c.tags)
             WHERE (c.origin, c.id) <> (me.origin, me.id)
             UNION ALL
             SELECT c.origin, c.id, 'w' FROM me
             JOIN compositions c ON c.working_dir = me.working_dir
             WHERE (c.origin, c.id) <> (me.origin, me.id)
         ),
         scored AS (
             SELECT origin, id,
                    COUNT(*) FILTER (WHERE kind = 'p') AS prompts,
                    COUNT(*) FILTER (WHERE kind = 't') AS tags,
                    COUNT(*) FILTER (WHERE kind = 'w') > 0 AS workspace
             FROM shared GROUP BY origin, id
         )
         SELECT {SUMMARY_COLUMNS}, s.prompts, s.tags, s.workspace
         FROM scored s JOIN compositions c ON c.origin = s.origin AND c.id = s.id
         ORDER BY s.prompts * $4::int8 + s.tags * $5::int8 + s.workspace::int4 * $6::int8 DESC,
                  c.updated_at DESC, c.id
         LIMIT $3"
    );
    let weight = |w: u32| i64::from(w);
    let rows = repo.query(
        &sql,
        &[
            &origin,
            &bare,
            &limit(limit_to.min(RELATED_LIMIT_MAX)),
            &weight(RELATED_PROMPT_WEIGHT),
            &weight(RELATED_TAG_WEIGHT),
            &weight(RELATED_WORKSPACE_WEIGHT),
        ],
    )?;
    Ok(rows
        .iter()
        .map(|row| {
            let prompts = count(row.get(SUMMARY_WIDTH));
            let tags = count(row.get(SUMMARY_WIDTH + 1));
            let same_workspace: bool = row.get(SUMMARY_WIDTH + 2);
            RelatedComposition {
                summary: repo.summary_from_row(row),
                score: RelatedComposition::score_of(prompts, tags, same_workspace),
                shared_prompts: prompts,
                shared_tags: tags,
                same_workspace,
            }
        })
        .collect())
}

pub(super) fn used_together(
    repo: &PostgresRepository,
    prompt_id: &str,
    limit_to: usize,
) -> Result<Vec<PromptPairing>, HistoryError> {
    let rows = repo.query(
        "SELECT o.prompt_id, COUNT(*) AS n FROM composition_prompts m
         JOIN composition_prompts o
           ON o.origin = m.origin AND o.id = m.id AND o.prompt_id <> m.prompt_id
         WHERE m.prompt_id = $1
         GROUP BY o.prompt_id ORDER BY n DESC, o.prompt_id LIMIT $2",
        &[&clean(prompt_id), &limit(limit_to.min(RELATED_LIMIT_MAX))],
    )?;
    Ok(rows
        .iter()
        .map(|row| PromptPairing {
            prompt_id: row.get(0),
            compositions: count(row.get(1)),
        })
        .collect())
}
