//! SIGTERM/SIGINT/SIGHUP through a signalfd registered with the loop.

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

#[derive(Debug, thiserror::Error)]
#[error("cannot set up signal handling: {0}")]
pub struct SignalError(#[from] nix::Error);

pub struct Signals {
    fd: SignalFd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalEvent {
    Shutdown(&'static str),
    Reload,
}

impl Signals {
    /// Blocks the signals in this (the only) thread; threads spawned later
    /// inherit the mask, so the signalfd is the only receiver.
    pub fn block() -> Result<Signals, SignalError> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGTERM);
        set.add(Signal::SIGINT);
        set.add(Signal::SIGHUP);
        set.thread_block()?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(Signals { fd })
    }

    pub fn fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    /// Drains pending signals.
    pub fn read(&mut self) -> Vec<SignalEvent> {
        let mut out = Vec::new();
        while let Ok(Some(info)) = self.fd.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGTERM) => out.push(SignalEvent::Shutdown("SIGTERM")),
                Ok(Signal::SIGINT) => out.push(SignalEvent::Shutdown("SIGINT")),
                Ok(Signal::SIGHUP) => out.push(SignalEvent::Reload),
                _ => {}
            }
        }
        out
    }
}
