//! The byte-moving surface every sans-IO endpoint shares, so one transport
//! (plain TCP or TLS, see [`crate::transport`]) can drive a shim connection,
//! a server session or a client session.

use tocsin_shim::Connection;

/// Something that consumes received bytes and produces bytes to send.
pub trait Endpoint {
    /// Free receive space (empty: stop reading for now).
    fn recv_buf(&mut self) -> &mut [u8];
    /// Commit `n` bytes written into [`Endpoint::recv_buf`].
    fn recv_commit(&mut self, n: usize);
    /// The peer closed its sending side.
    fn recv_eof(&mut self);
    /// Bytes waiting to be written.
    fn pending_output(&self) -> &[u8];
    /// `n` bytes of [`Endpoint::pending_output`] were written.
    fn consume_output(&mut self, n: usize);
}

impl Endpoint for Connection {
    fn recv_buf(&mut self) -> &mut [u8] {
        Connection::recv_buf(self)
    }
    fn recv_commit(&mut self, n: usize) {
        Connection::recv_commit(self, n);
    }
    fn recv_eof(&mut self) {
        Connection::recv_eof(self);
    }
    fn pending_output(&self) -> &[u8] {
        Connection::pending_output(self)
    }
    fn consume_output(&mut self, n: usize) {
        Connection::consume_output(self, n);
    }
}
