//! Safe views of the values that cross the boundary.

use std::collections::BTreeMap;
use tocsin_abi::Priority;

/// A socket or connection the host owns for this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    Tcp,
    UnixStream,
    Udp,
    UnixDatagram,
}

impl SocketKind {
    pub(crate) fn raw(self) -> u32 {
        use tocsin_abi::ffi::*;
        match self {
            SocketKind::Tcp => SOCK_TCP,
            SocketKind::UnixStream => SOCK_UNIX_STREAM,
            SocketKind::Udp => SOCK_UDP,
            SocketKind::UnixDatagram => SOCK_UNIX_DGRAM,
        }
    }
}

/// TLS settings for `listen`/`connect` (PEM file paths).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    pub cert_file: String,
    pub key_file: String,
    pub ca_file: String,
    pub server_name: String,
    pub require_client_cert: bool,
}

/// An event to emit. `source` is the instance name, set by the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventOut {
    pub source_event_id: String,
    pub kind: String,
    pub user: String,
    pub origin_host: String,
    /// Unix milliseconds; 0 = now.
    pub occurred_at_ms: i64,
    pub priority: Priority,
    pub summary: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitResult {
    Stored {
        event_id: i64,
    },
    Duplicate {
        event_id: i64,
    },
    /// Refused by ingest; `code` is machine-parsable (`too-large`, …).
    Rejected {
        code: String,
        message: String,
    },
    /// The transaction failed; nothing was stored. Retry later.
    Failed {
        message: String,
    },
}

/// A notification to deliver (borrowed for the `deliver` call).
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub delivery_id: u64,
    pub event_id: i64,
    pub attempt: u32,
    pub priority: Priority,
    pub occurred_at_ms: i64,
    pub want_delivery_receipt: bool,
    pub want_display_receipt: bool,
    pub target: &'a str,
    pub user: &'a str,
    pub kind: &'a str,
    pub source: &'a str,
    pub summary: &'a str,
    pub body: &'a str,
    pub message_id: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handed on (e.g. accepted by the next server).
    Sent,
    /// Handed on, with a note for the delivery's history (e.g. a gateway
    /// that could not confirm final delivery).
    SentWithNote { note: String },
    /// Confirmed in the recipient's hands.
    Delivered,
    /// Try again later (after `after_ms`, or per policy when 0).
    Retry { reason: String, after_ms: u64 },
    /// Will never work (unknown user, forbidden…): dead letter.
    Permanent { reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    Delivered,
    Displayed,
    Failed,
}
