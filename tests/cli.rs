//! End-to-end tests of the foundation CLI: validate, config, init, migration.

mod support;

use support::Sandbox;

#[test]
fn validate_reports_file_line_and_problem_and_exits_1() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.library().join("commands/bad.md"),
        b"---\ndescription: d\ntags: [x]\n---\nUse {{text:a}}\nand {{text:a}}\n",
    );
    let (code, stdout, _) = sandbox.cli(&["validate"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("commands/bad.md:1: missing `title` in frontmatter"),
        "{stdout}"
    );
    assert!(
        stdout.contains("commands/bad.md:6: duplicate placeholder name `a`"),
        "{stdout}"
    );
    assert!(
        stdout
            .trim_end()
            .ends_with("Total: 2 errors, 0 warnings in 1 files"),
        "{stdout}"
    );

    let (code, stdout, _) = sandbox.cli(&["validate", "--format", "json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
    assert_eq!(report["errors"], 2);
    assert_eq!(report["files"][0]["findings"][1]["line"], 6);
}

#[test]
fn the_starter_library_is_written_once_and_validates_clean() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = sandbox.cli(&["validate"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let count: usize = walk_md(&sandbox.library());
    assert!(count >= 12, "starter library has {count} prompts");
    assert!(
        stdout.contains(&format!("Total: 0 errors, 0 warnings in {count} files")),
        "{stdout}"
    );
    // A user's edit is never overwritten.
    let first = sandbox.library().join("commands/code-review.md");
    std::fs::write(
        &first,
        "---\ntitle: Mine\ndescription: d\ntags: [x]\n---\nmine\n",
    )
    .unwrap();
    sandbox.cli(&["validate"]);
    assert!(std::fs::read_to_string(&first).unwrap().contains("mine"));
}

fn walk_md(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                walk_md(&p)
            } else {
                usize::from(p.extension().is_some_and(|e| e == "md"))
            }
        })
        .sum()
}

#[test]
fn validate_bad_usage_exits_2() {
    let sandbox = Sandbox::new();
    let (code, _, stderr) = sandbox.cli(&["validate", "/definitely/not/here"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("does not exist"), "{stderr}");
    let (code, _, _) = sandbox.cli(&["validate", "--format", "xml"]);
    assert_eq!(code, 2);
}

#[test]
fn config_shows_sources_masks_keys_and_check_fails_on_invalid() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.home().join("config.yaml"),
        b"version: 2\nai:\n  provider: openai\n  openai_api_key: sk-test-abcdefghijklmnop\n",
    );
    let (code, stdout, _) = sandbox.cli(&["config"]);
    assert_eq!(code, 0);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ai.provider") && l.contains("openai") && l.ends_with("(file)")),
        "{stdout}"
    );
    assert!(stdout.contains("****mnop"), "{stdout}");
    assert!(
        !stdout.contains("sk-test-abcdefghijklmnop"),
        "key leaked: {stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("storage.backend") && l.ends_with("(default)"))
    );

    let (code, _, _) = sandbox.cli(&["config", "check"]);
    assert_eq!(code, 0);
    sandbox.write(
        &sandbox.home().join("config.yaml"),
        b"version: 2\nstorage:\n  backend: mongo\n",
    );
    let (code, _, stderr) = sandbox.cli(&["config", "check"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid value for `storage.backend` (from file): \"mongo\"; allowed: sqlite, postgres, graph"), "{stderr}");
}

#[test]
fn env_overrides_the_file() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &sandbox.home().join("config.yaml"),
        b"version: 2\nai:\n  provider: openai\n",
    );
    let out = std::process::Command::new(support::binary())
        .args(["config"])
        .env("PROMPTSTACK_HOME", sandbox.home())
        .env("PROMPTSTACK_AI_PROVIDER", "claude")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("ai.provider")
            && l.contains("claude")
            && l.ends_with("(env PROMPTSTACK_AI_PROVIDER)")),
        "{stdout}"
    );
}

#[test]
fn init_non_interactive_writes_a_private_config_and_the_layout() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = sandbox.cli(&["init", "--defaults"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let config = sandbox.home().join("config.yaml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(sandbox.home().join("data/.history").is_dir());
    assert!(sandbox.library().join("workflows").is_dir());
    let (code, _, _) = sandbox.cli(&["config", "check"]);
    assert_eq!(code, 0);
    // A second init refuses to replace the config without --force.
    let (code, _, stderr) = sandbox.cli(&["init", "--defaults"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("already exists"), "{stderr}");
    let (code, _, _) = sandbox.cli(&["init", "--provider", "openai", "--force"]);
    assert_eq!(code, 0);
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("provider: openai")
    );
    assert!(sandbox.home().join("config.yaml.bak").exists());
}

#[test]
fn an_old_flat_config_is_migrated_and_keeps_working() {
    let sandbox = Sandbox::new();
    let old = "claude_api_key: sk-ant-legacy-0000001111\nmodel: claude-3-haiku\nvim_mode: true\nversion: \"1.0\"\n";
    sandbox.write(&sandbox.home().join("config.yaml"), old.as_bytes());
    let (code, stdout, stderr) = sandbox.cli(&["config"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("ai.model")
            && l.contains("claude-3-haiku")
            && l.ends_with("(file)")),
        "{stdout}"
    );
    // `config` says it migrated the file, once: the file is in the current format now.
    assert_eq!(stderr.matches("note: migrated").count(), 1, "{stderr}");
    assert!(stderr.contains("config.yaml.bak"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(sandbox.home().join("config.yaml.bak")).unwrap(),
        old
    );
    let migrated = std::fs::read_to_string(sandbox.home().join("config.yaml")).unwrap();
    assert!(!migrated.contains("vim_mode"), "{migrated}");
    let (code, _, stderr) = sandbox.cli(&["config", "check"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("migrated"), "{stderr}");
}

#[test]
fn config_shows_an_empty_list_as_an_empty_list() {
    let sandbox = Sandbox::new();
    let (code, stdout, _) = sandbox.cli(&["config"]);
    assert_eq!(code, 0);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("ai.specialists"))
        .expect("ai.specialists is listed");
    let value: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(value, ["ai.specialists", "[]", "(default)"], "{line}");
}

#[test]
fn subcommands_log_to_stderr_at_the_level_asked_for() {
    let sandbox = Sandbox::new();
    let run = |log: Option<&str>| {
        let mut command = std::process::Command::new(support::binary());
        command
            .args(["library", "search", "review", "--format", "json"])
            .env("PROMPTSTACK_HOME", sandbox.home())
            .env_remove("PROMPTSTACK_LOG");
        if let Some(log) = log {
            command.env("PROMPTSTACK_LOG", log);
        }
        let out = command.output().expect("run promptstack");
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (stdout, stderr) = run(Some("trace"));
    assert!(stderr.contains("library loaded"), "{stderr}");
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "{stderr}"
    );
    // stdout stays the command's output: still valid JSON.
    let parsed: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert!(parsed.is_array() || parsed.is_object(), "{stdout}");
    // Without PROMPTSTACK_LOG only warnings would show; a clean run shows none.
    let (_, quiet) = run(None);
    assert!(!quiet.contains("library loaded"), "{quiet}");
}

#[test]
fn version_and_help() {
    let sandbox = Sandbox::new();
    let (code, stdout, _) = sandbox.cli(&["--version"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("promptstack "));
    let (code, stdout, _) = sandbox.cli(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Examples:"));
}
