//! Incremental, bounded decoder for the message syntax of section 10.
//!
//! Sans-IO: the host hands in octets with [`Decoder::feed`] (which accepts
//! only as many as fit in the bounded buffer) and pulls messages out with
//! [`Decoder::decode`]. Searching for line ends resumes where the previous
//! call stopped, so a peer trickling one octet at a time costs O(n) work,
//! not O(n²).

use crate::error::{DecodeError, FramingError, MessageError};
use crate::frame::{CommandFrame, Frame, ResponseFrame, StartLine, Status};
use crate::header::{Headers, names};
use crate::id::Id;
use crate::limits::Limits;
use crate::mech::MechName;
use crate::method::Method;
use crate::syntax::{is_alnum, is_header_name_byte, is_valid_header_value, is_wsp, trim_wsp};

/// What [`Decoder::decode`] produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    Frame(Frame),
    /// Framed correctly but unacceptable; the stream is still in sync.
    Rejected {
        start: StartLine,
        error: MessageError,
    },
}

/// Buffers larger than this are given back once the decoder is idle, so
/// thousands of quiet connections do not each pin a peak-sized buffer.
const IDLE_CAPACITY: usize = 8 * 1024;

#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    buf: Vec<u8>,
    /// Offset in `buf` of the first octet of the message being decoded.
    start: usize,
    state: State,
    failed: bool,
}

#[derive(Debug)]
enum State {
    /// Waiting for a start line; `scan` is where the LF search resumes
    /// (relative to `start`).
    StartLine {
        scan: usize,
    },
    Headers(Box<Partial>),
    Payload(Box<Partial>, usize),
}

#[derive(Debug)]
struct Partial {
    start: StartLine,
    headers: Headers,
    /// Offset (relative to the message start) of the next unread line, or
    /// of the payload once the headers are done.
    line_pos: usize,
    scan: usize,
    header_lines: usize,
    /// Whether a continuation line may extend the last stored header (not
    /// after a line we could not store).
    can_continue: bool,
    error: Option<MessageError>,
}

impl Partial {
    fn reject(&mut self, e: MessageError) {
        // The first problem is the one reported.
        self.error.get_or_insert(e);
    }
}

enum Start {
    Mech(Vec<MechName>),
    Nop,
    Message(StartLine),
}

impl Decoder {
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            buf: Vec::new(),
            start: 0,
            state: State::StartLine { scan: 0 },
            failed: false,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Copies as much of `data` as the bounded buffer can take and returns
    /// how many octets were taken. The caller offers the rest again after
    /// calling [`Decoder::decode`] until it returns `Ok(None)`.
    pub fn feed(&mut self, data: &[u8]) -> usize {
        if self.start > 0 {
            // Only the unfinished tail of the stream moves.
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let cap = self.limits.max_message_bytes();
        let n = data.len().min(cap.saturating_sub(self.buf.len()));
        if n == 0 {
            return 0;
        }
        let need = self.buf.len() + n;
        if self.buf.capacity() < need {
            // Grow geometrically but never past the cap.
            let want = need.max(self.buf.capacity().saturating_mul(2)).min(cap);
            self.buf.reserve_exact(want - self.buf.len());
        }
        self.buf.extend_from_slice(&data[..n]);
        n
    }

    /// Octets of an unfinished message are buffered.
    pub fn has_partial(&self) -> bool {
        self.buf.len() > self.start
    }

    /// Octets currently held (for tests and metrics).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Next complete message, `Ok(None)` if more input is needed. After an
    /// `Err` the decoder is poisoned: the stream cannot be resynchronised.
    pub fn decode(&mut self) -> Result<Option<Decoded>, DecodeError> {
        if self.failed {
            return Err(DecodeError {
                kind: FramingError::Poisoned,
                start: None,
            });
        }
        let r = self.step();
        match &r {
            Err(_) => {
                self.failed = true;
                self.buf = Vec::new();
                self.start = 0;
            }
            Ok(None) if self.buf.len() == self.start && self.buf.capacity() > IDLE_CAPACITY => {
                self.buf.clear();
                self.start = 0;
                self.buf.shrink_to(IDLE_CAPACITY);
            }
            Ok(_) => {}
        }
        r
    }

    fn step(&mut self) -> Result<Option<Decoded>, DecodeError> {
        loop {
            let state = std::mem::replace(&mut self.state, State::StartLine { scan: 0 });
            match state {
                State::StartLine { mut scan } => {
                    let avail = &self.buf[self.start..];
                    // The first octet decides; fail fast (e.g. a TLS
                    // ClientHello on a plaintext port has no LF to wait for).
                    let first_octet_error = match avail.first() {
                        None | Some(b'=' | b'>' | b'<') => None,
                        Some(b'\r') => Some(FramingError::EmptyStartLine),
                        Some(b'\n') => Some(FramingError::BareLf),
                        Some(&b) => Some(FramingError::UnknownMessageType(b)),
                    };
                    if let Some(kind) = first_octet_error {
                        return Err(DecodeError { kind, start: None });
                    }
                    let found = find_line(avail, 0, &mut scan, self.limits.max_line_len)
                        .map_err(|kind| DecodeError { kind, start: None })?;
                    let Some((end, next)) = found else {
                        self.state = State::StartLine { scan };
                        return Ok(None);
                    };
                    let parsed = parse_start(&avail[..end], &self.limits)
                        .map_err(|kind| DecodeError { kind, start: None })?;
                    match parsed {
                        Start::Mech(m) => {
                            self.start += next;
                            return Ok(Some(Decoded::Frame(Frame::Mech(m))));
                        }
                        Start::Nop => {
                            self.start += next;
                            return Ok(Some(Decoded::Frame(Frame::Nop)));
                        }
                        Start::Message(start) => {
                            if next > self.limits.max_header_bytes {
                                return Err(DecodeError {
                                    kind: FramingError::HeadersTooLarge {
                                        limit: self.limits.max_header_bytes,
                                    },
                                    start: Some(start),
                                });
                            }
                            self.state = State::Headers(Box::new(Partial {
                                start,
                                headers: Headers::new(),
                                line_pos: next,
                                scan: next,
                                header_lines: 0,
                                can_continue: false,
                                error: None,
                            }));
                        }
                    }
                }
                State::Headers(mut p) => match self.header_line(&mut p) {
                    Err(kind) => {
                        return Err(DecodeError {
                            kind,
                            start: Some(p.start),
                        });
                    }
                    Ok(HeaderStep::NeedMore) => {
                        self.state = State::Headers(p);
                        return Ok(None);
                    }
                    Ok(HeaderStep::Line) => self.state = State::Headers(p),
                    Ok(HeaderStep::End(None)) => return Ok(Some(self.complete(*p, None))),
                    Ok(HeaderStep::End(Some(len))) => self.state = State::Payload(p, len),
                },
                State::Payload(p, len) => {
                    let avail = &self.buf[self.start..];
                    if avail.len() - p.line_pos < len {
                        self.state = State::Payload(p, len);
                        return Ok(None);
                    }
                    let payload = avail[p.line_pos..p.line_pos + len].to_vec();
                    return Ok(Some(self.complete(*p, Some(payload))));
                }
            }
        }
    }

    fn header_line(&mut self, p: &mut Partial) -> Result<HeaderStep, FramingError> {
        let limits = &self.limits;
        let avail = &self.buf[self.start..];
        let too_large = FramingError::HeadersTooLarge {
            limit: limits.max_header_bytes,
        };
        let Some((end, next)) = find_line(avail, p.line_pos, &mut p.scan, limits.max_line_len)?
        else {
            // Reject an oversized header section before its end arrives.
            if avail.len() > limits.max_header_bytes {
                return Err(too_large);
            }
            return Ok(HeaderStep::NeedMore);
        };
        if next > limits.max_header_bytes {
            return Err(too_large);
        }
        let line = &avail[p.line_pos..end];
        p.line_pos = next;
        if line.is_empty() {
            return end_of_headers(p, limits).map(HeaderStep::End);
        }
        if is_wsp(line[0]) {
            // Folding: the CRLF goes, the whitespace stays (RFC 822 unfolding).
            if !p.can_continue {
                if p.headers.is_empty() {
                    p.reject(MessageError::OrphanContinuation);
                }
                return Ok(HeaderStep::Line);
            }
            let text = header_text(line);
            if let Some(last) = p.headers.last_mut() {
                match text {
                    Ok(t) => last.value.push_str(t),
                    Err(lossy) => {
                        last.value.push_str(&lossy);
                        let name = last.name.clone();
                        p.reject(MessageError::BadHeaderValue { name });
                    }
                }
            }
            return Ok(HeaderStep::Line);
        }
        p.header_lines += 1;
        if p.header_lines > limits.max_headers {
            return Err(FramingError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            p.reject(MessageError::HeaderWithoutColon);
            p.can_continue = false;
            return Ok(HeaderStep::Line);
        };
        let name_bytes = &line[..colon];
        if name_bytes.is_empty() || !name_bytes.iter().all(|&b| is_header_name_byte(b)) {
            p.reject(MessageError::BadHeaderName);
            p.can_continue = false;
            return Ok(HeaderStep::Line);
        }
        // Name bytes are printable ASCII, hence valid UTF-8.
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let value = match header_text(&line[colon + 1..]) {
            Ok(t) => t.to_owned(),
            Err(lossy) => {
                p.reject(MessageError::BadHeaderValue { name: name.clone() });
                lossy
            }
        };
        p.headers.push(name, value);
        p.can_continue = true;
        Ok(HeaderStep::Line)
    }

    fn complete(&mut self, p: Partial, payload: Option<Vec<u8>>) -> Decoded {
        self.start += p.line_pos + payload.as_ref().map_or(0, Vec::len);
        let mut headers = p.headers;
        for h in headers.iter_mut() {
            let trimmed = trim_wsp(&h.value);
            if trimmed.len() != h.value.len() {
                h.value = trimmed.to_owned();
            }
        }
        if let Some(error) = p.error {
            return Decoded::Rejected {
                start: p.start,
                error,
            };
        }
        Decoded::Frame(match p.start {
            StartLine::Command { id, method } => Frame::Command(CommandFrame {
                id,
                method,
                headers,
                payload,
            }),
            StartLine::Response { id, status, method } => Frame::Response(ResponseFrame {
                id,
                status,
                method,
                headers,
                payload,
            }),
        })
    }
}

enum HeaderStep {
    NeedMore,
    Line,
    /// Headers done; `Some(n)`: an n-octet payload follows.
    End(Option<usize>),
}

/// A header value (or continuation) as text; `Err` carries a lossy copy
/// when it is not UTF-8 or holds control characters.
fn header_text(bytes: &[u8]) -> Result<&str, String> {
    match std::str::from_utf8(bytes) {
        Ok(s) if is_valid_header_value(s) => Ok(s),
        Ok(s) => Err(s.to_owned()),
        Err(_) => Err(String::from_utf8_lossy(bytes).into_owned()),
    }
}

fn end_of_headers(p: &mut Partial, limits: &Limits) -> Result<Option<usize>, FramingError> {
    let mut length: Option<u64> = None;
    for v in p.headers.all(names::CONTENT_LENGTH) {
        let v = trim_wsp(v);
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FramingError::BadContentLength);
        }
        let n: u64 = v.parse().map_err(|_| FramingError::BadContentLength)?;
        match length {
            Some(prev) if prev != n => return Err(FramingError::ConflictingContentLength),
            _ => length = Some(n),
        }
    }
    p.headers.retain(|h| h.name != names::CONTENT_LENGTH);
    if p.headers.contains(names::CONTENT_TRANSFER_ENCODING) {
        p.reject(MessageError::ContentTransferEncoding);
    }
    match length {
        None => Ok(None),
        Some(n) if n > limits.max_payload as u64 => Err(FramingError::PayloadTooLarge {
            declared: n,
            limit: limits.max_payload,
        }),
        // n <= max_payload, which is a usize.
        Some(n) => Ok(Some(n as usize)),
    }
}

/// Finds the line starting at `line_pos`. Returns the end of its content
/// (before CR) and the start of the next line, or `None` if the LF has not
/// arrived. `scan` remembers how far the search got.
fn find_line(
    buf: &[u8],
    line_pos: usize,
    scan: &mut usize,
    max_line: usize,
) -> Result<Option<(usize, usize)>, FramingError> {
    let from = (*scan).max(line_pos);
    match buf[from..].iter().position(|&b| b == b'\n') {
        None => {
            *scan = buf.len();
            // One extra octet may be the CR of a CRLF still in flight.
            if buf.len() - line_pos > max_line + 1 {
                return Err(FramingError::LineTooLong { limit: max_line });
            }
            Ok(None)
        }
        Some(i) => {
            let lf = from + i;
            if lf == line_pos || buf[lf - 1] != b'\r' {
                return Err(FramingError::BareLf);
            }
            let end = lf - 1;
            if end - line_pos > max_line {
                return Err(FramingError::LineTooLong { limit: max_line });
            }
            if buf[line_pos..end].contains(&b'\r') {
                return Err(FramingError::BareCr);
            }
            *scan = lf + 1;
            Ok(Some((end, lf + 1)))
        }
    }
}

fn parse_start(line: &[u8], limits: &Limits) -> Result<Start, FramingError> {
    match line.first() {
        None => Err(FramingError::EmptyStartLine),
        Some(b'=') => parse_control(&line[1..]),
        Some(b'>') => {
            let (id, rest) = split_id(&line[1..], limits)?;
            let method = parse_method(trim_end_wsp(rest))?;
            Ok(Start::Message(StartLine::Command { id, method }))
        }
        Some(b'<') => {
            let (id, rest) = split_id(&line[1..], limits)?;
            let status_len = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            let status = match &rest[..status_len] {
                b"ok" => Status::Ok,
                b"error" => Status::Error,
                _ => return Err(FramingError::BadStartLine("status must be ok or error")),
            };
            let rest = skip_wsp(&rest[status_len..]);
            let rest = rest
                .strip_prefix(b"(")
                .ok_or(FramingError::BadStartLine("expected (method)"))?;
            let close = rest
                .iter()
                .position(|&b| b == b')')
                .ok_or(FramingError::BadStartLine("expected (method)"))?;
            if !trim_end_wsp(&rest[close + 1..]).is_empty() {
                return Err(FramingError::BadStartLine("text after (method)"));
            }
            let method = parse_method(&rest[..close])?;
            Ok(Start::Message(StartLine::Response { id, status, method }))
        }
        Some(&b) => Err(FramingError::UnknownMessageType(b)),
    }
}

/// `"=" word-mech *(" " mechname)` or `"=" word-nop`. The draft spells
/// word-mech as %x6D.65.63.38 ("mec8"), evidently a typo for "mech"; both
/// are accepted, "mech" is sent.
fn parse_control(rest: &[u8]) -> Result<Start, FramingError> {
    if rest == b"nop" {
        return Ok(Start::Nop);
    }
    let (word, list) = match rest.iter().position(|&b| b == b' ') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if word != b"mech" && word != b"mec8" {
        return Err(FramingError::BadControlLine);
    }
    let mut mechs = Vec::new();
    if let Some(list) = list {
        for name in list.split(|&b| b == b' ') {
            let name = std::str::from_utf8(name).map_err(|_| FramingError::BadMechLine)?;
            mechs.push(MechName::parse(name).map_err(|_| FramingError::BadMechLine)?);
        }
    }
    Ok(Start::Mech(mechs))
}

/// `id 1*WSP` and what follows.
fn split_id<'a>(s: &'a [u8], limits: &Limits) -> Result<(Id, &'a [u8]), FramingError> {
    let n = s.iter().take_while(|&&b| is_alnum(b)).count();
    if n == 0 {
        return Err(FramingError::BadStartLine("missing id"));
    }
    if n > limits.max_id_len {
        return Err(FramingError::IdTooLong {
            limit: limits.max_id_len,
        });
    }
    let rest = &s[n..];
    if !rest.first().is_some_and(|&b| is_wsp(b)) {
        return Err(FramingError::BadStartLine(
            "id must be letters and digits followed by whitespace",
        ));
    }
    // The id is ASCII alphanumerics, so both conversions succeed.
    let id = std::str::from_utf8(&s[..n])
        .ok()
        .and_then(|t| Id::parse(t).ok())
        .ok_or(FramingError::BadStartLine("invalid id"))?;
    Ok((id, skip_wsp(rest)))
}

fn parse_method(s: &[u8]) -> Result<Method, FramingError> {
    std::str::from_utf8(s)
        .ok()
        .and_then(|t| Method::parse(t).ok())
        .ok_or(FramingError::BadStartLine("invalid method"))
}

fn skip_wsp(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_wsp(b)).count();
    &s[n..]
}

fn trim_end_wsp(s: &[u8]) -> &[u8] {
    let n = s.iter().rev().take_while(|&&b| is_wsp(b)).count();
    &s[..s.len() - n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> (Vec<Decoded>, Option<DecodeError>) {
        let mut d = Decoder::new(Limits::default());
        let mut out = Vec::new();
        let mut data = input;
        loop {
            let n = d.feed(data);
            data = &data[n..];
            loop {
                match d.decode() {
                    Ok(Some(x)) => out.push(x),
                    Ok(None) => break,
                    Err(e) => return (out, Some(e)),
                }
            }
            if data.is_empty() || n == 0 {
                return (out, None);
            }
        }
    }

    #[test]
    fn draft_send_example() {
        let (out, err) = decode_all(
            b">1 send\r\nSender: joe@example.net\r\nInbox: fred@domain.com\r\nContent-Length: 18\r\n\r\nTesting, testing\r\n",
        );
        assert_eq!(err, None);
        let Decoded::Frame(Frame::Command(c)) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(c.method, Method::Send);
        assert_eq!(c.headers.first("Sender"), Some("joe@example.net"));
        assert_eq!(c.payload.as_deref(), Some(&b"Testing, testing\r\n"[..]));
    }

    #[test]
    fn mech_typo_nop_and_folding() {
        let (out, err) =
            decode_all(b"=mec8 PLAIN EXTERNAL\r\n=nop\r\n<A3X ok (change-notify)\r\nVisited: a.example\r\n\t b.example \r\n\r\n");
        assert_eq!(err, None);
        assert_eq!(
            out[0],
            Decoded::Frame(Frame::Mech(vec![MechName::plain(), MechName::external()]))
        );
        assert_eq!(out[1], Decoded::Frame(Frame::Nop));
        let Decoded::Frame(Frame::Response(r)) = &out[2] else {
            panic!()
        };
        assert_eq!(r.headers.first("Visited"), Some("a.example\t b.example"));
    }

    #[test]
    fn cte_is_rejected_but_stream_stays_in_sync() {
        let (out, err) = decode_all(
            b">1 send\r\nContent-Transfer-Encoding: base64\r\nContent-Length: 2\r\n\r\nhi=nop\r\n",
        );
        assert_eq!(err, None);
        assert!(matches!(
            &out[0],
            Decoded::Rejected {
                error: MessageError::ContentTransferEncoding,
                ..
            }
        ));
        assert_eq!(out[1], Decoded::Frame(Frame::Nop));
    }

    #[test]
    fn giant_content_length_rejected_before_payload() {
        let mut d = Decoder::new(Limits::default());
        let head = b">9 send\r\nContent-Length: 99999999999\r\n\r\n";
        assert_eq!(d.feed(head), head.len());
        let e = d.decode().unwrap_err();
        assert_eq!(
            e.kind,
            FramingError::PayloadTooLarge {
                declared: 99_999_999_999,
                limit: 256 * 1024
            }
        );
        assert!(matches!(e.start, Some(StartLine::Command { .. })));
        assert!(d.decode().is_err());
    }
}
