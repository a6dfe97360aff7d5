//! A tiny authoritative DNS server on a loopback address for tests: answers
//! SRV and A queries from a table, NXDOMAIN for the rest, over UDP and TCP
//! (optionally truncating every UDP answer, as a server does with an answer
//! too big for a datagram). resolv.conf has no port syntax, so it binds port
//! 53 on an address of its own in 127/8.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct Zone {
    /// name → (priority, weight, port, target)
    pub srv: HashMap<String, Vec<(u16, u16, u16, String)>>,
    pub a: HashMap<String, Ipv4Addr>,
    /// Answer every UDP query with the TC bit and no records.
    pub truncate_udp: bool,
}

pub struct DnsServer {
    pub addr: Ipv4Addr,
    pub queries: Arc<AtomicUsize>,
    /// Queries that came over TCP.
    pub tcp_queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

fn encode_name(out: &mut Vec<u8>, name: &str) {
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// The question's name (lower case), type and where the question ends.
fn question(q: &[u8]) -> Option<(String, u16, usize)> {
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let n = *q.get(i)? as usize;
        i += 1;
        if n == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + n)?).to_ascii_lowercase());
        i += n;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    Some((labels.join("."), qtype, i + 4))
}

fn answer(q: &[u8], zone: &Zone) -> Option<Vec<u8>> {
    let (name, qtype, end) = question(q)?;
    let mut answers: Vec<Vec<u8>> = Vec::new();
    let rr = |rtype: u16, rdata: Vec<u8>| {
        let mut r = vec![0xC0, 12];
        r.extend_from_slice(&rtype.to_be_bytes());
        r.extend_from_slice(&1u16.to_be_bytes());
        r.extend_from_slice(&60u32.to_be_bytes());
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(&rdata);
        r
    };
    match qtype {
        33 => {
            for (p, w, port, target) in zone.srv.get(&name).into_iter().flatten() {
                let mut d = Vec::new();
                d.extend_from_slice(&p.to_be_bytes());
                d.extend_from_slice(&w.to_be_bytes());
                d.extend_from_slice(&port.to_be_bytes());
                encode_name(&mut d, target);
                answers.push(rr(33, d));
            }
        }
        1 => {
            if let Some(a) = zone.a.get(&name) {
                answers.push(rr(1, a.octets().to_vec()));
            }
        }
        _ => {}
    }
    let exists = zone.srv.contains_key(&name) || zone.a.contains_key(&name);
    let mut out = q[..2].to_vec();
    let rcode = if exists { 0 } else { 3 };
    out.extend_from_slice(&(0x8180u16 | rcode).to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&q[12..end]);
    for a in answers {
        out.extend_from_slice(&a);
    }
    Some(out)
}

/// The answer with the TC bit set and every record dropped.
fn truncated(full: &[u8], question_end: usize) -> Vec<u8> {
    let mut out = full[..question_end].to_vec();
    out[2] |= 0x02;
    out[6..12].fill(0);
    out
}

/// Serves one TCP connection: length-prefixed queries until EOF.
fn serve_tcp(mut c: std::net::TcpStream, zone: &Zone, n: &AtomicUsize) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    loop {
        let mut len = [0u8; 2];
        if c.read_exact(&mut len).is_err() {
            return;
        }
        let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if c.read_exact(&mut q).is_err() {
            return;
        }
        n.fetch_add(1, Ordering::Relaxed);
        let Some(r) = answer(&q, zone) else { return };
        let mut out = (r.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&r);
        if c.write_all(&out).is_err() {
            return;
        }
    }
}

impl DnsServer {
    pub fn start(addr: Ipv4Addr, zone: Zone) -> DnsServer {
        let sock = UdpSocket::bind((addr, 53)).expect("bind port 53 (tests run as root)");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let listener = TcpListener::bind((addr, 53)).expect("bind TCP port 53");
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));
        let tcp_queries = Arc::new(AtomicUsize::new(0));
        let (s, n, z) = (stop.clone(), queries.clone(), zone.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                if let Ok((len, from)) = sock.recv_from(&mut buf) {
                    n.fetch_add(1, Ordering::Relaxed);
                    let q = &buf[..len];
                    if let Some(r) = answer(q, &z) {
                        let r = match question(q) {
                            Some((_, _, end)) if z.truncate_udp => truncated(&r, end),
                            _ => r,
                        };
                        let _ = sock.send_to(&r, from);
                    }
                }
            }
        });
        let (s, n) = (stop.clone(), tcp_queries.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((c, _)) => {
                        let _ = c.set_nonblocking(false);
                        serve_tcp(c, &zone, &n);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        DnsServer {
            addr,
            queries,
            tcp_queries,
            stop,
        }
    }

    /// A resolv.conf naming this server.
    pub fn resolv_conf(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let p = dir.join("resolv.conf");
        std::fs::write(&p, format!("nameserver {}\noptions timeout:1\n", self.addr)).unwrap();
        p
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
