//! The host services the endpoint uses, behind a trait so that the
//! endpoint's decisions (answer now, absorb, answer after commit) can be
//! unit-tested without a daemon.

use tocsin_sdk::{EventOut, Handle, Host, HostError, TimerId};

pub trait Io {
    fn send_datagram(&mut self, sock: Handle, data: &[u8], peer: &str);
    fn send_stream(&mut self, conn: Handle, data: &[u8]);
    fn close(&mut self, conn: Handle);
    fn emit(&mut self, event: &EventOut, token: u64) -> Result<(), HostError>;
    fn kv_get(&mut self, key: &[u8]) -> Option<Vec<u8>>;
    fn kv_put(&mut self, key: &[u8], value: &[u8]);
    fn set_timer(&mut self, delay_ms: u64) -> Option<TimerId>;
    fn cancel_timer(&mut self, timer: TimerId);
}

/// The real thing.
pub struct HostIo(pub Host);

impl Io for HostIo {
    fn send_datagram(&mut self, sock: Handle, data: &[u8], peer: &str) {
        // UDP is lossy by nature: a full socket buffer is one more lost
        // datagram, and the peer retransmits.
        if let Err(e) = self.0.send_to(sock, data, peer) {
            log::debug!("send to {peer} failed: {e}");
        }
    }

    fn send_stream(&mut self, conn: Handle, data: &[u8]) {
        // A connection that cannot take a few hundred bytes of answer
        // (4 MiB queued) is not reading: close it rather than buffer more.
        if let Err(e) = self.0.send(conn, data) {
            log::debug!("send on connection {} failed: {e}", conn.0);
            if e == HostError::WouldBlock {
                let _ = self.0.close(conn);
            }
        }
    }

    fn close(&mut self, conn: Handle) {
        let _ = self.0.close(conn);
    }

    fn emit(&mut self, event: &EventOut, token: u64) -> Result<(), HostError> {
        self.0.emit(event, token)
    }

    fn kv_get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        match self.0.kv_get(key) {
            Ok(v) => v,
            Err(e) => {
                log::warn!("reading plugin state failed: {e}");
                None
            }
        }
    }

    fn kv_put(&mut self, key: &[u8], value: &[u8]) {
        // Without the stored record a restart re-emits the state under the
        // same event id, which ingest recognises as a duplicate.
        if let Err(e) = self.0.kv_put(key, value) {
            log::warn!("storing plugin state failed: {e}");
        }
    }

    fn set_timer(&mut self, delay_ms: u64) -> Option<TimerId> {
        match self.0.timer(delay_ms) {
            Ok(t) => Some(t),
            Err(e) => {
                log::error!("cannot set a timer: {e}");
                None
            }
        }
    }

    fn cancel_timer(&mut self, timer: TimerId) {
        let _ = self.0.cancel_timer(timer);
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Records everything; `emit_fails` makes emit refuse synchronously.
    #[derive(Default)]
    pub struct FakeIo {
        pub sent: Vec<(String, Vec<u8>)>,
        pub closed: Vec<Handle>,
        pub emitted: Vec<(u64, EventOut)>,
        pub kv: HashMap<Vec<u8>, Vec<u8>>,
        pub timers: Vec<(TimerId, u64)>,
        pub cancelled: Vec<TimerId>,
        pub emit_fails: bool,
        pub next_timer: u64,
    }

    impl FakeIo {
        /// Status codes of the answers sent so far, in order.
        pub fn statuses(&self) -> Vec<u16> {
            self.sent
                .iter()
                .filter_map(|(_, b)| std::str::from_utf8(b.get(8..11)?).ok()?.parse().ok())
                .collect()
        }

        pub fn take_sent(&mut self) -> Vec<(String, Vec<u8>)> {
            std::mem::take(&mut self.sent)
        }
    }

    impl Io for FakeIo {
        fn send_datagram(&mut self, _sock: Handle, data: &[u8], peer: &str) {
            self.sent.push((peer.to_owned(), data.to_vec()));
        }

        fn send_stream(&mut self, conn: Handle, data: &[u8]) {
            self.sent.push((format!("conn{}", conn.0), data.to_vec()));
        }

        fn close(&mut self, conn: Handle) {
            self.closed.push(conn);
        }

        fn emit(&mut self, event: &EventOut, token: u64) -> Result<(), HostError> {
            if self.emit_fails {
                return Err(HostError::Rejected);
            }
            self.emitted.push((token, event.clone()));
            Ok(())
        }

        fn kv_get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
            self.kv.get(key).cloned()
        }

        fn kv_put(&mut self, key: &[u8], value: &[u8]) {
            self.kv.insert(key.to_vec(), value.to_vec());
        }

        fn set_timer(&mut self, delay_ms: u64) -> Option<TimerId> {
            self.next_timer += 1;
            let t = TimerId(self.next_timer);
            self.timers.push((t, delay_ms));
            Some(t)
        }

        fn cancel_timer(&mut self, timer: TimerId) {
            self.cancelled.push(timer);
        }
    }
}
