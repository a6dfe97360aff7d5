//! `tocsinctl watch` against a scripted in-process IMTP server (the real
//! `tocsin_imtp::Connection` in the server role) on a loopback socket, over
//! TLS with a throw-away rcgen PKI, and in plaintext.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tocsin_imtp::{
    Command, Config, Connection, ErrorType, Event, Header, Listen, Outcome, PlainVerdict, Role,
    SendMessage, Transport, Url,
};

const LIMIT: Duration = Duration::from_secs(30);
const CPIM: &str = "From: <im:tocsin@example.org>\r\nTo: <im:alice@example.org>\r\n\r\n\
                    Content-Type: text/plain; charset=utf-8\r\n\r\n\
                    Voicemail from +49 30 1234\r\n";

// ---- a throw-away PKI ------------------------------------------------------

struct Pki {
    dir: tempfile::TempDir,
    ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    server: Arc<ServerConfig>,
}

fn leaf(issuer: &Issuer<'_, KeyPair>, sans: &[&str], cn: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    (params.signed_by(&key, issuer).unwrap(), key)
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "watch test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(params, ca_key);
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_cert.pem()).unwrap();

        let (client, client_key_pair) = leaf(&issuer, &[], "alice@example.org");
        let client_cert = dir.path().join("client.pem");
        let client_key = dir.path().join("client.key");
        std::fs::write(&client_cert, client.pem()).unwrap();
        std::fs::write(&client_key, client_key_pair.serialize_pem()).unwrap();

        let (server_cert, server_key) = leaf(&issuer, &["localhost"], "localhost");
        let mut roots = RootCertStore::empty();
        roots.add(ca_cert.der().clone()).unwrap();
        let provider = tocsin_s2s::tls::provider();
        // Client certificates are optional: PLAIN clients show none.
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .unwrap();
        let server = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from(server_cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            )
            .unwrap();
        Pki {
            dir,
            ca,
            client_cert,
            client_key,
            server: Arc::new(server),
        }
    }

    fn password_file(&self, text: &str) -> PathBuf {
        let p = self.dir.path().join("password");
        std::fs::write(&p, text).unwrap();
        p
    }
}

// ---- the scripted server ---------------------------------------------------

#[derive(Debug, Clone)]
enum Script {
    /// Accept the listen, push these, wait for every answer.
    Deliver(Vec<SendMessage>),
    /// Answer the listen with this error.
    Refuse(ErrorType, &'static str),
    /// Accept the listen, then close the connection.
    Hangup,
    /// Plaintext without an identity for the connection: no mechanism
    /// to offer.
    Anonymous,
}

#[derive(Debug, Default)]
struct Report {
    identity: Option<String>,
    listen: Option<Listen>,
    answers: Vec<Outcome>,
    /// The client closed the connection (after its last answer).
    client_closed: bool,
}

fn text_message(payload: &str) -> SendMessage {
    let mut m = SendMessage::new(
        Url::parse("im:tocsin@example.org").unwrap(),
        Url::parse("im:alice@example.org").unwrap(),
        payload,
    );
    m.meta.extra = vec![
        Header::new("Tocsin-Kind", "mail.MessageNew"),
        Header::new("Tocsin-Event-Id", "41"),
        Header::new("Tocsin-Event-Id", "42"),
    ];
    m
}

fn cpim_message() -> SendMessage {
    let mut m = text_message("");
    m.content_type = Some("message/cpim".into());
    m.payload = CPIM.as_bytes().to_vec();
    m.meta.extra = vec![Header::new("Tocsin-Kind", "voicemail.New")];
    m
}

/// One connection, played by `script`.
fn serve<S: Read + Write>(mut stream: S, transport: Transport, script: &Script) -> Report {
    let t0 = Instant::now();
    let mut conn = Connection::new(Role::Server, Config::imtp(), transport, t0);
    let mut report = Report::default();
    let mut pushed = 0;
    let mut buf = [0u8; 4096];
    loop {
        let out = conn.output().to_vec();
        conn.consume_output(out.len());
        stream.write_all(&out).unwrap();
        stream.flush().unwrap();
        if matches!(script, Script::Hangup) && report.listen.is_some() {
            return report;
        }
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            // The client may drop TLS without close_notify.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => panic!("server read: {e}"),
        };
        if n == 0 {
            report.client_closed = true;
            return report;
        }
        let now = Instant::now();
        conn.feed(&buf[..n], now).unwrap();
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::VerifyPlain(c) => {
                    let verdict = if c.authcid == "alice" && c.password == "s3cret" {
                        PlainVerdict::Accept {
                            identity: "alice@example.org".into(),
                        }
                    } else {
                        PlainVerdict::Reject {
                            description: "bad credentials".into(),
                        }
                    };
                    conn.complete_plain(verdict, now).unwrap();
                }
                Event::Authenticated { identity, .. } => report.identity = identity,
                // The client has been answered already.
                Event::AuthFailed(_) => {}
                Event::Command {
                    id,
                    command: Command::Listen(l),
                } => {
                    report.listen = Some(l);
                    match script {
                        Script::Refuse(t, why) => {
                            conn.respond(&id, &Outcome::error(t.clone(), *why), now)
                                .unwrap();
                        }
                        Script::Hangup => conn.respond(&id, &Outcome::ok(), now).unwrap(),
                        Script::Anonymous => panic!("listen before authentication"),
                        Script::Deliver(msgs) => {
                            conn.respond(&id, &Outcome::ok(), now).unwrap();
                            for m in msgs {
                                conn.send_command(&Command::Send(m.clone()), now).unwrap();
                                pushed += 1;
                            }
                        }
                    }
                }
                Event::Response { response, .. } => report.answers.push(response.outcome),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(report.answers.len() <= pushed);
    }
}

/// Accepts `scripts.len()` connections in turn; TLS when `tls` is given.
/// Plaintext connections get `alice@example.org` as their EXTERNAL
/// identity, as a server with a configured loopback identity would.
fn server(
    tls: Option<Arc<ServerConfig>>,
    scripts: Vec<Script>,
) -> (String, JoinHandle<Vec<Report>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let h = std::thread::spawn(move || {
        let mut reports = Vec::new();
        for script in &scripts {
            let (sock, _) = listener.accept().unwrap();
            sock.set_read_timeout(Some(LIMIT)).unwrap();
            let report = match &tls {
                Some(cfg) => {
                    let mut tls =
                        StreamOwned::new(ServerConnection::new(cfg.clone()).unwrap(), sock);
                    let mut handshake = Ok((0, 0));
                    while tls.conn.is_handshaking() && handshake.is_ok() {
                        handshake = tls.conn.complete_io(&mut tls.sock);
                    }
                    if handshake.is_err() {
                        // The client refused us (tested); nothing to report.
                        reports.push(Report::default());
                        continue;
                    }
                    // The verifier checked the chain; the test CA issues
                    // only alice's client certificate.
                    let peer_identity = tls
                        .conn
                        .peer_certificates()
                        .map(|_| "alice@example.org".to_owned());
                    let transport = Transport {
                        tls: true,
                        peer_identity,
                    };
                    serve(tls, transport, script)
                }
                None => {
                    let transport = Transport {
                        tls: false,
                        peer_identity: (!matches!(script, Script::Anonymous))
                            .then(|| "alice@example.org".into()),
                    };
                    serve(sock, transport, script)
                }
            };
            reports.push(report);
        }
        reports
    });
    (addr, h)
}

// ---- the client, the real binary -------------------------------------------

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn watch(args: &[&str], env_password: Option<&str>) -> Run {
    let mut cmd = Process::new(env!("CARGO_BIN_EXE_tocsinctl"));
    cmd.arg("watch")
        .args(args)
        .env_remove("TOCSIN_IMTP_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = env_password {
        cmd.env("TOCSIN_IMTP_PASSWORD", p);
    }
    let mut child = cmd.spawn().unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("tocsinctl watch did not finish: {}", err.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

// ---- tests -----------------------------------------------------------------

#[test]
fn plain_over_tls_prints_json_and_acknowledges() {
    let pki = Pki::new();
    let msgs = vec![text_message("Your mail\nfrom Bob"), cpim_message()];
    let (addr, srv) = server(Some(pki.server.clone()), vec![Script::Deliver(msgs)]);
    let pw = pki.password_file("s3cret\n");
    let run = watch(
        &[
            "alice@example.org",
            "--server",
            &addr,
            "--server-name",
            "localhost",
            "--ca",
            path(&pki.ca),
            "--user",
            "alice",
            "--password-file",
            path(&pw),
            "--only",
            "im:*@example.org",
            "--json",
            "--count",
            "2",
            "--once",
        ],
        None,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines = json_lines(&run.stdout);
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    for l in &lines {
        let at = l["received_at"].as_str().unwrap();
        assert!(
            at.len() == 24 && at.ends_with('Z') && at.as_bytes()[19] == b'.',
            "{at}"
        );
        assert_eq!(l["sender"], "im:tocsin@example.org");
        assert_eq!(l["inbox"], "im:alice@example.org");
    }
    assert_eq!(lines[0]["content_type"], "text/plain; charset=UTF-8");
    assert_eq!(lines[0]["text"], "Your mail\nfrom Bob");
    assert_eq!(
        lines[0]["headers"],
        serde_json::json!({"Tocsin-Kind": "mail.MessageNew", "Tocsin-Event-Id": "42"})
    );
    assert_eq!(lines[1]["content_type"], "message/cpim");
    assert_eq!(lines[1]["text"], "Voicemail from +49 30 1234\r\n");
    assert_eq!(
        lines[1]["headers"],
        serde_json::json!({"Tocsin-Kind": "voicemail.New"})
    );

    let reports = srv.join().unwrap();
    let r = &reports[0];
    assert_eq!(r.identity.as_deref(), Some("alice@example.org"));
    let listen = r.listen.as_ref().unwrap();
    assert_eq!(listen.inbox.to_string(), "im:alice@example.org");
    assert_eq!(listen.only.len(), 1);
    assert_eq!(r.answers, vec![Outcome::ok(), Outcome::ok()]);
    assert!(r.client_closed);
}

#[test]
fn external_with_a_client_certificate_prints_human_blocks() {
    let pki = Pki::new();
    let (addr, srv) = server(
        Some(pki.server.clone()),
        vec![Script::Deliver(vec![text_message("line one\nline two")])],
    );
    let port = addr.rsplit_once(':').unwrap().1;
    let run = watch(
        &[
            "im:alice@example.org",
            // The default server name is the host of --server.
            "--server",
            &format!("localhost:{port}"),
            "--ca",
            path(&pki.ca),
            "--cert",
            path(&pki.client_cert),
            "--key",
            path(&pki.client_key),
            "--count",
            "1",
        ],
        Some("unused"),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[0].ends_with("Z im:tocsin@example.org → im:alice@example.org"),
        "{}",
        lines[0]
    );
    assert_eq!(&lines[1..], ["  line one", "  line two"]);
    let reports = srv.join().unwrap();
    assert_eq!(reports[0].identity.as_deref(), Some("alice@example.org"));
    assert_eq!(reports[0].answers, vec![Outcome::ok()]);
}

#[test]
fn a_refused_listen_is_final() {
    let pki = Pki::new();
    let (addr, srv) = server(
        Some(pki.server.clone()),
        vec![Script::Refuse(ErrorType::TargetNotFound, "no such inbox")],
    );
    // No --once: a refusal must not be retried anyway.
    let run = watch(
        &[
            "im:nobody@example.org",
            "--server",
            &addr,
            "--server-name",
            "localhost",
            "--ca",
            path(&pki.ca),
            "--user",
            "alice",
            "--json",
        ],
        Some("s3cret"),
    );
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("error: listen refused: target-not-found: no such inbox"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    srv.join().unwrap();
}

#[test]
fn bad_credentials_are_final() {
    let pki = Pki::new();
    let (addr, srv) = server(Some(pki.server.clone()), vec![Script::Hangup]);
    let run = watch(
        &[
            "im:alice@example.org",
            "--server",
            &addr,
            "--server-name",
            "localhost",
            "--ca",
            path(&pki.ca),
            "--user",
            "alice",
        ],
        Some("wrong"),
    );
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("error: authentication failed: sasl-failure: bad credentials"),
        "{}",
        run.stderr
    );
    srv.join().unwrap();
}

#[test]
fn reconnects_after_the_server_hangs_up() {
    let (addr, srv) = server(
        None,
        vec![
            Script::Hangup,
            Script::Deliver(vec![text_message("after the reconnect")]),
        ],
    );
    // Plaintext: EXTERNAL, the identity the server gives the connection.
    let run = watch(
        &[
            "alice@example.org",
            "--server",
            &addr,
            "--plaintext",
            "--json",
            "--count",
            "1",
        ],
        None,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("note: the server closed the connection; reconnecting in 1s"),
        "{}",
        run.stderr
    );
    let lines = json_lines(&run.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["text"], "after the reconnect");
    let reports = srv.join().unwrap();
    assert_eq!(reports[1].answers, vec![Outcome::ok()]);
}

#[test]
fn once_gives_up_when_the_server_is_unreachable() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let run = watch(
        &[
            "alice@example.org",
            "--server",
            &addr,
            "--plaintext",
            "--once",
        ],
        None,
    );
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains(&format!("error: cannot connect to {addr}")),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let run = watch(&["alice@example.org", "--user", "alice"], Some("pw"));
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("error: TLS needs --ca FILE"),
        "{}",
        run.stderr
    );
    let run = watch(
        &[
            "alice@example.org",
            "--plaintext",
            "--user",
            "alice",
            "--server",
            "imtp.example.org:61227",
        ],
        Some("pw"),
    );
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("error: --user needs TLS"),
        "{}",
        run.stderr
    );
    let run = watch(&["presence:alice@example.org", "--plaintext"], None);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("not an IM inbox"), "{}", run.stderr);
}

#[test]
fn a_missing_mechanism_is_named() {
    let (addr, srv) = server(None, vec![Script::Anonymous]);
    let run = watch(
        &["alice@example.org", "--server", &addr, "--plaintext"],
        None,
    );
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains(
            "error: cannot sign in: the server does not offer EXTERNAL (it offers: nothing)"
        ),
        "{}",
        run.stderr
    );
    assert!(srv.join().unwrap()[0].client_closed);
}

#[test]
fn a_certificate_for_another_name_is_final() {
    let pki = Pki::new();
    let (addr, srv) = server(Some(pki.server.clone()), vec![Script::Hangup]);
    let run = watch(
        &[
            "alice@example.org",
            "--server",
            &addr,
            "--server-name",
            "imtp.example.org",
            "--ca",
            path(&pki.ca),
            "--user",
            "alice",
        ],
        Some("s3cret"),
    );
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("error: TLS: invalid peer certificate"),
        "{}",
        run.stderr
    );
    assert!(srv.join().unwrap()[0].listen.is_none());
}
