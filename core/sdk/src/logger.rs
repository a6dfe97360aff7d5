//! Each plugin library has its own copy of the `log` crate's global
//! logger; this one forwards records to the host of the instance whose
//! callback is running, so lines land in the daemon's log tagged with the
//! instance name.

use crate::host::Host;
use std::cell::Cell;
use std::sync::Once;

thread_local! {
    // Cell of raw pointers: no destructor is registered, which matters for
    // code in a dlopen'ed library.
    static CURRENT: Cell<Option<Host>> = const { Cell::new(None) };
}

struct Forward;

fn level_code(l: log::Level) -> u32 {
    match l {
        log::Level::Error => 1,
        log::Level::Warn => 2,
        log::Level::Info => 3,
        log::Level::Debug => 4,
        log::Level::Trace => 5,
    }
}

fn filter_of(code: u32) -> log::LevelFilter {
    match code {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

impl log::Log for Forward {
    fn enabled(&self, _m: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        if let Some(h) = CURRENT.with(|c| c.get()) {
            let msg = record.args().to_string();
            h.raw_log(level_code(record.level()), record.target(), &msg);
        }
    }

    fn flush(&self) {}
}

static INSTALL: Once = Once::new();
static LOGGER: Forward = Forward;

/// Runs `f` with `host` as the log destination.
pub(crate) fn with_host<R>(host: Host, f: impl FnOnce() -> R) -> R {
    INSTALL.call_once(|| {
        let _ = log::set_logger(&LOGGER);
        // This library has its own copy of std and of its panic hook: send
        // panic messages to the daemon's log instead of bare stderr.
        std::panic::set_hook(Box::new(|info| {
            let loc = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            if let Some(h) = CURRENT.with(|c| c.get()) {
                h.raw_log(1, "panic", &format!("plugin panicked{loc}: {msg}"));
            } else {
                eprintln!("tocsin plugin panicked{loc}: {msg}");
            }
        }));
    });
    log::set_max_level(filter_of(host.max_log_level()));
    let prev = CURRENT.with(|c| c.replace(Some(host)));
    let r = f();
    CURRENT.with(|c| c.set(prev));
    r
}
