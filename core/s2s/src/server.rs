//! The server side of one S2S connection, sans-IO.
//!
//! The host (the daemon's event loop) moves bytes in and out through the
//! [`Endpoint`] methods, calls [`ServerSession::poll`] until it returns
//! `None`, and answers what it gets:
//!
//! * [`ServerEvent::Hello`] -> [`ServerSession::welcome`] or [`ServerSession::refuse`]
//! * [`ServerEvent::Event`] -> later, once durably committed (or found to be a
//!   duplicate), [`ServerSession::accept`]; or [`ServerSession::reject`]
//! * [`ServerEvent::Rejected`] -> nothing (the session rejected it itself)
//! * [`ServerEvent::Goodbye`] -> nothing; close once [`ServerSession::is_finished`]
//!
//! Decisions may come in any order; ACKs (and REJECTs) leave in TSN order.

mod decisions;

use std::time::{Duration, Instant};

use tocsin_shim::{Config as ShimConfig, Connection, Data, Event as ShimEvent, SendMeta};

pub use self::decisions::DecideError;
use self::decisions::{Decisions, Verdict};
use crate::code::Code;
use crate::endpoint::Endpoint;
use crate::event::Kind;
use crate::msg::{
    self, EventMsg, Goodbye, Hello, KindForm, MsgError, PPID_EVENT, PPID_GOODBYE, PPID_HELLO,
    Reject, Welcome, one_line,
};
use crate::session_error::SessionError;

/// Server session settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Shim settings (limits, heartbeats).
    pub shim: ShimConfig,
    /// Largest EVENT message accepted; bigger ones are rejected `too-large`.
    /// Capped by what one chunk can carry (65519 bytes with full headers).
    pub max_event_bytes: usize,
    /// A connection must send its HELLO within this time.
    pub hello_timeout: Duration,
    /// After [`ServerSession::goodbye`], how long to wait for the source to
    /// acknowledge our GOODBYE before the session counts as finished.
    pub linger: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            shim: ShimConfig::default(),
            max_event_bytes: usize::MAX,
            hello_timeout: Duration::from_secs(10),
            linger: Duration::from_secs(5),
        }
    }
}

/// An EVENT delivered to the host, with the HELLO's defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncomingEvent<'a> {
    /// The DATA chunk's TSN: the handle for accept/reject.
    pub tsn: u32,
    /// Stream (per-user ordering lane).
    pub stream: u16,
    /// Stream sequence number.
    pub ssn: u16,
    /// The message as sent.
    pub event: EventMsg<'a>,
    /// The kind with any `prefix:` expanded.
    pub kind: Kind<'a>,
    /// The event's origin host, or the HELLO's default.
    pub origin_host: &'a str,
    /// The event's language, or the HELLO's default.
    pub lang: Option<&'a str>,
}

/// What [`ServerSession::poll`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent<'a> {
    /// The source's HELLO: authorize it, then `welcome` or `refuse`.
    Hello(Hello<'a>),
    /// An event to commit, then `accept` (or `reject`).
    Event(IncomingEvent<'a>),
    /// An EVENT the session rejected by itself (malformed or too large);
    /// the REJECT is queued. For logs and metrics.
    Rejected {
        /// Its TSN.
        tsn: u32,
        /// `malformed` or `too-large`.
        code: Code,
        /// Details.
        error: MsgError,
    },
    /// The source said goodbye; pending decisions still get acked, then the
    /// session is finished.
    Goodbye {
        /// Its code.
        code: Code,
        /// Its text.
        text: String,
    },
    /// The source closed the connection.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitHello,
    AwaitDecision,
    Open,
    /// The peer sent GOODBYE.
    PeerLeaving,
    /// We are leaving: GOODBYE queued once every decision is out.
    Leaving {
        since: Instant,
    },
}

/// What the HELLO set up for the rest of the connection.
#[derive(Debug, Default)]
struct Defaults {
    bindings: Vec<(String, String)>,
    origin_host: Option<String>,
    lang: Option<String>,
}

/// The server side of one S2S connection.
#[derive(Debug)]
pub struct ServerSession {
    cfg: ServerConfig,
    shim: Connection,
    state: State,
    hello_deadline: Instant,
    defaults: Defaults,
    decisions: Decisions,
    /// TSN of the HELLO awaiting welcome/refuse.
    hello_tsn: Option<u32>,
    /// Our goodbye, waiting for the decision buffer to drain.
    goodbye: Option<(Code, String)>,
    /// TSN of our GOODBYE once sent, and whether the peer acked it.
    goodbye_tsn: Option<u32>,
    goodbye_acked: bool,
    peer_closed: bool,
    failed: Option<SessionError>,
    /// Decisions changed while a borrow was out: flush on the next call.
    needs_flush: bool,
    scratch: Vec<u8>,
    stats: ServerStats,
}

/// Counters for metrics and backpressure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// EVENTs delivered to the host.
    pub delivered: u64,
    /// EVENTs accepted by the host.
    pub accepted: u64,
    /// EVENTs rejected (by the host or the session).
    pub rejected: u64,
}

impl ServerSession {
    /// A new session on a freshly accepted connection (our INIT is queued).
    #[must_use]
    pub fn new(mut cfg: ServerConfig, now: Instant) -> Self {
        let shim = Connection::new(cfg.shim.clone(), now);
        cfg.max_event_bytes = cfg.max_event_bytes.min(shim.config().max_payload());
        Self {
            hello_deadline: now + cfg.hello_timeout,
            cfg,
            shim,
            state: State::AwaitHello,
            defaults: Defaults::default(),
            decisions: Decisions::default(),
            hello_tsn: None,
            goodbye: None,
            goodbye_tsn: None,
            goodbye_acked: false,
            peer_closed: false,
            failed: None,
            needs_flush: false,
            scratch: Vec::with_capacity(1024),
            stats: ServerStats::default(),
        }
    }

    /// The effective max event size (what to announce in WELCOME).
    #[must_use]
    pub fn max_event_bytes(&self) -> usize {
        self.cfg.max_event_bytes
    }

    /// Events delivered but not yet accepted or rejected: the host's
    /// backpressure gauge (stop polling while it is high).
    #[must_use]
    pub fn undecided(&self) -> usize {
        self.decisions.undecided()
    }

    /// Delivered messages whose ACK has not been queued yet (undecided, or
    /// decided but waiting behind an undecided one).
    #[must_use]
    pub fn awaiting_ack(&self) -> usize {
        self.decisions.len()
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// The underlying shim connection (read-only: stats, peer INIT flags).
    #[must_use]
    pub fn shim(&self) -> &Connection {
        &self.shim
    }

    /// True once the session is over: the host writes what output is left
    /// and closes the socket.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        if self.failed.is_some() || self.peer_closed {
            return true;
        }
        match self.state {
            State::PeerLeaving => self.decisions.len() == 0,
            State::Leaving { .. } => self.goodbye_acked,
            _ => false,
        }
    }

    /// The error that ended the session, if any.
    #[must_use]
    pub fn error(&self) -> Option<&SessionError> {
        self.failed.as_ref()
    }

    /// Decode what has arrived. Call until it returns `Ok(None)` after every
    /// read (and before writing output). An error is fatal: write the
    /// remaining output (a GOODBYE, when one could be sent) and close.
    pub fn poll(&mut self, now: Instant) -> Result<Option<ServerEvent<'_>>, SessionError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.needs_flush {
            self.flush(now);
        }
        let d = loop {
            let ev = match self.shim.poll_event(now) {
                Ok(Some(ev)) => ev,
                Ok(None) => return Ok(None),
                Err(e) => return Err(self.fail(e.into())),
            };
            match ev {
                ShimEvent::PeerInit(flags) if flags.omit_ppid() => {
                    return Err(self.fatal(
                        now,
                        SessionError::Protocol("INIT omits the PPID, which S2S requires"),
                    ));
                }
                ShimEvent::Data(d) => {
                    if matches!(self.state, State::Leaving { .. }) {
                        // We said goodbye: later DATA is neither delivered
                        // nor acked; the source resends it elsewhere.
                        continue;
                    }
                    break d;
                }
                ShimEvent::Acked { first, last } => {
                    let covers = |t: u32| t.wrapping_sub(first) <= last.wrapping_sub(first);
                    if self.goodbye_tsn.is_some_and(covers) {
                        self.goodbye_acked = true;
                    }
                }
                ShimEvent::PeerClosed => {
                    self.peer_closed = true;
                    return Ok(Some(ServerEvent::Closed));
                }
                ShimEvent::PeerInit(_) | ShimEvent::Heartbeat | ShimEvent::HeartbeatAck { .. } => {}
            }
        };
        match (d.ppid, self.state) {
            (PPID_EVENT, State::Open) => Ok(Some(self.on_event(d))),
            (PPID_HELLO, State::AwaitHello) => self.on_hello(d, now).map(Some),
            (PPID_GOODBYE, State::AwaitHello | State::AwaitDecision | State::Open) => {
                self.on_goodbye(d, now).map(Some)
            }
            (PPID_EVENT, State::AwaitHello | State::AwaitDecision) => {
                Err(self.fatal(now, SessionError::Protocol("EVENT before WELCOME")))
            }
            (PPID_HELLO, _) => Err(self.fatal(now, SessionError::Protocol("second HELLO"))),
            (PPID_EVENT | PPID_GOODBYE, _) => {
                Err(self.fatal(now, SessionError::Protocol("message after GOODBYE")))
            }
            _ => Err(self.fatal(
                now,
                SessionError::Protocol("unexpected message type from a source"),
            )),
        }
    }

    fn on_hello(&mut self, d: Data, now: Instant) -> Result<ServerEvent<'_>, SessionError> {
        // First pass: validate and copy what the session keeps, so that the
        // error path can send a GOODBYE without a borrow of the payload.
        let checked = match Hello::decode(self.shim.payload(&d)) {
            Ok(h) if h.version != msg::VERSION => Err(SessionError::UnsupportedVersion {
                got: h.version,
                want: msg::VERSION,
            }),
            Ok(h) => Ok(Defaults {
                bindings: h
                    .namespaces
                    .iter()
                    .map(|b| (b.prefix.to_owned(), b.namespace.to_owned()))
                    .collect(),
                origin_host: h.default_origin_host.map(str::to_owned),
                lang: h.default_lang.map(str::to_owned),
            }),
            Err(error) => Err(SessionError::Malformed {
                message: "HELLO",
                error,
            }),
        };
        match checked {
            Ok(defaults) => self.defaults = defaults,
            Err(e) => return Err(self.fatal(now, e)),
        }
        self.state = State::AwaitDecision;
        self.hello_tsn = Some(d.tsn);
        self.decisions.push(d.tsn, "", Verdict::Undecided);
        let hello =
            Hello::decode(self.shim.payload(&d)).map_err(|error| SessionError::Malformed {
                message: "HELLO",
                error,
            })?;
        Ok(ServerEvent::Hello(hello))
    }

    fn on_goodbye(&mut self, d: Data, now: Instant) -> Result<ServerEvent<'_>, SessionError> {
        let decoded = Goodbye::decode(self.shim.payload(&d)).map(|g| (g.code, g.text.to_owned()));
        let (code, text) = match decoded {
            Ok(g) => g,
            Err(error) => {
                return Err(self.fatal(
                    now,
                    SessionError::Malformed {
                        message: "GOODBYE",
                        error,
                    },
                ));
            }
        };
        self.state = State::PeerLeaving;
        self.decisions.push(d.tsn, "", Verdict::Accept);
        self.flush(now);
        Ok(ServerEvent::Goodbye { code, text })
    }

    fn on_event(&mut self, d: Data) -> ServerEvent<'_> {
        let payload = self.shim.payload(&d);
        let (code, error) = if payload.len() > self.cfg.max_event_bytes {
            (
                Code::TooLarge,
                MsgError::MessageTooLarge {
                    len: payload.len(),
                    max: self.cfg.max_event_bytes,
                },
            )
        } else {
            match EventMsg::decode(payload).and_then(|m| resolve(m, &self.defaults)) {
                Ok((event, kind, origin_host)) => {
                    self.decisions
                        .push(d.tsn, event.source_event_id, Verdict::Undecided);
                    self.stats.delivered += 1;
                    return ServerEvent::Event(IncomingEvent {
                        tsn: d.tsn,
                        stream: d.stream,
                        ssn: d.ssn,
                        lang: event.lang.or(self.defaults.lang.as_deref()),
                        event,
                        kind,
                        origin_host,
                    });
                }
                Err(e) => (Code::Malformed, e),
            }
        };
        let id = msg::peek_source_event_id(payload).unwrap_or("");
        self.decisions.push(
            d.tsn,
            id,
            Verdict::Reject {
                code,
                text: one_line(&error.to_string()),
            },
        );
        self.stats.rejected += 1;
        // The REJECT goes out on the next poll (or decision): this path may
        // not touch the shim while the payload is borrowed.
        self.needs_flush = true;
        ServerEvent::Rejected {
            tsn: d.tsn,
            code,
            error,
        }
    }

    // ------------------------------------------------------------------
    // host decisions
    // ------------------------------------------------------------------

    /// Accept the HELLO: send WELCOME and ack the HELLO.
    pub fn welcome(&mut self, now: Instant, welcome: &Welcome<'_>) -> Result<(), SessionError> {
        if self.state != State::AwaitDecision {
            return Err(SessionError::Protocol("welcome without a pending HELLO"));
        }
        self.scratch.clear();
        welcome
            .encode(&mut self.scratch)
            .map_err(|error| SessionError::Malformed {
                message: "WELCOME",
                error,
            })?;
        self.send(now, msg::PPID_WELCOME)?;
        self.state = State::Open;
        self.decide_hello(now);
        Ok(())
    }

    /// Refuse the HELLO with `code` (e.g. `unauthorized-source`): the HELLO
    /// is acked, a GOODBYE follows, and the session finishes.
    pub fn refuse(&mut self, now: Instant, code: Code, text: &str) {
        if self.state == State::AwaitDecision {
            self.decide_hello(now);
        }
        self.goodbye(now, code, text);
    }

    fn decide_hello(&mut self, now: Instant) {
        if let Some(t) = self.hello_tsn.take() {
            // cannot fail: the HELLO slot is undecided until this call
            let _ = self.decisions.decide(t, Verdict::Accept);
        }
        self.flush(now);
    }

    /// The event with this TSN is durably committed (or a known duplicate).
    pub fn accept(&mut self, now: Instant, tsn: u32) -> Result<(), DecideError> {
        self.decide(now, tsn, Verdict::Accept)?;
        self.stats.accepted += 1;
        Ok(())
    }

    /// Reject the event with this TSN.
    pub fn reject(
        &mut self,
        now: Instant,
        tsn: u32,
        code: Code,
        text: &str,
    ) -> Result<(), DecideError> {
        self.decide(
            now,
            tsn,
            Verdict::Reject {
                code,
                text: one_line(text),
            },
        )?;
        self.stats.rejected += 1;
        Ok(())
    }

    fn decide(&mut self, now: Instant, tsn: u32, v: Verdict) -> Result<(), DecideError> {
        if self.failed.is_some() {
            return Err(DecideError::Closed);
        }
        if self.hello_tsn == Some(tsn) {
            // the HELLO is answered with welcome/refuse, never accepted
            return Err(DecideError::UnknownTsn { tsn });
        }
        self.decisions.decide(tsn, v)?;
        self.flush(now);
        Ok(())
    }

    /// End the session: deliver nothing more, finish acking what was
    /// delivered, then send GOODBYE (`shutting-down`, `not-active`,
    /// `overloaded`...). Finished when the source acks it or after `linger`.
    pub fn goodbye(&mut self, now: Instant, code: Code, text: &str) {
        if matches!(self.state, State::Leaving { .. }) || self.failed.is_some() {
            return;
        }
        self.state = State::Leaving { since: now };
        self.goodbye = Some((code, one_line(text)));
        self.flush(now);
    }

    /// Queue the ACKs (and REJECTs) of every decided message at the front,
    /// then our GOODBYE once nothing is left.
    fn flush(&mut self, now: Instant) {
        self.needs_flush = false;
        while let Some(ready) = self.decisions.front_ready() {
            let tsn = ready.tsn;
            if let Verdict::Reject { code, text } = ready.verdict {
                self.scratch.clear();
                let rej = Reject {
                    tsn,
                    source_event_id: ready.source_event_id,
                    code: *code,
                    text,
                };
                if rej.encode(&mut self.scratch).is_ok() {
                    // unbounded: a REJECT must never wait behind a full buffer
                    let _ = self.shim.send_data_unbounded(
                        now,
                        SendMeta {
                            stream: 0,
                            ppid: msg::PPID_REJECT,
                            unordered: false,
                        },
                        &self.scratch,
                    );
                }
            }
            if self.shim.ack(tsn).is_err() {
                break;
            }
            self.decisions.pop_front();
        }
        let drained = self.decisions.len() == 0 && self.goodbye_tsn.is_none();
        if let Some((code, text)) = self.goodbye.take_if(|_| drained) {
            self.scratch.clear();
            let g = Goodbye { code, text: &text };
            if g.encode(&mut self.scratch).is_ok() {
                self.goodbye_tsn = self.send(now, PPID_GOODBYE).ok();
            }
        }
    }

    fn send(&mut self, now: Instant, ppid: u32) -> Result<u32, SessionError> {
        self.shim
            .send_data_unbounded(
                now,
                SendMeta {
                    stream: 0,
                    ppid,
                    unordered: false,
                },
                &self.scratch,
            )
            .map_err(|_| SessionError::Protocol("connection failed"))
    }

    fn fail(&mut self, e: SessionError) -> SessionError {
        self.failed = Some(e.clone());
        e
    }

    /// Report `e` to the peer with a GOODBYE (best effort), then fail.
    fn fatal(&mut self, now: Instant, e: SessionError) -> SessionError {
        if !matches!(e, SessionError::Shim(_)) {
            self.scratch.clear();
            let text = one_line(&e.to_string());
            let g = Goodbye {
                code: e.code(),
                text: &text,
            };
            if g.encode(&mut self.scratch).is_ok() {
                let _ = self.send(now, PPID_GOODBYE);
            }
        }
        self.fail(e)
    }

    // ------------------------------------------------------------------
    // timers
    // ------------------------------------------------------------------

    /// When [`ServerSession::on_timeout`] must next run.
    #[must_use]
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.failed.is_some() {
            return None;
        }
        let shim = self.shim.next_timeout();
        let own = match self.state {
            State::AwaitHello => Some(self.hello_deadline),
            State::Leaving { since } if !self.goodbye_acked => Some(since + self.cfg.linger),
            _ => None,
        };
        match (shim, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Run timers: heartbeats, dead peer, HELLO timeout, goodbye linger.
    pub fn on_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if let Err(e) = self.shim.on_timeout(now) {
            return Err(self.fail(e.into()));
        }
        match self.state {
            State::AwaitHello if now >= self.hello_deadline => {
                Err(self.fatal(now, SessionError::HandshakeTimeout("no HELLO in time")))
            }
            State::Leaving { since } if now >= since + self.cfg.linger => {
                // give up waiting for the GOODBYE's ACK
                self.goodbye_acked = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// True if the event with this TSN was delivered and awaits a decision.
    #[must_use]
    pub fn is_undecided(&self, tsn: u32) -> bool {
        self.decisions.is_undecided(tsn)
    }
}

/// Apply the HELLO's bindings and defaults to a decoded event.
fn resolve<'a>(
    event: EventMsg<'a>,
    defaults: &'a Defaults,
) -> Result<(EventMsg<'a>, Kind<'a>, &'a str), MsgError> {
    let kind = match msg::parse_kind(event.kind)? {
        KindForm::Full { namespace, name } => Kind { namespace, name },
        KindForm::Prefixed { prefix, name } => {
            let namespace = defaults
                .bindings
                .iter()
                .find(|(p, _)| p == prefix)
                .map(|(_, n)| n.as_str())
                .ok_or(MsgError::InvalidValue {
                    field: msg::Field::Kind,
                    reason: "prefix not bound in HELLO",
                })?;
            Kind { namespace, name }
        }
    };
    let origin_host = event
        .origin_host
        .or(defaults.origin_host.as_deref())
        .ok_or(MsgError::MissingField {
            field: msg::Field::OriginHost,
        })?;
    Ok((event, kind, origin_host))
}

impl Endpoint for ServerSession {
    fn recv_buf(&mut self) -> &mut [u8] {
        self.shim.recv_buf()
    }
    fn recv_commit(&mut self, n: usize) {
        self.shim.recv_commit(n);
    }
    fn recv_eof(&mut self) {
        self.shim.recv_eof();
    }
    fn pending_output(&self) -> &[u8] {
        self.shim.pending_output()
    }
    fn consume_output(&mut self, n: usize) {
        self.shim.consume_output(n);
    }
}
