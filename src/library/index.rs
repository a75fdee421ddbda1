//! The tantivy search index over the library, persisted under `data/index/`.
//!
//! One `IndexWriter` lives on a background thread and takes commands over a channel, so commits
//! never run on the caller's thread; one `IndexReader` serves the process and every search takes
//! a fresh searcher from it. Searching is synchronous and cheap (sub-millisecond to a few
//! milliseconds); [`PromptIndex::update`] blocks until the change is committed and visible.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, RwLock};

use tantivy::collector::TopDocs;
use tantivy::index::SegmentMeta;
use tantivy::merge_policy::{LogMergePolicy, MergeCandidate, MergePolicy};
use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::document::placeholders::PlaceholderKind;

use super::prompt::{Prompt, TitleSource, id_key};

/// Bump when the schema or the tokenizer changes: an index with another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 5;
const VERSION_FILE: &str = "promptstack-schema-version";
const TOKENIZER: &str = "prompt";
const WRITER_MEMORY: usize = 64 * 1024 * 1024;
/// Metadata matches that make a body search unnecessary (see [`PromptIndex::search`]).
pub const ENOUGH_HITS: usize = 10;
/// The query is a prompt's whole id, file name or `name` (BM25-scored: a rare key scores high).
const NAME_EXACT_BOOST: f32 = 10.0;
/// The query starts a prompt's name (a constant score, as every prefix match).
const NAME_PREFIX_BOOST: f32 = 20.0;

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the search index writer has stopped")]
    WriterGone,
}

/// Why an index had to be created from scratch (it then needs a full build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fresh {
    /// There was no index.
    Missing,
    /// The index was written by another schema version.
    SchemaChanged { found: Option<String> },
    /// The index could not be opened.
    Corrupt(String),
    /// Another process holds the index; this one keeps its own in memory.
    Busy,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    /// [`id_key`] of the id, as a fast column: hits are mapped to prompts without string reads.
    key: Field,
    title: Field,
    /// The words of the id, the file name and the frontmatter `name`, also split at case
    /// changes (`createReadme` → `createreadme create readme`).
    name_words: Field,
    /// The same names whole, as [`name_key`]s (`commands-create-readme`, `create-readme`), for
    /// exact and prefix matches of what users type after `/`.
    names: Field,
    description: Field,
    tags: Field,
    category: Field,
    body: Field,
    placeholders: Field,
    // Stored only: enough to rebuild the `Prompt` without reading its file.
    path: Field,
    hash: Field,
    mtime: Field,
    size: Field,
    title_source: Field,
    placeholder_kinds: Field,
    extra: Field,
    frontmatter_error: Field,
    source: Field,
    format: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let stored_text = text.clone().set_stored();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        key: b.add_u64_field("key", FAST),
        title: b.add_text_field("title", stored_text.clone()),
        name_words: b.add_text_field("name_words", text.clone()),
        names: b.add_text_field("names", STRING),
        description: b.add_text_field("description", stored_text.clone()),
        tags: b.add_text_field("tags", stored_text.clone()),
        category: b.add_text_field("category", stored_text.clone()),
        body: b.add_text_field("body", stored_text),
        placeholders: b.add_text_field("placeholders", text),
        path: b.add_text_field("path", STORED),
        hash: b.add_text_field("hash", STORED),
        mtime: b.add_u64_field("mtime", STORED),
        size: b.add_u64_field("size", STORED),
        title_source: b.add_text_field("title_source", STORED),
        placeholder_kinds: b.add_text_field("placeholder_kinds", STORED),
        extra: b.add_text_field("extra", STORED),
        frontmatter_error: b.add_text_field("frontmatter_error", STORED),
        source: b.add_text_field("source", STORED),
        format: b.add_text_field("format", STORED),
    };
    (b.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Whether `query` has no words to search for (the caller lists prompts instead).
pub fn is_blank_query(query: &str) -> bool {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(query);
    !stream.advance()
}

/// The words of `text` as the index sees them.
fn tokens(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// `name` with a space at each case change: `createReadme` → `create Readme`,
/// `APIDesign` → `API Design`, `v2Api` → `v2 Api`.
fn split_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_uppercase() {
            let before = chars[i - 1];
            let lower_after = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if before.is_lowercase()
                || before.is_numeric()
                || (before.is_uppercase() && lower_after)
            {
                out.push(' ');
            }
        }
        out.push(c);
    }
    out
}

/// A name as one comparable key: its words (split at `-`, `_`, `/`, `.`, spaces and case
/// changes, lowercased) joined by `-`. `Create_Readme`, `create readme`, `createReadme` and
/// `create-readme` are all `create-readme`, so each finds that file name.
fn name_key(name: &str) -> String {
    tokens(&split_case(name)).join("-")
}

/// A progress callback: `(done, total)`.
pub type Progress = Box<dyn FnMut(usize, usize) + Send>;

enum Command {
    Update {
        clear: bool,
        upserts: Vec<Arc<Prompt>>,
        deletes: Vec<String>,
        progress: Option<Progress>,
        done: mpsc::Sender<Result<(), IndexError>>,
    },
    Merge {
        done: mpsc::Sender<Result<(), IndexError>>,
    },
}

/// One search match from the index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexHit {
    /// [`id_key`] of the prompt's id.
    pub key: u64,
    pub score: f32,
    pub address: DocAddress,
}

/// The library's search index.
pub struct PromptIndex {
    fields: Fields,
    /// Where the index lives; `None` for one in memory.
    dir: Option<PathBuf>,
    /// Replaced as a whole when the directory has to be created again.
    live: RwLock<Live>,
    fresh: Option<Fresh>,
    /// Builds under way (see [`PromptIndex::begin_build`]), shared with the merge policy.
    builds: Arc<AtomicUsize>,
}

/// tantivy's default merge policy, held while a build is under way: a build commits in steps
/// and ends by merging everything into one segment, and a background merge started by a step's
/// commit would merge the same segments a second time, concurrently, and make one of the two
/// fail.
#[derive(Debug)]
struct HeldDuringBuilds {
    builds: Arc<AtomicUsize>,
    inner: LogMergePolicy,
}

impl MergePolicy for HeldDuringBuilds {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        if self.builds.load(Ordering::SeqCst) > 0 {
            Vec::new()
        } else {
            self.inner.compute_merge_candidates(segments)
        }
    }
}

/// A build of the index under way: background merges wait until it is finished or dropped.
pub struct Build<'a> {
    index: &'a PromptIndex,
}

impl Build<'_> {
    /// Ends a build that wrote `written` prompts; a large one (`MERGE_AFTER`) is merged into one
    /// segment first. Blocks until done. A failed merge only costs search speed.
    pub fn finish(self, written: usize) -> Result<(), IndexError> {
        if written < MERGE_AFTER {
            return Ok(());
        }
        let (done, wait) = mpsc::channel();
        self.index.send(Command::Merge { done })?;
        wait.recv().map_err(|_| IndexError::WriterGone)?
    }
}

impl Drop for Build<'_> {
    fn drop(&mut self) {
        self.index.builds.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The reader and the writer thread of one index.
struct Live {
    reader: IndexReader,
    /// `None` once stopped: closing the channel stops the writer thread.
    commands: Option<mpsc::Sender<Command>>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
}

impl Live {
    /// A reader and a writer thread over `index`.
    fn start(index: Index, fields: Fields, builds: &Arc<AtomicUsize>) -> Result<Live, IndexError> {
        index.tokenizers().register(TOKENIZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        let writer: IndexWriter = index.writer_with_num_threads(threads, WRITER_MEMORY)?;
        writer.set_merge_policy(Box::new(HeldDuringBuilds {
            builds: builds.clone(),
            inner: LogMergePolicy::default(),
        }));
        let (tx, rx) = mpsc::channel();
        let thread_reader = reader.clone();
        let writer_thread = std::thread::Builder::new()
            .name("library-index-writer".into())
            .spawn(move || run_writer(writer, fields, &thread_reader, &rx))
            .map_err(|e| IndexError::Io {
                path: PathBuf::from("<index writer thread>"),
                source: e,
            })?;
        Ok(Live {
            reader,
            commands: Some(tx),
            writer_thread: Some(writer_thread),
        })
    }

    fn stop(&mut self) {
        self.commands.take();
        // Waiting releases the writer lock before a new index is opened on the same directory.
        if let Some(thread) = self.writer_thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for PromptIndex {
    fn drop(&mut self) {
        self.live
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .stop();
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates an empty index in `dir`, wiping what is there.
fn create_in(dir: &Path, schema: Schema) -> Result<Index, IndexError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io_err(dir))?;
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let index = Index::create_in_dir(dir, schema)?;
    let version_file = dir.join(VERSION_FILE);
    crate::home::write_atomic(&version_file, SCHEMA_VERSION.to_string().as_bytes())
        .map_err(io_err(&version_file))?;
    Ok(index)
}

impl PromptIndex {
    /// Opens the index in `dir`, or creates it (wiping what is there) when it is missing, of
    /// another schema version, or unreadable. Blocking. Check [`PromptIndex::fresh`] to know
    /// whether it needs a full build.
    pub fn open(dir: &Path) -> Result<PromptIndex, IndexError> {
        let (schema, fields) = schema();
        let version_file = dir.join(VERSION_FILE);
        let found = std::fs::read_to_string(&version_file).ok();
        let mut fresh = None;
        let mut opened = None;
        if found.as_deref().map(str::trim) == Some(&SCHEMA_VERSION.to_string()) {
            match Index::open_in_dir(dir) {
                Ok(index) if index.schema() == schema => opened = Some(index),
                Ok(_) => {
                    fresh = Some(Fresh::SchemaChanged {
                        found: found.clone(),
                    })
                }
                Err(e) => fresh = Some(Fresh::Corrupt(e.to_string())),
            }
        } else if dir.join("meta.json").exists() {
            fresh = Some(Fresh::SchemaChanged {
                found: found.clone(),
            });
        } else {
            fresh = Some(Fresh::Missing);
        }
        let index = match opened {
            Some(index) => index,
            None => {
                if let Some(reason) = &fresh {
                    tracing::info!("creating the search index at {}: {reason:?}", dir.display());
                }
                create_in(dir, schema)?
            }
        };
        let builds = Arc::default();
        match Live::start(index, fields, &builds) {
            Ok(live) => Ok(PromptIndex {
                fields,
                dir: Some(dir.to_path_buf()),
                live: RwLock::new(live),
                fresh,
                builds,
            }),
            Err(IndexError::Tantivy(tantivy::TantivyError::LockFailure(..))) => {
                tracing::warn!(
                    "the search index at {} is in use by another process; keeping one in memory",
                    dir.display()
                );
                Self::in_memory_because(Fresh::Busy)
            }
            Err(e) => Err(e),
        }
    }

    /// An index in memory (tests, or when the directory is held by another process).
    pub fn in_memory() -> Result<PromptIndex, IndexError> {
        Self::in_memory_because(Fresh::Missing)
    }

    fn in_memory_because(reason: Fresh) -> Result<PromptIndex, IndexError> {
        let (schema, fields) = schema();
        let builds = Arc::default();
        Ok(PromptIndex {
            fields,
            dir: None,
            live: RwLock::new(Live::start(Index::create_in_ram(schema), fields, &builds)?),
            fresh: Some(reason),
            builds,
        })
    }

    /// Whether the index's directory was deleted (or emptied) under it: writes then fail until
    /// [`PromptIndex::recreate`], while searches still answer from the files already open.
    pub fn is_lost(&self) -> bool {
        self.dir
            .as_ref()
            .is_some_and(|dir| !dir.join("meta.json").is_file())
    }

    /// Creates the index again, empty, in its directory; the caller adds every prompt back.
    pub fn recreate(&self) -> Result<(), IndexError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let mut live = self.live.write().unwrap_or_else(|p| p.into_inner());
        // The old writer goes first: it must not release its lock file in the new directory.
        live.stop();
        let (schema, fields) = schema();
        *live = Live::start(create_in(dir, schema)?, fields, &self.builds)?;
        tracing::warn!("recreated the search index at {}", dir.display());
        Ok(())
    }

    /// The index's directory (`None` in memory).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn reader(&self) -> IndexReader {
        self.live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .reader
            .clone()
    }

    /// Why the index was created empty on open, if it was (it then needs a full build).
    pub fn fresh(&self) -> Option<&Fresh> {
        self.fresh.as_ref()
    }

    /// Number of indexed prompts.
    pub fn len(&self) -> u64 {
        self.reader().searcher().num_docs()
    }

    /// Whether the index holds no prompts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces (`clear`) or updates the content: delete by id + add for each upsert, delete for
    /// each id in `deletes`, then commit. Blocks until the commit is visible to searches.
    pub fn update(
        &self,
        clear: bool,
        upserts: Vec<Arc<Prompt>>,
        deletes: Vec<String>,
        progress: Option<Progress>,
    ) -> Result<(), IndexError> {
        let (done, wait) = mpsc::channel();
        self.send(Command::Update {
            clear,
            upserts,
            deletes,
            progress,
            done,
        })?;
        wait.recv().map_err(|_| IndexError::WriterGone)?
    }

    /// Starts a build (a first load or a reindex: many prompts, perhaps in several commits).
    /// Background merges wait until the returned [`Build`] is finished, which merges a large
    /// build into one segment, or dropped.
    pub fn begin_build(&self) -> Build<'_> {
        self.builds.fetch_add(1, Ordering::SeqCst);
        Build { index: self }
    }

    fn send(&self, command: Command) -> Result<(), IndexError> {
        self.live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .commands
            .as_ref()
            .ok_or(IndexError::WriterGone)?
            .send(command)
            .map_err(|_| IndexError::WriterGone)
    }

    /// Every indexed prompt, rebuilt from the stored fields (for reconciling without reading
    /// unchanged files). Blocking.
    pub fn stored_prompts(&self) -> Result<HashMap<String, Prompt>, IndexError> {
        let searcher = self.reader().searcher();
        let mut out = HashMap::with_capacity(searcher.num_docs() as usize);
        for segment in searcher.segment_readers() {
            let store = segment
                .get_store_reader(16)
                .map_err(io_err(Path::new("<doc store>")))?;
            for doc in store.iter::<TantivyDocument>(segment.alive_bitset()) {
                if let Some(p) = prompt_from_doc(&self.fields, &doc?) {
                    out.insert(p.id.clone(), p);
                }
            }
        }
        Ok(out)
    }

    /// The stored prompts with these ids (missing ones are left out), from one searcher.
    pub fn prompts(&self, ids: &[&str]) -> Result<Vec<Prompt>, IndexError> {
        let searcher = self.reader().searcher();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let term = Term::from_field_text(self.fields.id, id);
            let query = TermQuery::new(term, IndexRecordOption::Basic);
            if let Some((_, address)) = searcher
                .search(&query, &TopDocs::with_limit(1).order_by_score())?
                .first()
            {
                let doc: TantivyDocument = searcher.doc(*address)?;
                out.extend(prompt_from_doc(&self.fields, &doc));
            }
        }
        Ok(out)
    }
}

/// Hits of one search, with the searcher they came from (addresses are only valid for it).
pub struct SearchHits {
    searcher: Searcher,
    fields: Fields,
    pub hits: Vec<IndexHit>,
}

impl SearchHits {
    /// The stored prompt of one hit.
    pub fn prompt(&self, hit: &IndexHit) -> Result<Option<Prompt>, IndexError> {
        let doc: TantivyDocument = self.searcher.doc(hit.address)?;
        Ok(prompt_from_doc(&self.fields, &doc))
    }
}

fn prompt_from_doc(f: &Fields, doc: &TantivyDocument) -> Option<Prompt> {
    let text = |field: Field| {
        doc.get_first(field)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let all = |field: Field| -> Vec<String> {
        doc.get_all(field)
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let number = |field: Field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
    let id = text(f.id)?;
    let title_source = match text(f.title_source).as_deref() {
        Some("frontmatter") => TitleSource::Frontmatter,
        Some("name") => TitleSource::Name,
        _ => TitleSource::FileName,
    };
    let placeholders = all(f.placeholder_kinds)
        .into_iter()
        .filter_map(|s| {
            let (kind, name) = s.split_once(':')?;
            let kind = if kind == "list" {
                PlaceholderKind::List
            } else {
                PlaceholderKind::Text
            };
            Some((name.to_string(), kind))
        })
        .collect();
    Some(Prompt {
        category: text(f.category),
        path: PathBuf::from(text(f.path)?),
        title: text(f.title).unwrap_or_else(|| id.clone()),
        title_source,
        description: text(f.description),
        tags: all(f.tags),
        body: text(f.body).unwrap_or_default(),
        placeholders,
        extra: text(f.extra)
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
        frontmatter_error: text(f.frontmatter_error),
        mtime_ns: number(f.mtime),
        size: number(f.size),
        hash: text(f.hash).unwrap_or_default(),
        source: text(f.source),
        format: text(f.format).and_then(|name| crate::formats::Format::from_id(&name)),
        id,
    })
}

impl PromptIndex {
    /// Searches for `query` (prefix, typo-tolerant and phrase matching); at most `limit` hits,
    /// best first. An empty query (no words) returns nothing: callers list prompts instead.
    ///
    /// The short fields (title, tags, category, placeholders, description) are searched first
    /// (with several words: first requiring all of them); bodies only when those give fewer than
    /// [`ENOUGH_HITS`] (or `limit`) hits. Body words are
    /// everywhere in a large library, so scoring them on every keystroke would cost most of the
    /// latency budget, and body-only matches rank below metadata matches anyway (title ×4,
    /// tags ×3, body ×1); typing another word narrows the list.
    pub fn search(&self, query: &str, limit: usize) -> Result<SearchHits, IndexError> {
        let searcher = self.reader().searcher();
        let words = tokens(query);
        if words.is_empty() {
            return Ok(SearchHits {
                searcher,
                fields: self.fields,
                hits: Vec::new(),
            });
        }
        let limit = limit.max(1);
        let enough = limit.min(ENOUGH_HITS);
        // Cheapest first: metadata with every word, then metadata with any word, then bodies.
        let mut passes = vec![(false, false), (true, false)];
        if words.len() > 1 {
            passes.insert(0, (false, true));
        }
        let key = name_key(query);
        let mut top = Vec::new();
        for (bodies, every_word) in passes {
            let query = self.build_query(&words, &key, bodies, every_word);
            top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
            if top.len() >= enough {
                break;
            }
        }
        let mut hits = Vec::with_capacity(top.len());
        let mut columns = HashMap::new();
        for (score, address) in top {
            let column = match columns.entry(address.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    searcher
                        .segment_reader(address.segment_ord)
                        .fast_fields()
                        .u64("key")?,
                ),
            };
            if let Some(key) = column.first(address.doc_id) {
                hits.push(IndexHit {
                    key,
                    score,
                    address,
                });
            }
        }
        Ok(SearchHits {
            searcher,
            fields: self.fields,
            hits,
        })
    }

    /// Per word: exact terms on every field (title, name words and tags boosted), a prefix on
    /// title, name words and tags (the user is still typing), and a fuzzy match on title and tags
    /// (typos: distance 1 from 4 letters, 2 from 8). Several words also match as a phrase in the
    /// title (and body). The whole query as a name `key` (`create-readme`) matching an id, file
    /// name or `name` exactly, or with several words as its prefix (`create-rea`), ranks above
    /// any word match: that is the prompt the user is typing the name of.
    /// `every_word`: each word must match somewhere (the cheap, precise first pass for several
    /// words); otherwise any word may.
    fn build_query(
        &self,
        words: &[String],
        key: &str,
        bodies: bool,
        every_word: bool,
    ) -> Box<dyn Query> {
        let f = &self.fields;
        let boosted = |q: Box<dyn Query>, boost: f32| -> (Occur, Box<dyn Query>) {
            (Occur::Should, Box::new(BoostQuery::new(q, boost)))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut exact = vec![
            (f.title, 4.0),
            (f.name_words, 4.0),
            (f.tags, 3.0),
            (f.category, 2.0),
            (f.placeholders, 1.5),
            (f.description, 1.5),
        ];
        let mut phrases = vec![(f.title, 3.0)];
        if bodies {
            exact.push((f.body, 1.0));
            phrases.push((f.body, 1.5));
        }
        for (n, word) in words.iter().enumerate() {
            // Only the last word is still being typed; earlier ones get no prefix expansion.
            let typing = n + 1 == words.len();
            let mut alternatives = Vec::new();
            for &(field, boost) in &exact {
                let term = Term::from_field_text(field, word);
                alternatives.push(boosted(
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                    boost,
                ));
            }
            let letters = word.chars().count();
            // Typos in names are left to the title (an untitled prompt's title is its name):
            // fuzzy name words cost a quarter more per search and found nothing more.
            let fields = [
                (f.title, 1.0, true),
                (f.name_words, 1.0, false),
                (f.tags, 0.8, true),
            ];
            for (field, boost, typos) in fields {
                let term = Term::from_field_text(field, word);
                if typing && letters >= 2 {
                    alternatives.push(boosted(
                        Box::new(FuzzyTermQuery::new_prefix(term.clone(), 0, true)),
                        2.0 * boost,
                    ));
                }
                let distance = match letters {
                    0..4 => 0,
                    4..8 => 1,
                    _ => 2,
                };
                if typos && distance > 0 {
                    alternatives.push(boosted(
                        Box::new(FuzzyTermQuery::new(term, distance, true)),
                        boost,
                    ));
                }
            }
            let occur = if every_word {
                Occur::Must
            } else {
                Occur::Should
            };
            clauses.push((occur, Box::new(BooleanQuery::new(alternatives))));
        }
        if words.len() > 1 {
            for &(field, boost) in &phrases {
                let terms = words
                    .iter()
                    .map(|w| Term::from_field_text(field, w))
                    .collect();
                clauses.push(boosted(Box::new(PhraseQuery::new(terms)), boost));
            }
        }
        if !key.is_empty() {
            let term = Term::from_field_text(f.names, key);
            clauses.push(boosted(
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic)),
                NAME_EXACT_BOOST,
            ));
            // One word is already matched as a prefix of every name word; several words narrow
            // the prefix enough to stay cheap.
            if words.len() > 1 {
                clauses.push(boosted(
                    Box::new(FuzzyTermQuery::new_prefix(term, 0, false)),
                    NAME_PREFIX_BOOST,
                ));
            }
        }
        Box::new(BooleanQuery::new(clauses))
    }
}

fn to_doc(f: &Fields, p: &Prompt) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_text(f.id, &p.id);
    doc.add_u64(f.key, id_key(&p.id));
    doc.add_text(f.title, &p.title);
    let names = p.names();
    let mut words: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for name in &names {
        for word in tokens(name).into_iter().chain(tokens(&split_case(name))) {
            if !words.contains(&word) {
                words.push(word);
            }
        }
        let key = name_key(name);
        if !key.is_empty() && !keys.contains(&key) {
            keys.push(key);
        }
    }
    // Each word once: a name repeated in the id and `name:` is no stronger a match.
    doc.add_text(f.name_words, words.join(" "));
    for key in keys {
        doc.add_text(f.names, key);
    }
    if let Some(d) = &p.description {
        doc.add_text(f.description, d);
    }
    for tag in &p.tags {
        doc.add_text(f.tags, tag);
    }
    if let Some(c) = &p.category {
        doc.add_text(f.category, c);
    }
    doc.add_text(f.body, &p.body);
    for (name, kind) in &p.placeholders {
        doc.add_text(f.placeholders, name);
        doc.add_text(f.placeholder_kinds, format!("{}:{name}", kind.keyword()));
    }
    doc.add_text(f.path, p.path.to_string_lossy());
    doc.add_text(f.hash, &p.hash);
    doc.add_u64(f.mtime, p.mtime_ns);
    doc.add_u64(f.size, p.size);
    let source = match p.title_source {
        TitleSource::Frontmatter => "frontmatter",
        TitleSource::Name => "name",
        TitleSource::FileName => "file_name",
    };
    doc.add_text(f.title_source, source);
    if !p.extra.is_empty()
        && let Ok(json) = serde_json::to_string(&p.extra)
    {
        doc.add_text(f.extra, json);
    }
    if let Some(e) = &p.frontmatter_error {
        doc.add_text(f.frontmatter_error, e);
    }
    if let Some(s) = &p.source {
        doc.add_text(f.source, s);
    }
    if let Some(format) = p.format {
        doc.add_text(f.format, format.id());
    }
    doc
}

/// A build that wrote at least this many prompts is followed by merging the index into one
/// segment.
const MERGE_AFTER: usize = 1000;

/// Merges every committed segment into one: every query walks each segment's term dictionary
/// once per word and field, so after a build many small segments cost more than the merge.
fn merge_all(writer: &mut IndexWriter, reader: &IndexReader) -> Result<(), IndexError> {
    let ids = writer.index().searchable_segment_ids()?;
    if ids.len() >= 2 {
        writer.merge(&ids).wait()?;
        reader.reload()?;
    }
    Ok(())
}

fn run_writer(
    mut writer: IndexWriter,
    fields: Fields,
    reader: &IndexReader,
    commands: &mpsc::Receiver<Command>,
) {
    for command in commands {
        match command {
            Command::Update {
                clear,
                upserts,
                deletes,
                mut progress,
                done,
            } => {
                let result = (|| -> Result<(), IndexError> {
                    if clear {
                        writer.delete_all_documents()?;
                    }
                    for id in &deletes {
                        writer.delete_term(Term::from_field_text(fields.id, id));
                    }
                    let total = upserts.len();
                    // Report about a hundred times per build, not once per prompt.
                    let step = (total / 100).max(1);
                    for (n, p) in upserts.iter().enumerate() {
                        if !clear {
                            writer.delete_term(Term::from_field_text(fields.id, &p.id));
                        }
                        writer.add_document(to_doc(&fields, p))?;
                        if let Some(report) = progress.as_mut()
                            && ((n + 1) % step == 0 || n + 1 == total)
                        {
                            report(n + 1, total);
                        }
                    }
                    writer.commit()?;
                    reader.reload()?;
                    Ok(())
                })();
                let mut broken = false;
                if let Err(e) = &result {
                    tracing::error!("search index update failed: {e}");
                    // Drop the half-applied batch so the next one starts from the last commit.
                    // A failed rollback (the directory is gone) leaves the writer without its
                    // lock, and another rollback would panic: this writer is done.
                    if let Err(e) = writer.rollback() {
                        tracing::error!("search index writer stopped: {e}");
                        broken = true;
                    }
                }
                let _ = done.send(result);
                if broken {
                    return;
                }
            }
            Command::Merge { done } => {
                let _ = done.send(merge_all(&mut writer, reader));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::prompt::FileStamp;
    use std::sync::Mutex;

    fn prompt(id: &str, text: &str) -> Arc<Prompt> {
        Arc::new(Prompt::from_text(
            id.into(),
            format!("/lib/{id}.md").into(),
            text,
            FileStamp {
                mtime_ns: 7,
                size: text.len() as u64,
            },
        ))
    }

    fn sample() -> Vec<Arc<Prompt>> {
        vec![
            prompt(
                "commands/code-review",
                "---\ntitle: Code review\ndescription: Review a change for bugs\ntags: [review, quality]\n---\nReview this {{text:language}} code.\n",
            ),
            prompt(
                "workflows/release-notes",
                "---\ntitle: Release notes\ndescription: Summarise merged pull requests\ntags: [writing]\n---\nWrite notes for {{list:changes}}.\n",
            ),
            prompt(
                "rules/security",
                "---\ntitle: Security checklist\ntags: [security, review]\n---\nCheck input validation and secrets handling.\n",
            ),
        ]
    }

    fn ids(index: &PromptIndex, q: &str) -> Vec<String> {
        let found = index.search(q, 10).unwrap();
        found
            .hits
            .iter()
            .map(|h| found.prompt(h).unwrap().unwrap().id)
            .collect()
    }

    #[test]
    fn typos_prefixes_and_phrases_find_the_right_prompt() {
        let index = PromptIndex::in_memory().unwrap();
        index.update(true, sample(), vec![], None).unwrap();
        assert_eq!(index.len(), 3);
        assert_eq!(ids(&index, "reveiw")[0], "commands/code-review");
        assert_eq!(ids(&index, "relase")[0], "workflows/release-notes");
        assert_eq!(ids(&index, "secu")[0], "rules/security");
        assert_eq!(ids(&index, "secrets")[0], "rules/security");
        assert_eq!(ids(&index, "code review")[0], "commands/code-review");
        assert_eq!(ids(&index, "language")[0], "commands/code-review");
        assert!(ids(&index, "zzzzzz").is_empty());
        assert!(ids(&index, "  ").is_empty());
    }

    #[test]
    fn ids_file_names_and_names_match_whole_and_by_prefix() {
        let index = PromptIndex::in_memory().unwrap();
        let mut prompts = sample();
        prompts.extend([
            prompt(
                "commands/create-readme",
                "---\ntitle: Documentation starter\n---\n# Role\nWrite docs.\n",
            ),
            // Decoys: the same words in titles, tags and other names.
            prompt(
                "workflows/readme-review",
                "---\ntitle: Create a readme review\ntags: [create, readme]\n---\nCreate.\n",
            ),
            prompt(
                "commands/create-readme-badges",
                "---\ntitle: Badges\n---\nBadges.\n",
            ),
            prompt(
                "skills/pdf-forms/SKILL",
                "---\nname: fill-pdf\n---\n# SKILL\nForms.\n",
            ),
            prompt("prompts/releaseNotesDraft", "# Role\nDraft notes.\n"),
        ]);
        index.update(true, prompts, vec![], None).unwrap();
        let first = |q: &str| ids(&index, q).first().cloned().unwrap_or_default();
        for q in [
            "create-readme",
            "create readme",
            "Create_Readme",
            "createReadme",
            "create-rea",
            "commands/create-readme",
            "commands/create",
        ] {
            assert_eq!(first(q), "commands/create-readme", "{q}");
        }
        assert_eq!(first("create-readme-b"), "commands/create-readme-badges");
        for q in ["pdf-forms", "fill-pdf", "fill", "pdf for"] {
            assert_eq!(first(q), "skills/pdf-forms/SKILL", "{q}");
        }
        for q in ["release notes draft", "releaseNotesDr", "notes draft"] {
            assert_eq!(first(q), "prompts/releaseNotesDraft", "{q}");
        }
        assert_eq!(first("releaseNotes"), "workflows/release-notes");
    }

    #[test]
    fn updates_are_incremental_and_stored_prompts_round_trip() {
        let index = PromptIndex::in_memory().unwrap();
        index.update(true, sample(), vec![], None).unwrap();
        let edited = prompt("rules/security", "---\ntitle: Threat model\n---\nAssets.\n");
        index
            .update(
                false,
                vec![edited.clone()],
                vec!["workflows/release-notes".into()],
                None,
            )
            .unwrap();
        assert_eq!(index.len(), 2);
        assert!(ids(&index, "checklist").is_empty());
        assert_eq!(ids(&index, "threat"), ["rules/security"]);
        let stored = index.stored_prompts().unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(&stored["rules/security"], edited.as_ref());
        assert_eq!(&stored["commands/code-review"], sample()[0].as_ref());
    }

    #[test]
    fn schema_version_change_and_corruption_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        {
            let index = PromptIndex::open(&path).unwrap();
            assert_eq!(index.fresh(), Some(&Fresh::Missing));
            index.update(true, sample(), vec![], None).unwrap();
        }
        let index = PromptIndex::open(&path).unwrap();
        assert_eq!(index.fresh(), None);
        assert_eq!(index.len(), 3);
        drop(index);
        std::fs::write(path.join(VERSION_FILE), "0").unwrap();
        let index = PromptIndex::open(&path).unwrap();
        assert!(matches!(index.fresh(), Some(Fresh::SchemaChanged { .. })));
        assert_eq!(index.len(), 0);
        index.update(true, sample(), vec![], None).unwrap();
        drop(index);
        std::fs::write(path.join("meta.json"), "{ garbage").unwrap();
        let index = PromptIndex::open(&path).unwrap();
        assert!(matches!(index.fresh(), Some(Fresh::Corrupt(_))));
        assert_eq!(index.len(), 0);
    }

    #[test]
    fn a_deleted_directory_fails_updates_without_a_panic_until_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let index = PromptIndex::open(&path).unwrap();
        index.update(true, sample(), vec![], None).unwrap();
        assert!(!index.is_lost());
        std::fs::remove_dir_all(&path).unwrap();
        assert!(index.is_lost());
        // Twice: tantivy's writer panicked on the second failed rollback.
        for _ in 0..2 {
            assert!(index.update(false, sample(), vec![], None).is_err());
        }
        assert_eq!(
            ids(&index, "reveiw")[0],
            "commands/code-review",
            "still searchable"
        );
        index.recreate().unwrap();
        assert!(!index.is_lost() && index.is_empty());
        index.update(true, sample(), vec![], None).unwrap();
        assert_eq!(index.len(), 3);
        drop(index);
        let reopened = PromptIndex::open(&path).unwrap();
        assert_eq!((reopened.fresh(), reopened.len()), (None, 3));
    }

    #[test]
    fn a_build_in_steps_ends_in_one_segment_merged_once() {
        let index = PromptIndex::in_memory().unwrap();
        let build = index.begin_build();
        // The first load's steps for 10,000 files: eight segments from two writer threads, as
        // many as make tantivy's default policy start a merge of its own.
        let mut written = 0;
        for step in [1000, 2000, 4000, 3000] {
            let batch = (written..written + step)
                .map(|n| prompt(&format!("p/{n}"), &format!("# Prompt {n}\nBody {n}.\n")))
                .collect();
            index.update(false, batch, vec![], None).unwrap();
            written += step;
        }
        build
            .finish(written)
            .expect("the only merge of these segments");
        let searcher = index.reader().searcher();
        assert_eq!(searcher.num_docs(), written as u64);
        assert_eq!(searcher.segment_readers().len(), 1);
    }

    #[test]
    fn progress_is_reported() {
        let index = PromptIndex::in_memory().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let progress: Progress = Box::new(move |d, t| sink.lock().unwrap().push((d, t)));
        index
            .update(true, sample(), vec![], Some(progress))
            .unwrap();
        assert_eq!(seen.lock().unwrap().last(), Some(&(3, 3)));
    }
}
