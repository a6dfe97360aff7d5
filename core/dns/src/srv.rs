//! SRV records and the order in which to try their targets (RFC 2782,
//! "Usage rules").

use crate::name;

/// One SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Srv {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative share among records of the same priority.
    pub weight: u16,
    pub port: u16,
    /// Host name in text form without a trailing dot; `"."` means "no
    /// service" when it is the only record.
    pub target: String,
}

impl Srv {
    pub fn new(priority: u16, weight: u16, port: u16, target: impl Into<String>) -> Self {
        Srv {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }
}

/// True when the RRset says the service is "decidedly not available at
/// this domain": exactly one record, with target `"."`.
pub fn is_decidedly_unavailable(records: &[Srv]) -> bool {
    matches!(records, [only] if name::is_root(&only.target))
}

/// Orders SRV records as RFC 2782 prescribes: by priority ascending; within
/// one priority, by repeated weighted random selection, where records of
/// weight 0 are placed first in the running sum (so they are picked only
/// when the random number is 0 — rarely, unless all weights are 0).
///
/// `rng(n)` must return a uniformly random number in `0..=n` (larger values
/// are reduced modulo `n + 1`). Records with target `"."` are dropped (it
/// only has a meaning as the sole record: see [`is_decidedly_unavailable`]).
pub fn order(mut records: Vec<Srv>, rng: &mut impl FnMut(u32) -> u32) -> Vec<Srv> {
    records.retain(|r| !name::is_root(&r.target));
    // Stable: equal keys keep the order of the response.
    records.sort_by_key(|r| r.priority);
    let mut out = Vec::with_capacity(records.len());
    for group in records.chunk_by(|a, b| a.priority == b.priority) {
        let mut group = group.to_vec();
        group.sort_by_key(|r| r.weight != 0);
        while !group.is_empty() {
            let sum: u64 = group.iter().map(|r| u64::from(r.weight)).sum();
            let bound = u32::try_from(sum).unwrap_or(u32::MAX);
            let mut pick = u64::from(rng(bound));
            if pick > u64::from(bound) {
                pick %= u64::from(bound) + 1;
            }
            let mut running = 0u64;
            let index = group
                .iter()
                .position(|r| {
                    running += u64::from(r.weight);
                    running >= pick
                })
                .unwrap_or(group.len() - 1);
            out.push(group.remove(index));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(records: &[Srv]) -> Vec<&str> {
        records.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn priority_first() {
        let records = vec![
            Srv::new(20, 0, 1, "c"),
            Srv::new(10, 0, 1, "a"),
            Srv::new(30, 0, 1, "d"),
            Srv::new(10, 0, 1, "b"),
        ];
        let ordered = order(records, &mut |_| 0);
        assert_eq!(targets(&ordered), ["a", "b", "c", "d"]);
    }

    #[test]
    fn weighted_selection_is_deterministic_with_fixed_rng() {
        let records = vec![
            Srv::new(1, 10, 1, "ten"),
            Srv::new(1, 20, 1, "twenty"),
            Srv::new(1, 30, 1, "thirty"),
        ];
        // Running sums 10, 30, 60. Draw 25 -> "twenty"; then sums 10, 40:
        // draw 25 -> "thirty"; then "ten".
        let mut draws = Vec::new();
        let ordered = order(records.clone(), &mut |n| {
            draws.push(n);
            25
        });
        assert_eq!(targets(&ordered), ["twenty", "thirty", "ten"]);
        assert_eq!(draws, [60, 40, 10]);
        // Draw the maximum each time: the last in running order.
        let ordered = order(records.clone(), &mut |n| n);
        assert_eq!(targets(&ordered), ["thirty", "twenty", "ten"]);
        // Out-of-range draws are reduced modulo n+1: 61 % 61 = 0 -> "ten".
        let ordered = order(records, &mut |n| n + 1);
        assert_eq!(targets(&ordered)[0], "ten");
    }

    #[test]
    fn weight_zero_rule() {
        let records = vec![Srv::new(1, 5, 1, "five"), Srv::new(1, 0, 1, "zero")];
        // Zero-weight records come first in the running sum: chosen on 0.
        assert_eq!(
            targets(&order(records.clone(), &mut |_| 0)),
            ["zero", "five"]
        );
        // Any other draw picks the weighted one first.
        assert_eq!(
            targets(&order(records.clone(), &mut |_| 1)),
            ["five", "zero"]
        );
        // All zero: the sum is 0, the draw 0, order of the response kept.
        let zeros = vec![Srv::new(1, 0, 1, "x"), Srv::new(1, 0, 1, "y")];
        let mut seen = Vec::new();
        let ordered = order(zeros, &mut |n| {
            seen.push(n);
            0
        });
        assert_eq!(targets(&ordered), ["x", "y"]);
        assert_eq!(seen, [0, 0]);
    }

    #[test]
    fn weights_shape_the_distribution() {
        let records = vec![Srv::new(1, 1, 1, "light"), Srv::new(1, 3, 1, "heavy")];
        let mut state = 0x1234_5678_u64;
        let mut rng = |n: u32| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % (u64::from(n) + 1)) as u32
        };
        let heavy_first = (0..4000)
            .filter(|_| order(records.clone(), &mut rng)[0].target == "heavy")
            .count();
        // Running sums 1, 4; draws 0..=4: 0 and 1 pick "light", 2..=4
        // "heavy" -> 3/5 (the RFC's draw includes 0, which favours the
        // first record by one chance).
        assert!((2200..2600).contains(&heavy_first), "{heavy_first}");
    }

    #[test]
    fn root_target() {
        assert!(is_decidedly_unavailable(&[Srv::new(0, 0, 0, ".")]));
        assert!(!is_decidedly_unavailable(&[Srv::new(0, 0, 0, "a")]));
        assert!(!is_decidedly_unavailable(&[]));
        let mixed = vec![Srv::new(0, 0, 0, "."), Srv::new(1, 0, 5, "a")];
        assert!(!is_decidedly_unavailable(&mixed));
        assert_eq!(targets(&order(mixed, &mut |_| 0)), ["a"]);
    }

    #[test]
    fn huge_weights_do_not_overflow() {
        let records: Vec<Srv> = (0..4)
            .map(|i| Srv::new(0, u16::MAX, 1, format!("h{i}")))
            .collect();
        let ordered = order(records, &mut |n| n);
        assert_eq!(ordered.len(), 4);
    }
}
