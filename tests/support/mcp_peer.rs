//! The official Python MCP SDK as the real peer of the MCP tests: finds (or, when external
//! programs are required, installs) the cached venv of `scripts/mcp-venv-setup.sh`, and runs the
//! Python scripts in `tests/fixtures/mcp/`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether a missing peer fails the test instead of skipping it (CI).
pub fn required() -> bool {
    std::env::var("PROMPTSTACK_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1")
}

fn setup_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mcp-venv-setup.sh")
}

/// The venv's python with the SDK, or `None` after saying why the test skips.
pub fn python() -> Option<PathBuf> {
    let cached = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".cache/promptstack/mcp-venv/bin/python");
    let works = |python: &Path| {
        Command::new(python)
            .args(["-c", "import mcp.client.session, mcp.server.mcpserver"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(&cached) {
        return Some(cached);
    }
    if required() {
        // CI: install it now (idempotent, cached).
        let out = Command::new("bash")
            .arg(setup_script())
            .output()
            .expect("run scripts/mcp-venv-setup.sh");
        assert!(
            out.status.success(),
            "scripts/mcp-venv-setup.sh failed (PROMPTSTACK_REQUIRE_EXTERNAL=1): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let python = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(
            works(&python),
            "the MCP venv at {} does not import mcp",
            python.display()
        );
        return Some(python);
    }
    eprintln!(
        "skipping: the Python MCP SDK is not installed; run scripts/mcp-venv-setup.sh \
         (PROMPTSTACK_REQUIRE_EXTERNAL=1 makes this a failure)"
    );
    None
}

/// A fixture script's path.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mcp")
        .join(name)
}
