//! The contract every `CompositionRepository` keeps, run against each backend on a real store:
//! the same tests, parametrised by backend (SQLite files in a temp dir; a real PostgreSQL server,
//! see `support::pg`; a real FalkorDB server, see `support::falkor`). A new backend plugs in with
//! one line in `contract!` below and a function that opens it.
//!
//! Team behaviour (several writers on one store) runs for backends that are shared.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use promptstack::config::Secret;
use promptstack::history::graph::GraphSettings;
use promptstack::history::postgres::ConnectSettings;
use promptstack::history::{
    CompositionRecord, CompositionRepository, GraphRepository, Identity, ListOptions,
    PostgresRepository, SEARCH_CANDIDATES, SEARCH_COUNT_CAP, SortOrder, SqliteRepository,
};
use time::OffsetDateTime;
use time::macros::datetime;

/// Opens a writer on a store saving as the given author.
type Opener = Box<dyn Fn(&str) -> Arc<dyn CompositionRepository>>;

/// One backend's store, opened fresh for a test.
struct Store {
    /// Opens a writer on this store saving as `author`; each call is another history
    /// directory (another person or machine) on the same store.
    open: Opener,
    /// Whether writers share one history (a team backend).
    shared: bool,
    /// Opens another, empty store of the same backend.
    another: fn() -> Option<Store>,
    _dir: tempfile::TempDir,
}

/// A fresh SQLite store.
fn sqlite() -> Option<Store> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("history.db");
    Some(Store {
        open: Box::new(move |author| {
            Arc::new(
                SqliteRepository::open(&path, Default::default())
                    .expect("open sqlite")
                    .with_author(author),
            )
        }),
        shared: false,
        another: sqlite,
        _dir: dir,
    })
}

/// A team store: each writer opened by `connect` gets its own history directory (another person
/// or machine) on the same server.
fn team_store(
    connect: impl Fn(Identity) -> Arc<dyn CompositionRepository> + 'static,
    another: fn() -> Option<Store>,
) -> Store {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().to_path_buf();
    let writers = std::sync::atomic::AtomicUsize::new(0);
    Store {
        open: Box::new(move |author| {
            let n = writers.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            connect(identity(&root.join(format!("h{n}")), author))
        }),
        shared: true,
        another,
        _dir: dir,
    }
}

const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A fresh database on a real PostgreSQL server, or `None` (skipped, with the reason).
fn postgres() -> Option<Store> {
    let url = match support::pg::fresh_database() {
        Ok(url) => url,
        Err(reason) => {
            support::pg::skip(&reason);
            return None;
        }
    };
    let settings =
        ConnectSettings::from_url(&Secret::new(&url), 4, CONNECT_TIMEOUT).expect("settings");
    Some(team_store(
        move |identity| Arc::new(PostgresRepository::new(settings.clone(), identity)),
        postgres,
    ))
}

/// A fresh graph on a real FalkorDB server, or `None` (skipped, with the reason).
fn graph() -> Option<Store> {
    let server = match support::falkor::shared() {
        Ok(server) => server,
        Err(reason) => {
            support::falkor::skip(&reason);
            return None;
        }
    };
    let settings =
        GraphSettings::from_url(&Secret::new(server.url()), &server.graph(), CONNECT_TIMEOUT)
            .expect("settings");
    Some(team_store(
        move |identity| Arc::new(GraphRepository::new(settings.clone(), identity)),
        graph,
    ))
}

fn identity(history_dir: &Path, author: &str) -> Identity {
    let loaded = promptstack::config::Loaded::load(promptstack::home::Home::at(history_dir));
    let mut config = loaded.config().clone();
    config.author = Some(author.to_string());
    Identity::load(history_dir, &config).expect("identity")
}

/// Each test of the contract, run once per backend.
macro_rules! contract {
    ($($backend:ident),* $(,)?) => {$(
        mod $backend {
            fn run(test: fn(&super::Store)) {
                if let Some(store) = super::$backend() {
                    test(&store);
                }
            }
            #[test] fn saves_add_versions_only_when_content_changes() { run(super::saves_add_versions_only_when_content_changes) }
            #[test] fn search_ranks_highlights_filters_and_pages() { run(super::search_ranks_highlights_filters_and_pages) }
            #[test] fn search_of_a_common_word_is_bounded() { run(super::search_of_a_common_word_is_bounded) }
            #[test] fn list_filters_sorts_and_pages() { run(super::list_filters_sorts_and_pages) }
            #[test] fn delete_cascades_and_stats_add_up() { run(super::delete_cascades_and_stats_add_up) }
            #[test] fn prompt_uses_and_placeholder_values() { run(super::prompt_uses_and_placeholder_values) }
            #[test] fn bad_input_is_answered_not_fatal() { run(super::bad_input_is_answered_not_fatal) }
            #[test] fn export_and_import_are_lossless_and_idempotent() { run(super::export_and_import_are_lossless_and_idempotent) }
            #[test] fn rows_without_a_file_stamp_are_kept_for_sync() { run(super::rows_without_a_file_stamp_are_kept_for_sync) }
            #[test] fn writers_share_one_team_history() { run(super::writers_share_one_team_history) }
            #[test] fn concurrent_writers_never_lose_a_save() { run(super::concurrent_writers_never_lose_a_save) }
            #[test] fn related_compositions_and_prompts_used_together() { run(super::related_compositions_and_prompts_used_together) }
        }
    )*};
}

contract!(sqlite, postgres, graph);

const START: OffsetDateTime = datetime!(2026-01-10 12:00 UTC);

/// A record for `id` saved from `/w/<id>.prompt.md`, updated `minutes` after a fixed start.
fn record(id: &str, content: &str, minutes: i64) -> CompositionRecord {
    CompositionRecord {
        id: id.into(),
        file_name: format!("{id}.md"),
        source_path: Some(PathBuf::from(format!("/w/{id}.prompt.md"))),
        working_dir: Some(PathBuf::from("/w")),
        created_at: START,
        updated_at: START + time::Duration::minutes(minutes),
        content: content.into(),
        tags: tags_of(content),
        file_stamp: Some(promptstack::history::FileStamp {
            size: content.len() as u64,
            modified_ns: minutes,
        }),
    }
}

fn tags_of(content: &str) -> Vec<String> {
    content
        .strip_prefix("---\ntags: [")
        .and_then(|rest| rest.split_once(']'))
        .map(|(tags, _)| tags.split(',').map(|t| t.trim().to_string()).collect())
        .unwrap_or_default()
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| id(i).to_string()).collect()
}

fn saves_add_versions_only_when_content_changes(store: &Store) {
    let repo = (store.open)("alice");
    let first = repo.save(&record("a", "# One\nhello", 0)).unwrap();
    assert_eq!(
        (first.version, first.changed, first.created),
        (1, true, true)
    );
    let same = repo.save(&record("a", "# One\nhello", 1)).unwrap();
    assert_eq!(
        (same.version, same.changed, same.created),
        (1, false, false),
        "a repeated save adds no version"
    );
    let second = repo.save(&record("a", "# One\nhello again", 2)).unwrap();
    assert_eq!((second.version, second.changed), (2, true));
    let loaded = repo.load("a").unwrap().unwrap();
    assert_eq!(loaded.content, "# One\nhello again");
    let s = &loaded.summary;
    assert_eq!((s.version, s.title.as_str()), (2, "One"));
    assert_eq!((s.characters, s.lines), (17, 2));
    assert_eq!(s.author.as_deref(), Some("alice"));
    assert!(s.is_own());
    assert_eq!(s.updated_at, START + time::Duration::minutes(2));
    let versions = repo.versions("a").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(versions[1].characters, 17);
    let found = repo.find_by_source(Path::new("/w/a.prompt.md")).unwrap();
    assert_eq!(found.map(|s| s.id), Some("a".into()));
    assert!(repo.find_by_source(Path::new("/w/none")).unwrap().is_none());
    assert!(repo.load("missing").unwrap().is_none());
    // save_many stores a batch at once, the same id twice included.
    let stored = repo
        .save_many(&[
            record("b", "bee", 3),
            record("c", "sea", 3),
            record("b", "bee two", 4),
        ])
        .unwrap();
    let got: Vec<(u32, bool)> = stored.iter().map(|s| (s.version, s.created)).collect();
    assert_eq!(got, [(1, true), (1, true), (2, false)]);
    assert_eq!(repo.load("b").unwrap().unwrap().content, "bee two");
}

fn search_ranks_highlights_filters_and_pages(store: &Store) {
    let repo = (store.open)("alice");
    let docs = [
        ("rust", "Review this Rust code for bugs. Rust rust rust.", 0),
        (
            "py",
            "---\ntags: [code, python]\n---\nReview this Python code; look for bugs in the parser.",
            1,
        ),
        (
            "mail",
            "Write a polite email to the team about the release.",
            2,
        ),
        ("accent", "Le café est prêt", 3),
    ];
    for (id, content, minutes) in docs {
        repo.save(&record(id, content, minutes)).unwrap();
    }
    let cases: &[(&str, &[&str])] = &[
        ("rust", &["rust"]),
        ("RUST", &["rust"]),
        ("bugs", &["rust", "py"]),
        ("review python", &["py"]),
        ("pars", &["py"]),
        ("café", &["accent"]),
        ("nothing-like-this", &[]),
        ("\"unbalanced", &[]),
        ("   ", &[]),
    ];
    for (query, expected) in cases {
        let page = repo.search(query, &ListOptions::default()).unwrap();
        let mut got = ids(&page.items, |h| &h.summary.id);
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "query {query:?}");
        assert_eq!(page.total, expected.len(), "query {query:?}");
        assert!(!page.capped);
    }
    // The composition that says it four times ranks first.
    let page = repo.search("rust code", &ListOptions::default()).unwrap();
    assert_eq!(ids(&page.items, |h| &h.summary.id), ["rust"]);
    let page = repo.search("code", &ListOptions::default()).unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(
        page.items[0].score <= page.items[1].score,
        "lower is better"
    );
    let hit = &repo
        .search("polite", &ListOptions::default())
        .unwrap()
        .items[0];
    let marked = hit.snippet.marked("[", "]");
    assert!(marked.contains("a [polite] email"), "{marked}");
    assert!(!marked.contains('\n'));
    let paged = ListOptions {
        limit: 1,
        offset: 1,
        ..ListOptions::default()
    };
    let page = repo.search("bugs", &paged).unwrap();
    assert_eq!((page.items.len(), page.total), (1, 2));
    let past = ListOptions {
        offset: 10,
        ..ListOptions::default()
    };
    let page = repo.search("bugs", &past).unwrap();
    assert_eq!((page.items.len(), page.total), (0, 2));
    // Filters apply to search too.
    let filtered = |options: ListOptions| {
        ids(
            &repo.search("bugs", &options).unwrap().items,
            |h: &promptstack::history::SearchHit| &h.summary.id,
        )
    };
    let updated_from = Some(record("x", "", 1).updated_at);
    assert_eq!(
        filtered(ListOptions {
            updated_from,
            ..ListOptions::default()
        }),
        ["py"]
    );
    assert_eq!(
        filtered(ListOptions {
            tags: vec!["python".into()],
            ..ListOptions::default()
        }),
        ["py"]
    );
    assert_eq!(
        filtered(ListOptions {
            author: Some("alice".into()),
            updated_from,
            ..ListOptions::default()
        }),
        ["py"]
    );
    assert!(
        filtered(ListOptions {
            author: Some("somebody else".into()),
            ..ListOptions::default()
        })
        .is_empty()
    );
    assert!(
        filtered(ListOptions {
            working_dir: Some("/elsewhere".into()),
            ..ListOptions::default()
        })
        .is_empty()
    );
}

/// A word in more compositions than a search ranks: the count stops at the backend's cap (and
/// says so), the newest matches are ranked, and a narrower query is counted exactly.
fn search_of_a_common_word_is_bounded(store: &Store) {
    let repo = (store.open)("alice");
    let many: Vec<_> = (0..SEARCH_COUNT_CAP + 5)
        .map(|i| record(&format!("c{i}"), &format!("common note {i}"), i as i64))
        .collect();
    repo.save_many(&many).unwrap();
    let newest = (SEARCH_COUNT_CAP + 10) as i64;
    repo.save(&record("best", "Common, common, common.", newest))
        .unwrap();
    let page = repo.search("common", &ListOptions::default()).unwrap();
    assert!(page.capped, "total {}", page.total);
    assert!(
        (SEARCH_CANDIDATES..=SEARCH_COUNT_CAP).contains(&page.total),
        "{}",
        page.total
    );
    assert_eq!(page.items[0].summary.id, "best");
    // "100" is the word being typed: 100 and 1000–1004.
    let few = repo.search("note 100", &ListOptions::default()).unwrap();
    assert_eq!((few.total, few.capped), (6, false));
}

fn list_filters_sorts_and_pages(store: &Store) {
    let repo = (store.open)("alice");
    for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
        let content = if i % 2 == 0 {
            "---\ntags: [work, draft]\n---\nbody"
        } else {
            "---\ntags: [home]\n---\nbody"
        };
        let mut rec = record(id, content, i as i64 * 10);
        if *id == "d" {
            rec.working_dir = Some("/elsewhere".into());
        }
        repo.save(&rec).unwrap();
    }
    let list = |options: ListOptions| {
        let page = repo.list(&options).unwrap();
        (ids(&page.items, |s| &s.id), page.total)
    };
    let base = ListOptions::default;
    assert_eq!(
        list(base()),
        (vec!["d".into(), "c".into(), "b".into(), "a".into()], 4)
    );
    let cases: Vec<(ListOptions, Vec<&str>, usize)> = vec![
        (
            ListOptions {
                sort: SortOrder::UpdatedAsc,
                ..base()
            },
            vec!["a", "b", "c", "d"],
            4,
        ),
        (
            ListOptions {
                limit: 2,
                offset: 1,
                ..base()
            },
            vec!["c", "b"],
            4,
        ),
        (
            ListOptions {
                tags: vec!["work".into()],
                ..base()
            },
            vec!["c", "a"],
            2,
        ),
        (
            ListOptions {
                tags: vec!["work".into(), "home".into()],
                ..base()
            },
            vec![],
            0,
        ),
        (
            ListOptions {
                working_dir: Some("/elsewhere".into()),
                ..base()
            },
            vec!["d"],
            1,
        ),
        (
            ListOptions {
                updated_from: Some(record("x", "", 10).updated_at),
                updated_until: Some(record("x", "", 30).updated_at),
                ..base()
            },
            vec!["c", "b"],
            2,
        ),
        (
            ListOptions {
                author: Some("alice".into()),
                limit: 1,
                ..base()
            },
            vec!["d"],
            4,
        ),
    ];
    for (options, want, total) in cases {
        let label = format!("{options:?}");
        let want: Vec<String> = want.into_iter().map(String::from).collect();
        assert_eq!(list(options), (want, total), "{label}");
    }
    assert_eq!(
        repo.load("a").unwrap().unwrap().summary.tags,
        ["draft", "work"]
    );
}

fn delete_cascades_and_stats_add_up(store: &Store) {
    let repo = (store.open)("alice");
    repo.save(&record("a", "---\ntags: [x]\n---\none", 0))
        .unwrap();
    repo.save(&record("a", "---\ntags: [x]\n---\ntwo", 5))
        .unwrap();
    repo.save(&record("b", "three", 10)).unwrap();
    assert!(
        repo.record_prompt_use(Path::new("/w/a.prompt.md"), "commands/review")
            .unwrap()
    );
    let stats = repo.stats().unwrap();
    assert_eq!(
        (
            stats.compositions,
            stats.versions,
            stats.tags,
            stats.prompt_uses
        ),
        (2, 3, 1, 1)
    );
    assert_eq!(
        stats.characters,
        "---\ntags: [x]\n---\ntwo".len() as u64 + 5
    );
    assert_eq!(stats.newest, Some(record("b", "", 10).updated_at));
    assert_eq!(stats.oldest, Some(START));
    assert_eq!(repo.delete(&["a".into(), "zzz".into()]).unwrap(), 1);
    let stats = repo.stats().unwrap();
    assert_eq!(
        (
            stats.compositions,
            stats.versions,
            stats.tags,
            stats.prompt_uses
        ),
        (1, 1, 0, 0)
    );
    assert!(
        repo.compositions_using("commands/review")
            .unwrap()
            .is_empty()
    );
    assert!(repo.versions("a").unwrap().is_empty());
    assert_eq!(
        repo.search("two", &ListOptions::default()).unwrap().total,
        0
    );
    let entries = repo.index_entries().unwrap();
    assert_eq!(ids(&entries, |e| &e.id), ["b"]);
    assert_eq!(entries[0].file_name, "b.md");
    assert_eq!(entries[0].content_hash.len(), 64);
    assert!(entries[0].file_stamp.is_some());
    repo.reindex().unwrap();
    assert_eq!(
        repo.search("three", &ListOptions::default()).unwrap().total,
        1
    );
}

fn prompt_uses_and_placeholder_values(store: &Store) {
    let repo = (store.open)("alice");
    assert!(
        !repo
            .record_prompt_use(Path::new("/w/a.prompt.md"), "p")
            .unwrap(),
        "no history yet"
    );
    repo.save(&record("a", "x", 0)).unwrap();
    repo.save(&record("b", "y", 1)).unwrap();
    for source in ["/w/a.prompt.md", "/w/b.prompt.md", "/w/a.prompt.md"] {
        assert!(repo.record_prompt_use(Path::new(source), "p").unwrap());
    }
    let refs = repo.compositions_using("p").unwrap();
    assert_eq!(
        ids(&refs, |r| &r.summary.id),
        ["a", "b"],
        "most recent use first"
    );
    assert!(repo.compositions_using("other").unwrap().is_empty());

    let v = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    repo.record_placeholder_values(&v(&[("lang", "Rust"), ("tone", "formal")]))
        .unwrap();
    repo.record_placeholder_values(&v(&[("lang", "Go"), ("lang", " ")]))
        .unwrap();
    repo.record_placeholder_values(&v(&[("lang", "Rust")]))
        .unwrap();
    assert_eq!(repo.placeholder_values("lang", 10).unwrap(), ["Rust", "Go"]);
    assert_eq!(repo.placeholder_values("lang", 1).unwrap(), ["Rust"]);
    assert!(repo.placeholder_values("none", 10).unwrap().is_empty());
    assert_eq!(repo.stats().unwrap().placeholder_values, 3);
}

fn bad_input_is_answered_not_fatal(store: &Store) {
    let repo = (store.open)("alice");
    let odd = "nul \0 byte, emoji 🎉, RTL \u{202e}, quote ' \" \\ ; -- DROP TABLE compositions;";
    repo.save(&record("odd", odd, 0)).unwrap();
    let loaded = repo.load("odd").unwrap().unwrap();
    assert!(loaded.content.contains("emoji 🎉"), "{:?}", loaded.content);
    for query in [
        "AND OR NOT ( ) * ^ :",
        "\0",
        "' OR 1=1 --",
        "!!! ::: &&& |||",
        "DROP",
        &"x".repeat(10_000),
        "🎉",
        "\u{202e}",
    ] {
        let page = repo.search(query, &ListOptions::default());
        assert!(page.is_ok(), "query {query:?}: {page:?}");
    }
    assert_eq!(
        repo.search("drop table", &ListOptions::default())
            .unwrap()
            .total,
        1
    );
    let odd_filters = ListOptions {
        working_dir: Some("/w/\0/..".into()),
        tags: vec!["'; --".into()],
        author: Some("\0".into()),
        limit: usize::MAX,
        offset: usize::MAX / 2,
        ..ListOptions::default()
    };
    for result in [
        repo.list(&odd_filters).map(|p| p.items.len()),
        repo.search("odd", &odd_filters).map(|p| p.items.len()),
    ] {
        assert!(matches!(result, Ok(0)), "{result:?}");
    }
    for id in ["", "'", "a@b", "x@0123456789abcdef", &"z".repeat(5000)] {
        assert!(repo.load(id).unwrap().is_none(), "{id:?}");
        assert!(repo.versions(id).unwrap().is_empty());
    }
    assert_eq!(repo.delete(&["'".into(), "".into()]).unwrap(), 0);
    assert!(
        repo.record_placeholder_values(&[("n".into(), "\0".into())])
            .is_ok()
    );
}

fn export_and_import_are_lossless_and_idempotent(store: &Store) {
    let from = (store.open)("alice");
    from.save(&record("a", "---\ntags: [x]\n---\nfirst", 0))
        .unwrap();
    from.save(&record("a", "---\ntags: [x]\n---\nsecond", 5))
        .unwrap();
    from.save(&record("b", "other", 7)).unwrap();
    from.record_prompt_use(Path::new("/w/a.prompt.md"), "commands/review")
        .unwrap();
    from.record_placeholder_values(&[("lang".into(), "Rust".into())])
        .unwrap();
    let exported = from.export(None, 10).unwrap();
    assert_eq!(ids(&exported, |e| &e.record.id), ["a", "b"]);
    assert_eq!(exported[0].versions.len(), 2);
    assert_eq!(exported[0].record.tags, ["x"]);
    assert_eq!(exported[0].prompt_uses[0].0, "commands/review");
    assert_eq!(
        ids(&from.export(Some("a"), 10).unwrap(), |e| &e.record.id),
        ["b"]
    );
    assert_eq!(from.export(None, 1).unwrap().len(), 1);

    // Into a store of the same kind that already has the latest content (what start-up sync
    // pushes): the older version is added, nothing duplicated.
    let other = sqlite_or_same(store);
    let to = (other.open)("alice");
    to.save(&record("a", "---\ntags: [x]\n---\nsecond", 5))
        .unwrap();
    let first = to.import(&exported).unwrap();
    assert_eq!(
        (
            first.compositions_added,
            first.compositions_updated,
            first.versions_added,
            first.prompt_uses_added
        ),
        (1, 0, 2, 1)
    );
    let values = from.export_placeholder_values().unwrap();
    assert_eq!(to.import_placeholder_values(&values).unwrap(), 1);
    let again = to.import(&exported).unwrap();
    assert_eq!(again, Default::default(), "importing twice adds nothing");
    assert_eq!(to.import_placeholder_values(&values).unwrap(), 0);
    let versions: Vec<(u32, usize)> = to
        .versions("a")
        .unwrap()
        .iter()
        .map(|v| (v.version, v.characters))
        .collect();
    assert_eq!(versions, [(1, 23), (2, 24)], "renumbered in time order");
    let (a, b) = (from.stats().unwrap(), to.stats().unwrap());
    assert_eq!(
        (a.compositions, a.versions, a.tags, a.prompt_uses),
        (b.compositions, b.versions, b.tags, b.prompt_uses)
    );
    assert_eq!(to.placeholder_values("lang", 5).unwrap(), ["Rust"]);
    assert_eq!(
        to.search("first", &ListOptions::default()).unwrap().total,
        0,
        "latest content only"
    );
}

/// A second, empty store of the same backend.
fn sqlite_or_same(store: &Store) -> Store {
    (store.another)().expect("a second store")
}

fn rows_without_a_file_stamp_are_kept_for_sync(store: &Store) {
    let repo = (store.open)("alice");
    let mut unwritten = record("a", "only in the index", 0);
    unwritten.file_stamp = None;
    repo.save(&unwritten).unwrap();
    let entries = repo.index_entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].file_stamp, None, "no stamp: the file is owed");
    // Sync writes the file from the row instead of removing the row.
    let dir = tempfile::tempdir().unwrap();
    let report = promptstack::history::sync::sync(
        repo.as_ref(),
        dir.path(),
        promptstack::history::SyncMode::Check,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!((report.restored, report.removed), (1, 0));
    let text = std::fs::read_to_string(dir.path().join("a.md")).unwrap();
    assert!(text.ends_with("only in the index"), "{text}");
    assert!(repo.index_entries().unwrap()[0].file_stamp.is_some());
}

fn writers_share_one_team_history(store: &Store) {
    if !store.shared {
        return;
    }
    let alice = (store.open)("alice");
    let bob = (store.open)("bob");
    // The same id on two machines (created in the same second) stays two compositions.
    alice
        .save(&record("2026-01-10_12-00-00", "alice plans the release", 0))
        .unwrap();
    bob.save(&record("2026-01-10_12-00-00", "bob reviews the release", 1))
        .unwrap();
    alice
        .record_prompt_use(Path::new("/w/2026-01-10_12-00-00.prompt.md"), "p")
        .unwrap();
    bob.record_prompt_use(Path::new("/w/2026-01-10_12-00-00.prompt.md"), "p")
        .unwrap();
    bob.record_placeholder_values(&[("lang".into(), "Go".into())])
        .unwrap();

    let page = alice.search("release", &ListOptions::default()).unwrap();
    let mut seen: Vec<(String, bool)> = page
        .items
        .iter()
        .map(|h| (h.summary.author.clone().unwrap(), h.summary.is_own()))
        .collect();
    seen.sort();
    assert_eq!(seen, [("alice".into(), true), ("bob".into(), false)]);
    let bobs = page.items.iter().find(|h| !h.summary.is_own()).unwrap();
    assert!(
        bobs.summary.id.starts_with("2026-01-10_12-00-00@"),
        "{}",
        bobs.summary.id
    );
    assert_eq!(
        alice.load(&bobs.summary.id).unwrap().unwrap().content,
        "bob reviews the release"
    );
    assert_eq!(alice.versions(&bobs.summary.id).unwrap().len(), 1);
    let mine = ListOptions {
        author: Some("alice".into()),
        ..ListOptions::default()
    };
    assert_eq!(alice.search("release", &mine).unwrap().total, 1);
    assert_eq!(alice.list(&ListOptions::default()).unwrap().total, 2);
    assert_eq!(alice.compositions_using("p").unwrap().len(), 2);
    assert_eq!(alice.placeholder_values("lang", 5).unwrap(), ["Go"]);

    // Only our own rows are ours to sync, clean up or delete.
    assert_eq!(alice.index_entries().unwrap().len(), 1);
    assert_eq!(
        alice
            .delete(std::slice::from_ref(&bobs.summary.id))
            .unwrap(),
        0
    );
    assert_eq!(alice.delete(&["2026-01-10_12-00-00".into()]).unwrap(), 1);
    assert_eq!(
        bob.load("2026-01-10_12-00-00").unwrap().unwrap().content,
        "bob reviews the release"
    );
    let stats = bob.stats().unwrap();
    assert_eq!((stats.compositions, stats.everyone), (1, Some(1)));
    assert!(
        alice
            .find_by_source(Path::new("/w/2026-01-10_12-00-00.prompt.md"))
            .unwrap()
            .is_none()
    );
}

fn concurrent_writers_never_lose_a_save(store: &Store) {
    let writers: Vec<Arc<dyn CompositionRepository>> = if store.shared {
        (0..4)
            .map(|i| (store.open)(&format!("writer{i}")))
            .collect()
    } else {
        let one = (store.open)("alice");
        (0..4).map(|_| one.clone()).collect()
    };
    let handles: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(w, repo)| {
            std::thread::spawn(move || {
                for i in 0..25 {
                    let id = format!("w{w}-c{}", i % 5);
                    repo.save(&record(&id, &format!("writer {w} save {i}"), i))
                        .unwrap();
                }
                repo
            })
        })
        .collect();
    let repos: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let all = ListOptions {
        limit: 1000,
        ..ListOptions::default()
    };
    assert_eq!(repos[0].list(&all).unwrap().total, 20);
    for (w, repo) in repos.iter().enumerate() {
        for c in 0..5 {
            let id = format!("w{w}-c{c}");
            assert_eq!(repo.versions(&id).unwrap().len(), 5, "{id}");
            let last = repo.load(&id).unwrap().unwrap().content;
            assert_eq!(last, format!("writer {w} save {}", 20 + c));
        }
    }
}

/// A fixture with known answers: compositions using prompts `p`, `q`, `r`, with tags, in two
/// workspaces. `me` uses p and q, is tagged x and y, in /w.
fn related_compositions_and_prompts_used_together(store: &Store) {
    let repo = (store.open)("alice");
    let save = |id: &str, tags: &str, dir: &str, minutes: i64, prompts: &[&str]| {
        let content = if tags.is_empty() {
            format!("{id} body")
        } else {
            format!("---\ntags: [{tags}]\n---\n{id} body")
        };
        let mut rec = record(id, &content, minutes);
        rec.working_dir = Some(dir.into());
        repo.save(&rec).unwrap();
        for prompt in prompts {
            let source = format!("/w/{id}.prompt.md");
            assert!(repo.record_prompt_use(Path::new(&source), prompt).unwrap());
        }
    };
    save("me", "x, y", "/w", 0, &["p", "q"]);
    // Shares p and q (2 × 3) and the workspace (1): 7.
    save("twin", "", "/w", 1, &["p", "q"]);
    // Shares tags x and y (2 × 2) and the workspace: 5.
    save("tagged", "x, y", "/w", 2, &["r"]);
    // Shares p (3) and tag x (2), another workspace: 5, more recent than `tagged`.
    save("cousin", "x", "/elsewhere", 3, &["p", "r"]);
    // The workspace only: 1.
    save("neighbour", "", "/w", 4, &[]);
    // Nothing shared.
    save("stranger", "z", "/far", 5, &["s"]);

    let related = repo.related("me", 10).unwrap();
    let got: Vec<(String, u32, usize, usize, bool)> = related
        .iter()
        .map(|r| {
            (
                r.summary.id.clone(),
                r.score,
                r.shared_prompts,
                r.shared_tags,
                r.same_workspace,
            )
        })
        .collect();
    let want: Vec<(String, u32, usize, usize, bool)> = vec![
        ("twin".into(), 7, 2, 0, true),
        ("cousin".into(), 5, 1, 1, false),
        ("tagged".into(), 5, 0, 2, true),
        ("neighbour".into(), 1, 0, 0, true),
    ];
    assert_eq!(got, want);
    assert_eq!(related[0].summary.title, "twin body");
    assert_eq!(
        ids(&repo.related("me", 2).unwrap(), |r| &r.summary.id),
        ["twin", "cousin"]
    );
    assert!(repo.related("missing", 10).unwrap().is_empty());
    assert!(repo.related("stranger", 10).unwrap().is_empty());

    // p is used with q (me, twin) and r (cousin); r with p (cousin) and q? no: tagged uses r only.
    let together = |prompt: &str| -> Vec<(String, usize)> {
        repo.used_together(prompt, 10)
            .unwrap()
            .into_iter()
            .map(|p| (p.prompt_id, p.compositions))
            .collect()
    };
    assert_eq!(together("p"), [("q".into(), 2), ("r".into(), 1)]);
    assert_eq!(together("r"), [("p".into(), 1)]);
    assert!(together("s").is_empty());
    assert!(together("unknown").is_empty());
    assert_eq!(repo.used_together("p", 1).unwrap().len(), 1);
}
