//! tocsin-s2s
