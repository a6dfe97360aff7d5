//! tocsin-httpcodec: a strict, sans-IO HTTP/1.1 server connection codec.
//!
//! Mail stores announce new mail with small HTTP requests (Dovecot's push_notification ox
//! driver sends `PUT` with a JSON body and Basic auth). A source plugin owns the socket and
//! feeds bytes to a [`ServerConn`]; the codec yields complete [`Request`]s, takes
//! [`Response`]s back in any order and releases them in request order, and tells the host
//! when to time out, read, write and close. It never touches a socket or a clock.
//!
//! Strictness, on purpose (an appliance endpoint, not a general web server):
//! - CRLF line endings only; a bare LF is 400. Single spaces in the request line. A byte
//!   that can never appear in a request line (a TLS ClientHello, binary junk) is 400 at
//!   once rather than after the timeout. Empty lines before a request are skipped
//!   (RFC 9112 2.2). HTTP/1.2+ is served as 1.1; other majors (the HTTP/2 preface) are 505.
//! - No transfer codings: `Transfer-Encoding` is 501 (400 on HTTP/1.0). Dovecot computes
//!   its notification body in memory and always sends `Content-Length`, so chunked
//!   support would add a smuggling surface for no peer we serve.
//! - `Content-Length` must be digits only; duplicates must agree (else 400); the declared
//!   length is checked against the body limit before any body byte is buffered (413).
//! - obs-fold, whitespace before the colon, control characters and non-UTF-8 bytes in
//!   header values are 400; an HTTP/1.1 request needs exactly one `Host`.
//! - `Expect: 100-continue` gets an interim `100 Continue` when that request is next in
//!   line and its body has not arrived (Dovecot's lua HTTP client waits ~2 s otherwise);
//!   any other expectation is 417.
//! - After a protocol error the codec answers (JSON body, `Connection: close`) after the
//!   responses to earlier requests and reads nothing more.
//!
//! Deciding 401/404/405 is the host's job: it sees method, target and headers
//! ([`Request::basic_auth`] + [`Credentials::verify`] for the Basic check).
//!
//! Timers are sans-IO too: every call takes `now`; [`ServerConn::next_timeout`] says when
//! to call [`ServerConn::on_timeout`]. The request timer (408) runs from a request's first
//! byte to its last, and not while the request waits behind the in-flight limit; the idle
//! timer runs while nothing is in progress and closes without a response.

mod base64;
mod basic_auth;
mod conn;
mod error;
mod head_parser;
mod limits;
mod ordering;
mod request;
mod response;

pub use base64::{Base64Error, decode as base64_decode};
pub use basic_auth::{AuthError, Credentials, constant_time_eq, parse_basic_auth};
pub use conn::{ServerConn, TimeoutEvent};
pub use error::{HttpError, InvalidHeader, RespondError};
pub use limits::Limits;
pub use request::{Header, Headers, Method, Request, Version};
pub use response::{Response, reason_phrase};
