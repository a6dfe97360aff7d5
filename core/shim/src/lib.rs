//! tocsin-shim
