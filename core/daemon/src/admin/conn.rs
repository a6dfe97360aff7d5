//! One admin connection: framed input, buffered output, one request in
//! flight at a time so responses keep request order.

use mio::net::UnixStream;
use std::io::{ErrorKind, Read, Write};
use std::time::Instant;
use tocsin_admin::{FrameDecoder, FrameError, Response, encode_frame};

/// Names a connection across slab reuse: a continuation for a closed
/// connection must not reach a new one in the same slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnRef {
    pub key: usize,
    pub generation: u64,
}

#[derive(Debug)]
pub struct AdminConn {
    pub stream: UnixStream,
    pub generation: u64,
    pub decoder: FrameDecoder,
    out: Vec<u8>,
    /// A request is being processed; its response has not been queued.
    pub busy: bool,
    /// The socket may hold unread bytes (edge-triggered readiness that we
    /// chose not to drain because a request was in flight).
    pub maybe_readable: bool,
    pub peer_eof: bool,
    pub close_after_flush: bool,
    pub refused: Option<String>,
    pub uid: u32,
    pub last_active: Instant,
}

pub enum ReadOutcome {
    Ok,
    Closed,
}

const READ_CHUNK: usize = 16 * 1024;

impl AdminConn {
    pub fn new(
        stream: UnixStream,
        generation: u64,
        max_request: u32,
        uid: u32,
        refused: Option<String>,
    ) -> Self {
        AdminConn {
            stream,
            generation,
            decoder: FrameDecoder::new(max_request),
            out: Vec::new(),
            busy: false,
            maybe_readable: true,
            peer_eof: false,
            close_after_flush: false,
            refused,
            uid,
            last_active: Instant::now(),
        }
    }

    /// Reads while the buffered input is below one maximum-size request,
    /// so a client that pipelines requests cannot make us buffer more.
    pub fn read_some(&mut self, cap: usize) -> ReadOutcome {
        let mut buf = [0u8; READ_CHUNK];
        loop {
            if self.decoder.buffered() >= cap {
                self.maybe_readable = true;
                return ReadOutcome::Ok;
            }
            let want = READ_CHUNK.min(cap - self.decoder.buffered()).max(1);
            match self.stream.read(&mut buf[..want]) {
                Ok(0) => {
                    self.peer_eof = true;
                    self.maybe_readable = false;
                    return ReadOutcome::Ok;
                }
                Ok(n) => {
                    self.decoder.push(&buf[..n]);
                    self.last_active = Instant::now();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.maybe_readable = false;
                    return ReadOutcome::Ok;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return ReadOutcome::Closed,
            }
        }
    }

    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        self.decoder.next_frame()
    }

    pub fn queue_response(&mut self, resp: &Response) {
        let body = serde_json::to_vec(resp).unwrap_or_else(|e| {
            format!(
                r#"{{"ok":false,"error":{{"code":"internal","message":"cannot encode response: {e}"}}}}"#
            )
            .into_bytes()
        });
        encode_frame(&body, &mut self.out);
        self.busy = false;
    }

    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Writes as much buffered output as the socket takes.
    pub fn flush(&mut self) -> ReadOutcome {
        let mut written = 0;
        while written < self.out.len() {
            match self.stream.write(&self.out[written..]) {
                Ok(0) => return ReadOutcome::Closed,
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return ReadOutcome::Closed,
            }
        }
        self.out.drain(..written);
        ReadOutcome::Ok
    }

    /// Finished with this connection: nothing in flight, nothing to send,
    /// and either the peer hung up or we decided to close.
    pub fn done(&self) -> bool {
        !self.busy && self.out.is_empty() && (self.close_after_flush || self.peer_eof)
    }
}
