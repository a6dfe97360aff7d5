//! The subscription state machine.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::build::{SubscribeFields, subscribe};
use super::timing::{T1, T2, TIMER_F, refresh_delay};
use super::{ConfigError, IdGenerator, SubscriptionConfig};
use crate::headers::{MAGIC_COOKIE, SubState};
use crate::{Method, Request, SipMessage, StatusCode};

/// Peer-supplied durations (Expires, Retry-After) are capped here so that
/// `Instant` arithmetic can never overflow.
const MAX_WAIT: Duration = Duration::from_secs(366 * 24 * 3600);

fn after(now: Instant, wait: Duration) -> Instant {
    now + wait.min(MAX_WAIT)
}

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

/// Where the subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started.
    Idle,
    /// Initial SUBSCRIBE sent, no 2xx yet.
    Subscribing,
    /// 2xx received; refreshes keep it alive.
    Active,
    /// Ended; a new subscription starts at the retry time.
    WaitingRetry,
    /// Unsubscribe sent, waiting for its answer.
    Unsubscribing,
    /// Ended for good (unsubscribed, or the notifier said not to retry).
    Stopped,
}

/// Why a subscription ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminationReason {
    /// A final non-2xx response to our SUBSCRIBE.
    Rejected(StatusCode),
    /// No final response within Timer F (32 s).
    Timeout,
    /// A NOTIFY with `Subscription-State: terminated` and this `reason`.
    Notified(Option<String>),
    /// The granted duration ran out without a successful refresh.
    Expired,
    /// We unsubscribed.
    Unsubscribed,
}

/// Something the caller may want to log or count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionEvent {
    /// A 2xx to a SUBSCRIBE granted this many seconds.
    Accepted { expires: u32 },
    /// The subscription ended; `retry_at` is when a new one will be sent,
    /// `None` if never.
    Terminated {
        reason: TerminationReason,
        retry_at: Option<Instant>,
    },
}

/// What [`Subscription::on_notify`] decided; the caller answers with the
/// status given by [`NotifyMatch::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyMatch {
    /// Ours and new: store the state, answer 200.
    Accepted,
    /// Ours, same CSeq as the last one: a retransmission, answer 200 again.
    Retransmission,
    /// Ours but with a lower CSeq than already seen: answer 500
    /// (RFC 3261 §12.2.2).
    OutOfOrder,
    /// Not this subscription's dialog: answer 481 unless another claims it.
    NoMatch,
}

impl NotifyMatch {
    pub fn status(self) -> StatusCode {
        match self {
            NotifyMatch::Accepted | NotifyMatch::Retransmission => StatusCode::OK,
            NotifyMatch::OutOfOrder => StatusCode::SERVER_INTERNAL_ERROR,
            NotifyMatch::NoMatch => StatusCode::CALL_DOES_NOT_EXIST,
        }
    }
}

#[derive(Debug, Clone)]
struct Dialog {
    call_id: String,
    local_tag: String,
    remote_tag: Option<String>,
    /// Contact of the notifier: Request-URI of in-dialog requests.
    remote_target: Option<String>,
    local_cseq: u32,
    remote_cseq: Option<u32>,
    /// The dialog ended but is kept so retransmitted NOTIFYs still match.
    ended: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnKind {
    Initial,
    Refresh,
    Unsubscribe,
}

/// The one outstanding client transaction.
#[derive(Debug, Clone)]
struct Txn {
    kind: TxnKind,
    branch: String,
    cseq: u32,
    bytes: Vec<u8>,
    /// Next retransmission (UDP only).
    retransmit_at: Option<Instant>,
    interval: Duration,
    deadline: Instant,
}

/// One message-summary subscription. See the module docs for the driving
/// loop.
#[derive(Debug, Clone)]
pub struct Subscription {
    cfg: SubscriptionConfig,
    phase: Phase,
    dialog: Option<Dialog>,
    txn: Option<Txn>,
    /// Duration asked for in the next SUBSCRIBE (raised by 423).
    requested: u32,
    refresh_at: Option<Instant>,
    expires_at: Option<Instant>,
    retry_at: Option<Instant>,
    outbox: VecDeque<Vec<u8>>,
    events: VecDeque<SubscriptionEvent>,
}

impl Subscription {
    pub fn new(cfg: SubscriptionConfig) -> Result<Subscription, ConfigError> {
        cfg.validate()?;
        Ok(Subscription {
            requested: cfg.expires,
            cfg,
            phase: Phase::Idle,
            dialog: None,
            txn: None,
            refresh_at: None,
            expires_at: None,
            retry_at: None,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Call-ID of the current (or last) dialog.
    pub fn call_id(&self) -> Option<&str> {
        self.dialog.as_ref().map(|d| d.call_id.as_str())
    }

    /// When the subscription lapses unless refreshed.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }

    /// Sends a fresh initial SUBSCRIBE (new Call-ID and tag), abandoning
    /// any current dialog.
    pub fn start(&mut self, now: Instant, ids: &mut dyn IdGenerator) {
        self.requested = self.cfg.expires;
        self.dialog = Some(Dialog {
            call_id: ids.call_id(),
            local_tag: ids.tag(),
            remote_tag: None,
            remote_target: None,
            local_cseq: 0,
            remote_cseq: None,
            ended: false,
        });
        self.refresh_at = None;
        self.expires_at = None;
        self.retry_at = None;
        self.phase = Phase::Subscribing;
        self.send(TxnKind::Initial, self.requested, now, ids);
    }

    /// Ends the subscription with `Expires: 0`. Without an established
    /// dialog it just stops.
    pub fn unsubscribe(&mut self, now: Instant, ids: &mut dyn IdGenerator) {
        let established = self
            .dialog
            .as_ref()
            .is_some_and(|d| !d.ended && d.remote_tag.is_some());
        self.refresh_at = None;
        self.expires_at = None;
        self.retry_at = None;
        if established {
            self.phase = Phase::Unsubscribing;
            self.send(TxnKind::Unsubscribe, 0, now, ids);
        } else {
            self.txn = None;
            self.stop(TerminationReason::Unsubscribed);
        }
    }

    /// Next request bytes to send to the notifier.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<SubscriptionEvent> {
        self.events.pop_front()
    }

    /// The earliest instant at which [`Subscription::on_timeout`] has work.
    pub fn next_timeout(&self) -> Option<Instant> {
        let txn = self
            .txn
            .as_ref()
            .map(|t| t.retransmit_at.map_or(t.deadline, |r| r.min(t.deadline)));
        // Only timers on_timeout acts on in the current state, so a caller
        // is never woken for nothing (or, worse, in a loop).
        let active = self.phase == Phase::Active;
        let refresh = self.refresh_at.filter(|_| active && self.txn.is_none());
        let expiry = self.expires_at.filter(|_| active);
        let retry = self.retry_at.filter(|_| self.phase == Phase::WaitingRetry);
        [txn, refresh, expiry, retry].into_iter().flatten().min()
    }

    pub fn on_timeout(&mut self, now: Instant, ids: &mut dyn IdGenerator) {
        if let Some(t) = self.txn.as_mut() {
            if t.deadline <= now {
                let kind = t.kind;
                self.txn = None;
                self.fail(kind, TerminationReason::Timeout, None, now);
            } else if let Some(at) = t.retransmit_at.filter(|&at| at <= now) {
                // Timer E: double up to T2 (RFC 3261 §17.1.2.2).
                t.interval = (t.interval * 2).min(T2);
                t.retransmit_at = Some(at.max(now) + t.interval);
                self.outbox.push_back(t.bytes.clone());
            }
        }
        if self.expires_at.is_some_and(|at| at <= now) && self.phase == Phase::Active {
            // No refresh succeeded in time: the notifier has dropped us.
            self.txn = None;
            self.end_dialog();
            self.events.push_back(SubscriptionEvent::Terminated {
                reason: TerminationReason::Expired,
                retry_at: Some(now),
            });
            self.start(now, ids);
            return;
        }
        if self.refresh_at.is_some_and(|at| at <= now) && self.txn.is_none() {
            self.refresh_at = None;
            if self.phase == Phase::Active {
                self.send(TxnKind::Refresh, self.requested, now, ids);
            }
        }
        if self.retry_at.is_some_and(|at| at <= now) && self.phase == Phase::WaitingRetry {
            self.start(now, ids);
        }
    }

    /// Feeds a received response. Returns `false` when it does not belong
    /// to this subscription's outstanding request.
    pub fn on_response(
        &mut self,
        msg: &SipMessage<'_>,
        now: Instant,
        ids: &mut dyn IdGenerator,
    ) -> bool {
        let (Some(status), Some(t), Some(d)) =
            (msg.status(), self.txn.as_mut(), self.dialog.as_mut())
        else {
            return false;
        };
        let ours = msg.top_via().ok().flatten().and_then(|v| v.branch()) == Some(t.branch.as_str())
            && msg.call_id().ok().flatten() == Some(d.call_id.as_str())
            && msg
                .cseq()
                .ok()
                .flatten()
                .is_some_and(|c| c.number == t.cseq && c.method == Method::Subscribe);
        if !ours {
            return false;
        }
        if status.is_provisional() {
            // Proceeding: keep retransmitting, at T2 (§17.1.2.2).
            if t.retransmit_at.is_some() {
                t.interval = T2;
                t.retransmit_at = Some(now + T2);
            }
            return true;
        }
        let kind = t.kind;
        self.txn = None;
        if status.is_success() {
            self.on_success(kind, msg, now);
            return true;
        }
        if status == StatusCode::INTERVAL_TOO_BRIEF && kind != TxnKind::Unsubscribe {
            if let Some(min) = msg
                .min_expires()
                .ok()
                .flatten()
                .filter(|&m| m > self.requested)
            {
                self.requested = min;
                self.send(kind, min, now, ids);
                return true;
            }
        }
        let retry_after = msg.retry_after().ok().flatten();
        if status == StatusCode::CALL_DOES_NOT_EXIST && kind == TxnKind::Refresh {
            // The notifier forgot the dialog: subscribe anew at once.
            self.end_dialog();
            self.events.push_back(SubscriptionEvent::Terminated {
                reason: TerminationReason::Rejected(status),
                retry_at: Some(now),
            });
            self.start(now, ids);
            return true;
        }
        self.fail(kind, TerminationReason::Rejected(status), retry_after, now);
        true
    }

    fn on_success(&mut self, kind: TxnKind, msg: &SipMessage<'_>, now: Instant) {
        if kind == TxnKind::Unsubscribe {
            // The dialog stays open for the notifier's final NOTIFY
            // (RFC 6665 §4.1.2.3), which on_notify still answers 200.
            self.phase = Phase::Stopped;
            self.refresh_at = None;
            self.expires_at = None;
            self.events.push_back(SubscriptionEvent::Terminated {
                reason: TerminationReason::Unsubscribed,
                retry_at: None,
            });
            return;
        }
        if let Some(d) = self.dialog.as_mut() {
            if d.remote_tag.is_none() {
                d.remote_tag = msg
                    .to_header()
                    .ok()
                    .flatten()
                    .and_then(|t| t.tag())
                    .map(str::to_owned);
            }
            if let Some(c) = msg.contact().ok().flatten() {
                d.remote_target = Some(c.uri().to_owned());
            }
        }
        // RFC 6665 §4.1.2.1: the 2xx's Expires is the granted duration; a
        // notifier may shorten but not lengthen it.
        let granted = msg
            .expires()
            .ok()
            .flatten()
            .unwrap_or(self.requested)
            .min(self.requested);
        if granted == 0 {
            // Granted nothing: treat as a rejection rather than spin.
            self.fail(kind, TerminationReason::Expired, None, now);
            return;
        }
        self.phase = Phase::Active;
        self.expires_at = Some(after(now, secs(granted)));
        self.refresh_at = Some(after(now, refresh_delay(granted)));
        self.events
            .push_back(SubscriptionEvent::Accepted { expires: granted });
    }

    /// Matches an in-dialog NOTIFY (already classified as message-summary)
    /// against this subscription and applies its Subscription-State.
    pub fn on_notify(&mut self, req: &Request<'_>, now: Instant) -> NotifyMatch {
        let Some(d) = self.dialog.as_mut() else {
            return NotifyMatch::NoMatch;
        };
        // Our From-tag is the NOTIFY's To-tag; its From-tag is the remote
        // tag, learnt here when the NOTIFY overtakes the 2xx (RFC 6665
        // §4.1.2.4).
        let matches = req.call_id() == d.call_id
            && req.to_tag() == Some(d.local_tag.as_str())
            && match (&d.remote_tag, req.from_tag()) {
                (Some(r), Some(f)) => r == f,
                (None, Some(_)) => !d.ended,
                (_, None) => false,
            };
        if !matches {
            return NotifyMatch::NoMatch;
        }
        let n = req.cseq().number;
        match d.remote_cseq {
            Some(last) if n < last => return NotifyMatch::OutOfOrder,
            Some(last) if n == last => return NotifyMatch::Retransmission,
            _ => d.remote_cseq = Some(n),
        }
        if d.ended {
            // A new NOTIFY on a dialog we consider over: RFC 6665 wants 481.
            return NotifyMatch::NoMatch;
        }
        if d.remote_tag.is_none() {
            d.remote_tag = req.from_tag().map(str::to_owned);
        }
        if let Some(c) = req.contact().ok().flatten() {
            d.remote_target = Some(c.uri().to_owned());
        }
        let Some(state) = req.subscription_state().ok().flatten() else {
            return NotifyMatch::Accepted;
        };
        match state.state {
            SubState::Terminated => self.on_terminated(state.reason(), state.retry_after(), now),
            _ => {
                if let Some(e) = state.expires() {
                    // The notifier may shorten the subscription.
                    let at = after(now, secs(e));
                    if self.expires_at.is_none_or(|cur| at < cur) && self.phase == Phase::Active {
                        self.expires_at = Some(at);
                        let refresh = after(now, refresh_delay(e));
                        self.refresh_at = Some(self.refresh_at.map_or(refresh, |r| r.min(refresh)));
                    }
                }
            }
        }
        NotifyMatch::Accepted
    }

    /// RFC 6665 §4.1.3 reason codes decide whether and when to retry.
    fn on_terminated(&mut self, reason: Option<&str>, retry_after: Option<u32>, now: Instant) {
        if self.phase == Phase::Stopped {
            // The final NOTIFY after an unsubscribe: already reported.
            self.end_dialog();
            return;
        }
        let unsubscribing = self.phase == Phase::Unsubscribing;
        self.txn = None;
        self.end_dialog();
        let reason_owned = reason.map(str::to_owned);
        if unsubscribing {
            self.stop(TerminationReason::Notified(reason_owned));
            return;
        }
        let later = |s: Option<u32>| after(now, s.map_or(self.cfg.retry_interval, secs));
        let retry_at = match reason.map(str::to_ascii_lowercase).as_deref() {
            Some("deactivated") | Some("timeout") => Some(now),
            Some("rejected") | Some("noresource") | Some("invariant") => None,
            Some("probation") | Some("giveup") => Some(later(retry_after)),
            _ => Some(later(retry_after)),
        };
        match retry_at {
            Some(at) => {
                self.phase = Phase::WaitingRetry;
                self.retry_at = Some(at);
                self.events.push_back(SubscriptionEvent::Terminated {
                    reason: TerminationReason::Notified(reason_owned),
                    retry_at: Some(at),
                });
            }
            None => self.stop(TerminationReason::Notified(reason_owned)),
        }
    }

    fn fail(
        &mut self,
        kind: TxnKind,
        reason: TerminationReason,
        retry_after: Option<u32>,
        now: Instant,
    ) {
        self.end_dialog();
        if kind == TxnKind::Unsubscribe {
            self.stop(TerminationReason::Unsubscribed);
            return;
        }
        let wait = retry_after
            .map(secs)
            .unwrap_or_default()
            .max(self.cfg.retry_interval);
        let at = after(now, wait);
        self.phase = Phase::WaitingRetry;
        self.retry_at = Some(at);
        self.events.push_back(SubscriptionEvent::Terminated {
            reason,
            retry_at: Some(at),
        });
    }

    fn stop(&mut self, reason: TerminationReason) {
        self.end_dialog();
        self.phase = Phase::Stopped;
        self.retry_at = None;
        self.events.push_back(SubscriptionEvent::Terminated {
            reason,
            retry_at: None,
        });
    }

    fn end_dialog(&mut self) {
        if let Some(d) = self.dialog.as_mut() {
            d.ended = true;
        }
        self.refresh_at = None;
        self.expires_at = None;
    }

    /// Builds and queues a SUBSCRIBE in the current dialog.
    fn send(&mut self, kind: TxnKind, expires: u32, now: Instant, ids: &mut dyn IdGenerator) {
        let Some(d) = self.dialog.as_mut() else {
            return;
        };
        d.local_cseq += 1;
        let mut branch = ids.branch();
        if !branch.starts_with(MAGIC_COOKIE) {
            branch.insert_str(0, MAGIC_COOKIE);
        }
        let bytes = subscribe(
            &self.cfg,
            &SubscribeFields {
                request_uri: d.remote_target.as_deref().unwrap_or(&self.cfg.request_uri),
                call_id: &d.call_id,
                local_tag: &d.local_tag,
                remote_tag: d.remote_tag.as_deref(),
                cseq: d.local_cseq,
                branch: &branch,
                expires,
            },
        );
        self.outbox.push_back(bytes.clone());
        self.txn = Some(Txn {
            kind,
            branch,
            cseq: d.local_cseq,
            bytes,
            retransmit_at: (!self.cfg.transport.is_reliable()).then_some(now + T1),
            interval: T1,
            deadline: now + TIMER_F,
        });
    }
}
