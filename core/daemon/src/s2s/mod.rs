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
use listener::BoundListener;
use mio::{Interest, Registry, Token};
use policy::{Bucket, Sources};
use slab::Slab;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tocsin_config::Ingest;
use tocsin_s2s::msg::{Role, VERSION, Welcome};
use tocsin_s2s::transport::Transport;
use tocsin_s2s::{Code, ServerConfig, ServerEvent, ServerSession};
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
            Ok(OpOutcome::Done) => {
                conn.session
                    .reject(now, tsn, Code::Internal, "unexpected store outcome")
            }
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

/// Reads and handles a connection's input until it would block, runs dry
/// or backpressure stops it; then writes.
fn drive_conn(
    key: usize,
    conn: &mut S2sConn,
    advertise: &[String],
    sh: &mut Shared,
    cx: &mut Ctx<'_>,
) {
    if conn.is_done() {
        return;
    }
    let r = S2sRef {
        key,
        generation: conn.generation,
    };
    let now = Instant::now();
    // Messages decided at once (rejections) are not undecided, so they need
    // their own bound: one connection must not keep the loop to itself.
    let mut budget = sh.max_undecided;
    loop {
        let blocked = deliver(r, conn, advertise, sh, cx, now, &mut budget);
        if blocked || conn.failure.is_some() || !conn.maybe_readable {
            break;
        }
        match conn.transport.read(&mut conn.session) {
            // Stopped short of WouldBlock only when the session's buffer
            // filled up: then there may be more to read.
            Ok(st) => conn.maybe_readable = st.buffer_full && !st.eof,
            Err(e) => {
                conn.failure = Some(if conn.transport.is_handshaking() {
                    format!("TLS handshake: {e}")
                } else {
                    format!("read: {e}")
                });
            }
        }
    }
    if let Err(e) = conn.flush() {
        conn.failure.get_or_insert(e);
    }
}

/// Handles decoded messages. True when stopped by backpressure, the rate
/// limit or the budget (input may be left in the session's buffer).
fn deliver(
    r: S2sRef,
    conn: &mut S2sConn,
    advertise: &[String],
    sh: &mut Shared,
    cx: &mut Ctx<'_>,
    now: Instant,
    budget: &mut usize,
) -> bool {
    loop {
        if conn.session.undecided() >= sh.max_undecided
            || sh.pending >= sh.max_pending
            || *budget == 0
        {
            conn.stalled = true;
            return true;
        }
        let mut bucket = None;
        if let Some(src) = &conn.source
            && let Some(limit) = src.cfg.rate_limit
        {
            let b = match sh.buckets.get_mut(&src.cfg.name) {
                Some(b) if b.limit() == limit => b,
                _ => {
                    sh.buckets
                        .insert(src.cfg.name.clone(), Bucket::new(limit, now));
                    match sh.buckets.get_mut(&src.cfg.name) {
                        Some(b) => b,
                        None => return false,
                    }
                }
            };
            if let Err(at) = b.check(now) {
                conn.rate_wait = Some(at);
                conn.stalled = true;
                return true;
            }
            bucket = Some(b);
        }
        let ev = match conn.session.poll(now) {
            Ok(Some(ev)) => {
                *budget -= 1;
                ev
            }
            Ok(None) => {
                conn.stalled = false;
                return false;
            }
            Err(e) => {
                conn.failure = Some(e.to_string());
                return false;
            }
        };
        match ev {
            ServerEvent::Event(ev) => {
                let tsn = ev.tsn;
                let decision = match conn.source.as_deref() {
                    Some(src) => event::admit(&ev, src),
                    // the session delivers events only after WELCOME
                    None => Err((Code::ProtocolError, "EVENT before WELCOME".to_string())),
                };
                if let Some(b) = bucket {
                    b.take();
                }
                match decision {
                    Ok(op) => {
                        cx.batch.push(op, Continuation::S2sAck { conn: r, tsn });
                        sh.pending += 1;
                        conn.in_batch += 1;
                    }
                    Err((code, text)) => {
                        log::debug!(
                            "ingest: {} ({}): event TSN {tsn} rejected: {code}: {text}",
                            conn.peer,
                            conn.who()
                        );
                        let _ = conn.session.reject(now, tsn, code, &text);
                    }
                }
            }
            ServerEvent::Hello(h) => {
                let name = h.source.to_owned();
                let software = h.software.to_owned();
                hello(conn, &name, &software, advertise, sh, cx, now);
            }
            ServerEvent::Rejected { tsn, code, error } => {
                log::debug!(
                    "ingest: {} ({}): event TSN {tsn} rejected: {code}: {error}",
                    conn.peer,
                    conn.who()
                );
            }
            ServerEvent::Goodbye { code, text } => {
                log::info!(
                    "ingest: {} ({}) says goodbye: {code}: {text}",
                    conn.peer,
                    conn.who()
                );
            }
            ServerEvent::Closed => {}
        }
    }
}

/// A HELLO: authorize the source for this connection, then WELCOME
/// (with the resume point) or refuse with `unauthorized-source`.
fn hello(
    conn: &mut S2sConn,
    name: &str,
    software: &str,
    advertise: &[String],
    sh: &mut Shared,
    cx: &mut Ctx<'_>,
    now: Instant,
) {
    if sh.stopping {
        conn.session
            .refuse(now, Code::ShuttingDown, "tocsind is shutting down");
        return;
    }
    let src = match sh.sources.authorize(name, conn.tls, conn.peer_leaf()) {
        Ok(s) => s,
        Err(why) => {
            log::warn!("ingest: {}: HELLO as {name:?} refused: {why}", conn.peer);
            conn.session
                .refuse(now, Code::UnauthorizedSource, &why.to_string());
            return;
        }
    };
    let resume = cx.store.source_resume(name).unwrap_or_else(|e| {
        // advisory: without it the source resends everything
        log::warn!("ingest: {e}");
        None
    });
    let max = src.cfg.max_event_bytes.min(conn.session.max_event_bytes());
    let welcome = Welcome {
        version: VERSION,
        appliance_id: cx.appliance_id,
        role: Role::Active,
        addresses: advertise.iter().map(String::as_str).collect(),
        resume: resume.as_deref(),
        max_event_bytes: u32::try_from(max).ok(),
    };
    match conn.session.welcome(now, &welcome) {
        Ok(()) => {
            log::info!(
                "ingest: source {name} ({software}) connected from {}{}",
                conn.peer,
                if conn.tls {
                    " over TLS"
                } else {
                    " (plaintext)"
                }
            );
            conn.source = Some(src);
        }
        Err(e) => {
            log::error!("ingest: cannot welcome {name} from {}: {e}", conn.peer);
            conn.session
                .refuse(now, Code::Internal, "cannot build WELCOME");
        }
    }
}
