//! One file per feature. Each converts LSP input, calls the domain, and converts the result.

pub mod ai_review;
pub mod code_actions;
pub mod code_lens;
pub mod command_results;
pub mod commands;
pub mod completion;
pub mod configuration;
pub mod create_prompt;
pub mod definition;
pub mod diagnostics;
pub mod document_links;
pub mod document_symbols;
pub mod file_completion;
pub mod folding;
pub mod frontmatter_completion;
pub mod history;
pub mod history_related;
pub mod hover;
pub mod library_sync;
pub mod new_composition;
pub mod placeholder_actions;
pub mod references;
pub mod rename;
pub mod semantic_tokens;
pub mod text_sync;
pub mod workspace_symbols;
