//! The language server: the only module that knows LSP types. Handlers convert in, call the
//! domain, and convert out.

mod convert;
mod framing;
mod handlers;
mod progress;
mod server;
mod state;

pub use server::serve_stdio;
