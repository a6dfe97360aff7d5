//! Dovecot push_notification **ox** driver bodies.
//!
//! Dovecot 2.3 (push-notification-driver-ox.c) PUTs:
//! `{"user":"..","event":"messageNew","folder":"INBOX","imap-uidvalidity":N,"imap-uid":N`
//! then, when known, `"from"`, `"subject"` (raw header values, maybe RFC 2047-encoded),
//! `"snippet"` (decoded text) and `"unseen"` (left out when the status lookup fails).
//!
//! Required: `user`, `event`, `folder`, `imap-uidvalidity`, `imap-uid` (numbers may also
//! be numeric strings; UID and UIDVALIDITY must be 1..=2^32-1). Unknown keys go to `extra`
//! so a newer Dovecot adding fields is not refused.

use crate::error::ParseError;
use crate::event::{MailEvent, SourceFormat, fnv1a64};
use crate::json_fields::parse_object;
use crate::limits::ParseLimits;
use crate::parse_common::{display_fields, event_field, snippet};

/// Parse one ox-driver request body.
pub fn parse_dovecot_ox(body: &[u8], limits: &ParseLimits) -> Result<MailEvent, ParseError> {
    let mut f = parse_object(body, limits)?;
    let user = f.ident_req("user", limits.max_user_bytes)?;
    let event = event_field(&mut f)?;
    let mailbox = f.ident_req("folder", limits.max_ident_bytes)?;
    let uidvalidity = f.nz_u32_req("imap-uidvalidity")?;
    let uid = f.nz_u32_req("imap-uid")?;
    let display = display_fields(&mut f, limits, true)?;
    let snippet = f.str_opt("snippet")?.map(|s| snippet(&s, limits));
    let unseen = f.u32_opt("unseen")?;
    let (extra, extra_truncated) = f.into_extra(limits, &[]);
    Ok(MailEvent {
        format: SourceFormat::DovecotOx,
        event,
        user,
        mailbox: Some(mailbox),
        uidvalidity: Some(uidvalidity),
        uid: Some(uid),
        uidset: None,
        modseq: None,
        from: display.from,
        subject: display.subject,
        snippet,
        unseen,
        messages: None,
        size: None,
        server: None,
        uri: None,
        timestamp: None,
        source_id: None,
        extra,
        extra_truncated,
        payload_digest: fnv1a64(body),
    })
}
