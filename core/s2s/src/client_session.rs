//! The source side of one S2S connection, sans-IO.
//!
//! Queues INIT and HELLO at creation; after WELCOME, [`ClientSession::send`]
//! turns events into DATA chunks (one stream per user, so the shim's stream
//! sequence keeps each user's events in order) within a bounded in-flight
//! window, and [`ClientSession::poll`] reports each event's outcome once the
//! server has ACKed its TSN: accepted, or rejected when a REJECT for that TSN
//! came first. When the connection dies, [`ClientSession::into_unacked`]
//! returns the events to resend on the next connection (same source event
//! ids: the server drops duplicates).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tocsin_shim::{Config as ShimConfig, Connection, Event as ShimEvent, SendError, SendMeta};

use crate::code::Code;
use crate::endpoint::Endpoint;
use crate::event::{Event, stream_for_user};
use crate::msg::{
    self, Binding, EventMsg, Goodbye, Hello, KindForm, MsgError, PPID_EVENT, PPID_GOODBYE,
    PPID_REJECT, PPID_WELCOME, Reject, Role, Welcome, one_line,
};
use crate::session_error::SessionError;

/// Client session settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Shim settings.
    pub shim: ShimConfig,
    /// Source name (HELLO `source`).
    pub source: String,
    /// Software and version (HELLO `software`).
    pub software: String,
    /// Namespace bindings (prefix, namespace) announced in HELLO; events whose
    /// namespace is bound are sent in the compact `prefix:Name` form.
    pub namespaces: Vec<(String, String)>,
    /// Origin host for events without one.
    pub default_origin_host: Option<String>,
    /// Language for events without one.
    pub default_lang: Option<String>,
    /// Number of streams users are spread over.
    pub streams: u16,
    /// Most events sent but not yet acked.
    pub max_in_flight: usize,
    /// How long to wait for WELCOME.
    pub welcome_timeout: Duration,
    /// After our GOODBYE, how long to wait for its ACK.
    pub linger: Duration,
}

impl ClientConfig {
    /// Defaults for a source called `source`.
    #[must_use]
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            shim: ShimConfig::default(),
            source: source.into(),
            software: concat!("tocsin-s2s/", env!("CARGO_PKG_VERSION")).to_owned(),
            namespaces: Vec::new(),
            default_origin_host: None,
            default_lang: None,
            streams: 64,
            max_in_flight: 4096,
            welcome_timeout: Duration::from_secs(10),
            linger: Duration::from_secs(5),
        }
    }
}

/// The server's WELCOME, kept by the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeInfo {
    /// Protocol version.
    pub version: u16,
    /// Which appliance answered.
    pub appliance_id: String,
    /// Its role.
    pub role: Role,
    /// The pool's addresses, most preferred first.
    pub addresses: Vec<String>,
    /// Last source event id of ours the server committed.
    pub resume: Option<String>,
    /// Largest EVENT the server accepts.
    pub max_event_bytes: Option<u32>,
}

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Durably stored by the server (or already known to it).
    Accepted,
    /// Refused; see [`Code::is_retryable`].
    Rejected {
        /// Why.
        code: Code,
        /// Server's explanation.
        text: String,
    },
    /// Not resent because the server's resume point covered it: decided on
    /// an earlier connection (stored, unless that decision was a rejection
    /// whose REJECT was lost with the connection).
    Skipped,
}

/// The outcome of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventResult {
    /// The event's idempotency key.
    pub source_event_id: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What [`ClientSession::poll`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// WELCOME arrived: [`ClientSession::welcome`] has it; sending may start.
    Welcome,
    /// An event's outcome.
    Result(EventResult),
    /// The server said goodbye; nothing more can be sent on this connection.
    Goodbye {
        /// Why.
        code: Code,
        /// Server's explanation.
        text: String,
    },
    /// The server closed the connection.
    Closed,
}

/// An event sent but never acked, ready to resend on another connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    /// Stream it travels on.
    pub stream: u16,
    /// Its idempotency key.
    pub source_event_id: String,
    payload: Vec<u8>,
}

impl PendingEvent {
    /// The event, decoded (its kind as it was sent, possibly `prefix:Name`).
    pub fn event(&self) -> Result<Event, MsgError> {
        EventMsg::decode(&self.payload).map(|m| Event::from(&m))
    }
    /// Encoded size.
    #[must_use]
    pub fn len(&self) -> usize {
        self.payload.len()
    }
    /// Never true.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }
}

/// Split a resend queue at the server's resume point: events up to and
/// including the one whose id is `resume` are returned first (decided on an
/// earlier connection), the rest second. Without a match nothing is skipped.
#[must_use]
pub fn split_resumed(
    mut pending: Vec<PendingEvent>,
    resume: Option<&str>,
) -> (Vec<PendingEvent>, Vec<PendingEvent>) {
    let at = resume.and_then(|r| pending.iter().position(|p| p.source_event_id == r));
    match at {
        Some(i) => {
            let rest = pending.split_off(i + 1);
            (pending, rest)
        }
        None => (Vec::new(), pending),
    }
}

/// Why an event could not be sent now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientSendError {
    /// No WELCOME yet, or the session is ending.
    #[error("session not ready to send")]
    NotReady,
    /// `max_in_flight` events await their ACK; poll and retry.
    #[error("in-flight window full")]
    WindowFull,
    /// The output buffer is full; write to the socket and retry.
    #[error("output buffer full")]
    Backpressure,
    /// The event breaks a field rule; it can never be sent.
    #[error("invalid event: {0}")]
    Invalid(#[from] MsgError),
    /// The event is larger than the server (or one chunk) accepts.
    #[error("event of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Encoded size.
        len: usize,
        /// Limit.
        max: usize,
    },
}

impl ClientSendError {
    /// True when the same event can never be sent (report it as rejected).
    #[must_use]
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Invalid(_) | Self::TooLarge { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitWelcome,
    Ready,
    /// The server sent GOODBYE.
    PeerLeaving,
    /// We sent GOODBYE.
    Leaving {
        since: Instant,
    },
}

#[derive(Debug)]
enum Sent {
    Control,
    Goodbye,
    Event {
        source_event_id: String,
        rejection: Option<(Code, String)>,
    },
}

#[derive(Debug)]
struct InFlight {
    tsn: u32,
    what: Sent,
}

/// The source side of one S2S connection.
#[derive(Debug)]
pub struct ClientSession {
    cfg: ClientConfig,
    shim: Connection,
    state: State,
    welcome_deadline: Instant,
    welcome: Option<WelcomeInfo>,
    in_flight: VecDeque<InFlight>,
    events_in_flight: usize,
    out: VecDeque<ClientEvent>,
    goodbye_acked: bool,
    peer_closed: bool,
    failed: Option<SessionError>,
    scratch: Vec<u8>,
    kind_buf: String,
}

impl ClientSession {
    /// A session on a freshly connected socket; INIT and HELLO are queued.
    pub fn new(cfg: ClientConfig, now: Instant) -> Result<Self, MsgError> {
        let mut s = Self {
            shim: Connection::new(cfg.shim.clone(), now),
            state: State::AwaitWelcome,
            welcome_deadline: now + cfg.welcome_timeout,
            welcome: None,
            in_flight: VecDeque::new(),
            events_in_flight: 0,
            out: VecDeque::new(),
            goodbye_acked: false,
            peer_closed: false,
            failed: None,
            scratch: Vec::with_capacity(1024),
            kind_buf: String::new(),
            cfg,
        };
        let hello = Hello {
            version: msg::VERSION,
            source: &s.cfg.source,
            software: &s.cfg.software,
            namespaces: s
                .cfg
                .namespaces
                .iter()
                .map(|(p, n)| Binding {
                    prefix: p,
                    namespace: n,
                })
                .collect(),
            default_origin_host: s.cfg.default_origin_host.as_deref(),
            default_lang: s.cfg.default_lang.as_deref(),
        };
        hello.encode(&mut s.scratch)?;
        s.send_control(now, msg::PPID_HELLO, Sent::Control);
        Ok(s)
    }

    /// The WELCOME, once received.
    #[must_use]
    pub fn welcome(&self) -> Option<&WelcomeInfo> {
        self.welcome.as_ref()
    }

    /// True after WELCOME, until either side says goodbye.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready && self.failed.is_none()
    }

    /// True when [`ClientSession::send`] would not fail for window or buffer space.
    #[must_use]
    pub fn can_send(&self) -> bool {
        self.is_ready() && self.events_in_flight < self.cfg.max_in_flight && self.shim.wants_data()
    }

    /// Events sent and not yet acked.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.events_in_flight
    }

    /// True once the session is over (closed, failed, or our GOODBYE acked).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.failed.is_some()
            || self.peer_closed
            || (matches!(self.state, State::Leaving { .. }) && self.goodbye_acked)
    }

    /// The error that ended the session, if any.
    #[must_use]
    pub fn error(&self) -> Option<&SessionError> {
        self.failed.as_ref()
    }

    /// Send an event; returns its TSN.
    pub fn send(&mut self, now: Instant, event: &Event) -> Result<u32, ClientSendError> {
        if !self.is_ready() {
            return Err(ClientSendError::NotReady);
        }
        if self.events_in_flight >= self.cfg.max_in_flight {
            return Err(ClientSendError::WindowFull);
        }
        if event.origin_host.is_none() && self.cfg.default_origin_host.is_none() {
            return Err(MsgError::MissingField {
                field: msg::Field::OriginHost,
            }
            .into());
        }
        let compact = self.compact_kind(&event.kind)?;
        self.scratch.clear();
        let m = if compact {
            event.as_msg_with_kind(&self.kind_buf)
        } else {
            event.as_msg()
        };
        m.encode(&mut self.scratch)?;
        let stream = stream_for_user(&event.user, self.cfg.streams);
        self.send_event_payload(now, stream, &event.source_event_id)
    }

    /// Resend an event taken from [`ClientSession::into_unacked`] of an
    /// earlier connection (same bindings assumed: same config).
    pub fn resend(&mut self, now: Instant, p: &PendingEvent) -> Result<u32, ClientSendError> {
        if !self.is_ready() {
            return Err(ClientSendError::NotReady);
        }
        if self.events_in_flight >= self.cfg.max_in_flight {
            return Err(ClientSendError::WindowFull);
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&p.payload);
        self.send_event_payload(now, p.stream, &p.source_event_id)
    }

    /// Rewrite `namespace.Name` as `prefix:Name` into `kind_buf` when the
    /// namespace is bound; check that a `prefix:` kind uses a bound prefix.
    fn compact_kind(&mut self, kind: &str) -> Result<bool, MsgError> {
        match msg::parse_kind(kind)? {
            KindForm::Full { namespace, name } => {
                let Some((prefix, _)) = self.cfg.namespaces.iter().find(|(_, n)| n == namespace)
                else {
                    return Ok(false);
                };
                self.kind_buf.clear();
                self.kind_buf.push_str(prefix);
                self.kind_buf.push(':');
                self.kind_buf.push_str(name);
                Ok(true)
            }
            KindForm::Prefixed { prefix, .. } => {
                if self.cfg.namespaces.iter().any(|(p, _)| p == prefix) {
                    Ok(false)
                } else {
                    Err(MsgError::InvalidValue {
                        field: msg::Field::Kind,
                        reason: "prefix not bound in HELLO",
                    })
                }
            }
        }
    }

    fn send_event_payload(
        &mut self,
        now: Instant,
        stream: u16,
        source_event_id: &str,
    ) -> Result<u32, ClientSendError> {
        let limit = self
            .welcome
            .as_ref()
            .and_then(|w| w.max_event_bytes)
            .map_or(usize::MAX, |m| m as usize)
            .min(self.shim.config().max_payload());
        if self.scratch.len() > limit {
            return Err(ClientSendError::TooLarge {
                len: self.scratch.len(),
                max: limit,
            });
        }
        let meta = SendMeta {
            stream,
            ppid: PPID_EVENT,
            unordered: false,
        };
        let tsn = match self.shim.send_data(now, meta, &self.scratch) {
            Ok(tsn) => tsn,
            Err(SendError::Full { .. }) => return Err(ClientSendError::Backpressure),
            Err(SendError::TooLarge { len, max }) => {
                return Err(ClientSendError::TooLarge { len, max });
            }
            Err(_) => return Err(ClientSendError::NotReady),
        };
        self.in_flight.push_back(InFlight {
            tsn,
            what: Sent::Event {
                source_event_id: source_event_id.to_owned(),
                rejection: None,
            },
        });
        self.events_in_flight += 1;
        Ok(tsn)
    }

    fn send_control(&mut self, now: Instant, ppid: u32, what: Sent) {
        let meta = SendMeta {
            stream: 0,
            ppid,
            unordered: false,
        };
        if let Ok(tsn) = self.shim.send_data_unbounded(now, meta, &self.scratch) {
            self.in_flight.push_back(InFlight { tsn, what });
        }
    }

    /// Say goodbye: nothing more is sent; the server acks what it has, then
    /// our GOODBYE. Finished when that ACK arrives (or after `linger`).
    pub fn close(&mut self, now: Instant, code: Code, text: &str) {
        if matches!(self.state, State::Leaving { .. }) || self.failed.is_some() {
            return;
        }
        self.scratch.clear();
        let text = one_line(text);
        if (Goodbye { code, text: &text })
            .encode(&mut self.scratch)
            .is_ok()
        {
            self.send_control(now, PPID_GOODBYE, Sent::Goodbye);
        }
        self.state = State::Leaving { since: now };
    }

    /// Process what has arrived. Call until `Ok(None)` after every read. An
    /// error is fatal: close the socket and resend [`ClientSession::into_unacked`].
    pub fn poll(&mut self, now: Instant) -> Result<Option<ClientEvent>, SessionError> {
        loop {
            if let Some(ev) = self.out.pop_front() {
                return Ok(Some(ev));
            }
            if let Some(e) = &self.failed {
                return Err(e.clone());
            }
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
                ShimEvent::Acked { first, last } => {
                    let n = last.wrapping_sub(first) as usize + 1;
                    self.on_acked(n);
                }
                ShimEvent::Data(d) => {
                    if let Err(e) = self.on_server_message(&d) {
                        return Err(self.fatal(now, e));
                    }
                    // delivered to us: ack at once
                    let _ = self.shim.ack(d.tsn);
                }
                ShimEvent::PeerClosed => {
                    self.peer_closed = true;
                    self.out.push_back(ClientEvent::Closed);
                }
                ShimEvent::PeerInit(_) | ShimEvent::Heartbeat | ShimEvent::HeartbeatAck { .. } => {}
            }
        }
    }

    fn on_acked(&mut self, n: usize) {
        for _ in 0..n {
            let Some(f) = self.in_flight.pop_front() else {
                return;
            };
            match f.what {
                Sent::Control => {}
                Sent::Goodbye => self.goodbye_acked = true,
                Sent::Event {
                    source_event_id,
                    rejection,
                } => {
                    self.events_in_flight -= 1;
                    let outcome = match rejection {
                        None => Outcome::Accepted,
                        Some((code, text)) => Outcome::Rejected { code, text },
                    };
                    self.out.push_back(ClientEvent::Result(EventResult {
                        source_event_id,
                        outcome,
                    }));
                }
            }
        }
    }

    fn on_server_message(&mut self, d: &tocsin_shim::Data) -> Result<(), SessionError> {
        let payload = self.shim.payload(d);
        match d.ppid {
            PPID_WELCOME if self.state == State::AwaitWelcome => {
                let w = Welcome::decode(payload).map_err(|error| SessionError::Malformed {
                    message: "WELCOME",
                    error,
                })?;
                if w.version != msg::VERSION {
                    return Err(SessionError::UnsupportedVersion {
                        got: w.version,
                        want: msg::VERSION,
                    });
                }
                self.welcome = Some(WelcomeInfo {
                    version: w.version,
                    appliance_id: w.appliance_id.to_owned(),
                    role: w.role,
                    addresses: w.addresses.iter().map(|a| (*a).to_owned()).collect(),
                    resume: w.resume.map(str::to_owned),
                    max_event_bytes: w.max_event_bytes,
                });
                self.state = State::Ready;
                self.out.push_back(ClientEvent::Welcome);
                Ok(())
            }
            PPID_REJECT if self.welcome.is_some() => {
                let r = Reject::decode(payload).map_err(|error| SessionError::Malformed {
                    message: "REJECT",
                    error,
                })?;
                let front = self.in_flight.front().map_or(0, |f| f.tsn);
                let idx = r.tsn.wrapping_sub(front) as usize;
                match self.in_flight.get_mut(idx) {
                    Some(InFlight {
                        what: Sent::Event { rejection, .. },
                        ..
                    }) if rejection.is_none() => {
                        *rejection = Some((r.code, r.text.to_owned()));
                        Ok(())
                    }
                    _ => Err(SessionError::Protocol(
                        "REJECT for a TSN that is not an event in flight",
                    )),
                }
            }
            PPID_GOODBYE => {
                let g = Goodbye::decode(payload).map_err(|error| SessionError::Malformed {
                    message: "GOODBYE",
                    error,
                })?;
                let ev = ClientEvent::Goodbye {
                    code: g.code,
                    text: g.text.to_owned(),
                };
                if !matches!(self.state, State::Leaving { .. }) {
                    self.state = State::PeerLeaving;
                }
                self.out.push_back(ev);
                Ok(())
            }
            PPID_WELCOME => Err(SessionError::Protocol("unexpected WELCOME")),
            PPID_REJECT => Err(SessionError::Protocol("REJECT before WELCOME")),
            _ => Err(SessionError::Protocol(
                "unexpected message type from a server",
            )),
        }
    }

    fn fail(&mut self, e: SessionError) -> SessionError {
        self.failed = Some(e.clone());
        e
    }

    fn fatal(&mut self, now: Instant, e: SessionError) -> SessionError {
        if !matches!(e, SessionError::Shim(_)) {
            self.scratch.clear();
            let text = one_line(&e.to_string());
            if (Goodbye {
                code: e.code(),
                text: &text,
            })
            .encode(&mut self.scratch)
            .is_ok()
            {
                self.send_control(now, PPID_GOODBYE, Sent::Goodbye);
            }
        }
        self.fail(e)
    }

    /// When [`ClientSession::on_timeout`] must next run.
    #[must_use]
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.failed.is_some() {
            return None;
        }
        let own = match self.state {
            State::AwaitWelcome => Some(self.welcome_deadline),
            State::Leaving { since } if !self.goodbye_acked => Some(since + self.cfg.linger),
            _ => None,
        };
        match (self.shim.next_timeout(), own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Run timers: heartbeats, dead server, WELCOME timeout, goodbye linger.
    pub fn on_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if let Err(e) = self.shim.on_timeout(now) {
            return Err(self.fail(e.into()));
        }
        match self.state {
            State::AwaitWelcome if now >= self.welcome_deadline => {
                Err(self.fatal(now, SessionError::HandshakeTimeout("no WELCOME in time")))
            }
            State::Leaving { since } if now >= since + self.cfg.linger => {
                self.goodbye_acked = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Events never acked, in send order, for the next connection. Events
    /// whose REJECT arrived but whose ACK did not are included: a retry
    /// gets them decided again.
    #[must_use]
    pub fn into_unacked(self) -> Vec<PendingEvent> {
        let unacked = self.shim.into_unacked();
        let mut ids = self.in_flight.into_iter();
        let mut out = Vec::with_capacity(self.events_in_flight);
        for u in unacked {
            let Some(f) = ids.by_ref().find(|f| f.tsn == u.tsn) else {
                continue;
            };
            if let Sent::Event {
                source_event_id, ..
            } = f.what
            {
                out.push(PendingEvent {
                    stream: u.stream,
                    source_event_id,
                    payload: u.payload,
                });
            }
        }
        out
    }
}

impl Endpoint for ClientSession {
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
