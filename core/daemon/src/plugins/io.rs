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
/// Largest chunk handed to `on_data` at once.
pub const READ_CHUNK: usize = 64 * 1024;
/// Datagrams or reads per readiness event before yielding to others.
pub const READ_BUDGET: usize = 64;
/// Connections per instance.
pub const MAX_CONNECTIONS: usize = 4096;

pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
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
}

pub enum SocketKind {
    TcpListener(TcpListener),
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
            SocketKind::TcpListener(l) => l,
            SocketKind::UnixListener(l, _) => l,
            SocketKind::Conn(c) => c.stream.source(),
            SocketKind::Udp(u) => u,
            SocketKind::UnixDgram(u, _) => u,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            SocketKind::TcpListener(_) => "tcp-listener",
            SocketKind::UnixListener(..) => "unix-listener",
            SocketKind::Conn(c) => match c.stream {
                Stream::Tcp(_) => "tcp",
                Stream::Unix(_) => "unix",
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
        result
    }

    pub fn can_read(&self) -> bool {
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
