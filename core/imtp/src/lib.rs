//! tocsin-imtp: a sans-IO codec and connection state machine for IMTP and
//! PITP (draft-hudson-impp-transfer-proposal-01).
//!
//! * [`Decoder`] / [`Frame`]: framing (section 10), bounded and incremental.
//! * [`Command`] / [`Response`]: typed messages (sections 11-16).
//! * [`Connection`]: handshake, SASL PLAIN/EXTERNAL, pipelining, timers.
//!
//! Nothing here touches a socket or a clock: the host feeds octets and
//! `Instant`s in and drains octets and [`Event`]s out. Decisions the draft
//! leaves open are documented in `docs/imtp.md`.

pub mod astrength;
pub mod command;
pub mod conn;
pub mod decoder;
pub mod delivery;
pub mod encoder;
pub mod error;
pub mod error_type;
pub mod frame;
pub mod header;
pub mod id;
pub mod limits;
pub mod mech;
pub mod method;
pub mod origin;
pub mod pattern;
pub mod response;
pub mod sasl;
pub mod subscription;
mod syntax;
pub mod url;
pub mod visited;

pub use astrength::Astrength;
pub use command::{
    Auth, AuthStep, ChangeNotify, Command, CommandBody, Fetch, Listen, Meta, SendMessage,
    Subscribe, TerminateNotify,
};
pub use conn::{
    ClientSasl, Config, ConnError, Connection, Event, PlainVerdict, Role, SendError, Timeouts,
    Transport,
};
pub use decoder::{Decoded, Decoder};
pub use delivery::Delivery;
pub use encoder::{Counter, Sink};
pub use error::{DecodeError, EncodeError, FramingError, MessageError, SyntaxError};
pub use error_type::ErrorType;
pub use frame::{CommandFrame, Frame, ResponseFrame, StartLine, Status};
pub use header::{Header, Headers};
pub use id::Id;
pub use limits::Limits;
pub use mech::MechName;
pub use method::{Method, Protocol};
pub use origin::Origin;
pub use pattern::Pattern;
pub use response::{ErrorReply, OkReply, Outcome, Response};
pub use sasl::PlainCredentials;
pub use subscription::Subscription;
pub use url::{Address, Domain, Scheme, Url};
pub use visited::Visited;
