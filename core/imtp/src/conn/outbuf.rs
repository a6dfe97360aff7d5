//! The output buffer the host drains. Its size is visible so the host can
//! apply backpressure.

#[derive(Debug, Default)]
pub(crate) struct OutBuf {
    buf: Vec<u8>,
    /// Octets before `head` were already taken by the host.
    head: usize,
}

impl OutBuf {
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.head..]
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.head
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.head = (self.head + n).min(self.buf.len());
        if self.head == self.buf.len() {
            self.buf.clear();
            self.head = 0;
        }
    }

    /// The vector to append to. Reclaims the drained prefix when it is the
    /// larger part, so memmoves stay amortised O(1) per octet.
    pub(crate) fn vec(&mut self) -> &mut Vec<u8> {
        if self.head > 0 && self.head >= self.buf.len() / 2 {
            self.buf.drain(..self.head);
            self.head = 0;
        }
        &mut self.buf
    }
}
