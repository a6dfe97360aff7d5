//! tocsin-admin
