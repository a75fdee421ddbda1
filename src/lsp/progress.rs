//! `$/progress` for long work (index builds, history rebuilds): the domain reports
//! `(done, total)` through a plain callback; this turns it into one work-done progress task.

use std::sync::atomic::{AtomicU64, Ordering};

use tower_lsp_server::ls_types::*;

use super::state::ServerState;

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// A callback for the domain. Calls are cheap and never block; when the client cannot show
/// progress they are dropped.
pub fn reporter(state: &ServerState, title: &'static str) -> Box<dyn FnMut(usize, usize) + Send> {
    if !state.features().work_done_progress {
        return Box::new(|_, _| {});
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, usize)>();
    let client = state.client.clone();
    tokio::spawn(async move {
        let Some((done, total)) = rx.recv().await else {
            return;
        };
        let token = NumberOrString::String(format!(
            "promptstack/{}",
            NEXT_TOKEN.fetch_add(1, Ordering::Relaxed)
        ));
        let created = client
            .send_request::<request::WorkDoneProgressCreate>(WorkDoneProgressCreateParams {
                token: token.clone(),
            })
            .await;
        if created.is_err() {
            while rx.recv().await.is_some() {}
            return;
        }
        let progress = client
            .progress(token, title)
            .with_message(format!("{done}/{total}"))
            .with_percentage(percent(done, total))
            .begin()
            .await;
        let mut last = (done, total);
        while let Some((done, total)) = rx.recv().await {
            last = (done, total);
            progress
                .report_with_message(format!("{done}/{total}"), percent(done, total))
                .await;
        }
        progress
            .finish_with_message(format!("{} of {} done", last.0, last.1))
            .await;
    });
    // One message per percent at most: a history of a million files must not send a million
    // notifications.
    let mut last_percent = None;
    Box::new(move |done, total| {
        let now = percent(done, total);
        if last_percent != Some(now) || done == total {
            last_percent = Some(now);
            let _ = tx.send((done, total));
        }
    })
}

fn percent(done: usize, total: usize) -> u32 {
    (done * 100).checked_div(total).unwrap_or(100).min(100) as u32
}
