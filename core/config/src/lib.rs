//! tocsind's configuration: the TOML file format, its defaults, and the
//! checks `tocsinctl config check` and the daemon share.

mod error;
mod file;
mod load;

pub use error::ConfigError;
pub use file::{
    AdminConfig, Config, DaemonConfig, DeliveryConfig, IntegrityCheck, LogLevel, PluginsConfig,
    RetentionConfig, StoreConfig,
};
pub use load::{DEFAULT_CONFIG_PATH, load, parse};
