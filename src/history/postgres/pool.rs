//! Connections to the team database: settings read from the URL, TLS with rustls, a small pool,
//! and a short memory of the last failure so an unreachable server is not waited for on every
//! call (searches fail at once with the reason; the recorder retries on its own schedule).

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::{Client, Statement};

use super::describe;
use crate::config::{Config, Secret};
use crate::history::HistoryError;

/// After a failed connection, calls fail at once with its reason for this long.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// How the connection is protected (the URL's `sslmode`, libpq's meaning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked.
    Prefer,
    /// TLS or no connection. The certificate is checked only when `root` is set
    /// (`sslrootcert`), as libpq does.
    Require { root: Option<PathBuf> },
    /// TLS with the certificate checked against `root` (or the built-in web roots) and the host
    /// name.
    VerifyFull { root: Option<PathBuf> },
}

/// Everything needed to connect, read from the config. `Debug` never shows the password.
#[derive(Clone)]
pub struct ConnectSettings {
    /// The URL without our own parameters (`sslmode`, `sslrootcert`), for the driver.
    url: Secret,
    /// The configured URL with the password masked, for messages.
    pub masked_url: String,
    pub tls: TlsMode,
    pub pool_size: usize,
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for ConnectSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSettings")
            .field("url", &self.masked_url)
            .field("tls", &self.tls)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl ConnectSettings {
    /// The settings of the `postgres` backend; fails with a message naming the setting.
    pub fn from_config(config: &Config) -> Result<Self, HistoryError> {
        let url = config.postgres_url.as_ref().ok_or_else(|| {
            HistoryError::NotConfigured(
                "`storage.backend` is `postgres` but `storage.postgres_url` is not set (PROMPTSTACK_POSTGRES_URL); see docs/team.md".into(),
            )
        })?;
        Self::from_url(
            url,
            config.postgres_pool_size.max(1) as usize,
            Duration::from_secs(config.postgres_connect_timeout_secs.max(1)),
        )
    }

    /// Settings for `url` (a libpq URL: `postgres://user:password@host:port/db?sslmode=...`).
    pub fn from_url(
        url: &Secret,
        pool_size: usize,
        connect_timeout: Duration,
    ) -> Result<Self, HistoryError> {
        let masked_url = url.masked();
        let invalid = |why: String| {
            HistoryError::NotConfigured(format!(
                "invalid `storage.postgres_url` {masked_url}: {why}"
            ))
        };
        let (base, query) = match url.expose().split_once('?') {
            Some((base, query)) => (base, query),
            None => (url.expose(), ""),
        };
        let mut mode = "prefer".to_string();
        let mut root = None;
        let mut rest = Vec::new();
        for param in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key {
                "sslmode" => mode = percent_decode(value),
                "sslrootcert" => root = Some(PathBuf::from(percent_decode(value))),
                _ => rest.push(param),
            }
        }
        let tls = match mode.as_str() {
            "disable" => TlsMode::Disable,
            "prefer" | "allow" => TlsMode::Prefer,
            "require" | "verify-ca" => TlsMode::Require { root },
            "verify-full" => TlsMode::VerifyFull { root },
            other => {
                return Err(invalid(format!(
                    "sslmode `{other}`; allowed: disable, prefer, require, verify-full"
                )));
            }
        };
        let driver_url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        // Parsed once here so a bad URL is reported by `config check`, not at first use. The
        // driver's message names the problem, never the password.
        postgres::Config::from_str(&driver_url).map_err(|e| invalid(describe(&e)))?;
        Ok(ConnectSettings {
            url: Secret::new(driver_url),
            masked_url,
            tls,
            pool_size,
            connect_timeout,
        })
    }

    fn driver_config(&self) -> Result<postgres::Config, HistoryError> {
        let mut config = postgres::Config::from_str(self.url.expose())
            .map_err(|e| HistoryError::NotConfigured(describe(&e)))?;
        config.connect_timeout(self.connect_timeout);
        // Dead peers are noticed by the kernel instead of hanging a save forever.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        config.tcp_user_timeout(self.connect_timeout.max(Duration::from_secs(10)));
        if config.get_application_name().is_none() {
            config.application_name("promptstack");
        }
        config.ssl_mode(match self.tls {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require { .. } | TlsMode::VerifyFull { .. } => SslMode::Require,
        });
        Ok(config)
    }

    /// Opens one connection (blocking up to the connect timeout).
    pub fn connect(&self) -> Result<Client, HistoryError> {
        let config = self.driver_config()?;
        let unreachable = |e: postgres::Error| HistoryError::Unreachable {
            reason: describe(&e),
        };
        match &self.tls {
            TlsMode::Disable => config.connect(postgres::NoTls).map_err(unreachable),
            mode => {
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(mode)?);
                config.connect(tls).map_err(unreachable)
            }
        }
    }
}

/// `%xx` escapes decoded (URL parameter values).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn tls_config(mode: &TlsMode) -> Result<rustls::ClientConfig, HistoryError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| HistoryError::NotConfigured(format!("TLS: {e}")))?;
    let root = match mode {
        TlsMode::Require { root: Some(root) } | TlsMode::VerifyFull { root: Some(root) } => {
            Some(Some(root))
        }
        TlsMode::VerifyFull { root: None } => Some(None),
        _ => None,
    };
    let config = match root {
        Some(root) => {
            let mut roots = rustls::RootCertStore::empty();
            match root {
                Some(path) => {
                    use rustls::pki_types::CertificateDer;
                    use rustls::pki_types::pem::PemObject;
                    let bad = |e: String| {
                        HistoryError::NotConfigured(format!(
                            "`sslrootcert` {}: {e}",
                            path.display()
                        ))
                    };
                    let certs = CertificateDer::pem_file_iter(path)
                        .map_err(|e| bad(e.to_string()))?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| bad(e.to_string()))?;
                    if certs.is_empty() {
                        return Err(bad("no certificate in the file".into()));
                    }
                    for cert in certs {
                        roots.add(cert).map_err(|e| bad(e.to_string()))?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// `sslmode=prefer|require` without a root certificate: the channel is encrypted, the server's
/// certificate is not checked (libpq's meaning; docs/team.md says to use `verify-full` or
/// `sslrootcert` against impostors). Handshake signatures are still verified.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One pooled connection and its prepared statements.
pub struct Conn {
    pub client: Client,
    statements: HashMap<String, Statement>,
}

impl Conn {
    /// `sql` prepared once per connection (one round trip per later use).
    pub fn prepared(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

#[derive(Default)]
struct State {
    idle: Vec<Conn>,
    open: usize,
    /// The last connection failure and when it happened.
    failure: Option<(Instant, String)>,
}

/// Called on every new connection (session settings, the schema check).
pub type OnConnect = Box<dyn Fn(&mut Conn) -> Result<(), HistoryError> + Send + Sync>;

/// A small blocking pool.
pub struct Pool {
    settings: ConnectSettings,
    on_connect: OnConnect,
    state: Mutex<State>,
    returned: Condvar,
}

impl Pool {
    pub fn new(settings: ConnectSettings, on_connect: OnConnect) -> Self {
        Pool {
            settings,
            on_connect,
            state: Mutex::new(State::default()),
            returned: Condvar::new(),
        }
    }

    pub fn settings(&self) -> &ConnectSettings {
        &self.settings
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` on a pooled connection. A connection that broke (the server restarted) is
    /// replaced and `work` run once more, so callers' statements must be safe to repeat (ours
    /// are idempotent upserts and reads).
    pub fn run<T>(
        &self,
        mut work: impl FnMut(&mut Conn) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut conn = self.take()?;
            let result = work(&mut conn);
            let broken = conn.client.is_closed();
            self.give_back(conn, broken);
            match result {
                Err(HistoryError::Unreachable { .. }) if broken && attempts == 1 => continue,
                other => return other,
            }
        }
    }

    fn take(&self) -> Result<Conn, HistoryError> {
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(conn);
            }
            if let Some((at, reason)) = &state.failure
                && at.elapsed() < RETRY_AFTER
            {
                return Err(HistoryError::Unreachable {
                    reason: reason.clone(),
                });
            }
            if state.open < self.settings.pool_size {
                state.open += 1;
                drop(state);
                let connected = self.settings.connect().and_then(|client| {
                    let mut conn = Conn {
                        client,
                        statements: HashMap::new(),
                    };
                    (self.on_connect)(&mut conn).map(|()| conn)
                });
                let mut state = self.lock();
                return match connected {
                    Ok(conn) => {
                        state.failure = None;
                        Ok(conn)
                    }
                    Err(e) => {
                        state.open -= 1;
                        if let HistoryError::Unreachable { reason } = &e {
                            state.failure = Some((Instant::now(), reason.clone()));
                            tracing::debug!(url = %self.settings.masked_url, "team history unreachable: {reason}");
                        }
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            state = self.returned.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn give_back(&self, conn: Conn, broken: bool) {
        let mut state = self.lock();
        if broken {
            state.open = state.open.saturating_sub(1);
        } else {
            state.idle.push(conn);
        }
        drop(state);
        self.returned.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> Result<ConnectSettings, HistoryError> {
        ConnectSettings::from_url(&Secret::new(url), 2, Duration::from_secs(1))
    }

    #[test]
    fn urls_name_the_tls_mode_and_never_show_the_password() {
        let cases = [
            ("postgres://me:pw@db/team", TlsMode::Prefer),
            ("postgres://me:pw@db/team?sslmode=disable", TlsMode::Disable),
            (
                "postgresql://me:pw@db:5433/team?sslmode=require&application_name=x",
                TlsMode::Require { root: None },
            ),
            (
                "postgres://db/team?sslmode=verify-full&sslrootcert=%2Fetc%2Fteam.pem",
                TlsMode::VerifyFull {
                    root: Some("/etc/team.pem".into()),
                },
            ),
        ];
        for (url, tls) in cases {
            let s = settings(url).unwrap();
            assert_eq!(s.tls, tls, "{url}");
            assert!(!s.url.expose().contains("sslmode"), "{url}");
            assert!(!format!("{s:?}").contains(":pw@"), "{s:?}");
        }
        let err = settings("postgres://me:hunter2@db/team?sslmode=sometimes").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("sslmode `sometimes`"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let err = settings("postgres://me:hunter2@db:notaport/team").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn an_unreachable_server_fails_fast_after_the_first_try() {
        // A port nothing listens on: refused at once.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let s = settings(&format!(
            "postgres://me:hunter2@127.0.0.1:{port}/team?sslmode=disable"
        ))
        .unwrap();
        let pool = Pool::new(s, Box::new(|_| Ok(())));
        let first = pool.run(|_| Ok(())).unwrap_err();
        assert!(
            matches!(&first, HistoryError::Unreachable { reason } if !reason.contains("hunter2")),
            "{first}"
        );
        assert!(first.to_string().starts_with("team history unreachable: "));
        let second = pool.run(|_| Ok(())).unwrap_err();
        assert_eq!(second.to_string(), first.to_string());
    }
}
