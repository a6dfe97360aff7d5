//! Sockets the host owns on behalf of a plugin instance. Plugins see only
//! handles and bytes; the loop does every syscall.

use mio::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;

/// Stop reading from a connection while this much output is queued: a
/// peer that does not read our answers cannot make us buffer its requests.
pub const OUT_HIGH_WATER: usize = 1024 * 1024;
/// `send` refuses (ERR_WOULD_BLOCK) beyond this.
pub const OUT_MAX: usize = 4 * 1024 * 1024;
/// Output queued by `send` is written at the end of the loop iteration
/// unless it reaches this much first.
pub const CORK_MAX: usize = 64 * 1024;
/// Largest chunk handed to `on_data` at once.
pub const READ_CHUNK: usize = 64 * 1024;
/// Datagrams or reads per readiness event before yielding to others.
pub const READ_BUDGET: usize = 64;
/// Connections per instance.
pub const MAX_CONNECTIONS: usize = 4096;
/// How long a closed connection keeps draining the peer's input.
pub const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<crate::tls::TlsStream>),
}

impl Stream {
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
            Stream::Tls(t) => &mut t.sock,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    /// The TCP socket under a TCP or TLS stream.
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Tcp(s) => Some(s),
            Stream::Tls(t) => Some(&t.sock),
            Stream::Unix(_) => None,
        }
    }

    pub fn identity(&self) -> Option<&str> {
        match self {
            Stream::Tls(t) => t.identity(),
            _ => None,
        }
    }
}

pub struct Conn {
    pub stream: Stream,
    pub out: Vec<u8>,
    pub peer: String,
    /// Outgoing connection not yet established.
    pub connecting: bool,
    /// Plugin asked to close: close once `out` is written.
    pub closing: bool,
    pub read_paused: bool,
    /// Edge-triggered readiness we have not drained yet.
    pub maybe_readable: bool,
    /// `send` said WouldBlock; call `on_writable` when drained.
    pub notify_writable: bool,
    pub eof: bool,
    /// Closing: our side is shut down and we read (and discard) until the
    /// peer closes or this deadline passes, so unread request bytes do not
    /// turn our last answer into a reset.
    pub linger_until: Option<std::time::Instant>,
}

pub enum SocketKind {
    /// With a TLS config, accepted connections speak TLS.
    TcpListener(TcpListener, Option<std::sync::Arc<rustls::ServerConfig>>),
    UnixListener(UnixListener, PathBuf),
    Conn(Box<Conn>),
    Udp(UdpSocket),
    UnixDgram(UnixDatagram, PathBuf),
}

pub struct PluginSocket {
    pub kind: SocketKind,
    pub local: String,
}

impl PluginSocket {
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match &mut self.kind {
            SocketKind::TcpListener(l, _) => l,
            SocketKind::UnixListener(l, _) => l,
            SocketKind::Conn(c) => c.stream.source(),
            SocketKind::Udp(u) => u,
            SocketKind::UnixDgram(u, _) => u,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            SocketKind::TcpListener(_, None) => "tcp-listener",
            SocketKind::TcpListener(_, Some(_)) => "tls-listener",
            SocketKind::UnixListener(..) => "unix-listener",
            SocketKind::Conn(c) => match c.stream {
                Stream::Tcp(_) => "tcp",
                Stream::Unix(_) => "unix",
                Stream::Tls(_) => "tls",
            },
            SocketKind::Udp(_) => "udp",
            SocketKind::UnixDgram(..) => "unix-dgram",
        }
    }
}

impl Drop for PluginSocket {
    fn drop(&mut self) {
        // Unix socket files are ours: remove them with the socket.
        match &self.kind {
            SocketKind::UnixListener(_, p) | SocketKind::UnixDgram(_, p) => {
                let _ = std::fs::remove_file(p);
            }
            _ => {}
        }
    }
}

pub enum FlushResult {
    /// Everything written (or nothing to write).
    Drained,
    Pending,
    Broken(String),
}

impl Conn {
    pub fn flush(&mut self) -> FlushResult {
        if self.connecting {
            return FlushResult::Pending;
        }
        // TLS may owe handshake records even when we have nothing to say.
        if let Stream::Tls(t) = &mut self.stream
            && let Err(e) = t.flush_tls()
        {
            return FlushResult::Broken(e.to_string());
        }
        let mut written = 0;
        let mut result = FlushResult::Drained;
        while written < self.out.len() {
            match self.stream.write(&self.out[written..]) {
                Ok(0) => {
                    result = FlushResult::Broken("write returned 0".into());
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    result = FlushResult::Pending;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    result = FlushResult::Broken(e.to_string());
                    break;
                }
            }
        }
        self.out.drain(..written);
        if matches!(result, FlushResult::Drained)
            && let Stream::Tls(t) = &self.stream
            && t.has_pending_tls()
        {
            return FlushResult::Pending;
        }
        result
    }

    /// Ends our side of the stream (TLS: close_notify first).
    pub fn shutdown_write(&mut self) {
        match &mut self.stream {
            Stream::Tcp(s) => {
                let _ = s.shutdown(std::net::Shutdown::Write);
            }
            Stream::Unix(s) => {
                let _ = s.shutdown(std::net::Shutdown::Write);
            }
            Stream::Tls(t) => t.close(),
        }
    }

    pub fn can_read(&self) -> bool {
        if self.linger_until.is_some() {
            return !self.eof;
        }
        !self.connecting
            && !self.read_paused
            && !self.eof
            && !self.closing
            && self.out.len() < OUT_HIGH_WATER
    }

    /// One read into `buf`. `Ok(0)` = end of stream.
    pub fn read_into(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stream.read(buf)
    }
}

/// Parses "ip:port"; names are not resolved here (that would block).
pub fn socket_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not an ip:port address"))
}
