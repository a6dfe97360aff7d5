//! Serialising our SUBSCRIBE requests.

use std::fmt::Write as _;

use super::SubscriptionConfig;
use crate::headers::{MESSAGE_SUMMARY, SIMPLE_MESSAGE_SUMMARY};

/// The dialog fields a SUBSCRIBE carries.
pub(crate) struct SubscribeFields<'a> {
    pub request_uri: &'a str,
    pub call_id: &'a str,
    pub local_tag: &'a str,
    pub remote_tag: Option<&'a str>,
    pub cseq: u32,
    pub branch: &'a str,
    pub expires: u32,
}

pub(crate) fn subscribe(cfg: &SubscriptionConfig, f: &SubscribeFields<'_>) -> Vec<u8> {
    let mut out = String::with_capacity(512);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "SUBSCRIBE {uri} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {sent_by};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <{from}>;tag={local_tag}\r\n\
         To: <{to}>",
        uri = f.request_uri,
        transport = cfg.transport.via_name(),
        sent_by = cfg.sent_by,
        branch = f.branch,
        from = cfg.from_uri,
        local_tag = f.local_tag,
        to = cfg.to_uri,
    );
    if let Some(t) = f.remote_tag {
        let _ = write!(out, ";tag={t}");
    }
    let _ = write!(
        out,
        "\r\nCall-ID: {call_id}\r\n\
         CSeq: {cseq} SUBSCRIBE\r\n\
         Contact: <{contact}>\r\n\
         Event: {MESSAGE_SUMMARY}\r\n\
         Accept: {SIMPLE_MESSAGE_SUMMARY}\r\n\
         Expires: {expires}\r\n",
        call_id = f.call_id,
        cseq = f.cseq,
        contact = cfg.contact_uri,
        expires = f.expires,
    );
    if let Some(ua) = &cfg.user_agent {
        let _ = write!(out, "User-Agent: {ua}\r\n");
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out.into_bytes()
}
