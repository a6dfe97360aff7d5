//! tocsin-abi
