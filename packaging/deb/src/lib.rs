//! Carries the Debian package metadata (`[package.metadata.deb]` in this
//! crate's Cargo.toml) for cargo-deb; it has no code. See docs/packaging.md.
