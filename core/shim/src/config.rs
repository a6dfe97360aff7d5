//! Connection limits and timers. Every default is explained in `docs/shim.md`.

use std::time::Duration;

use crate::chunk::{InitFlags, MAX_CHUNK_LEN, padded_len};

/// Per-connection settings. `Config::default()` is what the S2S pipeline uses
/// between an event source and the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Flags of the INIT we send: which DATA header words we omit.
    pub init_flags: InitFlags,
    /// Largest chunk (header + value, no padding) accepted from the peer and
    /// sent by us. At most 65535: the Length field is 16 bits and the draft has
    /// no fragmentation, so this also bounds one message.
    pub max_chunk_len: u16,
    /// Size of the receive buffer. Raised to hold at least one maximal chunk.
    /// When it is full the caller stops reading the socket: TCP flow control
    /// then pushes back on the peer.
    pub recv_buffer: usize,
    /// Soft bound on queued, unsent output for [`crate::Connection::send_data`].
    pub send_buffer: usize,
    /// Hard bound on queued output of any kind (ACKs, HEARTBEAT-ACKs and
    /// unbounded DATA included). Passing it means the peer writes but does not
    /// read; the connection fails with `PeerNotReading`.
    pub max_output: usize,
    /// Send a HEARTBEAT after this long without receiving anything.
    pub heartbeat_interval: Duration,
    /// Declare the peer dead when this many HEARTBEATs in a row got no answer
    /// (and nothing else arrived either).
    pub max_missed_heartbeats: u32,
    /// Declare the peer stuck when DATA of ours has been outstanding this long
    /// without any ACK progress. `None` disables the check.
    pub ack_timeout: Option<Duration>,
    /// Largest Heartbeat Info we echo. Ours is 8 bytes.
    pub max_heartbeat_info: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            init_flags: InitFlags::NONE,
            max_chunk_len: MAX_CHUNK_LEN,
            recv_buffer: 256 * 1024,
            send_buffer: 1024 * 1024,
            max_output: 16 * 1024 * 1024,
            heartbeat_interval: Duration::from_secs(5),
            max_missed_heartbeats: 3,
            ack_timeout: Some(Duration::from_secs(30)),
            max_heartbeat_info: 512,
        }
    }
}

impl Config {
    /// The values a connection actually runs with: buffers raised to hold one
    /// maximal chunk, zero counts raised to one, the chunk limit raised to the
    /// smallest useful chunk.
    #[must_use]
    pub fn normalized(mut self) -> Self {
        self.max_chunk_len = self.max_chunk_len.max(64);
        let one_chunk = padded_len(usize::from(self.max_chunk_len));
        self.recv_buffer = self.recv_buffer.max(one_chunk);
        self.send_buffer = self.send_buffer.max(one_chunk);
        self.max_output = self.max_output.max(self.send_buffer * 2);
        self.max_missed_heartbeats = self.max_missed_heartbeats.max(1);
        if self.heartbeat_interval.is_zero() {
            self.heartbeat_interval = Duration::from_millis(1);
        }
        self
    }

    /// Largest payload one DATA chunk of ours can carry.
    #[must_use]
    pub fn max_payload(&self) -> usize {
        usize::from(self.max_chunk_len).saturating_sub(self.init_flags.data_header_len())
    }
}
