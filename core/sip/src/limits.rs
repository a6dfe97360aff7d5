//! Resource bounds applied while parsing. Every parser in this crate works on
//! attacker-controlled bytes, so each loop is bounded by one of these numbers.

/// Bounds for the SIP message parsers ([`crate::parse_datagram`],
/// [`crate::StreamDecoder`], [`crate::recover_request`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole message (start line + headers + body) accepted, in
    /// bytes. Larger datagrams, or stream messages whose Content-Length would
    /// exceed it, are answered 513 when the headers can be recovered.
    pub max_message_size: usize,
    /// Largest number of header fields (after unfolding) in one message.
    pub max_headers: usize,
    /// Longest single header field (name, colon and value, after unfolding)
    /// or start line, in bytes.
    pub max_header_line: usize,
    /// Bounds for the `simple-message-summary` body parser.
    pub summary: SummaryLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // 64 KiB: the largest UDP payload is 65 507 bytes, so a datagram
            // can never legitimately exceed this; TCP peers get the same cap.
            max_message_size: 64 * 1024,
            // Real MWI NOTIFYs carry 10-15 headers; 128 leaves room for proxies
            // adding Via/Record-Route while bounding the per-message Vec.
            max_headers: 128,
            max_header_line: 8 * 1024,
            summary: SummaryLimits::default(),
        }
    }
}

/// Bounds for [`crate::MessageSummary::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryLimits {
    /// Distinct message-context-class lines kept (duplicates are merged).
    pub max_classes: usize,
    /// Optional RFC 2822-style message headers kept after the blank line.
    pub max_message_headers: usize,
    /// Longest body line after unfolding, in bytes.
    pub max_line: usize,
}

impl Default for SummaryLimits {
    fn default() -> Self {
        SummaryLimits {
            max_classes: 32,
            max_message_headers: 64,
            max_line: 1024,
        }
    }
}
