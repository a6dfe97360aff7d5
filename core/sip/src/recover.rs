//! Salvaging a defective request far enough to answer it.

use crate::head::{Mode, find_head_end, parse_head, skip_crlf};
use crate::{DropReason, Limits, SipMessage};

/// Re-reads bytes that [`crate::parse_datagram`] (or the stream decoder)
/// rejected, skipping every header line that does not parse, so that an
/// error response can still be addressed with [`crate::EchoHeaders`].
///
/// Only the first `limits.max_message_size` bytes are looked at; the
/// returned message has an empty body. Fails when the start line is not a
/// request line.
pub fn recover_request<'a>(buf: &'a [u8], limits: &Limits) -> Result<SipMessage<'a>, DropReason> {
    let buf = &buf[..buf.len().min(limits.max_message_size)];
    let msg = &buf[skip_crlf(buf)..];
    if msg.is_empty() {
        return Err(DropReason::Keepalive);
    }
    let head = match find_head_end(msg, 0) {
        Some((head_end, _)) => &msg[..head_end],
        // Truncated: use every complete line.
        None => match msg.iter().rposition(|&b| b == b'\n') {
            Some(last) => &msg[..=last],
            None => msg,
        },
    };
    let head = parse_head(head, limits, Mode::Lenient).map_err(|_| DropReason::NotARequest)?;
    let msg = SipMessage {
        start: head.start,
        headers: head.headers,
        body: &[],
    };
    if !msg.is_request() {
        return Err(DropReason::NotARequest);
    }
    Ok(msg)
}
