use std::path::PathBuf;

/// The directory cargo put this test binary's siblings in
/// (`target/<profile>`), where `cargo build --workspace` leaves tocsind,
/// tocsinctl and the plugin libraries.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/e2e-<hash>
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// Path of a workspace binary; panics with the fix if it was not built.
pub fn bin(name: &str) -> PathBuf {
    let p = target_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace`, or run tests/run)",
        p.display()
    );
    p
}

/// Some tests switch uids (admin socket credentials, unwritable
/// directories); CI runs as root. Fail loudly rather than skip.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this end-to-end test must run as root (it runs clients as other users)"
    );
}
