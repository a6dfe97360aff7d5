//! Pieces shared by the three format parsers.

use crate::address::{FromAddress, parse_from};
use crate::error::ParseError;
use crate::event_name::{EventName, MAX_EVENT_NAME_LEN};
use crate::imap_envelope::parse_envelope;
use crate::imap_url::{ImapUrl, parse_imap_url};
use crate::json_fields::Fields;
use crate::limits::ParseLimits;
use crate::message_headers::from_and_subject;
use crate::rfc2047::decode_rfc2047;
use crate::text::sanitize_display;

/// The required `event` field.
pub(crate) fn event_field(f: &mut Fields) -> Result<EventName, ParseError> {
    let name = f.ident_req("event", MAX_EVENT_NAME_LEN)?;
    EventName::parse(&name).ok_or(ParseError::InvalidField {
        field: "event".to_owned(),
        expected: "an event name of printable ASCII",
    })
}

/// An optional IMAP URL field, parsed strictly.
pub(crate) fn url_field(
    f: &mut Fields,
    key: &str,
    limits: &ParseLimits,
) -> Result<(Option<String>, Option<ImapUrl>), ParseError> {
    let Some(uri) = f.ident_opt(key, limits.max_ident_bytes)? else {
        return Ok((None, None));
    };
    let url = parse_imap_url(&uri).map_err(|_| ParseError::InvalidField {
        field: key.to_owned(),
        expected: "an IMAP URL (RFC 5092)",
    })?;
    Ok((Some(uri), Some(url)))
}

/// Decoded, sanitised, bounded subject.
pub(crate) fn subject(raw: &str, limits: &ParseLimits) -> String {
    sanitize_display(
        &decode_rfc2047(raw, limits.max_subject_bytes),
        limits.max_subject_bytes,
    )
}

/// Sanitised snippet, bounded on a character boundary.
pub(crate) fn snippet(raw: &str, limits: &ParseLimits) -> String {
    sanitize_display(raw, limits.snippet_bytes)
}

/// From/Subject explicitly given, else from `messageContent` headers, else from a
/// `vnd.cmu.envelope`.
pub(crate) struct Display {
    pub from: Option<FromAddress>,
    pub subject: Option<String>,
}

pub(crate) fn display_fields(
    f: &mut Fields,
    limits: &ParseLimits,
    explicit_keys: bool,
) -> Result<Display, ParseError> {
    let (mut from_raw, mut subject_raw) = if explicit_keys {
        (f.str_opt("from")?, f.str_opt("subject")?)
    } else {
        (None, None)
    };
    if let Some(content) = f.str_opt("messageContent")? {
        let (hf, hs) = from_and_subject(&content, limits.max_header_scan_bytes);
        from_raw = from_raw.or(hf);
        subject_raw = subject_raw.or(hs);
    }
    let mut from = from_raw.map(|r| parse_from(&r, limits.max_from_bytes));
    if let Some(env) = f
        .str_opt("vnd.cmu.envelope")?
        .as_deref()
        .and_then(parse_envelope)
    {
        if from.is_none() {
            from = env.from_address.as_ref().map(|addr| {
                let raw = match &env.from_name {
                    Some(name) => format!("{name} <{addr}>"),
                    None => addr.clone(),
                };
                let mut parsed = parse_from(&raw, limits.max_from_bytes);
                // The envelope already split name and address; trust that over re-parsing.
                parsed.display_name = env
                    .from_name
                    .as_deref()
                    .map(|n| subject_like(n, limits.max_from_bytes))
                    .filter(|n| !n.is_empty());
                parsed.address = Some(sanitize_display(addr, limits.max_from_bytes));
                parsed
            });
        }
        subject_raw = subject_raw.or(env.subject);
    }
    Ok(Display {
        from,
        subject: subject_raw.map(|s| subject(&s, limits)),
    })
}

fn subject_like(raw: &str, max: usize) -> String {
    sanitize_display(&decode_rfc2047(raw, max), max)
}
