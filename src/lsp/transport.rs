//! The protocol loop, owned here rather than by tower-lsp-server's `Server`: its reader ends the
//! stream on the first message it cannot decode, and its framing never resynchronises. This
//! loop reads frames ([`super::framing`]), validates every body ([`super::message`]), answers
//! invalid requests itself, and hands only decodable messages to the framework's service. One
//! writer task owns stdout, so the framework's responses, its requests to the client and the
//! loop's own error replies never interleave within a frame.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc};
use tower_lsp_server::jsonrpc::{self, Id, Response};
use tower_lsp_server::{ClientSocket, LanguageServer, LspService};
use tower_service::Service;

use super::framing::{Frame, FrameReader, write_frame};
use super::message::{self, Incoming};

/// How long requests still running when the client leaves may take to finish.
const GRACE: Duration = Duration::from_secs(2);

/// Serves `service` over `input`/`output` until the client sends `exit` or closes its end.
/// At most `max_in_flight` requests run at once; beyond that the next one waits for a slot, while
/// the loop reads on: the client's answers to the server's requests are delivered at once, the
/// rest is kept in order until the slot frees.
pub async fn serve<S: LanguageServer>(
    input: impl AsyncRead + Unpin,
    output: impl AsyncWrite + Unpin + Send + 'static,
    mut service: LspService<S>,
    socket: ClientSocket,
    max_in_flight: usize,
) {
    let (server_requests, mut client_responses) = socket.split();
    let (out, out_rx) = mpsc::channel::<Vec<u8>>(256);
    let writer = tokio::spawn(write_all(output, out_rx));
    // The server's own requests and notifications to the client.
    let (server_requests, stop_server_requests) = futures::stream::abortable(server_requests);
    let forward = tokio::spawn({
        let out = out.clone();
        async move {
            let mut server_requests = server_requests;
            while let Some(request) = server_requests.next().await {
                if send(&out, &request).await.is_err() {
                    break;
                }
            }
        }
    });
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let mut running = tokio::task::JoinSet::new();
    let mut reader = FrameReader::new(input);
    // Messages read while waiting for a free slot, in order. Reading goes on meanwhile because
    // the requests holding the slots may be waiting for the client's answers to the server's
    // own requests (`window/showDocument`), which arrive behind the messages that wait.
    let mut deferred: VecDeque<Incoming> = VecDeque::new();
    let mut input_ended = false;
    loop {
        let incoming = match deferred.pop_front() {
            Some(incoming) => incoming,
            None if input_ended => break,
            None => match next_message(&mut reader).await {
                Some(incoming) => incoming,
                None => break,
            },
        };
        match incoming {
            Incoming::Invalid { reason, reply, .. } => {
                tracing::warn!("ignoring an invalid message from the client: {reason}");
                if let Some(reply) = reply
                    && send(&out, &reply).await.is_err()
                {
                    break;
                }
            }
            Incoming::Response(response) => deliver(&mut client_responses, response).await,
            Incoming::Request(request) => {
                let exit = request.method() == "exit";
                if std::future::poll_fn(|cx| service.poll_ready(cx))
                    .await
                    .is_err()
                {
                    break;
                }
                let id = request.id().cloned();
                let method = request.method().to_string();
                // A handler that panics answers an internal error; the server goes on.
                let mut call = AssertUnwindSafe(service.call(request)).catch_unwind();
                // The handler runs up to its first await here, in message order: it takes its
                // snapshot of the document before any later change applies.
                match futures::poll!(&mut call) {
                    Poll::Ready(result) => respond(&out, result, id, &method).await,
                    Poll::Pending => {
                        let slot = loop {
                            tokio::select! {
                                biased;
                                slot = slots.clone().acquire_owned() => break slot,
                                next = next_message(&mut reader), if !input_ended => match next {
                                    Some(Incoming::Response(response)) => {
                                        deliver(&mut client_responses, response).await;
                                    }
                                    Some(other) => deferred.push_back(other),
                                    None => input_ended = true,
                                },
                            }
                        };
                        let Ok(slot) = slot else {
                            break;
                        };
                        let out = out.clone();
                        running.spawn(async move {
                            respond(&out, call.await, id, &method).await;
                            drop(slot);
                        });
                    }
                }
                if exit {
                    break;
                }
            }
        }
        // Reap finished requests so the set stays small.
        while running.try_join_next().is_some() {}
    }
    // Let requests still running answer, briefly, then stop what is left.
    let _ = tokio::time::timeout(GRACE, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    running.abort_all();
    stop_server_requests.abort();
    let _ = forward.await;
    drop(out);
    let _ = writer.await;
}

/// The next message from the client, validated; `None` once the input has ended. Framing errors
/// are logged and skipped (the reader resynchronises); cancel-safe, as the reader is.
async fn next_message<R: AsyncRead + Unpin>(reader: &mut FrameReader<R>) -> Option<Incoming> {
    loop {
        match reader.next().await? {
            Frame::Body(body) => {
                // Before anything can log it: secrets the client sends in settings.
                crate::logging::secrets::learn_from_message(&body);
                tracing::trace!("<- {}", String::from_utf8_lossy(&body));
                let incoming = message::classify(&body);
                if let Incoming::Invalid { not_json: true, .. } = incoming {
                    // Probably a wrong length: look for the next frame inside this one.
                    reader.rewind();
                }
                return Some(incoming);
            }
            Frame::Broken(reason) => tracing::warn!(
                "skipping bytes from the client that are not a message: {reason}; resynchronising on the next Content-Length header"
            ),
        }
    }
}

/// Hands the client's answer to one of the server's requests to the request waiting for it.
async fn deliver(responses: &mut (impl futures::Sink<Response> + Unpin), response: Response) {
    if responses.send(response).await.is_err() {
        tracing::warn!("a response from the client arrived after the server stopped");
    }
}

async fn respond(
    out: &mpsc::Sender<Vec<u8>>,
    outcome: std::thread::Result<Result<Option<Response>, tower_lsp_server::ExitedError>>,
    id: Option<Id>,
    method: &str,
) {
    let response = match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(_exited)) => None,
        Err(_panic) => {
            tracing::error!("the handler of {method} panicked; answering an internal error");
            id.map(|id| {
                let mut error = jsonrpc::Error::internal_error();
                error.message = format!("PromptStack failed on {method}; see its log").into();
                Response::from_error(id, error)
            })
        }
    };
    if let Some(response) = response {
        let _ = send(out, &response).await;
    }
}

async fn send(
    out: &mpsc::Sender<Vec<u8>>,
    message: &(impl serde::Serialize + ?Sized),
) -> Result<(), ()> {
    let body = serde_json::to_vec(message).map_err(|e| {
        tracing::error!("cannot serialise a message to the client: {e}");
    })?;
    tracing::trace!("-> {}", String::from_utf8_lossy(&body));
    out.send(body).await.map_err(|_| ())
}

/// The writer: whole frames, one at a time, flushed when the queue runs dry.
async fn write_all(mut output: impl AsyncWrite + Unpin, mut bodies: mpsc::Receiver<Vec<u8>>) {
    while let Some(body) = bodies.recv().await {
        if write_frame(&mut output, &body).await.is_err() {
            return;
        }
        while let Ok(body) = bodies.try_recv() {
            if write_frame(&mut output, &body).await.is_err() {
                return;
            }
        }
        if output.flush().await.is_err() {
            return;
        }
    }
}
