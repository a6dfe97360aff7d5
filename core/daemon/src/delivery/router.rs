//! Routing: which subscriptions an event matches and the delivery rows it
//! produces. Pure: the clock and the id source are parameters.

use tocsin_abi::Event;
use tocsin_abi::ffi::{WANT_DELIVERY_RECEIPT, WANT_DISPLAY_RECEIPT};
use tocsin_admin::time::rfc3339_ms;
use tocsin_routing::template::Values;
use tocsin_routing::{QuietVerdict, Receipts, SpecError, SubscriptionSpec, Template};
use tocsin_store::NewDelivery;

/// A subscription with its templates compiled.
#[derive(Debug, Clone)]
pub struct Sub {
    pub id: i64,
    pub spec: SubscriptionSpec,
    summary: Option<Template>,
    body: Option<Template>,
    coalesce: Option<Template>,
}

impl Sub {
    pub fn new(id: i64, spec: SubscriptionSpec) -> Result<Sub, SpecError> {
        spec.validate()?;
        let compile = |field: &'static str, t: &Option<String>| {
            t.as_deref()
                .map(Template::parse)
                .transpose()
                .map_err(|source| SpecError::Template { field, source })
        };
        Ok(Sub {
            id,
            summary: compile("summary_template", &spec.options.summary_template)?,
            body: compile("body_template", &spec.options.body_template)?,
            coalesce: compile("coalesce", &spec.options.coalesce)?,
            spec,
        })
    }

    pub fn flags(&self) -> u32 {
        match self.spec.options.receipts {
            Receipts::None => 0,
            Receipts::Delivery => WANT_DELIVERY_RECEIPT,
            Receipts::Display => WANT_DELIVERY_RECEIPT | WANT_DISPLAY_RECEIPT,
        }
    }
}

/// The deliveries an event produces, one per distinct target (the first
/// matching subscription, by id, wins a shared target).
pub fn route(
    subs: &[Sub],
    e: &Event,
    now_ms: i64,
    next_message_id: &mut dyn FnMut() -> String,
) -> Vec<NewDelivery> {
    let mut out: Vec<NewDelivery> = Vec::new();
    let occurred = rfc3339_ms(e.occurred_at_ms);
    let values = Values {
        source: &e.source,
        source_event_id: &e.source_event_id,
        kind: &e.kind,
        user: &e.user,
        origin_host: &e.origin_host,
        summary: &e.summary,
        body: &e.body,
        priority: e.priority.name(),
        occurred_at: &occurred,
        attributes: &e.attributes,
    };
    for s in subs {
        if !s.spec.matches(&e.user, &e.kind, e.priority) {
            continue;
        }
        let t = &s.spec.target;
        if out
            .iter()
            .any(|d| d.target_instance == t.instance && d.target_address == t.address)
        {
            continue;
        }
        let o = &s.spec.options;
        let verdict = match &o.quiet_hours {
            Some(q) => q
                .verdict(now_ms, e.priority)
                .unwrap_or(QuietVerdict::Deliver),
            None => QuietVerdict::Deliver,
        };
        let (state, next, detail) = match verdict {
            QuietVerdict::Deliver => (
                "pending",
                Some(now_ms),
                format!("routed by subscription {}", s.spec.name),
            ),
            QuietVerdict::HoldUntil(t) => (
                "pending",
                Some(t),
                format!(
                    "routed by subscription {}; held for quiet hours until {}",
                    s.spec.name,
                    rfc3339_ms(t)
                ),
            ),
            QuietVerdict::Drop => (
                "dropped",
                None,
                format!(
                    "routed by subscription {}; dropped in quiet hours",
                    s.spec.name
                ),
            ),
        };
        let coalesce_key = match &s.coalesce {
            Some(t) => Some(t.render(&values)).filter(|k| !k.is_empty()),
            None => e.attributes.get("coalesce_key").cloned(),
        };
        out.push(NewDelivery {
            subscription_id: Some(s.id),
            target_instance: t.instance.clone(),
            target_address: t.address.clone(),
            user: e.user.clone(),
            state,
            next_attempt_at: next,
            expires_at: o
                .ttl_s
                .map(|ttl| now_ms.saturating_add((ttl as i64).saturating_mul(1000))),
            message_id: next_message_id(),
            coalesce_key,
            priority: e.priority.as_u8(),
            flags: s.flags(),
            summary: s
                .summary
                .as_ref()
                .map_or_else(|| e.summary.clone(), |t| t.render(&values)),
            body: s
                .body
                .as_ref()
                .map_or_else(|| e.body.clone(), |t| t.render(&values)),
            detail,
            escalated_from: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_abi::Priority;
    use tocsin_routing::{Options, QuietAction, QuietHours, Target};

    fn event(user: &str, kind: &str, p: Priority) -> Event {
        Event {
            source: "s".into(),
            source_event_id: "1".into(),
            kind: kind.into(),
            user: user.into(),
            origin_host: String::new(),
            occurred_at_ms: 0,
            priority: p,
            summary: "New mail".into(),
            body: "body".into(),
            attributes: [("account".to_string(), "sip:100@pbx".to_string())].into(),
        }
    }

    fn sub(id: i64, name: &str, user: &str, kind: &str, target: &str, o: Options) -> Sub {
        Sub::new(
            id,
            SubscriptionSpec {
                name: name.into(),
                user: user.into(),
                kind: kind.into(),
                min_priority: Priority::Min,
                target: Target::parse(target).unwrap(),
                enabled: true,
                options: o,
            },
        )
        .unwrap()
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("m{n}")
        }
    }

    const NOON_UTC: i64 = 1_768_478_400_000; // 2026-01-15T12:00:00Z
    const NIGHT_UTC: i64 = 1_768_516_200_000; // 2026-01-15T22:30:00Z

    #[test]
    fn matches_renders_and_dedupes_targets() {
        let o = Options {
            summary_template: Some("[{kind}] {summary} for {user}".into()),
            coalesce: Some("vm:{attr.account}".into()),
            ttl_s: Some(60),
            receipts: Receipts::Display,
            ..Options::default()
        };
        let subs = vec![
            sub(1, "a", "*@example.org", "mail.*", "rec:im:a@example.org", o),
            sub(
                2,
                "b",
                "alice@example.org",
                "*",
                "rec:im:a@example.org",
                Options::default(),
            ),
            sub(
                3,
                "c",
                "bob@example.org",
                "*",
                "rec:im:b@example.org",
                Options::default(),
            ),
        ];
        let mut next = ids();
        let d = route(
            &subs,
            &event("alice@example.org", "mail.MessageNew", Priority::Normal),
            NOON_UTC,
            &mut next,
        );
        assert_eq!(d.len(), 1, "one delivery per target");
        assert_eq!(d[0].subscription_id, Some(1));
        assert_eq!(
            d[0].summary,
            "[mail.MessageNew] New mail for alice@example.org"
        );
        assert_eq!(d[0].coalesce_key.as_deref(), Some("vm:sip:100@pbx"));
        assert_eq!(d[0].expires_at, Some(NOON_UTC + 60_000));
        assert_eq!(d[0].flags, WANT_DELIVERY_RECEIPT | WANT_DISPLAY_RECEIPT);
        assert_eq!(d[0].next_attempt_at, Some(NOON_UTC));
        assert_eq!(d[0].message_id, "m1");
        let none = route(
            &subs,
            &event("carol@other.org", "mail.MessageNew", Priority::Urgent),
            NOON_UTC,
            &mut next,
        );
        assert!(none.is_empty());
    }

    #[test]
    fn quiet_hours_hold_or_drop_below_the_bypass() {
        let q = |action| Options {
            quiet_hours: Some(QuietHours {
                start: "22:00".into(),
                end: "07:00".into(),
                tz: "Europe/Berlin".into(),
                action,
                bypass_priority: Priority::High,
            }),
            ..Options::default()
        };
        let hold = vec![sub(1, "h", "*", "*", "rec:x", q(QuietAction::Hold))];
        let drop = vec![sub(1, "d", "*", "*", "rec:x", q(QuietAction::Drop))];
        let mut next = ids();
        // 22:30 UTC is 23:30 in Berlin: quiet.
        let d = route(
            &hold,
            &event("u", "a.b", Priority::Normal),
            NIGHT_UTC,
            &mut next,
        );
        assert_eq!(d[0].state, "pending");
        // Held until 07:00 Berlin = 06:00 UTC next morning.
        assert_eq!(
            d[0].next_attempt_at,
            Some(NIGHT_UTC + 7 * 3_600_000 + 30 * 60_000)
        );
        assert!(
            d[0].detail
                .contains("held for quiet hours until 2026-01-16T06:00:00.000Z")
        );
        let d = route(
            &hold,
            &event("u", "a.b", Priority::High),
            NIGHT_UTC,
            &mut next,
        );
        assert_eq!(d[0].next_attempt_at, Some(NIGHT_UTC), "high bypasses");
        let d = route(
            &drop,
            &event("u", "a.b", Priority::Low),
            NIGHT_UTC,
            &mut next,
        );
        assert_eq!(d[0].state, "dropped");
        let d = route(
            &drop,
            &event("u", "a.b", Priority::Low),
            NOON_UTC,
            &mut next,
        );
        assert_eq!(d[0].state, "pending");
    }

    #[test]
    fn default_coalesce_key_comes_from_the_event() {
        let subs = vec![sub(1, "a", "*", "*", "rec:x", Options::default())];
        let mut e = event("u", "voicemail.MessageWaiting", Priority::Normal);
        e.attributes.insert("coalesce_key".into(), "vm:100".into());
        let d = route(&subs, &e, NOON_UTC, &mut ids());
        assert_eq!(d[0].coalesce_key.as_deref(), Some("vm:100"));
    }
}
