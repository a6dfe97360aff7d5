//! tocsin-httpcodec
