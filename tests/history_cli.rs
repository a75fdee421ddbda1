//! End to end: compositions saved through the real save path, then browsed, searched, cleaned up,
//! rebuilt and migrated through the real `promptstack` binary with a temporary home.

mod support;

use std::path::Path;
use std::process::Command;

use promptstack::history::{CompositionRepository, SqliteRepository};
use promptstack::home::DataPaths;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn promptstack(home: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_promptstack"))
        .args(args)
        .env("PROMPTSTACK_HOME", home)
        .env_remove("PROMPTSTACK_STORAGE")
        .env_remove("PROMPTSTACK_DATA_DIR")
        .env_remove("PROMPTSTACK_DATABASE_PATH")
        .output()
        .expect("run promptstack");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(home: &Path, args: &[&str]) -> String {
    let run = promptstack(home, args);
    assert_eq!(
        run.code, 0,
        "{args:?}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run.stdout
}

fn paths(home: &Path) -> DataPaths {
    DataPaths::new(home.join("data"), None, None)
}

fn save_all(home: &Path, saves: &[(&str, &str)]) -> Vec<String> {
    support::save_through_recorder(&paths(home), saves)
}

#[test]
fn saved_compositions_are_listed_searched_shown_and_counted() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let ids = save_all(
        home,
        &[
            (
                "/work/project/review.prompt.md",
                "# Code review\nReview the parser for bugs.",
            ),
            (
                "/work/project/mail.prompt.md",
                "---\ntags: [writing]\n---\n# Release mail\nWrite a polite email.",
            ),
            (
                "/work/project/review.prompt.md",
                "# Code review\nReview the lexer and parser for bugs.",
            ),
        ],
    );
    assert_eq!(ids[0], ids[2], "a second save updates the same composition");
    let history_files = std::fs::read_dir(paths(home).history_dir).unwrap().count();
    assert_eq!(history_files, 2);

    let list = ok(home, &["history", "list"]);
    assert!(
        list.contains("Code review") && list.contains("Release mail"),
        "{list}"
    );
    assert!(list.contains("v2  Code review"), "{list}");
    assert!(list.contains("Showing 1-2 of 2."), "{list}");
    let tagged = ok(home, &["history", "list", "--tag", "writing"]);
    assert!(
        tagged.contains("Release mail") && !tagged.contains("Code review"),
        "{tagged}"
    );

    let search = ok(home, &["history", "search", "lexer"]);
    assert!(search.contains(&ids[0]), "{search}");
    assert!(search.contains("**lexer**"), "{search}");
    let none = ok(home, &["history", "search", "\"(unbalanced"]);
    assert!(none.contains("No matches"), "{none}");

    let show = ok(home, &["history", "show", &ids[0]]);
    assert!(
        show.contains("source:    /work/project/review.prompt.md"),
        "{show}"
    );
    assert!(show.contains("versions:  2"), "{show}");
    assert!(
        show.ends_with("Review the lexer and parser for bugs.\n"),
        "{show}"
    );
    let missing = promptstack(home, &["history", "show", "no-such-id"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no composition `no-such-id`"),
        "{}",
        missing.stderr
    );

    let stats = ok(home, &["history", "stats"]);
    assert!(
        stats.contains("compositions: 2") && stats.contains("versions:     3"),
        "{stats}"
    );
}

#[test]
fn cleanup_is_a_dry_run_until_confirmed() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    save_all(
        home,
        &[
            ("/p/a.prompt.md", "alpha"),
            ("/p/b.prompt.md", "beta"),
            ("/p/c.prompt.md", "gamma"),
        ],
    );
    let dry = ok(home, &["history", "cleanup", "--keep-last", "1"]);
    assert!(dry.contains("Would delete 2 files"), "{dry}");
    assert!(dry.contains("--yes"), "{dry}");
    assert_eq!(
        std::fs::read_dir(paths(home).history_dir).unwrap().count(),
        3
    );

    let done = ok(home, &["history", "cleanup", "--keep-last", "1", "--yes"]);
    assert!(done.contains("Deleted 2 files, freed"), "{done}");
    assert!(done.trim_end().ends_with("MB"), "{done}");
    assert_eq!(
        std::fs::read_dir(paths(home).history_dir).unwrap().count(),
        1
    );
    assert!(ok(home, &["history", "stats"]).contains("compositions: 1"));
    assert!(
        ok(home, &["history", "cleanup", "--older-than", "30"]).contains("Nothing to clean up.")
    );

    for bad in [
        &["history", "cleanup"][..],
        &["history", "cleanup", "--all", "--keep-last", "2"],
        &["history", "cleanup", "--from", "2026-01-01"],
        &[
            "history",
            "cleanup",
            "--from",
            "2026-02-01",
            "--to",
            "2026-01-01",
        ],
        &["history", "cleanup", "--older-than", "soon"],
        &["history", "list", "--since", "yesterday"],
    ] {
        let run = promptstack(home, bad);
        assert_eq!(run.code, 2, "{bad:?}: {}", run.stdout);
        assert!(!run.stderr.is_empty(), "{bad:?} explains itself");
    }
}

#[test]
fn a_deleted_or_corrupt_database_is_rebuilt_from_the_files() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    save_all(
        home,
        &[
            ("/p/a.prompt.md", "first unique words"),
            ("/p/b.prompt.md", "second composition"),
        ],
    );
    let db = paths(home).database_path;

    std::fs::remove_file(&db).unwrap();
    let search = promptstack(home, &["history", "search", "unique"]);
    assert_eq!(search.code, 0, "{}", search.stderr);
    assert!(search.stdout.contains("**unique**"), "{}", search.stdout);
    assert!(search.stderr.contains("2 added"), "{}", search.stderr);

    std::fs::write(&db, b"garbage, not a database".repeat(100)).unwrap();
    let rebuild = promptstack(home, &["history", "rebuild"]);
    assert_eq!(rebuild.code, 0, "{}", rebuild.stderr);
    assert!(
        rebuild.stderr.contains("Rebuilding history index"),
        "progress: {}",
        rebuild.stderr
    );
    assert!(
        rebuild.stdout.contains("2 history files: 2 added"),
        "{}",
        rebuild.stdout
    );
    let aside: Vec<_> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("history.db.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the corrupt file is kept aside");
    assert!(ok(home, &["history", "search", "second"]).contains("**second**"));
}

#[test]
fn migrations_roll_back_and_reapply_from_the_cli() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let status = ok(home, &["migrate", "status"]);
    assert!(
        status.contains("schema version 0 of 3") && status.contains("pending"),
        "{status}"
    );
    assert!(ok(home, &["migrate", "up"]).contains("Applied 0001.\nApplied 0002.\nApplied 0003."));
    assert!(ok(home, &["migrate", "up"]).contains("Already up to date."));
    assert!(ok(home, &["migrate", "down"]).contains("Rolled back 0003."));
    assert!(ok(home, &["migrate", "status"]).contains("schema version 2 of 3"));
    assert!(ok(home, &["migrate", "down", "--to", "0"]).contains("Rolled back 0001."));
    assert!(ok(home, &["migrate", "up", "--to", "2"]).contains("Applied 0002."));
    let beyond = promptstack(home, &["migrate", "up", "--to", "9"]);
    assert_eq!(beyond.code, 2);
    assert!(
        beyond.stderr.contains("no migration 9"),
        "{}",
        beyond.stderr
    );

    // A database from a newer promptstack is refused and left as it was.
    let db = paths(home).database_path;
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("INSERT INTO schema_version VALUES (7, 'future', 0)", [])
        .unwrap();
    drop(conn);
    let before = std::fs::read(&db).unwrap();
    for args in [
        &["migrate", "status"][..],
        &["migrate", "down"],
        &["history", "list"],
    ] {
        let run = promptstack(home, args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(
            run.stderr.contains("schema version 7"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

/// Issue 17, item 14: `migrate down` below schema 2 used to drop placeholder values, prompt
/// references (and, below 1, older versions) for good. They are kept aside and come back.
#[test]
fn migrate_down_and_up_keep_what_the_files_cannot_restore() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let ids = save_all(
        home,
        &[
            ("/work/project/a.prompt.md", "first draft of the ibex plan"),
            ("/work/project/a.prompt.md", "second draft of the ibex plan"),
        ],
    );
    {
        let repo = SqliteRepository::open(&paths(home).database_path, Default::default()).unwrap();
        assert!(
            repo.record_prompt_use(
                Path::new("/work/project/a.prompt.md"),
                "commands/code-review"
            )
            .unwrap()
        );
        repo.record_placeholder_values(&[("language".into(), "Rust".into())])
            .unwrap();
    }
    for to in ["1", "0"] {
        let down = ok(home, &["migrate", "down", "--to", to]);
        assert!(
            down.contains("kept_0002_placeholder_values: 1 rows"),
            "{down}"
        );
        assert!(down.contains("Nothing was deleted"), "{down}");
        ok(home, &["migrate", "up"]);
        ok(home, &["history", "rebuild"]);
        let repo = SqliteRepository::open(&paths(home).database_path, Default::default()).unwrap();
        assert_eq!(
            repo.placeholder_values("language", 5).unwrap(),
            ["Rust"],
            "down to {to}"
        );
        assert_eq!(
            repo.compositions_using("commands/code-review")
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            repo.versions(&ids[0]).unwrap().len(),
            2,
            "older version kept"
        );
    }
    let shown = ok(home, &["history", "show", &ids[0]]);
    assert!(shown.contains("versions:  2"), "{shown}");
}
