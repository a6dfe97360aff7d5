//! Errors of the SIP message parsers and of the typed header accessors.

use crate::StatusCode;

/// Why a datagram or stream message could not be parsed.
///
/// [`ParseError::status`] says which response a request with this defect
/// deserves; whether one can actually be sent depends on recovering Via,
/// From, To, Call-ID and CSeq ([`crate::recover_request`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Only CR/LF bytes: a keepalive (RFC 5626 §3.5.1), not an error to log.
    #[error("no SIP message, only CR/LF (keepalive)")]
    Keepalive,
    #[error("message of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    /// Stream only: the header section alone exceeds the message limit.
    #[error("header section exceeds the {limit}-byte message limit")]
    HeadTooLarge { limit: usize },
    #[error("header section is not terminated by an empty line")]
    UnterminatedHead,
    #[error("malformed start line: {0}")]
    BadStartLine(&'static str),
    #[error("unsupported SIP version (only SIP/2.0)")]
    VersionNotSupported,
    /// `line` is 1-based and counts the start line; `column` is the 1-based
    /// byte offset of the first invalid byte within that line.
    #[error("header line {line} is not valid UTF-8 (byte {column})")]
    NonUtf8Header { line: usize, column: usize },
    #[error("header line {line} contains a control character")]
    ControlCharacter { line: usize },
    #[error("header line {line} is malformed: {reason}")]
    BadHeaderLine { line: usize, reason: &'static str },
    #[error("more than {limit} header fields")]
    TooManyHeaders { limit: usize },
    #[error("header line {line} is longer than {limit} bytes")]
    HeaderLineTooLong { line: usize, limit: usize },
    /// RFC 3261 §18.3 / §20.14: stream transports must carry Content-Length.
    #[error("Content-Length is missing (mandatory on stream transports)")]
    MissingContentLength,
    #[error("Content-Length is malformed")]
    BadContentLength,
    #[error("Content-Length appears more than once with different values")]
    ConflictingContentLength,
    /// RFC 3261 §18.3: a datagram ending before the declared body is an error.
    #[error("body is shorter than Content-Length ({available} < {declared} bytes)")]
    BodyTooShort { declared: usize, available: usize },
}

impl ParseError {
    /// The status a request with this defect should be answered with, or
    /// `None` when nothing should be answered (keepalives).
    ///
    /// Size limits (message, header count, header line) map to 513 Message
    /// Too Large: SIP has no 431, and 513 tells the peer that retrying the
    /// same content will not help.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ParseError::Keepalive => None,
            ParseError::TooLarge { .. }
            | ParseError::HeadTooLarge { .. }
            | ParseError::TooManyHeaders { .. }
            | ParseError::HeaderLineTooLong { .. } => Some(StatusCode::MESSAGE_TOO_LARGE),
            ParseError::VersionNotSupported => Some(StatusCode::VERSION_NOT_SUPPORTED),
            _ => Some(StatusCode::BAD_REQUEST),
        }
    }
}

/// A header field that is present but unusable (or duplicated where RFC 3261
/// allows one instance). Requests carrying one are answered 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{header} header {problem}")]
pub struct HeaderError {
    pub header: &'static str,
    pub problem: &'static str,
}

impl HeaderError {
    pub(crate) fn new(header: &'static str, problem: &'static str) -> Self {
        HeaderError { header, problem }
    }
}
