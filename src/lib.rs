//! PromptStack: a language server that turns editors into a workbench for AI prompts.
#![deny(clippy::print_stdout)]

pub mod ai;
pub mod cli;
pub mod config;
pub mod confine;
pub mod document;
pub mod events;
pub mod formats;
pub mod history;
pub mod home;
pub mod library;
pub mod logging;
pub mod lsp;
pub mod mcp;
