//! Review → apply against a real small model: SmolLM2-135M-Instruct behind llama-cpp-python's
//! OpenAI-compatible server, installed by `scripts/real-model-setup.sh` and started here. Checks
//! shape and protocol, not the model's wisdom: a 135M model often proposes overlapping or
//! backwards edits, which validation must reject.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::config::{Layers, resolve};

/// The llama-cpp-python server process; killed when dropped.
struct LlamaServer {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's Python and the model file, installing them when CI requires the test. Without
/// `PROMPTSTACK_REQUIRE_EXTERNAL=1` an absent install skips the test instead of building for
/// twenty minutes.
fn installed() -> Option<(String, String)> {
    let required = std::env::var("PROMPTSTACK_REQUIRE_EXTERNAL").as_deref() == Ok("1");
    let cache = std::env::var_os("PROMPTSTACK_MODEL_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/promptstack")));
    let present = cache.as_ref().is_some_and(|c| {
        c.join("llama-venv/bin/python").exists()
            && std::fs::read_dir(c.join("models")).is_ok_and(|mut d| {
                d.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "gguf")))
            })
    });
    if !present && !required {
        eprintln!(
            "skipped: llama-cpp-python and SmolLM2 are not installed (run scripts/real-model-setup.sh)"
        );
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/real-model-setup.sh");
    let out = Command::new("bash")
        .arg(script)
        .stderr(Stdio::inherit())
        .output()
        .expect("run the setup script");
    assert!(out.status.success(), "{script} failed");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = text.lines().map(str::to_string);
    Some((
        lines.next().expect("python path"),
        lines.next().expect("model path"),
    ))
}

async fn start(python: &str, model: &str) -> LlamaServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let log = std::env::temp_dir().join(format!("promptstack-llama-{port}.log"));
    let log_file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(python)
        .args([
            "-m",
            "llama_cpp.server",
            "--model",
            model,
            "--model_alias",
            "smollm2",
        ])
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--n_threads", "2", "--n_ctx", "4096"])
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .spawn()
        .expect("start llama_cpp.server");
    let mut server = LlamaServer {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
    };
    let client = http::client("llama").expect("an HTTP client");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let ready = client
            .get(format!("{}/v1/models", server.url))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return server;
        }
        let exited = server.child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            let log = std::fs::read_to_string(&server.log).unwrap_or_default();
            panic!("llama_cpp.server did not start ({exited:?}):\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn review_and_apply_with_a_real_small_model() {
    let Some((python, model)) = installed() else {
        return;
    };
    let server = start(&python, &model).await;
    // The raw answers behind rejected edits go to the test output.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("promptstack=debug")
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut config = resolve(&Layers::default(), None).0.config;
    config.ai_provider = "openai".into();
    config.openai_base_url = server.url.clone();
    config.model = Some("smollm2".into());
    config.structured_output = "json_object_schema".into();
    config.timeout_secs = 600;
    config.max_retries = 1;
    let ai = create_provider(&config, Arc::new(AiMetrics::new())).expect("provider");

    let composition = "# Task\nWrite a poem about the sea.\nKeep it short.\n";
    let request = ReviewRequest {
        composition: composition.into(),
        context: vec![],
        fresh: false,
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
