//! The one ingest path: every source (admin `send`, S2S, plugins) turns
//! its input into an `Event`, which is validated here and queued for the
//! iteration's group commit.

use tocsin_abi::{Event, EventError, Limits};
use tocsin_admin::SendArgs;
use tocsin_store::{Op, now_ms};

/// Source event ids for producers that did not supply one. Unique across
/// restarts: wall-clock milliseconds, a per-process random salt and a
/// counter.
pub struct IdGenerator {
    prefix: String,
    counter: u64,
}

impl IdGenerator {
    pub fn new(appliance_id: &str) -> Self {
        let salt = random_u32();
        IdGenerator {
            prefix: format!("{appliance_id}-{salt:08x}"),
            counter: 0,
        }
    }

    pub fn next(&mut self) -> String {
        self.counter += 1;
        format!("{}-{}-{}", self.prefix, now_ms(), self.counter)
    }
}

fn random_u32() -> u32 {
    use std::io::Read;
    let mut b = [0u8; 4];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok()
    {
        return u32::from_ne_bytes(b);
    }
    // Fall back to something that still differs between processes.
    std::process::id() ^ (now_ms() as u32)
}

/// The source name `tocsinctl send` uses unless told otherwise.
pub const ADMIN_SOURCE: &str = "admin";

pub fn event_from_admin(args: SendArgs, ids: &mut IdGenerator) -> Event {
    Event {
        source: args.source.unwrap_or_else(|| ADMIN_SOURCE.to_string()),
        source_event_id: args.id.unwrap_or_else(|| ids.next()),
        kind: args.kind,
        user: args.user,
        origin_host: args.origin_host.unwrap_or_default(),
        occurred_at_ms: args.occurred_at_ms.unwrap_or_else(now_ms),
        priority: args.priority.unwrap_or_default(),
        summary: args.summary,
        body: args.body.unwrap_or_default(),
        attributes: args.attributes,
    }
}

/// Validates an event and turns it into the store operation.
pub fn admit(event: Event, limits: &Limits) -> Result<Op, EventError> {
    event.validate(limits)?;
    Ok(Op::InsertEvent {
        event,
        received_at_ms: now_ms(),
        deliveries: Vec::new(),
    })
}
