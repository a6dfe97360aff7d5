//! Binding the ingest listeners (TCP with TLS, plaintext TCP on loopback,
//! unix sockets) and accepting from them.

use super::stream::Stream;
use mio::net::{TcpListener, UnixListener};
use mio::{Interest, Registry, Token};
use nix::sys::stat::{Mode, umask};
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tocsin_config::{ListenEndpoint, Listener};

#[derive(Debug, thiserror::Error)]
pub enum IngestBindError {
    #[error("ingest listener {endpoint} (config line {line}): {source}")]
    Tls {
        endpoint: String,
        line: usize,
        #[source]
        source: tocsin_s2s::tls::TlsError,
    },
    #[error("cannot listen on {endpoint} (config line {line}): {source}")]
    Bind {
        endpoint: String,
        line: usize,
        #[source]
        source: io::Error,
    },
    #[error("ingest socket {0} is in use by another running process")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
    #[error("cannot register ingest listener {endpoint}: {source}")]
    Register {
        endpoint: String,
        #[source]
        source: io::Error,
    },
}

enum Sock {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

pub struct BoundListener {
    sock: Sock,
    /// `None`: plaintext.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The bound address (a configured port 0 resolved).
    pub local: String,
}

impl BoundListener {
    pub fn bind(l: &Listener) -> Result<BoundListener, IngestBindError> {
        let endpoint = l.endpoint.to_string();
        let tls = match &l.tls {
            None => None,
            Some(files) => Some(
                tocsin_s2s::tls::server_config(&files.client_ca, &files.cert, &files.key).map_err(
                    |source| IngestBindError::Tls {
                        endpoint: endpoint.clone(),
                        line: l.line,
                        source,
                    },
                )?,
            ),
        };
        let bind_err = |source| IngestBindError::Bind {
            endpoint: endpoint.clone(),
            line: l.line,
            source,
        };
        let (sock, local) = match &l.endpoint {
            ListenEndpoint::Tcp(addr) => {
                let t = TcpListener::bind(*addr).map_err(bind_err)?;
                let local = t.local_addr().map_err(bind_err)?;
                (Sock::Tcp(t), local.to_string())
            }
            ListenEndpoint::Unix(path) => {
                let u = bind_unix(path).map_err(|e| match e {
                    UnixBindError::Io(source) => bind_err(source),
                    UnixBindError::InUse => IngestBindError::InUse(path.clone()),
                    UnixBindError::NotASocket => IngestBindError::NotASocket(path.clone()),
                })?;
                (Sock::Unix(u, path.clone()), endpoint.clone())
            }
        };
        Ok(BoundListener { sock, tls, local })
    }

    /// The TCP address, if this is a TCP listener.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        match &self.sock {
            Sock::Tcp(t) => t.local_addr().ok(),
            Sock::Unix(..) => None,
        }
    }

    pub fn register(&mut self, registry: &Registry, token: Token) -> Result<(), IngestBindError> {
        let r = match &mut self.sock {
            Sock::Tcp(t) => registry.register(t, token, Interest::READABLE),
            Sock::Unix(u, _) => registry.register(u, token, Interest::READABLE),
        };
        r.map_err(|source| IngestBindError::Register {
            endpoint: self.local.clone(),
            source,
        })
    }

    pub fn deregister(&mut self, registry: &Registry) {
        let _ = match &mut self.sock {
            Sock::Tcp(t) => registry.deregister(t),
            Sock::Unix(u, _) => registry.deregister(u),
        };
    }

    /// One pending connection: `Ok(None)` when there is none left.
    pub fn accept(&self) -> io::Result<Option<(Stream, String)>> {
        loop {
            let r = match &self.sock {
                Sock::Tcp(t) => t.accept().map(|(s, a)| {
                    // ACKs are small and latency matters more than packets.
                    let _ = s.set_nodelay(true);
                    (Stream::Tcp(s), a.to_string())
                }),
                Sock::Unix(u, path) => u
                    .accept()
                    .map(|(s, _)| (Stream::Unix(s), format!("unix:{}", path.display()))),
            };
            match r {
                Ok(x) => return Ok(Some(x)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for BoundListener {
    fn drop(&mut self) {
        if let Sock::Unix(_, path) = &self.sock {
            let _ = std::fs::remove_file(path);
        }
    }
}

enum UnixBindError {
    Io(io::Error),
    InUse,
    NotASocket,
}

/// Like the admin socket: a stale file from a crash is replaced, a live
/// one is not; created 0660 from the start.
fn bind_unix(path: &Path) -> Result<UnixListener, UnixBindError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(UnixBindError::InUse);
            }
            let _ = std::fs::remove_file(path);
        }
        Ok(_) => return Err(UnixBindError::NotASocket),
        Err(_) => {}
    }
    let old = umask(Mode::from_bits_truncate(0o117));
    let bound = UnixListener::bind(path);
    umask(old);
    let l = bound.map_err(UnixBindError::Io)?;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660));
    Ok(l)
}
