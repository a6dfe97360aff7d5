//! Admin requests about subscriptions, deliveries and dead letters.

use super::conn::ConnRef;
use crate::daemon::{Continuation, Daemon};
use crate::delivery::router::Sub;
use tocsin_admin::{
    CountResult, DeliveryDetail, DeliveryInfo, HistoryInfo, IdResult, Request, Response,
    SubscriptionInfo, SubscriptionSpec,
};
use tocsin_store::{DeliveryFilter, DeliveryRecord, Op, OpError, OpOutcome};

/// What an admin write waits for.
#[derive(Debug, Clone)]
pub enum AdminWrite {
    SubsAdd { name: String },
    SubsChanged { name: String },
    Dlq,
}

pub enum Answer {
    Now(Response),
    Later,
}

fn info(r: DeliveryRecord) -> Result<DeliveryInfo, Response> {
    serde_json::to_value(r)
        .and_then(serde_json::from_value)
        .map_err(|e| Response::error("internal", format!("cannot encode delivery: {e}")))
}

fn internal(e: impl std::fmt::Display) -> Response {
    Response::error("internal", e.to_string())
}

impl Daemon {
    fn subscription_infos(&self) -> Result<Vec<SubscriptionInfo>, Response> {
        let rows = self.store.subscriptions().map_err(internal)?;
        let mut out = Vec::new();
        for (id, json, created) in rows {
            let spec: SubscriptionSpec = serde_json::from_str(&json).map_err(internal)?;
            out.push(SubscriptionInfo {
                id,
                created_at_ms: created,
                spec,
            });
        }
        Ok(out)
    }

    pub(crate) fn handle_delivery_request(&mut self, r: ConnRef, req: Request) -> Answer {
        match req {
            Request::SubsAdd { spec } => {
                if let Err(e) = Sub::new(0, (*spec).clone()) {
                    return Answer::Now(Response::error("bad-request", e.to_string()));
                }
                if self.plugins.instance_ref(&spec.target.instance).is_none() {
                    log::warn!(
                        "subscription {}: no plugin instance {} is configured (yet)",
                        spec.name,
                        spec.target.instance
                    );
                }
                let json = match serde_json::to_string(&spec) {
                    Ok(j) => j,
                    Err(e) => return Answer::Now(internal(e)),
                };
                self.batch.push(
                    Op::SubscriptionAdd {
                        name: spec.name.clone(),
                        spec_json: json,
                        enabled: spec.enabled,
                    },
                    Continuation::AdminWrite(r, AdminWrite::SubsAdd { name: spec.name }),
                );
                Answer::Later
            }
            Request::SubsList {} => Answer::Now(match self.subscription_infos() {
                Ok(l) => Response::ok(&l),
                Err(e) => e,
            }),
            Request::SubsShow { name } => Answer::Now(match self.subscription_infos() {
                Ok(l) => match l.into_iter().find(|s| s.spec.name == name) {
                    Some(s) => Response::ok(&s),
                    None => Response::error("not-found", format!("no subscription {name:?}")),
                },
                Err(e) => e,
            }),
            Request::SubsRm { name } => {
                self.batch.push(
                    Op::SubscriptionRemove { name: name.clone() },
                    Continuation::AdminWrite(r, AdminWrite::SubsChanged { name }),
                );
                Answer::Later
            }
            Request::SubsEnable { name, enabled } => {
                let found = match self.subscription_infos() {
                    Ok(l) => l.into_iter().find(|s| s.spec.name == name),
                    Err(e) => return Answer::Now(e),
                };
                let Some(mut s) = found else {
                    return Answer::Now(Response::error(
                        "not-found",
                        format!("no subscription {name:?}"),
                    ));
                };
                s.spec.enabled = enabled;
                let json = match serde_json::to_string(&s.spec) {
                    Ok(j) => j,
                    Err(e) => return Answer::Now(internal(e)),
                };
                self.batch.push(
                    Op::SubscriptionUpdate {
                        name: name.clone(),
                        spec_json: json,
                        enabled,
                    },
                    Continuation::AdminWrite(r, AdminWrite::SubsChanged { name }),
                );
                Answer::Later
            }
            Request::DeliveriesList {
                state,
                user,
                limit,
                before_id,
            } => Answer::Now(self.list(DeliveryFilter {
                state,
                user,
                before_id,
                limit: limit.clamp(1, 1000),
            })),
            Request::DlqList { limit } => Answer::Now(self.list(DeliveryFilter {
                state: Some("dead".into()),
                user: None,
                before_id: None,
                limit: limit.clamp(1, 1000),
            })),
            Request::DeliveriesShow { id } => Answer::Now(self.detail(id, false)),
            Request::DlqReplay { id } => {
                self.batch.push(
                    Op::DlqReplay {
                        id,
                        now_ms: tocsin_store::now_ms(),
                    },
                    Continuation::AdminWrite(r, AdminWrite::Dlq),
                );
                Answer::Later
            }
            Request::DlqPurge { id } => {
                self.batch.push(
                    Op::DlqPurge { id },
                    Continuation::AdminWrite(r, AdminWrite::Dlq),
                );
                Answer::Later
            }
            _ => Answer::Now(Response::error("internal", "not a delivery request")),
        }
    }

    fn list(&self, f: DeliveryFilter) -> Response {
        match self.store.list_deliveries(&f) {
            Ok(rows) => {
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    match info(r) {
                        Ok(i) => out.push(i),
                        Err(e) => return e,
                    }
                }
                Response::ok(&out)
            }
            Err(e) => internal(e),
        }
    }

    pub(crate) fn detail(&self, id: i64, _dead_only: bool) -> Response {
        let d = match self.store.delivery(id) {
            Ok(Some(d)) => d,
            Ok(None) => return Response::error("not-found", format!("no delivery with id {id}")),
            Err(e) => return internal(e),
        };
        let event = match self.store.event(d.event_id) {
            Ok(e) => e.map(super::handlers::record),
            Err(e) => return internal(e),
        };
        let history = match self.store.delivery_history(id) {
            Ok(h) => h
                .into_iter()
                .map(|h| HistoryInfo {
                    at: h.at,
                    from_state: h.from_state,
                    to_state: h.to_state,
                    detail: h.detail,
                })
                .collect(),
            Err(e) => return internal(e),
        };
        let escalations = match self.store.escalations_of(id) {
            Ok(e) => e,
            Err(e) => return internal(e),
        };
        let delivery = match info(d) {
            Ok(i) => i,
            Err(e) => return e,
        };
        Response::ok(&DeliveryDetail {
            delivery,
            history,
            escalations,
            event,
        })
    }

    pub(crate) fn admin_write_done(
        &mut self,
        what: AdminWrite,
        outcome: Result<OpOutcome, OpError>,
    ) -> Response {
        match (what, outcome) {
            (_, Err(e)) => Response::error("internal", e.to_string()),
            (AdminWrite::SubsAdd { name }, Ok(OpOutcome::Inserted { id })) => {
                self.load_subscriptions();
                log::info!("subscription {name} added (id {id})");
                Response::ok(&IdResult { id })
            }
            (AdminWrite::SubsAdd { name }, Ok(_)) => Response::error(
                "exists",
                format!("a subscription named {name:?} already exists"),
            ),
            (AdminWrite::SubsChanged { name }, Ok(OpOutcome::Count(0))) => {
                Response::error("not-found", format!("no subscription {name:?}"))
            }
            (AdminWrite::SubsChanged { name }, Ok(OpOutcome::Count(n))) => {
                self.load_subscriptions();
                log::info!("subscription {name} changed");
                Response::ok(&CountResult { count: n })
            }
            (AdminWrite::Dlq, Ok(OpOutcome::Count(n))) => {
                self.engine.dispatch_needed = true;
                Response::ok(&CountResult { count: n })
            }
            (_, Ok(o)) => Response::error("internal", format!("unexpected outcome {o:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_record_decodes_as_admin_info() {
        let r = DeliveryRecord {
            id: 1,
            event_id: 2,
            subscription_id: Some(3),
            target_instance: "rec".into(),
            target_address: "a".into(),
            user: "u".into(),
            state: "sent".into(),
            attempts: 1,
            next_attempt_at: None,
            expires_at: Some(5),
            escalate_at: None,
            last_error: None,
            message_id: "m".into(),
            coalesce_key: None,
            priority: 3,
            flags: 0,
            summary: "s".into(),
            body: String::new(),
            escalated_from: None,
            created_at: 9,
            updated_at: 10,
        };
        let i = info(r).map_err(|_| "decode").unwrap();
        assert_eq!(i.id, 1);
        assert_eq!(i.expires_at, Some(5));
    }
}
