//! The instance configuration: the `[config]` table of `plugins.d/<name>.toml`, parsed
//! strictly (unknown keys are errors) and checked into [`Settings`]. The reference is
//! docs/plugins/imtp.md.

use crate::secret::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;
use tocsin_imtp::{Domain, Url};

/// Our IMTP-over-TLS port (docs/imtp.md §3: 5227 belongs to another service).
pub const DEFAULT_PORT: u16 = 61227;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("nothing to do: configure [config.server], [config.relay] or both")]
    NoRole,
    #[error("{key}: {value:?} is not a domain name: {reason}")]
    BadDomain {
        key: &'static str,
        value: String,
        reason: String,
    },
    #[error("sender {0:?} is not an im: address")]
    BadSender(String),
    #[error("{key}: {value:?} is not an ip:port address")]
    BadAddress { key: String, value: String },
    #[error(
        "server.listen {0} is not loopback: plaintext IMTP is only allowed on loopback (use tls_cert and tls_key)"
    )]
    PlaintextNotLoopback(SocketAddr),
    #[error("server: set tls_cert and tls_key, or plaintext = true on a loopback address")]
    ServerNeedsTls,
    #[error("server: domains is empty; name the domains whose inboxes this instance serves")]
    NoDomains,
    #[error(
        "relay.routes.{domain}: {address} is not loopback: plaintext relaying is only allowed on loopback"
    )]
    PlaintextRouteNotLoopback { domain: String, address: SocketAddr },
    #[error("relay: tls_ca is required to verify the servers we relay to")]
    RelayNeedsCa,
    #[error("relay: tls_cert and tls_key must be given together")]
    HalfClientCert,
    #[error("relay: user and password_file must be given together")]
    HalfPlain,
    #[error("cannot read {path}: {error}")]
    Read { path: PathBuf, error: String },
    #[error("{key} = {value} is out of range ({range})")]
    OutOfRange {
        key: &'static str,
        value: u64,
        range: &'static str,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// Domains whose `im:` inboxes this instance serves.
    #[serde(default)]
    domains: Vec<String>,
    /// Our own name, for `Visited` and loop detection.
    name: Option<String>,
    /// The `Sender` of every notification.
    sender: Option<String>,
    server: Option<RawServer>,
    relay: Option<RawRelay>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    pitp_listen: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    /// Verifies client certificates (SASL EXTERNAL); optional.
    tls_ca: Option<PathBuf>,
    #[serde(default)]
    plaintext: bool,
    /// PLAIN credentials, TOML `"identity" = "password"`.
    users_file: Option<PathBuf>,
    /// Identities allowed to relay `send` into our domains.
    #[serde(default)]
    relay_peers: Vec<String>,
    /// How long a pushed notification may wait for the listening client's answer.
    push_timeout_s: Option<u64>,
    /// An incomplete message older than this closes the connection (slowloris).
    message_timeout_s: Option<u64>,
    /// Authentication must be done this long after connecting.
    handshake_timeout_s: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    tls_ca: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    user: Option<String>,
    password_file: Option<PathBuf>,
    /// resolv.conf to read the DNS servers from (SRV `_im-servers._tcp`).
    resolver: Option<PathBuf>,
    #[serde(default)]
    routes: BTreeMap<String, RawRoute>,
    max_outstanding: Option<u64>,
    queue_limit: Option<u64>,
    idle_timeout_s: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Address(String),
    Table(RawRouteTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouteTable {
    address: String,
    #[serde(default)]
    plaintext: bool,
    /// The name the server's certificate must carry (default: the domain).
    server_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub listen: SocketAddr,
    pub pitp_listen: Option<SocketAddr>,
    /// `None`: plaintext (loopback only).
    pub tls: Option<Tls>,
    pub users: BTreeMap<String, Secret>,
    pub relay_peers: Vec<String>,
    pub push_timeout: Duration,
    pub message_timeout: Duration,
    pub handshake_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub address: String,
    pub plaintext: bool,
    pub server_name: String,
}

#[derive(Debug, Clone)]
pub struct Relay {
    pub ca: Option<PathBuf>,
    pub client_cert: Option<(PathBuf, PathBuf)>,
    pub plain: Option<(String, String)>,
    pub resolver: PathBuf,
    pub routes: BTreeMap<String, Route>,
    pub max_outstanding: usize,
    pub queue_limit: usize,
    pub idle_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub domains: Vec<Domain>,
    pub name: Domain,
    pub sender: Url,
    pub server: Option<Server>,
    pub relay: Option<Relay>,
}

impl Settings {
    /// Whether `domain` is one of ours (its inboxes are served here).
    pub fn serves(&self, domain: &Domain) -> bool {
        self.domains.iter().any(|d| d.same_as(domain))
    }

    /// Our names for the `Visited` loop rule.
    pub fn own_names(&self) -> Vec<Domain> {
        let mut v = self.domains.clone();
        v.push(self.name.clone());
        v
    }
}

fn domain(key: &'static str, value: &str) -> Result<Domain, ConfigError> {
    Domain::parse(value).map_err(|e| ConfigError::BadDomain {
        key,
        value: value.to_string(),
        reason: e.to_string(),
    })
}

fn addr(key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| ConfigError::BadAddress {
        key: key.to_string(),
        value: value.to_string(),
    })
}

fn range(
    key: &'static str,
    v: Option<u64>,
    default: u64,
    lo: u64,
    hi: u64,
) -> Result<u64, ConfigError> {
    let v = v.unwrap_or(default);
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError::OutOfRange {
            key,
            value: v,
            range: if hi == 86_400 {
                "1..=86400"
            } else {
                "see docs/plugins/imtp.md"
            },
        })
    }
}

fn read(path: &PathBuf) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.clone(),
        error: e.to_string(),
    })
}

/// `"identity" = "password"` lines; identities normalised like peers'.
fn users(path: &PathBuf) -> Result<BTreeMap<String, Secret>, ConfigError> {
    let text = read(path)?;
    let raw: BTreeMap<String, String> = toml::from_str(&text).map_err(|e| ConfigError::Read {
        path: path.clone(),
        error: e.to_string(),
    })?;
    raw.into_iter()
        .map(|(user, value)| match Secret::parse(&value) {
            Ok(secret) => Ok((crate::identity::normalise(&user), secret)),
            Err(error) => Err(ConfigError::Read {
                path: path.clone(),
                error: format!("{user:?}: {error}"),
            }),
        })
        .collect()
}

fn server(raw: RawServer) -> Result<Server, ConfigError> {
    let listen = match &raw.listen {
        Some(s) => addr("server.listen", s)?,
        None => SocketAddr::from(([0u16; 8], DEFAULT_PORT)),
    };
    let pitp_listen = raw
        .pitp_listen
        .as_deref()
        .map(|s| addr("server.pitp_listen", s))
        .transpose()?;
    let tls = match (raw.tls_cert, raw.tls_key) {
        (Some(cert), Some(key)) if !raw.plaintext => Some(Tls {
            cert,
            key,
            ca: raw.tls_ca,
        }),
        _ if raw.plaintext => {
            for a in std::iter::once(listen).chain(pitp_listen) {
                if !a.ip().is_loopback() {
                    return Err(ConfigError::PlaintextNotLoopback(a));
                }
            }
            None
        }
        _ => return Err(ConfigError::ServerNeedsTls),
    };
    let users = match &raw.users_file {
        Some(p) => users(p)?,
        None => BTreeMap::new(),
    };
    Ok(Server {
        listen,
        pitp_listen,
        tls,
        users,
        relay_peers: raw
            .relay_peers
            .iter()
            .map(|p| crate::identity::normalise(p))
            .collect(),
        push_timeout: Duration::from_secs(range(
            "server.push_timeout_s",
            raw.push_timeout_s,
            30,
            1,
            86_400,
        )?),
        message_timeout: Duration::from_secs(range(
            "server.message_timeout_s",
            raw.message_timeout_s,
            30,
            1,
            86_400,
        )?),
        handshake_timeout: Duration::from_secs(range(
            "server.handshake_timeout_s",
            raw.handshake_timeout_s,
            30,
            1,
            86_400,
        )?),
    })
}

fn relay(raw: RawRelay) -> Result<Relay, ConfigError> {
    let mut routes = BTreeMap::new();
    let mut all_plain = true;
    for (dom, r) in raw.routes {
        let d = domain("relay.routes", &dom)?;
        let (address, plaintext, server_name) = match r {
            RawRoute::Address(a) => (a, false, None),
            RawRoute::Table(t) => (t.address, t.plaintext, t.server_name),
        };
        let key = format!("relay.routes.{dom}");
        let sa = addr(&key, &address)?;
        if plaintext && !sa.ip().is_loopback() {
            return Err(ConfigError::PlaintextRouteNotLoopback {
                domain: dom,
                address: sa,
            });
        }
        all_plain &= plaintext;
        routes.insert(
            d.as_str().to_ascii_lowercase(),
            Route {
                address: sa.to_string(),
                plaintext,
                server_name: server_name.unwrap_or_else(|| d.as_str().to_string()),
            },
        );
    }
    // SRV-discovered servers always use TLS, so a CA is needed unless every route
    // is a plaintext loopback one and there is nothing to discover.
    if raw.tls_ca.is_none() && (!all_plain || routes.is_empty()) {
        return Err(ConfigError::RelayNeedsCa);
    }
    let client_cert = match (raw.tls_cert, raw.tls_key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err(ConfigError::HalfClientCert),
    };
    let plain = match (raw.user, raw.password_file) {
        (Some(u), Some(p)) => {
            let pw = read(&p)?;
            Some((u, pw.lines().next().unwrap_or("").to_string()))
        }
        (None, None) => None,
        _ => return Err(ConfigError::HalfPlain),
    };
    Ok(Relay {
        ca: raw.tls_ca,
        client_cert,
        plain,
        resolver: raw.resolver.unwrap_or_else(|| "/etc/resolv.conf".into()),
        routes,
        max_outstanding: range("relay.max_outstanding", raw.max_outstanding, 256, 1, 1024)?
            as usize,
        queue_limit: range("relay.queue_limit", raw.queue_limit, 10_000, 1, 1_000_000)? as usize,
        idle_timeout: Duration::from_secs(range(
            "relay.idle_timeout_s",
            raw.idle_timeout_s,
            60,
            1,
            86_400,
        )?),
    })
}

pub fn parse(text: &str) -> Result<Settings, ConfigError> {
    let raw: Raw = toml::from_str(text)?;
    if raw.server.is_none() && raw.relay.is_none() {
        return Err(ConfigError::NoRole);
    }
    let domains = raw
        .domains
        .iter()
        .map(|d| domain("domains", d))
        .collect::<Result<Vec<_>, _>>()?;
    if raw.server.is_some() && domains.is_empty() {
        return Err(ConfigError::NoDomains);
    }
    let name = match (&raw.name, domains.first()) {
        (Some(n), _) => domain("name", n)?,
        (None, Some(d)) => d.clone(),
        (None, None) => domain("name", "localhost")?,
    };
    let sender_text = raw
        .sender
        .clone()
        .unwrap_or_else(|| format!("im:tocsin@{}", name.as_str()));
    let sender = Url::parse_or(&sender_text, tocsin_imtp::Scheme::Im)
        .ok()
        .filter(|u| u.address_in(tocsin_imtp::Scheme::Im).is_some())
        .ok_or(ConfigError::BadSender(sender_text))?;
    Ok(Settings {
        domains,
        name,
        sender,
        server: raw.server.map(server).transpose()?,
        relay: raw.relay.map(relay).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_plaintext_server() {
        let s = parse(
            "domains = [\"example.org\"]\n[server]\nlisten = \"127.0.0.1:0\"\nplaintext = true\n",
        )
        .expect("valid");
        assert_eq!(s.sender.to_string(), "im:tocsin@example.org");
        assert!(s.server.as_ref().is_some_and(|s| s.tls.is_none()));
        assert!(s.relay.is_none());
    }

    #[test]
    fn refusals_are_precise() {
        let e = |t: &str| parse(t).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e("").contains("nothing to do"));
        assert!(
            e("domains=[\"x.org\"]\n[server]\nlisten=\"0.0.0.0:1\"\nplaintext=true\n")
                .contains("not loopback")
        );
        assert!(e("domains=[\"x.org\"]\n[server]\n").contains("tls_cert"));
        assert!(
            e("[server]\nplaintext=true\nlisten=\"127.0.0.1:1\"\n").contains("domains is empty")
        );
        assert!(e("[relay]\n").contains("tls_ca"));
        assert!(e("[relay]\ntls_ca=\"/x\"\nuser=\"a\"\n").contains("together"));
        assert!(
            e("[relay]\ntls_ca=\"/x\"\n[relay.routes]\n\"b.example\"=\"nowhere\"\n")
                .contains("ip:port")
        );
        assert!(e("bogus = 1\n[relay]\n").contains("unknown field"));
        assert!(e("sender=\"presence:x@y\"\n[relay]\ntls_ca=\"/x\"\n").contains("sender"));
    }

    #[test]
    fn routes_string_and_table() {
        let s = parse(
            "[relay]\ntls_ca=\"/ca\"\n[relay.routes]\n\"B.Example\"=\"127.0.0.1:7\"\n\"c.example\"={address=\"127.0.0.1:8\", plaintext=true}\n",
        )
        .expect("valid");
        let r = s.relay.expect("relay");
        assert_eq!(r.routes["b.example"].server_name, "B.Example");
        assert!(r.routes["c.example"].plaintext);
        assert_eq!(r.max_outstanding, 256);
    }
}

#[cfg(test)]
mod example_tests {
    /// The shipped example is valid (with its users file present).
    #[test]
    fn shipped_example_parses() {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../etc/tocsin/plugins.d/imtp.toml.example"
        ));
        let dir = std::env::temp_dir().join(format!("imtp-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let users = dir.join("users.toml");
        std::fs::write(&users, "\"alice@example.org\" = \"pw\"\n").expect("write");
        let text = text.replace("/etc/tocsin/imtp-users.toml", &users.display().to_string());
        let file: toml::Table = toml::from_str(&text).expect("valid TOML");
        assert_eq!(file["plugin"].as_str(), Some("imtp"));
        let config = toml::to_string(&file["config"]).expect("re-serialised");
        let s = super::parse(&config).expect("the example parses");
        let server = s.server.expect("server");
        assert_eq!(server.listen.port(), super::DEFAULT_PORT);
        assert_eq!(server.users.len(), 1);
        assert!(s.relay.is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
