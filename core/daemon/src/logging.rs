//! env_logger behind the log facade. The config's level applies unless
//! RUST_LOG is set; under systemd (JOURNAL_STREAM) lines carry syslog
//! priority prefixes instead of timestamps, which journald adds itself.

use std::io::Write;
use tocsin_config::LogLevel;

#[derive(Debug, Clone, Copy)]
pub struct LogControl {
    /// RUST_LOG decides; SIGHUP does not change the level.
    env_override: bool,
}

impl LogControl {
    pub fn apply(&self, level: LogLevel) {
        if !self.env_override {
            log::set_max_level(level.to_filter());
        }
    }
}

pub fn init(level: LogLevel) -> LogControl {
    let env_override = std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty());
    let mut b = env_logger::Builder::new();
    if env_override {
        b.parse_default_env();
    } else {
        // Let everything through the builder; log::set_max_level gates it,
        // which SIGHUP can change later.
        b.filter_level(log::LevelFilter::Trace);
    }
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        b.format(|buf, record| {
            let prio = match record.level() {
                log::Level::Error => 3,
                log::Level::Warn => 4,
                log::Level::Info => 6,
                log::Level::Debug | log::Level::Trace => 7,
            };
            writeln!(buf, "<{prio}>{}: {}", record.target(), record.args())
        });
    }
    let _ = b.try_init();
    let ctl = LogControl { env_override };
    ctl.apply(level);
    ctl
}
