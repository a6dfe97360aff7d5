//! TCP/TLS framing: a byte-stream decoder returning complete messages
//! (RFC 3261 §18.3: Content-Length is mandatory on stream transports).

use crate::datagram::parse_framed;
use crate::head::{Mode, content_length, find_head_end, parse_head};
use crate::{Limits, ParseError, SipMessage};

/// A complete message cut from a stream. Owns its bytes; [`Frame::parse`]
/// gives the borrowing view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    bytes: Vec<u8>,
}

impl Frame {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Parses the frame. The decoder already validated the head with the
    /// same limits, so this fails only if `limits` are tighter than the
    /// decoder's.
    pub fn parse<'a>(&'a self, limits: &Limits) -> Result<SipMessage<'a>, ParseError> {
        parse_framed(&self.bytes, limits)
    }
}

/// A framing failure. A stream cannot be resynchronised after one: answer
/// (when `head` lets [`crate::recover_request`] find the request headers)
/// and close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct StreamError {
    pub error: ParseError,
    /// The header section of the offending message, when it was complete.
    pub head: Option<Vec<u8>>,
}

/// The result of one [`StreamDecoder::feed`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    /// Complete messages, in stream order.
    pub frames: Vec<Frame>,
    /// The framing error that stopped the stream, after `frames`.
    pub error: Option<StreamError>,
}

fn head_too_large(limits: &Limits) -> StreamError {
    StreamError {
        error: ParseError::HeadTooLarge {
            limit: limits.max_message_size,
        },
        head: None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between messages: CR/LF keepalives are skipped here.
    Idle,
    /// Collecting the header section; the first `scanned` bytes of the
    /// message are known not to contain the empty line.
    Head { scanned: usize },
    /// Head parsed; the whole message is `total` bytes long.
    Body { total: usize },
}

/// Incremental decoder for one connection.
///
/// Memory is bounded: between calls it keeps at most one incomplete message
/// of at most `limits.max_message_size` bytes; during a call, additionally
/// the bytes passed to that call.
#[derive(Debug, Clone)]
pub struct StreamDecoder {
    limits: Limits,
    buf: Vec<u8>,
    state: State,
    /// Progress through "\r\n\r\n" while idle (RFC 5626 §3.5.1 ping).
    ping_progress: u8,
    pings: u64,
    failed: Option<StreamError>,
}

impl StreamDecoder {
    pub fn new(limits: Limits) -> StreamDecoder {
        StreamDecoder {
            limits,
            buf: Vec::new(),
            state: State::Idle,
            ping_progress: 0,
            pings: 0,
            failed: None,
        }
    }

    /// Number of double-CRLF keepalive pings seen between messages. RFC 5626
    /// peers expect a single CRLF "pong" for each; PBXes usually do not.
    pub fn keepalives(&self) -> u64 {
        self.pings
    }

    /// Bytes held for an incomplete message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds bytes read from the connection. Returns every message they
    /// complete, in order, and the framing error that stopped decoding, if
    /// any. Once an error is reported, every later call reports it again
    /// (with no frames): answer if possible, then close the connection.
    pub fn feed(&mut self, data: &[u8]) -> Decoded {
        if let Some(e) = &self.failed {
            return Decoded {
                frames: Vec::new(),
                error: Some(e.clone()),
            };
        }
        self.buf.extend_from_slice(data);
        let mut frames = Vec::new();
        let mut pos = 0;
        let error = loop {
            let msg = &self.buf[pos..];
            match self.state {
                State::Idle => {
                    pos += self.skip_keepalive(pos);
                    if pos == self.buf.len() {
                        break None;
                    }
                    self.state = State::Head { scanned: 0 };
                }
                State::Head { scanned } => {
                    // Resume two bytes back: the empty line may straddle the
                    // previous and the new data.
                    match find_head_end(msg, scanned.saturating_sub(2)) {
                        Some((head_end, body_start)) => {
                            match self.parse_head(pos, head_end, body_start) {
                                Ok(total) => self.state = State::Body { total },
                                Err(e) => break Some(e),
                            }
                        }
                        // Without the empty line in `msg`, the head alone is
                        // longer than `msg`: past the limit it can only grow.
                        None if msg.len() > self.limits.max_message_size => {
                            break Some(head_too_large(&self.limits));
                        }
                        None => {
                            self.state = State::Head { scanned: msg.len() };
                            break None;
                        }
                    }
                }
                State::Body { total } => {
                    let Some(bytes) = msg.get(..total) else {
                        break None;
                    };
                    frames.push(Frame {
                        bytes: bytes.to_vec(),
                    });
                    pos += total;
                    self.state = State::Idle;
                }
            }
        };
        match &error {
            None => {
                self.buf.drain(..pos);
            }
            Some(e) => {
                self.buf = Vec::new();
                self.failed = Some(e.clone());
            }
        }
        Decoded { frames, error }
    }

    /// Parses the head of the message starting at `pos` and returns the
    /// message's total length.
    fn parse_head(
        &self,
        pos: usize,
        head_end: usize,
        body_start: usize,
    ) -> Result<usize, StreamError> {
        let limits = &self.limits;
        if body_start > limits.max_message_size {
            // Decided on the head's length alone, so the outcome does not
            // depend on how the bytes were split into reads.
            return Err(head_too_large(limits));
        }
        let head_bytes = &self.buf[pos..pos + head_end];
        let parsed = parse_head(head_bytes, limits, Mode::Strict).and_then(|head| {
            let declared =
                content_length(&head.headers)?.ok_or(ParseError::MissingContentLength)?;
            let total = body_start.saturating_add(declared);
            if total > limits.max_message_size {
                return Err(ParseError::TooLarge {
                    size: total,
                    limit: limits.max_message_size,
                });
            }
            Ok(total)
        });
        parsed.map_err(|error| StreamError {
            error,
            head: Some(head_bytes.to_vec()),
        })
    }

    /// Skips CR/LF at `pos`, counting double-CRLF pings; returns the count
    /// of bytes skipped.
    fn skip_keepalive(&mut self, pos: usize) -> usize {
        const PING: &[u8; 4] = b"\r\n\r\n";
        let mut n = 0;
        for &b in &self.buf[pos..] {
            if b != b'\r' && b != b'\n' {
                self.ping_progress = 0;
                break;
            }
            n += 1;
            let expected = PING[usize::from(self.ping_progress)];
            self.ping_progress = if b == expected {
                self.ping_progress + 1
            } else if b == b'\r' {
                1
            } else {
                0
            };
            if usize::from(self.ping_progress) == PING.len() {
                self.pings += 1;
                self.ping_progress = 0;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"NOTIFY sip:a@b SIP/2.0\r\nContent-Length: 4\r\n\r\nabcd";

    #[test]
    fn two_messages_and_keepalives_in_one_feed() {
        let mut d = StreamDecoder::new(Limits::default());
        let mut data = b"\r\n\r\n".to_vec();
        data.extend_from_slice(MSG);
        data.extend_from_slice(b"\r\n\r\n");
        data.extend_from_slice(MSG);
        let out = d.feed(&data);
        assert_eq!((out.frames.len(), out.error), (2, None));
        assert_eq!(d.keepalives(), 2);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn missing_content_length_is_fatal() {
        let mut d = StreamDecoder::new(Limits::default());
        let mut data = MSG.to_vec();
        data.extend_from_slice(b"NOTIFY sip:a@b SIP/2.0\r\nX: y\r\n\r\n");
        let out = d.feed(&data);
        assert_eq!(out.frames.len(), 1);
        assert!(matches!(
            out.error,
            Some(StreamError {
                error: ParseError::MissingContentLength,
                head: Some(_)
            })
        ));
        let again = d.feed(MSG);
        assert!(again.frames.is_empty() && again.error.is_some());
    }

    #[test]
    fn oversized_head_is_rejected_without_waiting() {
        let limits = Limits {
            max_message_size: 100,
            ..Limits::default()
        };
        let mut d = StreamDecoder::new(limits);
        assert_eq!(d.feed(&[b'A'; 60]), Decoded::default());
        assert!(matches!(
            d.feed(&[b'A'; 60]).error,
            Some(StreamError {
                error: ParseError::HeadTooLarge { limit: 100 },
                head: None
            })
        ));
    }
}
