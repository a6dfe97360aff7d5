//! The plugin host: loads `plugins.d` instances, owns their sockets on the
//! loop, calls into them, isolates failures, and turns what they ask of the
//! host into effects the daemon applies (store writes, timers, delivery
//! reports).
#![allow(unsafe_code)] // creating/freeing instance contexts; see SAFETY notes

mod ctx;
mod host_api;
mod instance_config;
mod io;
mod library;

pub use ctx::{Command, Counters, DeliveryReport, PLUGIN_TOKEN_BASE};
pub use instance_config::{InstanceConfig, read_dir};
pub use library::Kind;

use ctx::{Deferred, InstanceCtx, handle_of, key_of, split_token, token_for};
use io::{Conn, FlushResult, PluginSocket, SocketKind, Stream};
use library::{FileIdentity, LoadedLibrary};
use mio::{Interest, Registry};
use slab::Slab;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::c_void;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tocsin_abi::ffi::{self, Status, TocsinBuf, TocsinSlice};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Running,
    Failed(String),
    Refused(String),
    Disabled,
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Running => "running",
            State::Failed(_) => "failed",
            State::Refused(_) => "refused",
            State::Disabled => "disabled",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            State::Failed(r) | State::Refused(r) => Some(r),
            _ => None,
        }
    }
}

struct Instance {
    config: InstanceConfig,
    lib: Option<Arc<LoadedLibrary>>,
    /// The plugin's instance pointer; null unless running.
    ptr: *mut c_void,
    /// Owned (Box::into_raw); null unless running.
    ctx: *mut InstanceCtx,
    generation: u64,
    state: State,
    counters: Counters,
    /// The library on disk changed after it was loaded.
    stale: bool,
}

/// What the daemon must do on a plugin's behalf.
#[derive(Debug)]
pub struct Effect {
    pub slot: usize,
    pub generation: u64,
    pub instance: String,
    pub command: Command,
}

/// Names an instance across reloads (slot reuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceRef {
    pub slot: usize,
    pub generation: u64,
}

pub use tocsin_admin::PluginsReloadResult as ReloadReport;
use tocsin_admin::{PluginInfo as InstanceView, SocketInfo as SocketView};

/// Reads a store's saved key/value state for an instance.
pub type KvLoader<'a> = &'a dyn Fn(&str) -> HashMap<Vec<u8>, Vec<u8>>;

pub struct PluginManager {
    registry: Registry,
    plugin_dir: PathBuf,
    config_dir: PathBuf,
    /// Never shrinks: libraries stay mapped for the life of the process.
    libraries: HashMap<PathBuf, Arc<LoadedLibrary>>,
    instances: Slab<Instance>,
    by_name: BTreeMap<String, usize>,
    /// Files that could not even be parsed, by instance name.
    problems: BTreeMap<String, (PathBuf, String)>,
    next_generation: u64,
    effects: Vec<Effect>,
    read_buf: Vec<u8>,
    pending_reads: HashSet<(usize, usize)>,
    /// Connections closed by their plugin, waiting for output to drain.
    pending_flush: HashSet<(usize, usize)>,
    /// Connections with output queued in this iteration (see `flush_writes`).
    pending_writes: Vec<(usize, usize)>,
    /// Connections lingering after close, with their deadline.
    lingering: HashMap<(usize, usize), Instant>,
    log_level: u32,
}

fn level_code(f: log::LevelFilter) -> u32 {
    match f {
        log::LevelFilter::Off => 0,
        log::LevelFilter::Error => 1,
        log::LevelFilter::Warn => 2,
        log::LevelFilter::Info => 3,
        log::LevelFilter::Debug => 4,
        log::LevelFilter::Trace => 5,
    }
}

impl PluginManager {
    pub fn new(registry: Registry, plugin_dir: PathBuf, config_dir: PathBuf) -> Self {
        PluginManager {
            registry,
            plugin_dir,
            config_dir,
            libraries: HashMap::new(),
            instances: Slab::new(),
            by_name: BTreeMap::new(),
            problems: BTreeMap::new(),
            next_generation: 1,
            effects: Vec::new(),
            read_buf: vec![0u8; io::READ_CHUNK],
            pending_reads: HashSet::new(),
            pending_flush: HashSet::new(),
            pending_writes: Vec::new(),
            lingering: HashMap::new(),
            log_level: level_code(log::max_level()),
        }
    }

    pub fn set_dirs(&mut self, plugin_dir: PathBuf, config_dir: PathBuf) {
        self.plugin_dir = plugin_dir;
        self.config_dir = config_dir;
    }

    /// (Re)reads `plugins.d` and brings the running set in line with it:
    /// new files start instances, removed files stop them, changed files
    /// restart them, failed or refused instances are retried.
    pub fn reload(&mut self, kv: KvLoader<'_>) -> ReloadReport {
        self.log_level = level_code(log::max_level());
        let mut report = ReloadReport::default();
        let (configs, problems) = match read_dir(&self.config_dir, &self.plugin_dir) {
            Ok(x) => x,
            Err(e) => {
                log::error!(
                    "cannot read plugin config directory {}: {e}; plugins unchanged",
                    self.config_dir.display()
                );
                return report;
            }
        };
        self.problems.clear();
        for p in problems {
            log::error!("plugin instance {} refused: {}", p.name, p.reason);
            report.refused.push((p.name.clone(), p.reason.clone()));
            self.problems.insert(p.name, (p.file, p.reason));
        }
        let wanted: BTreeMap<String, InstanceConfig> =
            configs.into_iter().map(|c| (c.name.clone(), c)).collect();
        let existing: Vec<String> = self.by_name.keys().cloned().collect();
        for name in existing {
            if !wanted.contains_key(&name) {
                if let Some(slot) = self.by_name.remove(&name) {
                    self.teardown(slot, None);
                    self.instances.try_remove(slot);
                }
                log::info!("plugin instance {name} removed");
                report.removed.push(name);
            }
        }
        for (name, cfg) in wanted {
            match self.by_name.get(&name).copied() {
                Some(slot) => {
                    let Some(inst) = self.instances.get_mut(slot) else {
                        continue;
                    };
                    let lib_changed = self
                        .libraries
                        .get(&cfg.library)
                        .is_some_and(|l| FileIdentity::of(&cfg.library).ok() != Some(l.identity));
                    let same = inst.config == cfg && inst.state == State::Running;
                    if same {
                        inst.stale = lib_changed;
                        if lib_changed {
                            log::warn!(
                                "plugin instance {name}: {} changed on disk; the running instance keeps the loaded version until tocsind is restarted",
                                cfg.library.display()
                            );
                        }
                        report.unchanged.push(name);
                        continue;
                    }
                    self.teardown(slot, None);
                    self.instances.try_remove(slot);
                    self.by_name.remove(&name);
                    let slot = self.create(cfg, kv);
                    match &self.instances[slot].state {
                        State::Refused(r) => report.refused.push((name, r.clone())),
                        _ => report.restarted.push(name),
                    }
                }
                None => {
                    let slot = self.create(cfg, kv);
                    match &self.instances[slot].state {
                        State::Refused(r) => report.refused.push((name, r.clone())),
                        _ => report.added.push(name),
                    }
                }
            }
        }
        report
    }

    fn library(&mut self, path: &Path) -> Result<Arc<LoadedLibrary>, String> {
        if let Some(l) = self.libraries.get(path) {
            if FileIdentity::of(path).ok() != Some(l.identity) {
                return Err(format!(
                    "{} changed on disk since it was loaded; restart tocsind to load the new version",
                    path.display()
                ));
            }
            return Ok(l.clone());
        }
        let lib = Arc::new(library::load(path).map_err(|e| e.to_string())?);
        log::info!(
            "loaded plugin library {} ({} {} {}, ABI {}.{})",
            path.display(),
            lib.kind.name(),
            lib.name,
            lib.version,
            lib.abi.0,
            lib.abi.1
        );
        self.libraries.insert(path.to_path_buf(), lib.clone());
        Ok(lib)
    }

    /// Creates an instance (running, disabled or refused) and returns its slot.
    fn create(&mut self, cfg: InstanceConfig, kv: KvLoader<'_>) -> usize {
        let generation = self.next_generation;
        self.next_generation += 1;
        let name = cfg.name.clone();
        let entry = self.instances.vacant_entry();
        let slot = entry.key();
        entry.insert(Instance {
            config: cfg.clone(),
            lib: None,
            ptr: std::ptr::null_mut(),
            ctx: std::ptr::null_mut(),
            generation,
            state: State::Disabled,
            counters: Counters::default(),
            stale: false,
        });
        self.by_name.insert(name.clone(), slot);
        if !cfg.enabled {
            log::info!("plugin instance {name} is disabled");
            return slot;
        }
        let lib = match self.library(&cfg.library) {
            Ok(l) => l,
            Err(why) => {
                log::error!("plugin instance {name} refused: {why}");
                self.instances[slot].state = State::Refused(why);
                return slot;
            }
        };
        self.instances[slot].lib = Some(lib.clone());
        let ctx = Box::new(InstanceCtx {
            name: name.clone(),
            slot,
            registry: match self.registry.try_clone() {
                Ok(r) => r,
                Err(e) => {
                    self.instances[slot].state =
                        State::Refused(format!("cannot clone registry: {e}"));
                    return slot;
                }
            },
            sockets: Slab::new(),
            commands: Vec::new(),
            deferred: Vec::new(),
            kv: kv(&name),
            next_timer: 0,
            live_timers: HashSet::new(),
            max_event_bytes: cfg.max_event_bytes,
            log_level: self.log_level,
            started: Instant::now(),
            counters: Counters::default(),
            connections: 0,
            redrive: Vec::new(),
            to_flush: Vec::new(),
            to_write: Vec::new(),
        });
        let ctx = Box::into_raw(ctx);
        let mut err = vec![0u8; 4096];
        let mut errbuf = TocsinBuf {
            ptr: err.as_mut_ptr(),
            cap: err.len(),
            len: 0,
        };
        let mut out: *mut c_void = std::ptr::null_mut();
        let status = (lib.vtable.create)(
            &host_api::HOST,
            ctx as *mut c_void,
            TocsinSlice::from_str(&name),
            TocsinSlice::from_str(&cfg.config_toml),
            &mut out,
            &mut errbuf,
        );
        if status != ffi::OK || out.is_null() {
            let msg = String::from_utf8_lossy(&err[..errbuf.len.min(err.len())]).to_string();
            let why = match status {
                ffi::ERR_PANIC => format!("panicked while starting: {msg}"),
                ffi::ERR_CONFIG => format!("configuration refused by the plugin: {msg}"),
                _ => format!("create failed (status {status}): {msg}"),
            };
            log::error!("plugin instance {name} refused: {why}");
            // SAFETY: `ctx` came from Box::into_raw above and the plugin
            // has no instance that could still use it.
            let c = unsafe { Box::from_raw(ctx) };
            drop(c); // closes anything it opened
            self.instances[slot].state = State::Refused(why);
            return slot;
        }
        let inst = &mut self.instances[slot];
        inst.ptr = out;
        inst.ctx = ctx;
        inst.state = State::Running;
        log::info!(
            "plugin instance {name} running ({} {} {})",
            lib.kind.name(),
            lib.name,
            lib.version
        );
        self.after_call(slot);
        slot
    }

    /// Stops an instance: destroy, close its sockets, keep what it
    /// emitted (its emits and state writes are still applied).
    fn teardown(&mut self, slot: usize, failure: Option<String>) {
        let Some(inst) = self.instances.get_mut(slot) else {
            return;
        };
        if inst.ctx.is_null() {
            if let Some(f) = failure {
                inst.state = State::Failed(f);
            }
            return;
        }
        if let Some(lib) = inst.lib.clone()
            && !inst.ptr.is_null()
        {
            (lib.vtable.destroy)(inst.ptr);
        }
        inst.ptr = std::ptr::null_mut();
        // SAFETY: `ctx` came from Box::into_raw in `create`; the plugin was
        // destroyed, so nothing can call back with it any more.
        let mut c = unsafe { Box::from_raw(inst.ctx) };
        inst.ctx = std::ptr::null_mut();
        for (_, mut s) in std::mem::take(&mut c.sockets) {
            // Output queued in this iteration (a farewell written by
            // `destroy`, say) gets the one write it would have had.
            if let SocketKind::Conn(conn) = &mut s.kind
                && !conn.out.is_empty()
            {
                let _ = conn.flush();
            }
            let _ = self.registry.deregister(s.source());
        }
        inst.counters = c.counters.clone();
        let name = inst.config.name.clone();
        let generation = inst.generation;
        inst.state = match failure {
            Some(f) => State::Failed(f),
            None => State::Disabled,
        };
        self.effects.push(Effect {
            slot,
            generation,
            instance: name.clone(),
            command: Command::Stopped,
        });
        for command in c.commands.drain(..) {
            if matches!(
                command,
                Command::Emit { .. } | Command::KvPut { .. } | Command::KvDelete { .. }
            ) {
                self.effects.push(Effect {
                    slot,
                    generation,
                    instance: name.clone(),
                    command,
                });
            }
        }
        self.pending_reads.retain(|(s, _)| *s != slot);
        self.pending_flush.retain(|(s, _)| *s != slot);
        self.pending_writes.retain(|(s, _)| *s != slot);
        self.lingering.retain(|(s, _), _| *s != slot);
    }

    fn fail(&mut self, slot: usize, why: String) {
        let name = self
            .instances
            .get(slot)
            .map(|i| i.config.name.clone())
            .unwrap_or_default();
        log::error!(
            "plugin instance {name} failed: {why}; its sockets are closed, other instances keep running"
        );
        self.teardown(slot, Some(why));
    }

    fn running(&self, slot: usize) -> Option<(Arc<LoadedLibrary>, *mut c_void, *mut InstanceCtx)> {
        let i = self.instances.get(slot)?;
        if i.state != State::Running || i.ptr.is_null() || i.ctx.is_null() {
            return None;
        }
        Some((i.lib.clone()?, i.ptr, i.ctx))
    }

    /// Calls into a plugin, then handles a panic, owed callbacks and the
    /// commands it queued.
    fn call(
        &mut self,
        slot: usize,
        what: &str,
        f: impl FnOnce(&library::Vtable, *mut c_void) -> Status,
    ) {
        let Some((lib, ptr, _)) = self.running(slot) else {
            return;
        };
        let st = f(&lib.vtable, ptr);
        if st == ffi::ERR_PANIC {
            self.fail(slot, format!("panicked in {what}"));
            return;
        }
        self.after_call(slot);
    }

    fn after_call(&mut self, slot: usize) {
        // Owed callbacks may owe more; bound the chain.
        for _ in 0..10_000 {
            let Some((_, _, c)) = self.running(slot) else {
                return;
            };
            // SAFETY: no plugin call is in progress; this is the only
            // reference to the ctx for this block.
            let deferred = unsafe { std::mem::take(&mut (*c).deferred) };
            if deferred.is_empty() {
                break;
            }
            for d in deferred {
                match d {
                    Deferred::Closed { handle, reason } => self.call(slot, "on_closed", |vt, p| {
                        (vt.on_closed)(p, handle, TocsinSlice::from_str(&reason))
                    }),
                    Deferred::Connected { handle, result } => {
                        let (st, detail) = match &result {
                            Ok(()) => (ffi::OK, String::new()),
                            Err(e) => (ffi::ERR_IO, e.clone()),
                        };
                        self.call(slot, "on_connected", |vt, p| {
                            (vt.on_connected)(p, handle, st, TocsinSlice::from_str(&detail))
                        })
                    }
                }
            }
        }
        let Some((_, _, c)) = self.running(slot) else {
            return;
        };
        let generation = self.instances[slot].generation;
        // SAFETY: as above; no plugin call in progress.
        let (commands, redrive, to_flush, to_write, name) = unsafe {
            (
                std::mem::take(&mut (*c).commands),
                std::mem::take(&mut (*c).redrive),
                std::mem::take(&mut (*c).to_flush),
                std::mem::take(&mut (*c).to_write),
                (*c).name.clone(),
            )
        };
        self.pending_writes
            .extend(to_write.into_iter().map(|key| (slot, key)));
        for key in redrive {
            self.pending_reads.insert((slot, key));
        }
        for key in to_flush {
            self.pending_flush.insert((slot, key));
        }
        for command in commands {
            self.effects.push(Effect {
                slot,
                generation,
                instance: name.clone(),
                command,
            });
        }
    }

    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    pub fn has_pending(&self) -> bool {
        !self.effects.is_empty()
            || !self.pending_reads.is_empty()
            || !self.pending_flush.is_empty()
            || !self.pending_writes.is_empty()
    }

    pub fn is_current(&self, r: InstanceRef) -> bool {
        self.instances
            .get(r.slot)
            .is_some_and(|i| i.generation == r.generation && i.state == State::Running)
    }

    /// The running instance's context. Not tied to `&self`: the context
    /// is its own heap allocation, so the manager's other fields stay usable.
    fn ctx_mut<'a>(&self, slot: usize) -> Option<&'a mut InstanceCtx> {
        let (_, _, c) = self.running(slot)?;
        // SAFETY: the context lives until `teardown` frees it and nothing
        // else holds a reference between plugin calls. Callers use the
        // returned borrow only until their next call into the plugin or
        // teardown (each re-fetches it afterwards).
        Some(unsafe { &mut *c })
    }

    /// Readiness for a plugin-owned socket.
    pub fn ready(&mut self, token: mio::Token, readable: bool, writable: bool) {
        let Some((slot, key)) = split_token(token) else {
            return;
        };
        enum What {
            Accept,
            Datagram,
            Conn { connecting: bool },
        }
        let what = {
            let Some(c) = self.ctx_mut(slot) else { return };
            match c.sockets.get(key).map(|s| &s.kind) {
                Some(SocketKind::TcpListener(..) | SocketKind::UnixListener(..)) => What::Accept,
                Some(SocketKind::Udp(_) | SocketKind::UnixDgram(..)) => What::Datagram,
                Some(SocketKind::Conn(conn)) => What::Conn {
                    connecting: conn.connecting,
                },
                None => return,
            }
        };
        match what {
            What::Accept => self.accept(slot, key),
            What::Datagram => self.read_datagrams(slot, key),
            What::Conn { connecting: true } => self.finish_connect(slot, key),
            What::Conn { connecting: false } => {
                if writable {
                    self.flush_conn(slot, key);
                }
                if readable {
                    if let Some(c) = self.ctx_mut(slot)
                        && let Some(SocketKind::Conn(conn)) =
                            c.sockets.get_mut(key).map(|s| &mut s.kind)
                    {
                        conn.maybe_readable = true;
                    }
                    self.read_conn(slot, key);
                }
            }
        }
    }

    fn accept(&mut self, slot: usize, key: usize) {
        for _ in 0..io::READ_BUDGET {
            let Some(c) = self.ctx_mut(slot) else { return };
            let accepted = match c.sockets.get(key).map(|s| &s.kind) {
                Some(SocketKind::TcpListener(l, tls)) => match l.accept() {
                    Ok((s, a)) => match tls {
                        None => Ok((Stream::Tcp(s), a.to_string())),
                        Some(cfg) => match rustls::ServerConnection::new(cfg.clone()) {
                            Ok(conn) => Ok((
                                Stream::Tls(Box::new(crate::tls::TlsStream::new(s, conn))),
                                a.to_string(),
                            )),
                            Err(e) => {
                                log::warn!("[{}] TLS setup for {a} failed: {e}", c.name);
                                continue;
                            }
                        },
                    },
                    Err(e) => Err(e),
                },
                Some(SocketKind::UnixListener(l, _)) => l.accept().map(|(s, a)| {
                    let peer = a
                        .as_pathname()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    (Stream::Unix(s), peer)
                }),
                _ => return,
            };
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("[{}] accept failed: {e}", c.name);
                    return;
                }
            };
            if c.connections >= io::MAX_CONNECTIONS {
                log::warn!("[{}] connection limit reached; dropping {peer}", c.name);
                continue;
            }
            let local = c
                .sockets
                .get(key)
                .map(|s| s.local.clone())
                .unwrap_or_default();
            let mut sock = PluginSocket {
                kind: SocketKind::Conn(Box::new(Conn {
                    stream,
                    out: Vec::new(),
                    peer: peer.clone(),
                    connecting: false,
                    closing: false,
                    read_paused: false,
                    maybe_readable: true,
                    notify_writable: false,
                    eof: false,
                    linger_until: None,
                })),
                local,
            };
            let entry = c.sockets.vacant_entry();
            let ck = entry.key();
            if let Err(e) = c.registry.register(
                sock.source(),
                token_for(slot, ck),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                log::warn!("[{}] cannot register connection: {e}", c.name);
                continue;
            }
            entry.insert(sock);
            c.connections += 1;
            let (lh, ch) = (handle_of(key), handle_of(ck));
            self.call(slot, "on_accept", |vt, p| {
                (vt.on_accept)(p, lh, ch, TocsinSlice::from_str(&peer))
            });
            // Data may already be waiting.
            self.pending_reads.insert((slot, ck));
        }
        // Budget used up: more may be pending.
        self.pending_reads.insert((slot, key));
    }

    fn read_datagrams(&mut self, slot: usize, key: usize) {
        let mut buf = std::mem::take(&mut self.read_buf);
        let mut exhausted = true;
        for _ in 0..io::READ_BUDGET {
            let Some(c) = self.ctx_mut(slot) else { break };
            let got = match c.sockets.get(key).map(|s| &s.kind) {
                Some(SocketKind::Udp(u)) => u.recv_from(&mut buf).map(|(n, a)| (n, a.to_string())),
                Some(SocketKind::UnixDgram(u, _)) => u.recv_from(&mut buf).map(|(n, a)| {
                    (
                        n,
                        a.as_pathname()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                    )
                }),
                _ => {
                    exhausted = false;
                    break;
                }
            };
            match got {
                Ok((n, peer)) => {
                    let h = handle_of(key);
                    let data = &buf[..n];
                    self.call(slot, "on_datagram", |vt, p| {
                        (vt.on_datagram)(
                            p,
                            h,
                            TocsinSlice::from_bytes(data),
                            TocsinSlice::from_str(&peer),
                        )
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    exhausted = false;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("datagram receive failed: {e}");
                    exhausted = false;
                    break;
                }
            }
        }
        self.read_buf = buf;
        if exhausted {
            self.pending_reads.insert((slot, key));
        }
    }

    fn read_conn(&mut self, slot: usize, key: usize) {
        let mut buf = std::mem::take(&mut self.read_buf);
        let mut budget_left = false;
        for _ in 0..io::READ_BUDGET {
            let Some(c) = self.ctx_mut(slot) else { break };
            let Some(SocketKind::Conn(conn)) = c.sockets.get_mut(key).map(|s| &mut s.kind) else {
                break;
            };
            if !conn.maybe_readable || !conn.can_read() {
                break;
            }
            if conn.linger_until.is_some() {
                // Closing: drain what the peer still sends, then close.
                match conn.read_into(&mut buf) {
                    Ok(0) => {}
                    Ok(_) => {
                        budget_left = true;
                        continue;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        conn.maybe_readable = false;
                        budget_left = false;
                        break;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {}
                }
                self.lingering.remove(&(slot, key));
                host_api::close_now(c, key, "closed".into());
                self.after_call(slot);
                budget_left = false;
                break;
            }
            match conn.read_into(&mut buf) {
                Ok(0) => {
                    conn.eof = true;
                    conn.maybe_readable = false;
                    if conn.out.is_empty() {
                        host_api::close_now(c, key, "peer closed the connection".into());
                    } else {
                        conn.closing = true;
                    }
                    self.after_call(slot);
                    break;
                }
                Ok(n) => {
                    let h = handle_of(key);
                    let data = &buf[..n];
                    self.call(slot, "on_data", |vt, p| {
                        (vt.on_data)(p, h, TocsinSlice::from_bytes(data))
                    });
                    budget_left = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    conn.maybe_readable = false;
                    budget_left = false;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    host_api::close_now(c, key, e.to_string());
                    self.after_call(slot);
                    break;
                }
            }
        }
        self.read_buf = buf;
        if budget_left {
            self.pending_reads.insert((slot, key));
        }
    }

    fn flush_conn(&mut self, slot: usize, key: usize) {
        let Some(c) = self.ctx_mut(slot) else { return };
        let Some(SocketKind::Conn(conn)) = c.sockets.get_mut(key).map(|s| &mut s.kind) else {
            return;
        };
        match conn.flush() {
            FlushResult::Broken(why) => {
                host_api::close_now(c, key, why);
                self.after_call(slot);
            }
            FlushResult::Pending => {}
            FlushResult::Drained => {
                if conn.closing {
                    self.pending_flush.remove(&(slot, key));
                    if conn.eof || conn.linger_until.is_some() {
                        if conn.eof {
                            self.lingering.remove(&(slot, key));
                            host_api::close_now(c, key, "closed".into());
                            self.after_call(slot);
                        }
                        return;
                    }
                    // Half-close and linger (see `Conn::linger_until`).
                    conn.shutdown_write();
                    let until = Instant::now() + io::LINGER;
                    conn.linger_until = Some(until);
                    conn.maybe_readable = true;
                    self.lingering.insert((slot, key), until);
                    self.pending_reads.insert((slot, key));
                    return;
                }
                let notify = std::mem::take(&mut conn.notify_writable);
                if conn.maybe_readable {
                    self.pending_reads.insert((slot, key));
                }
                if notify {
                    let h = handle_of(key);
                    self.call(slot, "on_writable", |vt, p| (vt.on_writable)(p, h));
                }
            }
        }
    }

    fn finish_connect(&mut self, slot: usize, key: usize) {
        let Some(c) = self.ctx_mut(slot) else { return };
        let Some(sock) = c.sockets.get_mut(key) else {
            return;
        };
        let SocketKind::Conn(conn) = &mut sock.kind else {
            return;
        };
        let result = match &conn.stream {
            Stream::Tcp(_) | Stream::Tls(_) => {
                let Some(s) = conn.stream.tcp() else { return };
                match s.take_error() {
                    Ok(Some(e)) | Err(e) => Err(e.to_string()),
                    Ok(None) => match s.peer_addr() {
                        Ok(_) => Ok(s.local_addr().map(|a| a.to_string()).unwrap_or_default()),
                        Err(e) if e.kind() == ErrorKind::NotConnected => return,
                        Err(e) => Err(e.to_string()),
                    },
                }
            }
            Stream::Unix(s) => match s.take_error() {
                Ok(Some(e)) | Err(e) => Err(e.to_string()),
                Ok(None) => Ok(String::new()),
            },
        };
        let h = handle_of(key);
        match result {
            Ok(local) => {
                conn.connecting = false;
                conn.maybe_readable = true;
                sock.local = local;
                c.deferred.push(Deferred::Connected {
                    handle: h,
                    result: Ok(()),
                });
                self.pending_reads.insert((slot, key));
                self.after_call(slot);
                self.flush_conn(slot, key);
            }
            Err(e) => {
                c.deferred.push(Deferred::Connected {
                    handle: h,
                    result: Err(e.clone()),
                });
                if let Some(mut s) = c.sockets.try_remove(key) {
                    let _ = c.registry.deregister(s.source());
                    c.connections = c.connections.saturating_sub(1);
                }
                self.after_call(slot);
            }
        }
    }

    /// Writes the output plugins queued during this loop iteration: a
    /// peer sent many messages in one iteration gets them in one `write`.
    /// Called at the end of every iteration, before the loop can sleep.
    pub fn flush_writes(&mut self) {
        // A flush can call the plugin back (on_writable, on_closed), which
        // may queue more; what is left after a few rounds keeps the next
        // poll from sleeping (`has_pending`).
        for _ in 0..4 {
            if self.pending_writes.is_empty() {
                break;
            }
            for (slot, key) in std::mem::take(&mut self.pending_writes) {
                self.flush_conn(slot, key);
            }
        }
    }

    /// Reads sockets that still had data when we stopped (budget, paused,
    /// backpressure). Called once per loop iteration.
    pub fn drive(&mut self) {
        let pending: Vec<(usize, usize)> = self.pending_reads.drain().collect();
        for (slot, key) in pending {
            let kind = {
                let Some(c) = self.ctx_mut(slot) else {
                    continue;
                };
                match c.sockets.get(key).map(|s| &s.kind) {
                    Some(SocketKind::Conn(_)) => 0,
                    Some(SocketKind::Udp(_) | SocketKind::UnixDgram(..)) => 1,
                    Some(_) => 2,
                    None => continue,
                }
            };
            match kind {
                0 => self.read_conn(slot, key),
                1 => self.read_datagrams(slot, key),
                _ => self.accept(slot, key),
            }
        }
        // Closes waiting for their output to drain.
        let flush: Vec<(usize, usize)> = self.pending_flush.iter().copied().collect();
        for (slot, key) in flush {
            self.flush_conn(slot, key);
        }
        // Lingering connections whose peer never closed.
        let now = Instant::now();
        let expired: Vec<(usize, usize)> = self
            .lingering
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(&k, _)| k)
            .collect();
        for (slot, key) in expired {
            self.lingering.remove(&(slot, key));
            if let Some(c) = self.ctx_mut(slot) {
                host_api::close_now(c, key, "closed".into());
                self.after_call(slot);
            }
        }
    }

    /// The earliest linger deadline, for the loop's poll timeout.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.lingering.values().min().copied()
    }

    pub fn timer(&mut self, r: InstanceRef, id: u64) {
        if !self.is_current(r) {
            return;
        }
        let live = self
            .ctx_mut(r.slot)
            .is_some_and(|c| c.live_timers.remove(&id));
        if live {
            self.call(r.slot, "on_timer", |vt, p| (vt.on_timer)(p, id));
        }
    }

    pub fn committed(&mut self, r: InstanceRef, token: u64, result: CommitOutcome) {
        if let Some(i) = self.instances.get_mut(r.slot)
            && i.generation == r.generation
        {
            // Counters live in the ctx while running.
            if let Some(c) = (!i.ctx.is_null()).then_some(i.ctx) {
                // SAFETY: no plugin call in progress.
                let counters = unsafe { &mut (*c).counters };
                match &result {
                    CommitOutcome::Stored(_) => counters.events_stored += 1,
                    CommitOutcome::Duplicate(_) => counters.events_duplicate += 1,
                    CommitOutcome::Rejected(..) | CommitOutcome::Failed(_) => {
                        counters.events_rejected += 1
                    }
                }
            }
        }
        if !self.is_current(r) {
            return;
        }
        let (status, id, dup, code, msg) = match &result {
            CommitOutcome::Stored(id) => (ffi::OK, *id, 0, "", ""),
            CommitOutcome::Duplicate(id) => (ffi::OK, *id, 1, "", ""),
            CommitOutcome::Rejected(code, m) => {
                (ffi::ERR_REJECTED, 0, 0, code.as_str(), m.as_str())
            }
            CommitOutcome::Failed(m) => (ffi::ERR_IO, 0, 0, "internal", m.as_str()),
        };
        let raw = ffi::TocsinCommitResult {
            struct_size: ffi::size_of_u32::<ffi::TocsinCommitResult>(),
            status,
            event_id: id,
            duplicate: dup,
            code: TocsinSlice::from_str(code),
            message: TocsinSlice::from_str(msg),
        };
        self.call(r.slot, "on_committed", |vt, p| {
            (vt.on_committed)(p, token, &raw)
        });
    }

    pub fn instance_ref(&self, name: &str) -> Option<InstanceRef> {
        let slot = *self.by_name.get(name)?;
        let i = self.instances.get(slot)?;
        Some(InstanceRef {
            slot,
            generation: i.generation,
        })
    }

    pub fn kind_of(&self, name: &str) -> Option<Kind> {
        let slot = *self.by_name.get(name)?;
        self.instances.get(slot)?.lib.as_ref().map(|l| l.kind)
    }

    /// Hands a delivery to a delivery plugin instance. Returns false when
    /// the instance is not running (the caller keeps the delivery queued).
    pub fn deliver(&mut self, r: InstanceRef, d: &DeliveryIn<'_>) -> bool {
        if !self.is_current(r) {
            return false;
        }
        let raw = ffi::TocsinDelivery {
            struct_size: ffi::size_of_u32::<ffi::TocsinDelivery>(),
            priority: u32::from(d.priority),
            delivery_id: d.delivery_id,
            event_id: d.event_id,
            occurred_at_ms: d.occurred_at_ms,
            attempt: d.attempt,
            flags: d.flags,
            target: TocsinSlice::from_str(d.target),
            user: TocsinSlice::from_str(d.user),
            kind: TocsinSlice::from_str(d.kind),
            source: TocsinSlice::from_str(d.source),
            summary: TocsinSlice::from_str(d.summary),
            body: TocsinSlice::from_str(d.body),
            message_id: TocsinSlice::from_str(d.message_id),
        };
        let id = d.delivery_id;
        self.call(r.slot, "deliver", |vt, p| (vt.deliver)(p, id, &raw));
        self.is_current(r)
    }

    pub fn count_delivery(&mut self, slot: usize, ok: bool) {
        if let Some(c) = self.ctx_mut(slot) {
            if ok {
                c.counters.deliveries_ok += 1;
            } else {
                c.counters.deliveries_failed += 1;
            }
        }
    }

    /// Stops every instance (shutdown).
    pub fn shutdown(&mut self) {
        let slots: Vec<usize> = self.instances.iter().map(|(k, _)| k).collect();
        for slot in slots {
            self.teardown(slot, None);
        }
    }

    pub fn views(&self) -> Vec<InstanceView> {
        let mut out: Vec<InstanceView> = self
            .by_name
            .iter()
            .filter_map(|(_, &slot)| self.instances.get(slot))
            .map(|i| self.view(i))
            .collect();
        for (name, (file, reason)) in &self.problems {
            out.push(InstanceView {
                name: name.clone(),
                plugin: String::new(),
                library: String::new(),
                kind: String::new(),
                version: String::new(),
                abi: String::new(),
                state: "refused".into(),
                reason: Some(reason.clone()),
                stale: false,
                config_file: file.display().to_string(),
                events_emitted: 0,
                events_stored: 0,
                events_duplicate: 0,
                events_rejected: 0,
                deliveries_ok: 0,
                deliveries_failed: 0,
                sockets: Vec::new(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn view(&self, i: &Instance) -> InstanceView {
        let counters = if i.ctx.is_null() {
            i.counters.clone()
        } else {
            // SAFETY: no plugin call in progress; read-only snapshot.
            unsafe { (*i.ctx).counters.clone() }
        };
        let sockets = if i.ctx.is_null() {
            Vec::new()
        } else {
            // SAFETY: as above.
            let c = unsafe { &*i.ctx };
            c.sockets
                .iter()
                .map(|(k, s)| SocketView {
                    handle: handle_of(k),
                    kind: s.kind_name().to_string(),
                    local: s.local.clone(),
                    peer: match &s.kind {
                        SocketKind::Conn(conn) => conn.peer.clone(),
                        _ => String::new(),
                    },
                    queued_out: match &s.kind {
                        SocketKind::Conn(conn) => conn.out.len(),
                        _ => 0,
                    },
                })
                .collect()
        };
        InstanceView {
            name: i.config.name.clone(),
            plugin: i.lib.as_ref().map(|l| l.name.clone()).unwrap_or_default(),
            library: i
                .lib
                .as_ref()
                .map_or(i.config.library.clone(), |l| l.path.clone())
                .display()
                .to_string(),
            kind: i
                .lib
                .as_ref()
                .map(|l| l.kind.name().to_string())
                .unwrap_or_default(),
            version: i
                .lib
                .as_ref()
                .map(|l| l.version.clone())
                .unwrap_or_default(),
            abi: i
                .lib
                .as_ref()
                .map(|l| format!("{}.{}", l.abi.0, l.abi.1))
                .unwrap_or_default(),
            state: i.state.name().to_string(),
            reason: i.state.reason().map(str::to_string),
            stale: i.stale,
            config_file: i.config.file.display().to_string(),
            events_emitted: counters.events_emitted,
            events_stored: counters.events_stored,
            events_duplicate: counters.events_duplicate,
            events_rejected: counters.events_rejected,
            deliveries_ok: counters.deliveries_ok,
            deliveries_failed: counters.deliveries_failed,
            sockets,
        }
    }
}

/// The outcome of an emitted event's commit.
#[derive(Debug, Clone)]
pub enum CommitOutcome {
    Stored(i64),
    Duplicate(i64),
    Rejected(String, String),
    Failed(String),
}

/// A delivery handed to a plugin.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryIn<'a> {
    pub delivery_id: u64,
    pub event_id: i64,
    pub occurred_at_ms: i64,
    pub attempt: u32,
    pub priority: u8,
    pub flags: u32,
    pub target: &'a str,
    pub user: &'a str,
    pub kind: &'a str,
    pub source: &'a str,
    pub summary: &'a str,
    pub body: &'a str,
    pub message_id: &'a str,
}

#[allow(dead_code)]
fn _assert_key_of_roundtrip() {
    let _ = key_of(handle_of(0));
}

impl Drop for PluginManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}
