//! Resource limits. The draft sets none; every number here is our decision
//! (see docs/imtp.md, "Limits") and every one is configurable.

/// Bounds applied to everything read from (and queued for) a peer.
///
/// The decoder's input buffer never holds more than
/// [`Limits::max_message_bytes`] octets, so a connection costs at most that
/// much memory for input however the peer behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest physical line (start line or one header line), CRLF excluded.
    pub max_line_len: usize,
    /// Most header lines in one command or response (continuation lines
    /// are counted with the header they continue).
    pub max_headers: usize,
    /// Most octets from the first octet of the start line to the end of the
    /// blank line that closes the headers.
    pub max_header_bytes: usize,
    /// Largest `Content-Length` accepted. Checked when the headers end,
    /// before a single payload octet is buffered.
    pub max_payload: usize,
    /// Longest command id.
    pub max_id_len: usize,
    /// Most commands in flight per direction: unanswered commands we sent,
    /// and commands the peer sent that the host has not answered yet.
    pub max_outstanding: usize,
    /// Output size above which `send_command` refuses new commands
    /// (backpressure: the host should stop producing until it drained).
    pub output_soft_limit: usize,
    /// Output size above which even responses are refused; reaching it with
    /// protocol-generated error responses is fatal (a peer that floods us
    /// without reading).
    pub output_hard_limit: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: 8 * 1024,
            max_headers: 64,
            max_header_bytes: 32 * 1024,
            max_payload: 256 * 1024,
            max_id_len: 32,
            max_outstanding: 1024,
            output_soft_limit: 1024 * 1024,
            output_hard_limit: 4 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// Upper bound of one complete message (headers plus payload), which is
    /// also the decoder's input buffer capacity.
    pub fn max_message_bytes(&self) -> usize {
        self.max_header_bytes.saturating_add(self.max_payload)
    }
}
