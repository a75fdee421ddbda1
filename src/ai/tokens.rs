//! Token counting: the real BPE tokenizer for OpenAI-family models, ~4 characters per token
//! for everything else; and the context window budgets derived from it.

use tiktoken_rs::CoreBPE;
use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};

/// Counts tokens the way a model family does, or estimates them.
#[derive(Clone, Copy)]
pub enum TokenCounter {
    /// A real tokenizer (o200k_base or cl100k_base); its tables ship in the binary.
    Bpe(&'static CoreBPE, &'static str),
    /// ~4 characters per token.
    Estimate,
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenCounter::Bpe(_, name) => write!(f, "TokenCounter::Bpe({name})"),
            TokenCounter::Estimate => f.write_str("TokenCounter::Estimate"),
        }
    }
}

impl TokenCounter {
    /// The counter for `model`: o200k/cl100k for gpt-* and o1/o3/o4*, an estimate otherwise.
    /// The first BPE use loads its tables (tens of milliseconds); later uses share them.
    pub fn for_model(model: &str) -> Self {
        match get_tokenizer(model) {
            Some(Tokenizer::O200kBase | Tokenizer::O200kHarmony) => {
                TokenCounter::Bpe(tiktoken_rs::o200k_base_singleton(), "o200k_base")
            }
            Some(Tokenizer::Cl100kBase) => {
                TokenCounter::Bpe(tiktoken_rs::cl100k_base_singleton(), "cl100k_base")
            }
            _ => TokenCounter::Estimate,
        }
    }

    /// Tokens in `text`.
    pub fn count(&self, text: &str) -> usize {
        match self {
            TokenCounter::Bpe(bpe, _) => count_bounded(bpe, text),
            TokenCounter::Estimate => text.chars().count().div_ceil(4),
        }
    }

    /// Whether counts are exact rather than estimated.
    pub fn is_exact(&self) -> bool {
        matches!(self, TokenCounter::Bpe(..))
    }

    /// A small number per way of counting (below [`COUNTER_KINDS`]), so counts kept for one
    /// counter are never read for another.
    pub(crate) fn kind(&self) -> usize {
        match self {
            TokenCounter::Bpe(_, "o200k_base") => 0,
            TokenCounter::Bpe(..) => 1,
            TokenCounter::Estimate => 2,
        }
    }
}

/// How many [`TokenCounter::kind`]s there are.
pub(crate) const COUNTER_KINDS: usize = 3;

/// Runs of one kind (whitespace or not) longer than this are estimated rather than encoded.
const LONG_RUN: usize = 256;

/// BPE cost grows with the square of one pre-token's length, and a pre-token never spans a
/// change between whitespace and non-whitespace: encoding only runs up to [`LONG_RUN`] bytes
/// bounds the work on pasted minified JSON, base64 or a 10 MB line. Longer runs (rare in prose)
/// count ~4 characters per token.
fn count_bounded(bpe: &CoreBPE, text: &str) -> usize {
    let mut tokens = 0;
    let mut encoded_from = 0;
    let mut run_start = 0;
    let mut run_is_space = None;
    let ends = text
        .char_indices()
        .map(|(i, c)| (i, Some(c.is_whitespace())))
        .chain([(text.len(), None)]);
    for (at, is_space) in ends {
        if run_is_space == is_space {
            continue;
        }
        if at - run_start > LONG_RUN {
            tokens += bpe.encode_ordinary(&text[encoded_from..run_start]).len();
            tokens += text[run_start..at].chars().count().div_ceil(4);
            encoded_from = at;
        }
        (run_start, run_is_space) = (at, is_space);
    }
    tokens + bpe.encode_ordinary(&text[encoded_from..]).len()
}

/// The model's context window in tokens; unknown local models get a conservative 8192.
pub fn context_window(model: &str) -> usize {
    if model.starts_with("claude") {
        return 200_000;
    }
    get_tokenizer(model)
        .and_then(|_| tiktoken_rs::model::get_context_size(model))
        .unwrap_or(8192)
}

/// `percent` of the model's window: the context budget or the answer budget from config.
pub fn window_share(model: &str, percent: u32) -> usize {
    context_window(model) * percent as usize / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_models_use_bpe_others_estimate() {
        let gpt = TokenCounter::for_model("gpt-4o-mini");
        assert!(gpt.is_exact());
        assert_eq!(gpt.count("hello world"), 2);
        assert!(TokenCounter::for_model("o3-mini").is_exact());
        assert!(TokenCounter::for_model("gpt-4").is_exact());
        let other = TokenCounter::for_model("claude-sonnet-4-5");
        assert!(!other.is_exact());
        assert_eq!(other.count("abcdefghi"), 3);
        assert_eq!(TokenCounter::for_model("smollm2").count(""), 0);
    }

    #[test]
    fn long_runs_are_estimated_so_counting_stays_bounded() {
        let gpt = TokenCounter::for_model("gpt-4o");
        let prose = "Review the code and list every risk. ".repeat(50);
        assert_eq!(gpt.count(&prose), gpt_exact(&prose));
        // A 1 MB run without whitespace (minified JSON, base64) counts ~4 characters a token.
        let blob = "x".repeat(1_000_000);
        assert_eq!(
            gpt.count(&format!("{prose}{blob}")),
            gpt_exact(&prose) + 250_000
        );
        assert_eq!(gpt.count(&" ".repeat(1_000)), 250);
    }

    fn gpt_exact(text: &str) -> usize {
        tiktoken_rs::o200k_base_singleton()
            .encode_ordinary(text)
            .len()
    }

    #[test]
    fn budgets_follow_the_window() {
        assert_eq!(context_window("claude-3-5-haiku"), 200_000);
        assert_eq!(context_window("gpt-4o"), 128_000);
        assert_eq!(context_window("llama3.2"), 8192);
        assert_eq!(window_share("claude-x", 30), 60_000);
        assert_eq!(window_share("llama3.2", 50), 4096);
    }
}
