//! Rate limit for per-message log lines (drops, rejections): an operator
//! needs to see that bad input arrives and why, but a flood of garbage
//! must not turn into a flood of log writes.

use std::time::{Duration, Instant};

/// The crate's name, not this module's: the lines are the endpoint's.
const TARGET: &str = env!("CARGO_CRATE_NAME");
/// Lines per window; the rest are counted and reported once.
const PER_WINDOW: u32 = 20;
const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct LogLimit {
    window_start: Option<Instant>,
    in_window: u32,
    suppressed: u64,
}

impl LogLimit {
    /// Logs `msg` at info level unless the window's budget is spent.
    pub fn info(&mut self, now: Instant, msg: impl FnOnce() -> String) {
        if self.allow(now) {
            log::info!(target: TARGET, "{}", msg());
        }
    }

    fn allow(&mut self, now: Instant) -> bool {
        let fresh = self
            .window_start
            .is_none_or(|s| now.duration_since(s) >= WINDOW);
        if fresh {
            if self.suppressed > 0 {
                log::info!(
                    target: TARGET,
                    "{} similar messages were not logged in the last window",
                    self.suppressed
                );
            }
            self.window_start = Some(now);
            self.in_window = 0;
            self.suppressed = 0;
        }
        if self.in_window < PER_WINDOW {
            self.in_window += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_per_window() {
        let mut l = LogLimit::default();
        let t = Instant::now();
        let allowed = (0..100).filter(|_| l.allow(t)).count();
        assert_eq!(allowed, PER_WINDOW as usize);
        assert_eq!(l.suppressed, 80);
        assert!(l.allow(t + WINDOW));
        assert_eq!(l.suppressed, 0);
    }
}
