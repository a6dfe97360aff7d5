//! A real-socket S2S server for tests, built from `ServerSession` on
//! 127.0.0.1 (plain or TLS), plus certificates made with rcgen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use tocsin_s2s::transport::Transport;
use tocsin_s2s::{ServerConfig, ServerSession};

use super::{Policy, Store, serve};

/// PEM material for a test PKI: one CA, a server and a client certificate.
pub struct Pki {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

impl Pki {
    pub fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tocsin test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let server_cert =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .unwrap()
                .signed_by(&server_key, &issuer)
                .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let client_cert = CertificateParams::new(vec!["mta1.example".to_owned()])
            .unwrap()
            .signed_by(&client_key, &issuer)
            .unwrap();
        Self {
            ca_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        }
    }

    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        tocsin_s2s::tls::server_config_from_pem(
            self.ca_pem.as_bytes(),
            self.server_cert_pem.as_bytes(),
            self.server_key_pem.as_bytes(),
        )
        .unwrap()
    }

    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        tocsin_s2s::tls::client_config_from_pem(
            self.ca_pem.as_bytes(),
            Some((
                self.client_cert_pem.as_bytes(),
                self.client_key_pem.as_bytes(),
            )),
        )
        .unwrap()
    }

    /// Write the PEM files into `dir` (for the CLI): ca.pem, client.pem, client.key.
    pub fn write_client_files(&self, dir: &std::path::Path) {
        std::fs::write(dir.join("ca.pem"), &self.ca_pem).unwrap();
        std::fs::write(dir.join("client.pem"), &self.client_cert_pem).unwrap();
        std::fs::write(dir.join("client.key"), &self.client_key_pem).unwrap();
    }
}

/// How the test server behaves beyond the policy.
#[derive(Clone, Default)]
pub struct ServerOpts {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub policy: Policy,
    pub config: Option<ServerConfig>,
    /// Crash (drop every socket and the listener, without flushing) once
    /// this many events are stored; events of the last read are stored but
    /// their ACKs are lost.
    pub crash_after: Option<usize>,
    /// Say GOODBYE `shutting-down` on every connection once this many events
    /// are stored (a graceful restart).
    pub goodbye_after: Option<usize>,
}

/// A running test server; stops when dropped.
pub struct TestServer {
    pub addr: String,
    pub store: Arc<Mutex<Store>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub peer_certs_seen: Arc<Mutex<usize>>,
}

struct Conn {
    transport: Transport,
    session: ServerSession,
    certs_checked: bool,
}

impl TestServer {
    pub fn start(opts: ServerOpts) -> Self {
        Self::start_with_store(opts, Arc::new(Mutex::new(Store::default())))
    }

    /// Several servers can share one store (a pool replicating its data).
    pub fn start_with_store(opts: ServerOpts, store: Arc<Mutex<Store>>) -> Self {
        let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let certs = Arc::new(Mutex::new(0));
        let (stop2, store2, certs2) = (stop.clone(), store.clone(), certs.clone());
        let thread = std::thread::spawn(move || {
            let mut poll = Poll::new().unwrap();
            poll.registry()
                .register(&mut listener, Token(0), Interest::READABLE)
                .unwrap();
            let mut events = Events::with_capacity(64);
            let mut conns: HashMap<usize, Conn> = HashMap::new();
            let mut next = 1;
            while !stop2.load(Ordering::Relaxed) {
                poll.poll(&mut events, Some(Duration::from_millis(5)))
                    .unwrap();
                while let Ok((sock, _)) = listener.accept() {
                    let mut transport = match &opts.tls {
                        None => Transport::plain(sock),
                        Some(cfg) => Transport::tls(
                            sock,
                            rustls::ServerConnection::new(cfg.clone()).unwrap(),
                        ),
                    };
                    poll.registry()
                        .register(
                            transport.socket_mut(),
                            Token(next),
                            Interest::READABLE | Interest::WRITABLE,
                        )
                        .unwrap();
                    let session =
                        ServerSession::new(opts.config.clone().unwrap_or_default(), Instant::now());
                    conns.insert(
                        next,
                        Conn {
                            transport,
                            session,
                            certs_checked: false,
                        },
                    );
                    next += 1;
                }
                let mut done = Vec::new();
                for (id, c) in &mut conns {
                    let now = Instant::now();
                    let mut ok = c.transport.read(&mut c.session).is_ok();
                    if !c.certs_checked && !c.transport.is_handshaking() {
                        c.certs_checked = true;
                        if c.transport.peer_certificates().is_some() {
                            *certs2.lock().unwrap() += 1;
                        }
                    }
                    {
                        let mut store = store2.lock().unwrap();
                        if serve(&mut c.session, now, &mut store, &opts.policy).is_err() {
                            ok = false;
                        }
                        if opts.goodbye_after.is_some_and(|n| store.events.len() >= n) {
                            c.session
                                .goodbye(now, tocsin_s2s::Code::ShuttingDown, "maintenance");
                        }
                        if opts.crash_after.is_some_and(|n| store.events.len() >= n) {
                            // crash: acks for what was just stored are lost
                            drop(store);
                            return;
                        }
                    }
                    if c.session.next_timeout().is_some_and(|t| now >= t)
                        && c.session.on_timeout(now).is_err()
                    {
                        ok = false;
                    }
                    if c.transport.write(&mut c.session).is_err() {
                        ok = false;
                    }
                    if !ok || c.session.is_finished() {
                        let _ = c.transport.write(&mut c.session);
                        c.transport.shutdown_write();
                        done.push(*id);
                    }
                }
                for id in done {
                    if let Some(mut c) = conns.remove(&id) {
                        let _ = poll.registry().deregister(c.transport.socket_mut());
                    }
                }
            }
        });
        Self {
            addr,
            store,
            stop,
            thread: Some(thread),
            peer_certs_seen: certs,
        }
    }

    pub fn stored_ids(&self) -> Vec<String> {
        self.store
            .lock()
            .unwrap()
            .events
            .iter()
            .map(|e| e.id.clone())
            .collect()
    }

    /// Wait for the server thread to end by itself (after a crash).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A port on 127.0.0.1 with nothing listening.
pub fn dead_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap().to_string();
    drop(l);
    a
}
