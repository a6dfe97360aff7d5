//! The plugin instance: host handles, per-connection state, emitted events waiting for
//! their commit, counters. The HTTP and datagram halves live in `http_service` and
//! `cyrus_socket`.

use crate::config::Settings;
use crate::log_limit::LogLimiter;
use crate::responses;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};
use tocsin_httpcodec::ServerConn;
use tocsin_sdk::{CommitResult, Handle, Host, Plugin, SocketKind, SourcePlugin, TimerId};

/// One HTTP connection.
pub(crate) struct HttpConn {
    pub codec: ServerConn,
    pub peer: String,
    /// We asked the host to stop reading (codec backpressure or a full output buffer).
    pub read_paused: bool,
    /// `send` said WouldBlock: wait for `on_writable` before sending more.
    pub write_blocked: bool,
    /// The armed host timer and when it fires.
    pub timer: Option<(TimerId, Instant)>,
    /// `close` was requested; `on_closed` follows.
    pub closing: bool,
}

/// Where the answer to an emitted event goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin {
    Http { conn: Handle, seq: u64 },
    Datagram,
}

#[derive(Debug)]
pub(crate) struct Pending {
    pub origin: Origin,
    pub key: String,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub http_requests: u64,
    pub http_refused: u64,
    pub ignored: u64,
    pub datagrams: u64,
    pub datagrams_dropped: u64,
    /// Accepted datagrams whose event ingest then refused or failed to store: Cyrus cannot
    /// resend them.
    pub datagrams_lost: u64,
}

pub struct MailSource {
    pub(crate) host: Host,
    pub(crate) name: String,
    pub(crate) settings: Settings,
    pub(crate) http_listener: Option<Handle>,
    pub(crate) conns: HashMap<Handle, HttpConn>,
    pub(crate) timers: HashMap<TimerId, Handle>,
    pub(crate) pending: HashMap<u64, Pending>,
    pub(crate) pending_datagrams: usize,
    next_token: u64,
    pub(crate) stats: Stats,
    pub(crate) input_log: LogLimiter,
}

impl MailSource {
    pub(crate) fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    fn open_http(host: &Host, settings: &Settings) -> Result<Option<Handle>, String> {
        let Some(http) = &settings.http else {
            return Ok(None);
        };
        let addr = http.listen.to_string();
        let l = host
            .listen(SocketKind::Tcp, &addr, None)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = host.local_addr(l).unwrap_or(addr);
        if http.listen.ip().is_loopback() {
            log::info!("HTTP endpoint on {local} (plaintext, loopback)");
        } else {
            // TLS is not available to plugins yet; the Basic credentials cross the wire
            // in clear text.
            log::warn!(
                "HTTP endpoint on {local} is plaintext and not on loopback: use it only on a trusted network"
            );
        }
        for (path, endpoint) in &http.routes {
            log::info!("  {path}: {endpoint:?}");
        }
        Ok(Some(l))
    }

    fn open_cyrus(host: &Host, settings: &Settings) -> Result<(), String> {
        let Some(cyrus) = &settings.cyrus else {
            return Ok(());
        };
        let path = cyrus.path.display().to_string();
        host.bind_datagram(SocketKind::UnixDatagram, &path)
            .map_err(|e| format!("cannot bind the Cyrus socket {path}: {e}"))?;
        if let Some(mode) = cyrus.mode {
            // The host creates the file with the daemon's umask; Cyrus (another user)
            // needs write permission on it.
            std::fs::set_permissions(&cyrus.path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("cannot set mode {mode:o} on {path}: {e}"))?;
        }
        log::info!(
            "Cyrus notify socket {path} (datagrams carry no acknowledgement: what is dropped here is lost)"
        );
        Ok(())
    }
}

impl Plugin for MailSource {
    const NAME: &'static str = "mail";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn validate_config(config: &str) -> Result<(), String> {
        Settings::parse(config)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn create(host: Host, instance: &str, config: &str) -> Result<Self, String> {
        let settings = Settings::parse(config).map_err(|e| e.to_string())?;
        let http_listener = Self::open_http(&host, &settings)?;
        Self::open_cyrus(&host, &settings)?;
        Ok(MailSource {
            host,
            name: instance.to_string(),
            settings,
            http_listener,
            conns: HashMap::new(),
            timers: HashMap::new(),
            pending: HashMap::new(),
            pending_datagrams: 0,
            next_token: 0,
            stats: Stats::default(),
            input_log: LogLimiter::new(20, Duration::from_secs(60)),
        })
    }

    fn on_accept(&mut self, listener: Handle, conn: Handle, peer: &str) {
        let (Some(http), true) = (&self.settings.http, Some(listener) == self.http_listener) else {
            // Not from our HTTP listener (cannot happen: it is the only one); never leave
            // a connection nobody serves.
            let _ = self.host.close(conn);
            return;
        };
        self.conns.insert(
            conn,
            HttpConn {
                codec: ServerConn::new(http.limits.clone(), Instant::now()),
                peer: peer.to_string(),
                read_paused: false,
                write_blocked: false,
                timer: None,
                closing: false,
            },
        );
        self.service(conn);
    }

    fn on_data(&mut self, conn: Handle, data: &[u8]) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.codec.feed(data, Instant::now());
            self.service(conn);
        }
    }

    fn on_datagram(&mut self, _sock: Handle, data: &[u8], _peer: &str) {
        self.datagram(data);
    }

    fn on_writable(&mut self, conn: Handle) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.write_blocked = false;
            self.service(conn);
        }
    }

    fn on_closed(&mut self, conn: Handle, reason: &str) {
        if let Some(c) = self.conns.remove(&conn) {
            log::debug!("connection from {} closed: {reason}", c.peer);
            if let Some((t, _)) = c.timer {
                self.timers.remove(&t);
                let _ = self.host.cancel_timer(t);
            }
        }
    }

    fn on_timer(&mut self, timer: TimerId) {
        if let Some(conn) = self.timers.remove(&timer) {
            self.timer_fired(conn, timer);
        }
    }
}

impl SourcePlugin for MailSource {
    fn on_committed(&mut self, token: u64, result: CommitResult) {
        let Some(p) = self.pending.remove(&token) else {
            return;
        };
        match p.origin {
            Origin::Http { conn, seq } => {
                if let CommitResult::Rejected { .. } | CommitResult::Failed { .. } = &result {
                    log::warn!("event {} not stored: {result:?}", p.key);
                }
                if self.conns.contains_key(&conn) {
                    let retry = self
                        .settings
                        .http
                        .as_ref()
                        .map_or(1, |h| h.retry_after_secs);
                    self.respond(conn, seq, responses::committed(&result, retry));
                    self.service(conn);
                } else {
                    log::debug!(
                        "event {} committed ({result:?}) after its connection closed",
                        p.key
                    );
                }
            }
            Origin::Datagram => {
                self.pending_datagrams = self.pending_datagrams.saturating_sub(1);
                self.datagram_committed(&p.key, &result);
            }
        }
    }
}

impl Drop for MailSource {
    fn drop(&mut self) {
        let s = &self.stats;
        log::info!(
            "mail source {} stopping: {} HTTP requests ({} refused), {} events ignored by filters, {} datagrams ({} dropped, {} lost after acceptance)",
            self.name,
            s.http_requests,
            s.http_refused,
            s.ignored,
            s.datagrams,
            s.datagrams_dropped,
            s.datagrams_lost
        );
    }
}
