//! DNS over TCP for a lookup whose UDP answer came back truncated (TC bit):
//! one host TCP connection per query to the same nameserver, the query with
//! its two-octet length prefix written on connect, and the first
//! length-prefixed response handed back to the lookup (RFC 7766). The
//! lookup's own deadline covers a server that accepts and never answers.

use crate::plugin::Imtp;
use std::time::Instant;
use tocsin_dns::TcpQuery;
use tocsin_sdk::{Handle, SocketKind};

/// A DNS response over TCP is at most 65 535 octets plus its prefix.
const MAX_RESPONSE: usize = 2 + 65_535;

pub struct DnsTcp {
    /// The lookup's UDP socket (its key in `Resolver::running`).
    pub lookup: Handle,
    token: u64,
    query: Vec<u8>,
    received: Vec<u8>,
}

impl Imtp {
    /// Opens a connection for each TCP query; a connection that cannot even
    /// be started fails the query at once.
    pub(crate) fn start_dns_tcp(&mut self, lookup: Handle, queries: Vec<TcpQuery>) -> bool {
        let mut failed = false;
        for q in queries {
            match self
                .host
                .connect(SocketKind::Tcp, &q.server.to_string(), None)
            {
                Ok(conn) => {
                    self.resolver.tcp.insert(
                        conn,
                        DnsTcp {
                            lookup,
                            token: q.token,
                            query: q.message,
                            received: Vec::new(),
                        },
                    );
                }
                Err(e) => {
                    if let Some(r) = self.resolver.running.get_mut(&lookup) {
                        r.lookup
                            .handle_tcp_failure(q.token, &e.to_string(), Instant::now());
                    }
                    failed = true;
                }
            }
        }
        failed
    }

    /// Closes the TCP queries of a lookup that finished.
    pub(crate) fn end_dns_tcp(&mut self, lookup: Handle) {
        let conns: Vec<Handle> = self
            .resolver
            .tcp
            .iter()
            .filter(|(_, t)| t.lookup == lookup)
            .map(|(c, _)| *c)
            .collect();
        for c in conns {
            self.resolver.tcp.remove(&c);
            let _ = self.host.close(c);
        }
    }

    /// `false` when `conn` is not a DNS connection.
    pub(crate) fn on_dns_tcp_connected(
        &mut self,
        conn: Handle,
        result: &Result<(), String>,
    ) -> bool {
        let Some(t) = self.resolver.tcp.get(&conn) else {
            return false;
        };
        let why = match result {
            Ok(()) => match self.host.send(conn, &t.query) {
                Ok(()) => return true,
                Err(e) => e.to_string(),
            },
            Err(e) => e.clone(),
        };
        self.dns_tcp_failed(conn, &why);
        true
    }

    pub(crate) fn on_dns_tcp_data(&mut self, conn: Handle, data: &[u8]) -> bool {
        let Some(t) = self.resolver.tcp.get_mut(&conn) else {
            return false;
        };
        t.received.extend_from_slice(data);
        let Some(len) = t
            .received
            .get(..2)
            .map(|p| 2 + usize::from(u16::from_be_bytes([p[0], p[1]])))
        else {
            return true;
        };
        if t.received.len() < len.min(MAX_RESPONSE) {
            return true;
        }
        let Some(t) = self.resolver.tcp.remove(&conn) else {
            return true;
        };
        let _ = self.host.close(conn);
        if let Some(r) = self.resolver.running.get_mut(&t.lookup) {
            r.lookup
                .handle_tcp_response(t.token, &t.received[2..len], Instant::now());
        }
        self.drive_lookup(t.lookup);
        true
    }

    pub(crate) fn on_dns_tcp_closed(&mut self, conn: Handle, reason: &str) -> bool {
        if !self.resolver.tcp.contains_key(&conn) {
            return false;
        }
        self.dns_tcp_failed(conn, &format!("connection closed: {reason}"));
        true
    }

    fn dns_tcp_failed(&mut self, conn: Handle, why: &str) {
        let Some(t) = self.resolver.tcp.remove(&conn) else {
            return;
        };
        let _ = self.host.close(conn);
        if let Some(r) = self.resolver.running.get_mut(&t.lookup) {
            r.lookup.handle_tcp_failure(t.token, why, Instant::now());
        }
        self.drive_lookup(t.lookup);
    }
}
