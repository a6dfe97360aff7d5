//! One message per UDP datagram (RFC 3261 §18.3).

use crate::head::{Mode, content_length, find_head_end, parse_head, skip_crlf};
use crate::{Limits, ParseError, SipMessage};

/// Parses one datagram. The result borrows from `buf`; nothing is copied
/// unless a header was folded.
///
/// * Content-Length absent: the body is the rest of the datagram.
/// * Body shorter than Content-Length: [`ParseError::BodyTooShort`] (400).
/// * Datagram longer than the message: the surplus is discarded (§18.3).
/// * Only CR/LF: [`ParseError::Keepalive`], to be ignored silently.
pub fn parse_datagram<'a>(buf: &'a [u8], limits: &Limits) -> Result<SipMessage<'a>, ParseError> {
    if buf.len() > limits.max_message_size {
        return Err(ParseError::TooLarge {
            size: buf.len(),
            limit: limits.max_message_size,
        });
    }
    let msg = buf.get(skip_crlf(buf)..).unwrap_or_default();
    if msg.is_empty() {
        return Err(ParseError::Keepalive);
    }
    let (head_end, body_start) = find_head_end(msg, 0).ok_or(ParseError::UnterminatedHead)?;
    let head = parse_head(&msg[..head_end], limits, Mode::Strict)?;
    let rest = msg.get(body_start..).unwrap_or_default();
    let body = match content_length(&head.headers)? {
        None => rest,
        Some(declared) => rest.get(..declared).ok_or(ParseError::BodyTooShort {
            declared,
            available: rest.len(),
        })?,
    };
    Ok(SipMessage {
        start: head.start,
        headers: head.headers,
        body,
    })
}

/// Parses a complete message whose framing is already known (a
/// [`crate::Frame`] from the stream decoder): Content-Length is mandatory and
/// must match the body exactly.
pub(crate) fn parse_framed<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<SipMessage<'a>, ParseError> {
    let msg = buf.get(skip_crlf(buf)..).unwrap_or_default();
    let (head_end, body_start) = find_head_end(msg, 0).ok_or(ParseError::UnterminatedHead)?;
    let head = parse_head(&msg[..head_end], limits, Mode::Strict)?;
    let body = msg.get(body_start..).unwrap_or_default();
    let declared = content_length(&head.headers)?.ok_or(ParseError::MissingContentLength)?;
    if declared != body.len() {
        return Err(ParseError::BodyTooShort {
            declared,
            available: body.len(),
        });
    }
    Ok(SipMessage {
        start: head.start,
        headers: head.headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "NOTIFY sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n";

    fn parse(s: &str) -> Result<Vec<u8>, ParseError> {
        parse_datagram(s.as_bytes(), &Limits::default()).map(|m| m.body().to_vec())
    }

    #[test]
    fn content_length_rules() {
        // Absent: the rest of the datagram.
        assert_eq!(parse(&format!("{HEAD}\r\nabc")), Ok(b"abc".to_vec()));
        // Padded with spaces (sipp), surplus discarded.
        assert_eq!(
            parse(&format!("{HEAD}Content-Length:    2\r\n\r\nabc")),
            Ok(b"ab".to_vec())
        );
        assert_eq!(
            parse(&format!("{HEAD}l: 4\r\n\r\nabc")),
            Err(ParseError::BodyTooShort {
                declared: 4,
                available: 3
            })
        );
        assert_eq!(
            parse(&format!("{HEAD}l: 2\r\nContent-Length: 3\r\n\r\nabc")),
            Err(ParseError::ConflictingContentLength)
        );
        assert_eq!(
            parse(&format!("{HEAD}l: 3\r\nContent-Length: 3\r\n\r\nabc")),
            Ok(b"abc".to_vec())
        );
        assert_eq!(
            parse(&format!("{HEAD}l: -1\r\n\r\n")),
            Err(ParseError::BadContentLength)
        );
        assert_eq!(
            parse(&format!("{HEAD}l: 99999999999999999999999\r\n\r\n")),
            Err(ParseError::BadContentLength)
        );
        // Leading blank lines are skipped; a missing empty line is an error.
        assert_eq!(parse(&format!("\r\n\r\n{HEAD}\r\n")), Ok(Vec::new()));
        assert_eq!(parse(HEAD), Err(ParseError::UnterminatedHead));
        assert_eq!(parse("\r\n\n\r\n"), Err(ParseError::Keepalive));
        assert_eq!(parse(""), Err(ParseError::Keepalive));
    }

    #[test]
    fn limits() {
        let limits = Limits {
            max_message_size: 100,
            max_headers: 2,
            max_header_line: 40,
            ..Limits::default()
        };
        let p = |s: String| parse_datagram(s.as_bytes(), &limits).map(|_| ());
        assert_eq!(
            p(format!("{HEAD}{}", "x".repeat(100))),
            Err(ParseError::TooLarge {
                size: HEAD.len() + 100,
                limit: 100
            })
        );
        assert_eq!(
            p(format!("{HEAD}A: 1\r\nB: 2\r\n\r\n")),
            Err(ParseError::TooManyHeaders { limit: 2 })
        );
        assert_eq!(
            p(format!(
                "NOTIFY sip:a@b SIP/2.0\r\nX: {}\r\n\r\n",
                "y".repeat(40)
            )),
            Err(ParseError::HeaderLineTooLong { line: 2, limit: 40 })
        );
        // Folding cannot sneak past the line limit.
        assert_eq!(
            p(format!(
                "NOTIFY sip:a@b SIP/2.0\r\nX: {0}\r\n {0}\r\n\r\n",
                "y".repeat(20)
            )),
            Err(ParseError::HeaderLineTooLong { line: 3, limit: 40 })
        );
    }
}
