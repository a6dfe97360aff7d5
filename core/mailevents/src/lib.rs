//! tocsin-mailevents: mail store notifications → one neutral [`MailEvent`].
//!
//! Sans-IO: the caller hands over a request body or datagram and gets a typed event or a
//! [`ParseError`] naming the field at fault. Three formats:
//!
//! - [`parse_dovecot_ox`]: Dovecot push_notification ox driver (HTTP PUT JSON).
//! - [`parse_cyrus_notify`]: Cyrus IMAP event notifications as received by notifyd (the
//!   NUL-framed datagram with a JSON message; a bare JSON object works too).
//! - [`parse_generic`]: tocsin's generic RFC 5423 JSON (see [`generic`] for the shape).
//!
//! All text ends up UTF-8, RFC 2047-decoded where it is a header ([`decode_rfc2047`]),
//! free of control characters and bounded by [`ParseLimits`]. [`MailEvent::kind`] gives
//! the tocsin kind (`mail.MessageNew`), [`MailEvent::idempotency_key`] a key that maps a
//! retried notification to the same value. [`UserMap`] rewrites store users into tocsin
//! users; [`MailEventParser`] bundles limits and mapping.

mod address;
mod charset;
mod cyrus_notify;
mod dovecot_ox;
mod error;
mod event;
mod event_name;
pub mod generic;
mod imap_envelope;
mod imap_url;
mod json_fields;
mod limits;
mod message_headers;
mod parse_common;
mod parser;
mod rfc2047;
mod text;
mod user_map;

pub use address::{FromAddress, parse_from};
pub use charset::Charset;
pub use cyrus_notify::parse_cyrus_notify;
pub use dovecot_ox::parse_dovecot_ox;
pub use error::ParseError;
pub use event::{MailEvent, SourceFormat};
pub use event_name::EventName;
pub use generic::parse_generic;
pub use imap_envelope::{Envelope, parse_envelope};
pub use imap_url::{ImapUrl, ImapUrlError, parse_imap_url};
pub use limits::ParseLimits;
pub use parser::MailEventParser;
pub use rfc2047::decode_rfc2047;
pub use text::{sanitize_display, truncate_utf8};
pub use user_map::{UserMap, UserMapError, UserRule};
