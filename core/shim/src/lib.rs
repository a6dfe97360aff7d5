//! # tocsin-shim
//!
//! A sans-IO implementation of the RSerPool TCP-mapping shim
//! (draft-ietf-rserpool-tcpmapping-03): SCTP-like chunks over one TCP (or TLS)
//! byte stream giving message framing, streams with sequence numbers, PPIDs,
//! application-level ACKs, heartbeats and retrieval of un-acked messages after
//! a connection dies.
//!
//! * [`chunk`]: the pure codec (one chunk in, one chunk out).
//! * [`Connection`]: the per-connection state machine. It never touches a
//!   socket or a clock: the caller feeds received bytes, drains output, and
//!   passes `now` in.
//!
//! Every decision the draft leaves open (byte order, INIT sequencing, ACK
//! rules, heartbeat timing, closing, errors, limits) is written down in
//! `docs/shim.md`.
//!
//! ```
//! use std::time::Instant;
//! use tocsin_shim::{Config, Connection, Event, SendMeta};
//!
//! let now = Instant::now();
//! let mut a = Connection::new(Config::default(), now);
//! let mut b = Connection::new(Config::default(), now);
//! let tsn = a.send_data(now, SendMeta { stream: 1, ppid: 42, unordered: false }, b"hi").unwrap();
//!
//! // shuttle a -> b
//! let bytes = a.take_output();
//! assert_eq!(b.recv(&bytes), bytes.len());
//! assert!(matches!(b.poll_event(now).unwrap(), Some(Event::PeerInit(_))));
//! let Some(Event::Data(d)) = b.poll_event(now).unwrap() else { panic!() };
//! assert_eq!((d.tsn, d.stream, d.ppid, b.payload(&d)), (tsn, 1, 42, &b"hi"[..]));
//! b.ack(d.tsn).unwrap();
//!
//! // shuttle b -> a
//! let bytes = b.take_output();
//! a.recv(&bytes);
//! assert!(matches!(a.poll_event(now).unwrap(), Some(Event::PeerInit(_))));
//! assert_eq!(a.poll_event(now).unwrap(), Some(Event::Acked { first: tsn, last: tsn }));
//! assert_eq!(a.unacked_sent(), 0);
//! ```

pub mod chunk;
mod config;
mod connection;
mod error;
mod liveness;
pub mod serial;
mod unacked;

pub use chunk::{Chunk, ChunkType, DataChunk, InitFlags, MAX_CHUNK_LEN};
pub use config::Config;
pub use connection::{CHUNK_HEADER_LEN, Connection, Data, Event, SendMeta};
pub use error::{AckError, SendError, ShimError};
pub use unacked::{RetainedMeta, UnackedData};
