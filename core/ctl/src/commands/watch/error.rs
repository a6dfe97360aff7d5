//! What can stop `watch`, sorted by what happens next: a usage error, a
//! permanent refusal (exit 1 at once: retrying cannot help), or a lost
//! connection (reconnect with backoff, unless --once).

use std::fmt;
use std::path::PathBuf;
use tocsin_imtp::{ConnError, ErrorReply, ErrorType, SendError};

/// An `error` response from the server: its type and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error_type: ErrorType,
    pub description: Option<String>,
}

impl From<ErrorReply> for Refusal {
    fn from(e: ErrorReply) -> Refusal {
        Refusal {
            error_type: e.error_type,
            description: e.description,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) if !d.is_empty() => write!(f, "{}: {d}", self.error_type),
            _ => write!(f, "{}", self.error_type),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    // ---- usage: the command line cannot work (exit 2)
    #[error("{value:?} is not an IM inbox (im:local@domain): {reason}")]
    BadInbox { value: String, reason: String },
    #[error("--{option} {value:?}: {reason}")]
    BadPattern {
        option: &'static str,
        value: String,
        reason: String,
    },
    #[error("--server {0:?}: expected HOST:PORT")]
    BadServer(String),
    #[error("{0}")]
    BadServerName(String),
    #[error("TLS needs --ca FILE (the CA that signs the server's certificate), or --plaintext")]
    MissingCa,
    #[error(
        "no credentials: give --user with --password-file/TOCSIN_IMTP_PASSWORD, or --cert/--key"
    )]
    NoCredentials,
    #[error("--user {0}: no password: give --password-file FILE or set TOCSIN_IMTP_PASSWORD")]
    NoPassword(String),
    #[error("--user: {0}")]
    BadPlain(String),
    #[error(
        "--user needs TLS: SASL PLAIN never sends a password in clear over the network (drop --plaintext, or sign in without --user; plaintext is fine to a loopback server)"
    )]
    PlainNeedsTls,

    // ---- permanent: set-up or a refusal retrying cannot change (exit 1)
    #[error("cannot read the password file {path}: {source}")]
    PasswordFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    TlsSetup(#[from] tocsin_s2s::tls::TlsError),
    #[error("TLS: {0}")]
    Tls(rustls::Error),
    #[error("cannot sign in: {0}")]
    Sasl(SendError),
    #[error("cannot sign in: the server does not offer {wanted} (it offers: {offered})")]
    NotOffered { wanted: String, offered: String },
    #[error("authentication failed: {0}")]
    AuthFailed(Refusal),
    #[error("listen refused: {0}")]
    ListenRefused(Refusal),
    #[error("cannot write the notification: {0}")]
    Output(std::io::Error),

    // ---- connection loss: reconnect (exit 1 with --once)
    #[error("cannot connect to {server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("connection lost: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server closed the connection")]
    Eof,
    #[error("connection failed: {0}")]
    Conn(#[from] ConnError),
    #[error("cannot send: {0}")]
    Send(SendError),
    #[error("listen failed for now: {0}")]
    ListenDeferred(Refusal),
    #[error("the server asked us to reconnect (shutdown)")]
    Shutdown,
}

impl WatchError {
    /// Whether a new connection may succeed where this one failed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            WatchError::Connect { .. }
                | WatchError::Io(_)
                | WatchError::Eof
                | WatchError::Conn(_)
                | WatchError::Send(_)
                | WatchError::ListenDeferred(_)
                | WatchError::Shutdown
        )
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            WatchError::BadInbox { .. }
            | WatchError::BadPattern { .. }
            | WatchError::BadServer(_)
            | WatchError::BadServerName(_)
            | WatchError::MissingCa
            | WatchError::NoCredentials
            | WatchError::NoPassword(_)
            | WatchError::BadPlain(_)
            | WatchError::PlainNeedsTls => crate::EXIT_USAGE,
            _ => crate::EXIT_FAILURE,
        }
    }
}
