//! Strict RFC 4648 base64 decoder (standard alphabet), enough for Basic credentials.
//!
//! Hand-written to avoid a dependency for ~50 lines. Strict on purpose: an Authorization
//! value that decodes two different ways in two parsers is a confusion vector, so only the
//! canonical encoding is accepted (padding optional, trailing bits must be zero).

use thiserror::Error;

/// Why a base64 string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Base64Error {
    /// A byte outside `A-Z a-z 0-9 + /` (and `=` padding at the end).
    #[error("invalid base64 byte 0x{byte:02x} at offset {offset}")]
    InvalidByte {
        /// The offending byte.
        byte: u8,
        /// Its offset in the input.
        offset: usize,
    },
    /// Length impossible for base64 (one dangling symbol) or wrong amount of padding.
    #[error("invalid base64 length or padding")]
    InvalidLength,
    /// The last symbol carries non-zero bits that no encoder produces.
    #[error("non-canonical base64 trailing bits")]
    NonCanonical,
}

fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decode standard base64. Padding may be present (then it must be complete) or absent.
pub fn decode(input: &[u8]) -> Result<Vec<u8>, Base64Error> {
    let unpadded_len = input.len() - input.iter().rev().take_while(|&&b| b == b'=').count();
    let data = &input[..unpadded_len];
    // Report a stray byte before a length problem: it is the more useful diagnosis.
    if let Some(offset) = data.iter().position(|&b| sextet(b).is_none()) {
        return Err(Base64Error::InvalidByte {
            byte: data[offset],
            offset,
        });
    }
    let pad = input.len() - unpadded_len;
    if pad > 2 || (pad > 0 && input.len() % 4 != 0) || data.len() % 4 == 1 {
        return Err(Base64Error::InvalidLength);
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &byte in data {
        let Some(v) = sextet(byte) else {
            continue; // unreachable: validated above
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Truncation to the low 8 bits is the point: take the next full byte.
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return Err(Base64Error::NonCanonical);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases: [(&str, &str); 7] = [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ];
        for (enc, dec) in cases {
            assert_eq!(decode(enc.as_bytes()).unwrap(), dec.as_bytes(), "{enc}");
        }
    }

    #[test]
    fn unpadded_is_accepted() {
        assert_eq!(decode(b"Zg").unwrap(), b"f");
        assert_eq!(decode(b"Zm8").unwrap(), b"fo");
    }

    #[test]
    fn all_byte_values_round_trip_through_known_encoding() {
        // "AAECAwQF" is 0..=5; "+/8=" decodes to fb ff.
        assert_eq!(decode(b"AAECAwQF").unwrap(), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(decode(b"+/8=").unwrap(), vec![0xfb, 0xff]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            decode(b"Zm9v!"),
            Err(Base64Error::InvalidByte {
                byte: b'!',
                offset: 4
            })
        ));
        assert_eq!(decode(b"Z"), Err(Base64Error::InvalidLength));
        assert_eq!(decode(b"Zg="), Err(Base64Error::InvalidLength));
        assert_eq!(decode(b"Zg==="), Err(Base64Error::InvalidLength));
        assert_eq!(decode(b"===="), Err(Base64Error::InvalidLength));
        assert!(matches!(
            decode(b"Zg==Zg=="),
            Err(Base64Error::InvalidByte { .. })
        ));
        assert!(matches!(
            decode(b"Zm 9v"),
            Err(Base64Error::InvalidByte { .. })
        ));
        // URL-safe alphabet is not accepted.
        assert!(matches!(
            decode(b"-_8="),
            Err(Base64Error::InvalidByte { .. })
        ));
    }

    #[test]
    fn rejects_non_canonical_trailing_bits() {
        assert_eq!(decode(b"Zh=="), Err(Base64Error::NonCanonical));
        assert_eq!(decode(b"Zm9="), Err(Base64Error::NonCanonical));
    }
}
