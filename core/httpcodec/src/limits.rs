//! Per-connection limits and timeouts.

use std::time::Duration;

/// Limits enforced by [`crate::ServerConn`]. Every limit is checked while bytes arrive, so a
/// peer can never make the codec buffer more than one over-limit line or declared body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line in bytes, CRLF excluded. Longer: 414 when the target is what
    /// overflows, 400 otherwise.
    pub max_request_line: usize,
    /// Total bytes of all header lines (CRLFs included, request line excluded). Longer: 431.
    pub max_header_bytes: usize,
    /// Most header fields in one request. More: 431.
    pub max_headers: usize,
    /// Largest accepted body. A larger `Content-Length` is refused with 413 as soon as the
    /// head is parsed, before any body byte is buffered.
    pub max_body: u64,
    /// Requests handed to the host whose responses have not been written out yet. While this
    /// many are outstanding the codec stops yielding (and parsing) further requests.
    pub max_in_flight: usize,
    /// Time a request may take from its first byte to its last (slowloris guard): 408.
    pub request_timeout: Duration,
    /// Time a keep-alive connection may sit with nothing in progress before it is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    /// Defaults sized for mail-store notifications: Dovecot's ox bodies are well under
    /// 4 KiB (its snippet is ~200 characters) and it gives up after 2 s.
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_body: 256 * 1024,
            max_in_flight: 16,
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}
