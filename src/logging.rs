//! Logging through `tracing`: stderr always (stdout belongs to the protocol), plus an optional
//! file. `PROMPTSTACK_LOG` takes a full filter (`debug`, `promptstack=trace,tantivy=warn`, ...)
//! and wins over the configured level. Every line passes through [`secrets::redact`] on its
//! way out, whatever wrote it (our code, the protocol framework, HTTP or database crates).

pub mod secrets;

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global subscriber. Later calls are ignored.
pub fn init(level: &str, file: Option<&Path>) {
    let filter = || {
        std::env::var("PROMPTSTACK_LOG")
            .ok()
            .and_then(|f| EnvFilter::try_new(f).ok())
            .unwrap_or_else(|| EnvFilter::new(format!("{level},tantivy=warn")))
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(Redacting(std::io::stderr))
        .with_ansi(false)
        .with_filter(filter());
    let file_layer = file.and_then(|path| {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(Redacting(Mutex::new(f)))
                    .with_ansi(false)
                    .with_filter(filter()),
            ),
            Err(e) => {
                tracing::warn!("cannot open log file {}: {e}", path.display());
                None
            }
        }
    });
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
}

/// Makes writers that hold one log event and write it redacted when the event is done.
struct Redacting<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            event: Vec::new(),
        }
    }
}

/// Buffers one event: a secret split across two `write` calls is still found whole.
struct RedactingWriter<W: Write> {
    inner: W,
    event: Vec<u8>,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.event.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.event);
        // Nowhere to report a failed log write.
        let _ = self.inner.write_all(secrets::redact(&text).as_bytes());
        let _ = self.inner.flush();
    }
}
