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
            TokenCounter::Bpe(bpe, _) => bpe.encode_ordinary(text).len(),
            TokenCounter::Estimate => text.chars().count().div_ceil(4),
        }
    }

    /// Whether counts are exact rather than estimated.
    pub fn is_exact(&self) -> bool {
        matches!(self, TokenCounter::Bpe(..))
    }
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
    fn budgets_follow_the_window() {
        assert_eq!(context_window("claude-3-5-haiku"), 200_000);
        assert_eq!(context_window("gpt-4o"), 128_000);
        assert_eq!(context_window("llama3.2"), 8192);
        assert_eq!(window_share("claude-x", 30), 60_000);
        assert_eq!(window_share("llama3.2", 50), 4096);
    }
}
