//! The `[ingest]` table (S2S listeners and their bounds) and the
//! `[[sources]]` list (the provisioned event sources, see
//! docs/s2s-protocol.md §11).
//!
//! serde reads the raw tables (with spans, so that a semantic error can
//! name its line); [`resolve`] checks them and produces the [`Ingest`] the
//! daemon uses. Nothing in the raw form is used after parsing.

use crate::error::ConfigError;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The largest EVENT message one shim chunk carries (65535 minus the
/// 16-byte DATA header).
pub const MAX_EVENT_BYTES_LIMIT: usize = 65_519;

/// Longest source name: the event model's `source` field limit, which is
/// stricter than the protocol's 128.
const MAX_SOURCE_NAME: usize = 64;

/// A WELCOME carries at most this many addresses.
const MAX_ADVERTISE: usize = 16;

// ---------------------------------------------------------------------
// raw file form
// ---------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IngestFile {
    #[serde(default)]
    listen: Vec<Spanned<ListenFile>>,
    #[serde(default)]
    max_connections: Option<Spanned<usize>>,
    #[serde(default)]
    max_undecided: Option<Spanned<usize>>,
    #[serde(default)]
    max_pending: Option<Spanned<usize>>,
    #[serde(default)]
    advertise: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenFile {
    #[serde(default)]
    address: Option<Spanned<String>>,
    #[serde(default)]
    unix: Option<Spanned<PathBuf>>,
    #[serde(default)]
    plaintext: Option<Spanned<bool>>,
    #[serde(default)]
    cert: Option<Spanned<PathBuf>>,
    #[serde(default)]
    key: Option<Spanned<PathBuf>>,
    #[serde(default)]
    client_ca: Option<Spanned<PathBuf>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceFile {
    name: Spanned<String>,
    #[serde(default)]
    certificate: Option<Spanned<String>>,
    users: Spanned<Vec<String>>,
    kinds: Spanned<Vec<String>>,
    #[serde(default)]
    rate_limit: Option<Spanned<RateLimit>>,
    #[serde(default)]
    max_event_bytes: Option<Spanned<usize>>,
}

// ---------------------------------------------------------------------
// resolved form
// ---------------------------------------------------------------------

/// Everything about S2S ingest. No listener means ingest is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingest {
    pub listeners: Vec<Listener>,
    /// Open connections beyond this are closed at accept.
    pub max_connections: usize,
    /// Events of one connection read but not yet committed; the connection
    /// is not read further until its commit. The default is half the
    /// reference client's window (4096): while one batch commits, the
    /// source can still send the next one instead of waiting for ACKs.
    pub max_undecided: usize,
    /// Events of all connections read but not yet committed; no connection
    /// is read further until the commit.
    pub max_pending: usize,
    /// The addresses WELCOME lists; empty: each listener's own (see
    /// docs/s2s-protocol.md §10).
    pub advertise: Vec<String>,
    pub sources: Vec<Source>,
}

impl Default for Ingest {
    fn default() -> Self {
        Ingest {
            listeners: Vec::new(),
            max_connections: 64,
            max_undecided: 2048,
            max_pending: 16_384,
            advertise: Vec::new(),
            sources: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub endpoint: ListenEndpoint,
    /// `None`: plaintext (only loopback and unix sockets).
    pub tls: Option<TlsFiles>,
    /// Line of the listener in the file (for logs).
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenEndpoint {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl std::fmt::Display for ListenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenEndpoint::Tcp(a) => write!(f, "{a}"),
            ListenEndpoint::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Client certificates must chain to a CA in this file.
    pub client_ca: PathBuf,
}

/// A provisioned event source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The HELLO `source`; also the `source` of every event it stores.
    pub name: String,
    /// What its client certificate must show. `None`: the source may only
    /// use plaintext listeners.
    pub certificate: Option<CertIdentity>,
    /// Glob patterns (`*` matches any run of characters) of the users it
    /// may emit events for; matched ignoring ASCII case.
    pub users: Vec<String>,
    /// Glob patterns of the kinds it may emit (`mail.*`); case-sensitive.
    pub kinds: Vec<String>,
    pub rate_limit: Option<RateLimit>,
    /// Largest event accepted (text bytes of the event, see
    /// `tocsin_abi::Event::payload_len`); also announced in WELCOME.
    pub max_event_bytes: usize,
}

/// A token bucket: up to `events` at once, refilled at `events` per
/// `per_s` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub events: u32,
    pub per_s: u32,
}

/// How a client certificate proves a source (`certificate = "dns:..."`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertIdentity {
    /// A DNS subject alternative name equal to this (ASCII case ignored).
    Dns(String),
    /// A URI subject alternative name equal to this.
    Uri(String),
    /// The subject's common name equal to this.
    CommonName(String),
    /// The SHA-256 of the leaf certificate (DER).
    Sha256([u8; 32]),
}

impl std::fmt::Display for CertIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertIdentity::Dns(s) => write!(f, "dns:{s}"),
            CertIdentity::Uri(s) => write!(f, "uri:{s}"),
            CertIdentity::CommonName(s) => write!(f, "cn:{s}"),
            CertIdentity::Sha256(h) => {
                f.write_str("sha256:")?;
                for b in h {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

// ---------------------------------------------------------------------
// checks
// ---------------------------------------------------------------------

/// Where errors point: the file, its text, and the directory relative
/// paths are taken from.
pub(crate) struct Ctx<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub base: &'a Path,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = crate::load::line_col(self.text, span.start);
        ConfigError::InvalidAt {
            path: self.path.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn line(&self, span: &std::ops::Range<usize>) -> usize {
        crate::load::line_col(self.text, span.start).0
    }

    fn path(&self, p: &Path) -> PathBuf {
        if p.is_relative() {
            crate::load::normalize(&self.base.join(p))
        } else {
            p.to_path_buf()
        }
    }
}

pub(crate) fn resolve(
    file: &IngestFile,
    sources: &[Spanned<SourceFile>],
    cx: &Ctx<'_>,
) -> Result<Ingest, ConfigError> {
    let defaults = Ingest::default();
    let positive = |v: &Option<Spanned<usize>>, key: &str, default: usize| match v {
        None => Ok(default),
        Some(s) if *s.get_ref() >= 1 => Ok(*s.get_ref()),
        Some(s) => Err(cx.err(s.span(), key, "must be at least 1")),
    };
    let max_connections = positive(
        &file.max_connections,
        "ingest.max_connections",
        defaults.max_connections,
    )?;
    let max_undecided = positive(
        &file.max_undecided,
        "ingest.max_undecided",
        defaults.max_undecided,
    )?;
    let max_pending = positive(
        &file.max_pending,
        "ingest.max_pending",
        defaults.max_pending,
    )?;
    if let Some(p) = &file.max_pending
        && max_pending < max_undecided
    {
        return Err(cx.err(
            p.span(),
            "ingest.max_pending",
            format!("must be at least ingest.max_undecided ({max_undecided})"),
        ));
    }
    let mut listeners = Vec::new();
    for l in &file.listen {
        let listener = listener(l, cx)?;
        if listeners
            .iter()
            .any(|o: &Listener| o.endpoint == listener.endpoint)
        {
            return Err(cx.err(
                l.span(),
                "ingest.listen",
                format!("{} is listed twice", listener.endpoint),
            ));
        }
        listeners.push(listener);
    }
    let mut advertise = Vec::new();
    if let Some(list) = &file.advertise {
        if list.len() > MAX_ADVERTISE {
            return Err(cx.err(
                list[MAX_ADVERTISE].span(),
                "ingest.advertise",
                format!("at most {MAX_ADVERTISE} addresses fit in a WELCOME"),
            ));
        }
        for a in list {
            if let Err(why) = check_address(a.get_ref()) {
                return Err(cx.err(a.span(), "ingest.advertise", why));
            }
            advertise.push(a.get_ref().clone());
        }
    }
    let mut resolved = Vec::new();
    for s in sources {
        let src = source(s, cx)?;
        if resolved.iter().any(|o: &Source| o.name == src.name) {
            return Err(cx.err(
                s.get_ref().name.span(),
                "sources.name",
                format!("source {:?} is provisioned twice", src.name),
            ));
        }
        resolved.push(src);
    }
    Ok(Ingest {
        listeners,
        max_connections,
        max_undecided,
        max_pending,
        advertise,
        sources: resolved,
    })
}

fn listener(l: &Spanned<ListenFile>, cx: &Ctx<'_>) -> Result<Listener, ConfigError> {
    let f = l.get_ref();
    let plaintext = f.plaintext.as_ref().is_some_and(|p| *p.get_ref());
    let endpoint = match (&f.address, &f.unix) {
        (Some(a), None) => {
            let addr: SocketAddr = a.get_ref().parse().map_err(|_| {
                cx.err(
                    a.span(),
                    "ingest.listen.address",
                    format!(
                        "{:?} is not an IP address and port (e.g. \"0.0.0.0:7117\", \"[::1]:7117\")",
                        a.get_ref()
                    ),
                )
            })?;
            if plaintext && !addr.ip().is_loopback() {
                return Err(cx.err(
                    a.span(),
                    "ingest.listen.address",
                    format!(
                        "plaintext is allowed only on loopback addresses or unix sockets, not on {addr}; \
                         use TLS (cert, key, client_ca)"
                    ),
                ));
            }
            ListenEndpoint::Tcp(addr)
        }
        (None, Some(u)) => {
            if !plaintext {
                return Err(cx.err(
                    u.span(),
                    "ingest.listen.unix",
                    "a unix socket carries no TLS: set plaintext = true",
                ));
            }
            let p = cx.path(u.get_ref());
            // sun_path holds 108 bytes including the NUL.
            if p.as_os_str().len() > 107 || p.file_name().is_none() {
                return Err(cx.err(
                    u.span(),
                    "ingest.listen.unix",
                    "must name a file, at most 107 bytes long",
                ));
            }
            ListenEndpoint::Unix(p)
        }
        (Some(a), Some(_)) => {
            return Err(cx.err(
                a.span(),
                "ingest.listen",
                "give either address or unix, not both",
            ));
        }
        (None, None) => {
            return Err(cx.err(
                l.span(),
                "ingest.listen",
                "needs address = \"IP:PORT\" or unix = \"PATH\"",
            ));
        }
    };
    let files = [
        ("cert", &f.cert),
        ("key", &f.key),
        ("client_ca", &f.client_ca),
    ];
    let tls = if plaintext {
        if let Some((name, Some(v))) = files.iter().find(|(_, v)| v.is_some()) {
            return Err(cx.err(
                v.span(),
                &format!("ingest.listen.{name}"),
                "has no effect with plaintext = true; remove it",
            ));
        }
        None
    } else {
        let need = |name: &str, v: &Option<Spanned<PathBuf>>| {
            v.as_ref().map(|v| cx.path(v.get_ref())).ok_or_else(|| {
                cx.err(
                    l.span(),
                    &format!("ingest.listen.{name}"),
                    format!(
                        "a TLS listener needs cert, key and client_ca ({name} is missing); \
                         plaintext = true is allowed on loopback and unix sockets only"
                    ),
                )
            })
        };
        Some(TlsFiles {
            cert: need("cert", &f.cert)?,
            key: need("key", &f.key)?,
            client_ca: need("client_ca", &f.client_ca)?,
        })
    };
    Ok(Listener {
        endpoint,
        tls,
        line: cx.line(&l.span()),
    })
}

fn source(s: &Spanned<SourceFile>, cx: &Ctx<'_>) -> Result<Source, ConfigError> {
    let f = s.get_ref();
    let name = f.name.get_ref();
    let name_ok = !name.is_empty()
        && name.len() <= MAX_SOURCE_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !name_ok {
        return Err(cx.err(
            f.name.span(),
            "sources.name",
            format!("must be 1..={MAX_SOURCE_NAME} characters of A-Z a-z 0-9 . _ -"),
        ));
    }
    let certificate = match &f.certificate {
        None => None,
        Some(c) => Some(
            cert_identity(c.get_ref())
                .map_err(|why| cx.err(c.span(), "sources.certificate", why))?,
        ),
    };
    for (key, list) in [("sources.users", &f.users), ("sources.kinds", &f.kinds)] {
        if list.get_ref().is_empty() {
            return Err(cx.err(
                list.span(),
                key,
                "must list at least one pattern (\"*\" allows everything)",
            ));
        }
        if let Some(bad) = list
            .get_ref()
            .iter()
            .find(|p| p.is_empty() || p.chars().any(char::is_control))
        {
            return Err(cx.err(
                list.span(),
                key,
                format!("pattern {bad:?} is empty or has control characters"),
            ));
        }
    }
    let rate_limit = match &f.rate_limit {
        None => None,
        Some(r) if r.get_ref().events >= 1 && r.get_ref().per_s >= 1 => Some(*r.get_ref()),
        Some(r) => {
            return Err(cx.err(
                r.span(),
                "sources.rate_limit",
                "events and per_s must both be at least 1",
            ));
        }
    };
    let max_event_bytes = match &f.max_event_bytes {
        None => MAX_EVENT_BYTES_LIMIT,
        Some(m) if (1..=MAX_EVENT_BYTES_LIMIT).contains(m.get_ref()) => *m.get_ref(),
        Some(m) => {
            return Err(cx.err(
                m.span(),
                "sources.max_event_bytes",
                format!("must be 1..={MAX_EVENT_BYTES_LIMIT} (one protocol message)"),
            ));
        }
    };
    Ok(Source {
        name: name.clone(),
        certificate,
        users: f.users.get_ref().clone(),
        kinds: f.kinds.get_ref().clone(),
        rate_limit,
        max_event_bytes,
    })
}

/// `dns:NAME`, `uri:URI`, `cn:NAME` or `sha256:HEX` (64 hex digits, `:`
/// separators allowed, as `openssl x509 -fingerprint -sha256` prints them).
pub fn cert_identity(s: &str) -> Result<CertIdentity, String> {
    let (kind, value) = s.split_once(':').ok_or_else(|| {
        format!("{s:?}: expected dns:NAME, uri:URI, cn:NAME or sha256:FINGERPRINT")
    })?;
    if value.is_empty() {
        return Err(format!("{s:?}: empty {kind} value"));
    }
    match kind {
        "dns" => Ok(CertIdentity::Dns(value.to_string())),
        "uri" => Ok(CertIdentity::Uri(value.to_string())),
        "cn" => Ok(CertIdentity::CommonName(value.to_string())),
        "sha256" => {
            let hex: String = value.chars().filter(|c| *c != ':').collect();
            let mut out = [0u8; 32];
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("{s:?}: a SHA-256 fingerprint is 64 hex digits"));
            }
            for (i, o) in out.iter_mut().enumerate() {
                *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                    .map_err(|e| format!("{s:?}: {e}"))?;
            }
            Ok(CertIdentity::Sha256(out))
        }
        _ => Err(format!(
            "{s:?}: unknown identity type {kind:?} (dns, uri, cn or sha256)"
        )),
    }
}

/// `host:port` or `[v6]:port`, as WELCOME carries it.
fn check_address(a: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{a:?}: {why} (expected host:port)"));
    let Some((host, port)) = a.rsplit_once(':') else {
        return bad("no port");
    };
    match port.parse::<u16>() {
        Ok(p) if p >= 1 => {}
        _ => return bad("port must be 1..65535"),
    }
    let host = match host.strip_prefix('[') {
        Some(h) => match h.strip_suffix(']') {
            Some(v6) if v6.parse::<std::net::Ipv6Addr>().is_ok() => return Ok(()),
            _ => return bad("bad [IPv6] address"),
        },
        None => host,
    };
    if host.is_empty()
        || host.len() > 255
        || host
            .chars()
            .any(|c| c.is_control() || c == ' ' || c == '/' || c == ':')
    {
        return bad("bad host");
    }
    Ok(())
}
