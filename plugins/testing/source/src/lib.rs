//! A source plugin for tests. Line protocol on a TCP listener; each
//! command is answered with one line:
//!
//! - `EMIT <id> <user> <kind> <summary…>` → emits; `stored <event id>`,
//!   `duplicate <event id>`, or `rejected <code>` once committed
//! - `PANIC` → panics inside `on_data`
//! - `PUT <key> <value>` / `GET <key>` → plugin key/value state
//! - `TIMER <ms>` → `timer` after the delay
//! - `ECHO <text>` → `<text>`
//! - `QUIT` → the plugin closes the connection
//! - `FLOOD <n> [users]` → emits n events `flood-<conn>-<i>` (user `flood`, or
//!   `u<i % users>@example.org`) and answers `flooded <n>`
//!   after the last commit
//! - `IDENT` → the connection's TLS client identity (or `none`)
//! - `SPIN <n>` → calls a host service n times, answers ns per call
//! - `DIAL <addr>` → connects to another test source over TLS (the `tls_ca`
//!   of this instance's config), sends `ECHO dialed`, answers `via-tls <reply>`

use serde::Deserialize;
use std::collections::HashMap;
use tocsin_sdk::{
    CommitResult, EventOut, Handle, Host, Plugin, Priority, SocketKind, SourcePlugin, TimerId, Tls,
    export_source_plugin,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    listen: String,
    #[serde(default)]
    panic_on_create: bool,
    #[serde(default)]
    tls_cert: String,
    #[serde(default)]
    tls_key: String,
    #[serde(default)]
    tls_ca: String,
    #[serde(default)]
    require_client_cert: bool,
}

struct TestSource {
    host: Host,
    buffers: HashMap<Handle, Vec<u8>>,
    /// token → connection waiting for the answer
    waiting: HashMap<u64, Handle>,
    timers: HashMap<TimerId, Handle>,
    floods: HashMap<Handle, (u64, u64)>,
    next_token: u64,
    tls_ca: String,
    /// outgoing TLS connection → the client waiting for its answer
    dials: HashMap<Handle, Handle>,
}

fn parse(config: &str) -> Result<Config, String> {
    toml::from_str(config).map_err(|e| e.to_string())
}

impl Plugin for TestSource {
    const NAME: &'static str = "test-source";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn validate_config(config: &str) -> Result<(), String> {
        parse(config).map(|_| ())
    }

    fn create(host: Host, instance: &str, config: &str) -> Result<Self, String> {
        let cfg = parse(config)?;
        if cfg.panic_on_create {
            panic!("asked to panic on create");
        }
        let tls = (!cfg.tls_cert.is_empty()).then(|| Tls {
            cert_file: cfg.tls_cert.clone(),
            key_file: cfg.tls_key.clone(),
            ca_file: cfg.tls_ca.clone(),
            server_name: String::new(),
            require_client_cert: cfg.require_client_cert,
        });
        host.listen(SocketKind::Tcp, &cfg.listen, tls.as_ref())
            .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
        log::info!("test source {instance} listening on {}", cfg.listen);
        Ok(TestSource {
            host,
            buffers: HashMap::new(),
            waiting: HashMap::new(),
            timers: HashMap::new(),
            floods: HashMap::new(),
            next_token: 1,
            tls_ca: cfg.tls_ca,
            dials: HashMap::new(),
        })
    }

    fn on_accept(&mut self, _l: Handle, conn: Handle, peer: &str) {
        log::debug!("connection {conn:?} from {peer}");
        self.buffers.insert(conn, Vec::new());
    }

    fn on_connected(&mut self, conn: Handle, result: Result<(), String>) {
        if let Some(&client) = self.dials.get(&conn) {
            match result {
                Ok(()) => {
                    let _ = self.host.send(conn, b"ECHO dialed\n");
                }
                Err(e) => {
                    self.dials.remove(&conn);
                    self.reply(client, &format!("dial failed {e}"));
                }
            }
        }
    }

    fn on_data(&mut self, conn: Handle, data: &[u8]) {
        if let Some(client) = self.dials.remove(&conn) {
            let text = String::from_utf8_lossy(data).trim().to_string();
            self.reply(client, &format!("via-tls {text}"));
            let _ = self.host.close(conn);
            return;
        }
        let mut lines = Vec::new();
        {
            let buf = self.buffers.entry(conn).or_default();
            buf.extend_from_slice(data);
            while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                lines.push(String::from_utf8_lossy(&line[..line.len() - 1]).to_string());
            }
        }
        for line in lines {
            self.command(conn, line.trim_end_matches('\r'));
        }
    }

    fn on_closed(&mut self, conn: Handle, reason: &str) {
        self.buffers.remove(&conn);
        if let Some(client) = self.dials.remove(&conn) {
            self.reply(client, &format!("dial closed {reason}"));
        }
    }

    fn on_timer(&mut self, t: TimerId) {
        if let Some(conn) = self.timers.remove(&t) {
            self.reply(conn, "timer");
        }
    }
}

impl TestSource {
    fn reply(&self, conn: Handle, text: &str) {
        let _ = self.host.send(conn, format!("{text}\n").as_bytes());
    }

    fn emit(
        &mut self,
        conn: Handle,
        id: &str,
        user: &str,
        kind: &str,
        summary: &str,
    ) -> Option<u64> {
        let token = self.next_token;
        self.next_token += 1;
        let ev = EventOut {
            source_event_id: id.to_string(),
            kind: kind.to_string(),
            user: user.to_string(),
            origin_host: "test-host".into(),
            occurred_at_ms: 0,
            priority: Priority::High,
            summary: summary.to_string(),
            body: String::new(),
            attributes: [("via".to_string(), "test-source".to_string())].into(),
        };
        match self.host.emit(&ev, token) {
            Ok(()) => {
                self.waiting.insert(token, conn);
                Some(token)
            }
            Err(e) => {
                self.reply(conn, &format!("rejected {e}"));
                None
            }
        }
    }

    fn command(&mut self, conn: Handle, line: &str) {
        let mut parts = line.splitn(5, ' ');
        match parts.next().unwrap_or("") {
            "EMIT" => {
                let id = parts.next().unwrap_or("");
                let user = parts.next().unwrap_or("");
                let kind = parts.next().unwrap_or("");
                let summary = parts.next().unwrap_or("");
                self.emit(conn, id, user, kind, summary);
            }
            "FLOOD" => {
                let n: u64 = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                let users: u64 = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                self.floods.insert(conn, (n, 0));
                for i in 0..n {
                    let id = format!("flood-{}-{i}", conn.0);
                    let user = if users == 0 {
                        "flood".to_string()
                    } else {
                        format!("u{}@example.org", i % users)
                    };
                    if let Some(t) = self.emit(conn, &id, &user, "test.Flood", "flood") {
                        // mark as a flood token: answered in bulk
                        self.waiting.insert(t, Handle(u64::MAX - conn.0));
                    }
                }
            }
            "PANIC" => panic!("asked to panic"),
            "SPIN" => {
                let n: u32 = parts
                    .next()
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(1)
                    .max(1);
                let t = std::time::Instant::now();
                let mut sink = 0u64;
                for _ in 0..n {
                    sink = sink.wrapping_add(self.host.monotonic_ms());
                }
                let ns = t.elapsed().as_nanos() / u128::from(n);
                std::hint::black_box(sink);
                self.reply(conn, &ns.to_string());
            }
            "IDENT" => {
                let id = self.host.peer_identity(conn).ok().flatten();
                self.reply(conn, id.as_deref().unwrap_or("none"));
            }
            "DIAL" => {
                let addr = parts.next().unwrap_or("");
                let tls = Tls {
                    ca_file: self.tls_ca.clone(),
                    server_name: "localhost".into(),
                    ..Tls::default()
                };
                match self.host.connect(SocketKind::Tcp, addr, Some(&tls)) {
                    Ok(h) => {
                        self.dials.insert(h, conn);
                    }
                    Err(e) => self.reply(conn, &format!("dial failed {e}")),
                }
            }
            "PUT" => {
                let k = parts.next().unwrap_or("");
                let v = parts.next().unwrap_or("");
                match self.host.kv_put(k.as_bytes(), v.as_bytes()) {
                    Ok(()) => self.reply(conn, "ok"),
                    Err(e) => self.reply(conn, &format!("error {e}")),
                }
            }
            "GET" => {
                let k = parts.next().unwrap_or("");
                match self.host.kv_get(k.as_bytes()) {
                    Ok(Some(v)) => self.reply(conn, &String::from_utf8_lossy(&v)),
                    Ok(None) => self.reply(conn, "none"),
                    Err(e) => self.reply(conn, &format!("error {e}")),
                }
            }
            "TIMER" => {
                let ms: u64 = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                if let Ok(t) = self.host.timer(ms) {
                    self.timers.insert(t, conn);
                }
            }
            "ECHO" => {
                let rest: Vec<&str> = parts.collect();
                self.reply(conn, &rest.join(" "));
            }
            "QUIT" => {
                let _ = self.host.close(conn);
            }
            other => self.reply(conn, &format!("unknown {other}")),
        }
    }
}

impl SourcePlugin for TestSource {
    fn on_committed(&mut self, token: u64, result: CommitResult) {
        let Some(conn) = self.waiting.remove(&token) else {
            return;
        };
        if conn.0 > u64::MAX / 2 {
            let real = Handle(u64::MAX - conn.0);
            if let Some((n, done)) = self.floods.get_mut(&real) {
                *done += 1;
                if *done == *n {
                    let n = *n;
                    self.floods.remove(&real);
                    self.reply(real, &format!("flooded {n}"));
                }
            }
            return;
        }
        let text = match result {
            CommitResult::Stored { event_id } => format!("stored {event_id}"),
            CommitResult::Duplicate { event_id } => format!("duplicate {event_id}"),
            CommitResult::Rejected { code, .. } => format!("rejected {code}"),
            CommitResult::Failed { message } => format!("failed {message}"),
        };
        self.reply(conn, &text);
    }
}

export_source_plugin!(TestSource);
