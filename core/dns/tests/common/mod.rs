//! Shared test helpers: the response builder, a tiny DNS server thread on
//! 127.0.0.1, and a host loop that drives a `Lookup` over a real socket.
#![allow(dead_code)]
// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

pub mod builder;

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tocsin_dns::{DnsError, Lookup, Resolution};

/// A query as the test server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub from: SocketAddr,
    pub id: u16,
    pub name: String,
    pub qtype: u16,
    /// How many times this (name, qtype) had been asked before.
    pub repeat: usize,
}

/// What the server does with a query.
pub enum Reply {
    Answer(Vec<u8>),
    Drop,
    /// Send `forged` from another socket first, then the genuine answer.
    SpoofThenAnswer {
        forged: Vec<u8>,
        genuine: Vec<u8>,
    },
}

type Handler = dyn FnMut(&Received) -> Reply + Send;

/// A UDP DNS server on 127.0.0.1 (ephemeral port) answering from a
/// closure; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Received>>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(handler: impl FnMut(&Received) -> Reply + Send + 'static) -> TestServer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut handler: Box<Handler> = Box::new(handler);
        let thread = {
            let (stop, log) = (stop.clone(), log.clone());
            std::thread::spawn(move || serve(&socket, &stop, &log, &mut *handler))
        };
        TestServer {
            addr,
            stop,
            log,
            thread: Some(thread),
        }
    }

    /// The queries received so far.
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(socket: &UdpSocket, stop: &AtomicBool, log: &Mutex<Vec<Received>>, handler: &mut Handler) {
    let spoofer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut seen: HashMap<(String, u16), usize> = HashMap::new();
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::SeqCst) {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => panic!("test server: {e}"),
        };
        let Some((id, name, qtype)) = builder::parse_query(&buf[..n]) else {
            continue;
        };
        let count = seen.entry((name.to_ascii_lowercase(), qtype)).or_insert(0);
        let received = Received {
            from,
            id,
            name,
            qtype,
            repeat: *count,
        };
        *count += 1;
        log.lock().unwrap().push(received.clone());
        match handler(&received) {
            Reply::Answer(msg) => {
                socket.send_to(&msg, from).unwrap();
            }
            Reply::Drop => {}
            Reply::SpoofThenAnswer { forged, genuine } => {
                spoofer.send_to(&forged, from).unwrap();
                std::thread::sleep(Duration::from_millis(20));
                socket.send_to(&genuine, from).unwrap();
            }
        }
    }
}

/// The host side: sends what the lookup wants sent over `socket`, feeds
/// back what arrives, fires timeouts; returns the outcome.
pub fn drive(lookup: &mut Lookup, socket: &UdpSocket) -> Result<Resolution, DnsError> {
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    loop {
        if let Some(result) = lookup.take_result() {
            return result;
        }
        assert!(Instant::now() < give_up, "lookup never finished");
        while let Some((to, datagram)) = lookup.poll_transmit() {
            socket.send_to(&datagram, to).unwrap();
        }
        let deadline = lookup
            .next_timeout()
            .expect("an unfinished lookup has a timer");
        let wait = deadline.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            lookup.handle_timeout(Instant::now());
            continue;
        }
        socket.set_read_timeout(Some(wait)).unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => lookup.handle_datagram(from, &buf[..n], Instant::now()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                lookup.handle_timeout(Instant::now());
            }
            Err(e) => panic!("client socket: {e}"),
        }
    }
}
