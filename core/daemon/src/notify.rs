//! systemd notifications. All no-ops when NOTIFY_SOCKET is unset.

use sd_notify::NotifyState;
use std::time::Duration;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        log::warn!("sd_notify failed: {e}");
    }
}

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(m) => send(&[NotifyState::Reloading, m]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// The ping interval: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
/// recommends.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}
