//! Errors: protocol errors that end a connection with a status, and host API misuse.

use thiserror::Error;

/// A request the codec refuses. Every variant maps to the HTTP status the codec answers
/// with ([`HttpError::status`]); the codec has already queued that answer (with
/// `Connection: close`) in request order when it reports the error, and parses nothing more
/// on the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HttpError {
    /// Request line does not have the shape `method SP target SP version`.
    #[error("malformed request line: {0}")]
    BadRequestLine(&'static str),
    /// The method token is longer than any method we could implement.
    #[error("method token longer than {0} bytes")]
    MethodTooLong(usize),
    /// Request target (with the request line) exceeds the request-line limit.
    #[error("request target too long (request line limit {limit} bytes)")]
    TargetTooLong {
        /// The configured request-line limit.
        limit: usize,
    },
    /// HTTP version field is not `HTTP/<digit>.<digit>`.
    #[error("malformed HTTP version")]
    BadVersion,
    /// A well-formed version other than HTTP/1.x (HTTP/2 preface, HTTP/0.9, ...).
    #[error("HTTP version not supported: {0}")]
    UnsupportedVersion(String),
    /// A line ended in a bare LF; only CRLF is accepted (no framing ambiguity).
    #[error("line not terminated by CRLF")]
    BareLineFeed,
    /// A header line is malformed.
    #[error("malformed header field: {0}")]
    BadHeader(&'static str),
    /// A header line starts with whitespace (obsolete line folding, RFC 9112 5.2).
    #[error("obsolete line folding in header section")]
    ObsFold,
    /// All header lines together exceed the limit.
    #[error("header section larger than {limit} bytes")]
    HeadersTooLarge {
        /// The configured byte limit.
        limit: usize,
    },
    /// More header fields than allowed.
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The configured count limit.
        limit: usize,
    },
    /// HTTP/1.1 request without exactly one Host header (RFC 9112 3.2).
    #[error("request must carry exactly one Host header, found {0}")]
    BadHost(usize),
    /// Content-Length is not a plain decimal number.
    #[error("invalid Content-Length value")]
    InvalidContentLength,
    /// Several Content-Length values that disagree: a request-smuggling vector.
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    /// A method that carries a body came without Content-Length.
    #[error("{0} request without Content-Length")]
    LengthRequired(String),
    /// Declared body larger than the limit (detected before buffering it).
    #[error("body of {length} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// Declared length (saturated at `u64::MAX` when it does not even fit).
        length: u64,
        /// The configured body limit.
        limit: u64,
    },
    /// Transfer-Encoding on an HTTP/1.1 request: we implement no transfer coding.
    #[error("transfer codings are not implemented: {0}")]
    TransferCodingNotImplemented(String),
    /// Transfer-Encoding on an HTTP/1.0 request: faulty framing (RFC 9112 6.1).
    #[error("Transfer-Encoding in an HTTP/1.0 request")]
    TransferEncodingInHttp10,
    /// An Expect value other than `100-continue`.
    #[error("unsupported expectation: {0}")]
    ExpectationFailed(String),
    /// The request did not complete within the request timeout.
    #[error("request not completed within {0:?}")]
    RequestTimeout(std::time::Duration),
    /// The peer closed its side in the middle of a request.
    #[error("connection closed in the middle of a request")]
    IncompleteRequest,
}

impl HttpError {
    /// The status the codec answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::BadRequestLine(_)
            | HttpError::BadVersion
            | HttpError::BareLineFeed
            | HttpError::BadHeader(_)
            | HttpError::ObsFold
            | HttpError::BadHost(_)
            | HttpError::InvalidContentLength
            | HttpError::ConflictingContentLength
            | HttpError::TransferEncodingInHttp10
            | HttpError::IncompleteRequest => 400,
            HttpError::RequestTimeout(_) => 408,
            HttpError::LengthRequired(_) => 411,
            HttpError::BodyTooLarge { .. } => 413,
            HttpError::TargetTooLong { .. } => 414,
            HttpError::ExpectationFailed(_) => 417,
            HttpError::HeadersTooLarge { .. } | HttpError::TooManyHeaders { .. } => 431,
            HttpError::MethodTooLong(_) | HttpError::TransferCodingNotImplemented(_) => 501,
            HttpError::UnsupportedVersion(_) => 505,
        }
    }

    /// A short, stable, machine-readable code for logs, metrics and the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            HttpError::BadRequestLine(_) => "bad_request_line",
            HttpError::MethodTooLong(_) => "method_too_long",
            HttpError::TargetTooLong { .. } => "target_too_long",
            HttpError::BadVersion => "bad_version",
            HttpError::UnsupportedVersion(_) => "unsupported_version",
            HttpError::BareLineFeed => "bare_line_feed",
            HttpError::BadHeader(_) => "bad_header",
            HttpError::ObsFold => "obs_fold",
            HttpError::HeadersTooLarge { .. } => "headers_too_large",
            HttpError::TooManyHeaders { .. } => "too_many_headers",
            HttpError::BadHost(_) => "bad_host",
            HttpError::InvalidContentLength => "invalid_content_length",
            HttpError::ConflictingContentLength => "conflicting_content_length",
            HttpError::LengthRequired(_) => "length_required",
            HttpError::BodyTooLarge { .. } => "body_too_large",
            HttpError::TransferCodingNotImplemented(_) => "transfer_coding_not_implemented",
            HttpError::TransferEncodingInHttp10 => "transfer_encoding_in_http10",
            HttpError::ExpectationFailed(_) => "expectation_failed",
            HttpError::RequestTimeout(_) => "request_timeout",
            HttpError::IncompleteRequest => "incomplete_request",
        }
    }
}

/// The host handed the codec a response it cannot accept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RespondError {
    /// No request with this sequence number was handed to the host.
    #[error("no request with sequence number {0} was yielded")]
    UnknownSequence(u64),
    /// The request already has a response.
    #[error("request {0} already has a response")]
    AlreadyAnswered(u64),
    /// Only final statuses 200..=599 can be submitted (100 Continue is the codec's job).
    #[error("status {0} cannot be used as a final response")]
    InvalidStatus(u16),
}

/// A header the host tried to add to a [`crate::Response`] is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidHeader {
    /// The name is empty or not an RFC 9110 token.
    #[error("header name {0:?} is not a token")]
    BadName(String),
    /// The value holds CR, LF, NUL or another control character (header injection).
    #[error("value of header {0:?} holds a control character")]
    BadValue(String),
    /// The codec owns this header (framing and connection management).
    #[error("header {0:?} is set by the codec")]
    Reserved(String),
}
