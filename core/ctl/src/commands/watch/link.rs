//! The byte pipe under the IMTP connection: a blocking TCP socket,
//! optionally under TLS (implicit: the first octet is the ClientHello).
//! Reads wait at most until the protocol's next timer is due.

use super::error::WatchError;
use super::options::TlsSetup;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// A peer that stops reading must not hang us forever; the protocol's own
/// timers cannot fire while we are stuck in `write`.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// What one [`Link::read`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Data(usize),
    /// The peer closed the connection.
    Eof,
    /// Nothing arrived in time.
    Idle,
}

#[derive(Debug)]
pub enum Link {
    Plain(TcpStream),
    Tls(Box<TlsLink>),
}

#[derive(Debug)]
pub struct TlsLink {
    sock: TcpStream,
    tls: rustls::ClientConnection,
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Link {
    /// Resolves `server` and tries its addresses in order.
    pub fn connect(
        server: &str,
        tls: Option<&TlsSetup>,
        timeout: Duration,
    ) -> Result<Link, WatchError> {
        let failed = |reason: String| WatchError::Connect {
            server: server.to_owned(),
            reason,
        };
        let addrs = server
            .to_socket_addrs()
            .map_err(|e| failed(e.to_string()))?;
        let mut last = "no address".to_owned();
        let mut sock = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(s) => {
                    sock = Some(s);
                    break;
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        let sock = sock.ok_or_else(|| failed(last))?;
        // Notifications are small and latency matters more than packets.
        sock.set_nodelay(true)?;
        sock.set_write_timeout(Some(WRITE_TIMEOUT))?;
        Ok(match tls {
            None => Link::Plain(sock),
            Some(t) => {
                let tls = rustls::ClientConnection::new(t.config.clone(), t.server_name.clone())
                    .map_err(WatchError::Tls)?;
                Link::Tls(Box::new(TlsLink { sock, tls }))
            }
        })
    }

    /// Waits up to `wait` for data.
    pub fn read(&mut self, buf: &mut [u8], wait: Duration) -> Result<Input, WatchError> {
        // A zero timeout is an error for std sockets.
        let wait = wait.max(Duration::from_millis(1));
        match self {
            Link::Plain(sock) => {
                sock.set_read_timeout(Some(wait))?;
                loop {
                    return match sock.read(buf) {
                        Ok(0) => Ok(Input::Eof),
                        Ok(n) => Ok(Input::Data(n)),
                        Err(e) if timed_out(&e) => Ok(Input::Idle),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => Err(e.into()),
                    };
                }
            }
            Link::Tls(t) => t.read(buf, Instant::now() + wait),
        }
    }

    pub fn write_all(&mut self, data: &[u8]) -> Result<(), WatchError> {
        match self {
            Link::Plain(sock) => Ok(sock.write_all(data)?),
            Link::Tls(t) => {
                t.tls.writer().write_all(data)?;
                t.flush()
            }
        }
    }

    /// Best effort: we are leaving either way.
    pub fn close(&mut self) {
        let sock = match self {
            Link::Plain(sock) => sock,
            Link::Tls(t) => {
                t.tls.send_close_notify();
                let _ = t.flush();
                &t.sock
            }
        };
        let _ = sock.shutdown(Shutdown::Both);
    }
}

impl TlsLink {
    /// Sends whatever TLS has queued (handshake, records, alerts).
    fn flush(&mut self) -> Result<(), WatchError> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> Result<Input, WatchError> {
        loop {
            match self.tls.reader().read(buf) {
                // close_notify.
                Ok(0) => return Ok(Input::Eof),
                Ok(n) => return Ok(Input::Data(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // TCP closed without close_notify: still the end.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Input::Eof),
                Err(e) => return Err(e.into()),
            }
            // The handshake runs here: our ClientHello and later flights.
            self.flush()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Input::Idle);
            }
            self.sock.set_read_timeout(Some(left))?;
            match self.tls.read_tls(&mut self.sock) {
                // EOF: the reader reports it on the next turn.
                Ok(_) => {}
                Err(e) if timed_out(&e) => return Ok(Input::Idle),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            if let Err(e) = self.tls.process_new_packets() {
                // Tell the server why (the alert), then give up.
                let _ = self.flush();
                return Err(WatchError::Tls(e));
            }
        }
    }
}
