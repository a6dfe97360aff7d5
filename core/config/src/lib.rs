//! tocsin-config
