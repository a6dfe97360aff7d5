use crate::error::ConfigError;
use crate::file::Config;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG_PATH: &str = "/etc/tocsin/tocsin.toml";
/// Upper bound of `delivery.max_in_flight_per_recipient`: the FIFO check
/// looks at this many older rows of a recipient.
pub const MAX_RECIPIENT_WINDOW: u32 = 32;

/// Reads, parses and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses config text; `path` names the file in errors and anchors
/// relative paths (they are relative to the file's directory, so a config
/// means the same thing whatever the working directory).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let mut cfg: Config = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })?;
    cfg.path = path.to_path_buf();
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let base = std::path::absolute(&base).unwrap_or(base);
    for p in [
        &mut cfg.admin.socket,
        &mut cfg.store.path,
        &mut cfg.plugins.dir,
        &mut cfg.plugins.config_dir,
    ] {
        if p.is_relative() {
            *p = normalize(&base.join(&*p));
        }
    }
    validate(&cfg)?;
    let cx = crate::ingest::Ctx {
        path,
        text,
        base: &base,
    };
    cfg.ingest = crate::ingest::resolve(&cfg.ingest_file, &cfg.sources_file, &cx)?;
    Ok(cfg)
}

/// Removes `.` and `..` lexically so paths in logs and status read
/// cleanly (config paths are not expected to traverse symlinks upwards).
pub(crate) fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

fn invalid(cfg: &Config, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: cfg.path.clone(),
        key: key.to_string(),
        message: message.into(),
    }
}

fn validate(cfg: &Config) -> Result<(), ConfigError> {
    // sun_path holds 108 bytes including the NUL.
    if cfg.admin.socket.as_os_str().len() > 107 {
        return Err(invalid(
            cfg,
            "admin.socket",
            "path is longer than a unix socket address allows (107 bytes)",
        ));
    }
    if cfg.admin.max_request_bytes < 1024 {
        return Err(invalid(
            cfg,
            "admin.max_request_bytes",
            "must be at least 1024",
        ));
    }
    if let Some(g) = &cfg.admin.group
        && g.is_empty()
    {
        return Err(invalid(cfg, "admin.group", "must not be empty"));
    }
    if let Some(id) = &cfg.daemon.appliance_id
        && (id.is_empty() || id.len() > 64 || id.chars().any(char::is_control))
    {
        return Err(invalid(
            cfg,
            "daemon.appliance_id",
            "must be 1..64 printable characters",
        ));
    }
    let d = &cfg.delivery;
    if d.retry_base_ms == 0 || d.retry_cap_ms < d.retry_base_ms {
        return Err(invalid(
            cfg,
            "delivery.retry_cap_ms",
            "must be at least delivery.retry_base_ms (> 0)",
        ));
    }
    if d.max_attempts == 0 || d.max_in_flight == 0 {
        return Err(invalid(
            cfg,
            "delivery.max_attempts",
            "max_attempts and max_in_flight must be > 0",
        ));
    }
    if !(1..=MAX_RECIPIENT_WINDOW).contains(&d.max_in_flight_per_recipient) {
        return Err(invalid(
            cfg,
            "delivery.max_in_flight_per_recipient",
            format!("must be between 1 and {MAX_RECIPIENT_WINDOW}"),
        ));
    }
    if cfg.retention.prune_interval_s == 0 {
        return Err(invalid(cfg, "retention.prune_interval_s", "must be > 0"));
    }
    if cfg.store.path.file_name().is_none() {
        return Err(invalid(cfg, "store.path", "must name a file"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CertIdentity, ListenEndpoint, RateLimit};

    fn p() -> PathBuf {
        PathBuf::from("/etc/tocsin/tocsin.toml")
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = parse("", &p()).unwrap();
        assert_eq!(c.store.path, PathBuf::from("/var/lib/tocsin/tocsin.db"));
        assert_eq!(c.admin.socket, PathBuf::from("/run/tocsin/admin.sock"));
    }

    #[test]
    fn recipient_window_is_bounded() {
        assert_eq!(
            parse("", &p())
                .unwrap()
                .delivery
                .max_in_flight_per_recipient,
            1
        );
        let ok = parse("[delivery]\nmax_in_flight_per_recipient = 32\n", &p()).unwrap();
        assert_eq!(ok.delivery.max_in_flight_per_recipient, 32);
        for bad in [0, 33] {
            let text = format!("[delivery]\nmax_in_flight_per_recipient = {bad}\n");
            let msg = parse(&text, &p()).unwrap_err().to_string();
            assert!(
                msg.contains("delivery.max_in_flight_per_recipient"),
                "{msg}"
            );
        }
    }

    #[test]
    fn unknown_key_names_line() {
        let e = parse("[store]\npath = \"/x.db\"\nbogus = 1\n", &p()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("/etc/tocsin/tocsin.toml:3:"), "{msg}");
        assert!(msg.contains("bogus"), "{msg}");
    }

    #[test]
    fn wrong_type_names_line() {
        let e = parse("[daemon]\n\nlog_level = 5\n", &p()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("/etc/tocsin/tocsin.toml:3:"), "{msg}");
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let c = parse(
            "[store]\npath = \"data/t.db\"\n",
            Path::new("/srv/t/tocsin.toml"),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("/srv/t/data/t.db"));
        let c = parse(
            "[store]\npath = \"../x/./t.db\"\n",
            Path::new("/srv/t/tocsin.toml"),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("/srv/x/t.db"));
    }

    #[test]
    fn semantic_errors() {
        let long = format!("[admin]\nsocket = \"/{}\"\n", "a".repeat(200));
        assert!(matches!(
            parse(&long, &p()),
            Err(ConfigError::Invalid { .. })
        ));
        assert!(parse("[admin]\ngroup = \"\"\n", &p()).is_err());
    }

    const INGEST: &str = r#"[daemon]
log_level = "info"

[ingest]
max_pending = 8192
advertise = ["tocsin.example.org:7117", "[2001:db8::1]:7117"]

[[ingest.listen]]
address = "0.0.0.0:7117"
cert = "tls/server.pem"
key = "tls/server.key"
client_ca = "/etc/tocsin/tls/sources-ca.pem"

[[ingest.listen]]
address = "127.0.0.1:7118"
plaintext = true

[[ingest.listen]]
unix = "ingest.sock"
plaintext = true

[[sources]]
name = "mx1"
certificate = "dns:mx1.example.org"
users = ["*@example.org", "alice"]
kinds = ["mail.*"]
rate_limit = { events = 1000, per_s = 1 }
max_event_bytes = 16384

[[sources]]
name = "pbx"
certificate = "sha256:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
users = ["*"]
kinds = ["voicemail.*"]
"#;

    #[test]
    fn ingest_resolves_listeners_and_sources() {
        let c = parse(INGEST, Path::new("/srv/t/tocsin.toml")).unwrap();
        let i = &c.ingest;
        assert_eq!(i.listeners.len(), 3);
        assert_eq!(
            i.listeners[0].endpoint,
            ListenEndpoint::Tcp("0.0.0.0:7117".parse().unwrap())
        );
        let tls = i.listeners[0].tls.as_ref().unwrap();
        assert_eq!(tls.cert, PathBuf::from("/srv/t/tls/server.pem"));
        assert_eq!(
            tls.client_ca,
            PathBuf::from("/etc/tocsin/tls/sources-ca.pem")
        );
        assert_eq!(i.listeners[0].line, 8);
        assert!(i.listeners[1].tls.is_none());
        assert_eq!(
            i.listeners[2].endpoint,
            ListenEndpoint::Unix(PathBuf::from("/srv/t/ingest.sock"))
        );
        assert_eq!(
            (i.max_connections, i.max_undecided, i.max_pending),
            (64, 2048, 8192)
        );
        assert_eq!(i.advertise.len(), 2);
        let mx1 = &i.sources[0];
        assert_eq!(mx1.name, "mx1");
        assert_eq!(
            mx1.certificate,
            Some(CertIdentity::Dns("mx1.example.org".into()))
        );
        assert_eq!(mx1.users, vec!["*@example.org", "alice"]);
        assert_eq!(
            mx1.rate_limit,
            Some(RateLimit {
                events: 1000,
                per_s: 1
            })
        );
        assert_eq!(mx1.max_event_bytes, 16384);
        let pbx = &i.sources[1];
        let Some(CertIdentity::Sha256(h)) = pbx.certificate else {
            panic!("{:?}", pbx.certificate)
        };
        assert_eq!((h[0], h[1], h[31]), (0x00, 0x11, 0xff));
        assert_eq!(pbx.max_event_bytes, crate::MAX_EVENT_BYTES_LIMIT);
        assert_eq!(pbx.rate_limit, None);
    }

    #[test]
    fn ingest_off_by_default() {
        let c = parse("", &p()).unwrap();
        assert!(c.ingest.listeners.is_empty());
        assert!(c.ingest.sources.is_empty());
    }

    /// The error must start with file:line: of the offending value.
    fn err_at(text: &str, line: usize, needle: &str) {
        let e = parse(text, &p()).unwrap_err().to_string();
        let prefix = format!("/etc/tocsin/tocsin.toml:{line}:");
        assert!(e.starts_with(&prefix), "want {prefix}: {e}");
        assert!(e.contains(needle), "want {needle:?}: {e}");
    }

    #[test]
    fn plaintext_only_on_loopback_or_unix() {
        err_at(
            "[[ingest.listen]]\naddress = \"0.0.0.0:7117\"\nplaintext = true\n",
            2,
            "plaintext is allowed only on loopback",
        );
        err_at(
            "\n[[ingest.listen]]\naddress = \"192.168.1.5:7117\"\nplaintext = true\n",
            3,
            "plaintext is allowed only on loopback",
        );
        parse(
            "[[ingest.listen]]\naddress = \"[::1]:7117\"\nplaintext = true\n",
            &p(),
        )
        .unwrap();
        err_at(
            "[[ingest.listen]]\nunix = \"/run/x.sock\"\n",
            2,
            "set plaintext = true",
        );
    }

    #[test]
    fn listener_mistakes_name_their_line() {
        err_at(
            "[[ingest.listen]]\naddress = \"0.0.0.0:7117\"\ncert = \"a\"\nkey = \"b\"\n",
            1,
            "client_ca is missing",
        );
        err_at(
            "[[ingest.listen]]\naddress = \"localhost:7117\"\nplaintext = true\n",
            2,
            "not an IP address",
        );
        err_at(
            "[[ingest.listen]]\naddress = \"127.0.0.1:7117\"\nplaintext = true\ncert = \"c\"\n",
            4,
            "no effect with plaintext",
        );
        err_at("[[ingest.listen]]\nplaintext = true\n", 1, "needs address");
        err_at(
            "[[ingest.listen]]\naddress = \"127.0.0.1:1\"\nplaintext = true\n\n[[ingest.listen]]\naddress = \"127.0.0.1:1\"\nplaintext = true\n",
            5,
            "listed twice",
        );
        err_at("[ingest]\nmax_undecided = 0\n", 2, "at least 1");
        err_at(
            "[ingest]\nmax_pending = 10\n",
            2,
            "at least ingest.max_undecided",
        );
        err_at("[ingest]\nadvertise = [\"a.example\"]\n", 2, "no port");
        err_at("[ingest]\nbogus = 1\n", 2, "bogus");
    }

    #[test]
    fn source_mistakes_name_their_line() {
        let src = |extra: &str| {
            format!("[[sources]]\nname = \"mx1\"\nusers = [\"*\"]\nkinds = [\"mail.*\"]\n{extra}")
        };
        parse(&src(""), &p()).unwrap();
        err_at(&src("certificate = \"mx1\"\n"), 5, "expected dns:NAME");
        err_at(&src("certificate = \"sha256:abcd\"\n"), 5, "64 hex digits");
        err_at(
            &src("certificate = \"ip:1.2.3.4\"\n"),
            5,
            "unknown identity type",
        );
        err_at(&src("max_event_bytes = 70000\n"), 5, "1..=65519");
        err_at(
            &src("rate_limit = { events = 0, per_s = 1 }\n"),
            5,
            "at least 1",
        );
        err_at(&src("rate_limit = { events = 5 }\n"), 5, "per_s");
        err_at(
            "[[sources]]\nname = \"mx 1\"\nusers = [\"*\"]\nkinds = [\"*\"]\n",
            2,
            "sources.name",
        );
        err_at(
            "[[sources]]\nname = \"mx1\"\nusers = []\nkinds = [\"*\"]\n",
            3,
            "at least one pattern",
        );
        err_at("[[sources]]\nname = \"mx1\"\nkinds = [\"*\"]\n", 1, "users");
        let twice = format!("{}\n{}", src(""), src(""));
        err_at(&twice, 7, "provisioned twice");
    }

    #[test]
    fn shipped_configs_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for f in ["etc/tocsin/tocsin.toml", "etc/dev/tocsin.toml"] {
            let path = root.join(f);
            load(&path).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }
}
