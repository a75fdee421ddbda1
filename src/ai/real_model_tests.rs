//! Review → apply against a real small model (SmolLM2-135M-Instruct behind llama-cpp-python),
//! started by `scripts/test-real-model.sh`. Checks shape and protocol, not the model's wisdom:
//! a 135M model often proposes overlapping or backwards edits, which validation must reject.

use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::config::{Layers, resolve};

#[tokio::test]
async fn review_and_apply_with_a_real_small_model() {
    let Ok(url) = std::env::var("PROMPTSTACK_LLAMA_URL") else {
        assert!(
            std::env::var("PROMPTSTACK_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
            "PROMPTSTACK_LLAMA_URL is not set; run scripts/test-real-model.sh"
        );
        eprintln!("skipped: no local model server (run scripts/test-real-model.sh)");
        return;
    };
    // The raw answers behind rejected edits go to the test output.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut config = resolve(&Layers::default(), None).0.config;
    config.ai_provider = "openai".into();
    config.openai_base_url = url;
    config.model = Some("smollm2".into());
    config.structured_output = "json_object_schema".into();
    config.timeout_secs = 600;
    config.max_retries = 1;
    let ai = create_provider(&config, Arc::new(AiMetrics::new())).expect("provider");

    let composition = "# Task\nWrite a poem about the sea.\nKeep it short.\n";
    let request = ReviewRequest {
        composition: composition.into(),
        context: vec![],
    };
    let started = Instant::now();
    let review = ai.review(&request).await.expect("a usable review");
    eprintln!(
        "review: {} suggestion(s) in {:.1?} ({:?}): {:?}",
        review.value.len(),
        started.elapsed(),
        review.usage,
        review.value
    );
    for s in &review.value {
        assert!(1 <= s.start_line && s.start_line <= s.end_line && s.end_line <= 3);
    }

    // The model's own first suggestion, and a fixed one so the edit path always runs.
    let fixed = Suggestion {
        id: "s-real".into(),
        kind: SuggestionKind::Clarity,
        title: "Say how short".into(),
        description: "Replace line 3 with a concrete length, such as four lines.".into(),
        start_line: 3,
        end_line: 3,
        prompt_id: None,
    };
    let mut applied = 0;
    for suggestion in review.value.iter().take(1).chain([&fixed]) {
        let started = Instant::now();
        match ai.apply(composition, suggestion).await {
            Ok(edits) => {
                applied += 1;
                eprintln!(
                    "apply {:?}: {:?} in {:.1?} ({:?})\n{}",
                    suggestion.title,
                    edits.value,
                    started.elapsed(),
                    edits.usage,
                    apply_edits(composition, &edits.value)
                );
            }
            // Well-formed JSON with edits our validation refuses: the protocol worked.
            Err(e @ AiError::RejectedEdit(_)) => {
                eprintln!(
                    "apply {:?}: rejected in {:.1?}: {e}",
                    suggestion.title,
                    started.elapsed()
                );
            }
            Err(e) => panic!("apply {:?} failed: {e}", suggestion.title),
        }
    }
    eprintln!("{applied} of the apply answers could be applied");
}
