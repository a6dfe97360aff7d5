//! tocsin-tests
