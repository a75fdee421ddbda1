//! A real PostgreSQL server for tests and benchmarks: a throwaway cluster (`initdb` and
//! `postgres` in a temp dir, on a free loopback port; as the `postgres` user when running as
//! root, since initdb refuses root), or the server named by `PROMPTSTACK_TEST_POSTGRES_URL`.
//! Without either the caller skips with the reason — or fails under
//! `PROMPTSTACK_REQUIRE_EXTERNAL=1`. `scripts/install-postgres.sh` installs what this needs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Whether a missing PostgreSQL must fail the run instead of skipping.
pub fn required() -> bool {
    std::env::var("PROMPTSTACK_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1")
}

/// Skips the calling test with `reason`, or fails it when PostgreSQL is required.
pub fn skip(reason: &str) {
    assert!(
        !required(),
        "PostgreSQL is required (PROMPTSTACK_REQUIRE_EXTERNAL=1): {reason}"
    );
    eprintln!("skipped: {reason}");
}

/// The directory holding `initdb`, `postgres` and `pg_ctl`.
fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("PROMPTSTACK_PG_BIN") {
        return Ok(dir.into());
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|d| d.join("initdb").exists());
    versions.sort();
    if let Some(dir) = versions.pop() {
        return Ok(dir);
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path).find(|d| d.join("initdb").exists() && d.join("postgres").exists())
        })
        .ok_or_else(|| {
            "no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql or on PATH; run scripts/install-postgres.sh".into()
        })
}

/// The uid and gid to run the server as: ours, or the `postgres` user's when we are root.
fn server_user() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"postgres") && f.len() > 3)
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .map(Some)
        .ok_or_else(|| {
            "running as root, and there is no `postgres` user to run the server as (initdb refuses root); run scripts/install-postgres.sh".into()
        })
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Servers still running at exit, stopped by an `atexit` handler (shared clusters live in
/// statics, which are never dropped).
static RUNNING: Mutex<Vec<(u32, PathBuf)>> = Mutex::new(Vec::new());

/// Remembers a server process (and its directory) to stop and remove at exit.
pub fn track(pid: u32, dir: &Path) {
    static AT_EXIT: OnceLock<()> = OnceLock::new();
    AT_EXIT.get_or_init(|| {
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(stop_all_at_exit) };
    });
    RUNNING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((pid, dir.to_path_buf()));
}

/// Stops a tracked server now (fast shutdown) and forgets it.
pub fn stop_tracked(pid: u32) {
    stop_pid(pid);
    RUNNING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|(p, _)| *p != pid);
}

extern "C" fn stop_all_at_exit() {
    let running = std::mem::take(&mut *RUNNING.lock().unwrap_or_else(|p| p.into_inner()));
    for (pid, dir) in running {
        stop_pid(pid);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Fast shutdown (SIGINT), then waits for the process to go.
fn stop_pid(pid: u32) {
    // SAFETY: signalling and reaping our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGINT);
        let mut status = 0;
        libc::waitpid(pid as i32, &mut status, 0);
    }
}

/// A throwaway cluster. Dropping it stops the server and removes its files.
pub struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    pub port: u16,
    child: Option<Child>,
    /// `fsync` on (benchmarks: durable like a real server) or off (tests: faster).
    durable: bool,
    /// More `-c name=value` server settings, applied from the next [`Cluster::resume`].
    pub settings: Vec<(String, String)>,
    created: AtomicUsize,
}

impl Cluster {
    /// A new cluster for tests (fsync off).
    pub fn start() -> Result<Cluster, String> {
        Self::start_with(false)
    }

    /// A new cluster; `durable` keeps PostgreSQL's default fsync settings.
    pub fn start_with(durable: bool) -> Result<Cluster, String> {
        let bin = bin_dir()?;
        let user = server_user()?;
        let root = std::env::temp_dir().join(format!(
            "promptstack-pg-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&root, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args(["-D", "data", "-A", "trust", "-U", "postgres", "-E", "UTF8"])
            .args(["--locale=C", "--no-sync"])
            .current_dir(&root)
            .env("LC_ALL", "C")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_user(&mut initdb, user);
        let out = initdb.output().map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let mut cluster = Cluster {
            root,
            bin,
            user,
            port: free_port(),
            child: None,
            durable,
            settings: Vec::new(),
            created: AtomicUsize::new(0),
        };
        cluster.resume()?;
        Ok(cluster)
    }

    /// Starts the server (again, after [`Cluster::stop`]) and waits until it answers.
    pub fn resume(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        let mut server = Command::new(self.bin.join("postgres"));
        server
            .args(["-D", "data", "-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args([
                "-c",
                &format!("unix_socket_directories={}", self.root.display()),
            ])
            .args(["-c", "max_connections=200", "-c", "shared_buffers=256MB"])
            .current_dir(&self.root)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::options()
                    .create(true)
                    .append(true)
                    .open(self.root.join("server.log"))
                    .map_err(|e| e.to_string())?,
            ));
        if !self.durable {
            server.args(["-c", "fsync=off", "-c", "synchronous_commit=off"]);
            server.args(["-c", "full_page_writes=off"]);
        }
        for (name, value) in &self.settings {
            server.args(["-c", &format!("{name}={value}")]);
        }
        as_user(&mut server, self.user);
        let child = server.spawn().map_err(|e| format!("postgres: {e}"))?;
        track(child.id(), &self.root);
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if postgres::Client::connect(&self.url("postgres"), postgres::NoTls).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("PostgreSQL did not start: {}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (fast shutdown: clients are disconnected); the data stays.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            stop_tracked(child.id());
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
    }

    /// The cluster's directory (for TLS files).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Hands a file in the cluster's directory to the server's user (a TLS key must be its own).
    pub fn own(&self, path: &Path) {
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
        }
    }

    /// A URL for database `db` as the `postgres` superuser, without TLS.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// A new, empty database; returns its URL.
    pub fn database(&self) -> String {
        let n = self.created.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{n}");
        let mut client =
            postgres::Client::connect(&self.url("postgres"), postgres::NoTls).expect("connect");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        self.url(&name)
    }
}

fn as_user(command: &mut Command, user: Option<(u32, u32)>) {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A server shared by every test of one test binary: each test gets its own database.
enum Shared {
    Local(Cluster),
    External { url: String, created: AtomicUsize },
}

fn shared() -> Result<&'static Shared, String> {
    static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| match std::env::var("PROMPTSTACK_TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(Shared::External {
                url,
                created: AtomicUsize::new(0),
            }),
            _ => Cluster::start().map(Shared::Local),
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A URL to a new, empty database on the shared server; `Err(reason)` when there is none.
pub fn fresh_database() -> Result<String, String> {
    match shared()? {
        Shared::Local(cluster) => Ok(cluster.database()),
        Shared::External { url, created } => {
            let name = format!(
                "promptstack_test_{}_{}",
                std::process::id(),
                created.fetch_add(1, Ordering::SeqCst)
            );
            let mut client = postgres::Client::connect(url, postgres::NoTls)
                .map_err(|e| format!("PROMPTSTACK_TEST_POSTGRES_URL: {e}"))?;
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .map_err(|e| {
                    format!("PROMPTSTACK_TEST_POSTGRES_URL: cannot create a database: {e}")
                })?;
            // Same server and credentials, the new database.
            let (base, query) = match url.split_once('?') {
                Some((b, q)) => (b, format!("?{q}")),
                None => (url.as_str(), String::new()),
            };
            let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
            Ok(format!("{server}/{name}{query}"))
        }
    }
}
