//! tocsin-mailevents
