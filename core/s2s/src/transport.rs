//! Moves bytes between a non-blocking socket (a mio `TcpStream` by default,
//! optionally wrapped in rustls) and an [`Endpoint`]. Used by
//! [`crate::Client`], the tests' server and the daemon, whose listeners may
//! also be unix sockets (any [`Socket`]).
//!
//! Both directions run until the socket would block, the endpoint's receive
//! buffer is full, or there is nothing left to write: with edge-triggered
//! readiness the caller must retry reading once it has drained the endpoint
//! when [`ReadStatus::buffer_full`] was reported.

use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;
use rustls::pki_types::CertificateDer;

use crate::endpoint::Endpoint;

/// What one [`Transport::read`] achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStatus {
    /// Plaintext bytes handed to the endpoint.
    pub bytes: usize,
    /// The peer closed (the endpoint was told via `recv_eof`).
    pub eof: bool,
    /// Stopped because the endpoint had no room: drain it, then read again.
    pub buffer_full: bool,
}

/// A byte stream a [`Transport`] can drive: non-blocking reads and writes,
/// and a half-close.
pub trait Socket: Read + Write {
    /// Close our sending side (the peer reads EOF).
    fn shutdown_write(&self) -> io::Result<()>;
}

impl Socket for TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl Socket for mio::net::UnixStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// A socket (TCP unless said otherwise), plain or under TLS.
#[derive(Debug)]
pub struct Transport<S: Socket = TcpStream> {
    sock: S,
    tls: Option<Box<rustls::Connection>>,
    eof: bool,
}

fn retry(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}

fn blocked(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl<S: Socket> Transport<S> {
    /// Plaintext.
    #[must_use]
    pub fn plain(sock: S) -> Self {
        Self {
            sock,
            tls: None,
            eof: false,
        }
    }

    /// TLS (client or server side); the handshake runs inside read/write.
    #[must_use]
    pub fn tls(sock: S, conn: impl Into<rustls::Connection>) -> Self {
        Self {
            sock,
            tls: Some(Box::new(conn.into())),
            eof: false,
        }
    }

    /// The socket, to register with a `mio::Poll`.
    pub fn socket_mut(&mut self) -> &mut S {
        &mut self.sock
    }

    /// True while a TLS handshake is in progress.
    #[must_use]
    pub fn is_handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    /// The peer's certificate chain (TLS, after the handshake).
    #[must_use]
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.tls.as_ref().and_then(|t| t.peer_certificates())
    }

    /// True when the peer has closed its side.
    #[must_use]
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Read everything available into `ep`.
    pub fn read(&mut self, ep: &mut impl Endpoint) -> io::Result<ReadStatus> {
        let mut st = ReadStatus::default();
        if self.eof {
            st.eof = true;
            return Ok(st);
        }
        match self.tls.as_deref_mut() {
            None => loop {
                let buf = ep.recv_buf();
                if buf.is_empty() {
                    st.buffer_full = true;
                    return Ok(st);
                }
                match self.sock.read(buf) {
                    Ok(0) => {
                        self.eof = true;
                        ep.recv_eof();
                        st.eof = true;
                        return Ok(st);
                    }
                    Ok(n) => {
                        ep.recv_commit(n);
                        st.bytes += n;
                    }
                    Err(e) if blocked(&e) => return Ok(st),
                    Err(e) if retry(&e) => {}
                    Err(e) => return Err(e),
                }
            },
            Some(tls) => {
                let mut sock_eof = false;
                loop {
                    // Hand over what is already decrypted first.
                    loop {
                        let buf = ep.recv_buf();
                        if buf.is_empty() {
                            st.buffer_full = true;
                            return Ok(st);
                        }
                        match tls.reader().read(buf) {
                            Ok(0) => {
                                // close_notify: a clean TLS end of stream
                                self.eof = true;
                                ep.recv_eof();
                                st.eof = true;
                                return Ok(st);
                            }
                            Ok(n) => {
                                ep.recv_commit(n);
                                st.bytes += n;
                            }
                            Err(e) if blocked(&e) && !sock_eof => break,
                            Err(e) if blocked(&e) || e.kind() == io::ErrorKind::UnexpectedEof => {
                                // TCP closed without close_notify. The shim
                                // still tells a clean close (between chunks)
                                // from a cut one.
                                self.eof = true;
                                ep.recv_eof();
                                st.eof = true;
                                return Ok(st);
                            }
                            Err(e) if retry(&e) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    match tls.read_tls(&mut self.sock) {
                        Ok(0) => {
                            // socket EOF: drain the plaintext, then report it
                            tls.process_new_packets().map_err(io::Error::other)?;
                            sock_eof = true;
                        }
                        Ok(_) => {
                            if let Err(e) = tls.process_new_packets() {
                                // send the alert rustls queued, then fail
                                let _ = tls.write_tls(&mut self.sock);
                                return Err(io::Error::other(e));
                            }
                        }
                        Err(e) if blocked(&e) => return Ok(st),
                        Err(e) if retry(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }

    /// Write as much of `ep`'s output as the socket takes. Returns the
    /// number of endpoint bytes consumed.
    pub fn write(&mut self, ep: &mut impl Endpoint) -> io::Result<usize> {
        let mut done = 0;
        match self.tls.as_deref_mut() {
            None => {
                while !ep.pending_output().is_empty() {
                    match self.sock.write(ep.pending_output()) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => {
                            ep.consume_output(n);
                            done += n;
                        }
                        Err(e) if blocked(&e) => break,
                        Err(e) if retry(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Some(tls) => loop {
                let mut progressed = false;
                if !ep.pending_output().is_empty() {
                    let n = tls.writer().write(ep.pending_output())?;
                    if n > 0 {
                        ep.consume_output(n);
                        done += n;
                        progressed = true;
                    }
                }
                let mut would_block = false;
                while tls.wants_write() {
                    match tls.write_tls(&mut self.sock) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(_) => progressed = true,
                        Err(e) if blocked(&e) => {
                            would_block = true;
                            break;
                        }
                        Err(e) if retry(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
                if would_block || !progressed || ep.pending_output().is_empty() {
                    break;
                }
            },
        }
        Ok(done)
    }

    /// True when output is waiting (in the endpoint or in TLS buffers).
    pub fn wants_write(&self, ep: &impl Endpoint) -> bool {
        !ep.pending_output().is_empty() || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Orderly close of our side: TLS close_notify (best effort), then a TCP
    /// half-close. Keep reading until EOF, then drop.
    pub fn shutdown_write(&mut self) {
        if let Some(tls) = self.tls.as_deref_mut() {
            tls.send_close_notify();
            while tls.wants_write() {
                match tls.write_tls(&mut self.sock) {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
        let _ = self.sock.shutdown_write();
    }
}
