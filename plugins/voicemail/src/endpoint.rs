//! The SIP endpoint: what to answer, when, and which NOTIFYs become events.
//!
//! Order of checks for every received message:
//! 1. source network (`allowed_networks`) — else 403 (or a drop when the
//!    request cannot be addressed);
//! 2. parsing — else the status `tocsin_sip` assigns (400, 505, 513) or a
//!    logged drop;
//! 3. the shared secret of out-of-dialog requests — else 403;
//! 4. `tocsin_sip::classify` — 405/415/420/481/489/501/… or a NOTIFY;
//! 5. for a NOTIFY: UDP retransmission cache, dialog match (481/500 for
//!    in-dialog NOTIFYs no subscription of ours claims), user mapping (404),
//!    then the state: unchanged → 200 at once; changed → emit, and 200 only
//!    once the event is committed (500 if the commit fails).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use tocsin_sdk::{CommitResult, Handle, TimerId};
use tocsin_sip::{
    Classified, EchoHeaders, Limits, Notify, ParseError, Responder, SipMessage, StatusCode,
    StreamDecoder, TagSecret, TransactionKey, classify, parse_datagram, recover_request,
};

use crate::accounts::{Accounts, Record};
use crate::config::{AccountFrom, Settings};
use crate::event::{self, StateChange};
use crate::io::Io;
use crate::log_limit::LogLimit;
use crate::subscriptions::{DialogMatch, Subscriptions};
use crate::trust::Trust;
use crate::txn_cache::{Seen, TxnCache};
use crate::user_map::UserMap;

/// Where an answer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyTo {
    Udp { sock: Handle, peer: String },
    Tcp(Handle),
}

/// One received message's origin.
struct Source<'a> {
    to: &'a ReplyTo,
    peer: SocketAddr,
    udp: bool,
    /// The message's bytes.
    bytes: &'a [u8],
}

/// A request waiting for the commit of the state it brought.
#[derive(Debug)]
struct Waiter {
    to: ReplyTo,
    key: Option<TransactionKey>,
    ok: Vec<u8>,
    /// The request, to build the rarely needed 500 from (cheaper to copy
    /// than to build a second response for every NOTIFY).
    request: Vec<u8>,
    peer: SocketAddr,
}

#[derive(Debug)]
struct Pending {
    account: String,
    waiters: Vec<Waiter>,
}

struct Conn {
    peer: SocketAddr,
    decoder: StreamDecoder,
}

pub struct Endpoint {
    limits: Limits,
    trust: Trust,
    users: UserMap,
    account_from: AccountFrom,
    responder: Responder,
    txns: TxnCache,
    accounts: Accounts,
    pending: HashMap<u64, Pending>,
    conns: HashMap<Handle, Conn>,
    subs: Subscriptions,
    next_token: u64,
    log: LogLimit,
}

/// The plugin's parser limits: the codec's defaults, with classes capped
/// so that every class's four counts fit the event's attribute limit.
pub fn limits() -> Limits {
    let mut l = Limits::default();
    l.summary.max_classes = event::MAX_CLASSES;
    l
}

const SERVER: &str = concat!("tocsin-voicemail/", env!("CARGO_PKG_VERSION"));

impl Endpoint {
    pub fn new(settings: &Settings, tag_secret: TagSecret, subs: Subscriptions) -> Endpoint {
        Endpoint {
            limits: limits(),
            trust: settings.trust.clone(),
            users: settings.users.clone(),
            account_from: settings.account_from,
            responder: Responder::new(tag_secret).with_server(SERVER),
            txns: TxnCache::default(),
            accounts: Accounts::default(),
            pending: HashMap::new(),
            conns: HashMap::new(),
            subs,
            next_token: 1,
            log: LogLimit::default(),
        }
    }

    pub fn start(&mut self, io: &mut dyn Io, now: Instant) {
        self.subs.start_all(io, now);
    }

    pub fn stop(&mut self, io: &mut dyn Io, now: Instant) {
        self.subs.stop_all(io, now);
    }

    pub fn on_timer(&mut self, io: &mut dyn Io, now: Instant, t: TimerId) {
        self.subs.on_timer(io, now, t);
    }

    pub fn on_datagram(
        &mut self,
        io: &mut dyn Io,
        now: Instant,
        sock: Handle,
        data: &[u8],
        peer: &str,
    ) {
        let Ok(addr) = peer.parse::<SocketAddr>() else {
            log::warn!("datagram from unusable address {peer:?} dropped");
            return;
        };
        let to = ReplyTo::Udp {
            sock,
            peer: peer.to_owned(),
        };
        let src = Source {
            to: &to,
            peer: addr,
            udp: true,
            bytes: data,
        };
        if !self.trust.network_allows(addr.ip()) {
            self.forbid(io, now, data, &src);
            return;
        }
        match parse_datagram(data, &self.limits) {
            Ok(msg) => self.on_message(io, now, &msg, &src),
            Err(e) => self.on_parse_error(io, now, data, &e, &src),
        }
    }

    pub fn on_accept(&mut self, io: &mut dyn Io, conn: Handle, peer: &str) {
        match peer.parse::<SocketAddr>() {
            Ok(addr) => {
                self.conns.insert(
                    conn,
                    Conn {
                        peer: addr,
                        decoder: StreamDecoder::new(self.limits.clone()),
                    },
                );
            }
            Err(_) => {
                log::warn!("connection from unusable address {peer:?} closed");
                io.close(conn);
            }
        }
    }

    pub fn on_closed(&mut self, conn: Handle) {
        self.conns.remove(&conn);
    }

    pub fn on_data(&mut self, io: &mut dyn Io, now: Instant, conn: Handle, data: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let peer = c.peer;
        let decoded = c.decoder.feed(data);
        let to = ReplyTo::Tcp(conn);
        let src_of = |bytes| Source {
            to: &to,
            peer,
            udp: false,
            bytes,
        };
        let trusted = self.trust.network_allows(peer.ip());
        for frame in &decoded.frames {
            let src = src_of(frame.bytes());
            if !trusted {
                self.forbid(io, now, frame.bytes(), &src);
                continue;
            }
            match frame.parse(&self.limits) {
                Ok(msg) => self.on_message(io, now, &msg, &src),
                Err(e) => self.on_parse_error(io, now, frame.bytes(), &e, &src),
            }
        }
        if let Some(err) = decoded.error {
            let src = src_of(err.head.as_deref().unwrap_or_default());
            // A stream cannot be resynchronised: answer if we can, close.
            match (&err.head, trusted) {
                (Some(head), true) => self.on_parse_error(io, now, head, &err.error, &src),
                (Some(head), false) => self.forbid(io, now, head, &src),
                (None, _) => self.log.info(now, || {
                    format!("{peer} (tcp): {}; connection closed", err.error)
                }),
            }
            io.close(conn);
            self.conns.remove(&conn);
        }
    }

    pub fn on_committed(&mut self, io: &mut dyn Io, token: u64, r: CommitResult) {
        let Some(p) = self.pending.remove(&token) else {
            return;
        };
        let stored = match &r {
            CommitResult::Stored { .. } | CommitResult::Duplicate { .. } => true,
            CommitResult::Rejected { code, message } => {
                log::warn!(
                    "event for {} refused by ingest ({code}: {message}); answered 500",
                    p.account
                );
                false
            }
            CommitResult::Failed { message } => {
                log::warn!(
                    "event for {} not stored ({message}); answered 500 so the sender retries",
                    p.account
                );
                false
            }
        };
        if stored {
            self.accounts.committed(&p.account, token);
        } else {
            self.accounts.failed(io, &p.account, token);
        }
        for w in p.waiters {
            let bytes = if stored {
                w.ok
            } else {
                match self.failure_answer(&w.request, w.peer) {
                    Some(b) => b,
                    None => continue,
                }
            };
            reply(io, &w.to, &bytes);
            if let Some(k) = w.key {
                self.txns.answer(&k, bytes);
            }
        }
    }

    /// 403 to anything from an untrusted source that can be addressed;
    /// the rest is dropped.
    fn forbid(&mut self, io: &mut dyn Io, now: Instant, data: &[u8], src: &Source<'_>) {
        let peer = src.peer;
        let answered = recover_request(data, &self.limits).ok().and_then(|m| {
            let echo = EchoHeaders::from_message(&m).ok()?;
            Some(self.responder.respond(&echo, StatusCode::FORBIDDEN, peer))
        });
        match answered {
            Some(bytes) => {
                reply(io, src.to, &bytes);
                self.log
                    .info(now, || format!("{peer}: source not allowed; answered 403"));
            }
            None => self
                .log
                .info(now, || format!("{peer}: source not allowed; dropped")),
        }
    }

    fn on_parse_error(
        &mut self,
        io: &mut dyn Io,
        now: Instant,
        data: &[u8],
        e: &ParseError,
        src: &Source<'_>,
    ) {
        if *e == ParseError::Keepalive {
            // CRLF keepalives (RFC 5626): nothing to answer, nothing to log.
            return;
        }
        let peer = src.peer;
        if self.trust.requires_secret()
            && let Ok(m) = recover_request(data, &self.limits)
            && !is_in_dialog(&m)
            && !self.trust.secret_ok(&m)
        {
            if let Ok(echo) = EchoHeaders::from_message(&m) {
                let bytes = self.responder.respond(&echo, StatusCode::FORBIDDEN, peer);
                reply(io, src.to, &bytes);
                self.log.info(now, || {
                    format!("{peer}: shared secret missing; answered 403")
                });
                return;
            }
        }
        match self
            .responder
            .answer_parse_error(data, e, &self.limits, peer)
        {
            Ok(bytes) => {
                reply(io, src.to, &bytes);
                self.log.info(now, || {
                    format!("{peer}: {e}; answered {}", status_of(&bytes))
                });
            }
            Err(why) => self
                .log
                .info(now, || format!("{peer}: {e}; dropped ({why})")),
        }
    }

    fn on_message(
        &mut self,
        io: &mut dyn Io,
        now: Instant,
        msg: &SipMessage<'_>,
        src: &Source<'_>,
    ) {
        let peer = src.peer;
        if !msg.is_request() {
            if !self.subs.on_response(io, now, msg) {
                self.log.info(now, || {
                    format!("{peer}: response to no request of ours; dropped")
                });
            }
            return;
        }
        if !is_in_dialog(msg) && !self.trust.secret_ok(msg) {
            if let Ok(echo) = EchoHeaders::from_message(msg) {
                let bytes = self.responder.respond(&echo, StatusCode::FORBIDDEN, peer);
                reply(io, src.to, &bytes);
            }
            self.log.info(now, || {
                format!("{peer}: shared secret missing or wrong; answered 403")
            });
            return;
        }
        match classify(msg, &self.limits.summary) {
            Classified::Notify(n) => self.on_notify(io, now, n, src),
            Classified::Options(req) => {
                let bytes = self.responder.options_ok(req.echo(), peer);
                reply(io, src.to, &bytes);
            }
            Classified::Reject(r) => {
                let bytes = self.responder.reject(&r, peer);
                reply(io, src.to, &bytes);
                self.log.info(now, || {
                    format!("{peer}: {}; answered {}", r.reason, r.status.as_u16())
                });
            }
            Classified::Drop(d) => self.log.info(now, || format!("{peer}: {d}; dropped")),
            // Requests only reach classify.
            Classified::Response => {}
        }
    }

    fn on_notify(&mut self, io: &mut dyn Io, now: Instant, n: Notify<'_>, src: &Source<'_>) {
        let key = src.udp.then(|| n.transaction_key());
        if let Some(k) = &key {
            match self.txns.get(k, now) {
                Some(Seen::Answered(bytes)) => {
                    let bytes = bytes.clone();
                    reply(io, src.to, &bytes);
                    return;
                }
                Some(Seen::Pending(_)) => {
                    log::debug!(
                        "{}: retransmission of a NOTIFY whose commit is pending; answered when it lands",
                        src.peer
                    );
                    return;
                }
                None => {}
            }
        }
        let peer = src.peer;
        let echo = n.request.echo();
        let ok = self.responder.respond(echo, StatusCode::OK, peer);
        let in_dialog = n.is_in_dialog();
        let default_account = if in_dialog {
            match self.subs.on_notify(io, now, &n.request) {
                DialogMatch::Accepted { uri } => uri,
                DialogMatch::Answer(m) => {
                    let bytes = if m.status() == StatusCode::OK {
                        ok
                    } else {
                        self.log.info(now, || {
                            format!(
                                "{peer}: in-dialog NOTIFY ({m:?}); answered {}",
                                m.status().as_u16()
                            )
                        });
                        self.responder.respond(echo, m.status(), peer)
                    };
                    self.answer(io, now, src, key, bytes);
                    return;
                }
            }
        } else {
            n.request.to().uri().to_owned()
        };
        let Some(summary) = &n.summary else {
            // No body (e.g. a final `terminated` NOTIFY): no state to store.
            self.answer(io, now, src, key, ok);
            return;
        };
        let account = match (self.account_from, in_dialog) {
            (AccountFrom::To, false) => default_account,
            _ => summary.account.clone().unwrap_or(default_account),
        };
        let Some(user) = self.users.user_for(&account) else {
            self.log.info(now, || {
                format!("{peer}: no user_map rule matches account {account}; answered 404")
            });
            let bytes = self
                .responder
                .response(echo, StatusCode::NOT_FOUND, peer)
                .reason("No User For This Account")
                .finish();
            self.answer(io, now, src, key, bytes);
            return;
        };
        let digest = summary.state_digest();
        let latest = self.accounts.get(io, &account);
        if let Some(r) = latest.filter(|r| r.digest == Some(digest)) {
            match r
                .pending
                .and_then(|t| self.pending.get_mut(&t).map(|p| (t, p)))
            {
                Some((token, p)) => {
                    // Same state as one still being committed (a resend
                    // with a new CSeq, or a retransmission the cache lost):
                    // answered with it, never emitted twice.
                    p.waiters.push(Waiter {
                        to: src.to.clone(),
                        key: key.clone(),
                        ok,
                        request: src.bytes.to_vec(),
                        peer,
                    });
                    if let Some(k) = key {
                        self.txns.insert(k, Seen::Pending(token), now);
                    }
                }
                None => {
                    log::debug!("{peer}: state of {account} unchanged; answered 200");
                    self.answer(io, now, src, key, ok);
                }
            }
            return;
        }
        let seq = latest.map_or(1, |r| r.seq + 1);
        let token = self.next_token;
        self.next_token += 1;
        let origin = peer.ip().to_canonical().to_string();
        let ev = event::build(&StateChange {
            summary,
            account: &account,
            user: &user,
            digest,
            seq,
            origin: &origin,
        });
        if let Err(e) = io.emit(&ev, token) {
            log::warn!("event for {account} refused by the host ({e}); answered 500");
            let fail = self.fail_response(echo, peer);
            self.answer(io, now, src, key, fail);
            return;
        }
        // Written in the same transaction as the event.
        self.accounts.set(
            io,
            &account,
            Record {
                digest: Some(digest),
                seq,
                pending: Some(token),
            },
        );
        log::debug!(
            "{peer}: {account} changed ({}); emitted {}",
            ev.summary,
            ev.source_event_id
        );
        if let Some(k) = &key {
            self.txns.insert(k.clone(), Seen::Pending(token), now);
        }
        self.pending.insert(
            token,
            Pending {
                account,
                waiters: vec![Waiter {
                    to: src.to.clone(),
                    key,
                    ok,
                    request: src.bytes.to_vec(),
                    peer,
                }],
            },
        );
    }

    /// 500, so the sender retries later (the state was not stored).
    fn fail_response(&self, echo: &EchoHeaders<'_>, peer: SocketAddr) -> Vec<u8> {
        self.responder
            .response(echo, StatusCode::SERVER_INTERNAL_ERROR, peer)
            .header("Retry-After", "5")
            .finish()
    }

    /// The 500 for a request kept as bytes (it parsed before, so this only
    /// fails if the limits shrank in between).
    fn failure_answer(&self, request: &[u8], peer: SocketAddr) -> Option<Vec<u8>> {
        let msg = parse_datagram(request, &self.limits).ok()?;
        let req = tocsin_sip::Request::new(&msg).ok()?;
        Some(self.fail_response(req.echo(), peer))
    }

    /// Sends a final answer and remembers it for retransmissions (UDP).
    fn answer(
        &mut self,
        io: &mut dyn Io,
        now: Instant,
        src: &Source<'_>,
        key: Option<TransactionKey>,
        bytes: Vec<u8>,
    ) {
        reply(io, src.to, &bytes);
        if let Some(k) = key {
            self.txns.insert(k, Seen::Answered(bytes), now);
        }
    }
}

fn reply(io: &mut dyn Io, to: &ReplyTo, bytes: &[u8]) {
    match to {
        ReplyTo::Udp { sock, peer } => io.send_datagram(*sock, bytes, peer),
        ReplyTo::Tcp(conn) => io.send_stream(*conn, bytes),
    }
}

/// A To-tag marks a request inside a dialog (RFC 3261 §12.2).
fn is_in_dialog(msg: &SipMessage<'_>) -> bool {
    msg.to_header()
        .ok()
        .flatten()
        .and_then(|t| t.tag())
        .is_some()
}

fn status_of(response: &[u8]) -> &str {
    response
        .get(8..11)
        .and_then(|s| std::str::from_utf8(s).ok())
        .unwrap_or("?")
}
