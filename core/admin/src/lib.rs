//! The admin protocol: each message is a 4-byte big-endian length followed
//! by that many bytes of JSON. One request, one response, in order.
//! See docs/admin-protocol.md.

pub mod client;
pub mod frame;
pub mod messages;
pub mod time;

pub use client::{AdminClient, ClientError};
pub use frame::{FrameDecoder, FrameError, encode_frame};
pub use messages::*;
