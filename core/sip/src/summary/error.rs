//! Why a message-summary body was rejected (all answered 400).

/// `line` numbers are 1-based physical lines of the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    #[error("body is not valid UTF-8 (byte {offset})")]
    NonUtf8 { offset: usize },
    #[error("body is empty")]
    Empty,
    #[error("line {line} contains a control character")]
    ControlCharacter { line: usize },
    #[error("first line is not Messages-Waiting")]
    MissingStatusLine,
    #[error("Messages-Waiting is neither yes nor no")]
    BadStatus,
    /// RFC 3842 §5.2: Account-URI is a bare URI; `<sip:...>` is a sender
    /// bug we refuse rather than guess at.
    #[error("Message-Account must not be in angle brackets")]
    AngleBracketAccount,
    #[error("Message-Account is not an absolute URI")]
    BadAccount,
    #[error("line {line}: {reason}")]
    BadLine { line: usize, reason: &'static str },
    #[error("line {line} is longer than {limit} bytes")]
    LineTooLong { line: usize, limit: usize },
    #[error("more than {limit} message classes")]
    TooManyClasses { limit: usize },
    #[error("more than {limit} message headers")]
    TooManyHeaders { limit: usize },
}
