//! tocsin-send: push events into a tocsin appliance over the S2S pipeline.
//!
//! Exit status: 0 every event accepted; 1 an event was rejected or the
//! session refused (the code is printed); 2 usage error or invalid input;
//! 3 no server reachable, or outcomes still unknown at the timeout.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;
use tocsin_s2s::{
    Client, ClientConfig, ClientError, ClientOptions, Event, Outcome, Priority, local_hostname,
    now_unix_ms, tls, unique_event_id,
};

/// Send events to a tocsin appliance (S2S pipeline, TCP port 7117).
///
/// One event from the options, or many as JSON lines on stdin (--stdin), one
/// object per line: {"user": "alice", "kind": "mail.MessageNew", "summary":
/// "New mail", "id": "optional-unique-id", "body": "...", "priority": 4 or
/// "high", "origin_host": "mx1.example", "occurred_at_ms": 1700000000000,
/// "lang": "en", "attrs": {"key": "value"}}. Only user, kind and summary are
/// required.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    long_about,
    after_help = "Exit status: 0 all events accepted; 1 an event was rejected or the source \
                  refused (the code is printed); 2 usage error or invalid event; 3 no server \
                  reachable, or outcomes still unknown at the timeout."
)]
struct Args {
    /// Server address host:port; repeat for a pool, in order of preference.
    #[arg(long = "server", value_name = "ADDR", default_value = "localhost:7117")]
    servers: Vec<String>,
    /// Source name, as provisioned on the appliance.
    #[arg(long, value_name = "NAME")]
    source: String,
    /// CA certificate(s) (PEM) that sign the servers' certificates.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Client certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Connect without TLS (servers allow this only where configured, e.g. on loopback).
    #[arg(long, conflicts_with_all = ["ca", "cert", "key"])]
    plaintext: bool,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    timeout: f64,
    /// Read events as JSON lines from stdin instead of the options below.
    #[arg(long, conflicts_with_all = ["user", "kind", "summary", "body", "priority", "id", "attrs", "origin_host", "lang", "occurred_at_ms"])]
    stdin: bool,
    /// The user the event concerns.
    #[arg(long, required_unless_present = "stdin")]
    user: Option<String>,
    /// Event kind, namespace.Name (e.g. mail.MessageNew).
    #[arg(long, required_unless_present = "stdin")]
    kind: Option<String>,
    /// One-line summary.
    #[arg(long, required_unless_present = "stdin")]
    summary: Option<String>,
    /// Longer text.
    #[arg(long)]
    body: Option<String>,
    /// 1..5 or min, low, normal, high, urgent.
    #[arg(long)]
    priority: Option<Priority>,
    /// Source event id (idempotency key); generated when absent.
    #[arg(long)]
    id: Option<String>,
    /// Attribute key=value (repeatable).
    #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = parse_attr)]
    attrs: Vec<(String, String)>,
    /// Host the event happened on (default: this host).
    #[arg(long)]
    origin_host: Option<String>,
    /// Language of summary and body (BCP 47).
    #[arg(long)]
    lang: Option<String>,
    /// When it happened, unix milliseconds (default: now).
    #[arg(long)]
    occurred_at_ms: Option<i64>,
    /// Print accepted events too.
    #[arg(short, long)]
    verbose: bool,
}

fn parse_attr(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// One JSON line of --stdin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEvent {
    user: String,
    kind: String,
    summary: String,
    id: Option<String>,
    body: Option<String>,
    priority: Option<JsonPriority>,
    origin_host: Option<String>,
    occurred_at_ms: Option<i64>,
    lang: Option<String>,
    #[serde(default)]
    attrs: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum JsonPriority {
    Number(u8),
    Name(String),
}

impl JsonPriority {
    fn resolve(&self) -> Result<Priority, String> {
        match self {
            JsonPriority::Number(n) => {
                Priority::from_u8(*n).ok_or_else(|| format!("priority {n} is not 1..5"))
            }
            JsonPriority::Name(s) => s.parse().map_err(|e| format!("{e}")),
        }
    }
}

const USAGE: u8 = 2;

fn main() -> ExitCode {
    let args = Args::parse();
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or(if args.verbose { "debug" } else { "warn" }),
    )
    .init();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err((code, msg)) => {
            eprintln!("tocsin-send: {msg}");
            ExitCode::from(code)
        }
    }
}

fn run(args: &Args) -> Result<u8, (u8, String)> {
    let host = local_hostname();
    let events = if args.stdin {
        read_stdin(&host)?
    } else {
        vec![event_from_args(args, &host)?]
    };
    let opts = options(args, &host)?;
    let mut client = match Client::connect(opts) {
        Ok(c) => c,
        Err(e) => return Err(client_failure(e)),
    };
    let sent = client.send_all(&events).and_then(|()| client.flush());
    let results = match sent {
        Ok(r) => r,
        Err(e) => {
            report(&client.take_results(), args.verbose);
            return Err(client_failure(e));
        }
    };
    let rejected = report(&results, args.verbose);
    // best effort goodbye; every outcome is already known
    let _ = client.close();
    Ok(if rejected { 1 } else { 0 })
}

fn options(args: &Args, host: &str) -> Result<ClientOptions, (u8, String)> {
    let mut session = ClientConfig::new(&args.source);
    session.software = concat!("tocsin-send/", env!("CARGO_PKG_VERSION")).to_owned();
    session.default_origin_host = Some(host.to_owned());
    let mut opts = ClientOptions::new(args.servers.clone(), session);
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err((
            USAGE,
            "--timeout must be a positive number of seconds".into(),
        ));
    }
    opts.timeout = Some(Duration::from_secs_f64(args.timeout));
    opts.connect_timeout = opts
        .connect_timeout
        .min(Duration::from_secs_f64(args.timeout));
    if !args.plaintext {
        let Some(ca) = &args.ca else {
            return Err((
                USAGE,
                "TLS needs --ca (and --cert/--key for mutual authentication); or pass --plaintext"
                    .into(),
            ));
        };
        let identity = args.cert.as_deref().zip(args.key.as_deref());
        opts.tls = Some(tls::client_config(ca, identity).map_err(|e| (USAGE, e.to_string()))?);
    }
    Ok(opts)
}

fn event_from_args(args: &Args, host: &str) -> Result<Event, (u8, String)> {
    let missing = |what: &str| (USAGE, format!("--{what} is required"));
    let mut e = Event::new(
        args.id.clone().unwrap_or_else(|| unique_event_id(host)),
        args.kind.clone().ok_or_else(|| missing("kind"))?,
        args.user.clone().ok_or_else(|| missing("user"))?,
        args.summary.clone().ok_or_else(|| missing("summary"))?,
    );
    e.body = args.body.clone();
    e.priority = args.priority.unwrap_or_default();
    e.origin_host = args.origin_host.clone();
    e.lang = args.lang.clone();
    e.occurred_at_ms = args.occurred_at_ms.unwrap_or_else(now_unix_ms);
    e.attributes = args.attrs.clone();
    check(&e)?;
    Ok(e)
}

fn read_stdin(host: &str) -> Result<Vec<Event>, (u8, String)> {
    let mut out = Vec::new();
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| (USAGE, format!("stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |m: String| (USAGE, format!("stdin line {}: {m}", n + 1));
        let j: JsonEvent = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let mut e = Event::new(
            j.id.unwrap_or_else(|| unique_event_id(host)),
            j.kind,
            j.user,
            j.summary,
        );
        e.body = j.body;
        e.priority = match &j.priority {
            Some(p) => p.resolve().map_err(bad)?,
            None => Priority::Normal,
        };
        e.origin_host = j.origin_host;
        e.lang = j.lang;
        e.occurred_at_ms = j.occurred_at_ms.unwrap_or_else(now_unix_ms);
        e.attributes = j.attrs.into_iter().collect();
        check(&e).map_err(|(c, m)| (c, format!("stdin line {}: {m}", n + 1)))?;
        out.push(e);
    }
    if out.is_empty() {
        return Err((USAGE, "no events on stdin".into()));
    }
    Ok(out)
}

/// Validate locally: a bad event is a usage error, not a server rejection.
fn check(e: &Event) -> Result<(), (u8, String)> {
    let mut scratch = Vec::new();
    e.as_msg()
        .encode(&mut scratch)
        .map_err(|err| (USAGE, format!("invalid event: {err}")))
}

/// Print outcomes; true when any event was rejected.
fn report(results: &[tocsin_s2s::EventResult], verbose: bool) -> bool {
    let mut rejected = false;
    for r in results {
        match &r.outcome {
            Outcome::Accepted | Outcome::Skipped => {
                if verbose {
                    println!("accepted: {}", r.source_event_id);
                }
            }
            Outcome::Rejected { code, text } => {
                rejected = true;
                eprintln!("rejected: {code}: {text} (event {})", r.source_event_id);
            }
        }
    }
    rejected
}

fn client_failure(e: ClientError) -> (u8, String) {
    match e {
        ClientError::Refused { code, text, server } => {
            (1, format!("refused: {code}: {text} (server {server})"))
        }
        ClientError::Invalid { .. } | ClientError::Settings(_) | ClientError::Tls(_) => {
            (USAGE, e.to_string())
        }
        ClientError::NoServers
        | ClientError::Unreachable { .. }
        | ClientError::Timeout { .. }
        | ClientError::Io(_) => (3, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn attrs_need_an_equals_sign() {
        assert_eq!(parse_attr("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_attr("novalue").is_err());
    }
}
