//! Real git remotes for the git prompt source tests: a bare repository reached by `file://` or
//! through a `git daemon` on 127.0.0.1, and a working clone the test commits and pushes from.
//! Needs the `git` program; without it the tests skip with the reason (and fail when
//! `PROMPTSTACK_REQUIRE_EXTERNAL=1`).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `git` runs here; otherwise skips the calling test (or fails it when external programs
/// are required).
pub fn available() -> bool {
    let ok = Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !super::mcp_peer::required(),
            "git is required (PROMPTSTACK_REQUIRE_EXTERNAL=1) but cannot be run"
        );
        eprintln!("skipped: the `git` program is not installed");
    }
    ok
}

/// Runs git in `dir` with a fixed identity and no user or system configuration; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A bare repository `remote.git` under `root` and a clone `work` that pushes to it.
pub struct Remote {
    pub root: PathBuf,
    pub bare: PathBuf,
    pub work: PathBuf,
}

impl Remote {
    /// The remote with one first commit holding `files` (path, text).
    pub fn new(root: &Path, files: &[(&str, &str)]) -> Remote {
        let bare = root.join("remote.git");
        let work = root.join("work");
        std::fs::create_dir_all(&bare).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        git(&bare, &["init", "--quiet", "--bare"]);
        git(&work, &["init", "--quiet"]);
        git(
            &work,
            &[
                "remote",
                "add",
                "origin",
                bare.to_str().expect("utf-8 path"),
            ],
        );
        let remote = Remote {
            root: root.to_path_buf(),
            bare,
            work,
        };
        remote.commit(files, &[], "first");
        remote
    }

    /// `file://` URL of the bare repository.
    pub fn file_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// Writes `files`, deletes `removed`, commits and pushes `main`; returns the commit.
    pub fn commit(&self, files: &[(&str, &str)], removed: &[&str], message: &str) -> String {
        for (rel, text) in files {
            let path = self.work.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        for rel in removed {
            git(&self.work, &["rm", "--quiet", rel]);
        }
        git(&self.work, &["add", "--all"]);
        git(&self.work, &["commit", "--quiet", "-m", message]);
        git(&self.work, &["push", "--quiet", "origin", "HEAD:main"]);
        self.head()
    }

    /// Replaces the history of `main` with one unrelated commit holding only `files`, pushed
    /// with `--force` (what a rewritten remote looks like).
    pub fn force_push(&self, files: &[(&str, &str)]) -> String {
        git(
            &self.work,
            &["checkout", "--quiet", "--orphan", "rewritten"],
        );
        git(&self.work, &["rm", "-r", "--quiet", "--cached", "."]);
        for entry in std::fs::read_dir(&self.work).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n != ".git") {
                if path.is_dir() {
                    std::fs::remove_dir_all(path).unwrap();
                } else {
                    std::fs::remove_file(path).unwrap();
                }
            }
        }
        for (rel, text) in files {
            let path = self.work.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        git(&self.work, &["add", "--all"]);
        git(&self.work, &["commit", "--quiet", "-m", "rewritten"]);
        git(
            &self.work,
            &["push", "--quiet", "--force", "origin", "HEAD:main"],
        );
        self.head()
    }

    pub fn head(&self) -> String {
        git(&self.work, &["rev-parse", "HEAD"]).trim().to_string()
    }
}

/// `git daemon` would fork `git-daemon` and wait for it: killing the wrapper would leave the
/// server running. So the daemon itself is started.
fn daemon_program() -> PathBuf {
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    Path::new(&exec_path).join("git-daemon")
}

/// Whether `git daemon` is installed (some distributions package it apart); otherwise skips the
/// calling test (or fails it when external programs are required).
pub fn daemon_available() -> bool {
    let ok = daemon_program().is_file();
    if !ok {
        assert!(
            !super::mcp_peer::required(),
            "git daemon is required (PROMPTSTACK_REQUIRE_EXTERNAL=1) but {} is missing",
            daemon_program().display()
        );
        eprintln!("skipped: `git daemon` is not installed");
    }
    ok
}

/// A `git daemon` serving the repositories under a folder on 127.0.0.1; killed on drop.
pub struct Daemon {
    child: Child,
    pub port: u16,
}

impl Daemon {
    pub fn start(base: &Path) -> Daemon {
        let port = free_port();
        let child = Command::new(daemon_program())
            .args([
                "--export-all",
                "--reuseaddr",
                "--informative-errors",
                "--listen=127.0.0.1",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start git daemon");
        let deadline = Instant::now() + super::TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "git daemon never listened on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon { child, port }
    }

    /// `git://` URL of the repository `name` under the base folder.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// An HTTP server on 127.0.0.1 that answers every request `401` asking for credentials, as a
/// git host refusing a token does. Returns its port; runs for the life of the test process.
pub fn refusing_http_server() -> u16 {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\n\
                  Content-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    port
}
