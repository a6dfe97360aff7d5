//! Admin requests: decoding, dispatch, and answering (now, or when the
//! commit or job they wait on completes).

use super::conn::{ConnRef, ReadOutcome};
use crate::daemon::{Continuation, Daemon, Integrity, admin_token};
use crate::ingest;
use std::path::PathBuf;
use tocsin_abi::Limits;
use tocsin_admin::{
    BackupResult, DbInfo, EventRecord, EventsPage, QueueDepths, Request, Response, SendResult,
    StatusInfo,
};
use tocsin_store::{BackupReport, EventFilter, OpError, OpOutcome, StoredEvent};

/// What handling a request produced.
enum Handled {
    Now(Response),
    /// The answer comes from a commit continuation or a job.
    Later,
}

pub(super) fn record(e: StoredEvent) -> EventRecord {
    EventRecord {
        id: e.id,
        source: e.event.source,
        source_event_id: e.event.source_event_id,
        kind: e.event.kind,
        user: e.event.user,
        origin_host: e.event.origin_host,
        occurred_at_ms: e.event.occurred_at_ms,
        received_at_ms: e.received_at_ms,
        priority: e.event.priority,
        summary: e.event.summary,
        body: e.event.body,
        attributes: e.event.attributes,
    }
}

impl Daemon {
    pub(crate) fn accept_admin(&mut self) {
        let registry = self.poll.registry();
        let added = self.admin.accept_all(registry, admin_token);
        for key in added {
            self.drive_admin(key);
        }
    }

    pub(crate) fn admin_ready(&mut self, key: usize, readable: bool, writable: bool) {
        let Some(conn) = self.admin.conns.get_mut(key) else {
            return;
        };
        if readable {
            conn.maybe_readable = true;
        }
        if writable && matches!(conn.flush(), ReadOutcome::Closed) {
            self.admin.close(self.poll.registry(), key);
            return;
        }
        self.drive_admin(key);
    }

    /// Reads and handles requests until one is in flight, input runs dry,
    /// or the connection is finished.
    fn drive_admin(&mut self, key: usize) {
        loop {
            let cap = self.admin.max_request as usize + 4;
            let draining = self.admin.draining;
            let Some(conn) = self.admin.conns.get_mut(key) else {
                return;
            };
            if conn.busy || conn.close_after_flush {
                break;
            }
            let frame = match conn.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => {
                    if conn.maybe_readable
                        && !conn.peer_eof
                        && matches!(conn.read_some(cap), ReadOutcome::Closed)
                    {
                        self.admin.close(self.poll.registry(), key);
                        return;
                    }
                    match conn.next_frame() {
                        Ok(Some(f)) => f,
                        Ok(None) => break,
                        Err(e) => {
                            conn.queue_response(&Response::error("too-large", e.to_string()));
                            conn.close_after_flush = true;
                            break;
                        }
                    }
                }
                Err(e) => {
                    conn.queue_response(&Response::error("too-large", e.to_string()));
                    conn.close_after_flush = true;
                    break;
                }
            };
            if let Some(why) = conn.refused.clone() {
                conn.queue_response(&Response::error("forbidden", why));
                conn.close_after_flush = true;
                break;
            }
            if draining {
                conn.queue_response(&Response::error("unavailable", "tocsind is shutting down"));
                conn.close_after_flush = true;
                break;
            }
            conn.busy = true;
            log::debug!("admin request from uid {}: {} bytes", conn.uid, frame.len());
            let generation = conn.generation;
            let r = ConnRef { key, generation };
            match self.handle(r, &frame) {
                Handled::Now(resp) => self.respond(r, &resp),
                Handled::Later => break,
            }
        }
        self.flush_one(key);
    }

    fn flush_one(&mut self, key: usize) {
        let Some(conn) = self.admin.conns.get_mut(key) else {
            return;
        };
        if matches!(conn.flush(), ReadOutcome::Closed) || conn.done() {
            self.admin.close(self.poll.registry(), key);
        }
    }

    /// Called once per loop iteration after the commit.
    pub(crate) fn flush_admin(&mut self) {
        let keys: Vec<usize> = self
            .admin
            .conns
            .iter()
            .filter(|(_, c)| c.has_output() || c.done())
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            self.flush_one(key);
        }
    }

    fn respond(&mut self, r: ConnRef, resp: &Response) {
        if let Some(conn) = self.admin.get_mut(r) {
            conn.queue_response(resp);
        }
    }

    /// Answers a deferred request and resumes reading that connection.
    fn respond_later(&mut self, r: ConnRef, resp: &Response) {
        if self.admin.get_mut(r).is_some() {
            self.respond(r, resp);
            self.drive_admin(r.key);
        }
    }

    fn handle(&mut self, r: ConnRef, frame: &[u8]) -> Handled {
        let req: Request = match serde_json::from_slice(frame) {
            Ok(req) => req,
            Err(e) => return Handled::Now(Response::error("bad-request", e.to_string())),
        };
        match req {
            Request::Status {} => Handled::Now(self.status()),
            Request::EventsList {
                limit,
                before_id,
                user,
                kind,
            } => {
                let filter = EventFilter {
                    before_id,
                    user,
                    kind,
                    limit: limit.clamp(1, 1000),
                };
                Handled::Now(match self.store.list_events(&filter) {
                    Ok(events) => {
                        let next_before_id = if events.len() as u32 == filter.limit {
                            events.last().map(|e| e.id)
                        } else {
                            None
                        };
                        Response::ok(&EventsPage {
                            events: events.into_iter().map(record).collect(),
                            next_before_id,
                        })
                    }
                    Err(e) => Response::error("internal", e.to_string()),
                })
            }
            Request::EventsShow { id } => Handled::Now(match self.store.event(id) {
                Ok(Some(e)) => Response::ok(&record(e)),
                Ok(None) => Response::error("not-found", format!("no event with id {id}")),
                Err(e) => Response::error("internal", e.to_string()),
            }),
            Request::Send(args) => {
                let event = ingest::event_from_admin(args, &mut self.ids);
                match ingest::admit(event, &Limits::default()) {
                    Ok(op) => {
                        self.batch.push(op, Continuation::AdminSend(r));
                        Handled::Later
                    }
                    Err(e) => Handled::Now(Response::error(e.code(), e.to_string())),
                }
            }
            Request::PluginsList {} => Handled::Now(Response::ok(&self.plugins.views())),
            Request::PluginsShow { name } => Handled::Now(
                match self.plugins.views().into_iter().find(|v| v.name == name) {
                    Some(v) => Response::ok(&v),
                    None => Response::error("not-found", format!("no plugin instance {name:?}")),
                },
            ),
            Request::PluginsReload {} => {
                let report = self.reload_plugins();
                Handled::Now(Response::ok(&report))
            }
            req @ (Request::SubsAdd { .. }
            | Request::SubsList {}
            | Request::SubsShow { .. }
            | Request::SubsRm { .. }
            | Request::SubsEnable { .. }
            | Request::DeliveriesList { .. }
            | Request::DeliveriesShow { .. }
            | Request::DlqList { .. }
            | Request::DlqReplay { .. }
            | Request::DlqPurge { .. }) => match self.handle_delivery_request(r, req) {
                super::delivery_handlers::Answer::Now(resp) => Handled::Now(resp),
                super::delivery_handlers::Answer::Later => Handled::Later,
            },
            Request::DbBackup { path } => {
                let dest = PathBuf::from(&path);
                if !dest.is_absolute() {
                    return Handled::Now(Response::error(
                        "bad-request",
                        format!("backup path {path:?} must be absolute"),
                    ));
                }
                if dest.exists() {
                    return Handled::Now(Response::error(
                        "bad-request",
                        format!("{path} already exists; refusing to overwrite it"),
                    ));
                }
                self.jobs.backup(r, self.store.path().to_path_buf(), dest);
                Handled::Later
            }
        }
    }

    pub(crate) fn complete(&mut self, cont: Continuation, outcome: Result<OpOutcome, OpError>) {
        match cont {
            Continuation::Nothing => {
                if let Err(e) = outcome {
                    log::error!("store write failed: {e}");
                }
            }
            Continuation::AdminWrite(r, what) => {
                let resp = self.admin_write_done(what, outcome);
                self.respond_later(r, &resp);
            }
            Continuation::Pruned => match outcome {
                Ok(OpOutcome::Count(n)) if n > 0 => log::info!("retention: pruned {n} rows"),
                Ok(_) => {}
                Err(e) => log::error!("retention pass failed: {e}"),
            },
            Continuation::PluginEmit { instance, token } => {
                self.plugin_committed(instance, token, outcome)
            }
            Continuation::S2sAck { conn, tsn } => self.s2s.committed(conn, tsn, outcome),
            Continuation::AdminSend(r) => {
                let resp = match outcome {
                    Ok(OpOutcome::EventInserted { id }) => Response::ok(&SendResult {
                        id,
                        duplicate: false,
                    }),
                    Ok(OpOutcome::EventDuplicate { id }) => Response::ok(&SendResult {
                        id,
                        duplicate: true,
                    }),
                    Ok(_) => Response::error("internal", "unexpected outcome"),
                    Err(e) => Response::error("internal", e.to_string()),
                };
                self.respond_later(r, &resp);
            }
        }
    }

    pub(crate) fn backup_done(&mut self, r: ConnRef, result: Result<BackupReport, String>) {
        let resp = match result {
            Ok(rep) => Response::ok(&BackupResult {
                path: rep.path.display().to_string(),
                bytes: rep.bytes,
                pages: rep.pages,
            }),
            Err(e) => Response::error("internal", e),
        };
        self.respond_later(r, &resp);
    }

    fn status(&self) -> Response {
        let stats = match self.store.stats() {
            Ok(s) => s,
            Err(e) => return Response::error("internal", e.to_string()),
        };
        let mut queues = QueueDepths::default();
        for (state, n) in &stats.deliveries_by_state {
            match state.as_str() {
                "pending" => queues.pending += n,
                "in-flight" => queues.in_flight += n,
                "retrying" => queues.retrying += n,
                "dead" => queues.dead += n,
                _ => {}
            }
        }
        Response::ok(&StatusInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            appliance_id: self.appliance_id.clone(),
            pid: std::process::id(),
            uptime_s: self.started.elapsed().as_secs(),
            role: "standalone".to_string(),
            db: DbInfo {
                path: self.store.path().display().to_string(),
                size_bytes: stats.size_bytes,
                wal_bytes: stats.wal_bytes,
                events: stats.events,
                commit_seq: self.store.commit_seq(),
                schema_version: self.store.schema_version(),
                integrity: match &self.integrity {
                    Integrity::Checking => "checking".to_string(),
                    Integrity::Ok => "ok".to_string(),
                    Integrity::Failed(e) => e.clone(),
                },
            },
            queues,
            plugins: self.plugins.views(),
            ingest: self.s2s.status(std::time::Instant::now()),
        })
    }
}
