//! The graph history on FalkorDB (openCypher over its own protocol): a composition is a
//! `(:Composition)` node with its versions `-[:HAS_VERSION]->(:Version)`, the library prompts it
//! used `-[:USES]->(:Prompt)`, its tags `-[:TAGGED]->(:Tag)` and workspace `-[:IN]->(:Workspace)`;
//! placeholder values are `(:Placeholder)-[:HAS_VALUE]->(:PlaceholderValue)`. Like the PostgreSQL
//! backend it can be shared by a team: every composition is keyed by its origin (the history
//! directory that saved it) and id and names its author and machine.
//!
//! Every user value reaches the server as a query parameter, never inside the query text. Each
//! write is one query, which FalkorDB runs atomically. The server is connected to on first use,
//! so an unreachable server never stops the history from opening: calls fail with
//! [`HistoryError::Unreachable`] and the recorder keeps the saves for later.

mod read;
mod write;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use falkordb::FalkorValue as Value;
use falkordb::{FalkorClientBuilder, FalkorConnectionInfo, FalkorDBError, FalkorSyncClient};

use super::identity::{qualified, split_qualified};
use super::migrations::graph as schema;
use super::{
    Composition, CompositionExport, CompositionRecord, CompositionRepository, CompositionSummary,
    FileStamp, HistoryError, HistoryStats, Identity, ImportReport, IndexEntry, ListOptions, Page,
    PlaceholderValue, PromptPairing, PromptReference, RelatedComposition, SearchHit, StoredVersion,
    VersionInfo, from_millis,
};
use crate::config::{Config, Secret};

/// After a failed connection, calls fail at once with its reason for this long.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// Longest a query may run on the server before it gives up (milliseconds).
const QUERY_TIMEOUT_MS: i64 = 30_000;

/// Everything needed to reach the graph, read from the config. `Debug` never shows the password.
#[derive(Clone)]
pub struct GraphSettings {
    url: Secret,
    /// The configured URL with the password masked, for messages.
    pub masked_url: String,
    pub graph_name: String,
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for GraphSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphSettings")
            .field("url", &self.masked_url)
            .field("graph_name", &self.graph_name)
            .finish()
    }
}

impl GraphSettings {
    /// The settings of the `graph` backend; fails with a message naming the setting.
    pub fn from_config(config: &Config) -> Result<Self, HistoryError> {
        let url = config.graph_url.as_ref().ok_or_else(|| {
            HistoryError::NotConfigured(
                "`storage.backend` is `graph` but `storage.graph_url` is not set (PROMPTSTACK_GRAPH_URL, e.g. falkor://127.0.0.1:6379); see docs/history.md".into(),
            )
        })?;
        Self::from_url(
            url,
            &config.graph_name,
            Duration::from_secs(config.postgres_connect_timeout_secs.max(1)),
        )
    }

    /// Settings for the FalkorDB server at `url` (`falkor://[user:password@]host:port`) and the
    /// graph `graph_name` in it.
    pub fn from_url(
        url: &Secret,
        graph_name: &str,
        connect_timeout: Duration,
    ) -> Result<Self, HistoryError> {
        let masked_url = url.masked();
        for credential in crate::logging::secrets::url_credentials(url.expose()) {
            crate::logging::secrets::register(&credential);
        }
        if graph_name.trim().is_empty() {
            return Err(HistoryError::NotConfigured(
                "`storage.graph_name` is empty; name the graph (default `promptstack`)".into(),
            ));
        }
        // Parsed once here so a bad URL is reported by `config check`, not at first use.
        FalkorConnectionInfo::try_from(url.expose()).map_err(|e| {
            HistoryError::NotConfigured(format!(
                "invalid `storage.graph_url` {masked_url}: {}",
                crate::logging::secrets::redact(&e.to_string())
            ))
        })?;
        Ok(GraphSettings {
            url: url.clone(),
            masked_url,
            graph_name: graph_name.to_string(),
            connect_timeout,
        })
    }

    /// Opens a client (blocking up to the connect timeout).
    pub fn connect(&self) -> Result<FalkorSyncClient, HistoryError> {
        let info = FalkorConnectionInfo::try_from(self.url.expose()).map_err(|e| self.error(e))?;
        FalkorClientBuilder::new()
            .with_connection_info(info)
            .with_connect_timeout(Some(self.connect_timeout))
            .build()
            .map_err(|e| self.error(e))
    }

    /// A driver error as a history error: a lost or refused connection is "unreachable". The
    /// message never carries the password.
    pub(crate) fn error(&self, e: FalkorDBError) -> HistoryError {
        let text = crate::logging::secrets::redact(&e.to_string()).into_owned();
        let lost = matches!(
            e,
            FalkorDBError::ConnectionDown
                | FalkorDBError::NoConnection
                | FalkorDBError::EmptyConnection
        ) || {
            let lower = text.to_ascii_lowercase();
            [
                "connection",
                "refused",
                "broken pipe",
                "reset",
                "timed out",
                "i/o",
            ]
            .iter()
            .any(|w| lower.contains(w))
        };
        if lost {
            HistoryError::Unreachable {
                reason: format!("{}: {text}", self.masked_url),
            }
        } else {
            HistoryError::Database(text)
        }
    }
}

/// Text as FalkorDB can take it: a query parameter cannot hold NUL.
fn clean(text: &str) -> String {
    super::postgres::clean(text)
}

fn text(value: &str) -> Value {
    Value::String(clean(value))
}

fn int(n: impl TryInto<i64>) -> Value {
    Value::I64(n.try_into().unwrap_or(i64::MAX))
}

fn opt_path(path: Option<&Path>) -> Value {
    path.map_or(Value::None, |p| text(&p.to_string_lossy()))
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|t| text(t)).collect())
}

/// Query parameters by name.
pub(crate) type Params = Vec<(&'static str, Value)>;

/// Reading scalar result values.
fn as_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn as_opt_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn as_i64(v: &Value) -> i64 {
    match v {
        Value::I64(n) => *n,
        Value::F64(f) => *f as i64,
        _ => 0,
    }
}

fn as_count(v: &Value) -> usize {
    usize::try_from(as_i64(v)).unwrap_or(0)
}

fn as_strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(as_str).collect(),
        _ => Vec::new(),
    }
}

/// The columns of a composition summary, on node `c`; extra columns of a query follow.
const SUMMARY: &str = "c.origin, c.id, c.file_name, c.source_path, c.working_dir, c.created_at, \
     c.updated_at, c.characters, c.lines, c.content_hash, c.version, c.tags, c.title, c.author, \
     c.machine";
/// Columns in [`SUMMARY`].
const SUMMARY_WIDTH: usize = 15;

/// A connected client, or the last failure (kept [`RETRY_AFTER`]).
enum Link {
    Idle,
    Up(Arc<FalkorSyncClient>),
    Down { at: Instant, reason: HistoryError },
}

/// The graph backend.
pub struct GraphRepository {
    settings: GraphSettings,
    identity: Identity,
    link: Mutex<Link>,
}

fn again(e: &HistoryError) -> HistoryError {
    match e {
        HistoryError::Unreachable { reason } => HistoryError::Unreachable {
            reason: reason.clone(),
        },
        other => HistoryError::Database(other.to_string()),
    }
}

impl GraphRepository {
    /// A repository over the graph in `settings`, saving as `identity`. Connects (and brings the
    /// schema up to date, refusing a newer one) on first use.
    pub fn new(settings: GraphSettings, identity: Identity) -> Self {
        GraphRepository {
            settings,
            identity,
            link: Mutex::new(Link::Idle),
        }
    }

    /// The server address with the password masked.
    pub fn masked_url(&self) -> &str {
        &self.settings.masked_url
    }

    /// Who this repository saves as.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    fn client(&self) -> Result<Arc<FalkorSyncClient>, HistoryError> {
        let mut link = self.link.lock().unwrap_or_else(|p| p.into_inner());
        match &*link {
            Link::Up(client) => return Ok(client.clone()),
            Link::Down { at, reason } if at.elapsed() < RETRY_AFTER => return Err(again(reason)),
            _ => {}
        }
        let connected = self.settings.connect().and_then(|client| {
            schema::migrate_up(&self.settings, &client, None)?;
            Ok(Arc::new(client))
        });
        match connected {
            Ok(client) => {
                *link = Link::Up(client.clone());
                Ok(client)
            }
            Err(e) => {
                *link = Link::Down {
                    at: Instant::now(),
                    reason: again(&e),
                };
                Err(e)
            }
        }
    }

    /// Runs one query with `params` and returns its rows. A lost connection is forgotten, so
    /// the next call connects again.
    fn run(&self, cypher: &str, params: Params) -> Result<Vec<Vec<Value>>, HistoryError> {
        let client = self.client()?;
        let result = run_on(&client, &self.settings.graph_name, cypher, params)
            .map_err(|e| self.settings.error(e));
        if let Err(HistoryError::Unreachable { .. }) = &result {
            *self.link.lock().unwrap_or_else(|p| p.into_inner()) = Link::Idle;
        }
        result
    }

    /// The origin and bare id an id (possibly `id@origin`) names, as the node's key.
    fn key_of(&self, id: &str) -> String {
        let (bare, origin) = split_qualified(id);
        key(origin.unwrap_or(&self.identity.origin), bare)
    }

    fn summary(&self, row: &[Value]) -> CompositionSummary {
        let origin = as_str(&row[0]);
        let id = as_str(&row[1]);
        let foreign = origin != self.identity.origin;
        let mut tags = as_strings(&row[11]);
        tags.sort();
        CompositionSummary {
            id: if foreign { qualified(&id, &origin) } else { id },
            file_name: as_str(&row[2]),
            source_path: as_opt_str(&row[3]).map(Into::into),
            working_dir: as_opt_str(&row[4]).map(Into::into),
            created_at: from_millis(as_i64(&row[5])),
            updated_at: from_millis(as_i64(&row[6])),
            characters: as_count(&row[7]),
            lines: as_count(&row[8]),
            content_hash: as_str(&row[9]),
            version: u32::try_from(as_i64(&row[10])).unwrap_or(0),
            tags,
            title: as_str(&row[12]),
            author: as_opt_str(&row[13]),
            machine: as_opt_str(&row[14]),
            origin: foreign.then_some(origin),
        }
    }
}

/// The key of a composition node: its origin and id.
fn key(origin: &str, id: &str) -> String {
    clean(&format!("{origin}\u{1f}{id}"))
}

/// One query on `graph` of `client`, rows as values.
pub(crate) fn run_on(
    client: &FalkorSyncClient,
    graph: &str,
    cypher: &str,
    params: Params,
) -> Result<Vec<Vec<Value>>, FalkorDBError> {
    let mut graph = client.select_graph(graph);
    let result = graph
        .query(cypher)
        .with_params(params)
        .with_timeout(QUERY_TIMEOUT_MS)
        .execute()?;
    result
        .data
        .map(|row| row.map(|r| r.into_values()))
        .collect()
}

impl CompositionRepository for GraphRepository {
    fn backend(&self) -> &'static str {
        "graph"
    }

    fn save(&self, record: &CompositionRecord) -> Result<StoredVersion, HistoryError> {
        self.save_many(std::slice::from_ref(record))?
            .pop()
            .ok_or_else(|| HistoryError::Database("save stored nothing".into()))
    }

    fn save_many(&self, records: &[CompositionRecord]) -> Result<Vec<StoredVersion>, HistoryError> {
        write::save_many(self, records)
    }

    fn load(&self, id: &str) -> Result<Option<Composition>, HistoryError> {
        read::load(self, id)
    }

    fn find_by_source(
        &self,
        source_path: &Path,
    ) -> Result<Option<CompositionSummary>, HistoryError> {
        read::find_by_source(self, source_path)
    }

    fn search(&self, query: &str, options: &ListOptions) -> Result<Page<SearchHit>, HistoryError> {
        read::search(self, query, options)
    }

    fn list(&self, options: &ListOptions) -> Result<Page<CompositionSummary>, HistoryError> {
        read::list(self, options)
    }

    fn versions(&self, id: &str) -> Result<Vec<VersionInfo>, HistoryError> {
        read::versions(self, id)
    }

    fn delete(&self, ids: &[String]) -> Result<usize, HistoryError> {
        write::delete(self, ids)
    }

    fn stats(&self) -> Result<HistoryStats, HistoryError> {
        read::stats(self)
    }

    fn index_entries(&self) -> Result<Vec<IndexEntry>, HistoryError> {
        let rows = self.run(
            "MATCH (c:Composition {origin: $origin})
             RETURN c.id, c.file_name, c.content_hash, c.updated_at, c.file_size, c.file_mtime",
            vec![("origin", text(&self.identity.origin))],
        )?;
        Ok(rows
            .iter()
            .map(|r| IndexEntry {
                id: as_str(&r[0]),
                file_name: as_str(&r[1]),
                content_hash: as_str(&r[2]),
                updated_at: from_millis(as_i64(&r[3])),
                file_stamp: match (&r[4], &r[5]) {
                    (Value::I64(size), Value::I64(modified_ns)) => Some(FileStamp {
                        size: u64::try_from(*size).unwrap_or(0),
                        modified_ns: *modified_ns,
                    }),
                    _ => None,
                },
            })
            .collect())
    }

    fn reindex(&self) -> Result<(), HistoryError> {
        // FalkorDB updates its indexes with every write, so nothing derived goes stale; what a
        // rebuild can still do is make sure the schema (and so every index) is in place.
        self.client().map(|_| ())
    }

    fn record_prompt_use(&self, source_path: &Path, prompt_id: &str) -> Result<bool, HistoryError> {
        write::record_prompt_use(self, source_path, prompt_id)
    }

    fn compositions_using(&self, prompt_id: &str) -> Result<Vec<PromptReference>, HistoryError> {
        let rows = self.run(
            &format!(
                "MATCH (c:Composition)-[u:USES]->(:Prompt {{id: $prompt}})
                 RETURN {SUMMARY}, u.used_at ORDER BY u.used_at DESC, c.id LIMIT 1000"
            ),
            vec![("prompt", text(prompt_id))],
        )?;
        Ok(rows
            .iter()
            .map(|r| PromptReference {
                summary: self.summary(r),
                used_at: from_millis(as_i64(&r[SUMMARY_WIDTH])),
            })
            .collect())
    }

    fn record_placeholder_values(&self, values: &[(String, String)]) -> Result<(), HistoryError> {
        write::record_placeholder_values(self, values)
    }

    fn placeholder_values(&self, name: &str, limit: usize) -> Result<Vec<String>, HistoryError> {
        let rows = self.run(
            "MATCH (:Placeholder {name: $name})-[:HAS_VALUE]->(v:PlaceholderValue)
             RETURN v.value ORDER BY v.used_at DESC, v.value LIMIT $limit",
            vec![("name", text(name)), ("limit", int(limit))],
        )?;
        Ok(rows.iter().map(|r| as_str(&r[0])).collect())
    }

    fn export(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CompositionExport>, HistoryError> {
        read::export(self, after, limit)
    }

    fn import(&self, items: &[CompositionExport]) -> Result<ImportReport, HistoryError> {
        write::import(self, items)
    }

    fn export_placeholder_values(&self) -> Result<Vec<PlaceholderValue>, HistoryError> {
        let rows = self.run(
            "MATCH (p:Placeholder)-[:HAS_VALUE]->(v:PlaceholderValue)
             RETURN p.name, v.value, v.used_at ORDER BY p.name, v.value",
            Vec::new(),
        )?;
        Ok(rows
            .iter()
            .map(|r| PlaceholderValue {
                name: as_str(&r[0]),
                value: as_str(&r[1]),
                used_at: from_millis(as_i64(&r[2])),
            })
            .collect())
    }

    fn import_placeholder_values(
        &self,
        values: &[PlaceholderValue],
    ) -> Result<usize, HistoryError> {
        write::import_placeholder_values(self, values)
    }

    fn related(&self, id: &str, limit: usize) -> Result<Vec<RelatedComposition>, HistoryError> {
        read::related(self, id, limit)
    }

    fn used_together(
        &self,
        prompt_id: &str,
        limit: usize,
    ) -> Result<Vec<PromptPairing>, HistoryError> {
        read::used_together(self, prompt_id, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_the_setting_and_hide_the_password() {
        let url = Secret::new("falkor://me:hunter2-secret@127.0.0.1:6379");
        let settings = GraphSettings::from_url(&url, "g", Duration::from_secs(1)).unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert!(!settings.masked_url.contains("hunter2"));
        let err = GraphSettings::from_url(&url, " ", Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("storage.graph_name"), "{err}");
        let refused = settings.error(FalkorDBError::NoConnection);
        assert!(matches!(refused, HistoryError::Unreachable { .. }));
        assert!(!refused.to_string().contains("hunter2"), "{refused}");
    }
}
