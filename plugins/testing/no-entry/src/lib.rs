//! A perfectly good shared object that is not a tocsin plugin.
#![allow(unsafe_code)] // an exported symbol

/// Something unrelated to tocsin.
#[unsafe(no_mangle)]
pub extern "C" fn not_a_tocsin_plugin() -> i32 {
    42
}
