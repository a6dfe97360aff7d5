//! Serial-number arithmetic (RFC 1982, as RFC 2960 section 1.6 uses it for TSNs
//! and stream sequence numbers).
//!
//! TSNs are 32-bit and stream sequence numbers 16-bit; both wrap. `a < b` in
//! serial arithmetic means "b is ahead of a by less than half the number space".
//! The exact-half case is undefined by RFC 1982; we answer `false` for both
//! orders so that no caller can be tricked into treating it as ordered.

/// `a` precedes `b` in 32-bit serial arithmetic.
#[must_use]
pub fn tsn_lt(a: u32, b: u32) -> bool {
    let d = b.wrapping_sub(a);
    d != 0 && d < (1 << 31)
}

/// `a` precedes or equals `b` in 32-bit serial arithmetic.
#[must_use]
pub fn tsn_le(a: u32, b: u32) -> bool {
    a == b || tsn_lt(a, b)
}

/// `a` precedes `b` in 16-bit serial arithmetic.
#[must_use]
pub fn ssn_lt(a: u16, b: u16) -> bool {
    let d = b.wrapping_sub(a);
    d != 0 && d < (1 << 15)
}

/// `a` precedes or equals `b` in 16-bit serial arithmetic.
#[must_use]
pub fn ssn_le(a: u16, b: u16) -> bool {
    a == b || ssn_lt(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsn_order_across_wrap() {
        assert!(tsn_lt(u32::MAX, 0));
        assert!(tsn_lt(u32::MAX - 5, 3));
        assert!(!tsn_lt(3, u32::MAX - 5));
        assert!(tsn_le(7, 7));
        assert!(!tsn_lt(7, 7));
        // exactly half apart: neither precedes the other
        assert!(!tsn_lt(0, 1 << 31));
        assert!(!tsn_lt(1 << 31, 0));
    }

    #[test]
    fn ssn_order_across_wrap() {
        assert!(ssn_lt(65535, 0));
        assert!(ssn_lt(65000, 100));
        assert!(!ssn_lt(100, 65000));
        assert!(ssn_le(9, 9));
        assert!(!ssn_lt(0, 1 << 15));
    }
}
