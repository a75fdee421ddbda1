//! `promptstack lsp`: the language server over stdio.

use std::process::ExitCode;

use crate::config::Loaded;
use crate::home::Home;

#[derive(Debug, clap::Args)]
pub struct LspArgs {
    /// Accepted for editors that pass it; stdio is the only transport.
    #[arg(long)]
    stdio: bool,
}

pub fn run(_args: LspArgs, home: Home) -> anyhow::Result<ExitCode> {
    let loaded = Loaded::load(home);
    crate::logging::init(
        &loaded.config().log_level,
        loaded.config().log_file.as_deref(),
    );
    for error in &loaded.errors {
        tracing::warn!("config: {error}");
    }
    // First run: the starter library. A failure here must not stop the server.
    if let Err(e) = crate::library::starter::install(&loaded.data_paths().library_dir) {
        tracing::warn!("cannot write the starter library: {e}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("promptstack")
        .build()?;
    let served = runtime.block_on(crate::lsp::serve_stdio(loaded));
    // The stdin reader sits in a blocking read the client may never end; do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    served?;
    Ok(ExitCode::SUCCESS)
}
