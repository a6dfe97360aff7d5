//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;

use tocsin_sip::*;

pub fn source() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 10], 5060))
}

pub fn responder() -> Responder {
    Responder::new(TagSecret::new(*b"0123456789abcdef")).with_server("tocsin-test")
}

/// What the plugin would do with one datagram: `(outcome, label, answer)`.
/// outcome is the status code answered, `drop` or `response`.
pub fn handle(buf: &[u8], limits: &Limits) -> (String, String, Option<Vec<u8>>) {
    let r = responder();
    let src = source();
    match parse_datagram(buf, limits) {
        Err(e) => match r.answer_parse_error(buf, &e, limits, src) {
            Ok(bytes) => (
                status_of(&bytes),
                format!("parse:{}", kebab(&e)),
                Some(bytes),
            ),
            Err(d) => ("drop".into(), drop_label(&d), None),
        },
        Ok(msg) => match classify(&msg, &limits.summary) {
            Classified::Notify(n) => {
                let bytes = r.respond(n.request.echo(), StatusCode::OK, src);
                (status_of(&bytes), "notify".into(), Some(bytes))
            }
            Classified::Options(req) => {
                let bytes = r.options_ok(req.echo(), src);
                (status_of(&bytes), "options".into(), Some(bytes))
            }
            Classified::Reject(rej) => {
                let bytes = r.reject(&rej, src);
                (status_of(&bytes), reject_label(&rej.reason), Some(bytes))
            }
            Classified::Response => ("response".into(), "response".into(), None),
            Classified::Drop(d) => ("drop".into(), drop_label(&d), None),
        },
    }
}

fn status_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[8..11]).into_owned()
}

/// `Foo { .. }` / `FooBar(..)` → `foo` / `foo-bar`.
pub fn kebab<T: std::fmt::Debug>(v: &T) -> String {
    let dbg = format!("{v:?}");
    let name = dbg.split(['(', ' ', '{']).next().unwrap_or("");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn reject_label(r: &RejectReason) -> String {
    match r {
        RejectReason::Parse(e) => format!("parse:{}", kebab(e)),
        RejectReason::Body(e) => format!("body:{}", kebab(e)),
        RejectReason::Header(_) => "header".into(),
        other => kebab(other),
    }
}

pub fn drop_label(d: &DropReason) -> String {
    match d {
        DropReason::Missing(h) => format!("missing-{}", h.to_ascii_lowercase()),
        DropReason::Malformed(h) => format!("malformed-{}", h.to_ascii_lowercase()),
        other => kebab(other),
    }
}
