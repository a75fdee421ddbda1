//! Running the system `git` for git prompt sources: a clean environment (no prompts, no pager,
//! no inherited `GIT_*` overrides), a timeout, and errors sorted into what a user can act on,
//! with every credential of the URL taken out.
//!
//! The CLI rather than a library: the user's credential helpers, ssh config and agent, proxies
//! and shallow fetch all work as they do in their shell, and no large dependency is added.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why a git command failed, in words a user can act on. Messages never hold a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    #[error("the `git` program cannot be started ({0}); install git to use git prompt sources")]
    Missing(String),
    #[error("cannot reach {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("{url} refused the credentials (or asked for some): {detail}")]
    Auth { url: String, detail: String },
    #[error("{url} has no ref `{reference}`: {detail}")]
    BadRef {
        url: String,
        reference: String,
        detail: String,
    },
    #[error("git {action} failed: {detail}")]
    Failed { action: String, detail: String },
}

/// One remote and how to talk to it.
pub struct Git {
    /// The URL as configured (credentials included: git needs them).
    url: String,
    timeout: Duration,
}

impl Git {
    pub fn new(url: &str, timeout: Duration) -> Self {
        Git {
            url: url.to_string(),
            timeout,
        }
    }

    /// The URL safe to show.
    pub fn shown_url(&self) -> String {
        crate::logging::secrets::mask_url(&self.url)
    }

    /// `git -C dir ARGS...`; stdout on success.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Result<String, GitError> {
        let action = args.first().copied().unwrap_or("").to_string();
        let mut command = Command::new("git");
        command
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "advice.detachedHead=false",
                "-c",
                "protocol.version=2",
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // A variable such as GIT_DIR left by a hook or a shell would point us at another repository.
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("GIT_")) {
                command.env_remove(name);
            }
        }
        command
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "")
            .env("SSH_ASKPASS", "")
            .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
            .env("GIT_PAGER", "cat")
            // English messages, so failures can be told apart.
            .env("LC_ALL", "C");
        tracing::debug!("git {} in {}", self.shown(&args.join(" ")), dir.display());
        let mut child = command
            .spawn()
            .map_err(|e| GitError::Missing(e.to_string()))?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() < self.timeout => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Err(e) => {
                    return Err(GitError::Failed {
                        action,
                        detail: e.to_string(),
                    });
                }
            }
        };
        let out = stdout.join().unwrap_or_default();
        let err = self.shown(&stderr.join().unwrap_or_default());
        match status {
            Some(s) if s.success() => Ok(out),
            Some(_) => Err(self.classify(action, args, err.trim())),
            None => Err(GitError::Unreachable {
                url: self.shown_url(),
                detail: format!("no answer within {} s", self.timeout.as_secs()),
            }),
        }
    }

    /// `text` with the URL's credentials replaced, including when git repeats the URL.
    fn shown(&self, text: &str) -> String {
        let text = text.replace(&self.url, &self.shown_url());
        crate::logging::secrets::redact(&text).into_owned()
    }

    fn classify(&self, action: String, args: &[&str], stderr: &str) -> GitError {
        let lower = stderr.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
        // The last `fatal:`/`error:` line says why; progress lines before it do not.
        let detail = stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
            .or_else(|| stderr.lines().last())
            .unwrap_or("no message")
            .trim()
            .to_string();
        let url = self.shown_url();
        if has(&[
            "authentication failed",
            "could not read username",
            "could not read password",
            "terminal prompts disabled",
            "permission denied (publickey",
            "http 401",
            "http 403",
            "returned error: 401",
            "returned error: 403",
        ]) {
            GitError::Auth { url, detail }
        } else if has(&[
            "couldn't find remote ref",
            "not our ref",
            "unknown revision",
            "bad revision",
            "no such ref",
            "invalid refspec",
        ]) {
            let reference = args.last().copied().unwrap_or("").to_string();
            GitError::BadRef {
                url,
                reference,
                detail,
            }
        } else if has(&[
            "could not resolve host",
            "connection refused",
            "unable to connect",
            "failed to connect",
            "could not read from remote repository",
            "does not appear to be a git repository",
            "unable to access",
            "connection timed out",
            "network is unreachable",
            "the remote end hung up",
            "repository not found",
        ]) {
            GitError::Unreachable { url, detail }
        } else {
            GitError::Failed { action, detail }
        }
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_sorted_and_hold_no_credential() {
        crate::logging::secrets::register("s3cr3t-unit");
        let git = Git::new(
            "https://me:s3cr3t-unit@127.0.0.1:9/p.git",
            Duration::from_secs(5),
        );
        let cases = [
            (
                "fatal: unable to access 'https://me:s3cr3t-unit@127.0.0.1:9/p.git/': Failed to connect",
                "cannot reach https://me:****@127.0.0.1:9/p.git: fatal: unable to access 'https://me:****@127.0.0.1:9/p.git/': Failed to connect",
            ),
            (
                "fatal: couldn't find remote ref nope",
                "https://me:****@127.0.0.1:9/p.git has no ref `nope`: fatal: couldn't find remote ref nope",
            ),
            (
                "remote: denied\nfatal: Authentication failed for 'https://127.0.0.1:9/p.git/'",
                "https://me:****@127.0.0.1:9/p.git refused the credentials (or asked for some): fatal: Authentication failed for 'https://127.0.0.1:9/p.git/'",
            ),
            (
                "fatal: something else",
                "git fetch failed: fatal: something else",
            ),
        ];
        for (stderr, expected) in cases {
            let shown = git.shown(stderr);
            let error = git.classify("fetch".into(), &["fetch", "URL", "nope"], &shown);
            assert_eq!(error.to_string(), expected);
        }
    }
}
