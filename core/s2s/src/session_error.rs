//! Session-fatal errors (either side). Each maps to the GOODBYE code sent to
//! the peer before the connection is closed (best effort: not after a shim
//! error, when the byte stream itself can no longer be trusted).

use tocsin_shim::ShimError;

use crate::code::Code;
use crate::msg::MsgError;

/// Why a session ended abnormally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The shim failed (framing, sequencing, liveness): closed without GOODBYE.
    #[error("shim: {0}")]
    Shim(#[from] ShimError),
    /// A session message (HELLO, WELCOME, REJECT, GOODBYE) did not decode.
    #[error("malformed {message}: {error}")]
    Malformed {
        /// Which message.
        message: &'static str,
        /// What was wrong with it.
        error: MsgError,
    },
    /// The peer speaks a protocol version we do not.
    #[error("unsupported protocol version {got} (this side speaks {want})")]
    UnsupportedVersion {
        /// Version in the peer's HELLO/WELCOME.
        got: u16,
        /// Ours.
        want: u16,
    },
    /// A message arrived where the protocol does not allow it.
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// The peer did not complete the handshake in time.
    #[error("handshake timeout: {0}")]
    HandshakeTimeout(&'static str),
}

impl SessionError {
    /// The GOODBYE code that reports this error to the peer.
    #[must_use]
    pub fn code(&self) -> Code {
        match self {
            SessionError::Malformed { .. } => Code::Malformed,
            SessionError::UnsupportedVersion { .. } => Code::UnsupportedVersion,
            SessionError::Shim(_)
            | SessionError::Protocol(_)
            | SessionError::HandshakeTimeout(_) => Code::ProtocolError,
        }
    }
}
