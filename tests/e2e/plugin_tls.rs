//! TLS on plugin sockets: the host terminates TLS with rustls, checks
//! client certificates, tells the plugin who connected, and dials out.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;
use tocsin_tests::TestDaemon;
use tocsin_tests::pki::Pki;

fn client_config(
    pki: &Pki,
    identity: Option<(&std::path::Path, &std::path::Path)>,
) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    // Trusts `pki`'s CA; the identity may come from any CA.
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&pki.ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
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

/// One command over TLS; Err when the handshake or the read fails.
fn tls_cmd(addr: &str, cfg: Arc<rustls::ClientConfig>, line: &str) -> Result<String, String> {
    let sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let conn = rustls::ClientConnection::new(cfg, "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut r = BufReader::new(tls);
    let mut s = String::new();
    r.read_line(&mut s).map_err(|e| e.to_string())?;
    if s.is_empty() {
        return Err("closed".into());
    }
    Ok(s.trim_end().to_string())
}

fn tls_source(pki: &Pki, require: bool) -> String {
    format!(
        "plugin = \"test-source\"\n[config]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\ntls_ca = \"{}\"\nrequire_client_cert = {require}\n",
        pki.server_cert.display(),
        pki.server_key.display(),
        pki.ca.display()
    )
}

#[test]
fn tls_listener_with_client_certificates() {
    let mut d = TestDaemon::with_plugins(&[]);
    let pki = Pki::new(d.path());
    d.write_plugin("mtls", &tls_source(&pki, true));
    d.write_plugin("opt", &tls_source(&pki, false));
    d.start();
    assert_eq!(d.plugin("mtls")["sockets"][0]["kind"], "tls-listener");
    let mtls = d.plugin_addr("mtls");
    let (c, k) = pki.issue("client", &["mta1.example"], None);
    let (c2, k2) = pki.issue("client-cn", &[], Some("pbx-7"));
    // A verified client certificate names the peer.
    assert_eq!(
        tls_cmd(&mtls, client_config(&pki, Some((&c, &k))), "IDENT").unwrap(),
        "mta1.example"
    );
    assert_eq!(
        tls_cmd(&mtls, client_config(&pki, Some((&c2, &k2))), "IDENT").unwrap(),
        "pbx-7"
    );
    // Events work over TLS like over TCP.
    let r = tls_cmd(
        &mtls,
        client_config(&pki, Some((&c, &k))),
        "EMIT t-1 u test.Tls over tls",
    )
    .unwrap();
    assert!(r.starts_with("stored"), "{r}");
    // Without a certificate: refused during the handshake.
    assert!(tls_cmd(&mtls, client_config(&pki, None), "IDENT").is_err());
    // A certificate from another CA: refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::new(other_dir.path());
    let (oc, ok) = other.issue("intruder", &["evil.example"], None);
    assert!(tls_cmd(&mtls, client_config(&pki, Some((&oc, &ok))), "IDENT").is_err());
    // Optional client certs: anonymous allowed, identity empty.
    let opt = d.plugin_addr("opt");
    assert_eq!(
        tls_cmd(&opt, client_config(&pki, None), "IDENT").unwrap(),
        "none"
    );
    // Plaintext to a TLS port is garbage to it: the daemon stays up.
    let mut raw = TcpStream::connect(&mtls).unwrap();
    raw.write_all(b"EMIT x y z.w plain\n").unwrap();
    assert_eq!(d.ctl(&["status"]).code, 0);
    assert_eq!(d.events().len(), 1);
}

#[test]
fn plugins_dial_out_over_tls() {
    let mut d = TestDaemon::with_plugins(&[]);
    let pki = Pki::new(d.path());
    d.write_plugin("server", &tls_source(&pki, false));
    d.write_plugin(
        "dialer",
        &format!(
            "plugin = \"test-source\"\n[config]\nlisten = \"127.0.0.1:0\"\ntls_ca = \"{}\"\n",
            pki.ca.display()
        ),
    );
    d.start();
    let server = d.plugin_addr("server");
    let mut c = tocsin_tests::LineClient::connect(&d.plugin_addr("dialer"));
    assert_eq!(c.cmd(&format!("DIAL {server}")), "via-tls dialed");
    // A server whose certificate does not verify is refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::new(other_dir.path());
    d.write_plugin(
        "rogue",
        &format!(
            "plugin = \"test-source\"\n[config]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            other.server_cert.display(),
            other.server_key.display()
        ),
    );
    d.ctl_json(&["plugins", "reload"]);
    let rogue = d.plugin_addr("rogue");
    let r = c.cmd(&format!("DIAL {rogue}"));
    assert!(
        r.starts_with("dial closed") || r.starts_with("dial failed"),
        "{r}"
    );
}
