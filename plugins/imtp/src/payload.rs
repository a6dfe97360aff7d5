//! What a notification looks like on the wire: the `send` command built from a
//! delivery. `text/plain; charset=UTF-8` by default; `message/cpim` (RFC 3862) with
//! IMDN request headers when the subscription wants receipts. The CPIM/IMDN codec of
//! a later issue replaces [`cpim`] and parses the receipts that come back; nothing else
//! here needs to change.

use tocsin_imtp::{Header, SendMessage, Url};
use tocsin_sdk::Delivery;

/// The text every client shows: the summary, then the body after a blank line.
pub fn text(d: &Delivery<'_>) -> String {
    if d.body.is_empty() {
        d.summary.to_string()
    } else {
        format!("{}\n\n{}", d.summary, d.body)
    }
}

/// Header values must be printable: control characters become spaces.
fn header_value(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Extra headers clients and scripts can use (`tocsinctl watch --json` shows them).
fn tocsin_headers(d: &Delivery<'_>) -> Vec<Header> {
    [
        ("Tocsin-Kind", d.kind.to_string()),
        ("Tocsin-Event-Id", d.event_id.to_string()),
        ("Tocsin-Priority", d.priority.name().to_string()),
        ("Tocsin-Message-Id", d.message_id.to_string()),
        ("Tocsin-Source", d.source.to_string()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(n, v)| Header {
        name: n.to_string(),
        value: header_value(&v),
    })
    .collect()
}

/// RFC 3339 UTC with milliseconds, from Unix milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

/// A `message/cpim` wrapper asking for IMDN dispositions (RFC 5438 §6).
pub fn cpim(d: &Delivery<'_>, sender: &Url, inbox: &Url, now_ms: i64) -> Vec<u8> {
    let mut wanted = Vec::new();
    if d.want_delivery_receipt {
        wanted.push("positive-delivery, negative-delivery");
    }
    if d.want_display_receipt {
        wanted.push("display");
    }
    let body = text(d);
    format!(
        "From: <{}>\r\nTo: <{}>\r\nDateTime: {}\r\nNS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: {}\r\nimdn.Disposition-Notification: {}\r\n\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{}",
        sender,
        inbox,
        rfc3339_ms(now_ms),
        header_value(d.message_id),
        wanted.join(", "),
        body.len(),
        body
    )
    .into_bytes()
}

/// The `send` for `d` from `sender` to `inbox`.
pub fn send_message(d: &Delivery<'_>, sender: &Url, inbox: &Url, now_ms: i64) -> SendMessage {
    let receipts = d.want_delivery_receipt || d.want_display_receipt;
    let mut m = if receipts {
        let mut m = SendMessage::new(
            sender.clone(),
            inbox.clone(),
            cpim(d, sender, inbox, now_ms),
        );
        m.content_type = Some("message/cpim".into());
        m
    } else {
        SendMessage::new(sender.clone(), inbox.clone(), text(d).into_bytes())
    };
    m.meta.extra = tocsin_headers(d);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_sdk::Priority;

    fn delivery<'a>(summary: &'a str, body: &'a str) -> Delivery<'a> {
        Delivery {
            delivery_id: 7,
            event_id: 42,
            attempt: 1,
            priority: Priority::High,
            occurred_at_ms: 0,
            want_delivery_receipt: false,
            want_display_receipt: false,
            target: "im:bob@b.example",
            user: "bob@b.example",
            kind: "mail.MessageNew",
            source: "mail",
            summary,
            body,
            message_id: "tocsin-7",
        }
    }

    #[test]
    fn plain_text_by_default() {
        let s = Url::parse("im:tocsin@a.example").expect("url");
        let i = Url::parse("im:bob@b.example").expect("url");
        let m = send_message(&delivery("New mail", "from carol\x07"), &s, &i, 0);
        assert_eq!(m.content_type, None);
        assert_eq!(m.payload, b"New mail\n\nfrom carol\x07");
        let kinds: Vec<_> = m.meta.extra.iter().map(|h| h.name.as_str()).collect();
        assert!(kinds.contains(&"Tocsin-Kind"));
        let mut out = Vec::new();
        tocsin_imtp::Command::Send(m)
            .encode(&tocsin_imtp::Id::parse("1").expect("id"), &mut out)
            .expect("encodes");
    }

    #[test]
    fn cpim_when_receipts_are_wanted() {
        let s = Url::parse("im:tocsin@a.example").expect("url");
        let i = Url::parse("im:bob@b.example").expect("url");
        let mut d = delivery("Hi", "");
        d.want_display_receipt = true;
        let m = send_message(&d, &s, &i, 1_764_000_000_123);
        assert_eq!(m.content_type.as_deref(), Some("message/cpim"));
        let t = String::from_utf8(m.payload).expect("utf8");
        assert!(t.contains("imdn.Message-ID: tocsin-7\r\n"), "{t}");
        assert!(t.contains("imdn.Disposition-Notification: display\r\n"));
        assert!(t.contains("DateTime: 2025-11-24T16:00:00.123Z"), "{t}");
        assert!(t.ends_with("\r\n\r\nHi"));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    }
}
