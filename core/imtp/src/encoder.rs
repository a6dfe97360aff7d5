//! Canonical encoding. Everything writes into a caller-supplied [`Sink`]
//! (normally the connection's output `Vec<u8>`), so encoding a message
//! allocates nothing once the buffer has grown to its working size; a
//! [`Counter`] sink gives the exact encoded length for `reserve`.
//!
//! Canonical form: single space after the start-line id, `Name: value`
//! (no folding), `Content-Length` last and only when a payload is present,
//! CRLF everywhere.

use crate::error::EncodeError;
use crate::frame::{CommandFrame, Frame, ResponseFrame, Status};
use crate::header::{Header, Headers, names};
use crate::id::Id;
use crate::method::{Method, is_valid_method_name};
use crate::syntax::{decimal, is_valid_header_name, is_valid_header_value};

/// Where encoded octets go.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Counts octets instead of storing them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counter(pub usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// Runs `f` against `out`; if it fails, `out` is restored to its previous
/// length so a half-written message never reaches the wire.
pub(crate) fn atomically(
    out: &mut Vec<u8>,
    f: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let mark = out.len();
    let r = f(out);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

fn method_str(method: &Method) -> Result<&str, EncodeError> {
    let s = method.as_str();
    if is_valid_method_name(s) {
        Ok(s)
    } else {
        Err(EncodeError::Syntax(crate::error::SyntaxError::new(
            "method",
            "invalid characters",
        )))
    }
}

pub(crate) fn command_line<S: Sink>(
    s: &mut S,
    id: &Id,
    method: &Method,
) -> Result<(), EncodeError> {
    let m = method_str(method)?;
    s.put(b">");
    s.put(id.as_str().as_bytes());
    s.put(b" ");
    s.put(m.as_bytes());
    s.put(b"\r\n");
    Ok(())
}

pub(crate) fn response_line<S: Sink>(
    s: &mut S,
    id: &Id,
    status: Status,
    method: &Method,
) -> Result<(), EncodeError> {
    let m = method_str(method)?;
    s.put(b"<");
    s.put(id.as_str().as_bytes());
    s.put(b" ");
    s.put(status.as_str().as_bytes());
    s.put(b" (");
    s.put(m.as_bytes());
    s.put(b")\r\n");
    Ok(())
}

/// A header whose value the caller vouches for (typed, validated fields).
pub(crate) fn header_trusted<S: Sink>(s: &mut S, name: &str, value: &[u8]) {
    s.put(name.as_bytes());
    if value.is_empty() {
        s.put(b":\r\n");
    } else {
        s.put(b": ");
        s.put(value);
        s.put(b"\r\n");
    }
}

/// A header from free-form input: checked so it cannot inject lines.
pub(crate) fn header_checked<S: Sink>(
    s: &mut S,
    name: &str,
    value: &str,
) -> Result<(), EncodeError> {
    if !is_valid_header_name(name) {
        return Err(EncodeError::HeaderName(name.to_owned()));
    }
    if name == names::CONTENT_LENGTH || name == names::CONTENT_TRANSFER_ENCODING {
        return Err(EncodeError::ReservedHeader(name.to_owned()));
    }
    if !is_valid_header_value(value) {
        return Err(EncodeError::HeaderValue(name.to_owned()));
    }
    header_trusted(s, name, value.as_bytes());
    Ok(())
}

pub(crate) fn extra_headers<S: Sink>(s: &mut S, extra: &[Header]) -> Result<(), EncodeError> {
    for h in extra {
        header_checked(s, &h.name, &h.value)?;
    }
    Ok(())
}

/// `Content-Length` (if a payload is present), the blank line, the payload.
pub(crate) fn finish<S: Sink>(s: &mut S, payload: Option<&[u8]>) {
    if let Some(p) = payload {
        let mut digits = [0u8; 20];
        header_trusted(
            s,
            names::CONTENT_LENGTH,
            decimal(p.len() as u64, &mut digits),
        );
    }
    s.put(b"\r\n");
    if let Some(p) = payload {
        s.put(p);
    }
}

fn headers<S: Sink>(s: &mut S, h: &Headers) -> Result<(), EncodeError> {
    for h in h.iter() {
        header_checked(s, &h.name, &h.value)?;
    }
    Ok(())
}

pub(crate) fn encode_mech<S: Sink>(s: &mut S, mechs: &[crate::mech::MechName]) {
    s.put(b"=mech");
    for m in mechs {
        s.put(b" ");
        s.put(m.as_str().as_bytes());
    }
    s.put(b"\r\n");
}

impl CommandFrame {
    pub fn encode_to<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        command_line(s, &self.id, &self.method)?;
        headers(s, &self.headers)?;
        finish(s, self.payload.as_deref());
        Ok(())
    }
}

impl ResponseFrame {
    pub fn encode_to<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        response_line(s, &self.id, self.status, &self.method)?;
        headers(s, &self.headers)?;
        finish(s, self.payload.as_deref());
        Ok(())
    }
}

impl Frame {
    /// Appends the canonical encoding to `out`; on error `out` is unchanged.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        atomically(out, |out| self.encode_to(out))
    }

    pub fn encode_to<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        match self {
            Frame::Mech(m) => {
                encode_mech(s, m);
                Ok(())
            }
            Frame::Nop => {
                s.put(b"=nop\r\n");
                Ok(())
            }
            Frame::Command(c) => c.encode_to(s),
            Frame::Response(r) => r.encode_to(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_header_injection_and_leaves_buffer_untouched() {
        let mut h = Headers::new();
        h.push("Sender", "im:a@b\r\nInbox: im:evil@x");
        let f = Frame::Command(CommandFrame {
            id: Id::from_seq(1),
            method: Method::Send,
            headers: h,
            payload: None,
        });
        let mut out = b"keep".to_vec();
        assert!(matches!(
            f.encode(&mut out),
            Err(EncodeError::HeaderValue(_))
        ));
        assert_eq!(out, b"keep");
    }

    #[test]
    fn refuses_reserved_headers() {
        let mut h = Headers::new();
        h.push("Content-Length", "5");
        let f = CommandFrame {
            id: Id::from_seq(1),
            method: Method::Send,
            headers: h,
            payload: None,
        };
        let mut out = Vec::new();
        assert!(matches!(
            f.encode_to(&mut out),
            Err(EncodeError::ReservedHeader(_))
        ));
    }
}
