//! `tocsinctl watch`: an IMTP client that prints the notifications sent to
//! an inbox as they arrive, and reconnects when the connection is lost.

pub mod error;
pub mod link;
pub mod options;
pub mod render;
pub mod session;

use crate::CtlError;
use crate::cli::{Cli, WatchArgs};
pub use error::{Refusal, WatchError};
use link::Link;
pub use options::Options;
use session::{Progress, Session};
use std::io::Write;
use std::time::Duration;

pub fn run(cli: &Cli, args: &WatchArgs) -> Result<(), CtlError> {
    let env_password = std::env::var(options::PASSWORD_ENV).ok();
    let timeout = Duration::from_secs(cli.timeout.max(1));
    let result = Options::new(args, cli.json, timeout, env_password)
        .and_then(|opts| watch(&opts, &mut std::io::stdout().lock()));
    result.map_err(|e| {
        // stdout carries notifications only (even with --json).
        eprintln!("error: {e}");
        CtlError::Reported(e.exit_code())
    })
}

/// Connects, listens and prints until `--count` is reached (`Ok`), a
/// permanent error, or (with `--once`) the first lost connection.
pub fn watch(opts: &Options, out: &mut dyn Write) -> Result<(), WatchError> {
    let mut progress = Progress::default();
    let mut backoff = Backoff::default();
    loop {
        progress.listening = false;
        let result = Link::connect(&opts.server, opts.tls.as_ref(), opts.connect_timeout)
            .and_then(|link| Session::new(opts, link, out, &mut progress).run());
        let e = match result {
            Ok(session::End::CountReached) => return Ok(()),
            Err(e) => e,
        };
        if !e.is_transient() || opts.once {
            return Err(e);
        }
        if progress.listening {
            backoff = Backoff::default();
        }
        let pause = backoff.next_delay();
        eprintln!("note: {e}; reconnecting in {}s", pause.as_secs());
        std::thread::sleep(pause);
    }
}

/// 1 s, doubling up to 30 s. No jitter: one client per inbox, so there is
/// no herd to spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const CAP: Duration = Duration::from_secs(30);

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::CAP);
        d
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { next: Self::FIRST }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let mut b = Backoff::default();
        let secs: Vec<u64> = (0..7).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn errors_sort_into_retry_or_stop() {
        use tocsin_imtp::ErrorType;
        let refusal = Refusal {
            error_type: ErrorType::TargetNotFound,
            description: Some("no such inbox".into()),
        };
        let e = WatchError::ListenRefused(refusal.clone());
        assert!(!e.is_transient());
        assert_eq!(e.exit_code(), crate::EXIT_FAILURE);
        assert_eq!(
            e.to_string(),
            "listen refused: target-not-found: no such inbox"
        );
        let bare = Refusal {
            description: None,
            ..refusal
        };
        assert_eq!(
            WatchError::AuthFailed(bare).to_string(),
            "authentication failed: target-not-found"
        );
        assert!(WatchError::Eof.is_transient());
        assert!(WatchError::Shutdown.is_transient());
        assert!(!WatchError::NoCredentials.is_transient());
        assert_eq!(WatchError::NoCredentials.exit_code(), crate::EXIT_USAGE);
    }
}
