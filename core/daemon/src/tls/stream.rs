//! A rustls connection over a non-blocking mio TcpStream, presented as
//! plaintext read/write calls that return WouldBlock like a socket.

use mio::net::TcpStream;
use std::io::{self, ErrorKind, Read, Write};

/// Plaintext rustls may buffer on our behalf before `write` reports
/// WouldBlock (the rest stays in the connection's own output buffer).
const TLS_BUFFER_LIMIT: usize = 256 * 1024;

pub struct TlsStream {
    pub sock: TcpStream,
    conn: rustls::Connection,
    identity: Option<String>,
}

impl TlsStream {
    pub fn new(sock: TcpStream, conn: impl Into<rustls::Connection>) -> TlsStream {
        let mut conn = conn.into();
        conn.set_buffer_limit(Some(TLS_BUFFER_LIMIT));
        TlsStream {
            sock,
            conn,
            identity: None,
        }
    }

    /// The verified client certificate's identity (after the handshake).
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    fn note_identity(&mut self) {
        if self.identity.is_none()
            && !self.conn.is_handshaking()
            && let Some(chain) = self.conn.peer_certificates()
            && let Some(leaf) = chain.first()
        {
            self.identity = super::identity::of_certificate(leaf);
        }
    }

    /// Writes pending TLS records (handshake or data) to the socket.
    pub fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            match self.conn.read_tls(&mut self.sock) {
                Ok(0) => return Ok(0),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            if let Err(e) = self.conn.process_new_packets() {
                // Tell the peer why before giving up.
                let _ = self.flush_tls();
                return Err(io::Error::new(ErrorKind::InvalidData, e));
            }
            self.note_identity();
            self.flush_tls()?;
        }
    }

    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        self.flush_tls()?;
        if n == 0 && !buf.is_empty() {
            return Err(ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// Sends close_notify and shuts our side of the socket.
    pub fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush_tls();
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
    }

    pub fn has_pending_tls(&self) -> bool {
        self.conn.wants_write()
    }
}
