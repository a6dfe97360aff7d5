//! The last known mailbox state per account, which decides whether a
//! NOTIFY is news.
//!
//! Each account has a `Record`: the `state_digest` of its latest state, a
//! change counter `seq` (incremented on every change) and, while that state
//! waits for its commit, the emit token. Records are persisted in the
//! plugin's key/value state (`account:<account>` → `v1 <digest> <seq>`) in
//! the same transaction as the event that set them, so after a restart an
//! unchanged state is still recognised.
//!
//! When a commit fails the state is unknown (`digest: None`, stored as
//! `-`): the sender was answered 500 and will retry, and whatever it sends
//! next must be stored, not taken for an unchanged state.
//!
//! The memory copy is a bounded cache over the key/value state: committed
//! records may be dropped and are read back on the next NOTIFY.

use std::collections::HashMap;

use crate::io::Io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// `None`: unknown (the last commit failed); every state is news.
    pub digest: Option<u64>,
    pub seq: u64,
    /// Emit token of the commit this state still waits for.
    pub pending: Option<u64>,
}

/// Accounts kept in memory; beyond this, committed ones are dropped.
pub const MAX_CACHED: usize = 10_000;

#[derive(Debug, Default)]
pub struct Accounts {
    cache: HashMap<String, Record>,
}

pub fn kv_key(account: &str) -> Vec<u8> {
    format!("account:{account}").into_bytes()
}

fn encode(r: &Record) -> Vec<u8> {
    match r.digest {
        Some(d) => format!("v1 {d:016x} {}", r.seq),
        None => format!("v1 - {}", r.seq),
    }
    .into_bytes()
}

fn decode(v: &[u8]) -> Option<Record> {
    let text = std::str::from_utf8(v).ok()?;
    let mut parts = text.split(' ');
    if parts.next()? != "v1" {
        return None;
    }
    let digest = match parts.next()? {
        "-" => None,
        hex => Some(u64::from_str_radix(hex, 16).ok()?),
    };
    let seq = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some(Record {
        digest,
        seq,
        pending: None,
    })
}

impl Accounts {
    /// The latest record: pending or committed, from memory or the
    /// key/value state.
    pub fn get(&mut self, io: &mut dyn Io, account: &str) -> Option<Record> {
        if let Some(r) = self.cache.get(account) {
            return Some(*r);
        }
        let raw = io.kv_get(&kv_key(account))?;
        match decode(&raw) {
            Some(r) => {
                self.insert(account, r);
                Some(r)
            }
            None => {
                log::warn!("ignoring unreadable stored state for {account}");
                None
            }
        }
    }

    /// Records a new state (to be committed with the event) and persists it.
    pub fn set(&mut self, io: &mut dyn Io, account: &str, r: Record) {
        io.kv_put(&kv_key(account), &encode(&r));
        self.insert(account, r);
    }

    /// The commit of `token` failed: if it carried the latest state, that
    /// state is now unknown (the counter keeps advancing, so the retry gets
    /// a fresh event id).
    pub fn failed(&mut self, io: &mut dyn Io, account: &str, token: u64) {
        if let Some(r) = self.cache.get(account).copied()
            && r.pending == Some(token)
        {
            self.set(
                io,
                account,
                Record {
                    digest: None,
                    seq: r.seq,
                    pending: None,
                },
            );
        }
    }

    /// The state committed: forget the token (if it is still the latest).
    pub fn committed(&mut self, account: &str, token: u64) {
        if let Some(r) = self.cache.get_mut(account)
            && r.pending == Some(token)
        {
            r.pending = None;
        }
    }

    /// Whether the latest state of `account` is the one waiting on `token`.
    #[cfg(test)]
    pub fn is_latest(&self, account: &str, token: u64) -> bool {
        self.cache
            .get(account)
            .is_some_and(|r| r.pending == Some(token))
    }

    fn insert(&mut self, account: &str, r: Record) {
        if self.cache.len() >= MAX_CACHED && !self.cache.contains_key(account) {
            // Pending records must stay (their commit updates them);
            // committed ones can be read back from the key/value state.
            let victim = self
                .cache
                .iter()
                .find(|(_, r)| r.pending.is_none())
                .map(|(k, _)| k.clone());
            if let Some(v) = victim {
                self.cache.remove(&v);
            }
        }
        self.cache.insert(account.to_owned(), r);
    }

    #[cfg(test)]
    pub fn cached(&self) -> usize {
        self.cache.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::tests::FakeIo;

    #[test]
    fn records_round_trip_through_kv() {
        let mut io = FakeIo::default();
        let mut a = Accounts::default();
        assert_eq!(a.get(&mut io, "sip:a@b"), None);
        let r = Record {
            digest: Some(0xdead_beef),
            seq: 7,
            pending: Some(3),
        };
        a.set(&mut io, "sip:a@b", r);
        assert_eq!(
            io.kv.get(b"account:sip:a@b".as_slice()).map(Vec::as_slice),
            Some(b"v1 00000000deadbeef 7".as_slice())
        );
        assert!(a.is_latest("sip:a@b", 3));
        a.committed("sip:a@b", 3);
        assert!(!a.is_latest("sip:a@b", 3));
        // A fresh cache (a restart) reads it back, not pending.
        let mut b = Accounts::default();
        assert_eq!(
            b.get(&mut io, "sip:a@b"),
            Some(Record { pending: None, ..r })
        );
    }

    #[test]
    fn a_failed_latest_state_becomes_unknown() {
        let mut io = FakeIo::default();
        let mut a = Accounts::default();
        let pending = |digest, seq, token| Record {
            digest: Some(digest),
            seq,
            pending: Some(token),
        };
        a.set(&mut io, "x", pending(1, 1, 8));
        a.set(&mut io, "x", pending(2, 2, 9));
        // An older token failing changes nothing: a newer state is latest.
        a.failed(&mut io, "x", 8);
        assert_eq!(a.get(&mut io, "x"), Some(pending(2, 2, 9)));
        a.failed(&mut io, "x", 9);
        let unknown = Record {
            digest: None,
            seq: 2,
            pending: None,
        };
        assert_eq!(a.get(&mut io, "x"), Some(unknown));
        assert_eq!(io.kv[&kv_key("x")], b"v1 - 2");
        assert_eq!(Accounts::default().get(&mut io, "x"), Some(unknown));
    }

    #[test]
    fn garbage_in_kv_is_ignored() {
        let mut io = FakeIo::default();
        for v in [
            &b"v2 00 1"[..],
            b"v1 zz 1",
            b"v1 01 x",
            b"v1 01 1 extra",
            b"\xff",
        ] {
            io.kv.insert(kv_key("k"), v.to_vec());
            assert_eq!(Accounts::default().get(&mut io, "k"), None, "{v:?}");
        }
    }

    #[test]
    fn cache_is_bounded_but_keeps_pending() {
        let mut io = FakeIo::default();
        let mut a = Accounts::default();
        a.set(
            &mut io,
            "pending",
            Record {
                digest: Some(1),
                seq: 1,
                pending: Some(1),
            },
        );
        for i in 0..MAX_CACHED + 50 {
            a.set(
                &mut io,
                &format!("a{i}"),
                Record {
                    digest: Some(1),
                    seq: 1,
                    pending: None,
                },
            );
        }
        assert!(a.cached() <= MAX_CACHED);
        assert!(a.is_latest("pending", 1));
        // Dropped entries come back from the key/value state.
        assert!(a.get(&mut io, "a0").is_some());
    }
}
