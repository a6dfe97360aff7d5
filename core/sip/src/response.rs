//! Building responses to received requests (RFC 3261 §8.2.6, RFC 3581).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::headers::{MESSAGE_SUMMARY, Rport, SIMPLE_MESSAGE_SUMMARY, Via};
use crate::{EchoHeaders, StatusCode, TagSecret};

/// Methods a tocsin MWI endpoint accepts, for `Allow`.
pub const DEFAULT_ALLOW: &str = "NOTIFY, OPTIONS";

/// Builds responses. One per endpoint; cheap to share.
#[derive(Debug, Clone)]
pub struct Responder {
    secret: TagSecret,
    server: Option<String>,
    allow: String,
}

impl Responder {
    pub fn new(secret: TagSecret) -> Responder {
        Responder {
            secret,
            server: None,
            allow: DEFAULT_ALLOW.to_owned(),
        }
    }

    /// Adds `Server: <product>` to every response.
    pub fn with_server(mut self, product: &str) -> Responder {
        self.server = Some(sanitize(product));
        self
    }

    /// Replaces the `Allow` list sent with 405 and OPTIONS answers.
    pub fn with_allow(mut self, allow: &str) -> Responder {
        self.allow = sanitize(allow);
        self
    }

    /// Starts a response to the request `echo` came from, received from
    /// `source`. Status-specific headers are added automatically: `Allow`
    /// (405), `Accept` (415), `Allow-Events` (489).
    pub fn response<'r, 'm>(
        &'r self,
        echo: &'r EchoHeaders<'m>,
        status: StatusCode,
        source: SocketAddr,
    ) -> ResponseBuilder<'r, 'm> {
        let mut b = ResponseBuilder {
            responder: self,
            echo,
            status,
            source,
            reason: None,
            extra: Vec::new(),
        };
        match status {
            StatusCode::METHOD_NOT_ALLOWED => b = b.header("Allow", &self.allow),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => b = b.header("Accept", SIMPLE_MESSAGE_SUMMARY),
            StatusCode::BAD_EVENT => b = b.header("Allow-Events", MESSAGE_SUMMARY),
            _ => {}
        }
        b
    }

    /// The whole response with no further headers.
    pub fn respond(
        &self,
        echo: &EchoHeaders<'_>,
        status: StatusCode,
        source: SocketAddr,
    ) -> Vec<u8> {
        self.response(echo, status, source).finish()
    }

    /// 200 OK to OPTIONS, listing what we accept (RFC 3261 §11.2).
    pub fn options_ok(&self, echo: &EchoHeaders<'_>, source: SocketAddr) -> Vec<u8> {
        self.response(echo, StatusCode::OK, source)
            .header("Allow", &self.allow)
            .header("Accept", SIMPLE_MESSAGE_SUMMARY)
            .header("Allow-Events", MESSAGE_SUMMARY)
            .finish()
    }

    /// The To-tag this responder gives the request, whether or not the
    /// request already had one (then that one is used).
    pub fn to_tag(&self, echo: &EchoHeaders<'_>) -> String {
        match echo.to_tag {
            Some(t) => t.to_owned(),
            None => self.derive_tag(echo),
        }
    }

    fn derive_tag(&self, echo: &EchoHeaders<'_>) -> String {
        self.secret.derive_tag(
            echo.call_id,
            echo.cseq,
            echo.top_via.branch().unwrap_or(""),
            echo.from_tag.unwrap_or(echo.from),
        )
    }
}

/// A response under construction; [`ResponseBuilder::finish`] serialises it.
#[derive(Debug)]
pub struct ResponseBuilder<'r, 'm> {
    responder: &'r Responder,
    echo: &'r EchoHeaders<'m>,
    status: StatusCode,
    source: SocketAddr,
    reason: Option<String>,
    extra: Vec<(String, String)>,
}

impl ResponseBuilder<'_, '_> {
    /// Replaces the standard reason phrase (control characters are
    /// replaced by spaces).
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(sanitize(reason));
        self
    }

    /// Adds a header (control characters in name or value are replaced by
    /// spaces, so caller text cannot inject header lines).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.extra.push((sanitize(name), sanitize(value)));
        self
    }

    pub fn finish(self) -> Vec<u8> {
        let e = self.echo;
        let mut out = String::with_capacity(
            256 + e.other_vias.iter().map(|v| v.len() + 7).sum::<usize>()
                + e.from.len()
                + e.to.len()
                + e.call_id.len(),
        );
        let reason = self
            .reason
            .as_deref()
            .unwrap_or(self.status.reason_phrase());
        // Writing to a String cannot fail; results are ignored on purpose.
        let _ = write!(out, "SIP/2.0 {} {}\r\nVia: ", self.status.as_u16(), reason);
        write_top_via(&mut out, &e.top_via, self.source);
        out.push_str("\r\n");
        for v in &e.other_vias {
            let _ = write!(out, "Via: {v}\r\n");
        }
        let _ = write!(out, "From: {}\r\nTo: {}", e.from, e.to);
        if e.to_tag.is_none() {
            let _ = write!(out, ";tag={}", self.responder.derive_tag(e));
        }
        let _ = write!(out, "\r\nCall-ID: {}\r\nCSeq: {}\r\n", e.call_id, e.cseq);
        if let Some(s) = &self.responder.server {
            let _ = write!(out, "Server: {s}\r\n");
        }
        for (n, v) in &self.extra {
            let _ = write!(out, "{n}: {v}\r\n");
        }
        out.push_str("Content-Length: 0\r\n\r\n");
        out.into_bytes()
    }
}

/// Re-emits the top via-parm with `received` (RFC 3261 §18.2.1) and `rport`
/// (RFC 3581 §4) filled from the packet's source address.
fn write_top_via(out: &mut String, via: &Via<'_>, source: SocketAddr) {
    let src_ip = canonical(source.ip());
    let rport_requested = via.rport() == Rport::Requested;
    // RFC 3581: with rport, received is added even when it equals sent-by.
    let add_received = rport_requested || via.host_ip().map(canonical) != Some(src_ip);
    let _ = write!(
        out,
        "{}/{}/{} {}",
        via.protocol(),
        via.version(),
        via.transport(),
        via.host()
    );
    if let Some(p) = via.port() {
        let _ = write!(out, ":{p}");
    }
    for item in via.params().raw_items() {
        let name = item
            .split('=')
            .next()
            .unwrap_or(item)
            .trim_end_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("received") && add_received {
            continue;
        }
        if name.eq_ignore_ascii_case("rport") && rport_requested {
            let _ = write!(out, ";rport={}", source.port());
            continue;
        }
        let _ = write!(out, ";{item}");
    }
    if add_received {
        let _ = write!(out, ";received={src_ip}");
    }
}

/// IPv4-mapped IPv6 (from dual-stack sockets) compares as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl Responder {
    /// The answer to a [`crate::Rejection`] from [`crate::classify`]
    /// (adds `Unsupported` to a 420).
    pub fn reject(&self, rejection: &crate::Rejection<'_>, source: SocketAddr) -> Vec<u8> {
        let mut b = self.response(&rejection.echo, rejection.status, source);
        if !rejection.unsupported.is_empty() {
            b = b.header("Unsupported", &rejection.unsupported.join(", "));
        }
        b.finish()
    }

    /// One call for the parse-error path: salvage the request headers from
    /// `buf` and build the answer `error` deserves; `Err` says why nothing
    /// is sent (keepalive, a response, ACK, unaddressable garbage).
    pub fn answer_parse_error(
        &self,
        buf: &[u8],
        error: &crate::ParseError,
        limits: &crate::Limits,
        source: SocketAddr,
    ) -> Result<Vec<u8>, crate::DropReason> {
        let recovered = crate::recover_request(buf, limits)?;
        let rejection = crate::Rejection::for_parse_error(&recovered, error)?;
        Ok(self.reject(&rejection, source))
    }
}
