//! The prompt library: sources, the cache, the search index, usage stats, snippets, validation
//! and the starter prompts.

pub mod cache;
pub mod create;
pub mod facade;
pub mod index;
pub mod prompt;
pub mod snippet;
pub mod source;
pub mod starter;
pub mod usage;
pub mod use_tracker;
pub mod validation;

pub use facade::{Library, LibraryError, LibraryStats, OpenOptions, PromptHit};
