//! S2S message codec. A message is the user data of one shim DATA chunk;
//! the chunk's PPID says which message it is, so a body carries only fields
//! (see [`tlv`] for the field encoding and each message module for its
//! fields). Decoding borrows from the chunk payload and allocates nothing
//! (HELLO and WELCOME aside: one small Vec each, once per connection).

mod error;
mod event;
mod hello;
mod reject;
pub mod text;
pub mod tlv;
mod welcome;

pub use error::{Field, MsgError};
pub use event::{Attributes, EventMsg, peek_source_event_id};
pub use hello::{Binding, Hello};
pub use reject::{Goodbye, Reject, one_line};
pub use text::{KindForm, limits, parse_kind};
pub use welcome::{Role, Welcome};

/// The protocol version this crate speaks.
pub const VERSION: u16 = 1;

/// PPIDs (the SCTP PPID registry has no private-use range; `0x746373xx`,
/// "tcs" + message type, is unassigned there and unlikely to collide).
pub const PPID_BASE: u32 = 0x7463_7300;
/// HELLO, source -> server.
pub const PPID_HELLO: u32 = PPID_BASE + 1;
/// WELCOME, server -> source.
pub const PPID_WELCOME: u32 = PPID_BASE + 2;
/// EVENT, source -> server.
pub const PPID_EVENT: u32 = PPID_BASE + 3;
/// REJECT, server -> source.
pub const PPID_REJECT: u32 = PPID_BASE + 4;
/// GOODBYE, either direction.
pub const PPID_GOODBYE: u32 = PPID_BASE + 5;

/// Any S2S message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// HELLO
    Hello(Hello<'a>),
    /// WELCOME
    Welcome(Welcome<'a>),
    /// EVENT
    Event(EventMsg<'a>),
    /// REJECT
    Reject(Reject<'a>),
    /// GOODBYE
    Goodbye(Goodbye<'a>),
}

impl<'a> Message<'a> {
    /// Decode the payload of a DATA chunk with this PPID.
    pub fn decode(ppid: u32, payload: &'a [u8]) -> Result<Self, MsgError> {
        Ok(match ppid {
            PPID_HELLO => Message::Hello(Hello::decode(payload)?),
            PPID_WELCOME => Message::Welcome(Welcome::decode(payload)?),
            PPID_EVENT => Message::Event(EventMsg::decode(payload)?),
            PPID_REJECT => Message::Reject(Reject::decode(payload)?),
            PPID_GOODBYE => Message::Goodbye(Goodbye::decode(payload)?),
            _ => return Err(MsgError::UnknownMessage { ppid }),
        })
    }

    /// The PPID this message travels under.
    #[must_use]
    pub fn ppid(&self) -> u32 {
        match self {
            Message::Hello(_) => PPID_HELLO,
            Message::Welcome(_) => PPID_WELCOME,
            Message::Event(_) => PPID_EVENT,
            Message::Reject(_) => PPID_REJECT,
            Message::Goodbye(_) => PPID_GOODBYE,
        }
    }

    /// Validate, then append the encoding (the DATA payload) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MsgError> {
        match self {
            Message::Hello(m) => m.encode(out),
            Message::Welcome(m) => m.encode(out),
            Message::Event(m) => m.encode(out),
            Message::Reject(m) => m.encode(out),
            Message::Goodbye(m) => m.encode(out),
        }
    }
}
