//! One IMTP/PITP connection glued to the host: the sans-IO [`Connection`], its socket
//! handle, the armed host timer and write backpressure. Every role (server, PITP,
//! relay) owns its connections through this.

use std::time::Instant;
use tocsin_imtp::Connection;
use tocsin_sdk::{Handle, Host, HostError, TimerId};

/// The host takes a `send` whole or not at all (4 MiB); hand it slices well below that.
const SEND_SLICE: usize = 256 * 1024;

pub struct Session {
    pub handle: Handle,
    pub conn: Connection,
    pub peer: String,
    /// `send` said WouldBlock: wait for `on_writable`.
    pub write_blocked: bool,
    pub timer: Option<(TimerId, Instant)>,
    /// We asked the host to close; `on_closed` follows.
    pub closing: bool,
    /// The peer's certificate identity was handed to the connection.
    pub identity_read: bool,
}

/// What went wrong on a session; the caller closes it.
#[derive(Debug)]
pub enum Broken {
    Socket(HostError),
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broken::Socket(e) => write!(f, "socket error: {e}"),
        }
    }
}

impl Session {
    pub fn new(handle: Handle, conn: Connection, peer: String) -> Session {
        Session {
            handle,
            conn,
            peer,
            write_blocked: false,
            timer: None,
            closing: false,
            identity_read: false,
        }
    }

    /// Writes what the connection produced, as far as the host takes it.
    pub fn flush(&mut self, host: &Host) -> Result<(), Broken> {
        while !self.write_blocked && self.conn.output_len() > 0 {
            let out = self.conn.output();
            let n = out.len().min(SEND_SLICE);
            match host.send(self.handle, &out[..n]) {
                Ok(()) => self.conn.consume_output(n),
                Err(HostError::WouldBlock) => self.write_blocked = true,
                Err(e) => return Err(Broken::Socket(e)),
            }
        }
        Ok(())
    }

    /// Keeps one host timer armed for the connection's next deadline. Returns the
    /// timer to forget (cancelled) and the one to remember (new), if they changed.
    pub fn rearm(&mut self, host: &Host) -> (Option<TimerId>, Option<TimerId>) {
        let want = self.conn.next_timeout();
        let have = self.timer.map(|(_, at)| at);
        if want == have {
            return (None, None);
        }
        let old = self.timer.take().map(|(t, _)| {
            let _ = host.cancel_timer(t);
            t
        });
        let new = want.and_then(|at| {
            let ms = at.saturating_duration_since(Instant::now()).as_millis();
            // +1: the host's timers have millisecond resolution; never wake early.
            let ms = u64::try_from(ms).unwrap_or(u64::MAX).saturating_add(1);
            host.timer(ms).ok().inspect(|&t| {
                self.timer = Some((t, at));
            })
        });
        (old, new)
    }

    /// Closes the socket once (the host flushes and lingers).
    pub fn close(&mut self, host: &Host) {
        if !self.closing {
            self.closing = true;
            self.conn.close();
            if let Some((t, _)) = self.timer.take() {
                let _ = host.cancel_timer(t);
            }
            let _ = host.close(self.handle);
        }
    }
}
