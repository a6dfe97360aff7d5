//! Generated source event ids and the local host name, for sources without
//! a natural idempotency key (e.g. `tocsin-send` without `--id`).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::event::now_unix_ms;

/// A fresh source event id: `host-unixms-pid-counter-random`, unique across
/// processes and hosts without coordination (used when a source has no
/// natural idempotency key, e.g. `tocsin-send` without `--id`).
#[must_use]
pub fn unique_event_id(host: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // std's hasher keys are random per process: a cheap source of entropy
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect();
    format!(
        "{}-{}-{}-{}-{:016x}",
        if host.is_empty() { "host" } else { &host },
        now_unix_ms(),
        std::process::id(),
        n,
        h.finish()
    )
}

/// This machine's host name (from `/proc/sys/kernel/hostname` or
/// `/etc/hostname`), `localhost` when neither is readable.
#[must_use]
pub fn local_hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            let s = std::fs::read_to_string(p).ok()?;
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_within_limits() {
        let a = unique_event_id("mx1.example");
        let b = unique_event_id("mx1.example");
        assert_ne!(a, b);
        assert!(a.starts_with("mx1.example-"));
        let long = unique_event_id(&"h".repeat(300));
        assert!(long.len() <= crate::msg::limits::SOURCE_EVENT_ID);
        assert!(unique_event_id("  ").starts_with("host-"));
        assert!(!local_hostname().is_empty());
    }
}
