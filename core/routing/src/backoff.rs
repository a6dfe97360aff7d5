//! Retry timing: exponential backoff with "equal jitter" (half fixed, half
//! random), so a burst of failures does not retry in lockstep.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    pub base_ms: u64,
    pub cap_ms: u64,
    /// Attempts in all (the first try included) before dead-lettering.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_ms: 1_000,
            cap_ms: 3_600_000,
            max_attempts: 12,
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `failed + 1`, given `failed` failures so far
    /// (>= 1) and `rand01` in [0, 1).
    pub fn delay_ms(&self, failed: u32, rand01: f64) -> u64 {
        let exp = failed.saturating_sub(1).min(62);
        let full = self
            .base_ms
            .saturating_mul(1u64 << exp)
            .min(self.cap_ms.max(self.base_ms));
        let half = full / 2;
        let r = rand01.clamp(0.0, 1.0);
        half + ((full - half) as f64 * r) as u64
    }

    pub fn exhausted(&self, attempts: u32) -> bool {
        attempts >= self.max_attempts
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.base_ms == 0 || self.cap_ms < self.base_ms || self.max_attempts == 0 {
            return Err("retry needs base_ms > 0, cap_ms >= base_ms, max_attempts > 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_jitters() {
        let p = RetryPolicy {
            base_ms: 1000,
            cap_ms: 10_000,
            max_attempts: 5,
        };
        assert_eq!(p.delay_ms(1, 0.0), 500);
        assert_eq!(p.delay_ms(1, 0.999_999), 999);
        assert_eq!(p.delay_ms(2, 0.0), 1000);
        assert_eq!(p.delay_ms(4, 0.0), 4000);
        assert_eq!(p.delay_ms(5, 0.0), 5000); // capped at 10 s, half fixed
        assert_eq!(p.delay_ms(60, 0.5), 7500);
        assert!(p.delay_ms(u32::MAX, 1.0) <= 10_000);
        assert!(!p.exhausted(4));
        assert!(p.exhausted(5));
    }
}
