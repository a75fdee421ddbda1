//! The prompt library: sources, the cache, the search index, usage stats and snippets.

pub mod cache;
pub mod facade;
pub mod index;
pub mod prompt;
pub mod snippet;
pub mod source;
pub mod usage;

pub use facade::{Library, LibraryError, LibraryStats, OpenOptions, PromptHit};
