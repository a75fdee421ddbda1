//! Writes to the graph: saves (idempotent upserts by key and content hash), deletes, prompt
//! uses, placeholder values and imports. Each is one query per batch, run atomically by FalkorDB.

use std::collections::HashMap;
use std::path::Path;

use time::OffsetDateTime;

use super::{GraphRepository, Value, as_count, as_i64, as_str, int, key, opt_path, strings, text};
use crate::document::TextStats;
use crate::history::identity::split_qualified;
use crate::history::{
    CompositionExport, CompositionRecord, HistoryError, ImportReport, PlaceholderValue,
    StoredVersion, VersionRecord, content_hash, from_millis, merge_versions, runs_without_repeats,
    title_of, to_millis,
};

/// Upserts every row of `$rows` (no key twice); a version is added when the content changed;
/// the `TAGGED` and `IN` links are replaced by the row's.
const SAVE: &str = "
UNWIND $rows AS r
OPTIONAL MATCH (old:Composition {key: r.key})
WITH r, old IS NULL AS created, coalesce(old.version, 0) AS prev, old.content_hash AS prev_hash
MERGE (c:Composition {key: r.key})
SET c.origin = $origin, c.id = r.id, c.author = $author, c.machine = $machine,
    c.file_name = r.file_name, c.source_path = r.source_path, c.working_dir = r.working_dir,
    c.created_at = r.created_at, c.updated_at = r.updated_at, c.content = r.content,
    c.characters = r.characters, c.lines = r.lines, c.content_hash = r.hash,
    c.file_size = r.file_size, c.file_mtime = r.file_mtime, c.tags = r.tags, c.title = r.title
WITH r, c, created, prev, (prev = 0 OR prev_hash <> r.hash) AS changed
SET c.version = CASE WHEN changed THEN prev + 1 ELSE prev END
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
    CREATE (c)-[:HAS_VERSION]->(:Version {key: r.key, version: prev + 1, saved_at: r.updated_at,
        content: r.content, content_hash: r.hash, characters: r.characters}))
WITH r, c, created, changed
OPTIONAL MATCH (c)-[link:TAGGED|IN]->()
DELETE link
WITH DISTINCT r, c, created, changed
FOREACH (name IN r.tags | MERGE (t:Tag {name: name}) MERGE (c)-[:TAGGED]->(t))
FOREACH (dir IN CASE WHEN r.working_dir IS NULL THEN [] ELSE [r.working_dir] END |
    MERGE (w:Workspace {path: dir}) MERGE (c)-[:IN]->(w))
RETURN r.ord, created, changed, c.version";

/// Most compositions one save query carries.
const SAVE_BATCH: usize = 500;

/// One record as the map [`SAVE`] reads.
fn row(origin: &str, ord: usize, r: &CompositionRecord) -> Value {
    let stats = TextStats::of(&r.content);
    let mut tags = r.tags.clone();
    tags.sort();
    tags.dedup();
    let fields: [(&str, Value); 15] = [
        ("ord", int(ord)),
        ("key", Value::String(key(origin, &r.id))),
        ("id", text(&r.id)),
        ("file_name", text(&r.file_name)),
        ("source_path", opt_path(r.source_path.as_deref())),
        ("working_dir", opt_path(r.working_dir.as_deref())),
        ("created_at", Value::I64(to_millis(r.created_at))),
        ("updated_at", Value::I64(to_millis(r.updated_at))),
        ("content", text(&r.content)),
        ("characters", int(stats.characters)),
        ("lines", int(stats.lines)),
        ("hash", Value::String(content_hash(&r.content))),
        (
            "file_size",
            r.file_stamp.map_or(Value::None, |s| int(s.size)),
        ),
        (
            "file_mtime",
            r.file_stamp
                .map_or(Value::None, |s| Value::I64(s.modified_ns)),
        ),
        ("tags", strings(&tags)),
    ];
    let mut map: HashMap<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    map.insert("title".into(), text(&title_of(&r.content)));
    Value::Map(map)
}

pub(super) fn save_many(
    repo: &GraphRepository,
    records: &[CompositionRecord],
) -> Result<Vec<StoredVersion>, HistoryError> {
    let origin = &repo.identity.origin;
    let mut out = Vec::with_capacity(records.len());
    // Every value travels in the query text: batches stay a few hundred rows.
    let batches = runs_without_repeats(records)
        .into_iter()
        .flat_map(|run| run.chunks(SAVE_BATCH));
    for run in batches {
        let rows: Vec<Value> = run
            .iter()
            .enumerate()
            .map(|(i, r)| row(origin, i, r))
            .collect();
        let mut stored = repo.run(
            SAVE,
            vec![
                ("rows", Value::Array(rows)),
                ("origin", text(origin)),
                ("author", text(&repo.identity.author)),
                ("machine", text(&repo.identity.machine)),
            ],
        )?;
        stored.sort_by_key(|r| as_i64(&r[0]));
        if stored.len() != run.len() {
            return Err(HistoryError::Database(format!(
                "the graph stored {} of {} compositions",
                stored.len(),
                run.len()
            )));
        }
        out.extend(stored.iter().map(|r| StoredVersion {
            created: matches!(r[1], Value::Bool(true)),
            changed: matches!(r[2], Value::Bool(true)),
            version: u32::try_from(as_i64(&r[3])).unwrap_or(0),
        }));
    }
    Ok(out)
}

pub(super) fn delete(repo: &GraphRepository, ids: &[String]) -> Result<usize, HistoryError> {
    // Only this history's own compositions: other people's are not ours to remove.
    let own = &repo.identity.origin;
    let keys: Vec<String> = ids
        .iter()
        .map(|id| split_qualified(id))
        .filter(|(_, origin)| origin.is_none_or(|o| o == own))
        .map(|(bare, _)| key(own, bare))
        .collect();
    if keys.is_empty() {
        return Ok(0);
    }
    let rows = repo.run(
        "UNWIND $keys AS k
         MATCH (c:Composition {key: k})
         OPTIONAL MATCH (c)-[:HAS_VERSION]->(v:Version)
         WITH c, collect(v) AS versions
         FOREACH (v IN versions | DELETE v)
         DELETE c
         RETURN count(c)",
        vec![("keys", strings(&keys))],
    )?;
    Ok(rows.first().map_or(0, |r| as_count(&r[0])))
}

pub(super) fn record_prompt_use(
    repo: &GraphRepository,
    source_path: &Path,
    prompt_id: &str,
) -> Result<bool, HistoryError> {
    let rows = repo.run(
        "MATCH (c:Composition {origin: $origin, source_path: $source})
         WITH c ORDER BY c.updated_at DESC LIMIT 1
         MERGE (p:Prompt {id: $prompt})
         MERGE (c)-[u:USES]->(p)
         SET u.used_at = $now
         RETURN count(c)",
        vec![
            ("origin", text(&repo.identity.origin)),
            ("source", opt_path(Some(source_path))),
            ("prompt", text(prompt_id)),
            ("now", Value::I64(to_millis(OffsetDateTime::now_utc()))),
        ],
    )?;
    Ok(rows.first().is_some_and(|r| as_count(&r[0]) > 0))
}

pub(super) fn record_placeholder_values(
    repo: &GraphRepository,
    values: &[(String, String)],
) -> Result<(), HistoryError> {
    let now = to_millis(OffsetDateTime::now_utc());
    for (name, value) in values {
        if value.trim().is_empty() {
            continue;
        }
        // Strictly increasing per name, so "most recent first" holds within a millisecond.
        repo.run(
            "MERGE (p:Placeholder {name: $name})
             WITH p
             OPTIONAL MATCH (p)-[:HAS_VALUE]->(other:PlaceholderValue)
             WITH p, max(other.used_at) AS latest
             MERGE (p)-[:HAS_VALUE]->(v:PlaceholderValue {name: $name, value: $value})
             SET v.used_at = CASE WHEN latest IS NULL OR $now > latest THEN $now ELSE latest + 1 END,
                 v.author = $author",
            vec![
                ("name", text(name)),
                ("value", text(value)),
                ("now", Value::I64(now)),
                ("author", text(&repo.identity.author)),
            ],
        )?;
    }
    Ok(())
}

pub(super) fn import_placeholder_values(
    repo: &GraphRepository,
    values: &[PlaceholderValue],
) -> Result<usize, HistoryError> {
    let mut added = 0;
    for v in values {
        let rows = repo.run(
            "MERGE (p:Placeholder {name: $name})
             WITH p
             OPTIONAL MATCH (p)-[:HAS_VALUE]->(old:PlaceholderValue {value: $value})
             WITH p, old IS NULL AS created
             MERGE (p)-[:HAS_VALUE]->(v:PlaceholderValue {name: $name, value: $value})
             SET v.used_at = CASE WHEN v.used_at IS NULL OR v.used_at < $at THEN $at
                                  ELSE v.used_at END,
                 v.author = coalesce(v.author, $author)
             RETURN created",
            vec![
                ("name", text(&v.name)),
                ("value", text(&v.value)),
                ("at", Value::I64(to_millis(v.used_at))),
                ("author", text(&repo.identity.author)),
            ],
        )?;
        if rows
            .first()
            .is_some_and(|r| matches!(r[0], Value::Bool(true)))
        {
            added += 1;
        }
    }
    Ok(added)
}

/// Stored versions of the composition with `key`, oldest first.
fn versions_of(repo: &GraphRepository, key: &str) -> Result<Vec<VersionRecord>, HistoryError> {
    let rows = repo.run(
        "MATCH (v:Version {key: $key}) RETURN v.saved_at, v.content, v.content_hash
         ORDER BY v.version",
        vec![("key", Value::String(key.to_string()))],
    )?;
    Ok(rows
        .iter()
        .map(|r| VersionRecord {
            saved_at: from_millis(as_i64(&r[0])),
            content: as_str(&r[1]),
            content_hash: as_str(&r[2]),
        })
        .collect())
}

pub(super) fn import(
    repo: &GraphRepository,
    items: &[CompositionExport],
) -> Result<ImportReport, HistoryError> {
    let origin = repo.identity.origin.clone();
    let mut report = ImportReport::default();
    for item in items {
        let record = &item.record;
        let k = key(&origin, &record.id);
        let existing = repo
            .run(
                "MATCH (c:Composition {key: $key}) RETURN c.updated_at",
                vec![("key", Value::String(k.clone()))],
            )?
            .first()
            .map(|r| from_millis(as_i64(&r[0])));
        match existing {
            None => report.compositions_added += 1,
            Some(at) if at < record.updated_at => report.compositions_updated += 1,
            Some(_) => {}
        }
        let before = versions_of(repo, &k)?;
        if existing.is_none_or(|at| at < record.updated_at) {
            save_many(repo, std::slice::from_ref(record))?;
        }
        let stored = versions_of(repo, &k)?;
        if let Some(merged) = merge_versions(&stored, &item.versions) {
            let versions: Vec<Value> = merged
                .iter()
                .enumerate()
                .map(|(n, v)| {
                    let characters = TextStats::of(&v.content).characters;
                    Value::Map(HashMap::from([
                        ("version".to_string(), int(n + 1)),
                        ("saved_at".to_string(), Value::I64(to_millis(v.saved_at))),
                        ("content".to_string(), text(&v.content)),
                        ("hash".to_string(), Value::String(v.content_hash.clone())),
                        ("characters".to_string(), int(characters)),
                    ]))
                })
                .collect();
            // Renumbered in time order: the old version nodes are replaced in one query.
            repo.run(
                "MATCH (c:Composition {key: $key})
                 OPTIONAL MATCH (c)-[:HAS_VERSION]->(old:Version)
                 WITH c, collect(old) AS olds
                 FOREACH (o IN olds | DELETE o)
                 WITH c
                 UNWIND $versions AS v
                 CREATE (c)-[:HAS_VERSION]->(:Version {key: $key, version: v.version,
                     saved_at: v.saved_at, content: v.content, content_hash: v.hash,
                     characters: v.characters})
                 WITH c, max(v.version) AS latest
                 SET c.version = latest",
                vec![
                    ("key", Value::String(k.clone())),
                    ("versions", Value::Array(versions)),
                ],
            )?;
        }
        report.versions_added += versions_of(repo, &k)?.len().saturating_sub(before.len());
        for (prompt, used_at) in &item.prompt_uses {
            let rows = repo.run(
                "MATCH (c:Composition {key: $key})
                 MERGE (p:Prompt {id: $prompt})
                 WITH c, p
                 OPTIONAL MATCH (c)-[old:USES]->(p)
                 WITH c, p, old IS NULL AS created
                 MERGE (c)-[u:USES]->(p)
                 SET u.used_at = CASE WHEN u.used_at IS NULL OR u.used_at < $at THEN $at
                                      ELSE u.used_at END
                 RETURN created",
                vec![
                    ("key", Value::String(k.clone())),
                    ("prompt", text(prompt)),
                    ("at", Value::I64(to_millis(*used_at))),
                ],
            )?;
            if rows
                .first()
                .is_some_and(|r| matches!(r[0], Value::Bool(true)))
            {
                report.prompt_uses_added += 1;
            }
        }
    }
    Ok(report)
}
