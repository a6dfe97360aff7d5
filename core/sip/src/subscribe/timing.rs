//! Timer values (RFC 3261 §17.1.2 and RFC 6665 refresh advice).

use std::time::Duration;

/// RTT estimate.
pub(crate) const T1: Duration = Duration::from_millis(500);
/// Longest retransmit interval for non-INVITE requests.
pub(crate) const T2: Duration = Duration::from_secs(4);
/// Timer F: a non-INVITE client transaction gives up after 64*T1.
pub(crate) const TIMER_F: Duration = Duration::from_secs(32);

/// When to refresh a subscription granted `expires` seconds: at the
/// earlier of 90 % of the duration and 32 s (one Timer F) before expiry,
/// but never before half the duration (so short grants do not turn into a
/// refresh storm) and never sooner than one second.
pub fn refresh_delay(expires: u32) -> Duration {
    let granted = u64::from(expires) * 1000;
    let ninety = granted / 10 * 9;
    let before_timer_f = granted.saturating_sub(32_000);
    let delay = ninety.min(before_timer_f).max(granted / 2).max(1000);
    Duration::from_millis(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_points() {
        // 3600 s: 90 % = 3240 s beats 3568 s.
        assert_eq!(refresh_delay(3600), Duration::from_secs(3240));
        // 300 s: 268 s beats 270 s.
        assert_eq!(refresh_delay(300), Duration::from_secs(268));
        // 60 s: 28 s would be under half, so 30 s.
        assert_eq!(refresh_delay(60), Duration::from_secs(30));
        assert_eq!(refresh_delay(1), Duration::from_secs(1));
        assert_eq!(
            refresh_delay(u32::MAX),
            Duration::from_millis(u64::from(u32::MAX) * 1000 / 10 * 9)
        );
    }
}
