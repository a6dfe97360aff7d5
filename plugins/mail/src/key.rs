//! Idempotency keys that fit the event model's `source_event_id` limit.
//!
//! `MailEvent::idempotency_key` can outgrow the 256 bytes ingest allows: a Cyrus key
//! embeds the IMAP URL (up to 1 KiB) and a Dovecot key the store user (up to 256 bytes).
//! Cutting such a key would merge different notifications that share a prefix, so a long
//! key keeps a readable prefix and gains a 128-bit digest of the whole key instead.

use tocsin_abi::event::MAX_SOURCE_EVENT_ID;

/// Bytes of the original key kept in front of the digest.
const PREFIX_BYTES: usize = 200;

/// The key itself when it fits, else `<prefix>~<32 hex digits of FNV-1a 128>`.
pub fn bounded_key(key: String) -> String {
    if key.len() <= MAX_SOURCE_EVENT_ID {
        return key;
    }
    let mut end = PREFIX_BYTES;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}~{:032x}", &key[..end], fnv1a128(key.as_bytes()))
}

/// FNV-1a, 128 bit (offset basis and prime from the FNV specification). Not a
/// cryptographic hash: the sources are authenticated and the prefix is kept, so the only
/// risk is an accidental collision, negligible at 128 bits.
fn fnv1a128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for &b in bytes {
        h ^= u128::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv128_reference_values() {
        // Published FNV-1a 128 test vectors.
        assert_eq!(fnv1a128(b""), 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d);
        assert_eq!(fnv1a128(b"a"), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
    }

    #[test]
    fn short_keys_are_unchanged() {
        let k = "mail:v1:dovecot-ox:MessageNew:alice:1:2".to_string();
        assert_eq!(bounded_key(k.clone()), k);
        let exact = "k".repeat(MAX_SOURCE_EVENT_ID);
        assert_eq!(bounded_key(exact.clone()), exact);
    }

    #[test]
    fn long_keys_fit_and_stay_distinct() {
        let a = format!("{}a", "ü".repeat(300));
        let b = format!("{}b", "ü".repeat(300));
        let (ka, kb) = (bounded_key(a.clone()), bounded_key(b));
        assert!(ka.len() <= MAX_SOURCE_EVENT_ID, "{}", ka.len());
        assert_ne!(ka, kb, "same prefix, different keys");
        assert_eq!(ka, bounded_key(a), "deterministic");
        assert!(ka.starts_with("üü"));
    }
}
