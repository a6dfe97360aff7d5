//! The daemon: one mio loop. Each iteration dispatches readiness, fires
//! timers, commits the iteration's writes in one transaction, then runs the
//! continuations waiting on that commit (acknowledgements).

use crate::admin::{AccessPolicy, AdminServer, ConnRef};
use crate::ingest::IdGenerator;
use crate::jobs::{JobResult, Jobs};
use crate::logging::LogControl;
use crate::notify;
use crate::plugins::{Command, CommitOutcome, InstanceRef, PLUGIN_TOKEN_BASE, PluginManager};
use crate::s2s::{S2S_TOKEN_BASE, S2sRef, S2sServer};
use crate::signals::{SignalEvent, Signals};
use crate::timers::Timers;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin_config::{Config, IntegrityCheck};
use tocsin_store::{Batch, OpenOptions, Store};

pub const SIGNAL_TOKEN: Token = Token(0);
pub const WAKER_TOKEN: Token = Token(1);
pub const ADMIN_LISTENER_TOKEN: Token = Token(2);
const ADMIN_CONN_BASE: usize = 1 << 20;

pub fn admin_token(key: usize) -> Token {
    Token(ADMIN_CONN_BASE + key)
}

/// What to do once the write a continuation waits on has committed.
#[derive(Debug)]
pub enum Continuation {
    /// Answer an admin request (e.g. `send`) with the op's outcome.
    AdminSend(ConnRef),
    /// Tell a source plugin its event is durable (or refused).
    PluginEmit { instance: InstanceRef, token: u64 },
    /// Decide an S2S event (ACK, or REJECT) on its connection.
    S2sAck { conn: S2sRef, tsn: u32 },
    /// Nobody waits on this write.
    Nothing,
    /// A retention pass finished.
    Pruned,
    /// An admin write (subscriptions, dead letters) to answer.
    AdminWrite(ConnRef, crate::admin::AdminWrite),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    Watchdog,
    IdleCheckpoint,
    AdminSweep,
    ShutdownDeadline,
    Plugin { instance: InstanceRef, id: u64 },
    Deliveries,
    Prune,
    S2s, // the earliest deadline among the ingest connections
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    Checking,
    Ok,
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] tocsin_store::StoreError),
    #[error("{0}")]
    Bind(#[from] crate::admin::BindError),
    #[error("{0}")]
    Access(#[from] crate::admin::AccessError),
    #[error("{0}")]
    Ingest(#[from] crate::s2s::IngestBindError),
    #[error("cannot set up the event loop: {0}")]
    Poll(std::io::Error),
}

struct Stopping {
    exit: ExitCode,
    deadline_passed: bool,
}

pub struct Daemon {
    pub(crate) cfg: Config,
    config_path: PathBuf,
    pub(crate) poll: Poll,
    signals: Signals,
    pub(crate) store: Store,
    pub(crate) batch: Batch<Continuation>,
    pub(crate) timers: Timers<TimerKind>,
    pub(crate) admin: AdminServer,
    pub(crate) plugins: PluginManager,
    pub(crate) engine: crate::delivery::Engine,
    pub(crate) s2s: S2sServer,
    pub(crate) jobs: Jobs,
    log_ctl: LogControl,
    pub(crate) started: Instant,
    pub(crate) appliance_id: String,
    pub(crate) integrity: Integrity,
    pub(crate) ids: IdGenerator,
    stopping: Option<Stopping>,
    last_commit: Option<Instant>,
    checkpoint_armed: bool,
}

impl Daemon {
    pub fn start(
        cfg: Config,
        config_path: PathBuf,
        signals: Signals,
        log_ctl: LogControl,
    ) -> Result<Daemon, StartError> {
        let started = Instant::now();
        let poll = Poll::new().map_err(StartError::Poll)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN).map_err(StartError::Poll)?);
        let store = Store::open(
            &cfg.store.path,
            OpenOptions {
                full_check: cfg.store.integrity_check == IntegrityCheck::Full,
            },
        )?;
        let policy = AccessPolicy::new(cfg.admin.group.as_deref())?;
        let mut admin = AdminServer::bind(&cfg.admin.socket, policy, cfg.admin.max_request_bytes)?;
        admin
            .register(poll.registry(), ADMIN_LISTENER_TOKEN)
            .map_err(StartError::Poll)?;
        poll.registry()
            .register(
                &mut SourceFd(&signals.fd()),
                SIGNAL_TOKEN,
                Interest::READABLE,
            )
            .map_err(StartError::Poll)?;
        let appliance_id = cfg.daemon.appliance_id.clone().unwrap_or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "tocsin".to_string())
        });
        let jobs = Jobs::new(waker);
        let integrity = match cfg.store.integrity_check {
            IntegrityCheck::Full => Integrity::Ok,
            IntegrityCheck::Background => {
                jobs.integrity_check(cfg.store.path.clone());
                Integrity::Checking
            }
        };
        let mut timers = Timers::new();
        let now = Instant::now();
        if let Some(iv) = notify::watchdog_interval() {
            timers.after(now, iv, TimerKind::Watchdog);
        }
        timers.after(now, Duration::from_secs(30), TimerKind::AdminSweep);
        let ids = IdGenerator::new(&appliance_id);
        let registry = poll.registry().try_clone().map_err(StartError::Poll)?;
        let mut plugins = PluginManager::new(
            registry,
            cfg.plugins.dir.clone(),
            cfg.plugins.config_dir.clone(),
        );
        let report = plugins.reload(&|name| store.plugin_state(name).unwrap_or_default());
        let s2s = S2sServer::bind(
            &cfg.ingest,
            poll.registry().try_clone().map_err(StartError::Poll)?,
        )?;
        log::info!(
            "plugins: {} running, {} refused",
            report.added.len(),
            report.refused.len()
        );
        let mut d = Daemon {
            cfg,
            config_path,
            poll,
            signals,
            store,
            batch: Batch::new(),
            timers,
            admin,
            plugins,
            engine: crate::delivery::Engine::new(),
            s2s,
            jobs,
            log_ctl,
            started,
            appliance_id,
            integrity,
            ids,
            stopping: None,
            last_commit: None,
            checkpoint_armed: false,
        };
        d.apply_plugin_effects();
        d.batch
            .push(tocsin_store::Op::ResetInFlight, Continuation::Nothing);
        d.load_subscriptions();
        let first_prune = d.cfg.retention.prune_interval_s.min(60);
        d.timers.after(
            Instant::now(),
            Duration::from_secs(first_prune),
            TimerKind::Prune,
        );
        let ingest = d.s2s.local_addrs();
        let msg = format!(
            "ready: store {} (commit {}), admin socket {}{}",
            d.store.path().display(),
            d.store.commit_seq(),
            d.cfg.admin.socket.display(),
            if ingest.is_empty() {
                String::new()
            } else {
                format!(", ingest {}", ingest.join(" "))
            }
        );
        log::info!(
            "tocsind {} {msg}, started in {} ms",
            env!("CARGO_PKG_VERSION"),
            started.elapsed().as_millis()
        );
        notify::ready(&msg);
        Ok(d)
    }

    pub fn run(&mut self) -> ExitCode {
        let mut events = Events::with_capacity(1024);
        let mut poll_errors = 0u32;
        loop {
            let now = Instant::now();
            let timeout = if self.batch.is_empty() && !self.plugins.has_pending() {
                let linger = self
                    .plugins
                    .next_deadline()
                    .map(|t| t.saturating_duration_since(now));
                match (self.timers.next_timeout(now), linger) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                poll_errors += 1;
                log::error!("poll failed: {e}");
                if poll_errors > 10 {
                    log::error!("poll keeps failing; exiting so the service manager restarts us");
                    return ExitCode::FAILURE;
                }
                continue;
            }
            poll_errors = 0;
            for ev in events.iter() {
                self.dispatch_event(ev.token(), ev.is_readable(), ev.is_writable());
            }
            self.fire_timers();
            self.plugins.drive();
            self.apply_plugin_effects();
            self.route_batch();
            self.commit();
            self.apply_plugin_effects();
            self.dispatch();
            self.plugins.flush_writes();
            self.flush_admin();
            self.s2s_after_commit();
            if let Some(code) = self.finished() {
                return code;
            }
        }
    }

    fn dispatch_event(&mut self, token: Token, readable: bool, writable: bool) {
        match token {
            SIGNAL_TOKEN => {
                for s in self.signals.read() {
                    match s {
                        SignalEvent::Shutdown(name) => {
                            log::info!("{name} received: shutting down");
                            self.begin_shutdown(ExitCode::SUCCESS);
                        }
                        SignalEvent::Reload => self.reload(),
                    }
                }
            }
            WAKER_TOKEN => self.drain_jobs(),
            ADMIN_LISTENER_TOKEN => self.accept_admin(),
            Token(t) if t >= PLUGIN_TOKEN_BASE => self.plugins.ready(token, readable, writable),
            Token(t) if t >= S2S_TOKEN_BASE => self.s2s_ready(token, readable, writable),
            Token(t) if t >= ADMIN_CONN_BASE => {
                self.admin_ready(t - ADMIN_CONN_BASE, readable, writable)
            }
            // Sporadic events for closed sources happen; ignore them.
            _ => {}
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        for (_, kind) in self.timers.expired(now) {
            match kind {
                TimerKind::Watchdog => {
                    notify::watchdog();
                    if let Some(iv) = notify::watchdog_interval() {
                        self.timers.after(now, iv, TimerKind::Watchdog);
                    }
                }
                TimerKind::IdleCheckpoint => self.idle_checkpoint(now),
                TimerKind::AdminSweep => {
                    for key in self.admin.idle_keys(now) {
                        self.admin.close(self.poll.registry(), key);
                    }
                    self.timers
                        .after(now, Duration::from_secs(30), TimerKind::AdminSweep);
                }
                TimerKind::Plugin { instance, id } => self.plugins.timer(instance, id),
                TimerKind::Deliveries => self.deliveries_timer(),
                TimerKind::Prune => {
                    self.prune();
                    self.timers.after(
                        now,
                        Duration::from_secs(self.cfg.retention.prune_interval_s),
                        TimerKind::Prune,
                    );
                }
                TimerKind::S2s => self.s2s_timer(),
                TimerKind::ShutdownDeadline => {
                    if let Some(s) = self.stopping.as_mut() {
                        log::warn!("shutdown deadline reached; closing remaining connections");
                        s.deadline_passed = true;
                    }
                }
            }
        }
    }

    /// Group commit: one transaction for everything this iteration wrote,
    /// then the continuations (acks) in submission order.
    fn commit(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let report = self.store.commit(&mut self.batch);
        if let Some(e) = &report.error {
            log::error!("commit failed, nothing in it was acknowledged: {e}");
        }
        let now = Instant::now();
        self.last_commit = Some(now);
        if !self.checkpoint_armed {
            self.checkpoint_armed = true;
            self.timers.after(
                now,
                Duration::from_millis(self.cfg.store.checkpoint_idle_ms),
                TimerKind::IdleCheckpoint,
            );
        }
        self.after_commit_deliveries();
        for (cont, outcome) in report.results {
            self.complete(cont, outcome);
        }
    }

    fn idle_checkpoint(&mut self, now: Instant) {
        let idle = Duration::from_millis(self.cfg.store.checkpoint_idle_ms);
        match self.last_commit {
            Some(t) if now.duration_since(t) < idle => {
                self.timers.schedule(t + idle, TimerKind::IdleCheckpoint);
            }
            _ => {
                self.checkpoint_armed = false;
                if let Err(e) = self.store.checkpoint(true) {
                    log::warn!("idle checkpoint failed: {e}");
                }
            }
        }
    }

    fn drain_jobs(&mut self) {
        for r in self.jobs.drain() {
            match r {
                JobResult::Integrity(Ok(())) => {
                    log::info!("database integrity check passed");
                    self.integrity = Integrity::Ok;
                }
                JobResult::Integrity(Err(e)) => {
                    log::error!("{e}; stopping: restore a backup or repair the database");
                    notify::status(&format!("database corrupt: {e}"));
                    self.integrity = Integrity::Failed(e);
                    self.begin_shutdown(ExitCode::FAILURE);
                }
                JobResult::Backup { conn, result } => self.backup_done(conn, result),
            }
        }
    }

    fn reload(&mut self) {
        notify::reloading();
        match tocsin_config::load(&self.config_path) {
            Ok(new) => {
                self.log_ctl.apply(new.daemon.log_level);
                if new.admin.socket != self.cfg.admin.socket {
                    log::warn!("admin.socket changed; it takes effect after a restart");
                }
                if new.store.path != self.cfg.store.path {
                    log::warn!("store.path changed; it takes effect after a restart");
                }
                self.cfg.daemon.log_level = new.daemon.log_level;
                self.cfg.store.checkpoint_idle_ms = new.store.checkpoint_idle_ms;
                self.cfg.plugins = new.plugins.clone();
                self.cfg.delivery = new.delivery.clone();
                self.cfg.retention = new.retention.clone();
                self.s2s.reload(&new.ingest, &self.cfg.ingest);
                self.cfg.ingest = new.ingest.clone();
                log::info!("configuration reloaded from {}", self.config_path.display());
                self.reload_plugins();
            }
            Err(e) => log::error!("reload refused, keeping the running configuration: {e}"),
        }
        notify::ready("running");
    }

    pub(crate) fn begin_shutdown(&mut self, exit: ExitCode) {
        if self.stopping.is_some() {
            return;
        }
        notify::stopping();
        self.admin.stop_accepting(self.poll.registry());
        self.s2s_begin_shutdown();
        self.timers.after(
            Instant::now(),
            Duration::from_secs(5),
            TimerKind::ShutdownDeadline,
        );
        self.stopping = Some(Stopping {
            exit,
            deadline_passed: false,
        });
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stopping.is_some()
    }

    /// Exits once the last batch is committed and its answers are out.
    fn finished(&mut self) -> Option<ExitCode> {
        let s = self.stopping.as_ref()?;
        let quiet = self.admin.is_quiet() && self.s2s.is_quiet();
        if !(self.batch.is_empty() && (quiet || s.deadline_passed)) {
            return None;
        }
        let exit = s.exit;
        self.plugins.shutdown();
        // Whatever the plugins emitted while stopping is still committed.
        self.apply_plugin_effects();
        let report = self.store.commit(&mut self.batch);
        if let Some(e) = report.error {
            log::error!("final commit failed: {e}");
        }
        if let Err(e) = self.store.checkpoint(true) {
            log::warn!("final checkpoint failed: {e}");
        }
        log::info!("stopped");
        Some(exit)
    }
}

impl Daemon {
    /// Applies what plugins asked of the host since the last call.
    pub(crate) fn apply_plugin_effects(&mut self) {
        let now = Instant::now();
        for e in self.plugins.take_effects() {
            let instance = InstanceRef {
                slot: e.slot,
                generation: e.generation,
            };
            match e.command {
                Command::Emit { event, token } => self.batch.push(
                    tocsin_store::Op::InsertEvent {
                        event,
                        received_at_ms: tocsin_store::now_ms(),
                        deliveries: Vec::new(),
                    },
                    Continuation::PluginEmit { instance, token },
                ),
                Command::Timer { id, delay_ms } => {
                    self.timers.after(
                        now,
                        Duration::from_millis(delay_ms),
                        TimerKind::Plugin { instance, id },
                    );
                }
                Command::KvPut { key, value } => self.batch.push(
                    tocsin_store::Op::PluginStatePut {
                        instance: e.instance,
                        key,
                        value,
                    },
                    Continuation::Nothing,
                ),
                Command::KvDelete { key } => self.batch.push(
                    tocsin_store::Op::PluginStateDelete {
                        instance: e.instance,
                        key,
                    },
                    Continuation::Nothing,
                ),
                Command::DeliveryResult(r) => self.delivery_result(instance, r),
                Command::Receipt {
                    message_id,
                    disposition,
                    detail,
                } => self.receipt(&e.instance, &message_id, disposition, &detail),
                Command::Presence { address, available } => {
                    self.presence(&e.instance, &address, available)
                }
                Command::Stopped => self.requeue_instance(instance),
            }
        }
    }

    pub(crate) fn plugin_committed(
        &mut self,
        instance: InstanceRef,
        token: u64,
        outcome: Result<tocsin_store::OpOutcome, tocsin_store::OpError>,
    ) {
        let r = match outcome {
            Ok(tocsin_store::OpOutcome::EventInserted { id }) => CommitOutcome::Stored(id),
            Ok(tocsin_store::OpOutcome::EventDuplicate { id }) => CommitOutcome::Duplicate(id),
            Ok(_) => CommitOutcome::Failed("unexpected outcome".into()),
            Err(tocsin_store::OpError::Rejected(m)) => {
                CommitOutcome::Rejected("malformed".into(), m)
            }
            Err(tocsin_store::OpError::TransactionFailed(m)) => CommitOutcome::Failed(m),
        };
        self.plugins.committed(instance, token, r);
    }

    pub(crate) fn reload_plugins(&mut self) -> crate::plugins::ReloadReport {
        self.plugins.set_dirs(
            self.cfg.plugins.dir.clone(),
            self.cfg.plugins.config_dir.clone(),
        );
        let store = &self.store;
        let report = self
            .plugins
            .reload(&|name| store.plugin_state(name).unwrap_or_default());
        log::info!(
            "plugins reloaded: {} added, {} removed, {} restarted, {} unchanged, {} refused",
            report.added.len(),
            report.removed.len(),
            report.restarted.len(),
            report.unchanged.len(),
            report.refused.len()
        );
        self.apply_plugin_effects();
        report
    }
}
