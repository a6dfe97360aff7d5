//! A minimal SIP peer for the voicemail plugin's end-to-end tests: builds
//! MWI NOTIFYs, sends them over real UDP or TCP sockets and reads the
//! answers (parsed with `tocsin-sip`, so a malformed answer fails the test).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use tocsin_sip::{Limits, StreamDecoder, parse_datagram};

/// An RFC 3842 body with voice-message counts.
pub fn mwi_body(waiting: bool, account: &str, new: u64, old: u64, un: u64, uo: u64) -> String {
    format!(
        "Messages-Waiting: {}\r\nMessage-Account: {account}\r\nVoice-Message: {new}/{old} ({un}/{uo})\r\n",
        if waiting { "yes" } else { "no" }
    )
}

/// An unsolicited NOTIFY as Asterisk sends it. `extra` is inserted as
/// header lines (each ending in CRLF).
#[derive(Debug, Clone)]
pub struct Notify {
    pub call_id: String,
    pub cseq: u32,
    pub branch: String,
    pub transport: &'static str,
    pub via: String,
    pub extra: String,
    pub body: String,
}

impl Notify {
    pub fn new(call_id: &str, body: &str) -> Notify {
        Notify {
            call_id: call_id.to_owned(),
            cseq: 1,
            branch: format!("z9hG4bK-{call_id}"),
            transport: "UDP",
            via: "127.0.0.1:5099".into(),
            extra: String::new(),
            body: body.to_owned(),
        }
    }

    pub fn tcp(mut self) -> Notify {
        self.transport = "TCP";
        self
    }

    pub fn header(mut self, line: &str) -> Notify {
        self.extra.push_str(line);
        self.extra.push_str("\r\n");
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        format!(
            "NOTIFY sip:tocsin@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/{} {};branch={}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:pbx@127.0.0.1>;tag=pbx-{}\r\n\
             To: <sip:tocsin@127.0.0.1>\r\n\
             Call-ID: {}\r\n\
             CSeq: {} NOTIFY\r\n\
             Event: message-summary\r\n\
             {}Content-Type: application/simple-message-summary\r\n\
             Content-Length: {}\r\n\r\n{}",
            self.transport,
            self.via,
            self.branch,
            self.call_id,
            self.call_id,
            self.cseq,
            self.extra,
            self.body.len(),
            self.body
        )
        .into_bytes()
    }
}

/// An answer, checked to be a parsable SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn new(bytes: Vec<u8>) -> Answer {
        let m = parse_datagram(&bytes, &Limits::default()).unwrap_or_else(|e| {
            panic!(
                "unparsable answer ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
        assert!(!m.is_request(), "a request came back: {m:?}");
        Answer { bytes }
    }

    pub fn status(&self) -> u16 {
        parse_datagram(&self.bytes, &Limits::default())
            .ok()
            .and_then(|m| m.status())
            .map_or(0, |s| s.as_u16())
    }

    pub fn header(&self, name: &str) -> Option<String> {
        parse_datagram(&self.bytes, &Limits::default())
            .ok()?
            .header(name)
            .map(str::to_owned)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A UDP peer bound on loopback.
pub struct UdpPeer {
    pub sock: UdpSocket,
    target: SocketAddr,
}

impl UdpPeer {
    pub fn new(target: &str) -> UdpPeer {
        UdpPeer::bind("127.0.0.1:0", target)
    }

    /// Binds a chosen source address (any 127.x works on Linux loopback).
    pub fn bind(local: &str, target: &str) -> UdpPeer {
        let sock = UdpSocket::bind(local).unwrap_or_else(|e| panic!("bind {local}: {e}"));
        UdpPeer {
            sock,
            target: target.parse().unwrap_or_else(|e| panic!("{target}: {e}")),
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    pub fn send(&self, bytes: &[u8]) {
        self.sock.send_to(bytes, self.target).unwrap();
    }

    /// The next answer within `wait`, or `None`.
    pub fn recv_within(&self, wait: Duration) -> Option<Answer> {
        self.sock.set_read_timeout(Some(wait)).unwrap();
        let mut buf = vec![0u8; 65536];
        match self.sock.recv_from(&mut buf) {
            Ok((n, _)) => Some(Answer::new(buf[..n].to_vec())),
            Err(_) => None,
        }
    }

    pub fn recv(&self) -> Answer {
        self.recv_within(Duration::from_secs(10))
            .expect("an answer within 10 s")
    }

    pub fn request(&self, bytes: &[u8]) -> Answer {
        self.send(bytes);
        self.recv()
    }

    /// True when nothing arrives for `wait`.
    pub fn silent_for(&self, wait: Duration) -> bool {
        self.recv_within(wait).is_none()
    }
}

/// A TCP peer: writes requests, decodes answers off the stream.
pub struct TcpPeer {
    pub stream: TcpStream,
    decoder: StreamDecoder,
    ready: Vec<Answer>,
}

impl TcpPeer {
    pub fn connect(target: &str) -> TcpPeer {
        let stream = TcpStream::connect(target).unwrap_or_else(|e| panic!("connect {target}: {e}"));
        TcpPeer {
            stream,
            decoder: StreamDecoder::new(Limits::default()),
            ready: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next answer, or `None` at EOF or after `wait`.
    pub fn recv_within(&mut self, wait: Duration) -> Option<Answer> {
        let deadline = Instant::now() + wait;
        loop {
            if !self.ready.is_empty() {
                return Some(self.ready.remove(0));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut buf = [0u8; 65536];
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => {
                    let d = self.decoder.feed(&buf[..n]);
                    assert!(d.error.is_none(), "bad framing from tocsin: {:?}", d.error);
                    self.ready
                        .extend(d.frames.iter().map(|f| Answer::new(f.bytes().to_vec())));
                }
            }
        }
    }

    pub fn recv(&mut self) -> Answer {
        self.recv_within(Duration::from_secs(10))
            .expect("an answer within 10 s")
    }

    pub fn request(&mut self, bytes: &[u8]) -> Answer {
        self.send(bytes);
        self.recv()
    }

    /// True when the server closed the connection (after any answers).
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            self.stream
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => {}
            }
        }
        false
    }
}

/// A port nobody listens on right now (bind 0, read it, release it).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}
