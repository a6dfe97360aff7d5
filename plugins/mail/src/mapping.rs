//! A parsed [`MailEvent`] → the [`EventOut`] the plugin emits.
//!
//! - kind `mail.<Event>`, source_event_id the bounded idempotency key;
//! - user the mapped user; summary from the configured template; body the snippet
//!   (already bounded by `snippet_bytes`);
//! - attributes: what a delivery rule or a person may want (folder, uid, from, subject,
//!   unseen, …) plus the format's other parameters as `extra.<name>`. Message content is
//!   never carried: the parser only scans it for From/Subject and drops it.

use crate::config::Settings;
use crate::template::{Template, Values, Var};
use std::collections::BTreeMap;
use thiserror::Error;
use tocsin_abi::event::{
    MAX_ATTRIBUTE_KEY, MAX_ATTRIBUTE_VALUE, MAX_ATTRIBUTES, MAX_ORIGIN_HOST, MAX_SUMMARY,
};
use tocsin_abi::{Event, EventError, Limits};
use tocsin_mailevents::{EventName, MailEvent, truncate_utf8};
use tocsin_sdk::EventOut;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MapError {
    #[error("event name {0:?} cannot form a tocsin kind (letters, digits, '_' and '-' only)")]
    BadKind(String),
    #[error("field {field:?} contains a control character")]
    ControlCharacter { field: String },
    #[error("{0}")]
    Invalid(#[from] EventError),
}

impl MapError {
    /// The JSON field (or event attribute) at fault, for the error response.
    pub fn field(&self) -> Option<&str> {
        match self {
            MapError::BadKind(_) => Some("event"),
            MapError::ControlCharacter { field } => Some(field),
            MapError::Invalid(_) => None,
        }
    }
}

/// The template values of one event.
struct EventValues<'a> {
    ev: &'a MailEvent,
    store_user: &'a str,
}

impl Values for EventValues<'_> {
    fn get(&self, var: Var) -> Option<String> {
        let ev = self.ev;
        let n = |v: Option<u32>| v.map(|x| x.to_string());
        match var {
            Var::Event => Some(ev.event.to_string()),
            Var::User => Some(ev.user.clone()),
            Var::StoreUser => Some(self.store_user.to_string()),
            Var::Folder => ev.mailbox.clone(),
            Var::From => ev.from.as_ref().map(|f| f.best_label().to_string()),
            Var::FromAddress => ev.from.as_ref().and_then(|f| f.address.clone()),
            Var::Subject => ev.subject.clone().filter(|s| !s.is_empty()),
            Var::Snippet => ev.snippet.clone(),
            Var::Uid => n(ev.uid),
            Var::Uidset => ev.uidset.clone(),
            Var::Unseen => n(ev.unseen),
            Var::Messages => n(ev.messages),
            Var::Server => ev.server.clone(),
        }
    }
}

/// Built-in summaries, used unless `summary.<Event>` or `summary.default` is configured.
fn builtin_summary(ev: &EventName) -> &'static str {
    match ev {
        EventName::MessageNew => "New mail from {from}: {subject}",
        EventName::MessageAppend => "Message added to {folder}: {subject}",
        EventName::MessageRead => "Messages read in {folder}",
        EventName::MessageTrash => "Messages marked deleted in {folder}",
        EventName::MessageExpunge | EventName::MessageExpire => "Messages removed from {folder}",
        EventName::QuotaExceed => "Mailbox quota exceeded for {user}",
        EventName::QuotaWithin => "Mailbox back within quota for {user}",
        EventName::CalendarAlarm => "Reminder: {subject}",
        _ => "{event} {folder}",
    }
}

fn summary(settings: &Settings, values: &EventValues<'_>) -> String {
    let ev = &values.ev.event;
    let rendered = match settings
        .summaries
        .get(ev)
        .or(settings.default_summary.as_ref())
    {
        Some(t) => t.render(values),
        None => builtin_summary(ev)
            .parse::<Template>()
            .map(|t| t.render(values))
            .unwrap_or_default(),
    };
    // Values are sanitised by the parser and templates hold no control characters, so
    // only the length and emptiness need care (ingest requires a non-empty summary).
    let trimmed = rendered.trim();
    if trimmed.is_empty() {
        return ev.to_string();
    }
    truncate_utf8(trimmed, MAX_SUMMARY).to_string()
}

/// Identity fields are not sanitised by the parser (changing them could merge two
/// identities), so a control character there refuses the event with the field named.
fn clean_identity(field: &str, value: &str) -> Result<String, MapError> {
    if value.chars().any(char::is_control) {
        return Err(MapError::ControlCharacter {
            field: field.to_string(),
        });
    }
    Ok(value.to_string())
}

/// Display-only values (other parameters) may carry anything; controls become U+FFFD.
fn clean_display(value: &str) -> String {
    let v: String = value
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    truncate_utf8(&v, MAX_ATTRIBUTE_VALUE).to_string()
}

fn attribute_name_ok(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= MAX_ATTRIBUTE_KEY
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn attributes(ev: &MailEvent, store_user: &str) -> Result<BTreeMap<String, String>, MapError> {
    let mut a = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            a.insert(k.to_string(), v);
        }
    };
    put("event", Some(ev.event.to_string()));
    put("format", Some(ev.format.as_str().to_string()));
    put("store_user", Some(clean_identity("user", store_user)?));
    put(
        "folder",
        ev.mailbox
            .as_deref()
            .map(|m| clean_identity("folder", m))
            .transpose()?,
    );
    put("uidvalidity", ev.uidvalidity.map(|v| v.to_string()));
    put("uid", ev.uid.map(|v| v.to_string()));
    put(
        "uidset",
        ev.uidset
            .as_deref()
            .map(|m| clean_identity("uidset", m))
            .transpose()?,
    );
    put("modseq", ev.modseq.map(|v| v.to_string()));
    if let Some(f) = &ev.from {
        put("from", Some(f.decoded.clone()));
        put("from_name", f.display_name.clone());
        put("from_address", f.address.clone());
    }
    put("subject", ev.subject.clone());
    put("unseen", ev.unseen.map(|v| v.to_string()));
    put("messages", ev.messages.map(|v| v.to_string()));
    put("size", ev.size.map(|v| v.to_string()));
    put("server", ev.server.as_deref().map(clean_display));
    put("uri", ev.uri.as_deref().map(clean_display));
    put("timestamp", ev.timestamp.as_deref().map(clean_display));
    put("source_id", ev.source_id.as_deref().map(clean_display));
    let mut truncated = ev.extra_truncated;
    for (k, v) in &ev.extra {
        let name = format!("extra.{k}");
        if a.len() >= MAX_ATTRIBUTES || !attribute_name_ok(&name) {
            truncated = true;
            continue;
        }
        a.insert(name, clean_display(v));
    }
    if truncated && a.len() < MAX_ATTRIBUTES {
        a.insert("extra_truncated".into(), "true".into());
    }
    Ok(a)
}

/// Builds the event; `store_user` is the user as the store named it, `ev.user` the
/// mapped one, `key` the bounded idempotency key.
pub fn to_event(
    settings: &Settings,
    ev: &MailEvent,
    store_user: &str,
    key: String,
) -> Result<EventOut, MapError> {
    let kind = ev.kind();
    if tocsin_abi::validate_kind(&kind).is_err() {
        return Err(MapError::BadKind(ev.event.to_string()));
    }
    let values = EventValues { ev, store_user };
    let out = EventOut {
        source_event_id: key,
        kind,
        user: clean_identity("user", &ev.user)?,
        origin_host: ev
            .server
            .as_deref()
            .filter(|s| s.len() <= MAX_ORIGIN_HOST && !s.chars().any(char::is_control))
            .unwrap_or("")
            .to_string(),
        occurred_at_ms: 0,
        priority: settings
            .priorities
            .get(&ev.event)
            .copied()
            .unwrap_or(settings.default_priority),
        summary: summary(settings, &values),
        body: ev.snippet.clone().unwrap_or_default(),
        attributes: attributes(ev, store_user)?,
    };
    check(&out)?;
    Ok(out)
}

/// Ingest's own checks, run here so a refusal is a precise 4xx naming the problem
/// instead of a bare synchronous `Rejected` from `emit`. The per-instance
/// `max_event_bytes` is the host's to enforce (the plugin does not know it).
fn check(e: &EventOut) -> Result<(), MapError> {
    let event = Event {
        source: "mail".into(),
        source_event_id: e.source_event_id.clone(),
        kind: e.kind.clone(),
        user: e.user.clone(),
        origin_host: e.origin_host.clone(),
        occurred_at_ms: 0,
        priority: e.priority,
        summary: e.summary.clone(),
        body: e.body.clone(),
        attributes: e.attributes.clone(),
    };
    event.validate(&Limits {
        max_event_bytes: usize::MAX,
    })?;
    Ok(())
}
