//! SplitMix64 (Steele, Lea, Flood 2014): a tiny generator that turns the
//! caller's seed into query ids and SRV weight draws. It is not a CSPRNG;
//! the unpredictability of ids comes from the seed, which the host takes
//! from the operating system's random source.

#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A query id (the top bits mix best).
    pub(crate) fn next_id(&mut self) -> u16 {
        (self.next_u64() >> 48) as u16
    }

    /// Uniform in `0..=n` (modulo bias below 2^-32).
    pub(crate) fn upto(&mut self, n: u32) -> u32 {
        (self.next_u64() % (u64::from(n) + 1)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values() {
        // First outputs for seed 0 of the reference implementation.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn upto_is_inclusive_and_bounded() {
        let mut r = SplitMix64::new(42);
        let draws: Vec<u32> = (0..1000).map(|_| r.upto(3)).collect();
        assert!(draws.iter().all(|&d| d <= 3));
        assert!((0..=3).all(|v| draws.contains(&v)));
        assert_eq!(r.upto(0), 0);
        let _ = r.upto(u32::MAX);
    }
}
