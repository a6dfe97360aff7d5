//! S2S ingest (docs/s2s-protocol.md): the listeners and connections of
//! the event pipeline, on the daemon's loop.
//!
//! Each connection is a `Transport` (plain, or rustls with client
//! certificates) around a sans-IO `ServerSession`. A welcomed source's
//! EVENTs go through `event::admit` (its provisioning, then the shared
//! `ingest::admit`) into the iteration's batch with a
//! `Continuation::S2sAck`; the commit's outcome decides the event
//! (`accept`, also for a duplicate, or `reject`), and the ACKs are written
//! after the commit (`after_commit`). Backpressure is flow control: a
//! connection is not read while it has `max_undecided` events in the
//! batch, none is while the daemon has `max_pending`, and a source over
//! its rate is not read until its bucket has a token again.

mod conn;
mod drive;
mod event;
mod hooks;
mod listener;
mod policy;
mod stream;

pub use conn::S2sRef;
pub use listener::IngestBindError;

use crate::daemon::{Continuation, TimerKind};
use crate::timers::{TimerId, Timers};
use conn::S2sConn;
use drive::drive_conn;
use listener::BoundListener;
use mio::{Interest, Registry, Token};
use policy::{Bucket, Sources};
use slab::Slab;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tocsin_config::Ingest;
use tocsin_s2s::transport::Transport;
use tocsin_s2s::{Code, ServerConfig, ServerSession};
use tocsin_store::{Batch, OpError, OpOutcome, Store};

/// Tokens of ingest sockets: listeners first, then connections. Between
/// the admin connections (from 1 << 20) and the plugins (from 1 << 40).
pub const S2S_TOKEN_BASE: usize = 1 << 32;
const LISTENER_SLOTS: usize = 1 << 10;

/// How long a finished connection may take to write its last output.
const DONE_LINGER: Duration = Duration::from_secs(5);

fn conn_token(key: usize) -> Token {
    Token(S2S_TOKEN_BASE + LISTENER_SLOTS + key)
}

/// What ingest needs from the rest of the daemon while it runs.
pub struct Ctx<'a> {
    pub batch: &'a mut Batch<Continuation>,
    pub store: &'a Store,
    pub appliance_id: &'a str,
}

/// State every connection's processing shares.
struct Shared {
    sources: Sources,
    max_connections: usize,
    max_undecided: usize,
    max_pending: usize,
    /// Rate buckets by source name (sources with a `rate_limit`).
    buckets: HashMap<String, Bucket>,
    /// Events in the batch, waiting for the commit (all connections).
    pending: usize,
    stopping: bool,
    session: ServerConfig,
}

pub struct S2sServer {
    registry: Registry,
    listeners: Vec<BoundListener>,
    /// WELCOME addresses per listener index (kept after the listeners
    /// close at shutdown).
    advertise: Vec<Vec<String>>,
    conns: Slab<S2sConn>,
    next_generation: u64,
    shared: Shared,
    /// The loop timer standing for every connection's next deadline.
    armed: Option<(Instant, TimerId)>,
    keys: Vec<usize>,
}

impl S2sServer {
    /// Binds every configured listener (none: ingest is off).
    pub fn bind(cfg: &Ingest, registry: Registry) -> Result<S2sServer, IngestBindError> {
        let mut listeners = Vec::new();
        for (i, l) in cfg.listeners.iter().enumerate() {
            let mut b = BoundListener::bind(l)?;
            b.register(&registry, Token(S2S_TOKEN_BASE + i))?;
            listeners.push(b);
        }
        let advertise = advertised(cfg, &listeners);
        for (l, a) in listeners.iter().zip(&advertise) {
            log::info!(
                "ingest: listening on {} ({}){}",
                l.local,
                if l.tls.is_some() {
                    "TLS, client certificates required"
                } else {
                    "plaintext"
                },
                if a.is_empty() {
                    String::new()
                } else {
                    format!(", advertising {}", a.join(" "))
                }
            );
        }
        Ok(S2sServer {
            registry,
            listeners,
            advertise,
            conns: Slab::new(),
            next_generation: 1,
            shared: Shared::new(cfg),
            armed: None,
            keys: Vec::new(),
        })
    }

    pub fn local_addrs(&self) -> Vec<String> {
        self.listeners.iter().map(|l| l.local.clone()).collect()
    }

    /// Listeners and connections, for `tocsinctl status`.
    pub fn status(&self, now: Instant) -> tocsin_admin::IngestStatus {
        let listeners = self
            .listeners
            .iter()
            .map(|l| tocsin_admin::IngestListenerInfo {
                address: l.local.clone(),
                tls: l.tls.is_some(),
            })
            .collect();
        let connections = self
            .conns
            .iter()
            .map(|(_, c)| {
                let stats = c.session.stats();
                tocsin_admin::IngestConnInfo {
                    peer: c.peer.clone(),
                    listener: self
                        .listeners
                        .get(c.listener)
                        .map(|l| l.local.clone())
                        .unwrap_or_default(),
                    tls: c.tls,
                    source: c.source.as_ref().map(|p| p.cfg.name.clone()),
                    connected_s: now.saturating_duration_since(c.opened).as_secs(),
                    events_received: stats.delivered,
                    events_accepted: stats.accepted,
                    events_rejected: stats.rejected,
                    awaiting_ack: c.session.awaiting_ack(),
                }
            })
            .collect();
        tocsin_admin::IngestStatus {
            listeners,
            connections,
        }
    }

    /// Readiness of a listener or a connection.
    pub fn ready(&mut self, token: Token, readable: bool, writable: bool, cx: &mut Ctx<'_>) {
        let Some(off) = token.0.checked_sub(S2S_TOKEN_BASE) else {
            return;
        };
        if off < LISTENER_SLOTS {
            self.accept(off, cx);
            return;
        }
        let key = off - LISTENER_SLOTS;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if readable {
            conn.maybe_readable = true;
        }
        if writable && let Err(e) = conn.flush() {
            conn.failure.get_or_insert(e);
        }
        if readable && conn.rate_wait.is_none() {
            self.drive(key, cx);
        }
        self.close_if_done(key);
    }

    fn accept(&mut self, index: usize, cx: &mut Ctx<'_>) {
        loop {
            let Some(l) = self.listeners.get(index) else {
                return;
            };
            let (stream, peer) = match l.accept() {
                Ok(Some(x)) => x,
                Ok(None) => return,
                Err(e) => {
                    // EMFILE and friends: try again on the next readiness.
                    log::warn!("ingest: accept on {} failed: {e}", l.local);
                    return;
                }
            };
            if self.conns.len() >= self.shared.max_connections || self.shared.stopping {
                log::warn!(
                    "ingest: connection from {peer} closed at once: {} connections open (ingest.max_connections)",
                    self.conns.len()
                );
                continue;
            }
            let tls = l.tls.clone();
            let is_tls = tls.is_some();
            let mut transport = match tls {
                None => Transport::plain(stream),
                Some(cfg) => match rustls::ServerConnection::new(cfg) {
                    Ok(c) => Transport::tls(stream, c),
                    Err(e) => {
                        log::error!("ingest: TLS session for {peer}: {e}");
                        continue;
                    }
                },
            };
            let now = Instant::now();
            let session = ServerSession::new(self.shared.session.clone(), now);
            let entry = self.conns.vacant_entry();
            let key = entry.key();
            if let Err(e) = self.registry.register(
                transport.socket_mut(),
                conn_token(key),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                log::warn!("ingest: cannot register connection from {peer}: {e}");
                continue;
            }
            log::debug!("ingest: connection from {peer} on {}", l.local);
            let generation = self.next_generation;
            self.next_generation += 1;
            entry.insert(S2sConn::new(
                generation, transport, session, index, is_tls, peer, now,
            ));
            self.drive(key, cx);
            self.close_if_done(key);
        }
    }

    /// Reads and handles what a connection sent, as far as backpressure
    /// allows, then writes what it can.
    fn drive(&mut self, key: usize, cx: &mut Ctx<'_>) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let advertise = self
            .advertise
            .get(conn.listener)
            .map_or(&[][..], Vec::as_slice);
        drive_conn(key, conn, advertise, &mut self.shared, cx);
    }

    /// A committed (or failed) event of a connection: decide it. The ACK
    /// is written by `after_commit`.
    pub fn committed(&mut self, r: S2sRef, tsn: u32, outcome: Result<OpOutcome, OpError>) {
        self.shared.pending = self.shared.pending.saturating_sub(1);
        let Some(conn) = self
            .conns
            .get_mut(r.key)
            .filter(|c| c.generation == r.generation)
        else {
            // Closed meanwhile: the event is stored (or not); the source
            // resends it and a duplicate is acknowledged then.
            return;
        };
        conn.in_batch = conn.in_batch.saturating_sub(1);
        let now = Instant::now();
        let decided = match outcome {
            Ok(OpOutcome::EventInserted { .. } | OpOutcome::EventDuplicate { .. }) => {
                conn.session.accept(now, tsn)
            }
            Ok(_) => conn
                .session
                .reject(now, tsn, Code::Internal, "unexpected store outcome"),
            Err(OpError::Rejected(m)) => conn.session.reject(now, tsn, Code::Malformed, &m),
            Err(OpError::TransactionFailed(m)) => {
                conn.abort.get_or_insert(format!("store failure: {m}"));
                return;
            }
        };
        if let Err(e) = decided {
            log::debug!("ingest: {} ({}): TSN {tsn}: {e}", conn.peer, conn.who());
        }
    }

    /// After the commit: write the ACKs, read what backpressure held back,
    /// close finished connections, and re-arm the timer.
    pub fn after_commit(&mut self, cx: &mut Ctx<'_>, timers: &mut Timers<TimerKind>) {
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        keys.extend(self.conns.iter().map(|(k, _)| k));
        for &key in &keys {
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            if conn.abort.is_some() {
                self.close_if_done(key);
                continue;
            }
            if conn.rate_wait.is_none() && (conn.maybe_readable || conn.stalled) {
                self.drive(key, cx);
            } else if conn.wants_write()
                && let Err(e) = conn.flush()
            {
                conn.failure.get_or_insert(e);
            }
            self.close_if_done(key);
        }
        self.keys = keys;
        self.arm(timers);
    }

    /// The ingest timer fired: connection timers (heartbeats, HELLO
    /// timeout, goodbye linger) and rate-limit waits.
    pub fn timer(&mut self, cx: &mut Ctx<'_>) {
        self.armed = None;
        let now = Instant::now();
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        keys.extend(self.conns.iter().map(|(k, _)| k));
        for &key in &keys {
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            if conn.session.next_timeout().is_some_and(|t| t <= now)
                && let Err(e) = conn.session.on_timeout(now)
            {
                conn.failure.get_or_insert(e.to_string());
            }
            if conn.rate_wait.is_some_and(|t| t <= now) {
                conn.rate_wait = None;
                self.drive(key, cx);
            }
        }
        self.keys = keys;
    }

    /// Keeps one loop timer at the earliest connection deadline. A
    /// connection that stopped with input left over (and is not waiting
    /// for its rate) wants the next iteration at once, even when the batch
    /// is empty and no readiness event would wake the loop.
    fn arm(&mut self, timers: &mut Timers<TimerKind>) {
        let now = Instant::now();
        let want = self
            .conns
            .iter()
            .flat_map(|(_, c)| {
                [
                    c.session.next_timeout(),
                    c.rate_wait,
                    c.done_since.map(|t| t + DONE_LINGER),
                    (c.stalled && c.rate_wait.is_none() && !c.is_done()).then_some(now),
                ]
            })
            .flatten()
            .min();
        let Some(want) = want else {
            return;
        };
        if let Some((at, id)) = self.armed {
            if at <= want {
                return;
            }
            timers.cancel(id);
        }
        self.armed = Some((want, timers.schedule(want, TimerKind::S2s)));
    }

    fn close_if_done(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if !conn.is_done() {
            return;
        }
        // A session that ended normally first writes what it queued (the
        // last ACKs, a GOODBYE) — for a while: a peer that stops reading
        // must not keep the connection for ever. A broken one is closed at
        // once.
        let now = Instant::now();
        let since = *conn.done_since.get_or_insert(now);
        let broken = conn.abort.is_some() || conn.failure.is_some();
        if broken || !conn.wants_write() || now >= since + DONE_LINGER {
            self.close(key);
        }
    }

    fn close(&mut self, key: usize) {
        let Some(mut c) = self.conns.try_remove(key) else {
            return;
        };
        if c.abort.is_none() {
            // best effort: a GOODBYE the session queued for its error
            let _ = c.flush();
            c.transport.shutdown_write();
        }
        let _ = self.registry.deregister(c.transport.socket_mut());
        let st = c.session.stats();
        let why = c
            .abort
            .as_deref()
            .or(c.failure.as_deref())
            .or(c.session.error().map(|_| "session error"));
        let msg = format!(
            "ingest: connection from {} (source {}) closed after {:.1} s: {} events accepted, {} rejected",
            c.peer,
            c.who(),
            c.opened.elapsed().as_secs_f64(),
            st.accepted,
            st.rejected
        );
        match (why, c.session.error()) {
            (_, Some(e)) => log::warn!("{msg}: {e}"),
            (Some(w), None) => log::warn!("{msg}: {w}"),
            (None, None) => log::info!("{msg}"),
        }
    }

    /// Shutdown: stop accepting; sources get GOODBYE `shutting-down` once
    /// the events they sent are committed and acknowledged.
    pub fn begin_shutdown(&mut self, cx: &mut Ctx<'_>) {
        self.shared.stopping = true;
        for l in &mut self.listeners {
            l.deregister(&self.registry);
        }
        // Dropping them closes the sockets and removes unix socket files.
        self.listeners.clear();
        let now = Instant::now();
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            if conn.source.is_none() {
                self.close(key);
                continue;
            }
            conn.session
                .goodbye(now, Code::ShuttingDown, "tocsind is shutting down");
            self.drive(key, cx);
            self.close_if_done(key);
        }
    }

    /// Nothing left to say to any source.
    pub fn is_quiet(&self) -> bool {
        self.conns.is_empty()
    }

    /// SIGHUP: new sources and bounds apply at once; listeners need a
    /// restart. A connected source that is no longer provisioned is told
    /// GOODBYE `unauthorized-source`.
    pub fn reload(&mut self, cfg: &Ingest, old: &Ingest) {
        if cfg.listeners != old.listeners || cfg.advertise != old.advertise {
            log::warn!("ingest listeners changed; they take effect after a restart");
        }
        self.shared.sources = Sources::new(&cfg.sources);
        self.shared.max_connections = cfg.max_connections;
        self.shared.max_undecided = cfg.max_undecided;
        self.shared.max_pending = cfg.max_pending;
        let now = Instant::now();
        for (_, conn) in &mut self.conns {
            let Some(old) = conn.source.take() else {
                continue;
            };
            match self.shared.sources.get(&old.cfg.name) {
                Some(new) if new.cfg.certificate == old.cfg.certificate => {
                    conn.source = Some(new.clone());
                }
                _ => {
                    log::warn!(
                        "ingest: source {} is no longer provisioned as it connected; ending its session from {}",
                        old.cfg.name,
                        conn.peer
                    );
                    conn.session.goodbye(
                        now,
                        Code::UnauthorizedSource,
                        "source no longer provisioned",
                    );
                    conn.source = Some(old);
                }
            }
        }
    }
}

impl Shared {
    fn new(cfg: &Ingest) -> Shared {
        Shared {
            sources: Sources::new(&cfg.sources),
            max_connections: cfg.max_connections,
            max_undecided: cfg.max_undecided,
            max_pending: cfg.max_pending,
            buckets: HashMap::new(),
            pending: 0,
            stopping: false,
            session: ServerConfig::default(),
        }
    }
}

/// WELCOME addresses per listener: `ingest.advertise` if set, else the
/// TCP listeners of the same kind (TLS or plaintext) with a specific
/// address — `0.0.0.0` would send a source to its own host.
fn advertised(cfg: &Ingest, listeners: &[BoundListener]) -> Vec<Vec<String>> {
    listeners
        .iter()
        .map(|l| {
            if !cfg.advertise.is_empty() {
                return cfg.advertise.clone();
            }
            if l.tcp_addr().is_none() {
                return Vec::new();
            }
            listeners
                .iter()
                .filter(|o| o.tls.is_some() == l.tls.is_some())
                .filter_map(BoundListener::tcp_addr)
                .filter(|a| !a.ip().is_unspecified())
                .map(|a| a.to_string())
                .take(16)
                .collect()
        })
        .collect()
}
