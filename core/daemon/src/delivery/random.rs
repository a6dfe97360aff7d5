//! Unguessable message ids (IMDN asks for a CSPRNG and ≥ 64 bits) and
//! jitter, both from the kernel's random source.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Read;

pub struct Random {
    urandom: Option<File>,
    fallback: u64,
    /// Read from the kernel 4 KiB at a time, not one syscall per id.
    pool: Vec<u8>,
    last_ms: u64,
}

const POOL: usize = 4096;

impl Random {
    pub fn new() -> Random {
        Random {
            urandom: File::open("/dev/urandom").ok(),
            fallback: u64::from(std::process::id())
                ^ (tocsin_store::now_ms() as u64).rotate_left(17),
            pool: Vec::new(),
            last_ms: 0,
        }
    }

    fn fill(&mut self, buf: &mut [u8]) {
        if self.pool.len() < buf.len() {
            let mut fresh = vec![0u8; POOL];
            if let Some(f) = self.urandom.as_mut()
                && f.read_exact(&mut fresh).is_ok()
            {
                self.pool = fresh;
            }
        }
        if self.pool.len() >= buf.len() {
            let rest = self.pool.len() - buf.len();
            buf.copy_from_slice(&self.pool[rest..]);
            // Used bytes are dropped, never handed out twice.
            self.pool.truncate(rest);
            return;
        }
        // xorshift: only if /dev/urandom is unreadable, which a service
        // sandbox with PrivateDevices still allows; never for security.
        for b in buf {
            self.fallback ^= self.fallback << 13;
            self.fallback ^= self.fallback >> 7;
            self.fallback ^= self.fallback << 17;
            *b = self.fallback as u8;
        }
    }

    /// 32 hex digits: the time in milliseconds (12 digits), then 80
    /// random bits. Still unguessable (IMDN asks for ≥ 64 random bits),
    /// but ordered by creation: `deliveries.message_id` is a UNIQUE index,
    /// and fully random ids put every new delivery on a random leaf of it,
    /// so each commit wrote (and, past the page cache, first read) a page
    /// per delivery. Time-ordered ids all land on its last few pages.
    pub fn message_id(&mut self) -> String {
        let mut b = [0u8; 10];
        self.fill(&mut b);
        // Monotonic even if the wall clock steps back.
        let now = ((tocsin_store::now_ms().max(0) as u64) & 0xffff_ffff_ffff).max(self.last_ms);
        self.last_ms = now;
        let mut id = String::with_capacity(32);
        let _ = write!(id, "{now:012x}");
        for x in b {
            let _ = write!(id, "{x:02x}");
        }
        id
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::Random;
    use std::collections::HashSet;

    #[test]
    fn message_ids_are_unique_hex_and_ordered_by_time() {
        let mut r = Random::new();
        let ids: Vec<String> = (0..20_000).map(|_| r.message_id()).collect();
        assert!(ids.iter().all(|id| {
            id.len() == 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }));
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        // The time prefix never goes backwards within a process...
        assert!(ids.windows(2).all(|w| w[0][..12] <= w[1][..12]));
        // ...and the random part differs even within one millisecond.
        let tails: HashSet<_> = ids.iter().map(|id| &id[12..]).collect();
        assert_eq!(tails.len(), ids.len());
    }
}
