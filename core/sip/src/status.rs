//! SIP status codes this crate produces or reacts to.

use std::fmt;

/// A SIP response status code (100..=699).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    pub const OK: StatusCode = StatusCode(200);
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    pub const METHOD_NOT_ALLOWED: StatusCode = StatusCode(405);
    pub const UNSUPPORTED_MEDIA_TYPE: StatusCode = StatusCode(415);
    pub const BAD_EXTENSION: StatusCode = StatusCode(420);
    pub const INTERVAL_TOO_BRIEF: StatusCode = StatusCode(423);
    pub const CALL_DOES_NOT_EXIST: StatusCode = StatusCode(481);
    pub const BAD_EVENT: StatusCode = StatusCode(489);
    pub const SERVER_INTERNAL_ERROR: StatusCode = StatusCode(500);
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    pub const VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);
    pub const MESSAGE_TOO_LARGE: StatusCode = StatusCode(513);

    /// Builds a status code; `None` outside 100..=699.
    pub fn new(code: u16) -> Option<StatusCode> {
        (100..=699).contains(&code).then_some(StatusCode(code))
    }

    pub fn as_u16(self) -> u16 {
        self.0
    }

    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// The RFC reason phrase (RFC 3261 §21, RFC 6665 for 489).
    pub fn reason_phrase(self) -> &'static str {
        match self.0 {
            100 => "Trying",
            200 => "OK",
            202 => "Accepted",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            407 => "Proxy Authentication Required",
            408 => "Request Timeout",
            415 => "Unsupported Media Type",
            420 => "Bad Extension",
            423 => "Interval Too Brief",
            481 => "Call/Transaction Does Not Exist",
            489 => "Bad Event",
            500 => "Server Internal Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "Version Not Supported",
            513 => "Message Too Large",
            c if c < 200 => "Provisional",
            c if c < 300 => "Success",
            c if c < 400 => "Redirection",
            c if c < 500 => "Client Error",
            c if c < 600 => "Server Error",
            _ => "Global Failure",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason_phrase())
    }
}
