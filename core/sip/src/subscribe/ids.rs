//! Fresh identifiers for outgoing requests, injected by the caller so that
//! tests are deterministic and production can use any randomness source.

use crate::TagSecret;

/// Source of Call-IDs, Via branches and From-tags. Each call must return a
/// value never returned before (RFC 3261 §8.1.1.4, §8.1.1.7, §19.3).
pub trait IdGenerator {
    fn call_id(&mut self) -> String;
    /// A branch; [`crate::MAGIC_COOKIE`] is prepended when missing.
    fn branch(&mut self) -> String;
    fn tag(&mut self) -> String;
}

/// Unique ids from a keyed hash of a counter: unguessable with a random
/// secret ([`TagSecret::random`]), reproducible with a fixed one.
#[derive(Debug, Clone)]
pub struct HashIds {
    secret: TagSecret,
    counter: u64,
    host: String,
}

impl HashIds {
    /// `host` is appended to Call-IDs (`<hex>@host`) to keep them globally
    /// unique across appliances.
    pub fn new(secret: TagSecret, host: &str) -> HashIds {
        HashIds {
            secret,
            counter: 0,
            host: host.chars().filter(|c| c.is_ascii_graphic()).collect(),
        }
    }

    fn next(&mut self, kind: &[u8]) -> String {
        self.counter += 1;
        let h = self.secret.hash(&[kind, &self.counter.to_le_bytes()]);
        format!("{h:016x}")
    }
}

impl IdGenerator for HashIds {
    fn call_id(&mut self) -> String {
        let id = self.next(b"call-id");
        if self.host.is_empty() {
            id
        } else {
            format!("{id}@{}", self.host)
        }
    }

    fn branch(&mut self) -> String {
        format!("{}{}", crate::headers::MAGIC_COOKIE, self.next(b"branch"))
    }

    fn tag(&mut self) -> String {
        self.next(b"tag")
    }
}
