//! tocsind's configuration: the TOML file format, its defaults, and the
//! checks `tocsinctl config check` and the daemon share.

mod error;
mod file;
mod load;

pub use error::ConfigError;
pub use file::{
    AdminConfig, Config, DaemonConfig, IntegrityCheck, LogLevel, PluginsConfig, StoreConfig,
};
pub use load::{DEFAULT_CONFIG_PATH, load, parse};
