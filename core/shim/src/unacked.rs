//! The sender's retention queue: every DATA chunk we sent, in TSN order, until
//! the peer ACKs it (the TCP mapping's "retrieval of undelivered messages").
//!
//! Payloads live back to back in one byte arena addressed by absolute offsets,
//! so keeping a chunk costs a copy but no allocation once the arena has grown
//! to the in-flight size, and releasing the acked prefix is O(released).

use std::collections::VecDeque;

/// Compact the arena once the released prefix is at least this large and
/// more than half of it.
const COMPACT_AT: usize = 64 * 1024;

/// A DATA chunk that was sent but never acknowledged, as handed back by
/// [`crate::Connection::into_unacked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnackedData {
    /// TSN it had on the dead connection (informational: TSNs restart at 0).
    pub tsn: u32,
    /// Stream identifier.
    pub stream: u16,
    /// Stream sequence number it had on the dead connection.
    pub ssn: u16,
    /// Payload protocol identifier.
    pub ppid: u32,
    /// U flag.
    pub unordered: bool,
    /// User data.
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tsn: u32,
    stream: u16,
    ssn: u16,
    ppid: u32,
    unordered: bool,
    /// Absolute arena offset of the payload.
    start: u64,
    len: u32,
}

/// Metadata of a retained chunk, from [`crate::Connection::unacked_iter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetainedMeta {
    /// TSN.
    pub tsn: u32,
    /// Stream identifier.
    pub stream: u16,
    /// Stream sequence number.
    pub ssn: u16,
    /// PPID.
    pub ppid: u32,
    /// U flag.
    pub unordered: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Unacked {
    entries: VecDeque<Entry>,
    arena: Vec<u8>,
    /// Absolute offset of `arena[0]`.
    base: u64,
    /// Live payload bytes (sum of entry lengths).
    bytes: usize,
}

impl Unacked {
    pub(crate) fn push(&mut self, meta: RetainedMeta, payload: &[u8]) {
        let start = self.base + self.arena.len() as u64;
        self.arena.extend_from_slice(payload);
        self.bytes += payload.len();
        self.entries.push_back(Entry {
            tsn: meta.tsn,
            stream: meta.stream,
            ssn: meta.ssn,
            ppid: meta.ppid,
            unordered: meta.unordered,
            start,
            len: payload.len() as u32,
        });
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn oldest_tsn(&self) -> Option<u32> {
        self.entries.front().map(|e| e.tsn)
    }

    pub(crate) fn newest_tsn(&self) -> Option<u32> {
        self.entries.back().map(|e| e.tsn)
    }

    /// Position of `tsn` in the queue, serial-arithmetic safe: TSNs in the
    /// queue are consecutive, so the offset from the oldest is the index.
    pub(crate) fn index_of(&self, tsn: u32) -> Option<usize> {
        let oldest = self.oldest_tsn()?;
        let idx = tsn.wrapping_sub(oldest) as usize;
        (idx < self.entries.len()).then_some(idx)
    }

    /// Drop the first `count` entries (the ones an ACK covered).
    pub(crate) fn release(&mut self, count: usize) {
        for _ in 0..count {
            if let Some(e) = self.entries.pop_front() {
                self.bytes -= e.len as usize;
            }
        }
        match self.entries.front() {
            None => {
                self.base += self.arena.len() as u64;
                self.arena.clear();
            }
            Some(front) => {
                let dead = (front.start - self.base) as usize;
                if dead >= COMPACT_AT && dead * 2 > self.arena.len() {
                    self.arena.drain(..dead);
                    self.base += dead as u64;
                }
            }
        }
    }

    fn payload(&self, e: &Entry) -> &[u8] {
        let from = (e.start - self.base) as usize;
        self.arena.get(from..from + e.len as usize).unwrap_or(&[])
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (RetainedMeta, &[u8])> {
        self.entries.iter().map(|e| {
            (
                RetainedMeta {
                    tsn: e.tsn,
                    stream: e.stream,
                    ssn: e.ssn,
                    ppid: e.ppid,
                    unordered: e.unordered,
                },
                self.payload(e),
            )
        })
    }

    pub(crate) fn into_vec(self) -> Vec<UnackedData> {
        self.entries
            .iter()
            .map(|e| UnackedData {
                tsn: e.tsn,
                stream: e.stream,
                ssn: e.ssn,
                ppid: e.ppid,
                unordered: e.unordered,
                payload: self.payload(e).to_vec(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(tsn: u32) -> RetainedMeta {
        RetainedMeta {
            tsn,
            stream: 1,
            ssn: tsn as u16,
            ppid: 9,
            unordered: false,
        }
    }

    #[test]
    fn release_and_compaction_keep_payloads_intact() {
        let mut q = Unacked::default();
        let big = vec![7u8; 40_000];
        for tsn in 0..10u32 {
            let mut p = big.clone();
            p[0] = tsn as u8;
            q.push(meta(tsn), &p);
        }
        q.release(6); // 240 KB released: compaction kicks in
        assert_eq!(q.len(), 4);
        assert_eq!(q.oldest_tsn(), Some(6));
        let firsts: Vec<u8> = q.iter().map(|(_, p)| p[0]).collect();
        assert_eq!(firsts, [6, 7, 8, 9]);
        q.push(meta(10), b"tail");
        let v = q.into_vec();
        assert_eq!(v.len(), 5);
        assert_eq!(v[4].payload, b"tail");
        assert_eq!(v[0].payload.len(), 40_000);
    }

    #[test]
    fn index_of_is_wrap_safe() {
        let mut q = Unacked::default();
        for tsn in [u32::MAX - 1, u32::MAX, 0, 1] {
            q.push(meta(tsn), b"x");
        }
        assert_eq!(q.index_of(u32::MAX - 1), Some(0));
        assert_eq!(q.index_of(1), Some(3));
        assert_eq!(q.index_of(2), None);
        assert_eq!(q.index_of(u32::MAX - 2), None);
    }
}
