//! The passwords of `users_file`: in clear, or a SHA-crypt hash (`$6$…` as
//! written by `openssl passwd -6` or `mkpasswd -m sha-512`, `$5$…` for
//! SHA-256), so the file need not hold the passwords themselves.
//!
//! Checking a hash costs thousands of SHA rounds on the daemon's loop
//! thread (a few milliseconds at the default 5 000). A successful check is
//! remembered as a SHA-256 of the hash string and the password, so a client
//! that reconnects (or a reconnect storm after a restart of the network) pays
//! it once; a wrong password pays it every time, which is the point.

use sha_crypt::{PasswordVerifier, ShaCrypt};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// Hashes with more rounds than this are refused at load: one sign-in must
/// not stall the daemon for seconds.
pub const MAX_ROUNDS: u32 = 200_000;

/// Successful checks remembered; the set is cleared when it is full.
const REMEMBERED: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    Clear(String),
    Crypt(String),
}

impl Secret {
    /// A `users_file` value: `$5$…` / `$6$…` is a hash, anything else not
    /// starting with `$` is the password itself.
    pub fn parse(value: &str) -> Result<Secret, String> {
        if !value.starts_with('$') {
            return Ok(Secret::Clear(value.to_string()));
        }
        let scheme = value.split('$').nth(1).unwrap_or_default();
        if scheme != "5" && scheme != "6" {
            return Err(format!(
                "unsupported password hash scheme ${scheme}$: use $6$ (openssl passwd -6) or $5$; \
                 a password in clear must not start with $"
            ));
        }
        let rounds = rounds_of(value)?;
        if rounds > MAX_ROUNDS {
            return Err(format!(
                "hash with rounds={rounds}: at most {MAX_ROUNDS} (each sign-in runs them on the daemon's loop)"
            ));
        }
        // Checked by shape, not by hashing: a file of many users must not
        // cost a hash each when the plugin starts.
        well_formed(value, scheme).map_err(|why| format!("malformed password hash: {why}"))?;
        Ok(Secret::Crypt(value.to_string()))
    }
}

/// `$5$` / `$6$`, an optional `rounds=N$`, a salt of at most 16 characters,
/// and the digest in the crypt alphabet (43 or 86 characters).
fn well_formed(value: &str, scheme: &str) -> Result<(), &'static str> {
    let mut fields: Vec<&str> = value.split('$').skip(2).collect();
    if fields.first().is_some_and(|f| f.starts_with("rounds=")) {
        fields.remove(0);
    }
    let [salt, digest] = fields.as_slice() else {
        return Err("expected $id$[rounds=N$]salt$digest");
    };
    if salt.len() > 16 {
        return Err("salt longer than 16 characters");
    }
    let want = if scheme == "6" { 86 } else { 43 };
    if digest.len() != want {
        return Err("digest of the wrong length");
    }
    let crypt64 = |c: u8| c == b'.' || c == b'/' || c.is_ascii_alphanumeric();
    if !digest.bytes().all(crypt64) {
        return Err("digest outside the crypt alphabet");
    }
    Ok(())
}

fn rounds_of(hash: &str) -> Result<u32, String> {
    match hash
        .split('$')
        .nth(2)
        .and_then(|f| f.strip_prefix("rounds="))
    {
        None => Ok(5_000),
        Some(n) => n
            .parse()
            .map_err(|_| format!("malformed rounds= field {n:?}")),
    }
}

/// Compares without an early exit, so the time taken does not reveal how
/// much of a password matched.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

#[derive(Debug, Default)]
pub struct Checker {
    good: HashSet<[u8; 32]>,
}

impl Checker {
    pub fn matches(&mut self, secret: &Secret, password: &str) -> bool {
        match secret {
            Secret::Clear(p) => same_secret(p, password),
            Secret::Crypt(hash) => {
                let mut h = Sha256::new();
                h.update(hash.as_bytes());
                h.update([0u8]);
                h.update(password.as_bytes());
                let key: [u8; 32] = h.finalize().into();
                if self.good.contains(&key) {
                    return true;
                }
                let ok = ShaCrypt::default()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok();
                if ok {
                    if self.good.len() >= REMEMBERED {
                        self.good.clear();
                    }
                    self.good.insert(key);
                }
                ok
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // From the SHA-crypt specification's test vectors.
    const SHA512: &str = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
    const SHA256: &str = "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5";
    const SHA512_ROUNDS: &str = "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.";

    #[test]
    fn hashes_check_and_are_remembered() {
        let mut c = Checker::default();
        for h in [SHA512, SHA256, SHA512_ROUNDS] {
            let s = Secret::parse(h).unwrap();
            assert!(matches!(s, Secret::Crypt(_)));
            assert!(c.matches(&s, "Hello world!"), "{h}");
            assert!(c.matches(&s, "Hello world!"), "{h} (remembered)");
            assert!(!c.matches(&s, "Hello world"), "{h}");
            assert!(!c.matches(&s, ""), "{h}");
        }
    }

    #[test]
    fn clear_passwords_compare_exactly() {
        let mut c = Checker::default();
        let s = Secret::parse("pw").unwrap();
        assert_eq!(s, Secret::Clear("pw".into()));
        assert!(c.matches(&s, "pw"));
        for wrong in ["", "p", "pw ", "PW", "pwx"] {
            assert!(!c.matches(&s, wrong), "{wrong:?}");
        }
    }

    #[test]
    fn unusable_values_are_refused_with_a_reason() {
        for (value, why) in [
            ("$1$salt$abc", "unsupported"),
            ("$y$j9T$abc$def", "unsupported"),
            (
                "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                "unsupported",
            ),
            ("$6$salt", "malformed"),
            ("$6$salt$not*base64", "malformed"),
            (
                "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl",
                "malformed",
            ),
            (
                "$5$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
                "malformed",
            ),
            ("$6$rounds=x$salt$abc", "rounds"),
            ("$6$rounds=999999999$salt$abc", "at most"),
        ] {
            let e = Secret::parse(value).unwrap_err();
            assert!(e.contains(why), "{value}: {e}");
        }
    }
}
