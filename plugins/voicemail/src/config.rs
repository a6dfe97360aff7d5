//! The instance's `[config]` table and its validation into `Settings`.
//! Reference: docs/plugins/voicemail.md.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;
use tocsin_sip::{SubscriptionConfig, Transport};

use crate::cidr::{Cidr, CidrError};
use crate::trust::{SharedSecret, Trust};
use crate::user_map::{RuleError, UserMap};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    listen_udp: Option<String>,
    listen_tcp: Option<String>,
    #[serde(default = "default_networks")]
    allowed_networks: Vec<String>,
    shared_secret_header: Option<String>,
    shared_secret: Option<String>,
    #[serde(default)]
    user_map: Vec<UserRule>,
    contact_host: Option<String>,
    #[serde(default)]
    account_from: AccountFrom,
    #[serde(default)]
    subscribe: Vec<Subscribe>,
}

/// Where the account of an unsolicited NOTIFY comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountFrom {
    /// The body's Message-Account; the To URI when the body has none.
    #[default]
    MessageAccount,
    /// Always the To URI: for senders whose Message-Account is the same
    /// for every mailbox (a shared voicemail extension such as `*97`),
    /// with one destination URI per mailbox.
    To,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRule {
    account: Option<String>,
    pattern: Option<String>,
    user: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscribe {
    server: String,
    uri: String,
    from: Option<String>,
    #[serde(default = "default_expires")]
    expires: u32,
    #[serde(default = "default_retry")]
    retry_interval_secs: u64,
}

fn default_networks() -> Vec<String> {
    vec!["127.0.0.0/8".into(), "::1/128".into()]
}

fn default_expires() -> u32 {
    3600
}

fn default_retry() -> u64 {
    60
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Toml(String),
    #[error("set listen_udp, listen_tcp or both")]
    NoListener,
    #[error("{field} = {value:?} is not an ip:port address (names are not resolved)")]
    Address { field: &'static str, value: String },
    #[error("allowed_networks: {0}")]
    Network(#[from] CidrError),
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("shared secret: {0}")]
    Secret(&'static str),
    #[error("subscribe[{index}]: {what}")]
    Subscribe { index: usize, what: String },
}

/// A validated subscription target.
#[derive(Debug, Clone)]
pub struct SubscribeSettings {
    pub server: SocketAddr,
    pub uri: String,
    pub from: Option<String>,
    pub expires: u32,
    pub retry_interval: Duration,
}

impl SubscribeSettings {
    /// The sans-IO client's configuration once our own address is known.
    pub fn client_config(&self, contact_host: &str, port: u16) -> SubscriptionConfig {
        let host = bracket(contact_host);
        let from = self
            .from
            .clone()
            .unwrap_or_else(|| format!("sip:tocsin@{host}"));
        let mut c = SubscriptionConfig::new(
            &self.uri,
            &from,
            &format!("sip:tocsin@{host}:{port}"),
            &format!("{host}:{port}"),
            Transport::Udp,
        );
        c.expires = self.expires;
        c.retry_interval = self.retry_interval;
        c.user_agent = Some(concat!("tocsin-voicemail/", env!("CARGO_PKG_VERSION")).into());
        c
    }
}

/// IPv6 literals go in brackets inside URIs and Via.
fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen_udp: Option<SocketAddr>,
    pub listen_tcp: Option<SocketAddr>,
    pub trust: Trust,
    pub users: UserMap,
    /// Host (IP) the voicemail server should send in-dialog NOTIFYs to;
    /// `None` means the UDP bind address.
    pub contact_host: Option<String>,
    pub account_from: AccountFrom,
    pub subscriptions: Vec<SubscribeSettings>,
}

fn addr(field: &'static str, v: &str) -> Result<SocketAddr, ConfigError> {
    v.parse().map_err(|_| ConfigError::Address {
        field,
        value: v.to_owned(),
    })
}

fn secret(
    header: Option<String>,
    value: Option<String>,
) -> Result<Option<SharedSecret>, ConfigError> {
    match (header, value) {
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => Err(ConfigError::Secret(
            "set both shared_secret_header and shared_secret, or neither",
        )),
        (Some(h), Some(v)) => {
            let token = |b: u8| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b);
            if h.is_empty() || !h.bytes().all(token) {
                return Err(ConfigError::Secret(
                    "shared_secret_header must be a header name (letters, digits, '-')",
                ));
            }
            // Header values are trimmed by the parser, and SIP has no
            // escaping: visible ASCII, spaces only inside.
            let visible = v.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
            if v.len() < 8 || v.len() > 256 || !visible || v.trim() != v {
                return Err(ConfigError::Secret(
                    "shared_secret must be 8 to 256 visible ASCII characters (inner spaces allowed)",
                ));
            }
            Ok(Some(SharedSecret {
                header: h,
                value: v,
            }))
        }
    }
}

fn subscription(
    index: usize,
    s: Subscribe,
    contact_host: Option<&str>,
    udp: Option<SocketAddr>,
) -> Result<SubscribeSettings, ConfigError> {
    let bad = |what: String| ConfigError::Subscribe { index, what };
    let udp = udp.ok_or_else(|| bad("subscriptions are sent over UDP: set listen_udp".into()))?;
    let server: SocketAddr = s.server.parse().map_err(|_| {
        bad(format!(
            "server = {:?} is not an ip:port address (names are not resolved)",
            s.server
        ))
    })?;
    if contact_host.is_none() && udp.ip().is_unspecified() {
        return Err(bad(format!(
            "listen_udp {udp} is a wildcard address: set contact_host to the address the server should send NOTIFYs to"
        )));
    }
    if s.expires == 0 {
        return Err(bad("expires must be at least 1 second".into()));
    }
    if s.retry_interval_secs == 0 {
        return Err(bad("retry_interval_secs must be at least 1".into()));
    }
    let out = SubscribeSettings {
        server,
        uri: s.uri,
        from: s.from,
        expires: s.expires,
        retry_interval: Duration::from_secs(s.retry_interval_secs),
    };
    // Let the client check the URIs now rather than fail at start.
    let host = contact_host.map_or_else(|| udp.ip().to_string(), str::to_owned);
    tocsin_sip::Subscription::new(out.client_config(&host, udp.port()))
        .map_err(|e| bad(e.to_string()))?;
    Ok(out)
}

impl Settings {
    pub fn parse(text: &str) -> Result<Settings, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        let listen_udp = c
            .listen_udp
            .as_deref()
            .map(|v| addr("listen_udp", v))
            .transpose()?;
        let listen_tcp = c
            .listen_tcp
            .as_deref()
            .map(|v| addr("listen_tcp", v))
            .transpose()?;
        if listen_udp.is_none() && listen_tcp.is_none() {
            return Err(ConfigError::NoListener);
        }
        let networks = c
            .allowed_networks
            .iter()
            .map(|n| Cidr::parse(n))
            .collect::<Result<Vec<_>, _>>()?;
        let mut trust = Trust::new(networks, secret(c.shared_secret_header, c.shared_secret)?);
        let users = UserMap::new(
            c.user_map
                .iter()
                .map(|r| (r.account.as_deref(), r.pattern.as_deref(), r.user.as_str())),
        )?;
        if let Some(h) = &c.contact_host
            && h.parse::<IpAddr>().is_err()
        {
            return Err(ConfigError::Address {
                field: "contact_host",
                value: h.clone(),
            });
        }
        let subscriptions = c
            .subscribe
            .into_iter()
            .enumerate()
            .map(|(i, s)| subscription(i, s, c.contact_host.as_deref(), listen_udp))
            .collect::<Result<Vec<_>, _>>()?;
        // A server we subscribe to must be able to answer and NOTIFY.
        for s in &subscriptions {
            trust.allow(Cidr::parse(&s.server.ip().to_string())?);
        }
        Ok(Settings {
            listen_udp,
            listen_tcp,
            trust,
            users,
            contact_host: c.contact_host,
            account_from: c.account_from,
            subscriptions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_example_parses() {
        let s = Settings::parse(
            r#"
listen_udp = "127.0.0.1:5060"
listen_tcp = "127.0.0.1:5060"
allowed_networks = ["127.0.0.0/8", "10.0.0.0/8"]
shared_secret_header = "X-Tocsin-Secret"
shared_secret = "correct horse"
contact_host = "127.0.0.1"
user_map = [
  { account = "sip:*97@pbx.example.org", user = "alice@example.org" },
  { pattern = "sip:{user}@pbx.example.org", user = "{user}@example.org" },
]
[[subscribe]]
server = "192.0.2.10:5060"
uri = "sip:*97@pbx.example.org"
expires = 600
"#,
        )
        .unwrap();
        assert_eq!(s.subscriptions.len(), 1);
        assert!(s.trust.requires_secret());
        assert!(
            s.trust.network_allows("192.0.2.10".parse().unwrap()),
            "a subscription server is trusted"
        );
        assert_eq!(
            s.users.user_for("sip:carol@pbx.example.org").as_deref(),
            Some("carol@example.org")
        );
        let c = s.subscriptions[0].client_config("127.0.0.1", 5060);
        assert_eq!(c.contact_uri, "sip:tocsin@127.0.0.1:5060");
        assert_eq!(c.from_uri, "sip:tocsin@127.0.0.1");
        assert_eq!(c.expires, 600);
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let file: toml::Table = toml::from_str(include_str!(
            "../../../etc/tocsin/plugins.d/voicemail.toml.example"
        ))
        .unwrap();
        assert_eq!(file["plugin"].as_str(), Some("voicemail"));
        let config = file["config"].as_table().unwrap().to_string();
        let s = Settings::parse(&config).unwrap();
        assert_eq!(
            s.users.user_for("sip:*97@pbx.example.org").as_deref(),
            Some("alice@example.org")
        );
    }

    #[test]
    fn defaults_trust_loopback_only() {
        let s = Settings::parse("listen_udp = \"127.0.0.1:0\"\n").unwrap();
        assert!(s.trust.network_allows("127.0.0.9".parse().unwrap()));
        assert!(s.trust.network_allows("::1".parse().unwrap()));
        assert!(!s.trust.network_allows("10.0.0.1".parse().unwrap()));
        assert!(!s.trust.requires_secret());
        assert!(s.users.is_empty());
    }

    #[test]
    fn refusals_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            ("", "listen_udp"),
            ("listen_udp = \"localhost:5060\"", "not an ip:port"),
            ("listen_udp = \"127.0.0.1:0\"\nbogus = 1", "bogus"),
            (
                "listen_udp = \"127.0.0.1:0\"\nallowed_networks = [\"10.0.0.0/40\"]",
                "prefix length 40",
            ),
            (
                "listen_udp = \"127.0.0.1:0\"\nshared_secret = \"abcdefgh\"",
                "both",
            ),
            (
                "listen_udp = \"127.0.0.1:0\"\nshared_secret_header = \"X: y\"\nshared_secret = \"abcdefgh\"",
                "header name",
            ),
            (
                "listen_udp = \"127.0.0.1:0\"\nshared_secret_header = \"X-S\"\nshared_secret = \"short\"",
                "8 to 256",
            ),
            (
                "listen_udp = \"127.0.0.1:0\"\nuser_map = [{ user = \"x\" }]",
                "exactly one of",
            ),
            (
                "listen_udp = \"127.0.0.1:0\"\nuser_map = [{ account = \"a\", user = \"x\", extra = 1 }]",
                "extra",
            ),
            (
                "listen_tcp = \"127.0.0.1:0\"\n[[subscribe]]\nserver = \"192.0.2.1:5060\"\nuri = \"sip:a@b\"",
                "set listen_udp",
            ),
            (
                "listen_udp = \"0.0.0.0:5060\"\n[[subscribe]]\nserver = \"192.0.2.1:5060\"\nuri = \"sip:a@b\"",
                "contact_host",
            ),
            (
                "listen_udp = \"127.0.0.1:0\"\n[[subscribe]]\nserver = \"pbx:5060\"\nuri = \"sip:a@b\"",
                "not an ip:port",
            ),
            (
                "listen_udp = \"127.0.0.1:0\"\n[[subscribe]]\nserver = \"192.0.2.1:5060\"\nuri = \"no scheme\"",
                "request_uri",
            ),
            (
                "listen_udp = \"127.0.0.1:0\"\ncontact_host = \"pbx.example\"",
                "contact_host",
            ),
            (
                "listen_udp = \"127.0.0.1:0\"\naccount_from = \"from\"",
                "message-account",
            ),
        ];
        for (text, needle) in cases {
            let e = Settings::parse(text).expect_err(text).to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
