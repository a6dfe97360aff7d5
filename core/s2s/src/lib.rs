//! # tocsin-s2s
//!
//! The tocsin server-to-server event pipeline (`docs/s2s-protocol.md`) on top
//! of the RSerPool TCP-mapping shim ([`tocsin_shim`]):
//!
//! * [`msg`]: the message codec (HELLO, WELCOME, EVENT, REJECT, GOODBYE).
//! * [`ServerSession`]: sans-IO server side of one connection (the daemon).
//! * [`ClientSession`]: sans-IO source side of one connection.
//! * [`Client`]: a blocking client for Rust event sources (mio + rustls),
//!   with failover across the pool's addresses and resend of un-acked events.
//! * [`transport`] and [`tls`]: socket/TLS plumbing shared by the client, the
//!   tests and (optionally) the daemon.
//! * the `tocsin-send` binary.

mod client;
mod client_session;
mod code;
mod endpoint;
mod event;
mod ids;
pub mod msg;
mod server;
mod session_error;
pub mod tls;
pub mod transport;

pub use client::{Client, ClientError, ClientOptions};
pub use client_session::{
    ClientConfig, ClientEvent, ClientSendError, ClientSession, EventResult, Outcome, PendingEvent,
    WelcomeInfo, split_resumed,
};
pub use code::Code;
pub use endpoint::Endpoint;
pub use event::{Event, Kind, Priority, now_unix_ms, stream_for_user};
pub use ids::{local_hostname, unique_event_id};
pub use server::{
    DecideError, IncomingEvent, ServerConfig, ServerEvent, ServerSession, ServerStats,
};
pub use session_error::SessionError;
pub use tocsin_abi::priority::ParsePriorityError;

/// Default TCP port of the S2S pipeline.
pub const DEFAULT_PORT: u16 = 7117;
