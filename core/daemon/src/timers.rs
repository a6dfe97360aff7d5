//! A deadline heap: O(log n) insert and expiry, cancellation by id (lazy:
//! cancelled entries are skipped when they reach the top).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u64);

#[derive(Debug)]
pub struct Timers<K> {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    live: HashMap<u64, K>,
    next_id: u64,
}

impl<K> Default for Timers<K> {
    fn default() -> Self {
        Timers {
            heap: BinaryHeap::new(),
            live: HashMap::new(),
            next_id: 1,
        }
    }
}

impl<K> Timers<K> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn schedule(&mut self, at: Instant, kind: K) -> TimerId {
        let id = self.next_id;
        self.next_id += 1;
        self.heap.push(Reverse((at, id)));
        self.live.insert(id, kind);
        TimerId(id)
    }

    pub fn after(&mut self, now: Instant, d: Duration, kind: K) -> TimerId {
        self.schedule(now + d, kind)
    }

    pub fn cancel(&mut self, id: TimerId) -> Option<K> {
        self.live.remove(&id.0)
    }

    #[allow(dead_code)] // used by the delivery scheduler
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Time until the earliest live deadline (zero if overdue).
    pub fn next_timeout(&mut self, now: Instant) -> Option<Duration> {
        while let Some(Reverse((at, id))) = self.heap.peek().copied() {
            if self.live.contains_key(&id) {
                return Some(at.saturating_duration_since(now));
            }
            self.heap.pop();
        }
        None
    }

    /// Pops every timer due at `now`, earliest first.
    pub fn expired(&mut self, now: Instant) -> Vec<(TimerId, K)> {
        let mut out = Vec::new();
        while let Some(Reverse((at, id))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            if let Some(k) = self.live.remove(&id) {
                out.push((TimerId(id), k));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_order_and_skips_cancelled() {
        let t0 = Instant::now();
        let mut t = Timers::new();
        t.after(t0, Duration::from_millis(30), "c");
        let b = t.after(t0, Duration::from_millis(20), "b");
        t.after(t0, Duration::from_millis(10), "a");
        assert_eq!(t.cancel(b), Some("b"));
        assert_eq!(t.next_timeout(t0), Some(Duration::from_millis(10)));
        assert!(t.expired(t0).is_empty());
        let fired: Vec<_> = t
            .expired(t0 + Duration::from_millis(35))
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        assert_eq!(fired, vec!["a", "c"]);
        assert_eq!(t.next_timeout(t0), None);
        assert_eq!(t.len(), 0);
    }
}
