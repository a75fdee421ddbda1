//! The prompt library: sources, the cache, the search index, usage stats, snippets, validation
//! and the starter prompts.

pub mod cache;
pub mod create;
pub mod folder_source;
pub mod git;
pub mod git_source;
pub mod index;
#[allow(clippy::module_inception)] // The file is named after its type, `Library`.
pub mod library;
pub mod mcp_source;
pub mod merged;
pub mod prompt;
pub mod publish;
pub mod snippet;
pub mod source;
pub mod sources_lock;
pub mod starter;
pub mod usage;
pub mod use_tracker;
pub mod validation;

pub use library::{Library, LibraryError, LibraryStats, OpenOptions, PromptHit};
