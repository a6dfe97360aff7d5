//! Connection errors: fatal ones (close the connection) and refusals of a
//! host request (the connection carries on).

use crate::error::{DecodeError, EncodeError};
use crate::id::Id;
use crate::mech::MechName;
use crate::sasl::SaslError;
use std::time::Duration;
use thiserror::Error;

/// Fatal: the host should flush [`super::Connection::output`] (it may hold
/// a final error response) and close the socket.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConnError {
    #[error("cannot frame input: {0}")]
    Decode(#[from] DecodeError),
    #[error(
        "mechanism list changed after authentication (possible downgrade): {before:?} then {after:?}"
    )]
    MechDowngrade {
        before: Vec<MechName>,
        after: Vec<MechName>,
    },
    #[error("peer sent {0} where its mechanism list was due")]
    MechMissing(&'static str),
    #[error("unexpected mechanism list")]
    UnexpectedMech,
    #[error("incomplete message pending for more than {0:?}")]
    ReadTimeout(Duration),
    #[error("nothing received for {0:?}")]
    IdleTimeout(Duration),
    #[error("handshake not completed within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("command {id} unanswered after {after:?}")]
    ResponseTimeout { id: Id, after: Duration },
    #[error("more than {limit} octets queued for a peer that does not read")]
    OutputOverflow { limit: usize },
    #[error("input buffer full without progress")]
    InputStalled,
    #[error("connection closed")]
    Closed,
}

/// A host request was refused; nothing was queued.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    #[error("connection closed")]
    Closed,
    #[error("the server's mechanism list has not arrived yet")]
    NotReady,
    #[error("only {0:?} connections can do this")]
    WrongRole(super::Role),
    #[error("an authentication exchange is in progress")]
    AuthInProgress,
    #[error("already authenticated")]
    AlreadyAuthenticated,
    #[error("use Connection::authenticate for auth")]
    UseAuthenticate,
    #[error("server does not offer {0}")]
    MechanismNotOffered(MechName),
    #[error("PLAIN requires TLS")]
    PlainRequiresTls,
    #[error("output buffer holds {len} octets (limit {limit}): drain it first")]
    OutputFull { len: usize, limit: usize },
    #[error("{limit} commands already unanswered")]
    TooManyOutstanding { limit: usize },
    #[error("no unanswered command {0} from the peer")]
    UnknownCommand(Id),
    #[error("answer auth with Connection::complete_plain")]
    UseCompletePlain,
    #[error("no PLAIN verification pending")]
    NoPendingVerification,
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Sasl(#[from] SaslError),
}
