//! The prompt library: sources, the cache, the search index, usage stats and snippets.

pub mod prompt;
