//! A delivery plugin for tests. Every successful delivery is appended to
//! `file` as one JSON line. `mode` injects behaviour:
//!
//! - `ok` (answer Sent) · `delivered` (answer Delivered)
//! - `retry` · `permanent` (failures) · `hang` (never answer)
//! - `async` (answer Sent 50 ms later) · `panic` (panic in deliver)
//! - `fail-first:N` (retry for attempts 1..=N, then ok)
//! - `fail-next:N` (retry the next N deliveries, whichever they are, then ok)
//! - `fail-random:P` (retry P % of attempts, chosen by delivery and attempt)
//!
//! A control listener takes lines: `MODE <mode>`, `RECEIPT <message-id>
//! delivered|displayed|failed`, `PRESENCE <address> 0|1`, `COUNT`.

use serde::Deserialize;
use std::collections::HashMap;
use std::io::Write;
use tocsin_sdk::{
    Delivery, DeliveryPlugin, Handle, Host, Outcome, Plugin, Receipt, SocketKind, TimerId,
    export_delivery_plugin,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    file: String,
    control: String,
    #[serde(default = "ok")]
    mode: String,
}

fn ok() -> String {
    "ok".into()
}

struct Recorder {
    host: Host,
    file: String,
    mode: String,
    count: u64,
    buffers: HashMap<Handle, Vec<u8>>,
    pending: HashMap<TimerId, u64>,
}

impl Recorder {
    fn record(&mut self, d: &Delivery<'_>) -> Result<(), String> {
        let line = serde_json::json!({
            "delivery_id": d.delivery_id,
            "event_id": d.event_id,
            "attempt": d.attempt,
            "target": d.target,
            "user": d.user,
            "kind": d.kind,
            "source": d.source,
            "summary": d.summary,
            "body": d.body,
            "message_id": d.message_id,
            "want_delivery_receipt": d.want_delivery_receipt,
            "want_display_receipt": d.want_display_receipt,
        });
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .map_err(|e| e.to_string())?;
        // One write(2) per line (formatting straight into the file made one
        // per JSON token), so readers never see half a line.
        let mut text = line.to_string();
        text.push('\n');
        f.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        self.count += 1;
        Ok(())
    }

    fn answer(&self, id: u64, o: Outcome) {
        if let Err(e) = self.host.delivery_result(id, &o) {
            log::error!("delivery_result failed: {e}");
        }
    }

    fn reply(&self, conn: Handle, text: &str) {
        let _ = self.host.send(conn, format!("{text}\n").as_bytes());
    }

    fn command(&mut self, conn: Handle, line: &str) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["MODE", m] => {
                self.mode = m.to_string();
                self.reply(conn, "ok");
            }
            ["RECEIPT", mid, kind] => {
                let r = match *kind {
                    "delivered" => Receipt::Delivered,
                    "displayed" => Receipt::Displayed,
                    _ => Receipt::Failed,
                };
                match self.host.receipt(mid, r, "test") {
                    Ok(()) => self.reply(conn, "ok"),
                    Err(e) => self.reply(conn, &format!("error {e}")),
                }
            }
            ["PRESENCE", addr, v] => {
                let _ = self.host.report_presence(addr, *v == "1");
                self.reply(conn, "ok");
            }
            ["COUNT"] => self.reply(conn, &self.count.to_string()),
            _ => self.reply(conn, "unknown"),
        }
    }
}

impl Plugin for Recorder {
    const NAME: &'static str = "test-recorder";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn create(host: Host, _instance: &str, config: &str) -> Result<Self, String> {
        let c: Config = toml::from_str(config).map_err(|e| e.to_string())?;
        host.listen(SocketKind::Tcp, &c.control, None)
            .map_err(|e| format!("cannot listen on {}: {e}", c.control))?;
        Ok(Recorder {
            host,
            file: c.file,
            mode: c.mode,
            count: 0,
            buffers: HashMap::new(),
            pending: HashMap::new(),
        })
    }

    fn on_data(&mut self, conn: Handle, data: &[u8]) {
        let mut lines = Vec::new();
        {
            let buf = self.buffers.entry(conn).or_default();
            buf.extend_from_slice(data);
            while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                lines.push(String::from_utf8_lossy(&line[..line.len() - 1]).to_string());
            }
        }
        for l in lines {
            self.command(conn, l.trim_end_matches('\r'));
        }
    }

    fn on_closed(&mut self, conn: Handle, _reason: &str) {
        self.buffers.remove(&conn);
    }

    fn on_timer(&mut self, t: TimerId) {
        if let Some(id) = self.pending.remove(&t) {
            self.answer(id, Outcome::Sent);
        }
    }
}

impl DeliveryPlugin for Recorder {
    fn deliver(&mut self, d: Delivery<'_>) {
        let mode = self.mode.clone();
        if let Some(pct) = mode.strip_prefix("fail-random:") {
            // Deterministic per (delivery, attempt): a retried delivery may
            // fail again, and a run can be replayed.
            let pct: u64 = pct.parse().unwrap_or(0);
            let mut x = d.delivery_id ^ (u64::from(d.attempt) << 32) ^ 0x9E37_79B9_7F4A_7C15;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^= x >> 31;
            if x % 100 < pct {
                self.answer(
                    d.delivery_id,
                    Outcome::Retry {
                        reason: format!("injected random failure {}", d.attempt),
                        after_ms: 0,
                    },
                );
                return;
            }
        }
        if let Some(n) = mode.strip_prefix("fail-next:") {
            let n: u32 = n.parse().unwrap_or(0);
            if n > 0 {
                self.mode = format!("fail-next:{}", n - 1);
                self.answer(
                    d.delivery_id,
                    Outcome::Retry {
                        reason: "injected failure".into(),
                        after_ms: 0,
                    },
                );
                return;
            }
        }
        if let Some(n) = mode.strip_prefix("fail-first:") {
            let n: u32 = n.parse().unwrap_or(0);
            if d.attempt <= n {
                self.answer(
                    d.delivery_id,
                    Outcome::Retry {
                        reason: format!("injected failure {}", d.attempt),
                        after_ms: 0,
                    },
                );
                return;
            }
        }
        match mode.as_str() {
            "retry" => self.answer(
                d.delivery_id,
                Outcome::Retry {
                    reason: "injected temporary failure".into(),
                    after_ms: 0,
                },
            ),
            "permanent" => self.answer(
                d.delivery_id,
                Outcome::Permanent {
                    reason: "injected permanent failure".into(),
                },
            ),
            "hang" => {}
            "panic" => panic!("injected panic in deliver"),
            _ => {
                if let Err(e) = self.record(&d) {
                    self.answer(
                        d.delivery_id,
                        Outcome::Retry {
                            reason: format!("cannot record: {e}"),
                            after_ms: 0,
                        },
                    );
                    return;
                }
                match mode.as_str() {
                    "delivered" => self.answer(d.delivery_id, Outcome::Delivered),
                    "async" => match self.host.timer(50) {
                        Ok(t) => {
                            self.pending.insert(t, d.delivery_id);
                        }
                        Err(_) => self.answer(d.delivery_id, Outcome::Sent),
                    },
                    _ => self.answer(d.delivery_id, Outcome::Sent),
                }
            }
        }
    }
}

export_delivery_plugin!(Recorder);
