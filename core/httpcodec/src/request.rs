//! Parsed request types handed to the host.

use crate::basic_auth::{AuthError, Credentials, parse_basic_auth};

/// Request method. Methods are case-sensitive (RFC 9110 9.1): `put` is `Other("put")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// PATCH
    Patch,
    /// TRACE
    Trace,
    /// CONNECT
    Connect,
    /// Any other token.
    Other(String),
}

impl Method {
    pub(crate) fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            "TRACE" => Method::Trace,
            "CONNECT" => Method::Connect,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method token as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
            Method::Connect => "CONNECT",
            Method::Other(s) => s,
        }
    }

    /// Methods whose requests carry a body by definition: they need a Content-Length (411
    /// otherwise, since we accept no transfer coding).
    pub fn requires_length(&self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// HTTP version of a request. HTTP/1.2+ is treated as HTTP/1.1 (RFC 9112 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0: close after the response unless `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1: keep-alive unless `Connection: close`.
    Http11,
}

impl Version {
    /// The protocol string, `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// One header field. The name keeps the case it was sent in; lookups ignore case.
/// Values are valid UTF-8 with surrounding whitespace removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Field name as sent.
    pub name: String,
    /// Field value, leading and trailing SP/HTAB removed.
    pub value: String,
}

/// The header fields of a request in the order they arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub(crate) fn new(list: Vec<Header>) -> Self {
        Headers(list)
    }

    /// First value of the named field (case-insensitive name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every value of the named field, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Number of fields with this name.
    pub fn count(&self, name: &str) -> usize {
        self.0
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .count()
    }

    /// All fields in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the comma-separated list field `name` holds `token` (case-insensitive),
    /// e.g. `Connection: keep-alive, close`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
    }
}

/// A complete request. `seq` numbers requests on the connection from 0; hand it back to
/// [`crate::ServerConn::respond`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Position of this request on the connection (0, 1, 2, ...).
    pub seq: u64,
    /// Method token.
    pub method: Method,
    /// Request target exactly as sent (origin-form `/path?query` normally).
    pub target: String,
    /// Protocol version.
    pub version: Version,
    /// Header fields.
    pub headers: Headers,
    /// Body (exactly Content-Length bytes).
    pub body: Vec<u8>,
    /// Whether the connection stays open after this request's response.
    pub keep_alive: bool,
}

impl Request {
    /// Target up to the first `?`.
    pub fn path(&self) -> &str {
        match self.target.split_once('?') {
            Some((p, _)) => p,
            None => &self.target,
        }
    }

    /// Query string after the first `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// First value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Credentials from `Authorization: Basic ...`. `None` without the header; an error
    /// for any other scheme, malformed base64, missing colon, several Authorization fields.
    pub fn basic_auth(&self) -> Option<Result<Credentials, AuthError>> {
        match self.headers.count("authorization") {
            0 => None,
            1 => self.headers.get("authorization").map(parse_basic_auth),
            _ => Some(Err(AuthError::Duplicate)),
        }
    }
}
