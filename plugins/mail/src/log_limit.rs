//! Rate-limited logging for what peers can trigger at will (bad requests, garbage
//! datagrams): a peer must not be able to fill the disk through our log.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct LogLimiter {
    burst: u32,
    window: Duration,
    start: Option<Instant>,
    used: u32,
    suppressed: u64,
}

impl LogLimiter {
    /// At most `burst` lines per `window`.
    pub fn new(burst: u32, window: Duration) -> Self {
        LogLimiter {
            burst,
            window,
            start: None,
            used: 0,
            suppressed: 0,
        }
    }

    /// `Some(n)` when a line may be written now, `n` being how many were suppressed since
    /// the last one written (say so in the line); `None` to stay quiet.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        let expired = self
            .start
            .is_none_or(|s| now.saturating_duration_since(s) >= self.window);
        if expired {
            self.start = Some(now);
            self.used = 0;
        }
        if self.used < self.burst {
            self.used += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_reports_what_it_suppressed() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(2, Duration::from_secs(10));
        assert_eq!(l.allow(t0), Some(0));
        assert_eq!(l.allow(t0), Some(0));
        assert_eq!(l.allow(t0), None);
        assert_eq!(l.allow(t0 + Duration::from_secs(9)), None);
        assert_eq!(l.allow(t0 + Duration::from_secs(10)), Some(2));
        assert_eq!(l.allow(t0 + Duration::from_secs(10)), Some(0));
    }
}
