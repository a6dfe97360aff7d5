//! Opening plugin libraries and validating what they export. Libraries are
//! opened eagerly (RTLD_NOW, so a missing symbol fails here, not later) and
//! never unloaded: instances, vtables and static descriptors point into
//! them, and Rust's thread-local destructors make unloading unreliable.
#![allow(unsafe_code)] // dlopen and the descriptor read; each block says why

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tocsin_abi::ffi::{self, TocsinPluginDescriptor, TocsinPluginVtable};

/// What identifies the file a library was loaded from; a different value
/// on disk means the file was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl FileIdentity {
    pub fn of(path: &Path) -> std::io::Result<FileIdentity> {
        let m = std::fs::metadata(path)?;
        Ok(FileIdentity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Source,
    Delivery,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Source => "source",
            Kind::Delivery => "delivery",
        }
    }
}

/// A loaded, validated plugin library.
#[derive(Debug)]
pub struct LoadedLibrary {
    pub path: PathBuf,
    pub identity: FileIdentity,
    pub name: String,
    pub version: String,
    pub kind: Kind,
    pub abi: (u16, u16),
    pub vtable: Vtable,
    /// Kept only so the mapping is never released; see the module doc.
    _lib: Library,
}

type CreateFn = extern "C" fn(
    *const ffi::TocsinHost,
    *mut std::ffi::c_void,
    ffi::TocsinSlice,
    ffi::TocsinSlice,
    *mut *mut std::ffi::c_void,
    *mut ffi::TocsinBuf,
) -> ffi::Status;
type ValidateFn = extern "C" fn(ffi::TocsinSlice, *mut ffi::TocsinBuf) -> ffi::Status;
type DestroyFn = extern "C" fn(*mut std::ffi::c_void);
type AcceptFn = extern "C" fn(*mut std::ffi::c_void, u64, u64, ffi::TocsinSlice) -> ffi::Status;
type DataFn = extern "C" fn(*mut std::ffi::c_void, u64, ffi::TocsinSlice) -> ffi::Status;
type DatagramFn =
    extern "C" fn(*mut std::ffi::c_void, u64, ffi::TocsinSlice, ffi::TocsinSlice) -> ffi::Status;
type HandleFn = extern "C" fn(*mut std::ffi::c_void, u64) -> ffi::Status;
type ConnectedFn =
    extern "C" fn(*mut std::ffi::c_void, u64, ffi::Status, ffi::TocsinSlice) -> ffi::Status;
type CommittedFn =
    extern "C" fn(*mut std::ffi::c_void, u64, *const ffi::TocsinCommitResult) -> ffi::Status;
type DeliverFn =
    extern "C" fn(*mut std::ffi::c_void, u64, *const ffi::TocsinDelivery) -> ffi::Status;

/// A plugin's vtable with every entry checked present.
#[allow(dead_code)] // validate_config: for a future `config check` of plugins.d
#[derive(Debug, Clone, Copy)]
pub struct Vtable {
    pub create: CreateFn,
    pub validate_config: ValidateFn,
    pub destroy: DestroyFn,
    pub on_accept: AcceptFn,
    pub on_data: DataFn,
    pub on_datagram: DatagramFn,
    pub on_writable: HandleFn,
    pub on_closed: DataFn,
    pub on_connected: ConnectedFn,
    pub on_timer: HandleFn,
    pub on_committed: CommittedFn,
    pub deliver: DeliverFn,
}

impl Vtable {
    fn from_raw(v: &TocsinPluginVtable) -> Result<Vtable, &'static str> {
        Ok(Vtable {
            create: v.create.ok_or("create is null")?,
            validate_config: v.validate_config.ok_or("validate_config is null")?,
            destroy: v.destroy.ok_or("destroy is null")?,
            on_accept: v.on_accept.ok_or("on_accept is null")?,
            on_data: v.on_data.ok_or("on_data is null")?,
            on_datagram: v.on_datagram.ok_or("on_datagram is null")?,
            on_writable: v.on_writable.ok_or("on_writable is null")?,
            on_closed: v.on_closed.ok_or("on_closed is null")?,
            on_connected: v.on_connected.ok_or("on_connected is null")?,
            on_timer: v.on_timer.ok_or("on_timer is null")?,
            on_committed: v.on_committed.ok_or("on_committed is null")?,
            deliver: v.deliver.ok_or("deliver is null")?,
        })
    }
}

/// Why a library was refused. Shown in `tocsinctl plugins list`.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("library {0} does not exist")]
    Missing(PathBuf),
    #[error("{path}: {why}; refusing to load it")]
    Unsafe { path: PathBuf, why: String },
    #[error("cannot load {path}: {why}")]
    Open { path: PathBuf, why: String },
    #[error("{0} is not a tocsin plugin (no {sym} symbol)", sym = ffi::ENTRY_SYMBOL)]
    NoEntry(PathBuf),
    #[error("{path}: plugin ABI {major}.{minor} is not supported (this tocsind speaks {host_major}.x, x <= {host_minor})", host_major = ffi::ABI_MAJOR, host_minor = ffi::ABI_MINOR)]
    AbiMismatch {
        path: PathBuf,
        major: u16,
        minor: u16,
    },
    #[error("{path}: invalid plugin descriptor: {why}")]
    BadDescriptor { path: PathBuf, why: String },
}

/// Plugins run with the daemon's privileges: refuse files anyone else
/// could have replaced.
fn check_ownership(path: &Path) -> Result<(), LoadError> {
    let me = nix::unistd::geteuid().as_raw();
    for p in [Some(path), path.parent()].into_iter().flatten() {
        let m = std::fs::metadata(p).map_err(|e| LoadError::Open {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
        if m.uid() != 0 && m.uid() != me {
            return Err(LoadError::Unsafe {
                path: path.to_path_buf(),
                why: format!("{} is owned by uid {}", p.display(), m.uid()),
            });
        }
        if m.mode() & 0o022 != 0 && m.mode() & 0o1000 == 0 {
            return Err(LoadError::Unsafe {
                path: path.to_path_buf(),
                why: format!("{} is group- or world-writable", p.display()),
            });
        }
    }
    Ok(())
}

/// # Safety
/// `s` must point to `len` readable bytes (descriptor strings are static
/// data inside the library, which stays mapped).
unsafe fn static_str(s: ffi::TocsinSlice, max: usize) -> Option<String> {
    if s.ptr.is_null() || s.len == 0 || s.len > max {
        return None;
    }
    // SAFETY: contract above.
    let b = unsafe { std::slice::from_raw_parts(s.ptr, s.len) };
    std::str::from_utf8(b).ok().map(str::to_string)
}

pub fn load(path: &Path) -> Result<LoadedLibrary, LoadError> {
    if !path.exists() {
        return Err(LoadError::Missing(path.to_path_buf()));
    }
    check_ownership(path)?;
    let identity = FileIdentity::of(path).map_err(|e| LoadError::Open {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    // SAFETY: loading a library runs its initialisers. We only load files
    // from the configured plugin directory that pass the ownership check;
    // that is the trust boundary for plugins (they run in-process).
    let lib = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| {
        LoadError::Open {
            path: path.to_path_buf(),
            why: e.to_string(),
        }
    })?;
    // SAFETY: the symbol's type is fixed by the ABI (`EntryFn`); if a
    // library exports the name with another type that is a broken plugin
    // we cannot detect — the descriptor checks below catch most.
    let entry: ffi::EntryFn = match unsafe { lib.get::<ffi::EntryFn>(ffi::ENTRY_SYMBOL.as_bytes()) }
    {
        Ok(sym) => *sym,
        Err(_) => return Err(LoadError::NoEntry(path.to_path_buf())),
    };
    let bad = |why: &str| LoadError::BadDescriptor {
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    // SAFETY: calling the entry point has no preconditions per the ABI.
    let desc_ptr = unsafe { entry() };
    if desc_ptr.is_null() {
        return Err(bad("entry returned null"));
    }
    // Read the leading fields first: they are stable across ABI versions.
    // SAFETY: non-null pointer to static data in the library; every ABI
    // version starts with struct_size, abi_major, abi_minor.
    let (size, major, minor) = unsafe {
        let p = desc_ptr as *const u32;
        let size = *p;
        let vers = p.add(1) as *const u16;
        (size, *vers, *vers.add(1))
    };
    if major != ffi::ABI_MAJOR || minor > ffi::ABI_MINOR {
        return Err(LoadError::AbiMismatch {
            path: path.to_path_buf(),
            major,
            minor,
        });
    }
    if (size as usize) < std::mem::size_of::<TocsinPluginDescriptor>() {
        return Err(bad("descriptor is smaller than ABI 1.0's"));
    }
    // SAFETY: struct_size says the whole v1 descriptor is there.
    let desc = unsafe { &*desc_ptr };
    let kind = match desc.kind {
        ffi::KIND_SOURCE => Kind::Source,
        ffi::KIND_DELIVERY => Kind::Delivery,
        other => return Err(bad(&format!("unknown plugin kind {other}"))),
    };
    // SAFETY: descriptor strings are static data in the mapped library.
    let name = unsafe { static_str(desc.name, 64) }
        .ok_or_else(|| bad("name is not 1..64 bytes of UTF-8"))?;
    // SAFETY: as above.
    let version = unsafe { static_str(desc.version, 64) }
        .ok_or_else(|| bad("version is not 1..64 bytes of UTF-8"))?;
    if desc.vtable.is_null() {
        return Err(bad("vtable is null"));
    }
    // SAFETY: non-null pointer to the library's static vtable; read its size
    // before the rest.
    let vsize = unsafe { *(desc.vtable as *const u32) };
    if (vsize as usize) < std::mem::size_of::<TocsinPluginVtable>() {
        return Err(bad("vtable is smaller than ABI 1.0's"));
    }
    // SAFETY: the size check says all v1 fields are present; entries are
    // nullable function pointers, checked next.
    let raw = unsafe { *desc.vtable };
    let vtable = Vtable::from_raw(&raw).map_err(bad)?;
    Ok(LoadedLibrary {
        path: path.to_path_buf(),
        identity,
        name,
        version,
        kind,
        abi: (major, minor),
        vtable,
        _lib: lib,
    })
}
