//! `promptstack mcp`: the library and history as an MCP server, over stdio or streamable HTTP.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::config::Loaded;
use crate::events::EventBus;
use crate::library::Library;
use crate::mcp::server::Catalog;

#[derive(Debug, clap::Args)]
pub struct McpArgs {
    /// Serve streamable HTTP at http://ADDR/mcp instead of stdio, e.g. 127.0.0.1:8765 (port 0
    /// picks a free one). Binds exactly the address given: use a loopback one unless other
    /// machines must reach it.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// Prompts per `prompts/list` page.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    page_size: u32,
}

pub fn run(args: McpArgs, loaded: &Loaded) -> anyhow::Result<ExitCode> {
    // stdout is the protocol's: logs go to stderr (and the log file) only.
    crate::logging::init(
        &loaded.config().log_level,
        loaded.config().log_file.as_deref(),
    );
    let mut config = loaded.config().clone();
    if std::env::var_os(crate::mcp::NESTED_ENV).is_some() {
        // Started by PromptStack itself (as a source or provider): the library folder alone.
        config.library_sources.clear();
    }
    let paths = loaded.data_paths();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("promptstack-mcp")
        .build()?;
    let served = runtime.block_on(async move {
        let events = EventBus::new();
        let (library, history) = tokio::task::spawn_blocking(move || {
            // Clients list prompts right after the handshake: answer from a loaded library.
            let library = Library::open(&config, &paths, events, None).inspect(Library::wait_ready);
            let history = crate::history::open_repository(&config, &paths)
                .inspect_err(|e| tracing::warn!("history unavailable: {e}"))
                .ok();
            (library, history)
        })
        .await?;
        let catalog = Arc::new(Catalog {
            library: Arc::new(library.context("cannot open the prompt library")?),
            history,
            page_size: args.page_size as usize,
        });
        match args.http {
            None => crate::mcp::serve::serve_stdio(catalog).await,
            Some(addr) => {
                crate::mcp::serve::serve_http(catalog, addr, |bound| {
                    // The one line on stdout in HTTP mode: where to connect (tests read it). A
                    // closed stdout is no reason to stop serving.
                    use std::io::Write as _;
                    let mut out = std::io::stdout();
                    let _ = writeln!(out, "listening on http://{bound}/mcp");
                    let _ = out.flush();
                })
                .await
            }
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    served?;
    Ok(ExitCode::SUCCESS)
}
