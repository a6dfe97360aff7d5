//! Typed errors of the codec. Each maps to the `Error-Type` the peer is told
//! (when it can be told: only commands get responses).

use crate::error_type::ErrorType;
use crate::frame::StartLine;
use thiserror::Error;

/// A value that does not match the syntax of the draft.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {what}: {reason}")]
pub struct SyntaxError {
    pub what: &'static str,
    pub reason: &'static str,
}

impl SyntaxError {
    pub(crate) fn new(what: &'static str, reason: &'static str) -> Self {
        SyntaxError { what, reason }
    }
}

/// The byte stream cannot be framed any more: the connection must be
/// closed (after sending an error response when the failing message was a
/// command whose start line we could read).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FramingError {
    #[error("line longer than {limit} octets")]
    LineTooLong { limit: usize },
    #[error("line ends in a bare LF (CRLF required)")]
    BareLf,
    #[error("bare CR inside a line")]
    BareCr,
    #[error("message starts with {0:#04x}, expected '=', '>' or '<'")]
    UnknownMessageType(u8),
    #[error("empty line where a message should start")]
    EmptyStartLine,
    #[error("invalid mechanism list line")]
    BadMechLine,
    #[error("unknown control line (only =mech and =nop exist)")]
    BadControlLine,
    #[error("invalid start line: {0}")]
    BadStartLine(&'static str),
    #[error("command id longer than {limit} octets")]
    IdTooLong { limit: usize },
    #[error("more than {limit} header lines")]
    TooManyHeaders { limit: usize },
    #[error("header section larger than {limit} octets")]
    HeadersTooLarge { limit: usize },
    #[error("Content-Length is not a decimal octet count")]
    BadContentLength,
    #[error("repeated Content-Length headers disagree")]
    ConflictingContentLength,
    #[error("Content-Length {declared} exceeds the limit of {limit} octets")]
    PayloadTooLarge { declared: u64, limit: usize },
    #[error("decoder already failed; the connection must be closed")]
    Poisoned,
}

impl FramingError {
    /// Stable short name (used by the hostile-input corpus index).
    pub fn code(&self) -> &'static str {
        match self {
            FramingError::LineTooLong { .. } => "line-too-long",
            FramingError::BareLf => "bare-lf",
            FramingError::BareCr => "bare-cr",
            FramingError::UnknownMessageType(_) => "unknown-message-type",
            FramingError::EmptyStartLine => "empty-start-line",
            FramingError::BadMechLine => "bad-mech-line",
            FramingError::BadControlLine => "bad-control-line",
            FramingError::BadStartLine(_) => "bad-start-line",
            FramingError::IdTooLong { .. } => "id-too-long",
            FramingError::TooManyHeaders { .. } => "too-many-headers",
            FramingError::HeadersTooLarge { .. } => "headers-too-large",
            FramingError::BadContentLength => "bad-content-length",
            FramingError::ConflictingContentLength => "conflicting-content-length",
            FramingError::PayloadTooLarge { .. } => "payload-too-large",
            FramingError::Poisoned => "poisoned",
        }
    }

    /// Limits we impose are reported as `resources` (the draft has no "too
    /// large" type; `quota` is only valid for commands with a source URL);
    /// everything else is `malformed`.
    pub fn error_type(&self) -> ErrorType {
        match self {
            FramingError::LineTooLong { .. }
            | FramingError::IdTooLong { .. }
            | FramingError::TooManyHeaders { .. }
            | FramingError::HeadersTooLarge { .. }
            | FramingError::PayloadTooLarge { .. } => ErrorType::Resources,
            _ => ErrorType::Malformed,
        }
    }
}

/// A framing error plus the start line of the message it happened in, when
/// that line had been read (so a command can still be answered).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind}")]
pub struct DecodeError {
    pub kind: FramingError,
    pub start: Option<StartLine>,
}

/// A message that was framed correctly but is not acceptable. The stream is
/// still in sync: the message is skipped and, if it was a command, answered
/// with an error response of type [`MessageError::error_type`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    #[error("header line without ':'")]
    HeaderWithoutColon,
    #[error("invalid header name")]
    BadHeaderName,
    #[error("header {name} has an invalid value (not UTF-8 or control characters)")]
    BadHeaderValue { name: String },
    #[error("continuation line before the first header")]
    OrphanContinuation,
    #[error("Content-Transfer-Encoding is forbidden (section 10)")]
    ContentTransferEncoding,
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("header {name}: {error}")]
    InvalidHeader {
        name: &'static str,
        error: SyntaxError,
    },
    #[error("this command does not allow a payload")]
    UnexpectedPayload,
    #[error("this command requires a payload")]
    MissingPayload,
    #[error("auth payloads must be application/octet-stream")]
    BadAuthContentType,
    #[error("auth: {0}")]
    BadAuthStep(&'static str),
    #[error("error response without Error-Type")]
    MissingErrorType,
}

impl MessageError {
    pub fn code(&self) -> &'static str {
        match self {
            MessageError::HeaderWithoutColon => "header-without-colon",
            MessageError::BadHeaderName => "bad-header-name",
            MessageError::BadHeaderValue { .. } => "bad-header-value",
            MessageError::OrphanContinuation => "orphan-continuation",
            MessageError::ContentTransferEncoding => "content-transfer-encoding",
            MessageError::MissingHeader(_) => "missing-header",
            MessageError::InvalidHeader { .. } => "invalid-header",
            MessageError::UnexpectedPayload => "unexpected-payload",
            MessageError::MissingPayload => "missing-payload",
            MessageError::BadAuthContentType => "bad-auth-content-type",
            MessageError::BadAuthStep(_) => "bad-auth-step",
            MessageError::MissingErrorType => "missing-error-type",
        }
    }

    /// Every message-level problem is `malformed` (section 12).
    pub fn error_type(&self) -> ErrorType {
        ErrorType::Malformed
    }
}

/// A value we were asked to send cannot be written as a valid message
/// (it would break the framing or the header syntax). Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("invalid header name {0:?}")]
    HeaderName(String),
    #[error("header {0} has a value with CR, LF or control characters")]
    HeaderValue(String),
    #[error("header {0} is generated by the encoder and must not be supplied")]
    ReservedHeader(String),
    #[error("{0}")]
    Syntax(#[from] SyntaxError),
}
