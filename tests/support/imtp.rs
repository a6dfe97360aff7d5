//! A blocking IMTP/PITP peer for tests, driving the sans-IO `tocsin-imtp`
//! connection over a real socket: an IM client that authenticates and listens,
//! or a stand-in remote IMTP server that answers relayed `send`s as told.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin_imtp::{
    ClientSasl, Command, Config, Connection, Event, Id, Listen, Outcome, PlainCredentials,
    PlainVerdict, Response, Role, SendMessage, Transport, Url,
};

pub trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config trusting `ca`, presenting `identity` when given.
pub fn tls_client(ca: &Path, identity: Option<(&Path, &Path)>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match identity {
        Some((c, k)) => b
            .with_client_auth_cert(
                CertificateDer::pem_file_iter(c)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_file(k).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    })
}

pub fn tls_server(cert: &Path, key: &Path) -> Arc<rustls::ServerConfig> {
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                CertificateDer::pem_file_iter(cert)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_file(key).unwrap(),
            )
            .unwrap(),
    )
}

pub struct ImtpPeer {
    io: Box<dyn Io>,
    sock: TcpStream,
    pub conn: Connection,
    events: VecDeque<Event>,
    pub closed: bool,
}

impl ImtpPeer {
    fn new(io: Box<dyn Io>, sock: TcpStream, role: Role, config: Config, tls: bool) -> ImtpPeer {
        let transport = Transport {
            tls,
            peer_identity: None,
        };
        ImtpPeer {
            io,
            sock,
            conn: Connection::new(role, config, transport, Instant::now()),
            events: VecDeque::new(),
            closed: false,
        }
    }

    /// An IM client over TLS to `addr`, checking the server's name `name`.
    pub fn client_tls(addr: &str, cfg: Arc<rustls::ClientConfig>, name: &str) -> ImtpPeer {
        let sock = TcpStream::connect(addr).unwrap();
        let c = rustls::ClientConnection::new(cfg, name.to_string().try_into().unwrap()).unwrap();
        let io = Box::new(rustls::StreamOwned::new(c, sock.try_clone().unwrap()));
        ImtpPeer::new(io, sock, Role::Client, Config::imtp(), true)
    }

    pub fn client_plain(addr: &str, config: Config) -> ImtpPeer {
        let sock = TcpStream::connect(addr).unwrap();
        let io = Box::new(sock.try_clone().unwrap());
        ImtpPeer::new(io, sock, Role::Client, config, false)
    }

    /// Accepts one connection as a TLS IMTP server offering PLAIN.
    pub fn accept_tls(l: &TcpListener, cfg: Arc<rustls::ServerConfig>) -> ImtpPeer {
        let (sock, _) = l.accept().unwrap();
        let c = rustls::ServerConnection::new(cfg).unwrap();
        let io = Box::new(rustls::StreamOwned::new(c, sock.try_clone().unwrap()));
        ImtpPeer::new(io, sock, Role::Server, Config::imtp(), true)
    }

    /// Raw octets, bypassing the codec (hostile input).
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.io.write_all(bytes)?;
        self.io.flush()
    }

    fn flush(&mut self) {
        while !self.conn.output().is_empty() {
            let n = self.conn.output().len();
            if self.io.write_all(self.conn.output()).is_err() {
                self.closed = true;
                return;
            }
            self.conn.consume_output(n);
        }
        let _ = self.io.flush();
    }

    /// Reads once (up to `wait`), feeding the codec. False when closed.
    fn read_once(&mut self, wait: Duration) -> bool {
        self.flush();
        self.sock
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .unwrap();
        let mut buf = [0u8; 16384];
        match self.io.read(&mut buf) {
            Ok(0) => {
                self.closed = true;
                false
            }
            Ok(n) => {
                let r = self.conn.feed(&buf[..n], Instant::now());
                while let Some(e) = self.conn.poll_event() {
                    self.events.push_back(e);
                }
                self.flush();
                if let Err(e) = &r {
                    eprintln!("imtp peer: protocol error: {e}");
                    self.closed = true;
                }
                r.is_ok()
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                true
            }
            Err(e) => {
                eprintln!("imtp peer: read failed: {e}");
                self.closed = true;
                false
            }
        }
    }

    /// The next event within `timeout`.
    pub fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero()
                || self.closed
                || !self.read_once(left.min(Duration::from_millis(200)))
            {
                return self.events.pop_front();
            }
        }
    }

    /// Waits until the peer closes (true) or `timeout` passes (false).
    pub fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.closed && Instant::now() < deadline {
            self.events.clear();
            self.read_once(Duration::from_millis(100));
        }
        self.closed
    }

    pub fn authenticate(&mut self, sasl: ClientSasl) -> Result<(), String> {
        match self.next_event(Duration::from_secs(10)) {
            Some(Event::Mechanisms(_)) => {}
            other => return Err(format!("expected the mechanism list, got {other:?}")),
        }
        self.conn
            .authenticate(sasl, Instant::now())
            .map_err(|e| e.to_string())?;
        match self.next_event(Duration::from_secs(10)) {
            Some(Event::Authenticated { .. }) => Ok(()),
            Some(Event::AuthFailed(e)) => Err(format!("{e:?}")),
            other => Err(format!("unexpected {other:?}")),
        }
    }

    pub fn login(&mut self, user: &str, password: &str) -> Result<(), String> {
        self.authenticate(ClientSasl::Plain(PlainCredentials::new(user, password)))
    }

    /// Sends a command and waits for its answer.
    pub fn command(&mut self, cmd: &Command) -> Response {
        let id = self.conn.send_command(cmd, Instant::now()).unwrap();
        self.response_to(&id, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no response to {id}"))
    }

    pub fn response_to(&mut self, id: &Id, timeout: Duration) -> Option<Response> {
        let deadline = Instant::now() + timeout;
        let mut skipped = VecDeque::new();
        let found = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left) {
                Some(Event::Response { id: rid, response }) if &rid == id => break Some(response),
                Some(other) => skipped.push_back(other),
                None => break None,
            }
        };
        skipped.extend(self.events.drain(..));
        self.events = skipped;
        found
    }

    pub fn listen(&mut self, inbox: &str) -> Outcome {
        self.command(&Command::Listen(Listen::new(Url::parse(inbox).unwrap())))
            .outcome
    }

    /// The next pushed `send` (other events are dropped).
    pub fn next_send(&mut self, timeout: Duration) -> Option<(Id, SendMessage)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left)? {
                Event::Command {
                    id,
                    command: Command::Send(m),
                } => return Some((id, m)),
                other => eprintln!("imtp peer: skipping {other:?}"),
            }
        }
    }

    pub fn respond(&mut self, id: &Id, outcome: Outcome) {
        self.conn.respond(id, &outcome, Instant::now()).unwrap();
        self.flush();
    }

    /// Server side: accepts PLAIN for `user`/`password` and nobody else.
    pub fn serve_auth(&mut self, user: &str, password: &str) -> Result<(), String> {
        loop {
            match self.next_event(Duration::from_secs(10)) {
                Some(Event::VerifyPlain(c)) => {
                    let v = if c.authcid == user && c.password == password {
                        PlainVerdict::Accept {
                            identity: user.to_string(),
                        }
                    } else {
                        PlainVerdict::Reject {
                            description: "no".into(),
                        }
                    };
                    self.conn.complete_plain(v, Instant::now()).unwrap();
                    self.flush();
                }
                Some(Event::Authenticated { .. }) => return Ok(()),
                Some(Event::AuthFailed(e)) => return Err(format!("{e:?}")),
                other => return Err(format!("unexpected {other:?}")),
            }
        }
    }
}

/// The text of a pushed message.
pub fn text(m: &SendMessage) -> String {
    String::from_utf8_lossy(&m.payload).into_owned()
}

/// A header the server added (`Tocsin-Kind`, ...).
pub fn header<'a>(m: &'a SendMessage, name: &str) -> Option<&'a str> {
    m.meta
        .extra
        .iter()
        .find(|h| h.name == name)
        .map(|h| h.value.as_str())
}
