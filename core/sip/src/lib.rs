//! tocsin-sip
