//! Why a received message gets no answer at all.

/// The caller drops the datagram (or closes the stream) without answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DropReason {
    /// Only CR/LF: a keepalive.
    #[error("keepalive")]
    Keepalive,
    /// A response, or bytes whose start line is not a SIP request line:
    /// responses are never answered, garbage cannot be.
    #[error("not a SIP request")]
    NotARequest,
    /// ACK never gets a response (RFC 3261 §17.2.1).
    #[error("ACK is never answered")]
    Ack,
    /// A header needed to address a response is missing.
    #[error("{0} header missing, cannot address a response")]
    Missing(&'static str),
    /// A header needed to address a response is unusable.
    #[error("{0} header malformed, cannot address a response")]
    Malformed(&'static str),
}
