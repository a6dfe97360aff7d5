//! The routing and delivery engine: routes events to subscriptions inside
//! the commit that stores them, dispatches due deliveries to delivery
//! plugins (FIFO per recipient, bounded in flight per instance, rate
//! limited), applies results and receipts, escalates, and prunes.

mod random;
pub mod router;

use crate::daemon::{Continuation, Daemon, TimerKind};
use crate::plugins::{DeliveryIn, DeliveryReport, InstanceRef, Kind};
use random::Random;
use router::Sub;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};
use tocsin_abi::ffi;
use tocsin_routing::{PresencePolicy, RetryPolicy};
use tocsin_store::{NewDelivery, Op, Transition, now_ms};

/// (user, instance, address), NUL-separated (none of them may contain
/// NUL): the unit of FIFO ordering. One string, so the dispatcher can look
/// a row's key up in `busy_keys` through a reused buffer.
type QueueKey = String;

fn queue_key_into(buf: &mut String, user: &str, instance: &str, address: &str) {
    buf.clear();
    buf.push_str(user);
    buf.push('\0');
    buf.push_str(instance);
    buf.push('\0');
    buf.push_str(address);
}

struct InFlight {
    instance: InstanceRef,
    instance_name: String,
    key: QueueKey,
    subscription_id: Option<i64>,
    attempts: u32,
    flags: u32,
}

pub struct Engine {
    pub subs: Vec<Sub>,
    in_flight: HashMap<i64, InFlight>,
    /// Deliveries in flight per recipient queue (at most
    /// `delivery.max_in_flight_per_recipient`).
    busy_keys: HashMap<QueueKey, u32>,
    per_instance: HashMap<String, u32>,
    /// Sliding windows for per-user rate limits: (sub, user) → send times.
    windows: HashMap<(i64, String), VecDeque<i64>>,
    /// Presence reported by delivery plugins: (instance, address).
    presence: HashMap<(String, String), bool>,
    /// Escalations queued in this iteration (not yet committed).
    escalating: HashSet<i64>,
    /// Deliveries that reached a final state in this iteration (not yet
    /// committed): they must not block younger ones to the same recipient.
    settled: HashSet<i64>,
    /// The oldest delivery per recipient queue that went back to waiting in
    /// this iteration (retry, requeue): until that commits, the store does
    /// not show it as handed out, yet younger rows must wait behind it.
    requeued: HashMap<QueueKey, i64>,
    /// Targets with more held deliveries than one release slice.
    releasing: Vec<(String, String)>,
    pub random: Random,
    pub dispatch_needed: bool,
    timer: Option<(crate::timers::TimerId, i64)>,
}

impl Engine {
    pub fn new() -> Engine {
        Engine {
            subs: Vec::new(),
            in_flight: HashMap::new(),
            busy_keys: HashMap::new(),
            per_instance: HashMap::new(),
            windows: HashMap::new(),
            presence: HashMap::new(),
            escalating: HashSet::new(),
            settled: HashSet::new(),
            requeued: HashMap::new(),
            releasing: Vec::new(),
            random: Random::new(),
            dispatch_needed: true,
            timer: None,
        }
    }

    fn sub(&self, id: Option<i64>) -> Option<&Sub> {
        let id = id?;
        self.subs.iter().find(|s| s.id == id)
    }
}

/// The state names as `'static` strings for transitions that keep the
/// current state.
fn static_state(s: &str) -> &'static str {
    match s {
        "pending" => "pending",
        "in-flight" => "in-flight",
        "sent" => "sent",
        "delivered" => "delivered",
        "displayed" => "displayed",
        "retrying" => "retrying",
        "dead" => "dead",
        "expired" => "expired",
        "coalesced" => "coalesced",
        "dropped" => "dropped",
        _ => "failed",
    }
}

/// Dispatch passes look at this many due deliveries at a time.
const DISPATCH_BATCH: u32 = 512;
/// ... found among at most this many due rows: the others belong to
/// recipients that are busy (or instances that are full) and are skipped on
/// the index alone. Scanning deeper (2 048, 8 192) made every pass slower
/// when all recipients are busy and cost more than it found (BENCHMARKS.md).
const DISPATCH_SCAN: u32 = 512;
/// Held deliveries released per commit when a recipient becomes present.
const RELEASE_SLICE: u32 = 5_000;

impl Daemon {
    /// Reads subscriptions from the store (at start and after changes).
    pub(crate) fn load_subscriptions(&mut self) {
        let rows = match self.store.subscriptions() {
            Ok(r) => r,
            Err(e) => {
                log::error!("cannot read subscriptions: {e}");
                return;
            }
        };
        let mut subs = Vec::new();
        for (id, json, _) in rows {
            match serde_json::from_str(&json)
                .map_err(|e| e.to_string())
                .and_then(|spec| Sub::new(id, spec).map_err(|e| e.to_string()))
            {
                Ok(s) => subs.push(s),
                Err(e) => log::error!("subscription {id} is unusable and ignored: {e}"),
            }
        }
        self.engine.subs = subs;
        self.engine.dispatch_needed = true;
    }

    /// Fills in the deliveries of every new event in the batch, just before
    /// it commits: event and deliveries land in one transaction.
    pub(crate) fn route_batch(&mut self) {
        if self.engine.subs.is_empty() {
            return;
        }
        let now = now_ms();
        let engine = &mut self.engine;
        let subs = &engine.subs;
        let random = &mut engine.random;
        let mut routed = 0usize;
        self.batch.for_each_op(|op| {
            if let Op::InsertEvent {
                event, deliveries, ..
            } = op
                && deliveries.is_empty()
            {
                *deliveries = router::route(subs, event, now, &mut || random.message_id());
                routed += deliveries.len();
            }
        });
        if routed > 0 {
            engine.dispatch_needed = true;
        }
    }

    /// Hands due deliveries to their plugins. Runs after a commit that
    /// changed the queue, and when the next-due timer fires.
    pub(crate) fn dispatch(&mut self) {
        if !self.engine.dispatch_needed || self.stopping() {
            return;
        }
        self.engine.dispatch_needed = false;
        // The pass makes a few queries per row; one read transaction around
        // them all (nothing commits during a pass).
        if let Err(e) = self.store.begin_reads() {
            log::warn!("{e}");
        }
        self.dispatch_pass();
        self.store.end_reads();
    }

    fn dispatch_pass(&mut self) {
        let now = now_ms();
        self.escalate(now);
        let max_in_flight = self.cfg.delivery.max_in_flight;
        let per_recipient = self.cfg.delivery.max_in_flight_per_recipient;
        let engine = &self.engine;
        let mut buf = String::new();
        // Rows that would be skipped below anyway are not decoded; expired
        // ones are kept so they expire now, whatever blocks them.
        let due = self
            .store
            .due_rows_where(now, DISPATCH_BATCH, DISPATCH_SCAN, |k| {
                if k.expires_at.is_some_and(|t| t <= now) {
                    return true;
                }
                if engine.in_flight.contains_key(&k.id)
                    || engine
                        .per_instance
                        .get(k.target_instance)
                        .is_some_and(|&c| c >= max_in_flight)
                {
                    return false;
                }
                queue_key_into(&mut buf, k.user, k.target_instance, k.target_address);
                engine
                    .busy_keys
                    .get(buf.as_str())
                    .is_none_or(|&n| n < per_recipient)
            });
        let due = match due {
            Ok(d) => d,
            Err(e) => {
                log::error!("cannot read due deliveries: {e}");
                return;
            }
        };
        let window: HashSet<i64> = due.iter().map(|d| d.id).collect();
        let mut full: HashSet<String> = HashSet::new();
        for d in due {
            if self.engine.in_flight.contains_key(&d.id) {
                continue;
            }
            if d.expires_at.is_some_and(|t| t <= now) {
                self.push_transition(Transition {
                    id: d.id,
                    from: &["pending", "retrying"],
                    to: "expired",
                    attempts: None,
                    next_attempt_at: Some(None),
                    escalate_at: None,
                    last_error: None,
                    detail: "TTL passed before it could be delivered".into(),
                });
                continue;
            }
            if full.contains(&d.target_instance) {
                continue;
            }
            let mut key = QueueKey::new();
            queue_key_into(&mut key, &d.user, &d.target_instance, &d.target_address);
            if self
                .engine
                .busy_keys
                .get(&key)
                .is_some_and(|&n| n >= per_recipient)
                || self.engine.requeued.get(&key).is_some_and(|&b| b < d.id)
            {
                continue;
            }
            match self
                .store
                .older_unfinished(&d.user, &d.target_instance, &d.target_address, d.id)
            {
                Ok(older) => {
                    // Rows settled in this iteration (their final state is
                    // in the uncommitted batch) no longer block, nor do
                    // older rows still in flight to the same recipient
                    // (pipelined, when the window allows more than one).
                    let engine = &self.engine;
                    let blocker = older.into_iter().find(|(id, state, _)| {
                        let pipelined = state == "in-flight" && engine.in_flight.contains_key(id);
                        !(engine.settled.contains(id) || pipelined)
                    });
                    if let Some((blocker_id, state, next)) = blocker {
                        // FIFO per recipient: wait behind the older one. A
                        // waiting blocker is due at a known time: move this
                        // one behind it, so it is not looked at before the
                        // blocker had its turn. A blocker that is due already
                        // but outside this pass's window must not stay
                        // behind a window full of rows it blocks (a
                        // livelock once more than a window of them sort
                        // first): those move just behind now.
                        let waiting = state == "retrying" || state == "pending";
                        let at = match next {
                            Some(t) if t > now => Some(t),
                            _ if !window.contains(&blocker_id) => Some(now + 1),
                            _ => None,
                        };
                        if waiting
                            && let Some(at) = at
                            && d.next_attempt_at.is_none_or(|n| n < at)
                        {
                            self.defer(
                                d.id,
                                &d.state,
                                at,
                                "waiting behind an older delivery to the same recipient",
                            );
                        }
                        continue;
                    }
                }
                Err(e) => {
                    log::error!("{e}");
                    continue;
                }
            }
            let inst = self.plugins.instance_ref(&d.target_instance);
            let kind = self.plugins.kind_of(&d.target_instance);
            let running = inst.filter(|r| self.plugins.is_current(*r));
            let Some(instance) = running else {
                let at = now + self.cfg.delivery.unavailable_retry_ms as i64;
                self.defer(
                    d.id,
                    &d.state,
                    at,
                    &format!(
                        "delivery plugin instance {} is not running",
                        d.target_instance
                    ),
                );
                continue;
            };
            if kind != Some(Kind::Delivery) {
                self.push_transition(Transition {
                    id: d.id,
                    from: &["pending", "retrying"],
                    to: "dead",
                    attempts: None,
                    next_attempt_at: Some(None),
                    escalate_at: None,
                    last_error: Some(format!("{} is not a delivery plugin", d.target_instance)),
                    detail: "permanent failure".into(),
                });
                continue;
            }
            let count = self
                .engine
                .per_instance
                .get(&d.target_instance)
                .copied()
                .unwrap_or(0);
            if count >= max_in_flight {
                full.insert(d.target_instance.clone());
                continue;
            }
            // Only now is the row read whole: most rows of a backlog stop at
            // one of the checks above.
            let d = match self.store.due_delivery(d.id) {
                Ok(Some(full_row)) => full_row,
                Ok(None) => continue,
                Err(e) => {
                    log::error!("{e}");
                    continue;
                }
            };
            let sub = self.engine.sub(d.subscription_id).cloned();
            if let Some(s) = &sub {
                if let Some(rl) = s.spec.options.rate_limit {
                    let w = self
                        .engine
                        .windows
                        .entry((s.id, d.user.clone()))
                        .or_default();
                    let start = now - (rl.window_s as i64) * 1000;
                    while w.front().is_some_and(|&t| t <= start) {
                        w.pop_front();
                    }
                    if w.len() as u32 >= rl.count {
                        let at = w
                            .front()
                            .map_or(now + 1000, |&t| t + (rl.window_s as i64) * 1000);
                        self.defer(d.id, &d.state, at, "per-user rate limit");
                        continue;
                    }
                }
                let present = self
                    .engine
                    .presence
                    .get(&(d.target_instance.clone(), d.target_address.clone()))
                    .copied();
                if present == Some(false) {
                    match s.spec.options.presence {
                        PresencePolicy::Ignore => {}
                        PresencePolicy::Hold => {
                            // Re-dispatched when presence changes.
                            self.defer(
                                d.id,
                                &d.state,
                                now + 3_600_000,
                                "held until the recipient is present",
                            );
                            continue;
                        }
                        PresencePolicy::Escalate => {
                            if let Some(t) = &s.spec.options.escalate_to {
                                self.escalate_one(
                                    d.id,
                                    d.event_id,
                                    &d.user,
                                    d.priority,
                                    &d.summary,
                                    &d.body,
                                    t.clone(),
                                    "recipient not present",
                                );
                                self.push_transition(Transition {
                                    id: d.id,
                                    from: &["pending", "retrying"],
                                    to: "expired",
                                    attempts: None,
                                    next_attempt_at: Some(None),
                                    escalate_at: None,
                                    last_error: None,
                                    detail: "recipient not present; escalated instead".into(),
                                });
                                continue;
                            }
                        }
                    }
                }
            }
            if let Some(s) = &sub
                && s.spec.options.rate_limit.is_some()
            {
                self.engine
                    .windows
                    .entry((s.id, d.user.clone()))
                    .or_default()
                    .push_back(now);
            }
            let attempts = d.attempts + 1;
            self.push_transition(Transition {
                id: d.id,
                from: &["pending", "retrying"],
                to: "in-flight",
                attempts: Some(attempts),
                next_attempt_at: Some(None),
                escalate_at: None,
                last_error: None,
                detail: format!("attempt {attempts} handed to {}", d.target_instance),
            });
            self.engine.in_flight.insert(
                d.id,
                InFlight {
                    instance,
                    instance_name: d.target_instance.clone(),
                    key: key.clone(),
                    subscription_id: d.subscription_id,
                    attempts,
                    flags: d.flags,
                },
            );
            *self.engine.busy_keys.entry(key).or_default() += 1;
            *self
                .engine
                .per_instance
                .entry(d.target_instance.clone())
                .or_default() += 1;
            let handed = self.plugins.deliver(
                instance,
                &DeliveryIn {
                    delivery_id: d.id as u64,
                    event_id: d.event_id,
                    occurred_at_ms: d.occurred_at_ms,
                    attempt: attempts,
                    priority: d.priority,
                    flags: d.flags,
                    target: &d.target_address,
                    user: &d.user,
                    kind: &d.kind,
                    source: &d.source,
                    summary: &d.summary,
                    body: &d.body,
                    message_id: &d.message_id,
                },
            );
            if !handed {
                // The instance failed inside deliver: back to the queue.
                self.requeue(d.id, "the delivery plugin failed while taking it");
            }
            // A synchronous answer frees the recipient's queue for the
            // next row of this same pass.
            self.apply_plugin_effects();
        }
        self.apply_plugin_effects();
        self.arm_delivery_timer();
    }

    fn push_transition(&mut self, t: Transition) {
        self.batch.push(Op::Transition(t), Continuation::Nothing);
        self.engine.dispatch_needed = true;
    }

    fn defer(&mut self, id: i64, state: &str, at: i64, why: &str) {
        let from: &'static [&'static str] = if state == "retrying" {
            &["retrying"]
        } else {
            &["pending"]
        };
        let to = if state == "retrying" {
            "retrying"
        } else {
            "pending"
        };
        self.batch.push(
            Op::Transition(Transition {
                id,
                from,
                to,
                attempts: None,
                next_attempt_at: Some(Some(at)),
                escalate_at: None,
                last_error: None,
                detail: why.to_string(),
            }),
            Continuation::Nothing,
        );
    }

    fn finish_in_flight(&mut self, id: i64) -> Option<InFlight> {
        let f = self.engine.in_flight.remove(&id)?;
        if let Some(n) = self.engine.busy_keys.get_mut(&f.key) {
            *n -= 1;
            if *n == 0 {
                self.engine.busy_keys.remove(&f.key);
            }
        }
        if let Some(n) = self.engine.per_instance.get_mut(&f.instance_name) {
            *n = n.saturating_sub(1);
        }
        self.engine.dispatch_needed = true;
        Some(f)
    }

    /// Notes that `id` waits again: younger rows of its queue stay behind.
    fn note_requeued(&mut self, key: QueueKey, id: i64) {
        let oldest = self.engine.requeued.entry(key).or_insert(id);
        *oldest = (*oldest).min(id);
    }

    fn requeue(&mut self, id: i64, why: &str) {
        if let Some(f) = self.finish_in_flight(id) {
            self.note_requeued(f.key, id);
            self.push_transition(Transition {
                id,
                from: &["in-flight"],
                to: "pending",
                attempts: None,
                next_attempt_at: Some(Some(now_ms() + 1000)),
                escalate_at: None,
                last_error: Some(why.to_string()),
                detail: why.to_string(),
            });
        }
    }

    /// Deliveries held by an instance that failed go back to the queue.
    pub(crate) fn requeue_instance(&mut self, r: InstanceRef) {
        let ids: Vec<i64> = self
            .engine
            .in_flight
            .iter()
            .filter(|(_, f)| f.instance == r)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.requeue(id, "the delivery plugin instance stopped");
        }
    }

    fn retry_policy(&self, sub: Option<i64>) -> RetryPolicy {
        self.engine
            .sub(sub)
            .and_then(|s| s.spec.options.retry)
            .unwrap_or(RetryPolicy {
                base_ms: self.cfg.delivery.retry_base_ms,
                cap_ms: self.cfg.delivery.retry_cap_ms,
                max_attempts: self.cfg.delivery.max_attempts,
            })
    }

    fn escalate_deadline(&self, sub: Option<i64>, now: i64) -> Option<i64> {
        let s = self.engine.sub(sub)?;
        let after = s.spec.options.escalate_after_s?;
        Some(now + (after as i64) * 1000)
    }

    pub(crate) fn delivery_result(&mut self, instance: InstanceRef, r: DeliveryReport) {
        let id = r.delivery_id as i64;
        match self.engine.in_flight.get(&id) {
            Some(f) if f.instance == instance => {}
            _ => {
                log::warn!(
                    "delivery {id}: result {} from an instance not holding it; ignored",
                    r.outcome
                );
                return;
            }
        }
        let Some(f) = self.finish_in_flight(id) else {
            return;
        };
        let now = now_ms();
        let ok = matches!(r.outcome, ffi::OUTCOME_SENT | ffi::OUTCOME_DELIVERED);
        if r.outcome != ffi::OUTCOME_RETRY {
            self.engine.settled.insert(id);
        }
        self.plugins.count_delivery(f.instance.slot, ok);
        let t = match r.outcome {
            ffi::OUTCOME_SENT | ffi::OUTCOME_DELIVERED => {
                let to = if r.outcome == ffi::OUTCOME_SENT {
                    "sent"
                } else {
                    "delivered"
                };
                let esc = if f.flags & ffi::WANT_DISPLAY_RECEIPT != 0 {
                    self.escalate_deadline(f.subscription_id, now)
                } else {
                    None
                };
                Transition {
                    id,
                    from: &["in-flight"],
                    to,
                    attempts: None,
                    next_attempt_at: Some(None),
                    escalate_at: Some(esc),
                    last_error: None,
                    detail: if r.reason.is_empty() {
                        format!("attempt {} succeeded", f.attempts)
                    } else {
                        format!("attempt {} succeeded: {}", f.attempts, r.reason)
                    },
                }
            }
            ffi::OUTCOME_RETRY => {
                let policy = self.retry_policy(f.subscription_id);
                if policy.exhausted(f.attempts) {
                    Transition {
                        id,
                        from: &["in-flight"],
                        to: "dead",
                        attempts: None,
                        next_attempt_at: Some(None),
                        escalate_at: None,
                        last_error: Some(r.reason.clone()),
                        detail: format!("gave up after {} attempts: {}", f.attempts, r.reason),
                    }
                } else {
                    self.note_requeued(f.key.clone(), id);
                    let delay = policy
                        .delay_ms(f.attempts, self.engine.random.unit())
                        .max(r.retry_after_ms);
                    Transition {
                        id,
                        from: &["in-flight"],
                        to: "retrying",
                        attempts: None,
                        next_attempt_at: Some(Some(now + delay as i64)),
                        escalate_at: None,
                        last_error: Some(r.reason.clone()),
                        detail: format!(
                            "attempt {} failed ({}); retry in {} ms",
                            f.attempts, r.reason, delay
                        ),
                    }
                }
            }
            _ => Transition {
                id,
                from: &["in-flight"],
                to: "dead",
                attempts: None,
                next_attempt_at: Some(None),
                escalate_at: None,
                last_error: Some(r.reason.clone()),
                detail: format!("permanent failure: {}", r.reason),
            },
        };
        self.push_transition(t);
    }

    pub(crate) fn receipt(
        &mut self,
        instance: &str,
        message_id: &str,
        disposition: u32,
        detail: &str,
    ) {
        let d = match self.store.delivery_by_message_id(message_id) {
            Ok(Some(d)) => d,
            Ok(None) => {
                log::debug!("[{instance}] receipt for unknown message id {message_id}");
                return;
            }
            Err(e) => {
                log::error!("{e}");
                return;
            }
        };
        if d.target_instance != instance {
            log::warn!(
                "[{instance}] receipt for delivery {} of instance {}; ignored",
                d.id,
                d.target_instance
            );
            return;
        }
        let now = now_ms();
        let note = |what: &str| {
            if detail.is_empty() {
                what.to_string()
            } else {
                format!("{what}: {detail}")
            }
        };
        let t = match disposition {
            ffi::RECEIPT_DELIVERED => {
                let esc = if d.flags & ffi::WANT_DISPLAY_RECEIPT != 0 && d.escalate_at.is_none() {
                    Some(self.escalate_deadline(d.subscription_id, now))
                } else {
                    None
                };
                Transition {
                    id: d.id,
                    from: &["in-flight", "sent"],
                    to: "delivered",
                    attempts: None,
                    next_attempt_at: None,
                    escalate_at: esc,
                    last_error: None,
                    detail: note("delivery receipt"),
                }
            }
            ffi::RECEIPT_DISPLAYED => Transition {
                id: d.id,
                from: &["in-flight", "sent", "delivered"],
                to: "displayed",
                attempts: None,
                next_attempt_at: None,
                escalate_at: Some(None),
                last_error: None,
                detail: note("display receipt"),
            },
            _ => Transition {
                id: d.id,
                from: &["in-flight", "sent", "delivered"],
                to: "failed",
                attempts: None,
                next_attempt_at: None,
                // A failed delivery will never be displayed: escalate now.
                escalate_at: Some(self.escalate_deadline(d.subscription_id, now).map(|_| now)),
                last_error: Some(note("negative receipt")),
                detail: note("negative receipt"),
            },
        };
        if d.state == "in-flight" {
            // The receipt overtook the plugin's own answer.
            self.finish_in_flight(d.id);
        }
        self.push_transition(t);
    }

    pub(crate) fn presence(&mut self, instance: &str, address: &str, available: bool) {
        let prev = self
            .engine
            .presence
            .insert((instance.to_string(), address.to_string()), available);
        log::debug!("presence of {instance}:{address}: {available} (was {prev:?})");
        // After a restart the map starts empty while deliveries held before it
        // are still deferred: anything but "already present" releases them.
        if available && prev != Some(true) {
            // Held deliveries for this address are due now. A hold decided
            // earlier in this iteration is still in the uncommitted batch,
            // invisible to the release query: release after the commit.
            if self.batch.is_empty() {
                if let Err(e) = self.release_held(instance, address) {
                    log::error!("{e}");
                }
            } else {
                self.engine
                    .releasing
                    .push((instance.to_string(), address.to_string()));
            }
        }
    }

    /// Makes the deliveries to (instance, address) that wait for a later
    /// time due now. In slices of `RELEASE_SLICE`: a larger backlog is
    /// released slice by slice after each commit (released rows are due
    /// now, so the next slice starts where this one ended).
    fn release_held(
        &mut self,
        instance: &str,
        address: &str,
    ) -> Result<(), tocsin_store::StoreError> {
        let now = now_ms();
        let held = self
            .store
            .deferred_for_target(instance, address, now, RELEASE_SLICE)?;
        if held.len() as u32 == RELEASE_SLICE {
            self.engine
                .releasing
                .push((instance.to_string(), address.to_string()));
        }
        for (id, state) in held {
            self.defer(id, &state, now, "recipient is present");
        }
        self.engine.dispatch_needed = true;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn escalate_one(
        &mut self,
        from: i64,
        event_id: i64,
        user: &str,
        priority: u8,
        summary: &str,
        body: &str,
        target: tocsin_routing::Target,
        why: &str,
    ) {
        let now = now_ms();
        let message_id = self.engine.random.message_id();
        self.batch.push(
            Op::InsertDelivery {
                event_id,
                delivery: NewDelivery {
                    subscription_id: None,
                    target_instance: target.instance.clone(),
                    target_address: target.address.clone(),
                    user: user.to_string(),
                    state: "pending",
                    next_attempt_at: Some(now),
                    expires_at: None,
                    message_id,
                    coalesce_key: None,
                    priority,
                    flags: 0,
                    summary: summary.to_string(),
                    body: body.to_string(),
                    detail: format!("escalation of delivery {from}: {why}"),
                    escalated_from: Some(from),
                },
            },
            Continuation::Nothing,
        );
        self.engine.dispatch_needed = true;
    }

    /// One new delivery per overdue display receipt; the deadline is
    /// cleared in the same transaction, so a restart cannot repeat it.
    fn escalate(&mut self, now: i64) {
        let due = match self.store.escalations_due(now, 256) {
            Ok(d) => d,
            Err(e) => {
                log::error!("cannot read escalations: {e}");
                return;
            }
        };
        for d in due {
            if !self.engine.escalating.insert(d.id) {
                continue;
            }
            let target = self
                .engine
                .sub(d.subscription_id)
                .and_then(|s| s.spec.options.escalate_to.clone());
            match target {
                Some(t) if d.state != "displayed" => {
                    self.escalate_one(
                        d.id,
                        d.event_id,
                        &d.user,
                        d.priority,
                        &d.summary,
                        &d.body,
                        t,
                        "no display receipt in time",
                    );
                }
                _ => self.push_transition(Transition {
                    id: d.id,
                    from: &["sent", "delivered", "displayed", "failed", "in-flight"],
                    to: static_state(&d.state),
                    attempts: None,
                    next_attempt_at: None,
                    escalate_at: Some(None),
                    last_error: None,
                    detail: "escalation no longer configured".into(),
                }),
            }
        }
    }

    /// Called after every commit.
    pub(crate) fn after_commit_deliveries(&mut self) {
        self.engine.escalating.clear();
        self.engine.settled.clear();
        self.engine.requeued.clear();
        for (instance, address) in std::mem::take(&mut self.engine.releasing) {
            if let Err(e) = self.release_held(&instance, &address) {
                log::error!("{e}");
            }
        }
    }

    /// Keeps one timer armed at the earliest of the next due delivery and
    /// the next escalation deadline.
    pub(crate) fn arm_delivery_timer(&mut self) {
        let next = [self.store.next_due(), self.store.next_escalation()]
            .into_iter()
            .filter_map(|r| r.ok().flatten())
            .min();
        let Some(at) = next else {
            if let Some((id, _)) = self.engine.timer.take() {
                self.timers.cancel(id);
            }
            return;
        };
        if let Some((id, cur)) = self.engine.timer {
            if cur == at {
                return;
            }
            self.timers.cancel(id);
        }
        let delay = Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0));
        let id = self
            .timers
            .after(Instant::now(), delay, TimerKind::Deliveries);
        self.engine.timer = Some((id, at));
    }

    pub(crate) fn deliveries_timer(&mut self) {
        self.engine.timer = None;
        self.engine.dispatch_needed = true;
    }

    pub(crate) fn prune(&mut self) {
        let now = now_ms();
        let day = 86_400_000i64;
        self.batch.push(
            Op::Prune {
                finished_before_ms: now - i64::from(self.cfg.retention.deliveries_days) * day,
                events_before_ms: now - i64::from(self.cfg.retention.events_days) * day,
                limit: 5_000,
            },
            Continuation::Pruned,
        );
    }
}
