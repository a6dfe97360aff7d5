//! A private Dovecot (the Debian packages dovecot-core + dovecot-lmtpd) in a temp dir:
//! foreground master, LMTP on loopback, everything under the temp dir, no system
//! service. Needs root (Dovecot switches to the mail user itself). Stopped by its PID.

use crate::daemon::{CtlOutput, run};
use crate::lmtp::LmtpClient;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DOVECOT: &str = "/usr/sbin/dovecot";
const DOVEADM: &str = "/usr/bin/doveadm";
const LMTP: &str = "/usr/lib/dovecot/lmtp";
const PUSH_PLUGIN: &str = "/usr/lib/dovecot/modules/lib20_push_notification_plugin.so";
/// nobody/nogroup: Dovecot refuses to deliver as root.
const MAIL_UID: u32 = 65534;

pub struct PrivateDovecot {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    pub lmtp_addr: String,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Fails (never skips) with the fix when the packages are missing.
pub fn require_dovecot() {
    for p in [DOVECOT, DOVEADM, LMTP, PUSH_PLUGIN] {
        assert!(
            Path::new(p).exists(),
            "{p} is missing: install dovecot-core and dovecot-lmtpd (tests/run does)"
        );
    }
    crate::paths::require_root();
}

fn config(dir: &Path, lmtp_port: u16, notify_url: &str) -> String {
    let d = dir.display();
    format!(
        r#"# Written by tocsin's end-to-end tests.
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
debug_log_path = {d}/dovecot.log
mail_debug = yes
listen = 127.0.0.1
protocols = lmtp
ssl = no
mail_location = maildir:~/Maildir
mail_attribute_dict = file:%h/dovecot-attributes
mail_plugins = $mail_plugins notify push_notification
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={d}/home/%u
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
plugin {{
  push_notification_driver = ox:url={notify_url} user_from_metadata
}}
"#
    )
}

impl PrivateDovecot {
    /// Starts Dovecot with the ox push driver notifying `notify_url`
    /// (`http://user:pass@127.0.0.1:PORT/path`) and waits until LMTP answers.
    pub fn start(notify_url: &str) -> PrivateDovecot {
        require_dovecot();
        let dir = tempfile::Builder::new()
            .prefix("tocsin-dovecot-")
            .tempdir()
            .unwrap();
        // The mail user (not root) must reach its home below the temp dir.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        nix::unistd::chown(
            &home,
            Some(nix::unistd::Uid::from_raw(MAIL_UID)),
            Some(nix::unistd::Gid::from_raw(MAIL_UID)),
        )
        .unwrap();
        let port = free_port();
        let conf = dir.path().join("dovecot.conf");
        std::fs::write(&conf, config(dir.path(), port, notify_url)).unwrap();
        let out = std::fs::File::create(dir.path().join("dovecot.out")).unwrap();
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn dovecot");
        let mut d = PrivateDovecot {
            dir,
            conf,
            lmtp_addr: format!("127.0.0.1:{port}"),
            child: Some(child),
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(c) = LmtpClient::connect(&self.lmtp_addr) {
                c.quit();
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "dovecot exited ({status}) before LMTP was up:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "dovecot LMTP not up within 30 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn doveadm(&self, args: &[&str]) -> CtlOutput {
        let mut cmd = Command::new(DOVEADM);
        cmd.arg("-c").arg(&self.conf).args(args);
        run(cmd)
    }

    /// The per-user METADATA the ox driver needs before it notifies for that user.
    pub fn set_http_notify(&self, user: &str, value: &str) {
        let out = self.doveadm(&[
            "mailbox",
            "metadata",
            "set",
            "-u",
            user,
            "-s",
            "",
            "/private/vendor/vendor.dovecot/http-notify",
            value,
        ]);
        assert_eq!(out.code, 0, "doveadm metadata set: {out:?}\n{}", self.log());
    }

    pub fn lmtp(&self) -> LmtpClient {
        LmtpClient::connect(&self.lmtp_addr).expect("LMTP connect")
    }

    /// Dovecot's own log plus anything it printed.
    pub fn log(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        format!("{}{}", read("dovecot.out"), read("dovecot.log"))
    }
}

impl Drop for PrivateDovecot {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The master stops its children on SIGTERM; kill only if it hangs.
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
