//! The command line of `watch`, checked and turned into what a session
//! needs, before any connection is made.

use super::error::WatchError;
use crate::cli::WatchArgs;
use rustls::pki_types::ServerName;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tocsin_imtp::{ClientSasl, Pattern, PlainCredentials, Scheme, Url};

/// IMTP over TLS (docs/imtp.md §3).
pub const DEFAULT_PORT: u16 = 61227;

/// Where `--user`'s password comes from when there is no --password-file.
pub const PASSWORD_ENV: &str = "TOCSIN_IMTP_PASSWORD";

/// What the TLS client needs: whom to trust and which name to verify.
#[derive(Debug)]
pub struct TlsSetup {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: ServerName<'static>,
}

#[derive(Debug)]
pub struct Options {
    pub inbox: Url,
    /// `host:port`, resolved again on every connect (addresses change).
    pub server: String,
    /// `None`: --plaintext.
    pub tls: Option<TlsSetup>,
    pub sasl: ClientSasl,
    pub only: Vec<Pattern>,
    pub except: Vec<Pattern>,
    pub json: bool,
    pub count: Option<u64>,
    pub once: bool,
    pub connect_timeout: Duration,
}

impl Options {
    /// Checks the arguments; reads the password and the PEM files.
    /// `env_password` is `$TOCSIN_IMTP_PASSWORD` (a parameter so tests do
    /// not depend on the environment).
    pub fn new(
        args: &WatchArgs,
        json: bool,
        connect_timeout: Duration,
        env_password: Option<String>,
    ) -> Result<Options, WatchError> {
        let inbox = parse_inbox(&args.inbox)?;
        let only = parse_patterns("only", &args.only)?;
        let except = parse_patterns("except", &args.except)?;
        let server = server_address(&args.server)?;
        // Usage errors first, file errors last: a typo should not be
        // reported as an unreadable CA.
        let server_name =
            match (&args.server_name, args.plaintext) {
                (_, true) => None,
                (Some(name), false) => Some(ServerName::try_from(name.clone()).map_err(|e| {
                    WatchError::BadServerName(format!("--server-name {name:?}: {e}"))
                })?),
                (None, false) => Some(
                    tocsin_s2s::tls::server_name(&server)
                        .map_err(|e| WatchError::BadServerName(e.to_string()))?,
                ),
            };
        if server_name.is_some() && args.ca.is_none() {
            return Err(WatchError::MissingCa);
        }
        let sasl = credentials(args, env_password)?;
        let tls = match (server_name, &args.ca) {
            (Some(server_name), Some(ca)) => {
                let identity = args.cert.as_deref().zip(args.key.as_deref());
                Some(TlsSetup {
                    config: tocsin_s2s::tls::client_config(ca, identity)?,
                    server_name,
                })
            }
            _ => None,
        };
        Ok(Options {
            inbox,
            server,
            tls,
            sasl,
            only,
            except,
            json,
            count: args.count,
            once: args.once,
            connect_timeout,
        })
    }
}

/// `im:local@domain`, or a bare `local@domain` (read as `im:`). Only `im:`
/// URLs name inboxes.
pub fn parse_inbox(s: &str) -> Result<Url, WatchError> {
    let bad = |reason: String| WatchError::BadInbox {
        value: s.to_owned(),
        reason,
    };
    let url = Url::parse_or(s, Scheme::Im).map_err(|e| bad(e.to_string()))?;
    if url.address_in(Scheme::Im).is_none() {
        return Err(bad(format!("the scheme is {}:, not im:", url.scheme())));
    }
    Ok(url)
}

/// `--only`/`--except` values, as `listen` carries them (section 11.3).
pub fn parse_patterns(option: &'static str, values: &[String]) -> Result<Vec<Pattern>, WatchError> {
    values
        .iter()
        .map(|v| {
            Pattern::parse(v, Scheme::Im).map_err(|e| WatchError::BadPattern {
                option,
                value: v.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// `host:port`, `[v6]:port`, or a host alone (the default port added).
pub fn server_address(s: &str) -> Result<String, WatchError> {
    let bracketed = |h: &str| h.starts_with('[') && h.ends_with(']') && h.len() > 2;
    match s.rsplit_once(':') {
        Some((host, port))
            if port.parse::<u16>().is_ok()
                && !host.is_empty()
                && (!host.contains(':') || bracketed(host)) =>
        {
            Ok(s.to_owned())
        }
        None if !s.is_empty() && !s.contains(['[', ']']) => Ok(format!("{s}:{DEFAULT_PORT}")),
        _ if bracketed(s) => Ok(format!("{s}:{DEFAULT_PORT}")),
        _ => Err(WatchError::BadServer(s.to_owned())),
    }
}

/// Whether `host[:port]` names this machine. Plaintext on loopback never
/// leaves the host, so it counts as confidential (as Dovecot treats
/// localhost), and PLAIN may be used there; tocsind's IMTP server does the
/// same for its plaintext loopback listeners.
pub fn is_loopback(server: &str) -> bool {
    let host = match server.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() && (!h.contains(':') || h.starts_with('[')) => h,
        _ => server,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// --user: PLAIN (TLS only; the password never comes from argv, where
/// `ps` shows it). Else a client certificate: EXTERNAL, identity "as the
/// certificate says". Without TLS a certificate cannot be shown, but the
/// server may still know who we are from the connection itself (a
/// configured loopback identity): EXTERNAL asks for that.
pub fn credentials(
    args: &WatchArgs,
    env_password: Option<String>,
) -> Result<ClientSasl, WatchError> {
    if let Some(user) = &args.user {
        if args.plaintext && !is_loopback(&args.server) {
            // The codec would refuse too (SendError::PlainRequiresTls), but
            // only after connecting; say so before.
            return Err(WatchError::PlainNeedsTls);
        }
        let password = match &args.password_file {
            Some(path) => read_password(path)?,
            None => env_password
                .filter(|p| !p.is_empty())
                .ok_or_else(|| WatchError::NoPassword(user.clone()))?,
        };
        let creds = PlainCredentials::new(user.clone(), password);
        // Checked now so a bad user name is a usage error, not a refusal
        // after connecting.
        creds
            .encode()
            .map_err(|e| WatchError::BadPlain(e.to_string()))?;
        return Ok(ClientSasl::Plain(creds));
    }
    if args.cert.is_some() || args.plaintext {
        return Ok(ClientSasl::External {
            authzid: String::new(),
        });
    }
    Err(WatchError::NoCredentials)
}

/// The first line of the file, without its line end.
fn read_password(path: &Path) -> Result<String, WatchError> {
    let text = std::fs::read_to_string(path).map_err(|source| WatchError::PasswordFile {
        path: path.to_owned(),
        source,
    })?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn args(extra: &[&str]) -> WatchArgs {
        let argv = ["tocsinctl", "watch"].iter().chain(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Watch(a) => *a,
            other => panic!("{other:?}"),
        }
    }

    fn parse_err(extra: &[&str]) -> clap::error::ErrorKind {
        let argv = ["tocsinctl", "watch"].iter().chain(extra);
        Cli::try_parse_from(argv).unwrap_err().kind()
    }

    #[test]
    fn inboxes() {
        assert_eq!(
            parse_inbox("alice@example.org").unwrap().to_string(),
            "im:alice@example.org"
        );
        assert_eq!(
            parse_inbox("IM:alice@example.org").unwrap().to_string(),
            "im:alice@example.org"
        );
        for bad in ["presence:alice@example.org", "mailto:a@b", "alice", "im:@x"] {
            let e = parse_inbox(bad).unwrap_err();
            assert!(matches!(e, WatchError::BadInbox { .. }), "{bad}: {e}");
            assert_eq!(e.exit_code(), crate::EXIT_USAGE);
        }
    }

    #[test]
    fn patterns_and_servers() {
        let p = parse_patterns("only", &["im:*@example.org".into(), "*".into()]).unwrap();
        assert_eq!(p.len(), 2);
        let e = parse_patterns("except", &["im:*@".into()]).unwrap_err();
        assert!(e.to_string().starts_with("--except \"im:*@\": "), "{e}");

        assert_eq!(server_address("imtp.example:7").unwrap(), "imtp.example:7");
        assert_eq!(
            server_address("imtp.example").unwrap(),
            "imtp.example:61227"
        );
        assert_eq!(server_address("[::1]:99").unwrap(), "[::1]:99");
        assert_eq!(server_address("[::1]").unwrap(), "[::1]:61227");
        for bad in ["", "::1", "host:", "host:port", ":80", "[]"] {
            assert!(server_address(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn plain_with_a_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\r\nignored\n").unwrap();
        let a = WatchArgs {
            password_file: Some(pw),
            ..args(&["a@b.c", "--user", "alice"])
        };
        // The file wins over the environment.
        let ClientSasl::Plain(c) = credentials(&a, Some("env".into())).unwrap() else {
            panic!()
        };
        assert_eq!(
            (c.authzid.as_str(), c.authcid.as_str(), c.password.as_str()),
            ("", "alice", "s3cret")
        );
    }

    #[test]
    fn credential_selection() {
        let a = args(&["a@b.c", "--user", "alice"]);
        let ClientSasl::Plain(c) = credentials(&a, Some("pw".into())).unwrap() else {
            panic!()
        };
        assert_eq!(c.password, "pw");
        assert!(matches!(
            credentials(&a, None),
            Err(WatchError::NoPassword(u)) if u == "alice"
        ));
        assert!(matches!(
            credentials(&a, Some(String::new())),
            Err(WatchError::NoPassword(_))
        ));
        // --user beats a certificate.
        let a = args(&["a@b.c", "--user", "alice", "--cert", "c", "--key", "k"]);
        assert!(matches!(
            credentials(&a, Some("pw".into())),
            Ok(ClientSasl::Plain(_))
        ));
        let a = args(&["a@b.c", "--cert", "c", "--key", "k"]);
        assert_eq!(
            credentials(&a, Some("pw".into())).unwrap(),
            ClientSasl::External {
                authzid: String::new()
            }
        );
        let a = args(&["a@b.c"]);
        let e = credentials(&a, Some("pw".into())).unwrap_err();
        assert!(matches!(e, WatchError::NoCredentials));
        assert!(e.to_string().starts_with("no credentials: give --user"));
        // No TLS: PLAIN is refused up front, EXTERNAL is the default.
        let a = args(&[
            "a@b.c",
            "--plaintext",
            "--user",
            "alice",
            "--server",
            "mx.example:1",
        ]);
        assert!(matches!(
            credentials(&a, Some("pw".into())),
            Err(WatchError::PlainNeedsTls)
        ));
        // Loopback never leaves the host: PLAIN is allowed there.
        for server in ["127.0.0.1:61227", "localhost", "[::1]:5"] {
            let a = args(&[
                "a@b.c",
                "--plaintext",
                "--user",
                "alice",
                "--server",
                server,
            ]);
            assert!(
                matches!(credentials(&a, Some("pw".into())), Ok(ClientSasl::Plain(_))),
                "{server}"
            );
        }
        let a = args(&["a@b.c", "--plaintext"]);
        assert!(matches!(
            credentials(&a, None),
            Ok(ClientSasl::External { .. })
        ));
        let missing = WatchArgs {
            password_file: Some("/nonexistent/pw".into()),
            ..args(&["a@b.c", "--user", "alice"])
        };
        assert!(matches!(
            credentials(&missing, None),
            Err(WatchError::PasswordFile { .. })
        ));
    }

    #[test]
    fn option_validation() {
        let t = Duration::from_secs(1);
        let e = Options::new(&args(&["a@b.c", "--user", "u"]), false, t, Some("p".into()));
        assert!(matches!(e, Err(WatchError::MissingCa)));
        let e = Options::new(
            &args(&[
                "a@b.c",
                "--ca",
                "/nonexistent.pem",
                "--server-name",
                "bad name",
            ]),
            false,
            t,
            None,
        );
        assert!(matches!(e, Err(WatchError::BadServerName(_))), "{e:?}");
        // Credentials are checked before the CA file is read.
        let e = Options::new(
            &args(&["a@b.c", "--ca", "/nonexistent.pem"]),
            false,
            t,
            None,
        );
        assert!(matches!(e, Err(WatchError::NoCredentials)), "{e:?}");
        let e = Options::new(
            &args(&["a@b.c", "--ca", "/nonexistent.pem", "--user", "u"]),
            false,
            t,
            Some("p".into()),
        );
        let e = e.unwrap_err();
        assert!(matches!(e, WatchError::TlsSetup(_)), "{e:?}");
        assert_eq!(e.exit_code(), crate::EXIT_FAILURE);
        let o = Options::new(
            &args(&[
                "b@c.d",
                "--plaintext",
                "--server",
                "127.0.0.1:9",
                "--only",
                "im:*@c.d",
                "--count",
                "3",
            ]),
            true,
            t,
            None,
        )
        .unwrap();
        assert!(o.tls.is_none() && o.json && o.only.len() == 1);
        assert_eq!((o.server.as_str(), o.count), ("127.0.0.1:9", Some(3)));
    }

    #[test]
    fn clap_rules() {
        use clap::error::ErrorKind;
        assert_eq!(
            parse_err(&["a@b.c", "--plaintext", "--ca", "x"]),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            parse_err(&["a@b.c", "--cert", "x"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse_err(&["a@b.c", "--password-file", "x"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse_err(&["a@b.c", "--count", "0"]),
            ErrorKind::ValueValidation
        );
        let a = args(&["a@b.c", "--json"]);
        assert_eq!(a.server, "localhost:61227");
    }
}
