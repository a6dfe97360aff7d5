//! S2S ingest fixtures: daemon configs with listeners and sources, the
//! library client's options, and a raw source that speaks the shim and
//! the messages directly (to do what the reference client never does:
//! oversized events, half-finished sessions, unix sockets).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin_s2s::msg::{self, Attributes, EventMsg, Hello, Message};
use tocsin_s2s::{ClientConfig, ClientOptions, Code, Priority};
use tocsin_shim::{Config as ShimConfig, Connection, Event as ShimEvent, SendMeta};

/// A port on 127.0.0.1 that nothing listens on right now (tests that
/// restart the daemon need the same port twice, so they cannot use 0).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Library client options: short backoff, an overall timeout.
pub fn client_options(
    addr: &str,
    session: ClientConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> ClientOptions {
    let mut o = ClientOptions::new(vec![addr.to_string()], session);
    o.tls = tls;
    o.timeout = Some(Duration::from_secs(30));
    o.connect_timeout = Duration::from_secs(2);
    o.backoff_initial = Duration::from_millis(50);
    o.backoff_max = Duration::from_millis(500);
    o
}

/// What a raw source received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Welcome {
        resume: Option<String>,
        max_event_bytes: Option<u32>,
        addresses: Vec<String>,
    },
    Reject {
        tsn: u32,
        code: Code,
        text: String,
    },
    Goodbye {
        code: Code,
        text: String,
    },
    /// The server acknowledged our DATA `first..=last`.
    Acked(u32, u32),
    Closed,
}

/// A source driven by hand over any blocking stream.
pub struct RawSource<S: Read + Write> {
    sock: S,
    shim: Connection,
    buf: Vec<u8>,
}

impl<S: Read + Write> RawSource<S> {
    /// `sock` must have a read timeout (a test must not hang).
    pub fn new(sock: S) -> Self {
        RawSource {
            sock,
            shim: Connection::new(ShimConfig::default(), Instant::now()),
            buf: Vec::new(),
        }
    }

    fn send(&mut self, ppid: u32, stream: u16) -> u32 {
        let tsn = self
            .shim
            .send_data_unbounded(
                Instant::now(),
                SendMeta {
                    stream,
                    ppid,
                    unordered: false,
                },
                &self.buf,
            )
            .unwrap();
        let out = self.shim.pending_output().to_vec();
        self.sock.write_all(&out).unwrap();
        self.shim.consume_output(out.len());
        tsn
    }

    pub fn hello(&mut self, source: &str) -> u32 {
        self.buf.clear();
        Hello {
            version: msg::VERSION,
            source,
            software: "raw-test/1",
            namespaces: vec![],
            default_origin_host: Some("raw.example"),
            default_lang: None,
        }
        .encode(&mut self.buf)
        .unwrap();
        self.send(msg::PPID_HELLO, 0)
    }

    /// An EVENT with this body (not checked against any limit).
    pub fn event(&mut self, id: &str, kind: &str, user: &str, body: &str) -> u32 {
        self.buf.clear();
        EventMsg {
            source_event_id: id,
            kind,
            user,
            origin_host: None,
            occurred_at_ms: 1_700_000_000_000,
            priority: Priority::Normal,
            summary: "raw",
            body: Some(body),
            lang: None,
            attributes: Attributes::Pairs(&[]),
        }
        .encode(&mut self.buf)
        .unwrap();
        self.send(msg::PPID_EVENT, 0)
    }

    /// The next thing the server said (its DATA is acked at once).
    pub fn receive(&mut self) -> Received {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(Instant::now() < deadline, "nothing from the server in 20 s");
            let now = Instant::now();
            match self.shim.poll_event(now).expect("shim error") {
                Some(ShimEvent::Data(d)) => {
                    let tsn = d.tsn;
                    let got = match Message::decode(d.ppid, self.shim.payload(&d)).unwrap() {
                        Message::Welcome(w) => Received::Welcome {
                            resume: w.resume.map(str::to_string),
                            max_event_bytes: w.max_event_bytes,
                            addresses: w.addresses.iter().map(|a| a.to_string()).collect(),
                        },
                        Message::Reject(r) => Received::Reject {
                            tsn: r.tsn,
                            code: r.code,
                            text: r.text.to_string(),
                        },
                        Message::Goodbye(g) => Received::Goodbye {
                            code: g.code,
                            text: g.text.to_string(),
                        },
                        other => panic!("unexpected from the server: {other:?}"),
                    };
                    self.shim.ack(tsn).unwrap();
                    let out = self.shim.pending_output().to_vec();
                    // the server may have closed already (after GOODBYE)
                    if self.sock.write_all(&out).is_ok() {
                        self.shim.consume_output(out.len());
                    }
                    return got;
                }
                Some(ShimEvent::Acked { first, last }) => return Received::Acked(first, last),
                Some(ShimEvent::PeerClosed) => return Received::Closed,
                Some(_) => continue,
                None => {}
            }
            let buf = self.shim.recv_buf();
            match self.sock.read(buf) {
                Ok(0) => self.shim.recv_eof(),
                Ok(n) => self.shim.recv_commit(n),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                    ) =>
                {
                    return Received::Closed;
                }
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Reads until `want` matches, returning everything seen before it.
    pub fn until(&mut self, want: impl Fn(&Received) -> bool) -> Vec<Received> {
        let mut seen = Vec::new();
        loop {
            let r = self.receive();
            let done = want(&r);
            let closed = r == Received::Closed;
            seen.push(r);
            if done {
                return seen;
            }
            assert!(!closed, "closed before the expected message: {seen:?}");
        }
    }
}
