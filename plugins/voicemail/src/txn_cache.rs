//! UDP server transactions we have seen (RFC 3261 §17.2.2): a
//! retransmitted request is answered with the bytes already sent, or, when
//! its state is still waiting for the commit, absorbed until then.
//!
//! Bounded in size and age (64*T1 = 32 s, how long a non-INVITE client
//! keeps retransmitting). Correctness does not depend on the cache: a
//! retransmission it has forgotten is processed again, finds its state
//! unchanged (or still pending) and creates no event; the cache saves that
//! work and keeps the answer byte-identical.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use tocsin_sip::TransactionKey;

/// Timer J for UDP: 64*T1.
pub const TTL: Duration = Duration::from_secs(32);
/// At ~500 bytes per answer, at most a few MiB.
pub const CAPACITY: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Waiting for the commit of this emit token.
    Pending(u64),
    /// Answered with these bytes.
    Answered(Vec<u8>),
}

#[derive(Debug)]
struct Entry {
    seen: Seen,
    at: Instant,
}

#[derive(Debug)]
pub struct TxnCache {
    map: HashMap<TransactionKey, Entry>,
    /// Insertion order, for expiry and eviction.
    order: VecDeque<(TransactionKey, Instant)>,
    ttl: Duration,
    capacity: usize,
}

impl Default for TxnCache {
    fn default() -> Self {
        TxnCache::new(TTL, CAPACITY)
    }
}

impl TxnCache {
    pub fn new(ttl: Duration, capacity: usize) -> TxnCache {
        TxnCache {
            map: HashMap::new(),
            order: VecDeque::new(),
            ttl,
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, key: &TransactionKey, now: Instant) -> Option<&Seen> {
        self.map
            .get(key)
            .filter(|e| now.duration_since(e.at) < self.ttl)
            .map(|e| &e.seen)
    }

    /// Records a new transaction (or replaces what an expired one left).
    pub fn insert(&mut self, key: TransactionKey, seen: Seen, now: Instant) {
        self.expire(now);
        while self.map.len() >= self.capacity {
            let Some((k, at)) = self.order.pop_front() else {
                break;
            };
            self.remove_if_at(&k, at);
        }
        self.order.push_back((key.clone(), now));
        self.map.insert(key, Entry { seen, at: now });
    }

    /// The answer for a transaction that was pending (if still cached).
    pub fn answer(&mut self, key: &TransactionKey, bytes: Vec<u8>) {
        if let Some(e) = self.map.get_mut(key) {
            e.seen = Seen::Answered(bytes);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    fn expire(&mut self, now: Instant) {
        while let Some((_, at)) = self.order.front() {
            if now.duration_since(*at) < self.ttl {
                break;
            }
            let Some((k, at)) = self.order.pop_front() else {
                break;
            };
            self.remove_if_at(&k, at);
        }
    }

    /// Removes `k` only if it is the entry inserted at `at` (a key can be
    /// re-inserted after it expired; the older queue slot must not remove
    /// the newer entry).
    fn remove_if_at(&mut self, k: &TransactionKey, at: Instant) {
        if self.map.get(k).is_some_and(|e| e.at == at) {
            self.map.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> TransactionKey {
        TransactionKey::Legacy {
            call_id: format!("c{i}"),
            cseq: i,
            method: "NOTIFY".into(),
            from_tag: String::new(),
        }
    }

    #[test]
    fn pending_then_answered() {
        let mut c = TxnCache::default();
        let t = Instant::now();
        c.insert(key(1), Seen::Pending(7), t);
        assert_eq!(c.get(&key(1), t), Some(&Seen::Pending(7)));
        c.answer(&key(1), b"SIP/2.0 200 OK".to_vec());
        assert_eq!(
            c.get(&key(1), t + Duration::from_secs(31)),
            Some(&Seen::Answered(b"SIP/2.0 200 OK".to_vec()))
        );
        assert_eq!(c.get(&key(1), t + TTL), None, "expired");
        assert_eq!(c.get(&key(2), t), None);
    }

    #[test]
    fn bounded_by_capacity_and_age() {
        let mut c = TxnCache::new(Duration::from_secs(10), 3);
        let t = Instant::now();
        for i in 0..5 {
            c.insert(key(i), Seen::Pending(u64::from(i)), t);
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&key(0), t), None, "oldest evicted");
        assert!(c.get(&key(4), t).is_some());
        c.insert(key(9), Seen::Pending(9), t + Duration::from_secs(11));
        assert_eq!(c.len(), 1, "the aged ones went at the next insert");
    }

    #[test]
    fn reinserting_an_expired_key_survives_its_old_slot() {
        let mut c = TxnCache::new(Duration::from_secs(10), 100);
        let t = Instant::now();
        c.insert(key(1), Seen::Pending(1), t);
        let later = t + Duration::from_secs(10);
        c.insert(key(1), Seen::Pending(2), later);
        c.insert(key(2), Seen::Pending(3), later);
        assert_eq!(c.get(&key(1), later), Some(&Seen::Pending(2)));
    }
}
