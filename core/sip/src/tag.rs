//! Local To-tags for responses to requests that arrived without one.
//!
//! A retransmitted request must get the same To-tag as the original
//! (RFC 3261 §8.2.6.2 / §17.2.1), including after the transaction state was
//! dropped, so the tag is derived rather than random: a keyed SipHash-2-4 of
//! Call-ID, CSeq, top Via branch and From-tag under a per-instance secret.
//! The secret keeps tags unguessable (RFC 3261 §19.3 wants ≥ 32 random bits).

use crate::siphash::SipHasher24;

/// 128-bit key for tag derivation. Give both nodes of a pool the same
/// secret if a standby should answer retransmissions with the same tag.
#[derive(Clone, PartialEq, Eq)]
pub struct TagSecret([u8; 16]);

impl std::fmt::Debug for TagSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TagSecret(..)")
    }
}

impl TagSecret {
    pub fn new(key: [u8; 16]) -> TagSecret {
        TagSecret(key)
    }

    /// A secret from the standard library's per-process random hash keys
    /// (seeded from the OS), so the crate needs no RNG dependency.
    pub fn random() -> TagSecret {
        use std::hash::{BuildHasher, Hasher};
        let state = std::collections::hash_map::RandomState::new();
        let mut key = [0u8; 16];
        for (i, chunk) in key.chunks_mut(8).enumerate() {
            let mut h = state.build_hasher();
            h.write_usize(i);
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        TagSecret(key)
    }

    #[cfg(test)]
    pub(crate) fn key(&self) -> &[u8; 16] {
        &self.0
    }

    /// Keyed 64-bit hash of length-prefixed fields.
    pub(crate) fn hash(&self, fields: &[&[u8]]) -> u64 {
        let mut h = SipHasher24::new(&self.0);
        for f in fields {
            h.write_field(f);
        }
        h.finish()
    }

    /// The To-tag for a request identified by these fields: 16 lowercase
    /// hex digits (64 bits).
    pub fn derive_tag(&self, call_id: &str, cseq: &str, branch: &str, from_tag: &str) -> String {
        format!(
            "{:016x}",
            self.hash(&[
                call_id.as_bytes(),
                cseq.as_bytes(),
                branch.as_bytes(),
                from_tag.as_bytes(),
            ])
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_stable_and_keyed() {
        let s = TagSecret::new([7; 16]);
        let a = s.derive_tag("c1", "1 NOTIFY", "z9hG4bK1", "f");
        assert_eq!(a, s.derive_tag("c1", "1 NOTIFY", "z9hG4bK1", "f"));
        assert_eq!(a.len(), 16);
        assert_ne!(a, s.derive_tag("c1", "2 NOTIFY", "z9hG4bK1", "f"));
        assert_ne!(
            a,
            TagSecret::new([8; 16]).derive_tag("c1", "1 NOTIFY", "z9hG4bK1", "f")
        );
        assert_ne!(TagSecret::random().key(), TagSecret::random().key());
    }
}
