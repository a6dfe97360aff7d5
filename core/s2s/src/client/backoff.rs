//! Capped exponential backoff with jitter (no RNG crate: the jitter comes
//! from std's randomly keyed hasher, which is plenty to de-synchronise many
//! sources reconnecting to the same server).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            current: initial,
        }
    }

    /// The next pause: the current delay scaled by a random 0.5..1.0, then
    /// the delay doubles up to the cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.current;
        self.current = (self.current * 2).min(self.max);
        let r = RandomState::new().build_hasher().finish();
        let frac = 0.5 + (r % 1000) as f64 / 2000.0;
        d.mul_f64(frac)
    }

    pub(crate) fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_with_jitter() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let ds: Vec<Duration> = (0..6).map(|_| b.next_delay()).collect();
        for (d, base) in ds.iter().zip([100, 200, 400, 500, 500, 500]) {
            assert!(
                *d >= Duration::from_millis(base / 2) && *d <= Duration::from_millis(base),
                "{d:?} vs {base}"
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
