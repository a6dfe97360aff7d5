//! Provisioning as authorization (docs/s2s-protocol.md §11): which source
//! a connection may speak for, and which users and kinds each source may
//! emit events for.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tocsin_config::{CertIdentity, RateLimit, Source};
use x509_parser::extensions::GeneralName;

/// One provisioned source, ready for per-event checks.
#[derive(Debug)]
pub struct SourcePolicy {
    pub cfg: Source,
}

impl SourcePolicy {
    pub fn may_emit_for(&self, user: &str) -> bool {
        self.cfg
            .users
            .iter()
            .any(|p| glob(p.as_bytes(), user.as_bytes(), true))
    }

    pub fn may_emit_kind(&self, kind: &str) -> bool {
        self.cfg
            .kinds
            .iter()
            .any(|p| glob(p.as_bytes(), kind.as_bytes(), false))
    }
}

/// The provisioned sources by name.
#[derive(Debug, Default)]
pub struct Sources {
    by_name: HashMap<String, Rc<SourcePolicy>>,
}

/// Why a HELLO is refused (`unauthorized-source`).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("source {0:?} is not provisioned")]
    Unknown(String),
    #[error(
        "source {0:?} has no certificate identity configured; it may use plaintext listeners only"
    )]
    NoIdentity(String),
    #[error("no client certificate")]
    NoCertificate,
    #[error("the client certificate does not show {expected} required for source {name:?}")]
    Mismatch { name: String, expected: String },
    #[error("cannot read the client certificate: {0}")]
    BadCertificate(String),
}

impl Sources {
    pub fn new(list: &[Source]) -> Sources {
        Sources {
            by_name: list
                .iter()
                .map(|s| (s.name.clone(), Rc::new(SourcePolicy { cfg: s.clone() })))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Rc<SourcePolicy>> {
        self.by_name.get(name)
    }

    /// May a connection speak as `name`? Over TLS the leaf certificate
    /// (already verified against the client CA by rustls) must show the
    /// source's configured identity; over plaintext (loopback or unix
    /// socket, trusted by configuration) the name alone decides.
    pub fn authorize(
        &self,
        name: &str,
        tls: bool,
        peer_leaf: Option<&[u8]>,
    ) -> Result<Rc<SourcePolicy>, Refusal> {
        let src = self
            .by_name
            .get(name)
            .ok_or_else(|| Refusal::Unknown(name.to_string()))?;
        if !tls {
            return Ok(src.clone());
        }
        let id = src
            .cfg
            .certificate
            .as_ref()
            .ok_or_else(|| Refusal::NoIdentity(name.to_string()))?;
        let der = peer_leaf.ok_or(Refusal::NoCertificate)?;
        if cert_shows(der, id).map_err(Refusal::BadCertificate)? {
            Ok(src.clone())
        } else {
            Err(Refusal::Mismatch {
                name: name.to_string(),
                expected: id.to_string(),
            })
        }
    }
}

/// Does the DER certificate carry this identity?
pub fn cert_shows(der: &[u8], id: &CertIdentity) -> Result<bool, String> {
    if let CertIdentity::Sha256(want) = id {
        let got = ring::digest::digest(&ring::digest::SHA256, der);
        return Ok(got.as_ref() == want.as_slice());
    }
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    let sans = || -> Result<Vec<GeneralName<'_>>, String> {
        Ok(cert
            .subject_alternative_name()
            .map_err(|e| e.to_string())?
            .map(|ext| ext.value.general_names.clone())
            .unwrap_or_default())
    };
    Ok(match id {
        CertIdentity::Dns(want) => sans()?
            .iter()
            .any(|g| matches!(g, GeneralName::DNSName(d) if d.eq_ignore_ascii_case(want))),
        CertIdentity::Uri(want) => sans()?
            .iter()
            .any(|g| matches!(g, GeneralName::URI(u) if u == want)),
        CertIdentity::CommonName(want) => cert
            .subject()
            .iter_common_name()
            .any(|cn| cn.as_str().is_ok_and(|s| s == want)),
        CertIdentity::Sha256(_) => false,
    })
}

/// The routing rules' glob (`*` any run, `?` one character), shared with
/// subscriptions so both mean the same thing.
pub fn glob(pattern: &[u8], text: &[u8], fold: bool) -> bool {
    tocsin_routing::glob::matches(
        &String::from_utf8_lossy(pattern),
        &String::from_utf8_lossy(text),
        fold,
    )
}

/// A token bucket per source: bursts up to `events`, refilled at
/// `events / per_s` per second. Over the limit the source's connections
/// are not read (flow control, §8.2) until a token is back.
#[derive(Debug)]
pub struct Bucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(limit: RateLimit, now: Instant) -> Bucket {
        Bucket {
            limit,
            tokens: f64::from(limit.events),
            last: now,
        }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    fn per_sec(&self) -> f64 {
        f64::from(self.limit.events) / f64::from(self.limit.per_s)
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.per_sec()).min(f64::from(self.limit.events));
    }

    /// `Ok` when a token is there, else when one will be.
    pub fn check(&mut self, now: Instant) -> Result<(), Instant> {
        self.refill(now);
        if self.tokens >= 1.0 {
            return Ok(());
        }
        let wait = (1.0 - self.tokens) / self.per_sec();
        Err(now + Duration::from_secs_f64(wait.max(0.001)))
    }

    /// Uses a token (after a successful `check`).
    pub fn take(&mut self) {
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let m = |p: &str, t: &str| glob(p.as_bytes(), t.as_bytes(), false);
        assert!(m("*", ""));
        assert!(m("*", "anything.at.all"));
        assert!(m("mail.*", "mail.MessageNew"));
        assert!(!m("mail.*", "mailx.MessageNew"));
        assert!(!m("mail.*", "voicemail.MessageNew"));
        assert!(m("vnd.*.cal*", "vnd.example.calendar.Alarm"));
        assert!(m("alice", "alice"));
        assert!(!m("alice", "alice2"));
        assert!(!m("alice", "Alice"));
        assert!(m("*@example.org", "bob@example.org"));
        assert!(!m("*@example.org", "bob@example.org.evil"));
        assert!(!m("*@example.org", "bob@sub.example.orgx"));
        assert!(m("a*b*c", "aXXbYYbZZc"));
        assert!(!m("a*b*c", "aXXbYYbZZ"));
        assert!(glob(b"*@Example.ORG", b"bob@example.org", true));
        // hostile input stays fast
        let long = "a".repeat(10_000);
        assert!(!m("*a*a*a*a*a*a*b", &long));
    }

    #[test]
    fn bucket_refills_at_the_configured_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(
            RateLimit {
                events: 3,
                per_s: 1,
            },
            t0,
        );
        let take = |b: &mut Bucket, t| {
            let r = b.check(t);
            if r.is_ok() {
                b.take();
            }
            r
        };
        for _ in 0..3 {
            assert!(take(&mut b, t0).is_ok());
        }
        let at = take(&mut b, t0).unwrap_err();
        let wait = at - t0;
        assert!(
            wait > Duration::from_millis(300) && wait < Duration::from_millis(340),
            "{wait:?}"
        );
        assert!(take(&mut b, t0 + Duration::from_millis(340)).is_ok());
        assert!(take(&mut b, t0 + Duration::from_millis(340)).is_err());
        // never more than the burst
        let later = t0 + Duration::from_secs(100);
        for _ in 0..3 {
            assert!(take(&mut b, later).is_ok());
        }
        assert!(take(&mut b, later).is_err());
    }

    /// A self-signed certificate with these SANs and CN (DER).
    fn cert(sans: &[&str], cn: &str) -> Vec<u8> {
        use rcgen::{CertificateParams, DnType, KeyPair, SanType};
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        for s in sans {
            p.subject_alt_names.push(match s.strip_prefix("uri:") {
                Some(u) => SanType::URI(u.try_into().unwrap()),
                None => SanType::DnsName((*s).try_into().unwrap()),
            });
        }
        p.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn certificate_identities() {
        let der = cert(
            &["mx1.example", "uri:spiffe://example.org/mx1"],
            "mx1 relay",
        );
        let shows =
            |id: &str| cert_shows(&der, &tocsin_config::cert_identity(id).unwrap()).unwrap();
        assert!(shows("dns:mx1.example"));
        assert!(shows("dns:MX1.Example"));
        assert!(!shows("dns:mx2.example"));
        assert!(!shows("dns:mx1.example.evil"));
        assert!(shows("uri:spiffe://example.org/mx1"));
        assert!(!shows("uri:spiffe://example.org/mx2"));
        assert!(shows("cn:mx1 relay"));
        assert!(!shows("cn:mx1"));
        // the CN is not a DNS name, nor the other way round
        assert!(!shows("dns:mx1 relay"));
        let fp: String = ring::digest::digest(&ring::digest::SHA256, &der)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        assert!(shows(&format!("sha256:{fp}")));
        assert!(!shows(&format!("sha256:{}", "0".repeat(64))));
    }

    #[test]
    fn sources_authorize_by_name_and_certificate() {
        let src = |name: &str, cert: Option<&str>| Source {
            name: name.into(),
            certificate: cert.map(|c| tocsin_config::cert_identity(c).unwrap()),
            users: vec!["*".into()],
            kinds: vec!["*".into()],
            rate_limit: None,
            max_event_bytes: 1000,
        };
        let s = Sources::new(&[src("mx1", Some("dns:mx1.example")), src("local", None)]);
        assert!(matches!(
            s.authorize("nobody", false, None),
            Err(Refusal::Unknown(_))
        ));
        assert!(s.authorize("local", false, None).is_ok());
        assert!(s.authorize("mx1", false, None).is_ok());
        assert!(matches!(
            s.authorize("local", true, Some(b"x")),
            Err(Refusal::NoIdentity(_))
        ));
        assert!(matches!(
            s.authorize("mx1", true, None),
            Err(Refusal::NoCertificate)
        ));
        assert!(matches!(
            s.authorize("mx1", true, Some(b"not a certificate")),
            Err(Refusal::BadCertificate(_))
        ));
        assert!(
            s.authorize("mx1", true, Some(&cert(&["mx1.example"], "x")))
                .is_ok()
        );
        assert!(matches!(
            s.authorize("mx1", true, Some(&cert(&["mx2.example"], "mx1.example"))),
            Err(Refusal::Mismatch { .. })
        ));
    }
}
