//! Connection parameters supplied by the host.

use crate::limits::Limits;
use crate::method::Protocol;
use std::time::Duration;

/// Which end of the TCP connection we are. The draft's roles follow the
/// connection, not the kind of party: a relaying server that connects to
/// another server is the `Client` of that connection (it reads the
/// mechanism list and may authenticate); the accepting side is `Server`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

/// Facts about the transport that only the host knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    /// The stream is TLS-protected. PLAIN is neither offered nor accepted
    /// (nor sent, on the client side) without it.
    pub tls: bool,
    /// Server side: the identity from the peer's verified TLS client
    /// certificate, used by SASL EXTERNAL. `None`: EXTERNAL is not offered.
    pub peer_identity: Option<String>,
}

/// Timers (docs/imtp.md, "Timeouts"); the draft defines none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Server: authentication must finish within this time of accepting
    /// (when `require_auth`). Client: the mechanism list must arrive (and,
    /// after auth, be repeated) within this time of connecting.
    pub handshake: Option<Duration>,
    /// Slowloris guard: a message whose first octet arrived this long ago
    /// and is still incomplete is fatal.
    pub message: Duration,
    /// Nothing at all received for this long is fatal. Should be a
    /// multiple of the peer's NOP interval.
    pub idle: Option<Duration>,
    /// Send `=nop` after this long without sending anything, so idle
    /// listening connections survive NATs and the peer's idle timer.
    pub nop_interval: Option<Duration>,
    /// A command we sent unanswered for this long is fatal (the peer or a
    /// relay behind it is stuck).
    pub response: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            handshake: Some(Duration::from_secs(30)),
            message: Duration::from_secs(30),
            idle: Some(Duration::from_secs(300)),
            nop_interval: Some(Duration::from_secs(60)),
            response: Some(Duration::from_secs(120)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub protocol: Protocol,
    pub limits: Limits,
    pub timeouts: Timeouts,
    /// Server: commands other than `auth` before authentication are
    /// refused (`source-authorization`).
    pub require_auth: bool,
    /// Server: offer EXTERNAL (only when the host supplied a certificate
    /// identity) and PLAIN (only over TLS).
    pub offer_external: bool,
    pub offer_plain: bool,
    /// Server: offer EXTERNAL although the certificate identity is not known
    /// yet. A host whose TLS handshake finishes after the connection is
    /// accepted sets this when it asked for client certificates, and supplies
    /// the identity with `Connection::set_peer_identity` once the handshake
    /// is done (before feeding the client's first octets).
    pub external_identity_later: bool,
}

impl Config {
    pub fn imtp() -> Config {
        Config {
            protocol: Protocol::Imtp,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            require_auth: true,
            offer_external: true,
            offer_plain: true,
            external_identity_later: false,
        }
    }

    pub fn pitp() -> Config {
        Config {
            protocol: Protocol::Pitp,
            ..Config::imtp()
        }
    }
}
