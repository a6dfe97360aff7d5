//! tocsin-dns: a sans-IO DNS stub resolver for finding a domain's IMTP
//! server.
//!
//! # Why
//!
//! The IMTP delivery plugin must locate a domain's server through the SRV
//! record `_im-servers._tcp.<domain>` (RFC 2782) and then the addresses of
//! the chosen target. It runs on the daemon's single mio event loop, where
//! a blocking `getaddrinfo` would stall every other connection, and it can
//! only exchange UDP datagrams through host callbacks. So this crate does
//! no I/O at all: no sockets, no clock reads, no threads. The host feeds
//! datagrams and [`Instant`](std::time::Instant)s in and takes datagrams
//! to send out, exactly as with the IMTP connection state machine.
//!
//! # Pieces
//!
//! * [`ResolvConf`]: nameservers and timeout/attempts from resolv.conf(5).
//! * [`encode_query`] / [`parse_response`]: the wire format (RFC 1035 with
//!   EDNS0), defensive against hostile responses.
//! * [`srv::order`]: RFC 2782 priority and weighted-random ordering.
//! * [`Lookup`]: the state machine — SRV, fallback, A/AAAA, retransmission
//!   over the nameservers, anti-spoofing checks.
//!
//! # Driving a lookup
//!
//! ```no_run
//! use std::net::UdpSocket;
//! use std::time::Instant;
//! use tocsin_dns::{Lookup, ResolvConf};
//!
//! let conf = ResolvConf::parse(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default());
//! let seed = 0x5eed; // take this from the OS random source
//! let mut lookup = Lookup::srv_then_addrs(
//!     "_im-servers._tcp.example.org",
//!     Some(("example.org", 5269)),
//!     &conf,
//!     seed,
//!     Instant::now(),
//! );
//! // A fresh socket on a random port per lookup (RFC 5452).
//! let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
//! let mut buf = [0u8; 4096];
//! while !lookup.is_finished() {
//!     while let Some((server, datagram)) = lookup.poll_transmit() {
//!         let _ = socket.send_to(&datagram, server);
//!     }
//!     let Some(deadline) = lookup.next_timeout() else { break };
//!     let wait = deadline.saturating_duration_since(Instant::now());
//!     socket.set_read_timeout(Some(wait.max(std::time::Duration::from_millis(1)))).unwrap();
//!     match socket.recv_from(&mut buf) {
//!         Ok((n, from)) => lookup.handle_datagram(from, &buf[..n], Instant::now()),
//!         Err(_) => lookup.handle_timeout(Instant::now()),
//!     }
//! }
//! match lookup.take_result() {
//!     Some(Ok(resolution)) => println!("{:?}", resolution.endpoints),
//!     Some(Err(e)) => eprintln!("{e}"),
//!     None => {}
//! }
//! ```
//!
//! Names are always treated as fully qualified (no search list), a
//! truncated UDP answer is asked again over TCP of the same server
//! ([`Lookup::poll_tcp`]: the host makes the connection), and CNAME chains
//! are followed only as far as the recursive resolver included them.

pub mod error;
pub mod lookup;
pub mod message;
pub mod name;
pub mod resolv_conf;
mod rng;
pub mod srv;

pub use error::DnsError;
pub use lookup::{Endpoint, Lookup, Resolution, TcpQuery};
pub use message::{EDNS_UDP_PAYLOAD, QType, RData, Record, Response, encode_query, parse_response};
pub use resolv_conf::ResolvConf;
pub use srv::Srv;

/// The response builder shared with the integration tests.
#[cfg(test)]
#[path = "../tests/common/builder.rs"]
mod test_builder;
