//! Bad configuration: non-zero exit and a message naming the problem,
//! never a panic.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use tocsin_tests::daemon::run;
use tocsin_tests::{CtlOutput, TestDaemon, bin, require_root};

fn run_daemon(d: &TestDaemon) -> CtlOutput {
    let mut cmd = Command::new(bin("tocsind"));
    cmd.arg("--config")
        .arg(&d.config)
        .env_remove("NOTIFY_SOCKET");
    run(cmd)
}

fn assert_refused(out: &CtlOutput, needles: &[&str]) {
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
    for n in needles {
        assert!(out.stderr.contains(n), "expected {n:?} in {out:?}");
    }
}

#[test]
fn unknown_key_names_file_and_line() {
    let d = TestDaemon::new();
    let text = std::fs::read_to_string(&d.config).unwrap().replace(
        "checkpoint_idle_ms = 200\n",
        "checkpoint_idle_ms = 200\nbogus_key = 1\n",
    );
    d.write_config(&text);
    let line = text
        .lines()
        .position(|l| l.starts_with("bogus_key"))
        .unwrap()
        + 1;
    let out = run_daemon(&d);
    let cfg = d.config.display().to_string();
    assert_refused(&out, &[&format!("{cfg}:{line}:"), "bogus_key"]);
    // tocsinctl config check says the same, without a daemon
    let ctl = d.ctl(&["config", "check", &cfg]);
    assert_refused(&ctl, &[&format!("{cfg}:{line}:"), "bogus_key"]);
}

#[test]
fn wrong_type_names_line() {
    let d = TestDaemon::new();
    let text = std::fs::read_to_string(&d.config)
        .unwrap()
        .replace("log_level = \"debug\"", "log_level = 42");
    d.write_config(&text);
    let line = text
        .lines()
        .position(|l| l.starts_with("log_level"))
        .unwrap()
        + 1;
    let out = run_daemon(&d);
    assert_refused(&out, &[&format!(":{line}:")]);
}

#[test]
fn missing_file() {
    let mut cmd = Command::new(bin("tocsind"));
    cmd.args(["--config", "/nonexistent/tocsin.toml"]);
    let out = run(cmd);
    assert_refused(&out, &["/nonexistent/tocsin.toml", "No such file"]);
    let mut cmd = Command::new(bin("tocsinctl"));
    cmd.args(["config", "check", "/nonexistent/tocsin.toml"]);
    let out = run(cmd);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("/nonexistent/tocsin.toml"), "{out:?}");
}

#[test]
fn database_file_that_is_not_sqlite() {
    let d = TestDaemon::new();
    std::fs::write(&d.db, "I am a text file, not a database at all.\n").unwrap();
    let out = run_daemon(&d);
    assert_refused(&out, &["not an SQLite database", d.db.to_str().unwrap()]);
    // and it was left alone
    assert_eq!(
        std::fs::read_to_string(&d.db).unwrap(),
        "I am a text file, not a database at all.\n"
    );
}

#[test]
fn database_directory_missing() {
    let d = TestDaemon::new();
    let text = std::fs::read_to_string(&d.config)
        .unwrap()
        .replace("/tocsin.db", "/nope/tocsin.db");
    d.write_config(&text);
    let out = run_daemon(&d);
    assert_refused(&out, &["does not exist", "/nope"]);
}

#[test]
fn database_directory_not_writable() {
    require_root();
    let d = TestDaemon::new();
    let ro = d.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let text = std::fs::read_to_string(&d.config).unwrap().replace(
        &format!("{}/tocsin.db", d.path().display()),
        &format!("{}/tocsin.db", ro.display()),
    );
    d.write_config(&text);
    for p in [d.path(), ro.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&d.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Run as nobody: the directory belongs to root and is not writable.
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin("tocsind"))
        .arg("--config")
        .arg(&d.config);
    let out = run(cmd);
    assert_refused(&out, &["not writable", ro.to_str().unwrap()]);
}

#[test]
fn config_check_accepts_shipped_configs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for f in ["etc/tocsin/tocsin.toml", "etc/dev/tocsin.toml"] {
        let mut cmd = Command::new(bin("tocsinctl"));
        cmd.args(["--json", "config", "check"]).arg(root.join(f));
        let out = run(cmd);
        assert_eq!(out.code, 0, "{f}: {out:?}");
        assert_eq!(out.json()["ok"], true);
    }
}

#[test]
fn usage_errors_exit_2_and_unreachable_exits_3() {
    let mut cmd = Command::new(bin("tocsinctl"));
    cmd.args(["send", "--user"]);
    assert_eq!(run(cmd).code, 2);
    let mut cmd = Command::new(bin("tocsinctl"));
    cmd.args(["--socket", "/nonexistent.sock", "status"]);
    let out = run(cmd);
    assert_eq!(out.code, 3, "{out:?}");
    let mut cmd = Command::new(bin("tocsinctl"));
    cmd.args(["--json", "--socket", "/nonexistent.sock", "status"]);
    let out = run(cmd);
    assert_eq!(out.code, 3);
    assert_eq!(out.json()["error"]["code"], "unreachable");
}
