//! The one error type of the crate. Every variant names what was being
//! looked up (and, where known, which server said so), because these
//! messages end up in delivery logs read by an administrator.

use crate::message::QType;
use std::net::SocketAddr;
use thiserror::Error;

/// Why a name could not be encoded, a message not be parsed, or a lookup
/// not be completed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DnsError {
    /// A name given to us (or found in a response and then queried) is not
    /// a valid host/domain name in text form.
    #[error("invalid domain name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    /// The message cannot be decoded: a length, count or pointer is wrong.
    #[error("malformed DNS message at octet {offset}: {reason}")]
    Malformed { reason: &'static str, offset: usize },

    /// The id of a response is not the id of the query (a stray or spoofed
    /// datagram; a lookup ignores it).
    #[error("DNS response id {got:#06x} does not match query id {expected:#06x}")]
    WrongId { expected: u16, got: u16 },

    /// The datagram is not an answer to the question we asked (not a
    /// response, another opcode, another question); a lookup ignores it.
    #[error("DNS response does not answer the query for {name}: {reason}")]
    Mismatch { name: String, reason: &'static str },

    /// The server set the TC bit: the answer did not fit. Over UDP the
    /// lookup asks again over TCP; this error is what a truncated answer
    /// over TCP (which cannot be completed) gives.
    #[error("DNS response for {name} is truncated (TC bit)")]
    Truncated { name: String },

    /// The answer was truncated over UDP and the query over TCP to the same
    /// server failed (connection refused or lost, no answer in time).
    #[error(
        "DNS response for {name} was truncated over UDP and the TCP retry to {server} failed: {reason}"
    )]
    TcpFailed {
        name: String,
        server: SocketAddr,
        reason: String,
    },

    /// The server answered with an error RCODE (SERVFAIL, REFUSED, ...).
    #[error("DNS server{} answered {} ({rcode}) for {name}", fmt_server(server), rcode_name(*rcode))]
    ServerFailure {
        name: String,
        rcode: u16,
        server: Option<SocketAddr>,
    },

    /// No server answered within timeout × attempts.
    #[error("DNS lookup of {name} ({qtype}) timed out after {attempts} attempts")]
    Timeout {
        name: String,
        qtype: QType,
        attempts: u32,
    },

    /// NXDOMAIN: the name does not exist.
    #[error("domain name {name} does not exist (NXDOMAIN)")]
    NoSuchName { name: String },

    /// The name exists but has no record of the requested type, and there
    /// is nothing to fall back to.
    #[error("{name} has no {qtype} records")]
    NoData { name: String, qtype: QType },

    /// Every lookup step succeeded but not a single address came out.
    #[error("no addresses found for {name}")]
    NoAddresses { name: String },

    /// The SRV RRset is the single record with target "." (RFC 2782): the
    /// service is decidedly not available at this domain.
    #[error("service {name} is decidedly not available (SRV target \".\")")]
    ServiceNotAvailable { name: String },

    /// The configuration lists no nameserver to ask.
    #[error("no nameserver configured")]
    NoNameservers,
}

impl DnsError {
    /// A short stable name of the variant (used by the hostile-input corpus
    /// index and handy in metrics labels).
    pub fn code(&self) -> &'static str {
        match self {
            DnsError::InvalidName { .. } => "invalid-name",
            DnsError::Malformed { .. } => "malformed",
            DnsError::WrongId { .. } => "wrong-id",
            DnsError::Mismatch { .. } => "mismatch",
            DnsError::Truncated { .. } => "truncated",
            DnsError::TcpFailed { .. } => "tcp-failed",
            DnsError::ServerFailure { .. } => "server-failure",
            DnsError::Timeout { .. } => "timeout",
            DnsError::NoSuchName { .. } => "no-such-name",
            DnsError::NoData { .. } => "no-data",
            DnsError::NoAddresses { .. } => "no-addresses",
            DnsError::ServiceNotAvailable { .. } => "service-not-available",
            DnsError::NoNameservers => "no-nameservers",
        }
    }

    /// True when the datagram was simply not an answer to our query (wrong
    /// id or question): a lookup drops it and keeps waiting, which is the
    /// anti-spoofing rule of RFC 5452.
    pub fn is_unrelated(&self) -> bool {
        matches!(self, DnsError::WrongId { .. } | DnsError::Mismatch { .. })
    }

    pub(crate) fn malformed(reason: &'static str, offset: usize) -> Self {
        DnsError::Malformed { reason, offset }
    }

    pub(crate) fn invalid_name(name: &str, reason: &'static str) -> Self {
        DnsError::InvalidName {
            name: name.to_owned(),
            reason,
        }
    }
}

fn fmt_server(server: &Option<SocketAddr>) -> String {
    match server {
        Some(s) => format!(" {s}"),
        None => String::new(),
    }
}

/// The mnemonic of an RCODE (RFC 1035 section 4.1.1, RFC 6895).
pub fn rcode_name(rcode: u16) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        _ => "unknown RCODE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_context() {
        let e = DnsError::ServerFailure {
            name: "_im-servers._tcp.example.org".into(),
            rcode: 2,
            server: Some("192.0.2.53:53".parse().unwrap()),
        };
        assert_eq!(
            e.to_string(),
            "DNS server 192.0.2.53:53 answered SERVFAIL (2) for _im-servers._tcp.example.org"
        );
        let e = DnsError::ServerFailure {
            name: "example.org".into(),
            rcode: 5,
            server: None,
        };
        assert_eq!(
            e.to_string(),
            "DNS server answered REFUSED (5) for example.org"
        );
        let e = DnsError::Timeout {
            name: "im.example.org".into(),
            qtype: QType::Aaaa,
            attempts: 4,
        };
        assert_eq!(
            e.to_string(),
            "DNS lookup of im.example.org (AAAA) timed out after 4 attempts"
        );
        assert_eq!(e.code(), "timeout");
        assert!(
            DnsError::WrongId {
                expected: 1,
                got: 2
            }
            .is_unrelated()
        );
        assert!(!DnsError::NoNameservers.is_unrelated());
    }
}
