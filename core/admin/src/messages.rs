//! Request and response bodies. Requests are tagged by `cmd`; unknown
//! commands and unknown fields are rejected so a typo is never ignored.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tocsin_abi::Priority;
pub use tocsin_routing::SubscriptionSpec;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    Status {},
    EventsList {
        #[serde(default = "default_limit")]
        limit: u32,
        /// Only events with an id below this (paging backwards).
        #[serde(default)]
        before_id: Option<i64>,
        #[serde(default)]
        user: Option<String>,
        #[serde(default)]
        kind: Option<String>,
    },
    EventsShow {
        id: i64,
    },
    Send(SendArgs),
    DbBackup {
        path: String,
    },
    PluginsList {},
    PluginsShow {
        name: String,
    },
    PluginsReload {},
    SubsAdd {
        spec: Box<SubscriptionSpec>,
    },
    SubsList {},
    SubsShow {
        name: String,
    },
    SubsRm {
        name: String,
    },
    SubsEnable {
        name: String,
        enabled: bool,
    },
    DeliveriesList {
        #[serde(default)]
        state: Option<String>,
        #[serde(default)]
        user: Option<String>,
        #[serde(default = "default_limit")]
        limit: u32,
        #[serde(default)]
        before_id: Option<i64>,
    },
    DeliveriesShow {
        id: i64,
    },
    DlqList {
        #[serde(default = "default_limit")]
        limit: u32,
    },
    /// `id` None = every dead letter.
    DlqReplay {
        #[serde(default)]
        id: Option<i64>,
    },
    DlqPurge {
        #[serde(default)]
        id: Option<i64>,
    },
}

fn default_limit() -> u32 {
    50
}

/// `tocsinctl send`: one event through the normal ingest path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendArgs {
    pub user: String,
    pub kind: String,
    pub summary: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Source name; defaults to "admin".
    #[serde(default)]
    pub source: Option<String>,
    /// Source event id; generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub origin_host: Option<String>,
    #[serde(default)]
    pub occurred_at_ms: Option<i64>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-parsable: bad-request, too-large, not-found, forbidden,
    /// unavailable, internal, or an ingest code (malformed, unknown-kind…).
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl Response {
    pub fn ok<T: Serialize>(data: &T) -> Response {
        match serde_json::to_value(data) {
            Ok(v) => Response {
                ok: true,
                data: Some(v),
                error: None,
            },
            Err(e) => Response::error("internal", format!("cannot encode response: {e}")),
        }
    }

    pub fn error(code: &str, message: impl Into<String>) -> Response {
        Response {
            ok: false,
            data: None,
            error: Some(ErrorBody {
                code: code.to_string(),
                message: message.into(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendResult {
    pub id: i64,
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: i64,
    pub source: String,
    pub source_event_id: String,
    pub kind: String,
    pub user: String,
    pub origin_host: String,
    pub occurred_at_ms: i64,
    pub received_at_ms: i64,
    pub priority: Priority,
    pub summary: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<EventRecord>,
    /// Pass as `before_id` for the next page; absent on the last page.
    pub next_before_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbInfo {
    pub path: String,
    pub size_bytes: u64,
    pub wal_bytes: u64,
    pub events: i64,
    pub commit_seq: i64,
    pub schema_version: i64,
    /// "ok", "checking", or the failure text.
    pub integrity: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueDepths {
    pub pending: i64,
    pub in_flight: i64,
    pub retrying: i64,
    pub dead: i64,
}

/// One plugin instance as `plugins list/show` and `status` report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Instance name (the plugins.d file name; the source name of its events).
    pub name: String,
    /// The plugin's own name from its descriptor.
    pub plugin: String,
    pub library: String,
    /// source | delivery
    pub kind: String,
    pub version: String,
    pub abi: String,
    /// running | failed | refused | disabled
    pub state: String,
    pub reason: Option<String>,
    /// The library changed on disk since it was loaded (restart to use it).
    pub stale: bool,
    pub config_file: String,
    pub events_emitted: u64,
    pub events_stored: u64,
    pub events_duplicate: u64,
    pub events_rejected: u64,
    pub deliveries_ok: u64,
    pub deliveries_failed: u64,
    pub sockets: Vec<SocketInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketInfo {
    pub handle: u64,
    pub kind: String,
    pub local: String,
    pub peer: String,
    pub queued_out: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginsReloadResult {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
    /// (instance, reason)
    pub refused: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusInfo {
    pub version: String,
    pub appliance_id: String,
    pub pid: u32,
    pub uptime_s: u64,
    pub role: String,
    pub db: DbInfo,
    pub queues: QueueDepths,
    pub plugins: Vec<PluginInfo>,
    /// S2S ingest (absent from daemons before it was reported).
    #[serde(default)]
    pub ingest: IngestStatus,
}

/// The S2S ingest listeners and the sources connected to them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestStatus {
    pub listeners: Vec<IngestListenerInfo>,
    pub connections: Vec<IngestConnInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestListenerInfo {
    /// `IP:PORT` as bound, or the Unix socket path.
    pub address: String,
    pub tls: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestConnInfo {
    pub peer: String,
    /// The listener it came through (`IngestListenerInfo::address`).
    pub listener: String,
    pub tls: bool,
    /// The source it said HELLO as; `None` before a welcomed HELLO.
    pub source: Option<String>,
    pub connected_s: u64,
    /// EVENTs received, accepted (stored or duplicate) and rejected.
    pub events_received: u64,
    pub events_accepted: u64,
    pub events_rejected: u64,
    /// EVENTs waiting for their commit (and so for their ACK).
    pub awaiting_ack: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupResult {
    pub path: String,
    pub bytes: u64,
    pub pages: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionInfo {
    pub id: i64,
    pub created_at_ms: i64,
    pub spec: SubscriptionSpec,
}

/// A delivery row (the daemon serialises its store record; the shape is
/// pinned by a test in tocsind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    pub id: i64,
    pub event_id: i64,
    pub subscription_id: Option<i64>,
    pub target_instance: String,
    pub target_address: String,
    pub user: String,
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub escalate_at: Option<i64>,
    pub last_error: Option<String>,
    pub message_id: String,
    pub coalesce_key: Option<String>,
    pub priority: u8,
    pub flags: u32,
    pub summary: String,
    pub body: String,
    pub escalated_from: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryInfo {
    pub at: i64,
    pub from_state: Option<String>,
    pub to_state: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    pub delivery: DeliveryInfo,
    pub history: Vec<HistoryInfo>,
    /// Deliveries created by escalating this one.
    pub escalations: Vec<i64>,
    pub event: Option<EventRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountResult {
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdResult {
    pub id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wire_shape() {
        let r: Request = serde_json::from_str(r#"{"cmd":"events-show","id":7}"#).unwrap();
        assert_eq!(r, Request::EventsShow { id: 7 });
        let r: Request = serde_json::from_str(r#"{"cmd":"status"}"#).unwrap();
        assert_eq!(r, Request::Status {});
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"status","x":1}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"nope"}"#).is_err());
        let r: Request = serde_json::from_str(
            r#"{"cmd":"send","user":"a","kind":"k.x","summary":"s","priority":"high"}"#,
        )
        .unwrap();
        match r {
            Request::Send(a) => assert_eq!(a.priority, Some(Priority::High)),
            other => panic!("{other:?}"),
        }
    }
}
