//! tocsin's generic mail event JSON: RFC 5423 parameter names plus a few plain
//! extensions, for stores without a dedicated parser (a Dovecot lua script, Stalwart,
//! custom MDAs). One JSON object per request:
//!
//! ```json
//! {
//!   "event": "MessageNew",                 // required, RFC 5423 name, any case
//!   "user": "alice@example.org",           // required (RFC 5423 `user`)
//!   "id": "mta1-4711",                     // optional source event id = idempotency key
//!   "uri": "imap://alice@mail.example.org/INBOX;UIDVALIDITY=1700000000/;UID=42",
//!   "mailbox": "INBOX",                    // extension; else taken from uri/mailboxID
//!   "uidvalidity": 1700000000,             // extension; else from uri
//!   "uid": 42,                             // extension; else from uri
//!   "uidset": "40:42",  "modseq": 1234,  "messages": 10,  "messageSize": 2048,
//!   "unseen": 3,                           // extension (unseen count)
//!   "from": "=?UTF-8?Q?J=C3=B6rg?= <j@example.de>",   // extension, raw or decoded
//!   "subject": "Hello",                    // extension, raw or decoded
//!   "snippet": "First line of the body",   // extension
//!   "messageContent": "From: ...",         // RFC 5423; only its From/Subject are used
//!   "timestamp": "2025-11-22T02:08:00Z",   // RFC 5423 (RFC 3339)
//!   "serverFQDN": "mail.example.org"       // or serverDomain
//! }
//! ```
//!
//! Numbers may be JSON numbers or numeric strings. Explicit fields win over what the
//! `uri` says. Other keys (e.g. `flagNames`, `mailboxID`, `vnd.*`) go to `extra`.
//! For non-message events send `id` or `timestamp`, or identical payloads count as one.

use crate::error::ParseError;
use crate::event::{MailEvent, SourceFormat, fnv1a64};
use crate::imap_url::parse_imap_url;
use crate::json_fields::parse_object;
use crate::limits::ParseLimits;
use crate::parse_common::{display_fields, event_field, snippet, url_field};

/// Parse one generic JSON event.
pub fn parse_generic(body: &[u8], limits: &ParseLimits) -> Result<MailEvent, ParseError> {
    let mut f = parse_object(body, limits)?;
    let event = event_field(&mut f)?;
    let user = f.ident_req("user", limits.max_user_bytes)?;
    let source_id = f.ident_opt("id", limits.max_ident_bytes)?;
    let (uri, url) = url_field(&mut f, "uri", limits)?;
    let url = url.unwrap_or_default();
    // mailboxID (RFC 5423: a URI for the mailbox) stays in `extra`; it only fills gaps.
    let mailbox_url = f
        .peek_str("mailboxID")
        .and_then(|m| parse_imap_url(m).ok())
        .unwrap_or_default();
    let mailbox = f
        .ident_opt("mailbox", limits.max_ident_bytes)?
        .or(url.mailbox)
        .or(mailbox_url.mailbox);
    let uidvalidity = f
        .nz_u32_opt("uidvalidity")?
        .or(url.uidvalidity)
        .or(mailbox_url.uidvalidity);
    let uid = f.nz_u32_opt("uid")?.or(url.uid);
    let uidset = f.ident_opt("uidset", limits.max_ident_bytes)?;
    let modseq = f.u64_opt("modseq")?;
    let messages = f.u32_opt("messages")?;
    let unseen = f.u32_opt("unseen")?;
    let size = f.u64_opt("messageSize")?;
    let timestamp = f.ident_opt("timestamp", limits.max_ident_bytes)?;
    let server = match f.ident_opt("serverFQDN", limits.max_ident_bytes)? {
        Some(s) => Some(s),
        None => f.ident_opt("serverDomain", limits.max_ident_bytes)?,
    }
    .or((!url.host.is_empty()).then_some(url.host));
    let display = display_fields(&mut f, limits, true)?;
    let snippet = f.str_opt("snippet")?.map(|s| snippet(&s, limits));
    let (extra, extra_truncated) = f.into_extra(limits, &[]);
    Ok(MailEvent {
        format: SourceFormat::Generic,
        event,
        user,
        mailbox,
        uidvalidity,
        uid,
        uidset,
        modseq,
        from: display.from,
        subject: display.subject,
        snippet,
        unseen,
        messages,
        size,
        server,
        uri,
        timestamp,
        source_id,
        extra,
        extra_truncated,
        payload_digest: fnv1a64(body),
    })
}
