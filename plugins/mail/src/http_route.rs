//! One complete HTTP request → an immediate answer or an event to emit. Pure: the plugin
//! does the host calls.
//!
//! Order of checks: authentication first (an unauthenticated peer learns nothing about
//! paths), then the path (404), the method (405: PUT, as Dovecot sends, or POST), then the
//! body.

use crate::config::{Endpoint, HttpSettings, Settings};
use crate::prepare::{Prepared, prepare};
use crate::responses;
use tocsin_httpcodec::{Method, Request, Response, constant_time_eq};
use tocsin_mailevents::SourceFormat;
use tocsin_sdk::EventOut;

#[derive(Debug)]
pub enum Route {
    /// Answer now.
    Answer(Response),
    /// Emit; answer from `on_committed`.
    Emit(Box<EventOut>),
}

/// Checks Basic credentials against every configured pair. Every comparison runs, so the
/// time taken does not say which user exists.
fn authorized(http: &HttpSettings, req: &Request) -> Result<(), &'static str> {
    if http.credentials.is_empty() && http.allow_unauthenticated {
        return Ok(());
    }
    let creds = match req.basic_auth() {
        None => return Err("Basic credentials required"),
        Some(Err(_)) => return Err("malformed Authorization header"),
        Some(Ok(c)) => c,
    };
    let mut ok = false;
    for c in &http.credentials {
        ok |= constant_time_eq(creds.user().as_bytes(), c.user.as_bytes())
            & constant_time_eq(creds.password().as_bytes(), c.password.as_bytes());
    }
    if ok {
        Ok(())
    } else {
        Err("wrong user or password")
    }
}

pub fn route(settings: &Settings, http: &HttpSettings, req: &Request) -> Route {
    if let Err(why) = authorized(http, req) {
        return Route::Answer(responses::unauthorized(why));
    }
    let path = req.path();
    let Some(endpoint) = http.routes.iter().find(|(p, _)| p == path).map(|(_, e)| *e) else {
        return Route::Answer(responses::not_found(path));
    };
    if !matches!(req.method, Method::Put | Method::Post) {
        return Route::Answer(responses::method_not_allowed(req.method.as_str()));
    }
    let format = match endpoint {
        Endpoint::DovecotOx => SourceFormat::DovecotOx,
        Endpoint::Generic => SourceFormat::Generic,
    };
    match prepare(settings, format, &req.body) {
        Ok(Prepared::Emit(e)) => Route::Emit(e),
        Ok(Prepared::Ignored { event, skip }) => {
            Route::Answer(responses::ignored(&event, skip.reason()))
        }
        Err(r) => Route::Answer(responses::error(
            r.status(),
            r.code(),
            r.field(),
            &r.to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tocsin_httpcodec::ServerConn;

    fn settings() -> Settings {
        Settings::parse(
            "http_listen = \"127.0.0.1:0\"\nauth_user = \"dovecot\"\nauth_password = \"secret\"\n[[auth]]\nuser = \"lua\"\npassword = \"pw2\"\n",
        )
        .unwrap()
    }

    /// Parses one raw request with the real codec.
    fn request(raw: &str) -> Request {
        let mut c = ServerConn::new(Default::default(), Instant::now());
        c.feed(raw.as_bytes(), Instant::now());
        c.next_request(Instant::now()).unwrap().unwrap()
    }

    fn status(raw: &str) -> (u16, serde_json::Value) {
        let s = settings();
        let http = s.http.clone().unwrap();
        match route(&s, &http, &request(raw)) {
            Route::Answer(r) => (r.status(), serde_json::from_slice(r.body()).unwrap()),
            Route::Emit(e) => (0, serde_json::json!({ "kind": e.kind })),
        }
    }

    fn put(path: &str, auth: &str, body: &str) -> String {
        format!(
            "PUT {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    const OK_AUTH: &str = "Authorization: Basic ZG92ZWNvdDpzZWNyZXQ=\r\n"; // dovecot:secret
    const BODY: &str =
        r#"{"user":"u","event":"messageNew","folder":"INBOX","imap-uidvalidity":1,"imap-uid":2}"#;

    #[test]
    fn routes() {
        assert_eq!(status(&put("/dovecot", OK_AUTH, BODY)).0, 0);
        // lua:pw2, the second credential
        assert_eq!(
            status(&put(
                "/dovecot",
                "Authorization: Basic bHVhOnB3Mg==\r\n",
                BODY
            ))
            .0,
            0
        );
        let (s, b) = status(&put("/dovecot", "", BODY));
        assert_eq!((s, b["error"].as_str()), (401, Some("unauthorized")));
        // dovecot:wrong
        assert_eq!(
            status(&put(
                "/dovecot",
                "Authorization: Basic ZG92ZWNvdDp3cm9uZw==\r\n",
                BODY
            ))
            .0,
            401
        );
        assert_eq!(
            status(&put("/dovecot", "Authorization: Bearer x\r\n", BODY)).0,
            401
        );
        assert_eq!(status(&put("/elsewhere", OK_AUTH, BODY)).0, 404);
        // Unauthenticated probes do not learn which paths exist.
        assert_eq!(status(&put("/elsewhere", "", BODY)).0, 401);
        let get = format!("GET /dovecot HTTP/1.1\r\nHost: x\r\n{OK_AUTH}\r\n");
        assert_eq!(status(&get).0, 405);
        let (s, b) = status(&put("/dovecot", OK_AUTH, "{}"));
        assert_eq!((s, b["field"].as_str()), (400, Some("user")));
        // The generic endpoint takes RFC 5423 names.
        let g = r#"{"event":"MessageNew","user":"u","uri":"imap://h/INBOX;UIDVALIDITY=1/;UID=5"}"#;
        assert_eq!(status(&put("/events", OK_AUTH, g)).0, 0);
        // The query string is not part of the route.
        assert_eq!(status(&put("/dovecot?x=1", OK_AUTH, BODY)).0, 0);
    }

    #[test]
    fn the_401_names_the_scheme() {
        let s = settings();
        let http = s.http.clone().unwrap();
        let Route::Answer(r) = route(&s, &http, &request(&put("/dovecot", "", BODY))) else {
            panic!("expected an answer");
        };
        let mut out = Vec::new();
        let mut c = ServerConn::new(Default::default(), Instant::now());
        c.feed(put("/dovecot", "", BODY).as_bytes(), Instant::now());
        let req = c.next_request(Instant::now()).unwrap().unwrap();
        c.respond(req.seq, r, Instant::now()).unwrap();
        out.extend_from_slice(c.pending_output());
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("WWW-Authenticate: Basic realm=\"tocsin\""),
            "{text}"
        );
    }
}
