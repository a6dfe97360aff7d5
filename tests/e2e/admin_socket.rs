//! The admin socket's fences: file mode, peer credentials, framing limits.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;
use tocsin_admin::AdminClient;
use tocsin_tests::daemon::run;
use tocsin_tests::{TestDaemon, bin, require_root};

fn ctl_as(d: &TestDaemon, uid: u32, gid: u32) -> tocsin_tests::CtlOutput {
    // setpriv (util-linux) also clears root's supplementary groups, which
    // std's uid()/gid() would leave in place.
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .arg("--clear-groups")
        .arg(bin("tocsinctl"))
        .arg("--socket")
        .arg(&d.socket)
        .args(["--json", "status"]);
    run(cmd)
}

fn open_up(d: &TestDaemon) {
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn socket_mode_is_0660() {
    let mut d = TestDaemon::new();
    d.start();
    let mode = std::fs::metadata(&d.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
}

#[test]
fn peer_credentials_refuse_other_users() {
    require_root();
    let mut d = TestDaemon::new();
    d.start();
    open_up(&d);
    // The file mode alone keeps uid 1 out...
    let out = ctl_as(&d, 1, 1);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.contains("Permission denied"), "{out:?}");
    // ...and with the mode opened up, SO_PEERCRED still does.
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = ctl_as(&d, 1, 1);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json()["error"]["code"], "forbidden");
    assert!(d.log().contains("refused"), "{}", d.log());
    // Root is always allowed, and the daemon is still fine.
    assert_eq!(d.ctl(&["status"]).code, 0);
}

#[test]
fn admin_group_members_are_allowed() {
    require_root();
    let mut d = TestDaemon::with_config(|c| {
        *c = c.replace("[admin]\n", "[admin]\ngroup = \"nogroup\"\n");
    });
    d.start();
    open_up(&d);
    let meta = std::fs::metadata(&d.socket).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(meta.gid(), 65534, "socket belongs to the admin group");
    let out = ctl_as(&d, 65534, 65534);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["appliance_id"], "test-node");
    // uid 1 is not in nogroup
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(ctl_as(&d, 1, 1).code, 1);
}

#[test]
fn malformed_and_oversized_requests_get_errors() {
    let mut d = TestDaemon::with_config(|c| {
        *c = c.replace("[admin]\n", "[admin]\nmax_request_bytes = 4096\n");
    });
    d.start();
    let mut c = AdminClient::connect(&d.socket, Duration::from_secs(10)).unwrap();
    for (body, code) in [
        (&b"not json at all"[..], "bad-request"),
        (&b"{\"cmd\":\"no-such-command\"}"[..], "bad-request"),
        (
            &b"{\"cmd\":\"events-show\",\"id\":\"seven\"}"[..],
            "bad-request",
        ),
        (&b"\xff\xfe\x00garbage"[..], "bad-request"),
        (&b"{\"cmd\":\"send\",\"user\":\"u\"}"[..], "bad-request"),
    ] {
        let r = c.request_raw(body).unwrap();
        assert!(!r.ok);
        assert_eq!(
            r.error.unwrap().code,
            code,
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
    // The same connection still works.
    let r = c.request(&tocsin_admin::Request::Status {}).unwrap();
    assert!(r.ok);
    // Oversized: answered with an error, then closed.
    let big = vec![b' '; 10_000];
    let r = c.request_raw(&big).unwrap();
    assert_eq!(r.error.unwrap().code, "too-large");
    // A length prefix claiming 4 GiB is refused before any buffering.
    let mut raw = AdminClient::connect(&d.socket, Duration::from_secs(10)).unwrap();
    raw.stream().write_all(&u32::MAX.to_be_bytes()).unwrap();
    let r = raw.read_response().unwrap();
    assert_eq!(r.error.unwrap().code, "too-large");
    // A client that disconnects mid-frame does no harm.
    let mut half = AdminClient::connect(&d.socket, Duration::from_secs(10)).unwrap();
    half.stream().write_all(&100u32.to_be_bytes()).unwrap();
    half.stream().write_all(b"{\"cmd\"").unwrap();
    drop(half);
    // The daemon is still up and answering.
    let out = d.ctl(&["status"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(d.try_wait().is_none());
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut d = TestDaemon::new();
    d.start();
    let mut c = AdminClient::connect(&d.socket, Duration::from_secs(10)).unwrap();
    let mut wire = Vec::new();
    for i in 0..20 {
        let req = serde_json::json!({"cmd":"send","user":"p","kind":"a.b","summary":"s","id":format!("p{i}")});
        tocsin_admin::encode_frame(&serde_json::to_vec(&req).unwrap(), &mut wire);
    }
    c.stream().write_all(&wire).unwrap();
    let mut last = 0;
    for _ in 0..20 {
        let r = c.read_response().unwrap();
        assert!(r.ok, "{r:?}");
        let id = r.data.unwrap()["id"].as_i64().unwrap();
        assert!(id > last);
        last = id;
    }
}
