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

/// `%XX`-decoded text (prompt names in file names, ids in resource URIs); `None` when empty, when
/// an escape is malformed or when the bytes are not UTF-8, so such text is refused, not guessed.
pub fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.is_empty())
}
