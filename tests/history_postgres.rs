//! PostgreSQL specifics on a real server: TLS modes (rustls; a self-signed certificate made with
//! openssl), `promptstack migrate` against the team database (down keeps the data, up brings it
//! back), and a database with a newer schema refused without being touched.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use promptstack::config::Secret;
use promptstack::history::postgres::ConnectSettings;
use support::pg::{Cluster, skip};
use support::{Sandbox, uri};

fn settings(url: &str) -> ConnectSettings {
    ConnectSettings::from_url(&Secret::new(url), 1, Duration::from_secs(5)).expect("settings")
}

/// Whether the connection `url` opens is encrypted, or the error opening it.
fn encrypted(url: &str) -> Result<bool, String> {
    let mut client = settings(url).connect().map_err(|e| e.to_string())?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

/// A self-signed certificate for `localhost` / 127.0.0.1 in `dir`: (certificate, key).
fn certificate(dir: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    let (crt, key) = (dir.join("server.crt"), dir.join("server.key"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        // A server certificate, not a CA (rustls refuses a CA used as the server's own).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .map_err(|e| {
            format!("openssl is needed for the TLS test ({e}); run scripts/install-postgres.sh")
        })?;
    if !out.status.success() {
        return Err(format!(
            "openssl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| e.to_string())?;
    Ok((crt, key))
}

#[test]
fn tls_modes_follow_libpq() {
    let mut cluster = match Cluster::start() {
        Ok(cluster) => cluster,
        Err(reason) => return skip(&reason),
    };
    let plain = cluster.url("postgres");
    let base = plain.trim_end_matches("?sslmode=disable").to_string();
    // A server without TLS: `prefer` falls back to plain, `require` refuses.
    assert_eq!(encrypted(&format!("{base}?sslmode=prefer")), Ok(false));
    assert_eq!(encrypted(&plain), Ok(false));
    let refused = encrypted(&format!("{base}?sslmode=require")).unwrap_err();
    assert!(
        refused.starts_with("team history unreachable: "),
        "{refused}"
    );

    let (crt, key) = match certificate(cluster.root()) {
        Ok(files) => files,
        Err(reason) => return skip(&reason),
    };
    cluster.own(&key);
    cluster.own(&crt);
    cluster.stop();
    cluster.settings.extend([
        ("ssl".to_string(), "on".to_string()),
        ("ssl_cert_file".to_string(), crt.display().to_string()),
        ("ssl_key_file".to_string(), key.display().to_string()),
    ]);
    cluster.resume().expect("restart with TLS");
    let local = base.replace("127.0.0.1", "localhost");
    let root = crt.display().to_string();
    assert_eq!(encrypted(&format!("{base}?sslmode=prefer")), Ok(true));
    assert_eq!(
        encrypted(&format!("{base}?sslmode=require")),
        Ok(true),
        "not verified"
    );
    assert_eq!(encrypted(&plain), Ok(false));
    assert_eq!(
        encrypted(&format!("{local}?sslmode=verify-full&sslrootcert={root}")),
        Ok(true)
    );
    assert_eq!(
        encrypted(&format!("{base}?sslmode=require&sslrootcert={root}")),
        Ok(true),
        "require with a root certificate checks it"
    );
    // Checked certificates: an unknown issuer is refused.
    let unknown = encrypted(&format!("{local}?sslmode=verify-full")).unwrap_err();
    assert!(unknown.to_lowercase().contains("certificate"), "{unknown}");
    let other = tempfile::tempdir().unwrap();
    let (other_crt, _) = certificate(other.path()).unwrap();
    let wrong_root = encrypted(&format!(
        "{base}?sslmode=require&sslrootcert={}",
        other_crt.display()
    ))
    .unwrap_err();
    assert!(
        wrong_root.to_lowercase().contains("certificate"),
        "{wrong_root}"
    );
    let missing = ConnectSettings::from_url(
        &Secret::new(format!(
            "{base}?sslmode=verify-full&sslrootcert=/nonexistent.pem"
        )),
        1,
        Duration::from_secs(5),
    )
    .unwrap()
    .connect()
    .err()
    .expect("a missing root certificate is an error");
    assert!(
        missing.to_string().contains("/nonexistent.pem"),
        "{missing}"
    );
}

/// The CLI on a home whose history is the PostgreSQL database at `url`.
fn cli(home: &Sandbox, url: &str, args: &[&str]) -> (i32, String, String) {
    home.cli_with(
        args,
        &[
            ("PROMPTSTACK_STORAGE", "postgres"),
            ("PROMPTSTACK_POSTGRES_URL", url),
            ("PROMPTSTACK_AUTHOR", "alice"),
        ],
    )
}

#[test]
fn migrate_runs_against_the_team_database_and_down_keeps_the_data() {
    let url = match support::pg::fresh_database() {
        Ok(url) => url,
        Err(reason) => return skip(&reason),
    };
    let home = Sandbox::new();
    let (code, stdout, stderr) = cli(&home, &url, &["migrate", "status"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("schema version 0 of 1"), "{stdout}");
    assert!(
        !stdout.contains(":****@") || !stdout.contains("postgres@"),
        "{stdout}"
    );
    let (code, stdout, _) = cli(&home, &url, &["migrate", "up"]);
    assert_eq!((code, stdout.trim()), (0, "Applied 0001."));

    // Something only the database knows: a placeholder value and an older version.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.batch_execute(
        "INSERT INTO compositions (origin, id, author, machine, file_path, created_at, updated_at,
             content, char_count, line_count, content_hash)
         VALUES ('0123456789abcdef', 'c', 'bob', 'm', 'c.md', now(), now(), 'gnu', 3, 1, 'h');
         INSERT INTO composition_versions VALUES ('0123456789abcdef', 'c', 1, now(), 'old gnu', 'h0');
         INSERT INTO composition_versions VALUES ('0123456789abcdef', 'c', 2, now(), 'gnu', 'h');
         INSERT INTO placeholder_values VALUES ('lang', 'Rust', now(), 'bob');",
    )
    .unwrap();
    let (code, stdout, stderr) = cli(&home, &url, &["migrate", "down", "--to", "0"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Rolled back 0001."), "{stdout}");
    assert!(
        stdout.contains("kept_0001_composition_versions: 2 rows"),
        "{stdout}"
    );
    assert!(stdout.contains("Nothing was deleted"), "{stdout}");
    let (code, stdout, _) = cli(&home, &url, &["migrate", "status"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("schema version 0 of 1") && stdout.contains("pending"),
        "{stdout}"
    );
    let (code, _, stderr) = cli(&home, &url, &["migrate", "up"]);
    assert_eq!(code, 0, "{stderr}");
    let count = |db: &mut postgres::Client, table: &str| -> i64 {
        db.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(count(&mut db, "composition_versions"), 2);
    assert_eq!(count(&mut db, "placeholder_values"), 1);
    let (_, stdout, stderr) = cli(&home, &url, &["history", "search", "gnu"]);
    assert!(
        stdout.contains("bob"),
        "search sees bob's row again: {stdout}{stderr}"
    );
}

#[test]
fn a_newer_team_schema_is_refused_untouched() {
    let url = match support::pg::fresh_database() {
        Ok(url) => url,
        Err(reason) => return skip(&reason),
    };
    let home = Sandbox::new();
    assert_eq!(cli(&home, &url, &["migrate", "up"]).0, 0);
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.batch_execute("INSERT INTO schema_version VALUES (99, 'future', now())")
        .unwrap();
    let snapshot = |db: &mut postgres::Client| -> Vec<String> {
        db.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .chain(
            db.query("SELECT version::text FROM schema_version ORDER BY 1", &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0)),
        )
        .collect()
    };
    let before = snapshot(&mut db);
    for args in [
        &["migrate", "up"][..],
        &["migrate", "down"],
        &["history", "list"],
    ] {
        let (code, _, stderr) = cli(&home, &url, args);
        assert_eq!(code, 2, "{args:?}");
        assert!(stderr.contains("schema version 99"), "{args:?}: {stderr}");
    }
    // The server keeps the files and says why search is off.
    let mut client = support::Client::start(
        &home,
        &[
            ("PROMPTSTACK_STORAGE", "postgres"),
            ("PROMPTSTACK_POSTGRES_URL", url.as_str()),
        ],
    );
    client.initialize(serde_json::Value::Null, false);
    let doc = uri(&home.workspace().join("n.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "still kept\n");
    client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("schema version 99"))
    });
    client.shutdown();
    assert!(support::history_files(&home).iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap()
            .ends_with("still kept\n")
    }));
    assert_eq!(snapshot(&mut db), before, "the database was not touched");
}
