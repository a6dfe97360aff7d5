//! The file format. Every table denies unknown keys so a typo is an error
//! with a line number, never a silently ignored setting.

use crate::ingest::{Ingest, IngestFile, SourceFile};
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub daemon: DaemonConfig,
    #[serde(default)]
    pub admin: AdminConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub plugins: PluginsConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub retention: RetentionConfig,
    /// `[ingest]` as written; read [`Config::ingest`] instead.
    #[serde(default, rename = "ingest")]
    pub(crate) ingest_file: IngestFile,
    /// `[[sources]]` as written; read [`Config::ingest`] instead.
    #[serde(default, rename = "sources")]
    pub(crate) sources_file: Vec<Spanned<SourceFile>>,
    /// S2S listeners, bounds and sources, checked (filled by parsing).
    #[serde(skip)]
    pub ingest: Ingest,
    /// The file this was read from (not a key in the file).
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn to_filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Off => log::LevelFilter::Off,
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    #[serde(default = "default_log_level")]
    pub log_level: LogLevel,
    /// Names this node in status output and to S2S sources; defaults to
    /// the host name.
    #[serde(default)]
    pub appliance_id: Option<String>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            log_level: default_log_level(),
            appliance_id: None,
        }
    }
}

fn default_log_level() -> LogLevel {
    LogLevel::Info
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    #[serde(default = "default_admin_socket")]
    pub socket: PathBuf,
    /// Members of this group may use the admin socket besides root and
    /// the daemon's own user.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            socket: default_admin_socket(),
            group: None,
            max_request_bytes: default_max_request_bytes(),
        }
    }
}

fn default_admin_socket() -> PathBuf {
    PathBuf::from("/run/tocsin/admin.sock")
}

fn default_max_request_bytes() -> u32 {
    1024 * 1024
}

/// How the database is checked at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntegrityCheck {
    /// `PRAGMA quick_check` before READY (slow on big databases).
    Full,
    /// Structural checks before READY, `quick_check` on a helper thread
    /// right after; a failure stops the daemon with exit status 1.
    Background,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    #[serde(default = "default_db_path")]
    pub path: PathBuf,
    #[serde(default = "default_integrity_check")]
    pub integrity_check: IntegrityCheck,
    /// Truncate the WAL after this much idle time.
    #[serde(default = "default_checkpoint_idle_ms")]
    pub checkpoint_idle_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_db_path(),
            integrity_check: default_integrity_check(),
            checkpoint_idle_ms: default_checkpoint_idle_ms(),
        }
    }
}

fn default_db_path() -> PathBuf {
    PathBuf::from("/var/lib/tocsin/tocsin.db")
}

fn default_integrity_check() -> IntegrityCheck {
    IntegrityCheck::Background
}

fn default_checkpoint_idle_ms() -> u64 {
    5_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    #[serde(default = "default_plugin_dir")]
    pub dir: PathBuf,
    #[serde(default = "default_plugin_config_dir")]
    pub config_dir: PathBuf,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            dir: default_plugin_dir(),
            config_dir: default_plugin_config_dir(),
        }
    }
}

fn default_plugin_dir() -> PathBuf {
    PathBuf::from("/usr/lib/tocsin/plugins")
}

fn default_plugin_config_dir() -> PathBuf {
    PathBuf::from("/etc/tocsin/plugins.d")
}

/// Delivery scheduling defaults (a subscription may override the retry
/// policy).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// First retry after about this long (jittered: half to all of it).
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    /// Retry delays double up to this.
    #[serde(default = "default_retry_cap_ms")]
    pub retry_cap_ms: u64,
    /// Attempts in all before a delivery is dead-lettered.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Deliveries in flight per delivery plugin instance.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u32,
    /// Deliveries in flight per recipient queue (user, target). 1 keeps
    /// strict order; more lets a plugin pipeline a recipient's backlog over
    /// one connection, at the cost that a retried delivery can arrive after
    /// younger ones that were already in flight.
    #[serde(default = "default_max_in_flight_per_recipient")]
    pub max_in_flight_per_recipient: u32,
    /// How long a delivery for a missing or failed instance waits before
    /// it is looked at again.
    #[serde(default = "default_unavailable_retry_ms")]
    pub unavailable_retry_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            retry_base_ms: default_retry_base_ms(),
            retry_cap_ms: default_retry_cap_ms(),
            max_attempts: default_max_attempts(),
            max_in_flight: default_max_in_flight(),
            max_in_flight_per_recipient: default_max_in_flight_per_recipient(),
            unavailable_retry_ms: default_unavailable_retry_ms(),
        }
    }
}

fn default_retry_base_ms() -> u64 {
    2_000
}
fn default_retry_cap_ms() -> u64 {
    3_600_000
}
fn default_max_attempts() -> u32 {
    12
}
fn default_max_in_flight() -> u32 {
    64
}
fn default_max_in_flight_per_recipient() -> u32 {
    1
}
fn default_unavailable_retry_ms() -> u64 {
    30_000
}

/// How long finished history is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Finished deliveries (sent, delivered, displayed, expired, coalesced,
    /// dropped, failed) older than this are deleted with their history.
    #[serde(default = "default_days")]
    pub deliveries_days: u32,
    /// Events older than this with no deliveries left are deleted.
    #[serde(default = "default_days")]
    pub events_days: u32,
    /// How often pruning runs.
    #[serde(default = "default_prune_interval_s")]
    pub prune_interval_s: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            deliveries_days: default_days(),
            events_days: default_days(),
            prune_interval_s: default_prune_interval_s(),
        }
    }
}

fn default_days() -> u32 {
    30
}
fn default_prune_interval_s() -> u64 {
    3600
}
