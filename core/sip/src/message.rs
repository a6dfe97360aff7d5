//! The parsed message: a borrowing view over the received bytes.

use std::borrow::Cow;

use crate::{HeaderKind, Method, StatusCode};

/// First line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine<'a> {
    Request { method: Method<'a>, uri: &'a str },
    Response { status: StatusCode, reason: &'a str },
}

/// One header field. `value` borrows from the input unless the field was
/// folded over several lines (then the unfolded text is owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name as received (may be a compact form such as `v`).
    pub name: &'a str,
    /// The header this name denotes, when the crate knows it.
    pub kind: Option<HeaderKind>,
    /// Value with surrounding whitespace removed and folds replaced by one SP.
    pub value: Cow<'a, str>,
}

/// A parsed SIP request or response. Header order is preserved; repeated
/// headers (e.g. several Via lines) stay in received order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage<'a> {
    pub(crate) start: StartLine<'a>,
    pub(crate) headers: Vec<Header<'a>>,
    pub(crate) body: &'a [u8],
}

impl<'a> SipMessage<'a> {
    pub fn start_line(&self) -> &StartLine<'a> {
        &self.start
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method of a request; `None` for a response.
    pub fn method(&self) -> Option<Method<'a>> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    pub fn request_uri(&self) -> Option<&'a str> {
        match self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The status of a response; `None` for a request.
    pub fn status(&self) -> Option<StatusCode> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    pub fn headers(&self) -> &[Header<'a>] {
        &self.headers
    }

    /// The body: exactly Content-Length bytes, or the rest of the datagram
    /// when Content-Length was absent.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// First value of the header called `name` (long or compact form, any
    /// letter case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).next()
    }

    /// All values of the header called `name`, in received order.
    pub fn headers_named<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s str> {
        let kind = HeaderKind::from_name(name);
        // Owned copy only for unknown names, so the iterator does not borrow
        // the caller's string.
        let other = kind.is_none().then(|| name.to_owned());
        self.headers
            .iter()
            .filter(move |h| match kind {
                Some(k) => h.kind == Some(k),
                None => other
                    .as_deref()
                    .is_some_and(|n| h.name.eq_ignore_ascii_case(n)),
            })
            .map(|h| h.value.as_ref())
    }

    /// All values of a known header, in received order.
    pub fn get_all(&self, kind: HeaderKind) -> impl Iterator<Item = &str> + '_ {
        self.headers
            .iter()
            .filter(move |h| h.kind == Some(kind))
            .map(|h| h.value.as_ref())
    }

    /// First value of a known header.
    pub fn get(&self, kind: HeaderKind) -> Option<&str> {
        self.get_all(kind).next()
    }
}
