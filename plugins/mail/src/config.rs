//! The instance configuration: the `[config]` table of `plugins.d/<name>.toml`, parsed
//! strictly (unknown keys are errors) and turned into checked [`Settings`].

use crate::filter::{EventFilter, Group, UnknownEvents};
use crate::template::{Template, TemplateError};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;
use tocsin_abi::Priority;
use tocsin_httpcodec::Limits;
use tocsin_mailevents::{EventName, ParseLimits, UserMap, UserMapError};

/// The longest path a unix socket address can hold (`sun_path` is 108 bytes with NUL).
const MAX_SOCKET_PATH: usize = 107;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("nothing to listen on: set http_listen, cyrus_socket or both")]
    NoListener,
    #[error("http_listen {0:?} is not an ip:port address")]
    BadListen(String),
    #[error("{key}: path {path:?} must start with '/' and be visible ASCII without '?' or '#'")]
    BadPath { key: &'static str, path: String },
    #[error("HTTP path {0:?} is configured twice")]
    DuplicatePath(String),
    #[error("http_listen is set but ox_paths and generic_paths are both empty")]
    NoPaths,
    #[error(
        "http_listen needs credentials (auth_user + auth_password, or [[config.auth]] entries), or allow_unauthenticated = true"
    )]
    NoCredentials,
    #[error("auth_user and auth_password must be given together")]
    HalfCredentials,
    #[error("credential user {0:?} is empty or contains ':' or a control character")]
    BadCredentialUser(String),
    #[error("the password of credential user {0:?} is empty or contains a control character")]
    BadCredentialPassword(String),
    #[error("cyrus_socket {0:?} must be an absolute path of at most {MAX_SOCKET_PATH} bytes")]
    BadSocketPath(String),
    #[error("cyrus_socket_mode {0:?} is not an octal mode between 0 and 0777")]
    BadSocketMode(String),
    #[error("events: {0:?} is not an event name")]
    BadEventName(String),
    #[error("event_groups: unknown group {0:?} (known: {known})", known = group_names())]
    BadGroup(String),
    #[error("user_map: {0}")]
    UserMap(#[from] UserMapError),
    #[error("{key} = {value} is out of range ({range})")]
    OutOfRange {
        key: &'static str,
        value: u64,
        range: &'static str,
    },
    #[error("priority: {0:?} is not an event name")]
    BadPriorityKey(String),
    #[error("summary: {0:?} is not an event name or \"default\"")]
    BadSummaryKey(String),
    #[error("summary.{key}: {source}")]
    Template {
        key: String,
        #[source]
        source: TemplateError,
    },
}

fn group_names() -> String {
    let names: Vec<&str> = Group::ALL.iter().map(|g| g.name()).collect();
    names.join(", ")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredential {
    user: String,
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    http_listen: Option<String>,
    #[serde(default = "default_ox_paths")]
    ox_paths: Vec<String>,
    #[serde(default = "default_generic_paths")]
    generic_paths: Vec<String>,
    auth_user: Option<String>,
    auth_password: Option<String>,
    #[serde(default)]
    auth: Vec<RawCredential>,
    #[serde(default)]
    allow_unauthenticated: bool,
    cyrus_socket: Option<String>,
    cyrus_socket_mode: Option<String>,
    #[serde(default)]
    unknown_events: UnknownEvents,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    event_groups: Vec<String>,
    #[serde(default)]
    user_map: Vec<String>,
    #[serde(default = "default_snippet_bytes")]
    snippet_bytes: u64,
    #[serde(default = "default_max_body_bytes")]
    max_body_bytes: u64,
    #[serde(default = "default_max_header_bytes")]
    max_header_bytes: u64,
    #[serde(default = "default_request_timeout_ms")]
    request_timeout_ms: u64,
    #[serde(default = "default_idle_timeout_ms")]
    idle_timeout_ms: u64,
    #[serde(default = "default_max_in_flight")]
    max_in_flight: u64,
    #[serde(default = "default_retry_after_secs")]
    retry_after_secs: u64,
    #[serde(default)]
    default_priority: Priority,
    #[serde(default)]
    priority: BTreeMap<String, Priority>,
    #[serde(default)]
    summary: BTreeMap<String, String>,
}

fn default_ox_paths() -> Vec<String> {
    vec!["/dovecot".into()]
}
fn default_generic_paths() -> Vec<String> {
    vec!["/events".into()]
}
fn default_snippet_bytes() -> u64 {
    256
}
fn default_max_body_bytes() -> u64 {
    64 * 1024
}
fn default_max_header_bytes() -> u64 {
    16 * 1024
}
fn default_request_timeout_ms() -> u64 {
    // Dovecot gives up after 2 s; a request still incomplete after 10 s is not Dovecot.
    10_000
}
fn default_idle_timeout_ms() -> u64 {
    60_000
}
fn default_max_in_flight() -> u64 {
    16
}
fn default_retry_after_secs() -> u64 {
    1
}

/// Which parser a path feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Dovecot push_notification ox driver bodies.
    DovecotOx,
    /// tocsin's generic RFC 5423 JSON.
    Generic,
}

/// Basic credentials accepted on the HTTP listener. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub listen: SocketAddr,
    pub routes: Vec<(String, Endpoint)>,
    pub credentials: Vec<Credential>,
    pub allow_unauthenticated: bool,
    pub limits: Limits,
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone)]
pub struct CyrusSettings {
    pub path: PathBuf,
    pub mode: Option<u32>,
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub http: Option<HttpSettings>,
    pub cyrus: Option<CyrusSettings>,
    pub filter: EventFilter,
    pub parse_limits: ParseLimits,
    pub user_map: UserMap,
    pub default_priority: Priority,
    pub priorities: BTreeMap<EventName, Priority>,
    pub summaries: BTreeMap<EventName, Template>,
    pub default_summary: Option<Template>,
}

fn range(
    key: &'static str,
    v: u64,
    lo: u64,
    hi: u64,
    text: &'static str,
) -> Result<u64, ConfigError> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError::OutOfRange {
            key,
            value: v,
            range: text,
        })
    }
}

/// `u64` that was range-checked to fit.
fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn check_path(key: &'static str, p: &str) -> Result<String, ConfigError> {
    let ok = p.starts_with('/')
        && p.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'?' && b != b'#');
    if ok {
        Ok(p.to_string())
    } else {
        Err(ConfigError::BadPath {
            key,
            path: p.to_string(),
        })
    }
}

fn credential(user: String, password: String) -> Result<Credential, ConfigError> {
    if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
        return Err(ConfigError::BadCredentialUser(user));
    }
    if password.is_empty() || password.chars().any(char::is_control) {
        return Err(ConfigError::BadCredentialPassword(user));
    }
    Ok(Credential { user, password })
}

fn event_name(s: &str) -> Option<EventName> {
    EventName::parse(s).filter(|e| tocsin_abi::validate_kind(&format!("mail.{e}")).is_ok())
}

impl Settings {
    /// Parses and checks the `[config]` TOML text.
    pub fn parse(text: &str) -> Result<Settings, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        Settings::check(raw)
    }

    fn check(raw: RawConfig) -> Result<Settings, ConfigError> {
        let snippet_bytes = range("snippet_bytes", raw.snippet_bytes, 0, 8192, "0..=8192")?;
        let max_body = range(
            "max_body_bytes",
            raw.max_body_bytes,
            256,
            1024 * 1024,
            "256..=1048576",
        )?;
        let max_header = range(
            "max_header_bytes",
            raw.max_header_bytes,
            1024,
            64 * 1024,
            "1024..=65536",
        )?;
        let request_timeout = range(
            "request_timeout_ms",
            raw.request_timeout_ms,
            10,
            600_000,
            "10..=600000",
        )?;
        let idle_timeout = range(
            "idle_timeout_ms",
            raw.idle_timeout_ms,
            10,
            3_600_000,
            "10..=3600000",
        )?;
        let max_in_flight = range("max_in_flight", raw.max_in_flight, 1, 1024, "1..=1024")?;
        let retry_after_secs = range(
            "retry_after_secs",
            raw.retry_after_secs,
            0,
            3600,
            "0..=3600",
        )?;

        let http = match &raw.http_listen {
            None => None,
            Some(listen) => {
                let addr: SocketAddr = listen
                    .parse()
                    .map_err(|_| ConfigError::BadListen(listen.clone()))?;
                let mut routes = Vec::new();
                let mut seen = BTreeSet::new();
                let all = raw
                    .ox_paths
                    .iter()
                    .map(|p| ("ox_paths", p, Endpoint::DovecotOx))
                    .chain(
                        raw.generic_paths
                            .iter()
                            .map(|p| ("generic_paths", p, Endpoint::Generic)),
                    );
                for (key, p, endpoint) in all {
                    let p = check_path(key, p)?;
                    if !seen.insert(p.clone()) {
                        return Err(ConfigError::DuplicatePath(p));
                    }
                    routes.push((p, endpoint));
                }
                if routes.is_empty() {
                    return Err(ConfigError::NoPaths);
                }
                let mut credentials = Vec::new();
                match (raw.auth_user.clone(), raw.auth_password.clone()) {
                    (Some(u), Some(p)) => credentials.push(credential(u, p)?),
                    (None, None) => {}
                    _ => return Err(ConfigError::HalfCredentials),
                }
                for c in &raw.auth {
                    credentials.push(credential(c.user.clone(), c.password.clone())?);
                }
                if credentials.is_empty() && !raw.allow_unauthenticated {
                    return Err(ConfigError::NoCredentials);
                }
                Some(HttpSettings {
                    listen: addr,
                    routes,
                    credentials,
                    allow_unauthenticated: raw.allow_unauthenticated,
                    limits: Limits {
                        max_header_bytes: to_usize(max_header),
                        max_body,
                        max_in_flight: to_usize(max_in_flight),
                        request_timeout: Duration::from_millis(request_timeout),
                        idle_timeout: Duration::from_millis(idle_timeout),
                        ..Limits::default()
                    },
                    retry_after_secs,
                })
            }
        };

        let cyrus = match &raw.cyrus_socket {
            None => None,
            Some(p) => {
                if !p.starts_with('/') || p.len() > MAX_SOCKET_PATH || p.contains('\0') {
                    return Err(ConfigError::BadSocketPath(p.clone()));
                }
                let mode = match &raw.cyrus_socket_mode {
                    None => None,
                    Some(m) => Some(
                        u32::from_str_radix(m, 8)
                            .ok()
                            .filter(|v| *v <= 0o777)
                            .ok_or_else(|| ConfigError::BadSocketMode(m.clone()))?,
                    ),
                };
                Some(CyrusSettings {
                    path: PathBuf::from(p),
                    mode,
                })
            }
        };
        if http.is_none() && cyrus.is_none() {
            return Err(ConfigError::NoListener);
        }

        let mut events = BTreeSet::new();
        for e in &raw.events {
            events.insert(event_name(e).ok_or_else(|| ConfigError::BadEventName(e.clone()))?);
        }
        let mut groups = BTreeSet::new();
        for g in &raw.event_groups {
            groups.insert(Group::parse(g).ok_or_else(|| ConfigError::BadGroup(g.clone()))?);
        }
        let user_map = UserMap::parse(raw.user_map.iter().map(String::as_str))?;

        let mut priorities = BTreeMap::new();
        for (k, p) in raw.priority {
            let e = event_name(&k).ok_or(ConfigError::BadPriorityKey(k))?;
            priorities.insert(e, p);
        }
        let mut summaries = BTreeMap::new();
        let mut default_summary = None;
        for (k, text) in raw.summary {
            let t: Template = text.parse().map_err(|source| ConfigError::Template {
                key: k.clone(),
                source,
            })?;
            if k == "default" {
                default_summary = Some(t);
            } else {
                let e = event_name(&k).ok_or(ConfigError::BadSummaryKey(k))?;
                summaries.insert(e, t);
            }
        }

        Ok(Settings {
            http,
            cyrus,
            filter: EventFilter {
                events,
                groups,
                unknown: raw.unknown_events,
            },
            parse_limits: ParseLimits {
                max_body_bytes: to_usize(max_body),
                snippet_bytes: to_usize(snippet_bytes),
                ..ParseLimits::default()
            },
            user_map,
            default_priority: raw.default_priority,
            priorities,
            summaries,
            default_summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str =
        "http_listen = \"127.0.0.1:0\"\nauth_user = \"dovecot\"\nauth_password = \"pw\"\n";

    fn err(text: &str) -> String {
        Settings::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn minimal_http_config_gets_defaults() {
        let s = Settings::parse(MIN).unwrap();
        let h = s.http.unwrap();
        assert_eq!(
            h.routes,
            vec![
                ("/dovecot".to_string(), Endpoint::DovecotOx),
                ("/events".to_string(), Endpoint::Generic)
            ]
        );
        assert_eq!(h.credentials.len(), 1);
        assert_eq!(h.limits.max_body, 64 * 1024);
        assert_eq!(h.limits.request_timeout, Duration::from_secs(10));
        assert!(s.cyrus.is_none());
        assert_eq!(s.parse_limits.snippet_bytes, 256);
        assert_eq!(s.default_priority, Priority::Normal);
        assert!(
            !format!("{:?}", h.credentials).contains("pw"),
            "password redacted"
        );
    }

    #[test]
    fn full_config() {
        let s = Settings::parse(
            r#"
http_listen = "127.0.0.1:8025"
ox_paths = ["/dovecot", "/ox"]
generic_paths = ["/events"]
allow_unauthenticated = false
cyrus_socket = "/run/tocsin/cyrus.sock"
cyrus_socket_mode = "0666"
unknown_events = "ignore"
events = ["MessageRead"]
event_groups = ["message", "quota"]
user_map = ["strip-domain", "lowercase"]
snippet_bytes = 100
max_body_bytes = 4096
default_priority = "low"
priority = { MessageNew = "high", QuotaExceed = "urgent" }
summary = { MessageNew = "Mail: {subject}", default = "{event}" }
[[auth]]
user = "a"
password = "b"
[[auth]]
user = "c"
password = "d:e"
"#,
        )
        .unwrap();
        assert_eq!(s.http.as_ref().unwrap().credentials.len(), 2);
        assert_eq!(s.cyrus.as_ref().unwrap().mode, Some(0o666));
        assert_eq!(s.filter.unknown, UnknownEvents::Ignore);
        assert_eq!(s.filter.groups.len(), 2);
        assert_eq!(s.user_map.rules().len(), 2);
        assert_eq!(s.priorities[&EventName::QuotaExceed], Priority::Urgent);
        assert!(s.summaries.contains_key(&EventName::MessageNew));
        assert!(s.default_summary.is_some());
        assert_eq!(s.parse_limits.max_body_bytes, 4096);
    }

    #[test]
    fn refusals_name_the_problem() {
        assert!(err("").contains("nothing to listen on"));
        assert!(err("http_listen = \"127.0.0.1:0\"\n").contains("needs credentials"));
        assert!(
            err("http_listen = \"localhost:80\"\nallow_unauthenticated = true\n")
                .contains("not an ip:port")
        );
        assert!(err(&format!("{MIN}bogus = 1\n")).contains("bogus"));
        assert!(err(&format!("{MIN}ox_paths = [\"nope\"]\n")).contains("must start with '/'"));
        assert!(
            err(&format!("{MIN}generic_paths = [\"/dovecot\"]\n")).contains("configured twice")
        );
        assert!(err(&format!("{MIN}ox_paths = []\ngeneric_paths = []\n")).contains("both empty"));
        assert!(err("http_listen = \"127.0.0.1:0\"\nauth_user = \"x\"\n").contains("together"));
        assert!(
            err("http_listen = \"127.0.0.1:0\"\nauth_user = \"a:b\"\nauth_password = \"x\"\n")
                .contains("contains ':'")
        );
        assert!(err("cyrus_socket = \"relative.sock\"\n").contains("absolute path"));
        assert!(err("cyrus_socket = \"/x.sock\"\ncyrus_socket_mode = \"999\"\n").contains("octal"));
        assert!(err(&format!("{MIN}events = [\"Message New\"]\n")).contains("not an event name"));
        assert!(err(&format!("{MIN}event_groups = [\"frobs\"]\n")).contains("calendar"));
        assert!(err(&format!("{MIN}user_map = [\"frobnicate\"]\n")).contains("user_map"));
        assert!(err(&format!("{MIN}snippet_bytes = 100000\n")).contains("out of range"));
        assert!(err(&format!("{MIN}unknown_events = \"maybe\"\n")).contains("unknown_events"));
        assert!(err(&format!("{MIN}default_priority = \"loud\"\n")).contains("default_priority"));
        assert!(
            err(&format!("{MIN}summary = {{ MessageNew = \"{{frm}}\" }}\n"))
                .contains("summary.MessageNew")
        );
        assert!(
            err(&format!("{MIN}summary = {{ \"Not An Event\" = \"x\" }}\n")).contains("summary")
        );
        assert!(err(&format!("{MIN}priority = {{ \"a/b\" = \"high\" }}\n")).contains("priority"));
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../etc/tocsin/plugins.d/mail.toml.example"
        );
        let file: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(file["plugin"].as_str(), Some("mail"));
        let config = toml::to_string(&file["config"]).unwrap();
        let s = Settings::parse(&config).unwrap();
        assert_eq!(s.http.unwrap().listen.to_string(), "127.0.0.1:8025");
    }
}
