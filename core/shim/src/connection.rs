//! The per-connection state machine. Sans-IO: the caller moves bytes between
//! the socket and this object and supplies the clock.
//!
//! ```text
//!  socket --read--> recv_buf()/recv_commit() | recv() --> poll_event() --> Event
//!  socket <--write-- pending_output()/consume_output() <-- send_data(), ack(),
//!                                                          HEARTBEAT(-ACK)s
//!  timers: next_timeout() / on_timeout(now)
//! ```

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::chunk::{
    self, Chunk, ChunkType, DataChunk, HEADER_LEN, InitFlags, decode_chunk, padded_len,
};
use crate::config::Config;
use crate::error::{AckError, SendError, ShimError};
use crate::liveness::{Due, Liveness};
use crate::unacked::{RetainedMeta, Unacked, UnackedData};

/// One received DATA chunk. Its payload stays in the connection's receive
/// buffer: read it with [`Connection::payload`] before the next `recv*` call.
/// Equality compares what the peer sent, not where it sits in the buffer.
#[derive(Debug, Clone, Copy)]
pub struct Data {
    /// TSN (counted by position when the peer omits it).
    pub tsn: u32,
    /// Stream identifier (0 when the peer omits streams).
    pub stream: u16,
    /// Stream sequence number (counted per stream when omitted; as sent, and
    /// meaningless, for unordered DATA).
    pub ssn: u16,
    /// Payload protocol identifier (0 when the peer omits it).
    pub ppid: u32,
    /// U flag.
    pub unordered: bool,
    start: usize,
    len: usize,
}

impl PartialEq for Data {
    fn eq(&self, o: &Self) -> bool {
        (
            self.tsn,
            self.stream,
            self.ssn,
            self.ppid,
            self.unordered,
            self.len,
        ) == (o.tsn, o.stream, o.ssn, o.ppid, o.unordered, o.len)
    }
}

impl Eq for Data {}

impl Data {
    /// Payload length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }
    /// Never true for DATA that came off the wire (empty DATA is an error).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What [`Connection::poll_event`] reports: one event per received chunk,
/// plus one `PeerClosed` after the peer's clean EOF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The peer's INIT arrived (always the first event).
    PeerInit(InitFlags),
    /// A DATA chunk. Deliver it upward, then call [`Connection::ack`].
    Data(Data),
    /// The peer acknowledged our DATA with TSNs `first..=last`; the
    /// connection no longer retains them.
    Acked {
        /// Oldest TSN released.
        first: u32,
        /// Newest TSN released.
        last: u32,
    },
    /// The peer sent a HEARTBEAT; the HEARTBEAT-ACK is already queued.
    Heartbeat,
    /// The peer answered one of our HEARTBEATs; `rtt` when it was the latest.
    HeartbeatAck {
        /// Round-trip time of the latest HEARTBEAT.
        rtt: Option<Duration>,
    },
    /// The peer closed its side cleanly, between chunks.
    PeerClosed,
}

/// Where a DATA chunk goes: stream, PPID, ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendMeta {
    /// Stream identifier.
    pub stream: u16,
    /// Payload protocol identifier.
    pub ppid: u32,
    /// Send unordered (no stream sequence number is consumed).
    pub unordered: bool,
}

/// A TCP-mapping connection endpoint (either side: the protocol is symmetric).
#[derive(Debug)]
pub struct Connection {
    cfg: Config,
    // --- receive side ---
    rx: Vec<u8>,
    rx_start: usize,
    rx_end: usize,
    peer_eof: bool,
    eof_reported: bool,
    peer_init: Option<InitFlags>,
    /// TSN the next DATA from the peer must carry.
    rx_next_tsn: u32,
    /// Next expected SSN per stream (absent = 0).
    rx_ssn: HashMap<u16, u16>,
    /// Oldest delivered TSN we have not acked yet (== rx_next_tsn when none).
    rx_ack_next: u32,
    // --- send side ---
    tx: Vec<u8>,
    tx_start: usize,
    tx_next_tsn: u32,
    tx_ssn: HashMap<u16, u16>,
    unacked: Unacked,
    // --- both ---
    live: Liveness,
    failed: Option<ShimError>,
}

impl Connection {
    /// A fresh endpoint; our INIT is already queued for output.
    #[must_use]
    pub fn new(cfg: Config, now: Instant) -> Self {
        let cfg = cfg.normalized();
        let mut tx = Vec::with_capacity(4096);
        chunk::encode_init(&mut tx, cfg.init_flags);
        Self {
            rx: vec![0; cfg.recv_buffer],
            rx_start: 0,
            rx_end: 0,
            peer_eof: false,
            eof_reported: false,
            peer_init: None,
            rx_next_tsn: 0,
            rx_ssn: HashMap::new(),
            rx_ack_next: 0,
            tx,
            tx_start: 0,
            tx_next_tsn: 0,
            tx_ssn: HashMap::new(),
            unacked: Unacked::default(),
            live: Liveness::new(
                now,
                cfg.heartbeat_interval,
                cfg.max_missed_heartbeats,
                cfg.ack_timeout,
            ),
            failed: None,
            cfg,
        }
    }

    /// The settings in force (after [`Config::normalized`]).
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The peer's INIT flags, once its INIT has been polled.
    #[must_use]
    pub fn peer_init(&self) -> Option<InitFlags> {
        self.peer_init
    }

    /// The fatal error, if the connection has failed.
    #[must_use]
    pub fn error(&self) -> Option<&ShimError> {
        self.failed.as_ref()
    }

    fn fail(&mut self, e: ShimError) -> ShimError {
        self.failed = Some(e.clone());
        e
    }

    // ------------------------------------------------------------------
    // receive path
    // ------------------------------------------------------------------

    /// Free space to read socket bytes into; commit them with
    /// [`Connection::recv_commit`]. Empty when the buffer is full of chunks
    /// not yet polled: then stop reading the socket (do not call `read` with
    /// an empty buffer, it returns 0 and looks like EOF). Invalidates the
    /// payloads of earlier [`Data`] events.
    pub fn recv_buf(&mut self) -> &mut [u8] {
        self.compact_rx();
        &mut self.rx[self.rx_end..]
    }

    /// Commit `n` bytes written into [`Connection::recv_buf`].
    pub fn recv_commit(&mut self, n: usize) {
        self.rx_end = (self.rx_end + n).min(self.rx.len());
    }

    /// Copy as much of `data` as fits; returns how many bytes were taken.
    /// Invalidates the payloads of earlier [`Data`] events.
    pub fn recv(&mut self, data: &[u8]) -> usize {
        let buf = self.recv_buf();
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        self.recv_commit(n);
        n
    }

    /// Bytes received but not yet decoded.
    #[must_use]
    pub fn recv_buffered(&self) -> usize {
        self.rx_end - self.rx_start
    }

    /// The peer closed its sending side (read returned 0).
    pub fn recv_eof(&mut self) {
        self.peer_eof = true;
    }

    fn compact_rx(&mut self) {
        if self.rx_start == self.rx_end {
            self.rx_start = 0;
            self.rx_end = 0;
        } else if self.rx_start > 0 {
            self.rx.copy_within(self.rx_start..self.rx_end, 0);
            self.rx_end -= self.rx_start;
            self.rx_start = 0;
        }
    }

    /// The payload of a [`Data`] event from the latest batch of polls.
    #[must_use]
    pub fn payload(&self, data: &Data) -> &[u8] {
        self.rx
            .get(data.start..data.start + data.len)
            .unwrap_or(&[])
    }

    /// Decode the next chunk, if one is complete. `now` is the arrival time
    /// for the liveness timers. A returned error is fatal and sticky.
    pub fn poll_event(&mut self, now: Instant) -> Result<Option<Event>, ShimError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let pending = self.pending_output().len();
        if pending > self.cfg.max_output {
            return Err(self.fail(ShimError::PeerNotReading {
                pending,
                limit: self.cfg.max_output,
            }));
        }
        match self.decode_next(now) {
            Ok(Some(ev)) => Ok(Some(ev)),
            Ok(None) if self.peer_eof => {
                let buffered = self.recv_buffered();
                if buffered > 0 {
                    Err(self.fail(ShimError::TruncatedAtEof { buffered }))
                } else if self.eof_reported {
                    Ok(None)
                } else {
                    self.eof_reported = true;
                    Ok(Some(Event::PeerClosed))
                }
            }
            Ok(None) => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn decode_next(&mut self, now: Instant) -> Result<Option<Event>, ShimError> {
        let start = self.rx_start;
        let buf = &self.rx[start..self.rx_end];
        let Some(head) = buf.first_chunk::<4>() else {
            return Ok(None);
        };
        // Sequencing checks come first so that the error names the real
        // problem (a DATA before INIT is "missing-init", whatever its length).
        let ty = head[0];
        let layout = match self.peer_init {
            Some(flags) => flags,
            None if ty == ChunkType::Init as u8 => InitFlags::NONE,
            None if ChunkType::from_u8(ty).is_none() => {
                return Err(ShimError::ReservedChunkType { chunk_type: ty });
            }
            None => return Err(ShimError::MissingInit { chunk_type: ty }),
        };
        let Some((chunk, used)) = decode_chunk(buf, layout, self.cfg.max_chunk_len)? else {
            return Ok(None);
        };
        self.live.on_receive(now);
        let event = match chunk {
            Chunk::Init(flags) => {
                if self.peer_init.is_some() {
                    return Err(ShimError::DuplicateInit);
                }
                self.peer_init = Some(flags);
                Event::PeerInit(flags)
            }
            Chunk::Data(d) => {
                let header_len = layout.data_header_len();
                let data = Self::accept_data(
                    &mut self.rx_next_tsn,
                    &mut self.rx_ssn,
                    &d,
                    start + header_len,
                )?;
                Event::Data(data)
            }
            Chunk::Ack(tsn) => self.accept_ack(now, tsn)?,
            Chunk::Heartbeat(info) => {
                if info.len() > self.cfg.max_heartbeat_info {
                    return Err(ShimError::HeartbeatInfoTooLarge {
                        length: info.len(),
                        max: self.cfg.max_heartbeat_info,
                    });
                }
                chunk::encode_heartbeat(&mut self.tx, true, info);
                Event::Heartbeat
            }
            Chunk::HeartbeatAck(info) => {
                let echoed = info
                    .first_chunk::<8>()
                    .filter(|_| info.len() == 8)
                    .map(|b| u64::from_be_bytes(*b))
                    .ok_or(ShimError::HeartbeatAckMismatch)?;
                let rtt = self.live.on_heartbeat_ack(now, echoed)?;
                Event::HeartbeatAck { rtt }
            }
        };
        self.rx_start += used;
        Ok(Some(event))
    }

    fn accept_data(
        next_tsn: &mut u32,
        ssns: &mut HashMap<u16, u16>,
        d: &DataChunk<'_>,
        payload_start: usize,
    ) -> Result<Data, ShimError> {
        let tsn = *next_tsn;
        if let Some(got) = d.tsn.filter(|&got| got != tsn) {
            return Err(ShimError::TsnMismatch { expected: tsn, got });
        }
        let (stream, sent_ssn) = match d.stream {
            Some((sid, ssn)) => (sid, Some(ssn)),
            None => (0, None),
        };
        let ssn = if d.unordered {
            sent_ssn.unwrap_or(0)
        } else {
            let expected = ssns.get(&stream).copied().unwrap_or(0);
            if let Some(got) = sent_ssn.filter(|&got| got != expected) {
                return Err(ShimError::SsnMismatch {
                    stream,
                    expected,
                    got,
                });
            }
            ssns.insert(stream, expected.wrapping_add(1));
            expected
        };
        *next_tsn = tsn.wrapping_add(1);
        Ok(Data {
            tsn,
            stream,
            ssn,
            ppid: d.ppid.unwrap_or(0),
            unordered: d.unordered,
            start: payload_start,
            len: d.payload.len(),
        })
    }

    fn accept_ack(&mut self, now: Instant, tsn: Option<u32>) -> Result<Event, ShimError> {
        let (Some(oldest), Some(newest)) = (self.unacked.oldest_tsn(), self.unacked.newest_tsn())
        else {
            return Err(ShimError::UnexpectedAck { tsn });
        };
        // The short form acks exactly the next outstanding chunk (its TSN is
        // implied by position); the long form is cumulative.
        let tsn = tsn.unwrap_or(oldest);
        let idx = self
            .unacked
            .index_of(tsn)
            .ok_or(ShimError::AckOutOfWindow {
                tsn,
                oldest,
                newest,
            })?;
        self.unacked.release(idx + 1);
        self.live.on_ack(now, self.unacked.len() > 0);
        Ok(Event::Acked {
            first: oldest,
            last: tsn,
        })
    }

    /// Acknowledge delivery of every received DATA chunk up to and including
    /// `tsn` (cumulative). One ACK chunk per DATA chunk is queued, in TSN
    /// order, as the draft requires.
    pub fn ack(&mut self, tsn: u32) -> Result<(), AckError> {
        if self.failed.is_some() {
            return Err(AckError::Failed);
        }
        let waiting = self.rx_next_tsn.wrapping_sub(self.rx_ack_next);
        let offset = tsn.wrapping_sub(self.rx_ack_next);
        if offset >= waiting {
            return Err(AckError::NotPending {
                tsn,
                next: (waiting > 0).then_some(self.rx_ack_next),
            });
        }
        // The peer's T flag asks us to leave the TSN out of our ACKs.
        let short = self.peer_init.is_some_and(InitFlags::omit_tsn);
        for _ in 0..=offset {
            chunk::encode_ack(&mut self.tx, (!short).then_some(self.rx_ack_next));
            self.rx_ack_next = self.rx_ack_next.wrapping_add(1);
        }
        Ok(())
    }

    /// Received DATA chunks not yet acknowledged with [`Connection::ack`].
    #[must_use]
    pub fn unacked_received(&self) -> u32 {
        self.rx_next_tsn.wrapping_sub(self.rx_ack_next)
    }

    /// The oldest received DATA TSN still waiting for [`Connection::ack`].
    #[must_use]
    pub fn next_to_ack(&self) -> Option<u32> {
        (self.unacked_received() > 0).then_some(self.rx_ack_next)
    }

    // ------------------------------------------------------------------
    // send path
    // ------------------------------------------------------------------

    /// Queue a DATA chunk, respecting the soft output bound. Returns its TSN.
    pub fn send_data(
        &mut self,
        now: Instant,
        meta: SendMeta,
        payload: &[u8],
    ) -> Result<u32, SendError> {
        let pending = self.pending_output().len();
        let need = padded_len(self.cfg.init_flags.data_header_len() + payload.len());
        if pending > 0 && pending + need > self.cfg.send_buffer {
            return Err(SendError::Full {
                pending,
                limit: self.cfg.send_buffer,
            });
        }
        self.send_data_unbounded(now, meta, payload)
    }

    /// Queue a DATA chunk regardless of the soft output bound (the hard
    /// bound still applies when polling). Meant for small upper-layer
    /// control messages that must not wait behind a full buffer.
    pub fn send_data_unbounded(
        &mut self,
        now: Instant,
        meta: SendMeta,
        payload: &[u8],
    ) -> Result<u32, SendError> {
        if self.failed.is_some() {
            return Err(SendError::Failed);
        }
        let flags = self.cfg.init_flags;
        if payload.is_empty() {
            return Err(SendError::Empty);
        }
        if payload.len() > self.cfg.max_payload() {
            return Err(SendError::TooLarge {
                len: payload.len(),
                max: self.cfg.max_payload(),
            });
        }
        if flags.omit_stream() && meta.stream != 0 {
            return Err(SendError::FieldSuppressed { field: "stream" });
        }
        if flags.omit_ppid() && meta.ppid != 0 {
            return Err(SendError::FieldSuppressed { field: "ppid" });
        }
        let tsn = self.tx_next_tsn;
        let ssn = if meta.unordered {
            0
        } else {
            let next = self.tx_ssn.entry(meta.stream).or_insert(0);
            let ssn = *next;
            *next = ssn.wrapping_add(1);
            ssn
        };
        chunk::encode_data(
            &mut self.tx,
            flags,
            &DataChunk {
                unordered: meta.unordered,
                tsn: Some(tsn),
                stream: Some((meta.stream, ssn)),
                ppid: Some(meta.ppid),
                payload,
            },
        );
        let was_idle = self.unacked.len() == 0;
        self.unacked.push(
            RetainedMeta {
                tsn,
                stream: meta.stream,
                ssn,
                ppid: meta.ppid,
                unordered: meta.unordered,
            },
            payload,
        );
        self.live.on_data_sent(now, was_idle);
        self.tx_next_tsn = tsn.wrapping_add(1);
        Ok(tsn)
    }

    /// Bytes [`Connection::send_data`] can still queue before the soft bound.
    #[must_use]
    pub fn send_capacity(&self) -> usize {
        self.cfg
            .send_buffer
            .saturating_sub(self.pending_output().len())
    }

    /// The backpressure signal: true while a maximal DATA chunk still fits
    /// under the soft bound. Stop producing when false; resume after
    /// [`Connection::consume_output`] made room.
    #[must_use]
    pub fn wants_data(&self) -> bool {
        self.failed.is_none()
            && self.send_capacity() >= padded_len(usize::from(self.cfg.max_chunk_len))
    }

    /// DATA chunks we sent that the peer has not acknowledged.
    #[must_use]
    pub fn unacked_sent(&self) -> usize {
        self.unacked.len()
    }

    /// Payload bytes of [`Connection::unacked_sent`].
    #[must_use]
    pub fn unacked_sent_bytes(&self) -> usize {
        self.unacked.bytes()
    }

    /// The retained chunks, oldest first.
    pub fn unacked_iter(&self) -> impl Iterator<Item = (RetainedMeta, &[u8])> {
        self.unacked.iter()
    }

    /// Everything we sent and the peer never acknowledged, in TSN order, for
    /// resending on another connection. Call after the connection died.
    #[must_use]
    pub fn into_unacked(self) -> Vec<UnackedData> {
        self.unacked.into_vec()
    }

    /// Output waiting for the socket.
    #[must_use]
    pub fn pending_output(&self) -> &[u8] {
        &self.tx[self.tx_start..]
    }

    /// Mark `n` bytes of [`Connection::pending_output`] as written.
    pub fn consume_output(&mut self, n: usize) {
        self.tx_start = (self.tx_start + n).min(self.tx.len());
        if self.tx_start == self.tx.len() {
            self.tx.clear();
            self.tx_start = 0;
        } else if self.tx_start >= 64 * 1024 && self.tx_start * 2 > self.tx.len() {
            self.tx.drain(..self.tx_start);
            self.tx_start = 0;
        }
    }

    /// Take all pending output at once (convenient for tests and for
    /// callers that write whole buffers).
    pub fn take_output(&mut self) -> Vec<u8> {
        let out = self.tx.split_off(self.tx_start);
        self.tx.clear();
        self.tx_start = 0;
        out
    }

    // ------------------------------------------------------------------
    // timers
    // ------------------------------------------------------------------

    /// When [`Connection::on_timeout`] must next be called; `None` after failure.
    #[must_use]
    pub fn next_timeout(&self) -> Option<Instant> {
        self.failed.is_none().then(|| self.live.next_timeout())
    }

    /// Run the timers: may queue a HEARTBEAT, or fail the connection with
    /// `HeartbeatsMissed` / `AckTimeout`. Harmless to call early.
    pub fn on_timeout(&mut self, now: Instant) -> Result<(), ShimError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.live.on_timeout(now) {
            Ok(Due::Nothing) => Ok(()),
            Ok(Due::SendHeartbeat(counter)) => {
                chunk::encode_heartbeat(&mut self.tx, false, &counter.to_be_bytes());
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// Chunk header length, re-exported for size computations by upper layers.
pub const CHUNK_HEADER_LEN: usize = HEADER_LEN;

#[cfg(test)]
mod tests;
