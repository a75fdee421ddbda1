//! Editor settings: `initializationOptions`, `workspace/configuration` (section `promptstack`) and
//! `workspace/didChangeConfiguration`, applied live. Invalid values are shown and not applied.

use std::sync::Arc;

use tower_lsp_server::ls_types::*;

use crate::lsp::state::ServerState;

/// The settings section the server asks editors for.
pub const SECTION: &str = "promptstack";

/// Applies editor settings and tells the user about values that were refused, once each; the
/// library follows a change of its folder.
pub async fn apply(state: &Arc<ServerState>, settings: Option<serde_json::Value>) {
    let settings = settings.filter(|s| s.as_object().is_some_and(|o| !o.is_empty()));
    for error in state.apply_editor_settings(settings) {
        state
            .client
            .show_message(
                MessageType::WARNING,
                format!("PromptStack settings: {error}; keeping the previous value"),
            )
            .await;
    }
    // Opening a library takes a while: in its own task, so the settings answer is not held up.
    let state = state.clone();
    tokio::spawn(async move { super::library_sync::follow_config(&state).await });
}

/// After `initialized`: subscribe to settings changes and pull the current settings.
pub async fn on_initialized(state: &Arc<ServerState>) {
    let features = state.features();
    if features.dynamic_configuration {
        let registration = Registration {
            id: "promptstack-configuration".into(),
            method: "workspace/didChangeConfiguration".into(),
            register_options: None,
        };
        if let Err(e) = state.client.register_capability(vec![registration]).await {
            tracing::warn!("client refused configuration-change registration: {e}");
        }
    }
    if features.configuration {
        pull(state).await;
    }
}

/// Asks the client for the `promptstack` section and applies it.
async fn pull(state: &Arc<ServerState>) {
    let item = ConfigurationItem {
        scope_uri: None,
        section: Some(SECTION.into()),
    };
    match state.client.configuration(vec![item]).await {
        // An empty answer means the editor has no settings of ours (any more): fall back to
        // initializationOptions, so a removed setting stops applying without a restart.
        Ok(values) => match values.into_iter().next() {
            Some(value) if value.as_object().is_some_and(|o| !o.is_empty()) => {
                apply(state, Some(value)).await
            }
            _ => apply(state, state.initialization_options.get().cloned()).await,
        },
        Err(e) => tracing::warn!("workspace/configuration failed: {e}"),
    }
}

pub async fn did_change(state: &Arc<ServerState>, params: DidChangeConfigurationParams) {
    // Clients either push the settings (`{"promptstack": {...}}`) or send null and expect a pull.
    match params.settings.get(SECTION) {
        Some(settings) if settings.is_object() => apply(state, Some(settings.clone())).await,
        _ if state.features().configuration => pull(state).await,
        _ => {}
    }
}
