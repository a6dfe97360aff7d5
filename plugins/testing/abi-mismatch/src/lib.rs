//! Exports a descriptor from a future ABI major (2). A correct host reads
//! only the version fields and refuses it without touching anything else.
#![allow(unsafe_code)] // the exported entry symbol

use tocsin_abi::ffi::{KIND_SOURCE, TocsinPluginDescriptor, TocsinSlice, size_of_u32};

#[repr(transparent)]
struct Desc(TocsinPluginDescriptor);
// SAFETY: points only at static, immutable data (and a null vtable).
unsafe impl Sync for Desc {}

static DESCRIPTOR: Desc = Desc(TocsinPluginDescriptor {
    struct_size: size_of_u32::<TocsinPluginDescriptor>(),
    abi_major: 2,
    abi_minor: 0,
    kind: KIND_SOURCE,
    name: TocsinSlice::from_str("from-the-future"),
    version: TocsinSlice::from_str("2.0.0"),
    vtable: std::ptr::null(),
});

/// The entry point, as ABI 2 might define it.
#[unsafe(no_mangle)]
pub extern "C" fn tocsin_plugin_entry() -> *const TocsinPluginDescriptor {
    &DESCRIPTOR.0
}
