//! tocsin-imtp
