//! The Model Context Protocol, both ways; the only module that knows rmcp's types.
//!
//! - [`serve`], [`server`], [`tools`], [`catalog`]: `promptstack mcp`, which gives any agent the
//!   user's library (prompts, tools, resources) and history.
//! - [`client`]: a connection to another MCP server, in plain Rust types, used by the MCP prompt
//!   source (`library/`) and the MCP AI provider (`ai/`). It sits below them, like `document/`.

pub mod catalog;
pub mod client;
pub mod serve;
pub mod server;
pub mod tools;

/// Set in the environment of MCP servers PromptStack starts. A `promptstack mcp` started that
/// way serves the library folder alone, so a configuration that lists PromptStack as one of its
/// own sources cannot start servers without end.
pub const NESTED_ENV: &str = "PROMPTSTACK_MCP_NESTED";
