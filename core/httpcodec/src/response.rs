//! Responses the host submits, and their serialisation.

use crate::error::{HttpError, InvalidHeader};
use crate::head_parser::is_tchar;
use crate::request::Version;

/// Headers the codec writes itself; the host may not set them (a second Content-Length or
/// Connection from the host would desynchronise the client).
const RESERVED: [&str; 5] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "content-type",
    "keep-alive",
];

/// A final response. Build it, then hand it to [`crate::ServerConn::respond`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

impl Response {
    /// A response with this status and an empty body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
            close: false,
        }
    }

    /// A response with a body of the given media type.
    pub fn with_body(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut r = Response::new(status);
        r.content_type = Some(sanitize_value(content_type));
        r.body = body.into();
        r
    }

    /// `application/json` body.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response::with_body(status, "application/json", body)
    }

    /// A small JSON error body: `{"status":413,"error":"body_too_large","message":"..."}`.
    pub fn error_json(status: u16, code: &str, message: &str) -> Self {
        let mut body = String::with_capacity(64 + message.len());
        body.push_str("{\"status\":");
        body.push_str(&status.to_string());
        body.push_str(",\"error\":");
        push_json_string(&mut body, code);
        body.push_str(",\"message\":");
        push_json_string(&mut body, message);
        body.push('}');
        Response::json(status, body)
    }

    /// The answer the codec sends for a protocol error: JSON body, connection closed.
    pub fn from_error(err: &HttpError) -> Self {
        Response::error_json(err.status(), err.code(), &err.to_string()).with_close()
    }

    /// Add a header. Refuses non-token names, control characters in values (header
    /// injection) and the headers the codec owns.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self, InvalidHeader> {
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(InvalidHeader::BadName(name.to_owned()));
        }
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(InvalidHeader::Reserved(name.to_owned()));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(InvalidHeader::BadValue(name.to_owned()));
        }
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// Close the connection after this response.
    pub fn with_close(mut self) -> Self {
        self.close = true;
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Whether this response asks for the connection to close.
    pub fn closes(&self) -> bool {
        self.close
    }

    /// Append the serialised response to `out`.
    ///
    /// `head_request`: the request was HEAD, so headers describe the body but it is not sent.
    /// `version`: the request's version; an HTTP/1.0 keep-alive needs an explicit header.
    /// `close`: the connection closes after this response.
    pub(crate) fn encode(
        &self,
        out: &mut Vec<u8>,
        head_request: bool,
        version: Version,
        close: bool,
    ) {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(reason_phrase(self.status).as_bytes());
        out.extend_from_slice(b"\r\n");
        // 204 and 304 have no body and no framing headers (RFC 9110 8.6).
        let bodyless_status = self.status == 204 || self.status == 304;
        if !bodyless_status {
            if let Some(ct) = &self.content_type {
                push_header(out, "Content-Type", ct);
            }
            push_header(out, "Content-Length", &self.body.len().to_string());
        }
        for (name, value) in &self.headers {
            push_header(out, name, value);
        }
        if close {
            push_header(out, "Connection", "close");
        } else if version == Version::Http10 {
            push_header(out, "Connection", "keep-alive");
        }
        out.extend_from_slice(b"\r\n");
        if !head_request && !bodyless_status {
            out.extend_from_slice(&self.body);
        }
    }
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Replace control characters so a content type can never inject a header.
fn sanitize_value(v: &str) -> String {
    v.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Append `s` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Reason phrase for a status (clients ignore it; it helps people reading traces).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(r: &Response, head: bool, v: Version, close: bool) -> String {
        let mut out = Vec::new();
        r.encode(&mut out, head, v, close);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_response_shape() {
        let r = Response::json(200, r#"{"ok":true}"#);
        assert_eq!(
            encode(&r, false, Version::Http11, false),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"
        );
        assert_eq!(
            encode(&r, false, Version::Http11, true),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}"
        );
        assert_eq!(
            encode(&r, false, Version::Http10, false),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\n{\"ok\":true}"
        );
    }

    #[test]
    fn head_and_bodyless_statuses() {
        let r = Response::json(200, "abc");
        assert_eq!(
            encode(&r, true, Version::Http11, false),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n"
        );
        let r = Response::new(204);
        assert_eq!(
            encode(&r, false, Version::Http11, false),
            "HTTP/1.1 204 No Content\r\n\r\n"
        );
        let r = Response::new(202);
        assert_eq!(
            encode(&r, false, Version::Http11, false),
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn error_json_escapes() {
        let r = Response::error_json(400, "bad", "a \"quoted\"\n\u{1}thing\\");
        assert_eq!(
            String::from_utf8(r.body().to_vec()).unwrap(),
            r#"{"status":400,"error":"bad","message":"a \"quoted\"\n\u0001thing\\"}"#
        );
    }

    #[test]
    fn header_validation() {
        let r = Response::new(401)
            .with_header("WWW-Authenticate", "Basic realm=\"tocsin\"")
            .unwrap();
        assert!(
            encode(&r, false, Version::Http11, false)
                .contains("WWW-Authenticate: Basic realm=\"tocsin\"\r\n")
        );
        assert!(matches!(
            Response::new(200).with_header("X-A", "a\r\nSet-Cookie: x"),
            Err(InvalidHeader::BadValue(_))
        ));
        assert!(matches!(
            Response::new(200).with_header("Bad Name", "x"),
            Err(InvalidHeader::BadName(_))
        ));
        assert!(matches!(
            Response::new(200).with_header("content-length", "5"),
            Err(InvalidHeader::Reserved(_))
        ));
        let r = Response::with_body(200, "text/plain\r\nX: y", "x");
        assert!(!encode(&r, false, Version::Http11, false).contains("\r\nX: y"));
    }
}
