//! The relay role: deliveries to other domains go over one reused, authenticated
//! TLS connection per domain, with `send`s pipelined up to `max_outstanding`.
//! Answers map to delivery outcomes as docs/imtp.md §7 says; a connection that dies
//! with sends unanswered turns them into retries (they may have been processed: at
//! least once, never lost).

use crate::config::Route;
use crate::plugin::{Imtp, Kind, Link, TimerUse};
use crate::push::delivery_failure;
use crate::session::Session;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Instant;
use tocsin_imtp::{
    ClientSasl, Command, Config, Connection, Delivery as ImtpDelivery, ErrorType, Event, Id,
    MechName, Outcome, PlainCredentials, Role, SendError, SendMessage, Transport,
};
use tocsin_sdk::{Handle, Outcome as DeliveryOutcome, SocketKind, TimerId, Tls};

#[derive(Default)]
pub struct DomainLink {
    pub conn: Option<Handle>,
    pub ready: bool,
    /// A DNS lookup for the domain's server is running.
    pub resolving: bool,
    pub queue: VecDeque<(u64, SendMessage)>,
    pub inflight: HashMap<Id, u64>,
    idle_timer: Option<TimerId>,
    /// Addresses from DNS, tried in order, valid until `endpoints_until`.
    pub endpoints: Vec<std::net::SocketAddr>,
    pub next_endpoint: usize,
    pub endpoints_until: Option<Instant>,
}

#[derive(Default)]
pub struct Relay {
    pub domains: HashMap<String, DomainLink>,
    /// Domains whose sending stopped at a full output buffer.
    pub repump: BTreeSet<String>,
    pub sent: u64,
}

impl Relay {
    pub fn new(_s: &crate::config::Settings) -> Relay {
        Relay::default()
    }
}

fn retry(reason: String) -> DeliveryOutcome {
    DeliveryOutcome::Retry {
        reason,
        after_ms: 0,
    }
}

impl Imtp {
    pub(crate) fn answer(&self, id: u64, o: &DeliveryOutcome) {
        if let Err(e) = self.host.delivery_result(id, o) {
            log::error!("delivery {id}: cannot report the result: {e}");
        }
    }

    /// Queues a send for another domain and makes sure a connection is coming.
    pub(crate) fn relay_send(&mut self, domain: &str, delivery_id: u64, msg: SendMessage) {
        let Some(cfg) = &self.settings.relay else {
            let o = DeliveryOutcome::Permanent {
                reason: format!("{domain} is not served here and relaying is not configured"),
            };
            return self.answer(delivery_id, &o);
        };
        let limit = cfg.queue_limit;
        let dl = self.relay.domains.entry(domain.to_string()).or_default();
        if dl.queue.len() + dl.inflight.len() >= limit {
            return self.answer(
                delivery_id,
                &retry(format!("relay queue for {domain} is full ({limit})")),
            );
        }
        dl.queue.push_back((delivery_id, msg));
        if dl.conn.is_some() {
            self.pump(domain);
        } else if !dl.resolving {
            self.open_route(domain);
        }
    }

    /// Static route first, else DNS SRV.
    fn open_route(&mut self, domain: &str) {
        let route = self
            .settings
            .relay
            .as_ref()
            .and_then(|r| r.routes.get(&domain.to_ascii_lowercase()).cloned());
        match route {
            Some(r) => self.connect(domain, &r),
            None => self.connect_endpoint(domain),
        }
    }

    pub(crate) fn connect(&mut self, domain: &str, route: &Route) {
        let Some(cfg) = &self.settings.relay else {
            return;
        };
        let tls = (!route.plaintext).then(|| Tls {
            cert_file: cfg
                .client_cert
                .as_ref()
                .map(|(c, _)| c.display().to_string())
                .unwrap_or_default(),
            key_file: cfg
                .client_cert
                .as_ref()
                .map(|(_, k)| k.display().to_string())
                .unwrap_or_default(),
            ca_file: cfg
                .ca
                .as_ref()
                .map(|c| c.display().to_string())
                .unwrap_or_default(),
            server_name: route.server_name.clone(),
            require_client_cert: false,
        });
        match self
            .host
            .connect(SocketKind::Tcp, &route.address, tls.as_ref())
        {
            Ok(h) => {
                let transport = Transport {
                    tls: tls.is_some(),
                    peer_identity: None,
                };
                let c = Connection::new(Role::Client, Config::imtp(), transport, Instant::now());
                self.links.insert(
                    h,
                    Link {
                        session: Session::new(h, c, route.address.clone()),
                        kind: Kind::Relay(domain.to_string()),
                    },
                );
                let dl = self.relay.domains.entry(domain.to_string()).or_default();
                dl.conn = Some(h);
                dl.ready = false;
                self.mark(h);
                log::debug!("connecting to {domain} at {}", route.address);
            }
            Err(e) => self.connect_failed(
                domain,
                &format!("cannot connect to {domain} at {}: {e}", route.address),
            ),
        }
    }

    /// A static route failed for this round; a discovered address makes way for
    /// the next one.
    fn connect_failed(&mut self, domain: &str, why: &str) {
        let static_route = self
            .settings
            .relay
            .as_ref()
            .is_some_and(|r| r.routes.contains_key(domain));
        if static_route {
            self.domain_failed(domain, why);
        } else {
            if let Some(dl) = self.relay.domains.get_mut(domain) {
                dl.conn = None;
            }
            self.endpoint_failed(domain, why);
        }
    }

    /// Every queued and in-flight delivery for `domain` is retried later.
    pub(crate) fn domain_failed(&mut self, domain: &str, why: &str) {
        log::warn!("{why}");
        let Some(dl) = self.relay.domains.get_mut(domain) else {
            return;
        };
        dl.conn = None;
        dl.ready = false;
        dl.resolving = false;
        let mut ids: Vec<u64> = dl.inflight.drain().map(|(_, d)| d).collect();
        ids.extend(dl.queue.drain(..).map(|(d, _)| d));
        if let Some(t) = dl.idle_timer.take() {
            self.timers.remove(&t);
            let _ = self.host.cancel_timer(t);
        }
        for id in ids {
            self.answer(id, &retry(why.to_string()));
        }
    }

    fn domain_of(&self, h: Handle) -> Option<String> {
        match &self.links.get(&h)?.kind {
            Kind::Relay(d) => Some(d.clone()),
            _ => None,
        }
    }

    /// Sends queued messages while the window allows.
    pub(crate) fn pump(&mut self, domain: &str) {
        let max = self
            .settings
            .relay
            .as_ref()
            .map_or(1, |r| r.max_outstanding);
        let Some(dl) = self.relay.domains.get_mut(domain) else {
            return;
        };
        let (Some(h), true) = (dl.conn, dl.ready) else {
            return;
        };
        let Some(link) = self.links.get_mut(&h) else {
            return;
        };
        if let Some(t) = dl.idle_timer.take() {
            self.timers.remove(&t);
            let _ = self.host.cancel_timer(t);
        }
        let now = Instant::now();
        let mut failed = Vec::new();
        while dl.inflight.len() < max {
            let Some((id, msg)) = dl.queue.pop_front() else {
                break;
            };
            let cmd = Command::Send(msg);
            match link.session.conn.send_command(&cmd, now) {
                Ok(cid) => {
                    log::debug!("delivery {id} sent to {domain} as {cid}");
                    dl.inflight.insert(cid, id);
                }
                Err(SendError::OutputFull { .. } | SendError::TooManyOutstanding { .. }) => {
                    // Backpressure: nothing was queued; try again once the output drained.
                    if let Command::Send(m) = cmd {
                        dl.queue.push_front((id, m));
                    }
                    self.relay.repump.insert(domain.to_string());
                    break;
                }
                Err(e) => failed.push((
                    id,
                    DeliveryOutcome::Permanent {
                        reason: format!("cannot encode the message: {e}"),
                    },
                )),
            }
        }
        self.mark(h);
        for (id, o) in failed {
            self.answer(id, &o);
        }
        self.arm_idle(domain);
    }

    /// Closes an idle link after `idle_timeout` so quiet domains hold no sockets.
    fn arm_idle(&mut self, domain: &str) {
        let Some(idle) = self.settings.relay.as_ref().map(|r| r.idle_timeout) else {
            return;
        };
        let Some(dl) = self.relay.domains.get_mut(domain) else {
            return;
        };
        if dl.conn.is_none() || !dl.queue.is_empty() || !dl.inflight.is_empty() {
            return;
        }
        if dl.idle_timer.is_none()
            && let Ok(t) = self
                .host
                .timer(u64::try_from(idle.as_millis()).unwrap_or(u64::MAX))
        {
            dl.idle_timer = Some(t);
            self.timers.insert(t, TimerUse::Domain(domain.to_string()));
        }
    }

    pub(crate) fn relay_timer(&mut self, domain: &str) {
        let Some(dl) = self.relay.domains.get_mut(domain) else {
            return;
        };
        dl.idle_timer = None;
        if dl.queue.is_empty()
            && dl.inflight.is_empty()
            && let Some(h) = dl.conn
        {
            self.close_link(h, "idle");
        }
    }

    pub(crate) fn relay_event(&mut self, h: Handle, e: Event) {
        let Some(domain) = self.domain_of(h) else {
            return;
        };
        match e {
            Event::Mechanisms(offered) => self.relay_authenticate(h, &domain, &offered),
            Event::Authenticated { .. } => {
                log::info!("relay link to {domain} is up");
                if let Some(dl) = self.relay.domains.get_mut(&domain) {
                    dl.ready = true;
                }
                self.pump(&domain);
            }
            Event::AuthFailed(e) => {
                let why = format!(
                    "{domain} refused our authentication: {}",
                    e.description.as_deref().unwrap_or(e.error_type.as_str())
                );
                self.close_link(h, &why);
                self.domain_failed(&domain, &why);
            }
            Event::Response { id, response } => {
                let Some(dl) = self.relay.domains.get_mut(&domain) else {
                    return;
                };
                let Some(delivery) = dl.inflight.remove(&id) else {
                    return;
                };
                let o = match &response.outcome {
                    Outcome::Ok(_) => match response.outcome.delivery() {
                        ImtpDelivery::Delivered {
                            unreliable: Some(u),
                            ..
                        } => DeliveryOutcome::SentWithNote {
                            note: format!("Unreliable: {} could not confirm delivery", u),
                        },
                        _ => DeliveryOutcome::Sent,
                    },
                    Outcome::Error(e) => delivery_failure(e),
                };
                self.relay.sent += u64::from(matches!(
                    o,
                    DeliveryOutcome::Sent | DeliveryOutcome::SentWithNote { .. }
                ));
                self.answer(delivery, &o);
                self.pump(&domain);
            }
            Event::Command { id, command } => {
                let o = match command {
                    Command::Shutdown(_) => {
                        // Section 14.2: reconnect (elsewhere); what is unanswered is retried.
                        self.respond(h, &id, Outcome::ok());
                        self.close_link(h, "the server asked us to reconnect (shutdown)");
                        return;
                    }
                    other => Outcome::error(
                        ErrorType::UnknownMethod,
                        format!("{} is not accepted on a relay link", other.method()),
                    ),
                };
                self.respond(h, &id, o);
            }
            Event::VerifyPlain(_) => {}
        }
    }

    fn relay_authenticate(&mut self, h: Handle, domain: &str, offered: &[MechName]) {
        let Some(cfg) = &self.settings.relay else {
            return;
        };
        if offered.is_empty() {
            // The server asks for no authentication (a plaintext loopback peer).
            if let Some(dl) = self.relay.domains.get_mut(domain) {
                dl.ready = true;
            }
            return self.pump(domain);
        }
        let sasl = if cfg.client_cert.is_some() && offered.contains(&MechName::external()) {
            Some(ClientSasl::External {
                authzid: String::new(),
            })
        } else if let (Some((u, p)), true) = (&cfg.plain, offered.contains(&MechName::plain())) {
            Some(ClientSasl::Plain(PlainCredentials::new(
                u.clone(),
                p.clone(),
            )))
        } else {
            None
        };
        let r = match (sasl, self.links.get_mut(&h)) {
            (Some(s), Some(link)) => link
                .session
                .conn
                .authenticate(s, Instant::now())
                .map(|_| ())
                .map_err(|e| e.to_string()),
            (None, _) => Err(format!(
                "{domain} offers {offered:?}; we have no credentials for any of them"
            )),
            (_, None) => return,
        };
        if let Err(why) = r {
            self.close_link(h, &why);
            self.domain_failed(domain, &why);
        }
    }

    pub(crate) fn relay_connected(&mut self, h: Handle, result: Result<(), String>) {
        let Some(domain) = self.domain_of(h) else {
            return;
        };
        if let Err(e) = result {
            self.links.remove(&h);
            self.connect_failed(&domain, &format!("cannot connect to {domain}: {e}"));
        }
    }

    pub(crate) fn relay_writable(&mut self, h: Handle) {
        if let Some(d) = self.domain_of(h) {
            self.pump(&d);
        }
    }

    pub(crate) fn relay_closed(
        &mut self,
        h: Handle,
        domain: &str,
        session: &mut Session,
        reason: &str,
    ) {
        let mine = self
            .relay
            .domains
            .get(domain)
            .is_some_and(|dl| dl.conn == Some(h));
        if !mine {
            return;
        }
        // The unanswered sends may or may not have been processed: retrying them
        // is at-least-once, which beats losing them.
        let _ = session.conn.take_unanswered();
        let quiet = self
            .relay
            .domains
            .get(domain)
            .is_some_and(|dl| dl.queue.is_empty() && dl.inflight.is_empty());
        if quiet {
            if let Some(dl) = self.relay.domains.get_mut(domain) {
                dl.conn = None;
                dl.ready = false;
            }
            log::debug!("relay link to {domain} closed: {reason}");
        } else {
            self.domain_failed(domain, &format!("relay link to {domain} closed: {reason}"));
        }
    }
}
