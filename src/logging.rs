//! Logging through `tracing`: stderr always (stdout belongs to the protocol), plus an optional
//! file. `PROMPTSTACK_LOG` takes a full filter (`debug`, `promptstack=trace,tantivy=warn`, ...)
//! and wins over the configured level.

use std::path::Path;
use std::sync::Mutex;

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
        .with_writer(std::io::stderr)
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
                    .with_writer(Mutex::new(f))
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
