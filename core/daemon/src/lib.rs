//! tocsind: one mio loop hosting the admin socket, ingest, the store's
//! group commit, timers and signals.

pub mod cli;

mod admin;
mod daemon;
mod delivery;
mod ingest;
mod jobs;
mod logging;
mod notify;
mod plugins;
mod s2s;
mod signals;
mod timers;
mod tls;

use std::process::ExitCode;

/// Runs the daemon until it is told to stop. Exit status 0 after a
/// graceful shutdown, 1 on any fatal error (with the reason logged).
pub fn run(args: cli::Args) -> ExitCode {
    // Signals must be blocked before any thread exists so that only the
    // signalfd sees them.
    let signals = match signals::Signals::block() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tocsind: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cfg = match tocsin_config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tocsind: {e}");
            return ExitCode::FAILURE;
        }
    };
    let log_ctl = logging::init(cfg.daemon.log_level);
    match daemon::Daemon::start(cfg, args.config, signals, log_ctl) {
        Ok(mut d) => d.run(),
        Err(e) => {
            log::error!("{e}");
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&format!("failed: {e}"))]);
            ExitCode::FAILURE
        }
    }
}
