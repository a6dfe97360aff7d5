//! The sans-IO connection state machine (both roles).
//!
//! The host owns the socket and the clock:
//! 1. [`Connection::feed`] the octets read, then drain [`Connection::poll_event`];
//! 2. write [`Connection::output`] and report it with [`Connection::consume_output`];
//! 3. wake up at [`Connection::next_timeout`] and call [`Connection::handle_timeout`].
//!
//! A `ConnError` from `feed`/`handle_timeout` is fatal: flush the output
//! (it may end with an error response) and close the socket.

mod client_auth;
mod config;
mod dispatch;
mod error;
mod event;
mod outbuf;
mod outstanding;
mod server_auth;
mod timers;

pub use config::{Config, Role, Timeouts, Transport};
pub use error::{ConnError, SendError};
pub use event::{ClientSasl, Event, PlainVerdict};

use crate::command::Command;
use crate::decoder::Decoder;
use crate::encoder::encode_mech;
use crate::error_type::ErrorType;
use crate::id::Id;
use crate::mech::MechName;
use crate::method::Method;
use crate::response::{ErrorReply, Outcome, encode_outcome_to};
use outbuf::OutBuf;
use outstanding::{Incoming, Outgoing};
use std::collections::VecDeque;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Client: waiting for the server's first mechanism list.
    AwaitMech,
    Open,
    /// Client: authenticated, waiting for the repeated mechanism list.
    AwaitMechRepeat,
    Closed,
}

#[derive(Debug)]
enum AuthState {
    None,
    /// Server: we sent an empty `sasl-challenge`, the next `auth` carries
    /// the mechanism's message.
    ServerAwaitContinuation {
        mechanism: MechName,
    },
    /// Server: the host is checking PLAIN credentials.
    ServerAwaitVerdict {
        id: Id,
    },
    ClientPending {
        id: Id,
        mechanism: MechName,
        initial: Vec<u8>,
        resent: bool,
        identity: Option<String>,
    },
    /// Client: we gave up on a challenge we cannot answer; swallow the ok.
    ClientAborting {
        id: Id,
    },
    ClientAwaitMech {
        mechanism: MechName,
        identity: Option<String>,
    },
    Done {
        identity: Option<String>,
        mechanism: MechName,
    },
}

#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    transport: Transport,
    decoder: Decoder,
    out: OutBuf,
    events: VecDeque<Event>,
    phase: Phase,
    auth: AuthState,
    /// Server: what we advertise. Client: what the server advertised.
    mechanisms: Vec<MechName>,
    outgoing: Outgoing,
    incoming: Incoming,
    created: Instant,
    last_rx: Instant,
    last_tx: Instant,
    /// When the first octet of the incomplete message arrived.
    partial_since: Option<Instant>,
}

impl Connection {
    /// A server connection queues its mechanism list at once (the
    /// accepting side speaks first, section 6.4).
    pub fn new(role: Role, config: Config, transport: Transport, now: Instant) -> Connection {
        let mut c = Connection {
            role,
            decoder: Decoder::new(config.limits.clone()),
            config,
            transport,
            out: OutBuf::default(),
            events: VecDeque::new(),
            phase: Phase::AwaitMech,
            auth: AuthState::None,
            mechanisms: Vec::new(),
            outgoing: Outgoing::default(),
            incoming: Incoming::default(),
            created: now,
            last_rx: now,
            last_tx: now,
            partial_since: None,
        };
        if role == Role::Server {
            if c.config.offer_external
                && (c.transport.peer_identity.is_some() || c.config.external_identity_later)
            {
                c.mechanisms.push(MechName::external());
            }
            if c.config.offer_plain && c.transport.tls {
                c.mechanisms.push(MechName::plain());
            }
            encode_mech(c.out.vec(), &c.mechanisms);
            c.phase = Phase::Open;
        }
        c
    }

    /// Server: the verified client-certificate identity, learnt after the
    /// connection was created (see `Config::external_identity_later`).
    /// Without one, EXTERNAL fails with `sasl-failure`.
    pub fn set_peer_identity(&mut self, identity: Option<String>) {
        self.transport.peer_identity = identity;
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Server: what we offer. Client: what the server offered (empty until
    /// it arrived).
    pub fn mechanisms(&self) -> &[MechName] {
        &self.mechanisms
    }

    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    pub fn is_authenticated(&self) -> bool {
        matches!(self.auth, AuthState::Done { .. })
    }

    /// The authenticated identity, when known.
    pub fn identity(&self) -> Option<&str> {
        match &self.auth {
            AuthState::Done { identity, .. } => identity.as_deref(),
            _ => None,
        }
    }

    /// The mechanism that authenticated this connection.
    pub fn auth_mechanism(&self) -> Option<&MechName> {
        match &self.auth {
            AuthState::Done { mechanism, .. } => Some(mechanism),
            _ => None,
        }
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Octets to write to the peer.
    pub fn output(&self) -> &[u8] {
        self.out.pending()
    }

    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// The host wrote `n` octets of [`Connection::output`].
    pub fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// Above the soft limit: stop producing until the peer reads.
    pub fn is_congested(&self) -> bool {
        self.out.len() >= self.config.limits.output_soft_limit
    }

    /// Octets of an incomplete incoming message held in memory.
    pub fn input_buffered(&self) -> usize {
        self.decoder.buffered()
    }

    /// Commands the peer sent that still await [`Connection::respond`].
    pub fn unanswered_incoming(&self) -> usize {
        self.incoming.len()
    }

    /// Commands we sent that are still unanswered.
    pub fn unanswered_outgoing(&self) -> usize {
        self.outgoing.len()
    }

    /// Marks the connection closed (the host is closing the socket).
    pub fn close(&mut self) {
        self.phase = Phase::Closed;
    }

    /// Our unanswered commands, forgotten. After the *peer* closed the
    /// connection they count as unprocessed (section 7) and may be sent
    /// again on a new connection.
    pub fn take_unanswered(&mut self) -> Vec<(Id, Method)> {
        self.outgoing.drain()
    }

    /// Octets read from the socket. Events become available through
    /// [`Connection::poll_event`].
    pub fn feed(&mut self, mut data: &[u8], now: Instant) -> Result<(), ConnError> {
        if self.phase == Phase::Closed {
            return Err(ConnError::Closed);
        }
        if !data.is_empty() {
            self.last_rx = now;
        }
        let mut completed = false;
        loop {
            let n = self.decoder.feed(data);
            data = &data[n..];
            let mut progressed = false;
            loop {
                match self.decoder.decode() {
                    Ok(Some(d)) => {
                        completed = true;
                        progressed = true;
                        if let Err(e) = self.on_decoded(d, now) {
                            return Err(self.fail(e));
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.answer_framing_error(&e);
                        return Err(self.fail(ConnError::Decode(e)));
                    }
                }
            }
            if data.is_empty() {
                break;
            }
            if n == 0 && !progressed {
                // Cannot happen with consistent limits; never spin.
                return Err(self.fail(ConnError::InputStalled));
            }
        }
        // Slowloris bookkeeping: the clock starts with the first octet of
        // each message.
        if !self.decoder.has_partial() {
            self.partial_since = None;
        } else if completed || self.partial_since.is_none() {
            self.partial_since = Some(now);
        }
        Ok(())
    }

    /// Sends a command and returns its id. Refused (nothing queued) when
    /// the output is above the soft limit or too many commands are
    /// unanswered: that is the backpressure signal.
    pub fn send_command(&mut self, cmd: &Command, now: Instant) -> Result<Id, SendError> {
        match self.phase {
            Phase::Closed => return Err(SendError::Closed),
            Phase::AwaitMech | Phase::AwaitMechRepeat => return Err(SendError::NotReady),
            Phase::Open => {}
        }
        if matches!(cmd, Command::Auth(_)) {
            return Err(SendError::UseAuthenticate);
        }
        if matches!(
            self.auth,
            AuthState::ClientPending { .. } | AuthState::ClientAwaitMech { .. }
        ) {
            // "MUST NOT send any commands other than auth commands until
            // the exchange is complete" (section 14.1).
            return Err(SendError::AuthInProgress);
        }
        let limit = self.config.limits.output_soft_limit;
        if self.out.len() >= limit {
            return Err(SendError::OutputFull {
                len: self.out.len(),
                limit,
            });
        }
        self.push_command(cmd, now)
    }

    /// Answers the peer's command `id`.
    pub fn respond(&mut self, id: &Id, outcome: &Outcome, now: Instant) -> Result<(), SendError> {
        if self.phase == Phase::Closed {
            return Err(SendError::Closed);
        }
        let method = self
            .incoming
            .get(id)
            .ok_or_else(|| SendError::UnknownCommand(id.clone()))?
            .clone();
        if method == Method::Auth {
            // The SASL state machine must see the result.
            return Err(SendError::UseCompletePlain);
        }
        let limit = self.config.limits.output_hard_limit;
        if self.out.len() >= limit {
            return Err(SendError::OutputFull {
                len: self.out.len(),
                limit,
            });
        }
        crate::encoder::atomically(self.out.vec(), |out| {
            encode_outcome_to(out, id, &method, outcome)
        })?;
        self.incoming.remove(id);
        self.last_tx = now;
        Ok(())
    }

    fn push_command(&mut self, cmd: &Command, now: Instant) -> Result<Id, SendError> {
        let limit = self.config.limits.max_outstanding;
        if self.outgoing.len() >= limit {
            return Err(SendError::TooManyOutstanding { limit });
        }
        let (seq, id) = self.outgoing.next_id();
        cmd.encode(&id, self.out.vec())?;
        self.outgoing.commit(seq, cmd.method(), now);
        self.last_tx = now;
        Ok(id)
    }

    /// A response the protocol itself generates (errors, auth results).
    /// Above the hard limit the peer is flooding us without reading.
    fn auto_respond(
        &mut self,
        id: &Id,
        method: &Method,
        outcome: &Outcome,
    ) -> Result<(), ConnError> {
        let limit = self.config.limits.output_hard_limit;
        if self.out.len() >= limit {
            return Err(ConnError::OutputOverflow { limit });
        }
        if let Err(e) = crate::encoder::atomically(self.out.vec(), |out| {
            encode_outcome_to(out, id, method, outcome)
        }) {
            // Our own outcomes are well-formed; log rather than panic.
            log::error!("imtp: cannot encode response to {id}: {e}");
        }
        Ok(())
    }

    fn auto_error(
        &mut self,
        id: &Id,
        method: &Method,
        t: ErrorType,
        description: &str,
    ) -> Result<(), ConnError> {
        log::debug!("imtp: answering {id} ({method}) with {t}: {description}");
        self.auto_respond(
            id,
            method,
            &Outcome::Error(ErrorReply::new(t).with_description(description)),
        )
    }

    fn fail(&mut self, e: ConnError) -> ConnError {
        log::debug!("imtp: connection failed: {e}");
        self.phase = Phase::Closed;
        e
    }
}
