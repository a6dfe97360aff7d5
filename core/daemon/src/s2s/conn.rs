//! One ingest connection: its transport (plain or TLS), its sans-IO
//! session, and what the loop must remember about it between readiness
//! events.

use super::policy::SourcePolicy;
use super::stream::Stream;
use std::rc::Rc;
use std::time::Instant;
use tocsin_s2s::ServerSession;
use tocsin_s2s::transport::Transport;

/// Names a connection across slab reuse: an ACK owed to a closed
/// connection must not reach a new one in the same slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S2sRef {
    pub key: usize,
    pub generation: u64,
}

pub struct S2sConn {
    pub generation: u64,
    pub transport: Transport<Stream>,
    pub session: ServerSession,
    /// Index of the listener it came through.
    pub listener: usize,
    pub tls: bool,
    /// Peer address, for logs.
    pub peer: String,
    /// Set by a welcomed HELLO.
    pub source: Option<Rc<SourcePolicy>>,
    /// The socket may hold unread bytes: edge-triggered readiness we did
    /// not drain (backpressure, rate limit), so the loop must come back.
    pub maybe_readable: bool,
    /// Backpressure or the rate limit stopped delivery with input left in
    /// the session's buffer: drive it again after the commit.
    pub stalled: bool,
    /// Over the source's rate: not read again before this time.
    pub rate_wait: Option<Instant>,
    /// The store failed to commit one of its events: drop the connection
    /// without ACKs, so the source resends (docs/s2s-protocol.md §8).
    pub abort: Option<String>,
    /// Why the session ended, if it ended badly (logged at close).
    pub failure: Option<String>,
    /// Events handed to the batch and not yet committed.
    pub in_batch: usize,
    /// When the session was first seen finished with output still queued.
    pub done_since: Option<Instant>,
    pub opened: Instant,
}

impl S2sConn {
    pub fn new(
        generation: u64,
        transport: Transport<Stream>,
        session: ServerSession,
        listener: usize,
        tls: bool,
        peer: String,
        now: Instant,
    ) -> S2sConn {
        S2sConn {
            generation,
            transport,
            session,
            listener,
            tls,
            peer,
            source: None,
            maybe_readable: true,
            stalled: false,
            rate_wait: None,
            abort: None,
            failure: None,
            in_batch: 0,
            done_since: None,
            opened: now,
        }
    }

    /// The source name for logs (`-` before HELLO).
    pub fn who(&self) -> &str {
        self.source.as_ref().map_or("-", |s| s.cfg.name.as_str())
    }

    /// Nothing more will happen on it: close once the output is written.
    pub fn is_done(&self) -> bool {
        self.abort.is_some() || self.failure.is_some() || self.session.is_finished()
    }

    /// Write what the session queued. `Err` means the socket is gone.
    pub fn flush(&mut self) -> Result<(), String> {
        self.transport
            .write(&mut self.session)
            .map(|_| ())
            .map_err(|e| format!("write: {e}"))
    }

    pub fn wants_write(&self) -> bool {
        self.transport.wants_write(&self.session)
    }

    /// The leaf certificate the peer presented (TLS).
    pub fn peer_leaf(&self) -> Option<&[u8]> {
        self.transport
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref())
    }
}
