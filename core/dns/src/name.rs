//! Domain names: validation of the text form we query, encoding into
//! labels, and decoding from a message including compression pointers
//! (RFC 1035 section 4.1.4).
//!
//! Decoding is defensive: every length is checked against the message,
//! a pointer must point strictly before the segment that contains it (so
//! no loop can exist) and the number of jumps is bounded anyway.

use crate::error::DnsError;
use std::fmt::Write as _;

/// Longest label, in octets.
pub const MAX_LABEL_LEN: usize = 63;
/// Longest name in text form without the trailing dot (255 octets on the
/// wire: one length octet per label plus the root label).
pub const MAX_NAME_LEN: usize = 253;
/// Longest name on the wire.
const MAX_WIRE_LEN: usize = 255;
/// Far more pointers than any honest message uses for one name.
const MAX_POINTER_JUMPS: usize = 64;

/// Checks a name in text form (`im.example.org`, a trailing dot allowed):
/// labels of 1..=63 octets, at most 253 octets in all, printable ASCII
/// without `\` (internationalised names must be given as A-labels). The
/// root name itself is not a valid query name here.
pub fn validate(name: &str) -> Result<(), DnsError> {
    labels(name).map(|_| ())
}

/// The labels of a validated name.
fn labels(name: &str) -> Result<Vec<&[u8]>, DnsError> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Err(DnsError::invalid_name(name, "empty name"));
    }
    if bare.len() > MAX_NAME_LEN {
        return Err(DnsError::invalid_name(name, "longer than 253 octets"));
    }
    let mut out = Vec::new();
    for label in bare.split('.') {
        let label = label.as_bytes();
        if label.is_empty() {
            return Err(DnsError::invalid_name(name, "empty label"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(DnsError::invalid_name(name, "label longer than 63 octets"));
        }
        if !label.iter().all(|&b| b.is_ascii_graphic() && b != b'\\') {
            return Err(DnsError::invalid_name(
                name,
                "only printable ASCII without '\\' is allowed (use A-labels for IDNs)",
            ));
        }
        out.push(label);
    }
    Ok(out)
}

/// Appends the uncompressed wire form of `name` to `out`.
pub(crate) fn encode(name: &str, out: &mut Vec<u8>) -> Result<(), DnsError> {
    for label in labels(name)? {
        // labels() guarantees 1..=63 octets.
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    Ok(())
}

/// Decodes the name starting at `start` in `msg`. Returns its text form
/// (no trailing dot; the root is `"."`; octets outside printable ASCII,
/// `.` and `\` inside labels are escaped as in master files) and the offset
/// just after the name where it is stored (after the first pointer, if any).
pub(crate) fn read(msg: &[u8], start: usize) -> Result<(String, usize), DnsError> {
    let mut text = String::new();
    let mut pos = start;
    // Pointers must point before the segment being read: strictly
    // decreasing targets make loops impossible.
    let mut segment_start = start;
    let mut end = None;
    let mut jumps = 0;
    let mut wire_len = 0;
    loop {
        let Some(&len) = msg.get(pos) else {
            return Err(DnsError::malformed(
                "name runs past the end of the message",
                pos,
            ));
        };
        match len & 0xC0 {
            0x00 => {
                let len = usize::from(len);
                wire_len += 1 + len;
                if wire_len > MAX_WIRE_LEN {
                    return Err(DnsError::malformed("name longer than 255 octets", pos));
                }
                if len == 0 {
                    if text.is_empty() {
                        text.push('.');
                    }
                    return Ok((text, end.unwrap_or(pos + 1)));
                }
                let Some(label) = msg.get(pos + 1..pos + 1 + len) else {
                    return Err(DnsError::malformed(
                        "label runs past the end of the message",
                        pos,
                    ));
                };
                if !text.is_empty() {
                    text.push('.');
                }
                push_label(&mut text, label);
                pos += 1 + len;
            }
            0xC0 => {
                let Some(&low) = msg.get(pos + 1) else {
                    return Err(DnsError::malformed("compression pointer cut short", pos));
                };
                let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                if target >= segment_start {
                    return Err(DnsError::malformed(
                        "compression pointer does not point backwards",
                        pos,
                    ));
                }
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS {
                    return Err(DnsError::malformed("too many compression pointers", pos));
                }
                end.get_or_insert(pos + 2);
                pos = target;
                segment_start = target;
            }
            _ => {
                return Err(DnsError::malformed(
                    "reserved label type (0x40 or 0x80)",
                    pos,
                ));
            }
        }
    }
}

fn push_label(text: &mut String, label: &[u8]) {
    for &b in label {
        if b == b'.' || b == b'\\' {
            text.push('\\');
            text.push(char::from(b));
        } else if b.is_ascii_graphic() {
            text.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(text, "\\{b:03}");
        }
    }
}

/// Compares two names in text form: ASCII case-insensitive (RFC 4343),
/// a trailing dot ignored.
pub fn eq(a: &str, b: &str) -> bool {
    strip_root_dot(a).eq_ignore_ascii_case(strip_root_dot(b))
}

/// True for the root name (`"."`), the SRV "no service" target.
pub fn is_root(name: &str) -> bool {
    name == "." || name.is_empty()
}

fn strip_root_dot(name: &str) -> &str {
    match name.strip_suffix('.') {
        Some(bare) if !bare.is_empty() => bare,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(name: &str) -> Result<Vec<u8>, DnsError> {
        let mut out = Vec::new();
        encode(name, &mut out).map(|()| out)
    }

    #[test]
    fn encodes_labels() {
        assert_eq!(enc("example.org").unwrap(), b"\x07example\x03org\x00");
        assert_eq!(enc("example.org.").unwrap(), b"\x07example\x03org\x00");
        assert_eq!(
            enc("_im-servers._tcp.a.b").unwrap(),
            b"\x0b_im-servers\x04_tcp\x01a\x01b\x00"
        );
    }

    #[test]
    fn validates_names() {
        let code = |n: &str| validate(n).map_err(|e| e.code());
        assert_eq!(code("a"), Ok(()));
        assert_eq!(code(&"a".repeat(63)), Ok(()));
        assert_eq!(code(&"a".repeat(64)), Err("invalid-name"));
        assert_eq!(code(""), Err("invalid-name"));
        assert_eq!(code("."), Err("invalid-name"));
        assert_eq!(code("a..b"), Err("invalid-name"));
        assert_eq!(code(".a"), Err("invalid-name"));
        assert_eq!(code("a b"), Err("invalid-name"));
        assert_eq!(code("a\\046b"), Err("invalid-name"));
        assert_eq!(code("bücher.example"), Err("invalid-name"));
        // 4 × 63 + 3 dots = 255 > 253; 253 exactly is fine (with a dot too).
        let long = [&"a".repeat(63)[..]; 4].join(".");
        assert_eq!(code(&long), Err("invalid-name"));
        let max = format!("{}.{}", [&"a".repeat(63)[..]; 3].join("."), "b".repeat(61));
        assert_eq!(max.len(), 253);
        assert_eq!(code(&max), Ok(()));
        assert_eq!(code(&format!("{max}.")), Ok(()));
        assert_eq!(enc(&max).unwrap().len(), 255);
    }

    #[test]
    fn reads_plain_and_compressed_names() {
        // 0: "example.org", 13: "im" + pointer to 0, 18: pointer to 13.
        let msg = b"\x07example\x03org\x00\x02im\xc0\x00\xc0\x0d";
        assert_eq!(read(msg, 0).unwrap(), ("example.org".into(), 13));
        assert_eq!(read(msg, 13).unwrap(), ("im.example.org".into(), 18));
        assert_eq!(read(msg, 18).unwrap(), ("im.example.org".into(), 20));
        assert_eq!(read(b"\x00", 0).unwrap(), (".".into(), 1));
    }

    #[test]
    fn escapes_odd_octets() {
        let msg = b"\x04a.b\\\x02\x00\x20\x00";
        assert_eq!(read(msg, 0).unwrap().0, "a\\.b\\\\.\\000\\032");
    }

    #[test]
    fn rejects_hostile_names() {
        let err = |msg: &[u8], start| read(msg, start).unwrap_err();
        // Pointer to itself, forward pointer, pointer past the end.
        assert!(matches!(err(b"\xc0\x00", 0), DnsError::Malformed { .. }));
        assert!(matches!(
            err(b"\x00\xc0\x01", 1),
            DnsError::Malformed { .. }
        ));
        assert!(matches!(
            err(b"\x01a\xc0\x02\x00", 0),
            DnsError::Malformed { .. }
        ));
        assert!(matches!(
            err(b"\x00\xc0\xff", 1),
            DnsError::Malformed { .. }
        ));
        let reason = |msg: &[u8], start| match read(msg, start) {
            Err(DnsError::Malformed { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(b"\x00\xc0\x01", 1),
            "compression pointer does not point backwards"
        );
        assert_eq!(
            reason(b"\x01a\xc0\x00", 0),
            "compression pointer does not point backwards"
        );
        // Two pointers pointing at each other: the second is a forward one.
        assert!(matches!(
            err(b"\xc0\x02\xc0\x00", 2),
            DnsError::Malformed { .. }
        ));
        // Cut short: label, pointer, missing terminator.
        assert!(matches!(err(b"\x05ab", 0), DnsError::Malformed { .. }));
        assert!(matches!(err(b"\x01a\xc0", 0), DnsError::Malformed { .. }));
        assert!(matches!(err(b"\x01a", 0), DnsError::Malformed { .. }));
        assert!(matches!(err(b"", 0), DnsError::Malformed { .. }));
        // Label types 0x40 and 0x80 (a "label of length 64").
        assert!(matches!(err(b"\x40", 0), DnsError::Malformed { .. }));
        assert!(matches!(err(b"\x80", 0), DnsError::Malformed { .. }));
        // 128 one-octet labels = 256 octets on the wire.
        let mut long = b"\x01a".repeat(128);
        long.push(0);
        assert!(matches!(err(&long, 0), DnsError::Malformed { .. }));
        long.drain(..2);
        assert_eq!(read(&long, 0).unwrap().1, 255);
    }

    #[test]
    fn bounds_pointer_chains() {
        // A root label, then a chain of pointers each pointing at the one
        // before: every jump goes backwards, but there are too many.
        let mut msg = vec![0u8];
        for i in 0..100u16 {
            let target = if i == 0 { 0 } else { 1 + 2 * (i - 1) };
            msg.extend_from_slice(&(0xC000 | target).to_be_bytes());
        }
        assert_eq!(read(&msg, 1 + 2 * 10).unwrap().0, ".");
        let last = msg.len() - 2;
        assert!(matches!(read(&msg, last), Err(DnsError::Malformed { .. })));
    }

    #[test]
    fn compares_case_insensitively() {
        assert!(eq("Example.ORG", "example.org."));
        assert!(eq(".", "."));
        assert!(!eq("example.org", "example.com"));
        assert!(is_root("."));
        assert!(!is_root("a"));
    }
}
