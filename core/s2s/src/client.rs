//! A blocking client for Rust event sources: one mio `Poll`, one socket, no
//! extra threads.
//!
//! It connects to the first reachable address of an ordered list (the
//! configured one, then the pool's list from WELCOME), walks the list when a
//! connection fails, backs off exponentially (capped) after a full round of
//! failures, and resends every event that was never acked on the next
//! connection, in order, with the same source event ids.

mod backoff;

use std::collections::VecDeque;
use std::io;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use self::backoff::Backoff;
use crate::client_session::{
    ClientConfig, ClientEvent, ClientSendError, ClientSession, EventResult, Outcome, PendingEvent,
    WelcomeInfo, split_resumed,
};
use crate::code::Code;
use crate::event::Event;
use crate::msg::{MsgError, Role};
use crate::tls::{self, TlsError};
use crate::transport::Transport;

const TOKEN: Token = Token(0);

/// Everything the [`Client`] needs.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Server addresses (`host:port`), in order of preference.
    pub servers: Vec<String>,
    /// Session settings (source name, namespaces, window...).
    pub session: ClientConfig,
    /// TLS configuration; `None` = plaintext (servers allow it only where
    /// explicitly configured, e.g. loopback).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Per-address TCP connect timeout.
    pub connect_timeout: Duration,
    /// First reconnect delay after a full round of failed addresses.
    pub backoff_initial: Duration,
    /// Cap of the reconnect delay.
    pub backoff_max: Duration,
    /// Limit for each blocking call (`connect`, `send`, `flush`, `close`);
    /// `None` waits for ever.
    pub timeout: Option<Duration>,
    /// Use the WELCOME resume point to skip resending events the server
    /// already decided (reported as [`Outcome::Skipped`]).
    pub skip_resumed: bool,
}

impl ClientOptions {
    /// Defaults: 5 s connect timeout, backoff 250 ms doubling to 30 s, no
    /// overall timeout, resend everything.
    #[must_use]
    pub fn new(servers: Vec<String>, session: ClientConfig) -> Self {
        Self {
            servers,
            session,
            tls: None,
            connect_timeout: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            timeout: None,
            skip_resumed: false,
        }
    }
}

/// Why a [`Client`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `servers` was empty.
    #[error("no server address configured")]
    NoServers,
    /// No server accepted a session before the timeout.
    #[error("no server reachable ({attempts} attempts); last error: {last}")]
    Unreachable {
        /// Connection attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// A server refused us with a final code (e.g. `unauthorized-source`).
    #[error("refused by {server}: {code}: {text}")]
    Refused {
        /// Which server.
        server: String,
        /// Its code.
        code: Code,
        /// Its text.
        text: String,
    },
    /// Connected, but events were still unconfirmed at the timeout.
    #[error("timed out with {pending} events unconfirmed")]
    Timeout {
        /// Events not yet acked.
        pending: usize,
    },
    /// The event breaks a protocol rule and can never be sent.
    #[error("event {source_event_id:?} not sent: {error}")]
    Invalid {
        /// Its id.
        source_event_id: String,
        /// Why.
        error: ClientSendError,
    },
    /// The HELLO built from the options is invalid (e.g. bad source name).
    #[error("invalid client settings: {0}")]
    Settings(MsgError),
    /// TLS set-up failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The poller failed.
    #[error("poll: {0}")]
    Io(#[from] io::Error),
}

struct Live {
    addr: String,
    transport: Transport,
    session: ClientSession,
    welcomed: bool,
    /// The server said goodbye at this time; drop the connection once it
    /// closes or the linger passes.
    leaving_since: Option<Instant>,
}

/// A blocking S2S client.
pub struct Client {
    opts: ClientOptions,
    poll: Poll,
    events: Events,
    addrs: Vec<String>,
    cursor: usize,
    live: Option<Live>,
    resend: VecDeque<PendingEvent>,
    results: Vec<EventResult>,
    backoff: Backoff,
    /// Connection attempts since the last good WELCOME.
    failures: usize,
    attempts: u32,
    last_error: String,
    welcome: Option<WelcomeInfo>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.live.as_ref().map(|l| &l.addr))
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connect to the first server that welcomes us.
    pub fn connect(opts: ClientOptions) -> Result<Self, ClientError> {
        if opts.servers.is_empty() {
            return Err(ClientError::NoServers);
        }
        let mut c = Self {
            poll: Poll::new()?,
            events: Events::with_capacity(8),
            addrs: opts.servers.clone(),
            cursor: 0,
            live: None,
            resend: VecDeque::new(),
            results: Vec::new(),
            backoff: Backoff::new(opts.backoff_initial, opts.backoff_max),
            failures: 0,
            attempts: 0,
            last_error: String::new(),
            welcome: None,
            opts,
        };
        let deadline = c.deadline();
        c.until(deadline, |c| c.is_ready())?;
        Ok(c)
    }

    /// The server currently connected, if any.
    #[must_use]
    pub fn server(&self) -> Option<&str> {
        self.live.as_ref().map(|l| l.addr.as_str())
    }

    /// The latest WELCOME.
    #[must_use]
    pub fn welcome(&self) -> Option<&WelcomeInfo> {
        self.welcome.as_ref()
    }

    /// Events sent or queued whose outcome is not known yet.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.resend.len() + self.live.as_ref().map_or(0, |l| l.session.in_flight())
    }

    /// Outcomes collected so far (also after an error).
    pub fn take_results(&mut self) -> Vec<EventResult> {
        std::mem::take(&mut self.results)
    }

    /// Send one event. Returns once it is queued on a connection (blocking
    /// while the in-flight window is full); its outcome arrives through
    /// [`Client::flush`]. Written to the socket right away.
    pub fn send(&mut self, event: &Event) -> Result<(), ClientError> {
        self.send_all(std::iter::once(event))
    }

    /// Send several events, writing them to the socket in batches.
    pub fn send_all<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<(), ClientError> {
        let deadline = self.deadline();
        for event in events {
            loop {
                self.until(deadline, |c| c.is_ready() && c.resend.is_empty())?;
                let now = Instant::now();
                let Some(live) = self.live.as_mut() else {
                    continue;
                };
                match live.session.send(now, event) {
                    Ok(_) => break,
                    Err(e) if e.is_final() => {
                        return Err(ClientError::Invalid {
                            source_event_id: event.source_event_id.clone(),
                            error: e,
                        });
                    }
                    // window or buffer full, or the session is ending
                    Err(_) => self.step(deadline, true)?,
                }
            }
        }
        // push the batch out without waiting
        self.step(deadline, false)
    }

    /// Wait until every event sent so far has an outcome; returns the
    /// outcomes collected since the last call.
    pub fn flush(&mut self) -> Result<Vec<EventResult>, ClientError> {
        let deadline = self.deadline();
        self.until(deadline, |c| c.pending() == 0)?;
        Ok(self.take_results())
    }

    /// Flush, say GOODBYE and close the connection.
    pub fn close(mut self) -> Result<Vec<EventResult>, ClientError> {
        let results = self.flush()?;
        let deadline = self.deadline();
        if let Some(live) = self.live.as_mut() {
            live.session
                .close(Instant::now(), Code::Normal, "source closing");
            // best effort: wait for the GOODBYE's ACK, then leave
            let _ = self.until(deadline, |c| {
                c.live.as_ref().is_none_or(|l| l.session.is_finished())
            });
            if let Some(mut live) = self.live.take() {
                let _ = live.transport.write(&mut live.session);
                live.transport.shutdown_write();
            }
        }
        Ok(results)
    }

    fn is_ready(&self) -> bool {
        self.live
            .as_ref()
            .is_some_and(|l| l.session.is_ready() && l.leaving_since.is_none())
    }

    fn deadline(&self) -> Option<Instant> {
        self.opts.timeout.map(|t| Instant::now() + t)
    }

    /// Drive I/O until `done` holds or the deadline passes.
    fn until(
        &mut self,
        deadline: Option<Instant>,
        done: impl Fn(&Self) -> bool,
    ) -> Result<(), ClientError> {
        loop {
            if done(self) {
                return Ok(());
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(self.timeout_error());
            }
            self.step(deadline, true)?;
        }
    }

    fn timeout_error(&self) -> ClientError {
        if self.is_ready() {
            ClientError::Timeout {
                pending: self.pending(),
            }
        } else {
            ClientError::Unreachable {
                attempts: self.attempts,
                last: if self.last_error.is_empty() {
                    "timeout".to_owned()
                } else {
                    self.last_error.clone()
                },
            }
        }
    }

    /// One round: connect if needed, move bytes, process; wait for the
    /// socket or a timer only when the round achieved nothing.
    fn step(&mut self, deadline: Option<Instant>, wait: bool) -> Result<(), ClientError> {
        if self.live.is_none() {
            return self.connect_next(deadline);
        }
        let progressed = self.pump()?;
        if wait && !progressed && self.live.is_some() {
            self.wait(deadline)?;
        }
        Ok(())
    }

    fn connect_next(&mut self, deadline: Option<Instant>) -> Result<(), ClientError> {
        // After a full round of failures, pause before the next round.
        if self.failures > 0 && self.failures % self.addrs.len() == 0 {
            let pause = self.backoff.next_delay();
            let pause = match deadline {
                Some(d) => pause.min(d.saturating_duration_since(Instant::now())),
                None => pause,
            };
            log::debug!("s2s: all servers failed, retrying in {pause:?}");
            std::thread::sleep(pause);
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(self.timeout_error());
            }
        }
        let addr = self.addrs[self.cursor % self.addrs.len()].clone();
        self.cursor = (self.cursor + 1) % self.addrs.len();
        self.attempts += 1;
        match self.open(&addr, deadline) {
            Ok(live) => {
                log::debug!("s2s: connected to {addr}");
                self.live = Some(live);
                Ok(())
            }
            Err(OpenError::Fatal(e)) => Err(e),
            Err(OpenError::Retry(e)) => {
                log::debug!("s2s: {addr}: {e}");
                self.failures += 1;
                self.last_error = format!("{addr}: {e}");
                Ok(())
            }
        }
    }

    fn open(&mut self, addr: &str, deadline: Option<Instant>) -> Result<Live, OpenError> {
        let mut timeout = self.opts.connect_timeout;
        if let Some(d) = deadline {
            timeout = timeout.min(d.saturating_duration_since(Instant::now()));
        }
        let timeout = timeout.max(Duration::from_millis(1));
        let resolved = addr.to_socket_addrs().map_err(OpenError::Retry)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "address resolved to nothing");
        let std_sock = resolved
            .into_iter()
            .find_map(
                |sa| match std::net::TcpStream::connect_timeout(&sa, timeout) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        last = e;
                        None
                    }
                },
            )
            .ok_or(OpenError::Retry(last))?;
        std_sock.set_nodelay(true).map_err(OpenError::Retry)?;
        std_sock.set_nonblocking(true).map_err(OpenError::Retry)?;
        let sock = TcpStream::from_std(std_sock);
        let mut transport = match &self.opts.tls {
            None => Transport::plain(sock),
            Some(cfg) => {
                let name = tls::server_name(addr).map_err(|e| OpenError::Fatal(e.into()))?;
                let conn = rustls::ClientConnection::new(cfg.clone(), name)
                    .map_err(|e| OpenError::Fatal(TlsError::from(e).into()))?;
                Transport::tls(sock, conn)
            }
        };
        self.poll
            .registry()
            .register(
                transport.socket_mut(),
                TOKEN,
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(OpenError::Retry)?;
        let session = ClientSession::new(self.opts.session.clone(), Instant::now())
            .map_err(|e| OpenError::Fatal(ClientError::Settings(e)))?;
        Ok(Live {
            addr: addr.to_owned(),
            transport,
            session,
            welcomed: false,
            leaving_since: None,
        })
    }

    /// Write, read, process, resend, write. Returns true when anything
    /// arrived (or the receive buffer filled up): the caller's condition may
    /// now hold, or more is waiting, so it must not block before checking.
    fn pump(&mut self) -> Result<bool, ClientError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(false);
        };
        if let Err(e) = live.transport.write(&mut live.session) {
            self.kill(&format!("write: {e}"));
            return Ok(false);
        }
        let status = match live.transport.read(&mut live.session) {
            Ok(s) => s,
            Err(e) => {
                self.kill(&format!("read: {e}"));
                return Ok(false);
            }
        };
        let now = Instant::now();
        let mut progressed = status.bytes > 0 || status.buffer_full;
        loop {
            let Some(live) = self.live.as_mut() else {
                return Ok(true);
            };
            match live.session.poll(now) {
                Ok(Some(ev)) => {
                    progressed = true;
                    self.on_event(ev, now)?;
                }
                Ok(None) => break,
                Err(e) => {
                    self.kill(&e.to_string());
                    return Ok(true);
                }
            }
        }
        self.push_resends(now);
        let Some(live) = self.live.as_mut() else {
            return Ok(false);
        };
        if let Err(e) = live.transport.write(&mut live.session) {
            self.kill(&format!("write: {e}"));
            return Ok(false);
        }
        if live.session.is_finished()
            || status.eof
            || live
                .leaving_since
                .is_some_and(|t| now >= t + Duration::from_secs(5))
        {
            let reason = live
                .session
                .error()
                .map_or_else(|| "connection closed".to_owned(), ToString::to_string);
            self.kill(&reason);
            return Ok(true);
        }
        Ok(progressed)
    }

    fn on_event(&mut self, ev: ClientEvent, now: Instant) -> Result<(), ClientError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        match ev {
            ClientEvent::Welcome => {
                live.welcomed = true;
                let Some(w) = live.session.welcome().cloned() else {
                    return Ok(());
                };
                if w.role == Role::Active {
                    self.failures = 0;
                    self.backoff.reset();
                }
                self.learn_addresses(&w.addresses);
                if self.opts.skip_resumed && !self.resend.is_empty() {
                    let queue: Vec<_> = self.resend.drain(..).collect();
                    let (skipped, rest) = split_resumed(queue, w.resume.as_deref());
                    self.results
                        .extend(skipped.into_iter().map(|p| EventResult {
                            source_event_id: p.source_event_id,
                            outcome: Outcome::Skipped,
                        }));
                    self.resend = rest.into();
                }
                self.welcome = Some(w);
            }
            ClientEvent::Result(r) => self.results.push(r),
            ClientEvent::Goodbye { code, text } => {
                let final_refusal = code != Code::Normal && !code.is_retryable();
                if final_refusal {
                    let server = live.addr.clone();
                    self.kill(&format!("{code}: {text}"));
                    return Err(ClientError::Refused { server, code, text });
                }
                log::debug!("s2s: {} said goodbye: {code}: {text}", live.addr);
                live.leaving_since = Some(now);
            }
            ClientEvent::Closed => {}
        }
        Ok(())
    }

    /// Put the pool's list first, keeping configured addresses it lacks.
    fn learn_addresses(&mut self, pool: &[String]) {
        if pool.is_empty() {
            return;
        }
        let current = self.live.as_ref().map(|l| l.addr.clone());
        let mut list: Vec<String> = pool.to_vec();
        for a in &self.opts.servers {
            if !list.contains(a) {
                list.push(a.clone());
            }
        }
        // continue the walk after the server we are on
        self.cursor = current
            .and_then(|c| list.iter().position(|a| *a == c))
            .map_or(0, |i| (i + 1) % list.len());
        self.addrs = list;
    }

    fn push_resends(&mut self, now: Instant) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        if live.leaving_since.is_some() {
            return;
        }
        while live.session.can_send() {
            let Some(p) = self.resend.front() else {
                break;
            };
            match live.session.resend(now, p) {
                Ok(_) => {
                    self.resend.pop_front();
                }
                Err(e) if e.is_final() => {
                    // e.g. the new server's limit is smaller: report it
                    if let Some(p) = self.resend.pop_front() {
                        self.results.push(EventResult {
                            source_event_id: p.source_event_id,
                            outcome: Outcome::Rejected {
                                code: Code::TooLarge,
                                text: e.to_string(),
                            },
                        });
                    }
                }
                Err(_) => break,
            }
        }
    }

    /// Drop the connection; its un-acked events go to the front of the
    /// resend queue, in order.
    fn kill(&mut self, reason: &str) {
        let Some(mut live) = self.live.take() else {
            return;
        };
        log::debug!("s2s: connection to {} ended: {reason}", live.addr);
        // best effort: a GOODBYE the session queued for its error goes out
        let _ = live.transport.write(&mut live.session);
        live.transport.shutdown_write();
        let _ = self.poll.registry().deregister(live.transport.socket_mut());
        self.failures += 1;
        self.last_error = format!("{}: {reason}", live.addr);
        let unacked = live.session.into_unacked();
        for p in unacked.into_iter().rev() {
            self.resend.push_front(p);
        }
    }

    fn wait(&mut self, deadline: Option<Instant>) -> Result<(), ClientError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        let now = Instant::now();
        // Wake at least once a second: cheap, and it bounds the damage of any
        // readiness edge we might have missed.
        let mut until = now + Duration::from_secs(1);
        if let Some(t) = live.session.next_timeout() {
            until = until.min(t);
        }
        if let Some(d) = deadline {
            until = until.min(d);
        }
        let timeout = until.saturating_duration_since(now);
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
        let now = Instant::now();
        if live.session.next_timeout().is_some_and(|t| now >= t) {
            if let Err(e) = live.session.on_timeout(now) {
                self.kill(&e.to_string());
            }
        }
        Ok(())
    }
}

enum OpenError {
    Retry(io::Error),
    Fatal(ClientError),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Retry(e) => e.fmt(f),
            OpenError::Fatal(e) => e.fmt(f),
        }
    }
}
