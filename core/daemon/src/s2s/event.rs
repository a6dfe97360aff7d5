//! One EVENT from a source: authorization against its provisioning, then
//! the shared ingest path (`ingest::admit`), which validates it the same
//! way as every other path and turns it into the store operation.

use super::policy::SourcePolicy;
use crate::ingest;
use std::collections::BTreeMap;
use tocsin_abi::{Event, EventError, Limits, Priority};
use tocsin_s2s::{Code, IncomingEvent};
use tocsin_store::Op;

/// The attribute that carries the event's language (the event model has
/// no field of its own for it; D-14).
pub const LANG_ATTRIBUTE: &str = "lang";

/// A refused event: the REJECT code and its text.
pub type Refused = (Code, String);

/// Decides an EVENT: `Ok` is the op to commit, `Err` the REJECT to send.
/// `source` is the connection's authenticated source; its name, never a
/// value from the message, becomes the event's `source`.
pub fn admit(ev: &IncomingEvent<'_>, source: &SourcePolicy) -> Result<Op, Refused> {
    let msg = &ev.event;
    if !source.may_emit_for(msg.user) {
        return Err((
            Code::UnauthorizedUser,
            format!(
                "source {} may not emit events for user {:?}",
                source.cfg.name, msg.user
            ),
        ));
    }
    let kind = format!("{}.{}", ev.kind.namespace, ev.kind.name);
    if !source.may_emit_kind(&kind) {
        return Err((
            Code::UnauthorizedSource,
            format!("source {} may not emit {kind} events", source.cfg.name),
        ));
    }
    let mut attributes: BTreeMap<String, String> = msg
        .attributes
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if let Some(lang) = ev.lang {
        // An explicit attribute of that name is the source's own choice.
        attributes
            .entry(LANG_ATTRIBUTE.to_owned())
            .or_insert_with(|| lang.to_owned());
    }
    let event = Event {
        source: source.cfg.name.clone(),
        source_event_id: msg.source_event_id.to_owned(),
        kind,
        user: msg.user.to_owned(),
        origin_host: ev.origin_host.to_owned(),
        occurred_at_ms: msg.occurred_at_ms,
        priority: Priority::from_u8(msg.priority as u8).unwrap_or_default(),
        summary: msg.summary.to_owned(),
        body: msg.body.unwrap_or_default().to_owned(),
        attributes,
    };
    let limits = Limits {
        max_event_bytes: source.cfg.max_event_bytes,
    };
    ingest::admit(event, &limits).map_err(|e| (code_of(&e), e.to_string()))
}

/// The shared validation's codes in the S2S code space.
fn code_of(e: &EventError) -> Code {
    match e {
        EventError::TooLarge { .. } => Code::TooLarge,
        EventError::BadKind { .. } => Code::UnknownKind,
        _ => Code::Malformed,
    }
}
