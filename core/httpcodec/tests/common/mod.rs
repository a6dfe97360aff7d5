//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Instant;

use tocsin_httpcodec::{HttpError, Request, ServerConn};

/// Everything `next_request` yields until it returns `None`.
pub fn drain(conn: &mut ServerConn, now: Instant) -> (Vec<Request>, Option<HttpError>) {
    let mut reqs = Vec::new();
    while let Some(r) = conn.next_request(now) {
        match r {
            Ok(req) => reqs.push(req),
            Err(e) => return (reqs, Some(e)),
        }
    }
    (reqs, None)
}

/// A Dovecot ox-driver style PUT (header order as Dovecot 2.3's http-client writes it).
pub fn dovecot_put(body: &str) -> Vec<u8> {
    format!(
        "PUT /tocsin/dovecot HTTP/1.1\r\n\
         Host: 127.0.0.1:8025\r\n\
         Date: Sat, 22 Nov 2025 02:08:00 GMT\r\n\
         Authorization: Basic ZG92ZWNvdDpzZWNyZXQ=\r\n\
         Content-Length: {}\r\n\
         Connection: Keep-Alive\r\n\
         Content-Type: application/json; charset=utf-8\r\n\
         \r\n{}",
        body.len(),
        body
    )
    .into_bytes()
}

/// Status codes of every response in `out`, in order (interim 100s included).
pub fn statuses(out: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(out);
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| text.get(i + 9..i + 12))
        .filter_map(|s| s.parse().ok())
        .collect()
}
