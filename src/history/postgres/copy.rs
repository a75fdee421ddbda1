//! Export and import of whole compositions (rows, versions, prompt uses) for `storage copy`.

use std::collections::HashMap;

use postgres::GenericClient;
use time::OffsetDateTime;

use super::{PostgresRepository, clean, db_error, limit};
use crate::history::{
    CompositionExport, CompositionRecord, FileStamp, HistoryError, ImportReport, VersionRecord,
    merge_versions,
};

pub(super) fn export(
    repo: &PostgresRepository,
    after: Option<&str>,
    limit_to: usize,
) -> Result<Vec<CompositionExport>, HistoryError> {
    let origin = &repo.identity.origin;
    repo.pool.run(|conn| {
        let client = &mut conn.client;
        let rows = client
            .query(
                "SELECT id, file_path, source_path, working_dir, created_at, updated_at, content,
                        tags, file_size, file_mtime
                 FROM compositions WHERE origin = $1 AND ($2::text IS NULL OR id > $2)
                 ORDER BY id LIMIT $3",
                &[origin, &after.map(clean), &limit(limit_to)],
            )
            .map_err(db_error)?;
        let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let mut versions: HashMap<String, Vec<VersionRecord>> = HashMap::new();
        for r in client
            .query(
                "SELECT id, saved_at, content, content_hash FROM composition_versions
                 WHERE origin = $1 AND id = ANY($2) ORDER BY id, version",
                &[origin, &ids],
            )
            .map_err(db_error)?
        {
            versions.entry(r.get(0)).or_default().push(VersionRecord {
                saved_at: r.get(1),
                content: r.get(2),
                content_hash: r.get(3),
            });
        }
        let mut uses: HashMap<String, Vec<(String, OffsetDateTime)>> = HashMap::new();
        for r in client
            .query(
                "SELECT id, prompt_id, used_at FROM composition_prompts
                 WHERE origin = $1 AND id = ANY($2) ORDER BY id, prompt_id",
                &[origin, &ids],
            )
            .map_err(db_error)?
        {
            uses.entry(r.get(0)).or_default().push((r.get(1), r.get(2)));
        }
        Ok(rows
            .iter()
            .map(|r| {
                let id: String = r.get(0);
                CompositionExport {
                    record: CompositionRecord {
                        id: id.clone(),
                        file_name: r.get(1),
                        source_path: r.get::<_, Option<String>>(2).map(Into::into),
                        working_dir: r.get::<_, Option<String>>(3).map(Into::into),
                        created_at: r.get(4),
                        updated_at: r.get(5),
                        content: r.get(6),
                        tags: r.get(7),
                        file_stamp: match (r.get::<_, Option<i64>>(8), r.get::<_, Option<i64>>(9)) {
                            (Some(size), Some(modified_ns)) => Some(FileStamp {
                                size: size.max(0) as u64,
                                modified_ns,
                            }),
                            _ => None,
                        },
                    },
                    versions: versions.remove(&id).unwrap_or_default(),
                    prompt_uses: uses.remove(&id).unwrap_or_default(),
                }
            })
            .collect())
    })
}

pub(super) fn import(
    repo: &PostgresRepository,
    items: &[CompositionExport],
) -> Result<ImportReport, HistoryError> {
    let origin = repo.identity.origin.clone();
    repo.in_transaction(|tx, prepared| {
        let mut report = ImportReport::default();
        for item in items {
            let record = &item.record;
            let id = clean(&record.id);
            let existing: Option<OffsetDateTime> = tx
                .query_opt(
                    "SELECT updated_at FROM compositions WHERE origin = $1 AND id = $2 FOR UPDATE",
                    &[&origin, &id],
                )?
                .map(|r| r.get(0));
            match existing {
                None => report.compositions_added += 1,
                Some(at) if at < record.updated_at => report.compositions_updated += 1,
                Some(_) => {}
            }
            let before = version_count(tx, &origin, &id)?;
            if existing.is_none_or(|at| at < record.updated_at) {
                repo.save_statement(tx, &prepared.save, std::slice::from_ref(record))?;
            }
            merge_into(tx, &origin, &id, &item.versions)?;
            report.versions_added += version_count(tx, &origin, &id)?.saturating_sub(before);
            for (prompt, used_at) in &item.prompt_uses {
                let row = tx.query_one(
                    "INSERT INTO composition_prompts (origin, id, prompt_id, used_at)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (origin, id, prompt_id) DO UPDATE
                         SET used_at = GREATEST(composition_prompts.used_at, excluded.used_at)
                     RETURNING (xmax = 0)",
                    &[&origin, &id, &clean(prompt), used_at],
                )?;
                if row.get::<_, bool>(0) {
                    report.prompt_uses_added += 1;
                }
            }
        }
        Ok(report)
    })
}

fn version_count(
    tx: &mut impl GenericClient,
    origin: &str,
    id: &str,
) -> Result<usize, postgres::Error> {
    let n: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM composition_versions WHERE origin = $1 AND id = $2",
            &[&origin, &id],
        )?
        .get(0);
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Unites `incoming` versions with the stored ones (renumbered in time order).
fn merge_into(
    tx: &mut impl GenericClient,
    origin: &str,
    id: &str,
    incoming: &[VersionRecord],
) -> Result<(), postgres::Error> {
    let existing: Vec<VersionRecord> = tx
        .query(
            "SELECT saved_at, content, content_hash FROM composition_versions
             WHERE origin = $1 AND id = $2 ORDER BY version",
            &[&origin, &id],
        )?
        .iter()
        .map(|r| VersionRecord {
            saved_at: r.get(0),
            content: r.get(1),
            content_hash: r.get(2),
        })
        .collect();
    let Some(merged) = merge_versions(&existing, incoming) else {
        return Ok(());
    };
    tx.execute(
        "DELETE FROM composition_versions WHERE origin = $1 AND id = $2",
        &[&origin, &id],
    )?;
    for (n, v) in merged.iter().enumerate() {
        tx.execute(
            "INSERT INTO composition_versions (origin, id, version, saved_at, content, content_hash)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &origin,
                &id,
                &(i32::try_from(n + 1).unwrap_or(i32::MAX)),
                &v.saved_at,
                &clean(&v.content),
                &v.content_hash,
            ],
        )?;
    }
    Ok(())
}
