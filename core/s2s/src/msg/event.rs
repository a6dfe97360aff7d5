//! EVENT (PPID `PPID_EVENT`): one event from a source.
//!
//! | tag | field | type | |
//! |---|---|---|---|
//! | 0x01 | source-event-id | text 1..=256 | required |
//! | 0x02 | kind | `namespace.Name` or `prefix:Name`, <= 128 | required |
//! | 0x03 | user | text 1..=512 | required |
//! | 0x04 | origin-host | host 1..=255 | optional (else HELLO default) |
//! | 0x05 | occurred-at | i64 BE unix ms, 0..=9999-12-31 | required |
//! | 0x06 | priority | u8 1..=5 | optional (3) |
//! | 0x07 | summary | one-line text 1..=1024 | required |
//! | 0x08 | body | text with TAB/CR/LF, <= 65535 | optional |
//! | 0x09 | attribute | pair key/value, repeatable <= 64 | optional |
//! | 0x0a | lang | BCP 47 tag <= 35 | optional (else HELLO default) |

use super::error::{Field, MsgError};
use super::text::{self, Controls, limits};
use super::tlv::{self, Reader};
use crate::event::Priority;

const T_ID: u8 = 0x01;
const T_KIND: u8 = 0x02;
const T_USER: u8 = 0x03;
const T_ORIGIN: u8 = 0x04;
const T_AT: u8 = 0x05;
const T_PRIO: u8 = 0x06;
const T_SUMMARY: u8 = 0x07;
const T_BODY: u8 = 0x08;
const T_ATTR: u8 = 0x09;
const T_LANG: u8 = 0x0a;

/// The attributes of an event: either the validated wire bytes (decoded,
/// zero-copy) or the owner's pairs (to encode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attributes<'a> {
    /// Consecutive attribute fields as received (already validated).
    Wire {
        /// The attribute fields, headers included.
        region: &'a [u8],
        /// How many.
        count: usize,
    },
    /// Key/value pairs from an [`crate::Event`].
    Pairs(&'a [(String, String)]),
}

impl Default for Attributes<'_> {
    fn default() -> Self {
        Attributes::Pairs(&[])
    }
}

impl<'a> Attributes<'a> {
    /// Number of attributes.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Attributes::Wire { count, .. } => *count,
            Attributes::Pairs(p) => p.len(),
        }
    }

    /// True without attributes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key/value pairs in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let (wire, pairs) = match *self {
            Attributes::Wire { region, .. } => (region, &[][..]),
            Attributes::Pairs(p) => (&[][..], p),
        };
        let mut r = Reader::new(wire);
        let from_wire = std::iter::from_fn(move || {
            let (_, v) = r.next_field().ok()??;
            let (k, v) = tlv::pair(Field::Attribute, v).ok()?;
            // validated at decode time; the fallback only guards the invariant
            Some((
                std::str::from_utf8(k).unwrap_or_default(),
                std::str::from_utf8(v).unwrap_or_default(),
            ))
        });
        from_wire.chain(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Value of `key`, if present.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// An EVENT message, borrowing its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventMsg<'a> {
    /// Idempotency key.
    pub source_event_id: &'a str,
    /// Kind as written (`mail.MessageNew` or `m:MessageNew`).
    pub kind: &'a str,
    /// User.
    pub user: &'a str,
    /// Origin host, if given in the event.
    pub origin_host: Option<&'a str>,
    /// Unix milliseconds UTC.
    pub occurred_at_ms: i64,
    /// Priority (normal when absent on the wire).
    pub priority: Priority,
    /// One-line summary.
    pub summary: &'a str,
    /// Body.
    pub body: Option<&'a str>,
    /// Language tag, if given in the event.
    pub lang: Option<&'a str>,
    /// Attributes.
    pub attributes: Attributes<'a>,
}

impl<'a> EventMsg<'a> {
    /// Decode and validate.
    pub fn decode(buf: &'a [u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf);
        let (mut id, mut kind, mut user, mut origin, mut at, mut prio) =
            (None, None, None, None, None, None);
        let (mut summary, mut body, mut lang) = (None, None, None);
        let mut attrs: Option<(usize, usize)> = None;
        let mut count = 0usize;
        loop {
            let start = r.pos();
            let Some((tag, v)) = r.next_field()? else {
                break;
            };
            match tag {
                T_ID => tlv::set_once(&mut id, Field::SourceEventId, v)?,
                T_KIND => tlv::set_once(&mut kind, Field::Kind, v)?,
                T_USER => tlv::set_once(&mut user, Field::User, v)?,
                T_ORIGIN => tlv::set_once(&mut origin, Field::OriginHost, v)?,
                T_AT => tlv::set_once(&mut at, Field::OccurredAt, v)?,
                T_PRIO => tlv::set_once(&mut prio, Field::Priority, v)?,
                T_SUMMARY => tlv::set_once(&mut summary, Field::Summary, v)?,
                T_BODY => tlv::set_once(&mut body, Field::Body, v)?,
                T_ATTR => {
                    count += 1;
                    if count > limits::ATTRS {
                        return Err(MsgError::TooMany {
                            field: Field::Attribute,
                            max: limits::ATTRS,
                        });
                    }
                    let region = attrs.get_or_insert((start, start));
                    region.1 = r.pos();
                }
                T_LANG => tlv::set_once(&mut lang, Field::Lang, v)?,
                other => tlv::unknown(other)?,
            }
        }
        let priority = match prio {
            None => Priority::Normal,
            Some(v) => {
                let [p] = tlv::fixed::<1>(Field::Priority, v)?;
                Priority::from_u8(p).ok_or(MsgError::InvalidValue {
                    field: Field::Priority,
                    reason: "priority must be 1..=5",
                })?
            }
        };
        let occurred_at_ms = i64::from_be_bytes(tlv::fixed::<8>(
            Field::OccurredAt,
            tlv::required(at, Field::OccurredAt)?,
        )?);
        let utf8 = |field, v: &'a [u8]| {
            std::str::from_utf8(v).map_err(|_| MsgError::InvalidUtf8 { field })
        };
        let msg = EventMsg {
            source_event_id: utf8(
                Field::SourceEventId,
                tlv::required(id, Field::SourceEventId)?,
            )?,
            kind: utf8(Field::Kind, tlv::required(kind, Field::Kind)?)?,
            user: utf8(Field::User, tlv::required(user, Field::User)?)?,
            origin_host: origin.map(|v| utf8(Field::OriginHost, v)).transpose()?,
            occurred_at_ms,
            priority,
            summary: utf8(Field::Summary, tlv::required(summary, Field::Summary)?)?,
            body: body.map(|v| utf8(Field::Body, v)).transpose()?,
            lang: lang.map(|v| utf8(Field::Lang, v)).transpose()?,
            attributes: Attributes::Wire {
                region: attrs.map_or(&[][..], |(s, e)| &buf[s..e]),
                count,
            },
        };
        msg.check()?;
        Ok(msg)
    }

    /// Apply every field rule (the encoder calls this too).
    pub fn check(&self) -> Result<(), MsgError> {
        text::check(
            Field::SourceEventId,
            self.source_event_id,
            1,
            limits::SOURCE_EVENT_ID,
            Controls::None,
        )?;
        text::parse_kind(self.kind)?;
        text::check(Field::User, self.user, 1, limits::USER, Controls::None)?;
        if let Some(h) = self.origin_host {
            text::check_host(Field::OriginHost, h)?;
        }
        if !(0..=limits::MAX_TIME_MS).contains(&self.occurred_at_ms) {
            return Err(MsgError::InvalidValue {
                field: Field::OccurredAt,
                reason: "occurred-at must be between 1970 and 9999 (unix ms)",
            });
        }
        text::check(
            Field::Summary,
            self.summary,
            1,
            limits::SUMMARY,
            Controls::None,
        )?;
        if let Some(b) = self.body {
            text::check(Field::Body, b, 0, limits::BODY, Controls::Lines)?;
        }
        if let Some(l) = self.lang {
            text::check_lang(Field::Lang, l)?;
        }
        self.check_attributes()
    }

    /// The attributes with strict UTF-8 checks (the wire iterator is lossy
    /// because it runs after validation).
    fn checked_pairs(&self) -> impl Iterator<Item = Result<(&'a str, &'a str), MsgError>> + 'a {
        let (wire, pairs) = match self.attributes {
            Attributes::Wire { region, .. } => (region, &[][..]),
            Attributes::Pairs(p) => (&[][..], p),
        };
        let mut r = Reader::new(wire);
        let from_wire = std::iter::from_fn(move || {
            let field = r.next_field().transpose()?;
            Some(field.and_then(|(_, raw)| {
                let (k, v) = tlv::pair(Field::Attribute, raw)?;
                let k = std::str::from_utf8(k).map_err(|_| MsgError::InvalidUtf8 {
                    field: Field::Attribute,
                })?;
                let v = std::str::from_utf8(v).map_err(|_| MsgError::InvalidUtf8 {
                    field: Field::Attribute,
                })?;
                Ok((k, v))
            }))
        });
        from_wire.chain(pairs.iter().map(|(k, v)| Ok((k.as_str(), v.as_str()))))
    }

    fn check_attributes(&self) -> Result<(), MsgError> {
        if self.attributes.len() > limits::ATTRS {
            return Err(MsgError::TooMany {
                field: Field::Attribute,
                max: limits::ATTRS,
            });
        }
        for (i, pair) in self.checked_pairs().enumerate() {
            let (k, v) = pair?;
            text::check_attr_key(k)?;
            text::check(Field::Attribute, v, 0, limits::ATTR_VALUE, Controls::Lines)?;
            // At most 64 attributes: the quadratic scan beats a hash set.
            if self
                .checked_pairs()
                .take(i)
                .any(|p| matches!(p, Ok((prev, _)) if prev == k))
            {
                return Err(MsgError::DuplicateKey {
                    field: Field::Attribute,
                    key: k.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Validate, then append the encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MsgError> {
        self.check()?;
        tlv::put(out, T_ID, self.source_event_id.as_bytes());
        tlv::put(out, T_KIND, self.kind.as_bytes());
        tlv::put(out, T_USER, self.user.as_bytes());
        if let Some(h) = self.origin_host {
            tlv::put(out, T_ORIGIN, h.as_bytes());
        }
        tlv::put(out, T_AT, &self.occurred_at_ms.to_be_bytes());
        if self.priority != Priority::Normal {
            tlv::put(out, T_PRIO, &[self.priority as u8]);
        }
        tlv::put(out, T_SUMMARY, self.summary.as_bytes());
        if let Some(b) = self.body {
            tlv::put(out, T_BODY, b.as_bytes());
        }
        for (k, v) in self.attributes.iter() {
            tlv::put_pair(out, T_ATTR, k.as_bytes(), v.as_bytes());
        }
        if let Some(l) = self.lang {
            tlv::put(out, T_LANG, l.as_bytes());
        }
        Ok(())
    }
}

/// The source-event-id of an EVENT that failed to decode, when it can still
/// be read (for the REJECT message).
#[must_use]
pub fn peek_source_event_id(buf: &[u8]) -> Option<&str> {
    let mut r = Reader::new(buf);
    let (tag, v) = r.next_field().ok()??;
    if tag != T_ID {
        return None;
    }
    text::text(
        Field::SourceEventId,
        v,
        1,
        limits::SOURCE_EVENT_ID,
        Controls::None,
    )
    .ok()
}
