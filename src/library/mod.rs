//! The prompt library: sources, the search index, validation and the starter prompts.

pub mod starter;
pub mod validation;
