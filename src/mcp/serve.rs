//! Running the MCP server: over stdio (one client, ends when it hangs up) or streamable HTTP (a
//! session per client, bound where the user said, loopback by default).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

use super::server::{Catalog, PromptStackServer};

/// Serves one client over stdin/stdout until it disconnects. A client that sends garbage gets
/// JSON-RPC errors; one that goes away ends the server quietly.
pub async fn serve_stdio(catalog: Arc<Catalog>) -> anyhow::Result<()> {
    let service = PromptStackServer::new(catalog)
        .serve(rmcp::transport::stdio())
        .await
        .context("the MCP client did not complete the handshake")?;
    let reason = service.waiting().await?;
    tracing::info!(?reason, "MCP client disconnected");
    Ok(())
}

/// Serves streamable HTTP at `http://ADDR/mcp` until the process is stopped. `ready` hears the
/// bound address (the port is chosen by the system when 0 was asked).
pub async fn serve_http(
    catalog: Arc<Catalog>,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let mut config = StreamableHttpServerConfig::default();
    // Host validation guards against DNS rebinding; a non-loopback address the user chose to
    // listen on must be accepted too.
    if !bound.ip().is_loopback() {
        config.allowed_hosts.push(bound.ip().to_string());
        config.allowed_hosts.push(bound.to_string());
    }
    let service = StreamableHttpService::new(
        move || Ok(PromptStackServer::new(catalog.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    ready(bound);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!("accepting an MCP connection failed: {e}");
                continue;
            }
        };
        let service = service.clone();
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let hyper_service = hyper_util::service::TowerToHyperService::new(service);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, hyper_service)
                .await
            {
                tracing::debug!(%peer, "MCP HTTP connection ended: {e}");
            }
        });
    }
}
