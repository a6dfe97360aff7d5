//! A real tocsind process in a temp dir, with READY detection through a
//! private NOTIFY_SOCKET, as systemd would see it.

use crate::paths::bin;
use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct TestDaemon {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub db: PathBuf,
    child: Option<Child>,
    notify: UnixDatagram,
    notify_path: PathBuf,
    log_path: PathBuf,
    extra_env: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct CtlOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CtlOutput {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} / {}", self.stdout, self.stderr))
    }
}

pub fn base_config(dir: &Path) -> String {
    format!(
        r#"[daemon]
log_level = "debug"
appliance_id = "test-node"

[admin]
socket = "{dir}/admin.sock"

[store]
path = "{dir}/tocsin.db"
checkpoint_idle_ms = 200

[plugins]
dir = "{dir}/plugins"
config_dir = "{dir}/plugins.d"
"#,
        dir = dir.display()
    )
}

impl TestDaemon {
    /// A daemon with the default test config (not started).
    pub fn new() -> TestDaemon {
        Self::with_config(|_| {})
    }

    /// Lets the caller append to or rewrite the config text.
    pub fn with_config(edit: impl FnOnce(&mut String)) -> TestDaemon {
        let dir = tempfile::Builder::new()
            .prefix("tocsin-e2e-")
            .tempdir()
            .expect("tempdir");
        std::fs::create_dir_all(dir.path().join("plugins.d")).unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        let mut text = base_config(dir.path());
        edit(&mut text);
        let config = dir.path().join("tocsin.toml");
        std::fs::write(&config, text).unwrap();
        let notify_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        TestDaemon {
            socket: dir.path().join("admin.sock"),
            db: dir.path().join("tocsin.db"),
            log_path: dir.path().join("tocsind.log"),
            config,
            dir,
            child: None,
            notify,
            notify_path,
            extra_env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn env(&mut self, k: &str, v: &str) {
        self.extra_env.push((k.to_string(), v.to_string()));
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
    }

    /// Starts tocsind without waiting.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap();
        let mut cmd = Command::new(bin("tocsind"));
        cmd.arg("--config")
            .arg(&self.config)
            .env("NOTIFY_SOCKET", &self.notify_path)
            .env_remove("RUST_LOG")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("spawn tocsind"));
    }

    /// Starts tocsind and waits for READY=1.
    pub fn start(&mut self) {
        self.spawn();
        self.wait_notify("READY=1", Duration::from_secs(20));
    }

    /// Waits for a notify datagram containing `needle`; panics on timeout
    /// or if the daemon exits first.
    pub fn wait_notify(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(n) = self.notify.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                if msg.lines().any(|l| l == needle) {
                    return msg;
                }
            }
            if let Some(status) = self.try_wait() {
                panic!(
                    "tocsind exited ({status}) before {needle}; log:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle} within {timeout:?}; log:\n{}",
                self.log()
            );
        }
    }

    /// Discards queued notifications; returns how many there were.
    pub fn drain_notify(&mut self) -> usize {
        let mut buf = [0u8; 4096];
        let mut n = 0;
        self.notify.set_nonblocking(true).unwrap();
        while self.notify.recv(&mut buf).is_ok() {
            n += 1;
        }
        self.notify.set_nonblocking(false).unwrap();
        n
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "tocsind did not exit within {timeout:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).unwrap();
    }

    /// SIGTERM and wait; returns the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        self.wait_exit(Duration::from_secs(20))
    }

    /// kill -9: no chance to flush, checkpoint or clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_path) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Runs tocsinctl against this daemon.
    pub fn ctl(&self, args: &[&str]) -> CtlOutput {
        let mut cmd = Command::new(bin("tocsinctl"));
        cmd.arg("--socket").arg(&self.socket).args(args);
        run(cmd)
    }

    pub fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.ctl(&full);
        assert_eq!(out.code, 0, "tocsinctl {args:?} failed: {out:?}");
        out.json()
    }

    /// Sends an event; returns (id, duplicate).
    pub fn send(&self, user: &str, kind: &str, summary: &str, extra: &[&str]) -> (i64, bool) {
        let mut args = vec!["send", "--user", user, "--kind", kind, "--summary", summary];
        args.extend_from_slice(extra);
        let v = self.ctl_json(&args);
        (
            v["id"].as_i64().expect("id"),
            v["duplicate"].as_bool().expect("duplicate"),
        )
    }

    /// A daemon whose plugin directory is the workspace's build output
    /// (where the plugin libraries are), with these plugins.d files.
    pub fn with_plugins(files: &[(&str, &str)]) -> TestDaemon {
        let plugin_dir = crate::paths::target_dir();
        let d = Self::with_config(|c| {
            let from = c
                .lines()
                .find(|l| l.starts_with("dir = "))
                .unwrap_or("")
                .to_string();
            *c = c.replace(&from, &format!("dir = \"{}\"", plugin_dir.display()));
        });
        for (name, text) in files {
            d.write_plugin(name, text);
        }
        d
    }

    pub fn write_plugin(&self, name: &str, text: &str) {
        std::fs::write(
            self.path().join("plugins.d").join(format!("{name}.toml")),
            text,
        )
        .unwrap();
    }

    pub fn remove_plugin(&self, name: &str) {
        std::fs::remove_file(self.path().join("plugins.d").join(format!("{name}.toml"))).unwrap();
    }

    pub fn plugins(&self) -> Vec<serde_json::Value> {
        self.ctl_json(&["plugins", "list"])
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn plugin(&self, name: &str) -> serde_json::Value {
        self.plugins()
            .into_iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no plugin instance {name}: {:?}", self.plugins()))
    }

    /// The first listening address of an instance (tests bind port 0).
    pub fn plugin_addr(&self, name: &str) -> String {
        let p = self.plugin(name);
        p["sockets"]
            .as_array()
            .and_then(|s| {
                s.iter().find(|s| {
                    s["kind"]
                        .as_str()
                        .is_some_and(|k| k.ends_with("listener") || k == "udp" || k == "unix-dgram")
                })
            })
            .and_then(|s| s["local"].as_str())
            .unwrap_or_else(|| panic!("{name} has no listener: {p}"))
            .to_string()
    }

    pub fn events(&self) -> Vec<serde_json::Value> {
        let v = self.ctl_json(&["events", "list", "--limit", "1000"]);
        v["events"].as_array().cloned().unwrap_or_default()
    }
}

impl Default for TestDaemon {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn run(mut cmd: Command) -> CtlOutput {
    let out = cmd.stdin(Stdio::null()).output().expect("run command");
    CtlOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}
