//! Error types of the shim.
//!
//! [`ShimError`] is everything that ends a connection: a peer that broke the
//! wire format or the chunk sequencing rules, a dead peer, a truncated stream.
//! All of them are fatal (the draft has no ERROR or ABORT chunk, so there is no
//! way to tell the peer and carry on); the caller closes the TCP connection and
//! retrieves the un-acked DATA with [`crate::Connection::into_unacked`].
//!
//! [`SendError`] and [`AckError`] report local misuse or a full buffer; they
//! leave the connection usable.

use std::time::Duration;

/// A fatal connection error. Every variant has a stable [`ShimError::code`],
/// used by logs, metrics and the malformed-input corpus index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShimError {
    /// Chunk type 2 or 6..=255 (reserved by the draft).
    #[error("reserved chunk type {chunk_type}")]
    ReservedChunkType { chunk_type: u8 },
    /// Chunk Length below the 4-byte header.
    #[error("chunk type {chunk_type}: length {length} is below the 4-byte header")]
    LengthTooSmall { chunk_type: u8, length: u16 },
    /// Chunk Length above the configured limit.
    #[error("chunk type {chunk_type}: length {length} exceeds the limit of {max} bytes")]
    ChunkTooLarge {
        chunk_type: u8,
        length: u16,
        max: u16,
    },
    /// INIT whose Length is not exactly 4.
    #[error("INIT length {length}, must be 4")]
    BadInitLength { length: u16 },
    /// The first chunk from the peer was not INIT.
    #[error("chunk type {chunk_type} before the peer's INIT")]
    MissingInit { chunk_type: u8 },
    /// A second INIT on the same connection.
    #[error("second INIT on one connection")]
    DuplicateInit,
    /// DATA shorter than its header under the peer's INIT flags.
    #[error("DATA length {length} is shorter than its {header_len}-byte header")]
    DataTooShort { length: u16, header_len: u16 },
    /// DATA without user data.
    #[error("DATA chunk without user data")]
    EmptyData,
    /// DATA whose TSN is not the next one in sequence.
    #[error("DATA TSN {got}, expected {expected}")]
    TsnMismatch { expected: u32, got: u32 },
    /// Ordered DATA whose stream sequence number is not the next one on its stream.
    #[error("stream {stream}: sequence number {got}, expected {expected}")]
    SsnMismatch {
        stream: u16,
        expected: u16,
        got: u16,
    },
    /// ACK whose Length is neither 4 nor 8.
    #[error("ACK length {length}, must be 4 or 8")]
    BadAckLength { length: u16 },
    /// ACK while no DATA of ours is waiting for one.
    #[error("ACK for TSN {tsn:?} but no DATA is outstanding")]
    UnexpectedAck { tsn: Option<u32> },
    /// ACK for a TSN outside the outstanding window (already acked or never sent).
    #[error("ACK for TSN {tsn}, outstanding window is {oldest}..={newest}")]
    AckOutOfWindow { tsn: u32, oldest: u32, newest: u32 },
    /// HEARTBEAT or HEARTBEAT-ACK too short to hold the Heartbeat Info TLV header.
    #[error("chunk type {chunk_type}: length {length} cannot hold a Heartbeat Info TLV")]
    HeartbeatTooShort { chunk_type: u8, length: u16 },
    /// Heartbeat Info TLV with a type other than 1.
    #[error("Heartbeat Info TLV type {tlv_type}, must be 1")]
    HeartbeatInfoType { tlv_type: u16 },
    /// Heartbeat Info TLV length does not fill the chunk exactly.
    #[error("Heartbeat Info TLV length {tlv_length}, chunk carries {expected}")]
    HeartbeatInfoLength { tlv_length: u16, expected: u16 },
    /// Heartbeat Info larger than we are willing to echo.
    #[error("Heartbeat Info of {length} bytes exceeds the limit of {max}")]
    HeartbeatInfoTooLarge { length: usize, max: usize },
    /// HEARTBEAT-ACK that does not echo any HEARTBEAT we sent.
    #[error("HEARTBEAT-ACK does not echo a HEARTBEAT we sent")]
    HeartbeatAckMismatch,
    /// The peer closed the TCP connection in the middle of a chunk.
    #[error("connection closed inside a chunk ({buffered} bytes of it received)")]
    TruncatedAtEof { buffered: usize },
    /// Nothing received while `missed` HEARTBEATs went unanswered.
    #[error("peer dead: {missed} heartbeats unanswered")]
    HeartbeatsMissed { missed: u32 },
    /// DATA outstanding and no ACK progress for too long.
    #[error("peer stuck: no ACK for outstanding DATA in {waited:?}")]
    AckTimeout { waited: Duration },
    /// Our output grew past the hard limit: the peer keeps sending but does not read.
    #[error("peer is not reading: {pending} bytes of output queued, hard limit {limit}")]
    PeerNotReading { pending: usize, limit: usize },
}

impl ShimError {
    /// Stable machine-readable name of the error (kebab-case).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::ReservedChunkType { .. } => "reserved-chunk-type",
            Self::LengthTooSmall { .. } => "length-too-small",
            Self::ChunkTooLarge { .. } => "chunk-too-large",
            Self::BadInitLength { .. } => "bad-init-length",
            Self::MissingInit { .. } => "missing-init",
            Self::DuplicateInit => "duplicate-init",
            Self::DataTooShort { .. } => "data-too-short",
            Self::EmptyData => "empty-data",
            Self::TsnMismatch { .. } => "tsn-mismatch",
            Self::SsnMismatch { .. } => "ssn-mismatch",
            Self::BadAckLength { .. } => "bad-ack-length",
            Self::UnexpectedAck { .. } => "unexpected-ack",
            Self::AckOutOfWindow { .. } => "ack-out-of-window",
            Self::HeartbeatTooShort { .. } => "heartbeat-too-short",
            Self::HeartbeatInfoType { .. } => "heartbeat-info-type",
            Self::HeartbeatInfoLength { .. } => "heartbeat-info-length",
            Self::HeartbeatInfoTooLarge { .. } => "heartbeat-info-too-large",
            Self::HeartbeatAckMismatch => "heartbeat-ack-mismatch",
            Self::TruncatedAtEof { .. } => "truncated-at-eof",
            Self::HeartbeatsMissed { .. } => "heartbeats-missed",
            Self::AckTimeout { .. } => "ack-timeout",
            Self::PeerNotReading { .. } => "peer-not-reading",
        }
    }

    /// True for the liveness failures (the peer may simply be gone), false for
    /// wire-format and sequencing violations (the peer is broken or hostile).
    #[must_use]
    pub fn is_liveness(&self) -> bool {
        matches!(
            self,
            Self::HeartbeatsMissed { .. }
                | Self::AckTimeout { .. }
                | Self::PeerNotReading { .. }
                | Self::TruncatedAtEof { .. }
        )
    }
}

/// Why a DATA chunk could not be queued. The connection stays usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The bounded output buffer is full; drain it (write to the socket) and retry.
    #[error("output buffer full: {pending} bytes pending, limit {limit}")]
    Full { pending: usize, limit: usize },
    /// The payload does not fit one chunk (the draft has no fragmentation).
    #[error("payload of {len} bytes exceeds the per-chunk maximum of {max}")]
    TooLarge { len: usize, max: usize },
    /// DATA must carry at least one byte of user data.
    #[error("empty payload")]
    Empty,
    /// Our INIT suppressed the stream or PPID field, so it must be 0.
    #[error("{field} suppressed by our INIT flags but a non-zero value was given")]
    FieldSuppressed { field: &'static str },
    /// The connection has failed; nothing more can be sent.
    #[error("connection failed")]
    Failed,
}

/// Why [`crate::Connection::ack`] refused a TSN. The connection stays usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// That TSN has not been delivered (yet) or was already acknowledged.
    #[error("TSN {tsn} is not awaiting an ACK (next to ack: {next:?})")]
    NotPending { tsn: u32, next: Option<u32> },
    /// The connection has failed.
    #[error("connection failed")]
    Failed,
}
