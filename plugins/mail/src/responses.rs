//! The HTTP answers the plugin gives. Every body is JSON with a `status` member, so a
//! sender's log line says what happened without a packet capture.

use serde_json::json;
use tocsin_httpcodec::Response;
use tocsin_sdk::CommitResult;

/// Adds a header the code spells out literally; such a header is always valid, but the
/// codec's API is fallible, and an answer without the header beats no answer.
fn with(r: Response, name: &str, value: &str) -> Response {
    match r.clone().with_header(name, value) {
        Ok(x) => x,
        Err(e) => {
            log::error!("cannot add header {name}: {e}");
            r
        }
    }
}

fn json_response(status: u16, v: &serde_json::Value) -> Response {
    Response::json(status, v.to_string())
}

/// A refusal: `{"status":400,"error":"missing_field","field":"imap-uid","message":"…"}`.
pub fn error(status: u16, code: &str, field: Option<&str>, message: &str) -> Response {
    let mut v = json!({ "status": status, "error": code, "message": message });
    if let Some(f) = field {
        v["field"] = json!(f);
    }
    json_response(status, &v)
}

pub fn unauthorized(why: &str) -> Response {
    with(
        error(401, "unauthorized", None, why),
        "WWW-Authenticate",
        "Basic realm=\"tocsin\", charset=\"UTF-8\"",
    )
}

pub fn not_found(path: &str) -> Response {
    error(404, "not_found", None, &format!("no endpoint at {path}"))
}

pub fn method_not_allowed(method: &str) -> Response {
    with(
        error(
            405,
            "method_not_allowed",
            None,
            &format!("{method} is not accepted here; use PUT or POST"),
        ),
        "Allow",
        "PUT, POST",
    )
}

/// A filtered-out event: a 2xx, so the sender neither retries nor logs an error.
pub fn ignored(event: &str, reason: &str) -> Response {
    json_response(
        202,
        &json!({ "status": "ignored", "event": event, "reason": reason }),
    )
}

/// Synchronous refusal by the host's ingest (after the plugin's own checks passed, the
/// only cause left is the instance's `max_event_bytes`).
pub fn emit_refused() -> Response {
    error(
        413,
        "too-large",
        None,
        "the event exceeds this instance's max_event_bytes",
    )
}

/// The host could not take the event at all (never expected; the plugin is unusable).
pub fn unavailable(retry_after_secs: u64, message: &str) -> Response {
    with(
        error(503, "unavailable", None, message),
        "Retry-After",
        &retry_after_secs.to_string(),
    )
}

/// The answer once ingest decided: 2xx only for an event that is durably stored (now or
/// before, for a retry).
pub fn committed(result: &CommitResult, retry_after_secs: u64) -> Response {
    match result {
        CommitResult::Stored { event_id } => {
            json_response(200, &json!({ "status": "stored", "event_id": event_id }))
        }
        CommitResult::Duplicate { event_id } => {
            json_response(200, &json!({ "status": "duplicate", "event_id": event_id }))
        }
        CommitResult::Rejected { code, message } => {
            let status = if code == "too-large" { 413 } else { 422 };
            error(status, code, None, message)
        }
        CommitResult::Failed { message } => unavailable(
            retry_after_secs,
            &format!("the event could not be stored: {message}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response) -> serde_json::Value {
        serde_json::from_slice(r.body()).unwrap()
    }

    #[test]
    fn commit_outcomes() {
        let r = committed(&CommitResult::Stored { event_id: 7 }, 1);
        assert_eq!(
            (r.status(), body(&r)["status"].as_str()),
            (200, Some("stored"))
        );
        let r = committed(&CommitResult::Duplicate { event_id: 7 }, 1);
        assert_eq!(body(&r)["event_id"], 7);
        assert_eq!(r.status(), 200);
        let r = committed(
            &CommitResult::Rejected {
                code: "too-large".into(),
                message: "m".into(),
            },
            1,
        );
        assert_eq!(r.status(), 413);
        let r = committed(
            &CommitResult::Rejected {
                code: "malformed".into(),
                message: "m".into(),
            },
            1,
        );
        assert_eq!(
            (r.status(), body(&r)["error"].as_str()),
            (422, Some("malformed"))
        );
        let r = committed(
            &CommitResult::Failed {
                message: "disk".into(),
            },
            2,
        );
        assert_eq!(r.status(), 503);
    }

    #[test]
    fn errors_carry_the_field() {
        let r = error(400, "missing_field", Some("imap-uid"), "missing field");
        let b = body(&r);
        assert_eq!(b["field"], "imap-uid");
        assert_eq!(b["status"], 400);
        assert!(body(&error(400, "x", None, "y")).get("field").is_none());
    }
}
