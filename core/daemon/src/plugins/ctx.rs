//! The host-side state of one plugin instance that host services touch
//! while the plugin is running. It is reached only through the raw `ctx`
//! pointer handed to the plugin, never through a Rust reference held
//! across a plugin call.

use super::io::PluginSocket;
use mio::Registry;
use slab::Slab;
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use tocsin_abi::Event;

/// Effects of host calls that the manager applies after the callback
/// returns (they need the store, the timers or other instances).
#[derive(Debug)]
pub enum Command {
    Emit {
        event: Event,
        token: u64,
    },
    Timer {
        id: u64,
        delay_ms: u64,
    },
    KvPut {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    KvDelete {
        key: Vec<u8>,
    },
    DeliveryResult(DeliveryReport),
    Receipt {
        message_id: String,
        disposition: u32,
        detail: String,
    },
    Presence {
        address: String,
        available: bool,
    },
    /// The instance stopped (failed, removed, restarted): whatever it held
    /// goes back to the queue.
    Stopped,
}

#[derive(Debug, Clone)]
pub struct DeliveryReport {
    pub delivery_id: u64,
    pub outcome: u32,
    pub retry_after_ms: u64,
    pub reason: String,
}

/// Callbacks owed to the plugin that must not run inside a host call.
#[derive(Debug)]
pub enum Deferred {
    Closed {
        handle: u64,
        reason: String,
    },
    Connected {
        handle: u64,
        result: Result<(), String>,
    },
}

#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub events_emitted: u64,
    pub events_stored: u64,
    pub events_duplicate: u64,
    pub events_rejected: u64,
    pub deliveries_ok: u64,
    pub deliveries_failed: u64,
}

pub struct InstanceCtx {
    pub name: String,
    pub slot: usize,
    pub registry: Registry,
    pub sockets: Slab<PluginSocket>,
    pub commands: Vec<Command>,
    pub deferred: Vec<Deferred>,
    pub kv: HashMap<Vec<u8>, Vec<u8>>,
    pub next_timer: u64,
    pub live_timers: HashSet<u64>,
    pub max_event_bytes: usize,
    pub log_level: u32,
    pub started: Instant,
    pub counters: Counters,
    pub connections: usize,
    /// Sockets to read again after the current callback.
    pub redrive: Vec<usize>,
    /// Connections the plugin closed: flush, then close (manager).
    pub to_flush: Vec<usize>,
    /// Connections given output in this callback: written at the end of the
    /// loop iteration, so many sends to one peer cost one `write`.
    pub to_write: Vec<usize>,
}

/// Plugin sockets' tokens: above every fixed token, then 20 bits of
/// socket key per instance slot.
pub const PLUGIN_TOKEN_BASE: usize = 1 << 40;
const SOCKET_BITS: usize = 20;
pub const MAX_SOCKETS: usize = (1 << SOCKET_BITS) - 1;

pub fn token_for(slot: usize, key: usize) -> mio::Token {
    mio::Token(PLUGIN_TOKEN_BASE + (slot << SOCKET_BITS) + key)
}

pub fn split_token(t: mio::Token) -> Option<(usize, usize)> {
    let v = t.0.checked_sub(PLUGIN_TOKEN_BASE)?;
    Some((v >> SOCKET_BITS, v & MAX_SOCKETS))
}

/// Handles are slab keys + 1, so 0 is never a valid handle.
pub fn handle_of(key: usize) -> u64 {
    key as u64 + 1
}

pub fn key_of(handle: u64) -> Option<usize> {
    usize::try_from(handle.checked_sub(1)?).ok()
}
