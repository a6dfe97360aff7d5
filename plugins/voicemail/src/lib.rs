//! The voicemail source plugin: a small, strict SIP endpoint that turns
//! RFC 3842 message-summary NOTIFYs — unsolicited, or inside subscriptions
//! it keeps with voicemail servers — into `voicemail.MessageWaiting`
//! events. Configuration and operation: docs/plugins/voicemail.md.
//!
//! This file is the glue to the SDK; the decisions live in `endpoint`
//! (answers, state changes), the protocol in the sans-IO `tocsin-sip`.

mod accounts;
mod cidr;
mod config;
mod endpoint;
mod event;
mod io;
mod log_limit;
mod subscriptions;
mod trust;
mod txn_cache;
mod user_map;

#[cfg(test)]
mod endpoint_tests;

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::time::Instant;

use tocsin_sdk::{
    CommitResult, Handle, Host, Plugin, SocketKind, SourcePlugin, TimerId, export_source_plugin,
};
use tocsin_sip::TagSecret;

use crate::config::Settings;
use crate::endpoint::Endpoint;
use crate::io::HostIo;
use crate::subscriptions::Subscriptions;

/// Plugin state key of the To-tag secret: kept across restarts so that a
/// retransmission answered after a restart gets the same To-tag.
const TAG_SECRET_KEY: &[u8] = b"tag-secret";

struct Voicemail {
    io: HostIo,
    endpoint: Endpoint,
}

/// 16 bytes from the standard library's OS-seeded hash keys (the crate
/// needs no RNG dependency for this).
fn random_key() -> [u8; 16] {
    let mut key = [0u8; 16];
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    key
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex16(text: &[u8]) -> Option<[u8; 16]> {
    let text = std::str::from_utf8(text).ok()?;
    if text.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn tag_secret(io: &mut HostIo) -> TagSecret {
    use crate::io::Io;
    if let Some(k) = io.kv_get(TAG_SECRET_KEY).and_then(|v| unhex16(&v)) {
        return TagSecret::new(k);
    }
    let k = random_key();
    io.kv_put(TAG_SECRET_KEY, hex(&k).as_bytes());
    TagSecret::new(k)
}

impl Plugin for Voicemail {
    const NAME: &'static str = "voicemail";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn validate_config(config: &str) -> Result<(), String> {
        Settings::parse(config)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn create(host: Host, instance: &str, config: &str) -> Result<Self, String> {
        let settings = Settings::parse(config).map_err(|e| e.to_string())?;
        let mut io = HostIo(host);
        let udp = match settings.listen_udp {
            Some(a) => Some(
                host.bind_datagram(SocketKind::Udp, &a.to_string())
                    .map_err(|e| format!("cannot bind UDP {a}: {e}"))?,
            ),
            None => None,
        };
        if let Some(a) = settings.listen_tcp {
            host.listen(SocketKind::Tcp, &a.to_string(), None)
                .map_err(|e| format!("cannot listen on TCP {a}: {e}"))?;
        }
        // The bound address (the configured port may be 0) is what the
        // Contact and Via of our SUBSCRIBEs must carry.
        let udp_local = match udp {
            Some(h) => Some((
                h,
                host.local_addr(h)
                    .ok()
                    .and_then(|a| a.parse::<SocketAddr>().ok())
                    .ok_or("cannot read the bound UDP address")?,
            )),
            None => None,
        };
        let contact_host = settings
            .contact_host
            .clone()
            .or_else(|| udp_local.map(|(_, a)| a.ip().to_string()))
            .unwrap_or_default();
        let subs = Subscriptions::new(
            &settings.subscriptions,
            udp_local.map(|(h, a)| (h, contact_host.as_str(), a.port())),
            // Fresh per start: Call-IDs and tags come from a counter under
            // this key and must never repeat after a restart.
            TagSecret::new(random_key()),
        );
        if settings.users.is_empty() {
            log::warn!(
                "voicemail instance {instance} has no user_map rules: every NOTIFY with state will be answered 404"
            );
        }
        let mut endpoint = Endpoint::new(&settings, tag_secret(&mut io), subs);
        endpoint.start(&mut io, Instant::now());
        log::info!(
            "voicemail instance {instance} ready: udp {}, tcp {}, {} allowed networks, {} user rules, {} subscriptions",
            udp_local.map_or("off".to_owned(), |(_, a)| a.to_string()),
            settings
                .listen_tcp
                .map_or("off".to_owned(), |a| a.to_string()),
            settings.trust.networks().len(),
            settings.users.len(),
            settings.subscriptions.len()
        );
        Ok(Voicemail { io, endpoint })
    }

    fn on_accept(&mut self, _listener: Handle, conn: Handle, peer: &str) {
        self.endpoint.on_accept(&mut self.io, conn, peer);
    }

    fn on_data(&mut self, conn: Handle, data: &[u8]) {
        self.endpoint
            .on_data(&mut self.io, Instant::now(), conn, data);
    }

    fn on_datagram(&mut self, sock: Handle, data: &[u8], peer: &str) {
        self.endpoint
            .on_datagram(&mut self.io, Instant::now(), sock, data, peer);
    }

    fn on_closed(&mut self, conn: Handle, _reason: &str) {
        self.endpoint.on_closed(conn);
    }

    fn on_timer(&mut self, timer: TimerId) {
        self.endpoint.on_timer(&mut self.io, Instant::now(), timer);
    }
}

impl SourcePlugin for Voicemail {
    fn on_committed(&mut self, token: u64, result: CommitResult) {
        self.endpoint.on_committed(&mut self.io, token, result);
    }
}

impl Drop for Voicemail {
    /// Runs inside the host's `destroy` callback, while our socket still
    /// exists: tell subscribed servers we are gone.
    fn drop(&mut self) {
        self.endpoint.stop(&mut self.io, Instant::now());
    }
}

export_source_plugin!(Voicemail);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hex_round_trip() {
        let k = random_key();
        assert_eq!(unhex16(hex(&k).as_bytes()), Some(k));
        assert_eq!(unhex16(b"zz"), None);
        assert_eq!(unhex16(&[b'g'; 32]), None);
        assert_ne!(random_key(), random_key());
    }
}
