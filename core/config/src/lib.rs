//! tocsind's configuration: the TOML file format, its defaults, and the
//! checks `tocsinctl config check` and the daemon share.

mod error;
mod file;
mod ingest;
mod load;

pub use error::ConfigError;
pub use file::{
    AdminConfig, Config, DaemonConfig, DeliveryConfig, IntegrityCheck, LogLevel, PluginsConfig,
    RetentionConfig, StoreConfig,
};
pub use ingest::{
    CertIdentity, Ingest, ListenEndpoint, Listener, MAX_EVENT_BYTES_LIMIT, RateLimit, Source,
    TlsFiles, cert_identity,
};
pub use load::{DEFAULT_CONFIG_PATH, load, parse};
