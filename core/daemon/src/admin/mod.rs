//! The admin socket: a unix stream listener, per-connection framing and
//! buffering, and the peer-credential policy. Request handling lives in
//! `handlers.rs` because it needs the whole daemon.

mod access;
mod conn;
mod delivery_handlers;
mod handlers;
mod server;

pub use access::{AccessError, AccessPolicy};
pub use conn::ConnRef;
pub use delivery_handlers::AdminWrite;
pub use server::{AdminServer, BindError};
