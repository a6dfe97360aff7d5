//! The lookup state machine: SRV, then A/AAAA of the chosen targets, with
//! retransmission over the configured nameservers.
//!
//! The host drives it (see the crate documentation for the loop):
//! construct, then after construction and after every `handle_*` call
//! drain [`Lookup::poll_transmit`], arm a timer for
//! [`Lookup::next_timeout`], and stop once [`Lookup::result`] is `Some`.
//!
//! Retransmission follows resolv.conf(5): every query goes to the
//! nameservers in turn, waiting `timeout` for each, for `attempts` rounds.
//! An error RCODE moves on to the next server at once. A response is only
//! believed when it comes from a server the query was sent to, carries the
//! query's id and echoes its question (RFC 5452); anything else is dropped
//! silently — together with the host's random source port, that is the
//! protection against off-path spoofing.

use crate::error::DnsError;
use crate::message::{QType, Response, encode_query, parse_response};
use crate::resolv_conf::ResolvConf;
use crate::rng::SplitMix64;
use crate::srv;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

/// SRV targets beyond this many (in SRV order) are not looked up: it
/// bounds the queries one hostile response can cause.
pub const MAX_TARGETS: usize = 16;

/// One address to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The host name the address belongs to (the SRV target, or the host
    /// the lookup was started for): the name to verify a certificate for.
    pub host: String,
    pub addr: SocketAddr,
}

/// A successful lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// In the order to try them: SRV order, and for each host its IPv6
    /// addresses before its IPv4 ones. Never empty; no duplicates.
    pub endpoints: Vec<Endpoint>,
    /// The smallest TTL (seconds) of the records used, for caching; `None`
    /// when no record was used (an IP literal).
    pub min_ttl: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Srv,
    /// Addresses of `targets[i]`.
    Addr(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QState {
    /// Waiting for `poll_transmit`.
    ToSend,
    /// Sent; retransmit or give up at the deadline.
    Waiting {
        deadline: Instant,
    },
    /// Server `server` answered truncated over UDP: ask it again over TCP
    /// (RFC 7766), waiting for `poll_tcp`.
    TcpToSend {
        server: usize,
    },
    /// Handed out by `poll_tcp`; give up at the deadline.
    TcpWaiting {
        server: usize,
        deadline: Instant,
    },
    Done,
}

/// A query to send over TCP after a truncated UDP answer: connect to
/// `server`, write `message` (it carries the two-octet length prefix), read
/// one length-prefixed response and hand it to
/// [`Lookup::handle_tcp_response`] with `token`; report a failure with
/// [`Lookup::handle_tcp_failure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpQuery {
    pub token: u64,
    pub server: SocketAddr,
    pub message: Vec<u8>,
}

#[derive(Debug)]
struct Query {
    purpose: Purpose,
    qtype: QType,
    name: String,
    id: u16,
    wire: Vec<u8>,
    /// Transmissions so far.
    tries: u32,
    /// Index of the server of the latest transmission.
    current: usize,
    /// Per nameserver: has this query been sent there?
    sent_to: Vec<bool>,
    state: QState,
    /// The last malformed or failed answer, reported if nothing better
    /// comes before the retries run out.
    last_error: Option<DnsError>,
}

impl Query {
    fn is_open(&self) -> bool {
        self.state != QState::Done
    }
}

#[derive(Debug)]
struct Target {
    host: String,
    port: u16,
    v6: Vec<IpAddr>,
    v4: Vec<IpAddr>,
    nxdomain: bool,
    /// The first query failure for this host.
    error: Option<DnsError>,
}

impl Target {
    fn new(host: &str, port: u16) -> Self {
        Target {
            host: host.to_owned(),
            port,
            v6: Vec::new(),
            v4: Vec::new(),
            nxdomain: false,
            error: None,
        }
    }

    fn push(&mut self, ip: IpAddr) {
        let list = if ip.is_ipv6() {
            &mut self.v6
        } else {
            &mut self.v4
        };
        if !list.contains(&ip) {
            list.push(ip);
        }
    }
}

#[derive(Debug)]
enum Stage {
    /// Waiting for the SRV answer.
    Srv { fallback: Option<(String, u16)> },
    /// Waiting for the addresses of `targets`.
    Addrs,
}

/// A sans-IO lookup. See the [module documentation](self).
#[derive(Debug)]
pub struct Lookup {
    servers: Vec<SocketAddr>,
    timeout: Duration,
    max_tries: u32,
    rng: SplitMix64,
    now: Instant,
    /// The name the lookup was started for (for error messages).
    name: String,
    stage: Stage,
    queries: Vec<Query>,
    targets: Vec<Target>,
    min_ttl: Option<u32>,
    result: Option<Result<Resolution, DnsError>>,
    finished: bool,
}

impl Lookup {
    fn new(name: &str, conf: &ResolvConf, id_seed: u64, now: Instant, stage: Stage) -> Self {
        let rounds = conf.attempts.max(1);
        let servers = u32::try_from(conf.nameservers.len()).unwrap_or(u32::MAX);
        Lookup {
            servers: conf.nameservers.clone(),
            timeout: conf.timeout,
            max_tries: rounds.saturating_mul(servers.max(1)),
            rng: SplitMix64::new(id_seed),
            now,
            name: name.to_owned(),
            stage,
            queries: Vec::new(),
            targets: Vec::new(),
            min_ttl: None,
            result: None,
            finished: false,
        }
    }

    /// Looks up the SRV records of `service_name` (for instance
    /// `_im-servers._tcp.example.org`), orders them (RFC 2782) and resolves
    /// the targets' addresses — from the additional section when the
    /// server sent them, else by A and AAAA queries in parallel.
    ///
    /// When the name does not exist or has no SRV records, resolves
    /// `fallback_host` instead (RFC 2782: "the domain itself", with the
    /// protocol's default port), or fails with [`DnsError::NoSuchName`] /
    /// [`DnsError::NoData`] without one. Other failures of the SRV query do
    /// not fall back. A single SRV record with target `"."` gives
    /// [`DnsError::ServiceNotAvailable`].
    ///
    /// `id_seed` must be random (it determines the query ids). Errors in
    /// the arguments (an invalid name, no nameserver) are reported through
    /// [`Lookup::result`] at once.
    pub fn srv_then_addrs(
        service_name: &str,
        fallback_host: Option<(&str, u16)>,
        conf: &ResolvConf,
        id_seed: u64,
        now: Instant,
    ) -> Lookup {
        let fallback = fallback_host.map(|(host, port)| (host.to_owned(), port));
        let mut lookup = Lookup::new(service_name, conf, id_seed, now, Stage::Srv { fallback });
        if let Err(e) = lookup.start_query(Purpose::Srv, service_name, QType::Srv) {
            lookup.finish(Err(e));
        }
        lookup
    }

    /// Resolves `host` to addresses with `port` (AAAA and A in parallel).
    /// An IP literal (`192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`) resolves
    /// at once without any query.
    pub fn addrs(host: &str, port: u16, conf: &ResolvConf, id_seed: u64, now: Instant) -> Lookup {
        let mut lookup = Lookup::new(host, conf, id_seed, now, Stage::Addrs);
        lookup.add_host(host, port);
        lookup.maybe_finish();
        lookup
    }

    /// The next datagram to send, and where to. Call until `None`.
    ///
    /// Its retransmission timer starts at the `now` of the latest call
    /// (construction or `handle_*`), so drain this right after each one.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        if self.finished || self.servers.is_empty() {
            return None;
        }
        let deadline = self.now + self.timeout;
        let count = self.servers.len();
        let query = self
            .queries
            .iter_mut()
            .find(|q| q.state == QState::ToSend)?;
        let index = usize::try_from(query.tries).unwrap_or(0) % count;
        query.tries += 1;
        query.current = index;
        if let Some(sent) = query.sent_to.get_mut(index) {
            *sent = true;
        }
        query.state = QState::Waiting { deadline };
        let server = self.servers.get(index).copied()?;
        log::debug!(
            "dns: query {:#06x} {} {} to {server} (try {})",
            query.id,
            query.name,
            query.qtype,
            query.tries
        );
        Some((server, query.wire.clone()))
    }

    /// The next query to send over TCP (see [`TcpQuery`]). Call until
    /// `None` after each call, like [`Lookup::poll_transmit`].
    pub fn poll_tcp(&mut self) -> Option<TcpQuery> {
        if self.finished {
            return None;
        }
        let deadline = self.now + self.timeout;
        let (qi, query) = self
            .queries
            .iter_mut()
            .enumerate()
            .find(|(_, q)| matches!(q.state, QState::TcpToSend { .. }))?;
        let QState::TcpToSend { server } = query.state else {
            return None;
        };
        query.state = QState::TcpWaiting { server, deadline };
        let addr = self.servers.get(server).copied()?;
        let len = u16::try_from(query.wire.len()).ok()?;
        let mut message = Vec::with_capacity(query.wire.len() + 2);
        message.extend_from_slice(&len.to_be_bytes());
        message.extend_from_slice(&query.wire);
        log::debug!(
            "dns: query {:#06x} {} {} to {addr} over TCP (truncated over UDP)",
            query.id,
            query.name,
            query.qtype
        );
        Some(TcpQuery {
            token: qi as u64,
            server: addr,
            message,
        })
    }

    /// The response to the [`TcpQuery`] `token` (without its length
    /// prefix).
    pub fn handle_tcp_response(&mut self, token: u64, message: &[u8], now: Instant) {
        self.advance(now);
        let Some(qi) = self.tcp_query(token) else {
            return;
        };
        let query = &mut self.queries[qi];
        query.state = QState::Done;
        match parse_response(message, query.id, &query.name, query.qtype) {
            Ok(response) => self.on_answer(qi, &response),
            // Over TCP nothing else could have sent it: every error is final.
            Err(e) => self.on_failure(qi, e),
        }
        self.maybe_finish();
    }

    /// The [`TcpQuery`] `token` got no response: the connection failed or
    /// closed first.
    pub fn handle_tcp_failure(&mut self, token: u64, reason: &str, now: Instant) {
        self.advance(now);
        let Some(qi) = self.tcp_query(token) else {
            return;
        };
        self.fail_tcp(qi, reason.to_owned());
        self.maybe_finish();
    }

    fn tcp_query(&self, token: u64) -> Option<usize> {
        let qi = usize::try_from(token).ok()?;
        matches!(self.queries.get(qi)?.state, QState::TcpWaiting { .. }).then_some(qi)
    }

    fn fail_tcp(&mut self, qi: usize, reason: String) {
        let query = &mut self.queries[qi];
        let QState::TcpWaiting { server, .. } = query.state else {
            return;
        };
        query.state = QState::Done;
        let e = DnsError::TcpFailed {
            name: query.name.clone(),
            server: self.servers[server],
            reason,
        };
        self.on_failure(qi, e);
    }

    /// Feeds a datagram received from `from`. Datagrams that do not answer
    /// one of our open queries — another source, another id, another
    /// question — are ignored.
    pub fn handle_datagram(&mut self, from: SocketAddr, data: &[u8], now: Instant) {
        self.advance(now);
        if self.finished {
            return;
        }
        let (Some(&hi), Some(&lo)) = (data.first(), data.get(1)) else {
            return;
        };
        let id = u16::from_be_bytes([hi, lo]);
        let servers = &self.servers;
        let from_index = |q: &Query| {
            servers
                .iter()
                .zip(&q.sent_to)
                .position(|(s, &sent)| sent && same_endpoint(*s, from))
        };
        let Some((qi, server)) = self
            .queries
            .iter()
            .enumerate()
            .filter(|(_, q)| q.is_open() && q.id == id)
            .find_map(|(i, q)| from_index(q).map(|s| (i, s)))
        else {
            log::debug!(
                "dns: ignoring datagram from {from} (id {id:#06x}): no open query sent there"
            );
            return;
        };
        let query = &mut self.queries[qi];
        match parse_response(data, query.id, &query.name, query.qtype) {
            Ok(response) => {
                query.state = QState::Done;
                self.on_answer(qi, &response);
            }
            Err(e) if e.is_unrelated() => {
                log::debug!("dns: ignoring datagram from {from}: {e}");
            }
            Err(DnsError::ServerFailure { name, rcode, .. }) => {
                let e = DnsError::ServerFailure {
                    name,
                    rcode,
                    server: Some(from),
                };
                log::debug!("dns: {e}");
                if server != query.current {
                    // A late answer from a server we already gave up on.
                    query.last_error = Some(e);
                } else if query.tries < self.max_tries {
                    query.last_error = Some(e);
                    query.state = QState::ToSend;
                } else {
                    query.state = QState::Done;
                    self.on_failure(qi, e);
                }
            }
            Err(e @ DnsError::Truncated { .. }) => {
                if server == query.current {
                    // The answer is too big for a datagram: the same
                    // server, over TCP.
                    query.state = QState::TcpToSend { server };
                } else {
                    // A late answer from a server we already gave up on.
                    query.last_error = Some(e);
                }
            }
            Err(e @ DnsError::Malformed { .. }) => {
                // Could be a spoofer who guessed the id: keep waiting for
                // the genuine answer, but remember why this one was bad.
                log::warn!(
                    "dns: malformed response from {from} for {}: {e}",
                    query.name
                );
                query.last_error = Some(e);
            }
            Err(e) => {
                query.state = QState::Done;
                self.on_failure(qi, e);
            }
        }
        self.maybe_finish();
    }

    /// When [`Lookup::handle_timeout`] should be called next; `None` when
    /// nothing is pending (or the lookup is finished).
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        self.queries
            .iter()
            .filter_map(|q| match q.state {
                QState::Waiting { deadline } | QState::TcpWaiting { deadline, .. } => {
                    Some(deadline)
                }
                // Not sent yet: the host should poll right away.
                QState::ToSend | QState::TcpToSend { .. } => Some(self.now),
                QState::Done => None,
            })
            .min()
    }

    /// Retransmits (to the next nameserver) or gives up the queries whose
    /// deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        for qi in 0..self.queries.len() {
            if self.finished {
                return;
            }
            if let QState::TcpWaiting { deadline, .. } = self.queries[qi].state {
                if deadline <= self.now {
                    self.fail_tcp(qi, "no answer in time".to_owned());
                }
                continue;
            }
            let query = &mut self.queries[qi];
            let QState::Waiting { deadline } = query.state else {
                continue;
            };
            if deadline > self.now {
                continue;
            }
            if query.tries < self.max_tries {
                log::debug!(
                    "dns: no answer for {} {} (id {:#06x}), retransmitting",
                    query.name,
                    query.qtype,
                    query.id
                );
                query.state = QState::ToSend;
            } else {
                query.state = QState::Done;
                let e = query
                    .last_error
                    .take()
                    .unwrap_or_else(|| DnsError::Timeout {
                        name: query.name.clone(),
                        qtype: query.qtype,
                        attempts: query.tries,
                    });
                self.on_failure(qi, e);
            }
        }
        self.maybe_finish();
    }

    /// The outcome, once the lookup is finished.
    pub fn result(&self) -> Option<&Result<Resolution, DnsError>> {
        self.result.as_ref()
    }

    /// Takes the outcome out (later calls return `None`; the lookup stays
    /// finished).
    pub fn take_result(&mut self) -> Option<Result<Resolution, DnsError>> {
        self.result.take()
    }

    /// True once the outcome is known (even after it has been taken).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn start_query(&mut self, purpose: Purpose, name: &str, qtype: QType) -> Result<(), DnsError> {
        if self.servers.is_empty() {
            return Err(DnsError::NoNameservers);
        }
        // Distinct ids among open queries (a few draws at most).
        let mut id = self.rng.next_id();
        for _ in 0..8 {
            if !self.queries.iter().any(|q| q.is_open() && q.id == id) {
                break;
            }
            id = self.rng.next_id();
        }
        let wire = encode_query(id, name, qtype)?;
        self.queries.push(Query {
            purpose,
            qtype,
            name: name.to_owned(),
            id,
            wire,
            tries: 0,
            current: 0,
            sent_to: vec![false; self.servers.len()],
            state: QState::ToSend,
            last_error: None,
        });
        Ok(())
    }

    /// A host given by the caller: an IP literal, or a name to query.
    fn add_host(&mut self, host: &str, port: u16) {
        match ip_literal(host) {
            Some(ip) => {
                let mut target = Target::new(host, port);
                target.push(ip);
                self.targets.push(target);
            }
            None => self.add_named_target(host, port),
        }
    }

    fn add_named_target(&mut self, host: &str, port: u16) {
        let index = self.targets.len();
        self.targets.push(Target::new(host, port));
        for qtype in [QType::Aaaa, QType::A] {
            if let Err(e) = self.start_query(Purpose::Addr(index), host, qtype) {
                log::warn!("dns: cannot look up {host}: {e}");
                self.targets[index].error.get_or_insert(e);
                break;
            }
        }
    }

    fn note_ttl(&mut self, ttl: u32) {
        self.min_ttl = Some(self.min_ttl.map_or(ttl, |t| t.min(ttl)));
    }

    fn on_answer(&mut self, qi: usize, response: &Response) {
        let (purpose, qtype, qname) = {
            let q = &self.queries[qi];
            (q.purpose, q.qtype, q.name.clone())
        };
        match purpose {
            Purpose::Srv => self.on_srv_answer(&qname, response),
            Purpose::Addr(t) => self.on_addr_answer(t, qtype, &qname, response),
        }
    }

    fn on_srv_answer(&mut self, qname: &str, response: &Response) {
        let (canonical, cname_ttl) = response.canonical_name(qname);
        let records = response.srv_records(&canonical);
        let Stage::Srv { fallback } = std::mem::replace(&mut self.stage, Stage::Addrs) else {
            return;
        };
        if response.nxdomain || records.is_empty() {
            match fallback {
                Some((host, port)) => {
                    log::debug!("dns: no SRV records for {qname}, falling back to {host}:{port}");
                    self.add_host(&host, port);
                }
                None if response.nxdomain => self.finish(Err(DnsError::NoSuchName {
                    name: qname.to_owned(),
                })),
                None => self.finish(Err(DnsError::NoData {
                    name: qname.to_owned(),
                    qtype: QType::Srv,
                })),
            }
            return;
        }
        let srvs: Vec<srv::Srv> = records.iter().map(|(s, _)| s.clone()).collect();
        if srv::is_decidedly_unavailable(&srvs) {
            self.finish(Err(DnsError::ServiceNotAvailable {
                name: qname.to_owned(),
            }));
            return;
        }
        if let Some(ttl) = cname_ttl {
            self.note_ttl(ttl);
        }
        for &(_, ttl) in &records {
            self.note_ttl(ttl);
        }
        let rng = &mut self.rng;
        let ordered = srv::order(srvs, &mut |n| rng.upto(n));
        if ordered.len() > MAX_TARGETS {
            log::warn!(
                "dns: {qname} has {} SRV targets, using the first {MAX_TARGETS}",
                ordered.len()
            );
        }
        for record in ordered.into_iter().take(MAX_TARGETS) {
            let glue = response.addresses(&record.target, true);
            if glue.is_empty() {
                self.add_named_target(&record.target, record.port);
                continue;
            }
            let mut target = Target::new(&record.target, record.port);
            for (ip, ttl) in glue {
                target.push(ip);
                self.note_ttl(ttl);
            }
            self.targets.push(target);
        }
    }

    fn on_addr_answer(&mut self, t: usize, qtype: QType, qname: &str, response: &Response) {
        let (canonical, cname_ttl) = response.canonical_name(qname);
        let want_v6 = qtype == QType::Aaaa;
        let addrs: Vec<(IpAddr, u32)> = response
            .addresses(&canonical, false)
            .into_iter()
            .filter(|(ip, _)| ip.is_ipv6() == want_v6)
            .collect();
        if addrs.is_empty() {
            if response.nxdomain {
                if let Some(target) = self.targets.get_mut(t) {
                    target.nxdomain = true;
                }
            }
            return;
        }
        if let Some(ttl) = cname_ttl {
            self.note_ttl(ttl);
        }
        for &(_, ttl) in &addrs {
            self.note_ttl(ttl);
        }
        if let Some(target) = self.targets.get_mut(t) {
            for (ip, _) in addrs {
                target.push(ip);
            }
        }
    }

    fn on_failure(&mut self, qi: usize, error: DnsError) {
        let purpose = self.queries[qi].purpose;
        match purpose {
            Purpose::Srv => self.finish(Err(error)),
            Purpose::Addr(t) => {
                log::warn!("dns: {error}");
                if let Some(target) = self.targets.get_mut(t) {
                    target.error.get_or_insert(error);
                }
            }
        }
    }

    fn finish(&mut self, result: Result<Resolution, DnsError>) {
        match &result {
            Ok(r) => log::debug!(
                "dns: {} resolved to {} endpoints",
                self.name,
                r.endpoints.len()
            ),
            Err(e) => log::debug!("dns: lookup of {} failed: {e}", self.name),
        }
        for q in &mut self.queries {
            q.state = QState::Done;
        }
        self.result = Some(result);
        self.finished = true;
    }

    /// Finishes once the addresses of every target are in.
    fn maybe_finish(&mut self) {
        if self.finished
            || matches!(self.stage, Stage::Srv { .. })
            || self.queries.iter().any(Query::is_open)
        {
            return;
        }
        let mut endpoints: Vec<Endpoint> = Vec::new();
        for target in &self.targets {
            for &ip in target.v6.iter().chain(&target.v4) {
                let addr = SocketAddr::new(ip, target.port);
                if !endpoints.iter().any(|e| e.addr == addr) {
                    endpoints.push(Endpoint {
                        host: target.host.clone(),
                        addr,
                    });
                }
            }
        }
        let result = if !endpoints.is_empty() {
            Ok(Resolution {
                endpoints,
                min_ttl: self.min_ttl,
            })
        } else if let Some(e) = self.targets.iter().find_map(|t| t.error.clone()) {
            Err(e)
        } else {
            match self.targets.as_slice() {
                [only] if only.nxdomain => Err(DnsError::NoSuchName {
                    name: only.host.clone(),
                }),
                _ => Err(DnsError::NoAddresses {
                    name: self.name.clone(),
                }),
            }
        };
        self.finish(result);
    }
}

/// Same address and port; an IPv4-mapped IPv6 address (a dual-stack
/// socket's view of an IPv4 peer) equals its IPv4 form, and IPv6 zones and
/// flow labels are ignored.
fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && a.ip().to_canonical() == b.ip().to_canonical()
}

fn ip_literal(host: &str) -> Option<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip);
    }
    let inner = host.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

#[cfg(test)]
mod tests;
