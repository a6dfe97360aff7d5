//! tocsin-sip: a small, strict, sans-IO SIP codec for voicemail
//! message-waiting indication — RFC 3261 message syntax (subset), RFC 3842
//! `simple-message-summary` bodies and the RFC 6665 subscriber side. It
//! never touches sockets or clocks: callers pass bytes, source addresses and
//! `Instant`s in, and get bytes and decisions out.
//!
//! Receiving path of the voicemail plugin (UDP):
//!
//! ```
//! use std::net::SocketAddr;
//! use tocsin_sip::*;
//!
//! let limits = Limits::default();
//! let responder = Responder::new(TagSecret::new([1; 16]));
//! let src: SocketAddr = "192.0.2.7:5060".parse().unwrap();
//! let datagram = b"NOTIFY sip:tocsin@192.0.2.1 SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1\r\n\
//!     From: <sip:pbx@192.0.2.7>;tag=a\r\nTo: <sip:tocsin@192.0.2.1>\r\n\
//!     Call-ID: c1\r\nCSeq: 1 NOTIFY\r\nEvent: message-summary\r\n\
//!     Content-Type: application/simple-message-summary\r\nContent-Length: 24\r\n\r\n\
//!     Messages-Waiting: yes\r\n\r\n";
//!
//! let answer = match parse_datagram(datagram, &limits) {
//!     Err(e) => responder.answer_parse_error(datagram, &e, &limits, src).ok(),
//!     Ok(msg) => match classify(&msg, &limits.summary) {
//!         Classified::Notify(n) => {
//!             // store n.summary (dedupe with state_digest) before answering
//!             assert!(n.summary.as_ref().is_some_and(|s| s.messages_waiting));
//!             Some(responder.respond(n.request.echo(), StatusCode::OK, src))
//!         }
//!         Classified::Options(req) => Some(responder.options_ok(req.echo(), src)),
//!         Classified::Reject(r) => Some(responder.reject(&r, src)),
//!         Classified::Response | Classified::Drop(_) => None,
//!     },
//! };
//! assert!(answer.is_some_and(|a| a.starts_with(b"SIP/2.0 200 OK\r\n")));
//! ```
//!
//! Over TCP, feed each read to a [`StreamDecoder`] and run every returned
//! [`Frame`] through the same `classify` path; on a [`StreamError`], answer
//! with [`Responder::answer_parse_error`] on its `head` (when present) and
//! close the connection.
//!
//! # Decisions
//!
//! * **Status codes**: see [`classify`]. In short: 200 for a
//!   good message-summary NOTIFY (in or out of dialog, any
//!   Subscription-State — FreeSWITCH sends unsolicited NOTIFYs with
//!   `terminated;reason=noresource`), 200 for OPTIONS, no answer to ACK,
//!   481 for CANCEL/BYE, 405 (with Allow) for other known methods
//!   including SUBSCRIBE, 501 for unknown ones, 420 for any Require, 489
//!   (with Allow-Events) for a missing or foreign Event, 415 (with Accept)
//!   for another Content-Type or a Content-Encoding, 400 for malformed
//!   headers or bodies, 505 for another SIP version, 513 for every size
//!   limit. 403 (source not allowed) and 500/481 (dialog mismatches, see
//!   [`NotifyMatch`]) are the plugin's to send.
//! * **To-tags** for out-of-dialog requests are derived, not random:
//!   SipHash-2-4 keyed with a per-instance [`TagSecret`] over Call-ID, CSeq,
//!   top Via branch and From-tag, so a retransmission gets the same tag
//!   even if the response cache lost it.
//! * **Via**: every via-parm is echoed in order (one Via line each); only
//!   the top one is rewritten, adding `received=` when the packet's source
//!   IP differs from sent-by or sent-by is a name (RFC 3261 §18.2.1), and
//!   filling `rport` plus `received` when `rport` was requested (RFC 3581).
//! * **Strictness**: single-instance headers (From, To, Call-ID, CSeq,
//!   Content-Type, Event, …) must not repeat; methods are case-sensitive;
//!   header names, event packages and media types are not. Tolerated: bare
//!   LF line ends, whitespace before colons, folding, compact names, blank
//!   lines before the start line.
//! * **Limits** ([`Limits`]): 64 KiB per message, 128 headers, 8 KiB per
//!   unfolded header line; message-summary bodies: 32 classes, 64 message
//!   headers, 1 KiB lines. Counts saturate at 2^32-1.
//! * **State digest**: [`MessageSummary::state_digest`] hashes the
//!   waiting flag, account and per-class counts (sorted, urgent absent =
//!   0/0), not the optional message headers; fixed key, stable across runs.

mod classify;
mod datagram;
mod drop_reason;
mod echo;
mod error;
mod head;
mod header_name;
pub mod headers;
mod lex;
mod limits;
mod message;
mod method;
mod recover;
mod request;
mod response;
mod siphash;
mod status;
mod stream;
pub mod subscribe;
mod summary;
mod tag;
mod transaction;

pub use classify::{Classified, Notify, RejectReason, Rejection, classify};
pub use datagram::parse_datagram;
pub use drop_reason::DropReason;
pub use echo::EchoHeaders;
pub use error::{HeaderError, ParseError};
pub use header_name::HeaderKind;
pub use headers::{MAGIC_COOKIE, MESSAGE_SUMMARY, SIMPLE_MESSAGE_SUMMARY};
pub use limits::{Limits, SummaryLimits};
pub use message::{Header, SipMessage, StartLine};
pub use method::Method;
pub use recover::recover_request;
pub use request::{Request, RequestError};
pub use response::{DEFAULT_ALLOW, Responder, ResponseBuilder};
pub use status::StatusCode;
pub use stream::{Decoded, Frame, StreamDecoder, StreamError};
pub use subscribe::{
    HashIds, IdGenerator, NotifyMatch, Phase, Subscription, SubscriptionConfig, SubscriptionEvent,
    TerminationReason, Transport,
};
pub use summary::{ClassSummary, Counts, MessageClass, MessageSummary, SummaryError, UrgentCounts};
pub use tag::TagSecret;
pub use transaction::TransactionKey;
