//! tocsin-store
