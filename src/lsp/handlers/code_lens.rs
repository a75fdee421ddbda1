//! A code lens at the top of a composition with its size: characters, lines, and tokens counted
//! with the configured model's tokenizer (estimated where the model family has none).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::ai::TokenCounter;
use crate::document::{DocumentKind, TextStats};
use std::sync::Arc;

use crate::lsp::state::ServerState;
use crate::lsp::work::on_document;

pub async fn code_lens(
    state: &Arc<ServerState>,
    params: CodeLensParams,
) -> Result<Option<Vec<CodeLens>>> {
    let model = model_name(&state.config().config);
    on_document(state, &params.text_document.uri, move |doc, _| {
        Ok((doc.kind == DocumentKind::Composition).then(|| size_lens(doc.text(), &model)))
    })
    .await
}

fn size_lens(text: &str, model: &str) -> Vec<CodeLens> {
    let stats = TextStats::of(text);
    let counter = TokenCounter::for_model(model);
    let tokens = counter.count(text);
    let approx = if counter.is_exact() { "" } else { "~" };
    let title = format!(
        "{} characters · {} lines · {approx}{tokens} tokens",
        stats.characters, stats.lines
    );
    vec![CodeLens {
        range: Range::default(),
        // An empty command id makes the lens a label: there is nothing to run.
        command: Some(Command {
            title,
            command: String::new(),
            arguments: None,
        }),
        data: None,
    }]
}

/// The model the configured provider asks (its default when none is set).
fn model_name(config: &crate::config::Config) -> String {
    config.model.clone().unwrap_or_else(|| {
        match config.ai_provider.as_str() {
            "openai" => crate::ai::openai::DEFAULT_MODEL,
            _ => crate::ai::claude::DEFAULT_MODEL,
        }
        .to_string()
    })
}
