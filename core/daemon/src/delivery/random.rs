//! Unguessable message ids (IMDN asks for a CSPRNG and ≥ 64 bits) and
//! jitter, both from the kernel's random source.

use std::fs::File;
use std::io::Read;

pub struct Random {
    urandom: Option<File>,
    fallback: u64,
}

impl Random {
    pub fn new() -> Random {
        Random {
            urandom: File::open("/dev/urandom").ok(),
            fallback: u64::from(std::process::id())
                ^ (tocsin_store::now_ms() as u64).rotate_left(17),
        }
    }

    fn fill(&mut self, buf: &mut [u8]) {
        if let Some(f) = self.urandom.as_mut()
            && f.read_exact(buf).is_ok()
        {
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

    /// 128 random bits as 32 hex digits.
    pub fn message_id(&mut self) -> String {
        let mut b = [0u8; 16];
        self.fill(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
    }
}
