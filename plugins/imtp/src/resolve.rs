//! Finding another domain's IMTP server when no static route names it: DNS SRV
//! `_im-servers._tcp.<domain>` (RFC 2782), falling back to the domain's own address
//! on our default port, through the sans-IO `tocsin-dns` resolver on a fresh UDP
//! socket per lookup (a random source port, RFC 5452), and over TCP when an answer
//! comes back truncated (`dns_tcp.rs`). Results are cached for their TTL; when one
//! address refuses, the next is tried.

use crate::config::{DEFAULT_PORT, Route};
use crate::plugin::{Imtp, TimerUse};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tocsin_dns::{Lookup, ResolvConf};
use tocsin_sdk::{Handle, SocketKind, TimerId};

/// Cache bounds: never trust a TTL for long, never hammer the resolver.
const MIN_TTL: Duration = Duration::from_secs(5);
const MAX_TTL: Duration = Duration::from_secs(3600);

pub struct Resolving {
    pub domain: String,
    pub(crate) lookup: Lookup,
    timer: Option<TimerId>,
}

#[derive(Default)]
pub struct Resolver {
    /// By the UDP socket the lookup uses.
    pub running: HashMap<Handle, Resolving>,
    /// Queries asked again over TCP, by their connection.
    pub tcp: HashMap<Handle, crate::dns_tcp::DnsTcp>,
}

/// Per-process randomness for query ids, without another dependency: the standard
/// library seeds `RandomState` from the OS.
fn seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x746f_6373_696e);
    h.finish()
}

impl Imtp {
    pub(crate) fn resolve(&mut self, domain: &str) {
        let Some(cfg) = &self.settings.relay else {
            return;
        };
        let conf = match std::fs::read_to_string(&cfg.resolver) {
            Ok(t) => ResolvConf::parse(&t),
            Err(e) => {
                log::warn!(
                    "cannot read {}: {e}; using 127.0.0.1 as the DNS server",
                    cfg.resolver.display()
                );
                ResolvConf::default()
            }
        };
        let service = format!("_im-servers._tcp.{domain}");
        let lookup = Lookup::srv_then_addrs(
            &service,
            Some((domain, DEFAULT_PORT)),
            &conf,
            seed(),
            Instant::now(),
        );
        let v6 = conf.nameservers.first().is_some_and(SocketAddr::is_ipv6);
        let bind = if v6 { "[::]:0" } else { "0.0.0.0:0" };
        let sock = match self.host.bind_datagram(SocketKind::Udp, bind) {
            Ok(s) => s,
            Err(e) => {
                return self.domain_failed(domain, &format!("cannot look up {service}: {e}"));
            }
        };
        if let Some(dl) = self.relay.domains.get_mut(domain) {
            dl.resolving = true;
        }
        log::debug!("looking up {service}");
        self.resolver.running.insert(
            sock,
            Resolving {
                domain: domain.to_string(),
                lookup,
                timer: None,
            },
        );
        self.drive_lookup(sock);
    }

    /// Sends what the lookup wants sent, finishes it or re-arms its timer.
    pub(crate) fn drive_lookup(&mut self, sock: Handle) {
        loop {
            let Some(r) = self.resolver.running.get_mut(&sock) else {
                return;
            };
            while let Some((server, datagram)) = r.lookup.poll_transmit() {
                if let Err(e) = self.host.send_to(sock, &datagram, &server.to_string()) {
                    log::debug!("DNS query to {server}: {e}");
                }
            }
            let tcp: Vec<_> = std::iter::from_fn(|| r.lookup.poll_tcp()).collect();
            // A connection that could not even start failed its query at
            // once: see what the lookup wants next.
            if tcp.is_empty() || !self.start_dns_tcp(sock, tcp) {
                break;
            }
        }
        let Some(r) = self.resolver.running.get_mut(&sock) else {
            return;
        };
        if let Some(t) = r.timer.take() {
            self.timers.remove(&t);
            let _ = self.host.cancel_timer(t);
        }
        if !r.lookup.is_finished() {
            if let Some(at) = r.lookup.next_timeout() {
                let ms = at.saturating_duration_since(Instant::now()).as_millis();
                if let Ok(t) = self.host.timer(u64::try_from(ms).unwrap_or(u64::MAX) + 1) {
                    r.timer = Some(t);
                    self.timers.insert(t, TimerUse::Dns(sock));
                }
            }
            return;
        }
        let Some(mut r) = self.resolver.running.remove(&sock) else {
            return;
        };
        let _ = self.host.close(sock);
        self.end_dns_tcp(sock);
        let domain = r.domain.clone();
        if let Some(dl) = self.relay.domains.get_mut(&domain) {
            dl.resolving = false;
        }
        match r.lookup.take_result() {
            Some(Ok(res)) if !res.endpoints.is_empty() => {
                let ttl = Duration::from_secs(u64::from(res.min_ttl.unwrap_or(300)))
                    .clamp(MIN_TTL, MAX_TTL);
                let addrs: Vec<SocketAddr> = res.endpoints.iter().map(|e| e.addr).collect();
                log::info!("{domain}: IMTP servers {addrs:?} (for {}s)", ttl.as_secs());
                if let Some(dl) = self.relay.domains.get_mut(&domain) {
                    dl.endpoints = addrs;
                    dl.next_endpoint = 0;
                    dl.endpoints_until = Some(Instant::now() + ttl);
                }
                self.connect_endpoint(&domain);
            }
            Some(Ok(_)) => {
                self.domain_failed(&domain, &format!("{domain}: DNS gave no address"));
            }
            Some(Err(e)) => self.domain_failed(&domain, &format!("{domain}: {e}")),
            None => {}
        }
    }

    pub(crate) fn on_dns_datagram(&mut self, sock: Handle, data: &[u8], peer: &str) -> bool {
        let Some(r) = self.resolver.running.get_mut(&sock) else {
            return false;
        };
        if let Ok(from) = peer.parse::<SocketAddr>() {
            r.lookup.handle_datagram(from, data, Instant::now());
        }
        self.drive_lookup(sock);
        true
    }

    pub(crate) fn dns_timer(&mut self, sock: Handle) {
        if let Some(r) = self.resolver.running.get_mut(&sock) {
            r.timer = None;
            r.lookup.handle_timeout(Instant::now());
            self.drive_lookup(sock);
        }
    }

    /// Connects to the next cached address of `domain`; resolves again when the
    /// cache is stale or used up.
    pub(crate) fn connect_endpoint(&mut self, domain: &str) {
        let now = Instant::now();
        let next = self.relay.domains.get_mut(domain).and_then(|dl| {
            let fresh = dl.endpoints_until.is_some_and(|t| t > now);
            let a = dl
                .endpoints
                .get(dl.next_endpoint)
                .copied()
                .filter(|_| fresh);
            dl.next_endpoint += 1;
            a
        });
        match next {
            Some(addr) => {
                let route = Route {
                    address: addr.to_string(),
                    plaintext: false,
                    // The certificate must name the domain we relay to (docs/imtp.md §3).
                    server_name: domain.to_string(),
                };
                self.connect(domain, &route);
            }
            None => {
                if let Some(dl) = self.relay.domains.get_mut(domain) {
                    dl.endpoints.clear();
                    dl.endpoints_until = None;
                }
                self.resolve(domain);
            }
        }
    }

    /// A connection attempt to a discovered address failed: try the next one, or
    /// give up on this round.
    pub(crate) fn endpoint_failed(&mut self, domain: &str, why: &str) {
        let more = self
            .relay
            .domains
            .get(domain)
            .is_some_and(|dl| dl.next_endpoint < dl.endpoints.len());
        if more {
            log::info!("{why}; trying the next address");
            self.connect_endpoint(domain);
        } else {
            if let Some(dl) = self.relay.domains.get_mut(domain) {
                dl.next_endpoint = 0;
            }
            self.domain_failed(domain, why);
        }
    }
}
