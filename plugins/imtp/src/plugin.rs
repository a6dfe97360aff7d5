//! The plugin instance: every connection the roles own, the host timers, and the
//! callback dispatch. Role logic lives in `server` (IMTP clients and inbound relays),
//! `pitp` (presence), `push` (fan-out to listeners) and `relay` (outbound links).

use crate::config::{self, Settings};
use crate::listeners::Listeners;
use crate::pitp::Watchers;
use crate::push::Pushes;
use crate::relay::Relay;
use crate::resolve::Resolver;
use crate::session::Session;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;
use tocsin_imtp::{Config, Connection, Event, Role, Timeouts, Transport};
use tocsin_sdk::{Delivery, DeliveryPlugin, Handle, Host, Plugin, SocketKind, TimerId, Tls};

/// What a connection is for.
pub enum Kind {
    /// An accepted IMTP connection: a listening client or a relaying server.
    Server,
    /// An accepted PITP connection.
    Pitp,
    /// Our outbound connection to another domain's server.
    Relay(String),
}

pub struct Link {
    pub session: Session,
    pub kind: Kind,
}

/// What a host timer is for.
#[derive(Debug, Clone)]
pub enum TimerUse {
    Session(Handle),
    /// A relay domain's idle check.
    Domain(String),
    /// A DNS lookup's retransmission (by its socket).
    Dns(Handle),
}

pub struct Imtp {
    pub(crate) host: Host,
    pub(crate) settings: Settings,
    pub(crate) imtp_listener: Option<Handle>,
    pub(crate) pitp_listener: Option<Handle>,
    pub(crate) links: HashMap<Handle, Link>,
    pub(crate) timers: HashMap<TimerId, TimerUse>,
    pub(crate) listeners: Listeners,
    pub(crate) watchers: Watchers,
    pub(crate) pushes: Pushes,
    pub(crate) relay: Relay,
    pub(crate) resolver: Resolver,
    /// Sessions that may have output or a changed deadline.
    dirty: BTreeSet<Handle>,
    /// Checks PLAIN passwords against `users_file`.
    pub(crate) secrets: crate::secret::Checker,
}

fn tls_of(t: &config::Tls) -> Tls {
    Tls {
        cert_file: t.cert.display().to_string(),
        key_file: t.key.display().to_string(),
        ca_file: t
            .ca
            .as_ref()
            .map(|c| c.display().to_string())
            .unwrap_or_default(),
        server_name: String::new(),
        require_client_cert: false,
    }
}

impl Imtp {
    pub(crate) fn mark(&mut self, h: Handle) {
        self.dirty.insert(h);
    }

    /// Writes output and re-arms timers of every session touched in this callback.
    pub(crate) fn settle(&mut self) {
        // Relay links stopped by a full output buffer go on once it drained; a few
        // rounds at most, the rest waits for `on_writable`.
        for _ in 0..8 {
            self.flush_dirty();
            if self.relay.repump.is_empty() {
                break;
            }
            for d in std::mem::take(&mut self.relay.repump) {
                self.pump(&d);
            }
        }
    }

    fn flush_dirty(&mut self) {
        let mut broken = Vec::new();
        while let Some(h) = self.dirty.pop_first() {
            let Some(link) = self.links.get_mut(&h) else {
                continue;
            };
            if link.session.closing {
                continue;
            }
            if let Err(e) = link.session.flush(&self.host) {
                broken.push((h, e.to_string()));
                continue;
            }
            let (old, new) = link.session.rearm(&self.host);
            if let Some(t) = old {
                self.timers.remove(&t);
            }
            if let Some(t) = new {
                self.timers.insert(t, TimerUse::Session(h));
            }
        }
        for (h, why) in broken {
            self.close_link(h, &why);
        }
    }

    /// Closes a connection now; its state is cleaned up in `on_closed`.
    pub(crate) fn close_link(&mut self, h: Handle, why: &str) {
        if let Some(link) = self.links.get_mut(&h) {
            if !link.session.closing {
                log::debug!("closing {} ({}): {why}", link.session.peer, h.0);
            }
            if let Some((t, _)) = link.session.timer {
                self.timers.remove(&t);
            }
            let _ = link.session.flush(&self.host);
            link.session.close(&self.host);
        }
    }

    fn connection_config(&self, kind: &Kind) -> Config {
        let mut c = match kind {
            Kind::Pitp => Config::pitp(),
            _ => Config::imtp(),
        };
        if let (Kind::Server | Kind::Pitp, Some(s)) = (kind, &self.settings.server) {
            // A listener that does not answer a push within this time is stuck: the
            // pushes it holds are failed and retried.
            c.timeouts = Timeouts {
                response: Some(s.push_timeout),
                message: s.message_timeout,
                handshake: Some(s.handshake_timeout),
                ..Timeouts::default()
            };
            c.offer_plain = !s.users.is_empty();
            // The host accepts before the TLS handshake ends; the certificate's
            // identity is read when the first octets arrive (see `drive`).
            c.external_identity_later = s.tls.as_ref().is_some_and(|t| t.ca.is_some());
        }
        c
    }

    /// Feeds octets (or a timeout) to a session and handles what it produced.
    fn drive(&mut self, h: Handle, data: Option<&[u8]>) {
        let now = Instant::now();
        let Some(link) = self.links.get_mut(&h) else {
            return;
        };
        if link.session.closing {
            return;
        }
        if data.is_some() && !link.session.identity_read && !matches!(link.kind, Kind::Relay(_)) {
            // Octets arrive only after the handshake: the client certificate
            // (if any) is verified and known now.
            link.session.identity_read = true;
            let id = self.host.peer_identity(h).ok().flatten();
            link.session.conn.set_peer_identity(id);
        }
        let r = match data {
            Some(d) => link.session.conn.feed(d, now),
            None => link.session.conn.handle_timeout(now),
        };
        let mut events = Vec::new();
        while let Some(e) = link.session.conn.poll_event() {
            events.push(e);
        }
        self.mark(h);
        for e in events {
            self.on_event(h, e);
        }
        if let Err(e) = r {
            self.close_link(h, &e.to_string());
        }
    }

    fn on_event(&mut self, h: Handle, e: Event) {
        let Some(link) = self.links.get(&h) else {
            return;
        };
        match link.kind {
            Kind::Server => self.server_event(h, e),
            Kind::Pitp => self.pitp_event(h, e),
            Kind::Relay(_) => self.relay_event(h, e),
        }
    }
}

impl Plugin for Imtp {
    const NAME: &'static str = "imtp";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn validate_config(config: &str) -> Result<(), String> {
        config::parse(config).map(|_| ()).map_err(|e| e.to_string())
    }

    fn create(host: Host, _instance: &str, config: &str) -> Result<Self, String> {
        let settings = config::parse(config).map_err(|e| e.to_string())?;
        let mut imtp_listener = None;
        let mut pitp_listener = None;
        if let Some(s) = &settings.server {
            let tls = s.tls.as_ref().map(tls_of);
            let open = |addr: std::net::SocketAddr, what: &str| {
                let l = host
                    .listen(SocketKind::Tcp, &addr.to_string(), tls.as_ref())
                    .map_err(|e| format!("cannot listen for {what} on {addr}: {e}"))?;
                let local = host.local_addr(l).unwrap_or_else(|_| addr.to_string());
                let mode = if tls.is_some() {
                    "TLS"
                } else {
                    "plaintext, loopback"
                };
                log::info!("{what} on {local} ({mode})");
                Ok::<_, String>(l)
            };
            imtp_listener = Some(open(s.listen, "IMTP")?);
            if let Some(p) = s.pitp_listen {
                pitp_listener = Some(open(p, "PITP")?);
            }
        }
        let relay = Relay::new(&settings);
        Ok(Imtp {
            host,
            settings,
            imtp_listener,
            pitp_listener,
            links: HashMap::new(),
            timers: HashMap::new(),
            listeners: Listeners::default(),
            watchers: Watchers::default(),
            pushes: Pushes::default(),
            relay,
            resolver: Resolver::default(),
            dirty: BTreeSet::new(),
            secrets: crate::secret::Checker::default(),
        })
    }

    fn on_accept(&mut self, listener: Handle, conn: Handle, peer: &str) {
        let kind = if Some(listener) == self.pitp_listener {
            Kind::Pitp
        } else if Some(listener) == self.imtp_listener {
            Kind::Server
        } else {
            let _ = self.host.close(conn);
            return;
        };
        // A plaintext listener is allowed on loopback only, and loopback never
        // leaves the host: it counts as confidential, so PLAIN works there (as
        // Dovecot treats localhost).
        let transport = Transport {
            tls: true,
            peer_identity: None,
        };
        let config = self.connection_config(&kind);
        let c = Connection::new(Role::Server, config, transport, Instant::now());
        self.links.insert(
            conn,
            Link {
                session: Session::new(conn, c, peer.to_string()),
                kind,
            },
        );
        self.mark(conn);
        self.settle();
    }

    fn on_data(&mut self, conn: Handle, data: &[u8]) {
        if !self.on_dns_tcp_data(conn, data) {
            self.drive(conn, Some(data));
        }
        self.settle();
    }

    fn on_datagram(&mut self, sock: Handle, data: &[u8], peer: &str) {
        if !self.on_dns_datagram(sock, data, peer) {
            log::debug!("datagram from {peer} on an unknown socket");
        }
        self.settle();
    }

    fn on_writable(&mut self, conn: Handle) {
        if let Some(l) = self.links.get_mut(&conn) {
            l.session.write_blocked = false;
            self.mark(conn);
        }
        self.relay_writable(conn);
        self.settle();
    }

    fn on_connected(&mut self, conn: Handle, result: Result<(), String>) {
        if !self.on_dns_tcp_connected(conn, &result) {
            self.relay_connected(conn, result);
        }
        self.settle();
    }

    fn on_closed(&mut self, conn: Handle, reason: &str) {
        if self.on_dns_tcp_closed(conn, reason) {
            self.settle();
            return;
        }
        let Some(mut link) = self.links.remove(&conn) else {
            return;
        };
        if let Some((t, _)) = link.session.timer.take() {
            self.timers.remove(&t);
            let _ = self.host.cancel_timer(t);
        }
        match &link.kind {
            Kind::Server => self.server_closed(conn, reason),
            Kind::Pitp => self.watchers.drop_connection(conn),
            Kind::Relay(domain) => {
                let domain = domain.clone();
                self.relay_closed(conn, &domain, &mut link.session, reason);
            }
        }
        self.settle();
    }

    fn on_timer(&mut self, t: TimerId) {
        match self.timers.remove(&t) {
            Some(TimerUse::Session(h)) => {
                if let Some(l) = self.links.get_mut(&h) {
                    l.session.timer = None;
                }
                self.drive(h, None);
            }
            Some(TimerUse::Domain(d)) => self.relay_timer(&d),
            Some(TimerUse::Dns(sock)) => self.dns_timer(sock),
            None => {}
        }
        self.settle();
    }
}

impl DeliveryPlugin for Imtp {
    fn deliver(&mut self, d: Delivery<'_>) {
        self.route(&d);
        self.settle();
    }
}
