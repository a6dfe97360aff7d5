//! The measuring source: one `ClientSession` over one socket, driven by
//! hand so that every ACK is timed the moment it is read (the blocking
//! `Client` only notices ACKs when called).

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin_s2s::transport::Transport;
use tocsin_s2s::{ClientConfig, ClientEvent, ClientSession, Event, Outcome};

pub struct Source {
    poll: Poll,
    events: Events,
    transport: Transport,
    session: ClientSession,
    /// Send times of events not yet acked, in send (= ACK) order.
    in_flight: VecDeque<Instant>,
}

/// What a run measured.
pub struct Run {
    pub acked: usize,
    pub elapsed: Duration,
    /// Per-event send-to-ACK times (latency runs only).
    pub latencies: Vec<Duration>,
}

impl Source {
    pub fn connect(addr: &str, tls: Option<Arc<rustls::ClientConfig>>) -> Source {
        let sock = std::net::TcpStream::connect(addr).expect("connect to tocsind");
        sock.set_nodelay(true).unwrap();
        sock.set_nonblocking(true).unwrap();
        let mut sock = TcpStream::from_std(sock);
        let poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut sock, Token(0), Interest::READABLE | Interest::WRITABLE)
            .unwrap();
        let transport = match tls {
            None => Transport::plain(sock),
            Some(cfg) => {
                let name = tocsin_s2s::tls::server_name(addr).unwrap();
                Transport::tls(sock, rustls::ClientConnection::new(cfg, name).unwrap())
            }
        };
        let mut cfg = ClientConfig::new("bench");
        cfg.namespaces = vec![("m".into(), "mail".into())];
        let session = ClientSession::new(cfg, Instant::now()).unwrap();
        let mut s = Source {
            poll,
            events: Events::with_capacity(16),
            transport,
            session,
            in_flight: VecDeque::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !s.session.is_ready() {
            assert!(Instant::now() < deadline, "no WELCOME");
            s.pump(None, Some(Duration::from_millis(10)));
        }
        s
    }

    /// Moves bytes and handles what arrived; waits up to `wait` when
    /// nothing did. Returns the number of events acked.
    fn pump(&mut self, mut latencies: Option<&mut Vec<Duration>>, wait: Option<Duration>) -> usize {
        self.transport.write(&mut self.session).expect("write");
        let st = self.transport.read(&mut self.session).expect("read");
        let now = Instant::now();
        let mut acked = 0;
        while let Some(ev) = self.session.poll(now).expect("session") {
            match ev {
                ClientEvent::Result(r) => {
                    assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
                    let sent = self.in_flight.pop_front().expect("ACK for an event sent");
                    if let Some(l) = latencies.as_deref_mut() {
                        l.push(now - sent);
                    }
                    acked += 1;
                }
                ClientEvent::Goodbye { code, text } => panic!("GOODBYE {code}: {text}"),
                ClientEvent::Closed => panic!("tocsind closed the connection"),
                ClientEvent::Welcome => {}
            }
        }
        self.transport.write(&mut self.session).expect("write");
        if acked == 0 && st.bytes == 0 && !st.buffer_full {
            let _ = self.poll.poll(&mut self.events, wait);
        }
        acked
    }

    /// As fast as the window allows: sustained acknowledged events/s.
    pub fn flood(&mut self, evs: &[Event]) -> Run {
        let t = Instant::now();
        let (mut next, mut acked) = (0, 0);
        while acked < evs.len() {
            let now = Instant::now();
            while next < evs.len() && self.session.can_send() {
                if self.session.send(now, &evs[next]).is_err() {
                    break;
                }
                self.in_flight.push_back(now);
                next += 1;
            }
            acked += self.pump(None, Some(Duration::from_millis(5)));
        }
        Run {
            acked,
            elapsed: t.elapsed(),
            latencies: Vec::new(),
        }
    }

    /// A steady `rate` events/s; each event's ACK latency.
    pub fn paced(&mut self, evs: &[Event], rate: u32) -> Run {
        let t0 = Instant::now();
        let gap = Duration::from_secs(1) / rate;
        let mut latencies = Vec::with_capacity(evs.len());
        let (mut next, mut acked) = (0usize, 0);
        while acked < evs.len() {
            let now = Instant::now();
            while next < evs.len() && t0 + gap * next as u32 <= now {
                self.session
                    .send(now, &evs[next])
                    .expect("window never fills at this rate");
                self.in_flight.push_back(now);
                next += 1;
            }
            let until_next = (t0 + gap * next as u32).saturating_duration_since(Instant::now());
            let wait = if next < evs.len() {
                until_next
            } else {
                Duration::from_millis(5)
            };
            acked += self.pump(Some(&mut latencies), Some(wait));
        }
        Run {
            acked,
            elapsed: t0.elapsed(),
            latencies,
        }
    }
}
