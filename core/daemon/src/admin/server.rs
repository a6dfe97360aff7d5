//! Binding the admin socket and accepting connections.

use super::access::AccessPolicy;
use super::conn::{AdminConn, ConnRef};
use mio::net::UnixListener;
use mio::{Interest, Registry, Token};
use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use nix::sys::stat::{Mode, umask};
use slab::Slab;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("admin socket directory {0} does not exist")]
    NoDirectory(PathBuf),
    #[error("admin socket {0} is in use by another running process")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
    #[error("cannot bind admin socket {path}: {source}")]
    Bind {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub struct AdminServer {
    listener: Option<UnixListener>,
    path: PathBuf,
    pub conns: Slab<AdminConn>,
    next_generation: u64,
    pub policy: AccessPolicy,
    pub max_request: u32,
    pub draining: bool,
}

/// Connections idle longer than this are closed.
pub const IDLE_LIMIT: Duration = Duration::from_secs(300);

impl AdminServer {
    pub fn bind(path: &Path, policy: AccessPolicy, max_request: u32) -> Result<Self, BindError> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(BindError::NoDirectory(dir.to_path_buf()));
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => {
                // A live daemon answers; a stale file from a crash does not.
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(BindError::InUse(path.to_path_buf()));
                }
                let _ = std::fs::remove_file(path);
            }
            Ok(_) => return Err(BindError::NotASocket(path.to_path_buf())),
            Err(_) => {}
        }
        // Created 0660 from the start (no window with wider permissions).
        let old = umask(Mode::from_bits_truncate(0o117));
        let bound = UnixListener::bind(path);
        umask(old);
        let listener = bound.map_err(|source| BindError::Bind {
            path: path.to_path_buf(),
            source,
        })?;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660));
        if let Some(gid) = policy.admin_gid()
            && let Err(e) = nix::unistd::chown(path, None, Some(gid))
        {
            log::warn!(
                "cannot give admin socket {} to group {gid}: {e}; only root and the daemon's user can use it",
                path.display()
            );
        }
        Ok(AdminServer {
            listener: Some(listener),
            path: path.to_path_buf(),
            conns: Slab::new(),
            next_generation: 1,
            policy,
            max_request,
            draining: false,
        })
    }

    pub fn register(&mut self, registry: &Registry, token: Token) -> std::io::Result<()> {
        if let Some(l) = self.listener.as_mut() {
            registry.register(l, token, Interest::READABLE)?;
        }
        Ok(())
    }

    /// Stops accepting and removes the socket file (shutdown).
    pub fn stop_accepting(&mut self, registry: &Registry) {
        if let Some(mut l) = self.listener.take() {
            let _ = registry.deregister(&mut l);
            let _ = std::fs::remove_file(&self.path);
        }
        self.draining = true;
    }

    /// Accepts every pending connection; returns the new slab keys.
    pub fn accept_all(
        &mut self,
        registry: &Registry,
        token_of: impl Fn(usize) -> Token,
    ) -> Vec<usize> {
        let mut added = Vec::new();
        let Some(listener) = self.listener.as_ref() else {
            return added;
        };
        loop {
            let (mut stream, _) = match listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: try again on the next readiness.
                    log::warn!("admin accept failed: {e}");
                    break;
                }
            };
            let (uid, refused) = match getsockopt(&stream, PeerCredentials) {
                Ok(cred) => {
                    let verdict = self.policy.check(cred.uid(), cred.gid());
                    if let Err(why) = &verdict {
                        log::warn!("admin connection from pid {} refused: {why}", cred.pid());
                    }
                    (cred.uid(), verdict.err())
                }
                Err(e) => (u32::MAX, Some(format!("cannot read peer credentials: {e}"))),
            };
            let generation = self.next_generation;
            self.next_generation += 1;
            let entry = self.conns.vacant_entry();
            let key = entry.key();
            if let Err(e) = registry.register(
                &mut stream,
                token_of(key),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                log::warn!("cannot register admin connection: {e}");
                continue;
            }
            entry.insert(AdminConn::new(
                stream,
                generation,
                self.max_request,
                uid,
                refused,
            ));
            added.push(key);
        }
        added
    }

    pub fn get_mut(&mut self, r: ConnRef) -> Option<&mut AdminConn> {
        self.conns
            .get_mut(r.key)
            .filter(|c| c.generation == r.generation)
    }

    pub fn close(&mut self, registry: &Registry, key: usize) {
        if let Some(mut c) = self.conns.try_remove(key) {
            let _ = registry.deregister(&mut c.stream);
        }
    }

    pub fn idle_keys(&self, now: Instant) -> Vec<usize> {
        self.conns
            .iter()
            .filter(|(_, c)| !c.busy && now.duration_since(c.last_active) > IDLE_LIMIT)
            .map(|(k, _)| k)
            .collect()
    }

    pub fn is_quiet(&self) -> bool {
        self.conns.iter().all(|(_, c)| !c.busy && !c.has_output())
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        if self.listener.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
