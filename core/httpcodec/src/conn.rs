//! `ServerConn`: the sans-IO state machine for one server-side HTTP/1.1 connection.

use std::ops::Range;
use std::time::Instant;

use crate::error::{HttpError, RespondError};
use crate::head_parser::{
    RequestLine, classify_long_request_line, frame, parse_header_line, parse_request_line,
};
use crate::limits::Limits;
use crate::ordering::{ResponseQueue, Slot, SlotState};
use crate::request::{Header, Headers, Method, Request, Version};
use crate::response::Response;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Bytes that make any request line invalid wherever they appear (CR is judged later: it is
/// legal right before LF).
fn never_in_request_line(b: u8) -> bool {
    (b < 0x20 && b != b'\r') || b >= 0x7f
}

/// What a timeout did to the connection (see [`ServerConn::on_timeout`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeoutEvent {
    /// A request was not completed in time: a 408 is queued (in order) and the connection
    /// closes after it.
    RequestTimeout(HttpError),
    /// The connection sat idle: close it now, without writing anything further.
    IdleClose,
}

/// Head lines received so far for the current request.
#[derive(Debug, Default)]
struct HeadProgress {
    line: Option<RequestLine>,
    headers: Vec<Header>,
    header_bytes: usize,
}

/// A request whose head is complete and whose body is still arriving.
#[derive(Debug)]
struct BodyProgress {
    seq: u64,
    line: RequestLine,
    headers: Headers,
    len: usize,
    keep_alive: bool,
}

enum Scan {
    /// A complete line (CRLF removed), as a range of `inbuf`; already consumed.
    Line(Range<usize>),
    /// No line end yet, within the limit.
    Partial,
    /// The line exceeds the limit; the range covers its first `limit + 1` bytes.
    TooLong(Range<usize>),
}

enum Stop {
    /// More bytes are needed.
    NeedMore,
    /// Too many responses outstanding; parsing resumes after `respond`.
    Backpressure,
    /// Nothing more will be parsed on this connection.
    Done,
}

/// One server-side HTTP/1.1 connection, without I/O.
///
/// The host owns the socket and drives the codec:
///
/// 1. bytes read from the socket → [`feed`](Self::feed) (end of stream →
///    [`feed_eof`](Self::feed_eof)); then call [`next_request`](Self::next_request) until it
///    returns `None`.
/// 2. each [`Request`] gets exactly one [`respond`](Self::respond) with its `seq`, in any
///    order; responses are released in request order. After `respond`, call `next_request`
///    again: backpressure may have lifted.
/// 3. write [`pending_output`](Self::pending_output) to the socket and report what was
///    written with [`consume_output`](Self::consume_output).
/// 4. arm a timer for [`next_timeout`](Self::next_timeout); when it fires call
///    [`on_timeout`](Self::on_timeout).
/// 5. close the socket when [`should_close`](Self::should_close) is true (ideally shut
///    down the write side first and drain briefly, RFC 9112 9.6, so a pipelining client is
///    not hit by a RST before it reads the final response).
///
/// Protocol errors are answered by the codec itself (status from [`HttpError::status`],
/// small JSON body, `Connection: close`), queued after the responses to earlier requests.
#[derive(Debug)]
pub struct ServerConn {
    limits: Limits,
    inbuf: Vec<u8>,
    /// Consumed prefix of `inbuf`.
    inpos: usize,
    /// Bytes of the current partial line (from `inpos`) already searched for LF.
    scanned: usize,
    head: HeadProgress,
    body: Option<BodyProgress>,
    queue: ResponseQueue,
    out: Vec<u8>,
    outpos: usize,
    next_seq: u64,
    /// No further request will be parsed (close requested, error, EOF, shutdown).
    input_done: bool,
    /// Peer closed its sending side.
    eof: bool,
    /// Close once the output is drained.
    closing: bool,
    /// Close immediately (idle timeout).
    close_now: bool,
    /// Responses for requests at or after this sequence number are dropped: the connection
    /// closes before them.
    discard_from: Option<u64>,
    request_deadline: Option<Instant>,
    /// Last time a request completed or a response was submitted; idle timer base.
    last_activity: Instant,
}

impl ServerConn {
    /// A fresh connection accepted at `now`.
    pub fn new(limits: Limits, now: Instant) -> Self {
        ServerConn {
            limits,
            inbuf: Vec::new(),
            inpos: 0,
            scanned: 0,
            head: HeadProgress::default(),
            body: None,
            queue: ResponseQueue::default(),
            out: Vec::new(),
            outpos: 0,
            next_seq: 0,
            input_done: false,
            eof: false,
            closing: false,
            close_now: false,
            discard_from: None,
            request_deadline: None,
            last_activity: now,
        }
    }

    /// The limits this connection enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Buffer bytes read from the peer. Bytes arriving after the codec stopped reading
    /// requests (close, error, shutdown) are discarded.
    pub fn feed(&mut self, data: &[u8], now: Instant) {
        if self.input_done || self.close_now || self.eof {
            return;
        }
        self.inbuf.extend_from_slice(data);
        self.update_request_timer(now);
    }

    /// The peer shut down its sending side. Requests already buffered are still parsed; a
    /// request cut short is answered with 400 by the next `next_request` call.
    pub fn feed_eof(&mut self, now: Instant) {
        self.eof = true;
        self.update_request_timer(now);
    }

    /// The next complete request, the protocol error that ended the connection, or `None`
    /// (more bytes needed, too many responses outstanding, or the connection is done).
    /// An error is reported once; its response is already queued.
    pub fn next_request(&mut self, now: Instant) -> Option<Result<Request, HttpError>> {
        let result = match self.parse_next() {
            Ok(Ok(req)) => {
                self.last_activity = now;
                Some(Ok(req))
            }
            Ok(Err(Stop::NeedMore)) if self.eof && !self.input_done => {
                if self.request_in_progress() {
                    Some(Err(self.fail(HttpError::IncompleteRequest)))
                } else {
                    self.input_done = true;
                    self.pump();
                    None
                }
            }
            Ok(Err(_)) => None,
            Err(e) => Some(Err(self.fail(e))),
        };
        self.compact();
        self.update_request_timer(now);
        result
    }

    /// Submit the response to request `seq`. Responses may come in any order; they are
    /// written in request order. A response for a request behind a closing response is
    /// accepted and dropped (the connection ends before it).
    pub fn respond(
        &mut self,
        seq: u64,
        response: Response,
        now: Instant,
    ) -> Result<(), RespondError> {
        if !(200..=599).contains(&response.status()) {
            return Err(RespondError::InvalidStatus(response.status()));
        }
        if seq >= self.next_seq {
            return Err(RespondError::UnknownSequence(seq));
        }
        if self.discard_from.is_some_and(|d| seq >= d) {
            return Ok(());
        }
        let slot = self
            .queue
            .find_mut(seq)
            .ok_or(RespondError::AlreadyAnswered(seq))?;
        match slot.state {
            SlotState::Waiting => slot.state = SlotState::Ready(response),
            SlotState::Receiving { .. } => return Err(RespondError::UnknownSequence(seq)),
            SlotState::Ready(_) => return Err(RespondError::AlreadyAnswered(seq)),
        }
        self.last_activity = now;
        self.pump();
        self.update_request_timer(now);
        Ok(())
    }

    /// Stop accepting requests (server shutdown): requests already handed out still get
    /// their responses, the last one carries `Connection: close`, then the connection
    /// closes. A request still being received is dropped unanswered.
    pub fn shutdown(&mut self) {
        self.input_done = true;
        if let Some(body) = self.body.take() {
            self.queue.remove_back(body.seq);
        }
        self.reset_input();
        self.pump();
    }

    /// Bytes to write to the socket.
    pub fn pending_output(&self) -> &[u8] {
        &self.out[self.outpos..]
    }

    /// Report that `n` bytes of [`pending_output`](Self::pending_output) were written.
    pub fn consume_output(&mut self, n: usize) {
        self.outpos = self.outpos.saturating_add(n).min(self.out.len());
        if self.outpos == self.out.len() {
            self.out.clear();
            self.outpos = 0;
        }
    }

    /// Take all pending output at once.
    pub fn take_output(&mut self) -> Vec<u8> {
        let rest = self.out.split_off(self.outpos);
        self.out.clear();
        self.outpos = 0;
        rest
    }

    /// Whether the host should read from the socket: false once input is finished and
    /// while backpressure holds (too many responses outstanding).
    pub fn wants_read(&self) -> bool {
        !self.input_done && !self.close_now && !self.eof && !self.blocked()
    }

    /// Close the socket now: everything that will ever be written has been drained, or the
    /// idle timeout fired.
    pub fn should_close(&self) -> bool {
        self.close_now || (self.closing && self.pending_output().is_empty())
    }

    /// Requests handed to the host whose responses are not yet written.
    pub fn in_flight(&self) -> usize {
        self.queue.in_flight()
    }

    /// When [`on_timeout`](Self::on_timeout) must be called next, if ever.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.close_now {
            return None;
        }
        match (self.request_deadline, self.idle_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Handle expired timers at `now`.
    pub fn on_timeout(&mut self, now: Instant) -> Option<TimeoutEvent> {
        if self.close_now {
            return None;
        }
        if self.request_deadline.is_some_and(|d| now >= d) {
            let err = self.fail(HttpError::RequestTimeout(self.limits.request_timeout));
            return Some(TimeoutEvent::RequestTimeout(err));
        }
        if self.idle_deadline().is_some_and(|d| now >= d) {
            self.close_now = true;
            self.closing = true;
            self.input_done = true;
            self.reset_input();
            return Some(TimeoutEvent::IdleClose);
        }
        None
    }

    fn idle_deadline(&self) -> Option<Instant> {
        if self.queue.is_empty() && !self.request_in_progress() {
            // A timeout too large to represent means "never".
            self.last_activity.checked_add(self.limits.idle_timeout)
        } else {
            None
        }
    }

    /// A request has started arriving (leading empty lines do not count: RFC 9112 2.2
    /// lets clients send a stray CRLF after a body, which must not trigger a 408).
    fn request_in_progress(&self) -> bool {
        self.body.is_some() || self.head.line.is_some() || self.inpos < self.inbuf.len()
    }

    /// At a request boundary with the in-flight limit reached.
    fn blocked(&self) -> bool {
        self.body.is_none()
            && self.head.line.is_none()
            && self.queue.in_flight() >= self.limits.max_in_flight
    }

    /// The slowloris timer runs only while we wait for the peer to finish a request, not
    /// while the request waits on us (backpressure).
    fn update_request_timer(&mut self, now: Instant) {
        let waiting_on_peer = !self.input_done && self.request_in_progress() && !self.blocked();
        if !waiting_on_peer {
            self.request_deadline = None;
        } else if self.request_deadline.is_none() {
            self.request_deadline = now.checked_add(self.limits.request_timeout);
        }
    }

    fn parse_next(&mut self) -> Result<Result<Request, Stop>, HttpError> {
        loop {
            if self.input_done {
                return Ok(Err(Stop::Done));
            }
            if let Some(len) = self.body.as_ref().map(|b| b.len) {
                if self.inbuf.len() - self.inpos < len {
                    return Ok(Err(Stop::NeedMore));
                }
                let bytes = self.inbuf[self.inpos..self.inpos + len].to_vec();
                self.inpos += len;
                return Ok(match self.body.take() {
                    Some(progress) => Ok(self.complete(progress, bytes)),
                    None => Err(Stop::NeedMore),
                });
            }
            if self.blocked() {
                return Ok(Err(Stop::Backpressure));
            }
            if self.head.line.is_none() {
                let limit = self.limits.max_request_line;
                match self.scan_line(limit, true)? {
                    Scan::Partial => return Ok(Err(Stop::NeedMore)),
                    Scan::TooLong(prefix) => {
                        return Err(classify_long_request_line(&self.inbuf[prefix], limit));
                    }
                    // Empty lines before a request line are ignored (RFC 9112 2.2).
                    Scan::Line(range) if range.is_empty() => {}
                    Scan::Line(range) => {
                        self.head.line = Some(parse_request_line(&self.inbuf[range])?);
                    }
                }
            } else {
                let budget = self
                    .limits
                    .max_header_bytes
                    .saturating_sub(self.head.header_bytes);
                match self.scan_line(budget, false)? {
                    Scan::Partial => return Ok(Err(Stop::NeedMore)),
                    Scan::TooLong(_) => {
                        return Err(HttpError::HeadersTooLarge {
                            limit: self.limits.max_header_bytes,
                        });
                    }
                    Scan::Line(range) if range.is_empty() => {
                        if let Some(req) = self.finish_head()? {
                            return Ok(Ok(req));
                        }
                    }
                    Scan::Line(range) => {
                        self.head.header_bytes += range.len() + 2;
                        let header = parse_header_line(&self.inbuf[range])?;
                        if self.head.headers.len() >= self.limits.max_headers {
                            return Err(HttpError::TooManyHeaders {
                                limit: self.limits.max_headers,
                            });
                        }
                        self.head.headers.push(header);
                    }
                }
            }
        }
    }

    /// Find the next CRLF-terminated line within `limit` bytes. Length is judged before
    /// content, on a fixed-size prefix, so any split of the same bytes gives the same
    /// verdict.
    ///
    /// For the request line (`request_line`), bytes that can never appear in one (controls
    /// other than CR, DEL, 8-bit) fail at once, so a TLS ClientHello or binary junk on the
    /// port is refused immediately instead of waiting for a line end or the timer.
    fn scan_line(&mut self, limit: usize, request_line: bool) -> Result<Scan, HttpError> {
        let avail = &self.inbuf[self.inpos..];
        let from = self.scanned.min(avail.len());
        let lf_at = avail[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|rel| from + rel);
        if request_line {
            // Only the first `limit + 1` bytes are judged, like the length check, so the
            // verdict does not depend on how the bytes were split.
            let end = lf_at.unwrap_or(avail.len()).min(limit.saturating_add(1));
            let start = from.min(end);
            if avail[start..end].iter().any(|&b| never_in_request_line(b)) {
                return Err(HttpError::BadRequestLine("invalid byte in request line"));
            }
        }
        match lf_at {
            Some(lf) => {
                let has_cr = lf > 0 && avail[lf - 1] == b'\r';
                let content_len = if has_cr { lf - 1 } else { lf };
                let start = self.inpos;
                if content_len > limit {
                    return Ok(Scan::TooLong(start..start + limit + 1));
                }
                if !has_cr {
                    return Err(HttpError::BareLineFeed);
                }
                self.inpos += lf + 1;
                self.scanned = 0;
                Ok(Scan::Line(start..start + content_len))
            }
            None => {
                self.scanned = avail.len();
                let partial = avail.len() - usize::from(avail.last() == Some(&b'\r'));
                if partial > limit {
                    Ok(Scan::TooLong(self.inpos..self.inpos + limit + 1))
                } else {
                    Ok(Scan::Partial)
                }
            }
        }
    }

    /// The blank line ended the head: decide framing, open the response slot, and yield the
    /// request at once when it has no body.
    fn finish_head(&mut self) -> Result<Option<Request>, HttpError> {
        let Some(line) = self.head.line.take() else {
            return Err(HttpError::BadRequestLine("missing request line"));
        };
        let headers = Headers::new(std::mem::take(&mut self.head.headers));
        self.head = HeadProgress::default();
        let framing = frame(&line, &headers, &self.limits)?;
        let seq = self.next_seq;
        self.next_seq += 1;
        // No 100 Continue when the body is already here (RFC 9110 10.1.1 allows omitting it).
        let body_missing = self.inbuf.len() - self.inpos < framing.body_len;
        self.queue.push(Slot {
            seq,
            state: SlotState::Receiving {
                expect_continue: framing.expect_continue && body_missing,
                continue_sent: false,
            },
            head_request: line.method == Method::Head,
            version: line.version,
            keep_alive: framing.keep_alive,
            yielded: false,
        });
        let progress = BodyProgress {
            seq,
            line,
            headers,
            len: framing.body_len,
            keep_alive: framing.keep_alive,
        };
        if framing.body_len == 0 {
            return Ok(Some(self.complete(progress, Vec::new())));
        }
        self.body = Some(progress);
        self.pump();
        Ok(None)
    }

    fn complete(&mut self, progress: BodyProgress, body: Vec<u8>) -> Request {
        self.queue.mark_yielded(progress.seq);
        self.request_deadline = None;
        if !progress.keep_alive {
            // RFC 9112 9.6: nothing after a request with "close" is processed.
            self.input_done = true;
            self.reset_input();
        }
        Request {
            seq: progress.seq,
            method: progress.line.method,
            target: progress.line.target,
            version: progress.line.version,
            headers: progress.headers,
            body,
            keep_alive: progress.keep_alive,
        }
    }

    /// End parsing with a protocol error: queue its response in order and stop reading.
    fn fail(&mut self, err: HttpError) -> HttpError {
        let response = Response::from_error(&err);
        let existing = self.body.take().map(|b| b.seq);
        match existing.and_then(|seq| self.queue.find_mut(seq)) {
            Some(slot) => {
                slot.state = SlotState::Ready(response);
                slot.head_request = false;
                slot.keep_alive = false;
            }
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.queue.push(Slot {
                    seq,
                    state: SlotState::Ready(response),
                    head_request: false,
                    version: Version::Http11,
                    keep_alive: false,
                    yielded: false,
                });
            }
        }
        self.input_done = true;
        self.reset_input();
        self.pump();
        err
    }

    fn reset_input(&mut self) {
        self.head = HeadProgress::default();
        self.body = None;
        self.inbuf = Vec::new();
        self.inpos = 0;
        self.scanned = 0;
        self.request_deadline = None;
    }

    /// Write every response that is next in order; emit 100 Continue for the request at the
    /// head of the queue when it waits for its body.
    fn pump(&mut self) {
        while let Some(front) = self.queue.front_mut() {
            match &mut front.state {
                SlotState::Ready(_) => {
                    let Some(slot) = self.queue.pop_front() else {
                        break;
                    };
                    let SlotState::Ready(response) = &slot.state else {
                        break;
                    };
                    let last = self.queue.is_empty() && self.body.is_none();
                    let close = response.closes() || !slot.keep_alive || (self.input_done && last);
                    response.encode(&mut self.out, slot.head_request, slot.version, close);
                    if close {
                        self.discard_from = Some(slot.seq + 1);
                        self.queue.clear();
                        self.input_done = true;
                        self.reset_input();
                        break;
                    }
                }
                SlotState::Receiving {
                    expect_continue: true,
                    continue_sent,
                } if !*continue_sent => {
                    *continue_sent = true;
                    self.out.extend_from_slice(CONTINUE);
                    break;
                }
                _ => break,
            }
        }
        if self.input_done && self.queue.is_empty() {
            self.closing = true;
        }
    }

    /// Drop consumed input so the buffer does not grow with a long keep-alive session.
    fn compact(&mut self) {
        if self.inpos == self.inbuf.len() {
            self.inbuf.clear();
            self.inpos = 0;
        } else if self.inpos > 4096 && self.inpos * 2 > self.inbuf.len() {
            self.inbuf.drain(..self.inpos);
            self.inpos = 0;
        }
    }
}
