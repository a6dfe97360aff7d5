//! Character classes of the draft's ABNF (section 10) shared by the decoder,
//! the encoder and the typed fields.

/// WSP = SP / HTAB.
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// header-name = 1*(%x21-39 / %x3B-7E): printable ASCII without ":".
pub(crate) fn is_header_name_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x39 | 0x3B..=0x7E)
}

pub(crate) fn is_valid_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_header_name_byte)
}

/// One character of a header value: `printable` of section 10 or WSP.
/// printable = %x21-7E / %x80-D7FF / %xE000-FFFD / %x10000-10FFFF; Rust
/// chars already exclude surrogates.
pub(crate) fn is_header_value_char(c: char) -> bool {
    let u = c as u32;
    c == ' ' || c == '\t' || (0x21..=0x7E).contains(&u) || (u >= 0x80 && u != 0xFFFE && u != 0xFFFF)
}

pub(crate) fn is_valid_header_value(value: &str) -> bool {
    value.chars().all(is_header_value_char)
}

/// Strips leading and trailing WSP (the `[fws] ... *WSP` around every
/// header syntax of section 11).
pub(crate) fn trim_wsp(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// Writes `n` in decimal without allocating.
pub(crate) fn decimal(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        // n % 10 < 10, so the cast cannot truncate.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_formats() {
        let mut b = [0u8; 20];
        assert_eq!(decimal(0, &mut b), b"0");
        assert_eq!(decimal(1234, &mut b), b"1234");
        assert_eq!(decimal(u64::MAX, &mut b), b"18446744073709551615");
    }

    #[test]
    fn header_value_chars() {
        assert!(is_valid_header_value("a b\tc é"));
        assert!(!is_valid_header_value("a\rb"));
        assert!(!is_valid_header_value("a\u{0}b"));
        assert!(!is_valid_header_value("\u{7f}"));
    }
}
