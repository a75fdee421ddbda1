//! The language server: the only module that knows LSP types. Handlers convert in, call the
//! domain, and convert out.

mod ai_session;
mod convert;
mod framing;
mod handlers;
mod message;
mod progress;
mod server;
mod state;
mod transport;
mod work;

pub use server::serve_stdio;
