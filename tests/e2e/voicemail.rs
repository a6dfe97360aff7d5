//! The voicemail plugin in the real daemon, driven over real UDP and TCP
//! sockets: by a hand-rolled SIP peer, by sipp (the Debian `sip-tester`),
//! by the Asterisk externnotify script, and by a bad-input corpus.

mod corpus;
mod externnotify;
mod sipp;
mod subscribe;
mod trust;
mod unsolicited;

use tocsin_tests::TestDaemon;

/// Maps the Asterisk voicemail extension to alice, every other
/// `sip:USER@127.0.0.1` to USER@example.org.
pub const USER_MAP: &str = "user_map = [\n  { account = \"sip:*97@pbx.example.org\", user = \"alice@example.org\" },\n  { pattern = \"sip:{user}@127.0.0.1\", user = \"{user}@example.org\" },\n]\n";

/// A running daemon with one voicemail instance `vm` on UDP and TCP.
pub struct Vm {
    pub d: TestDaemon,
    pub udp: String,
    pub tcp: String,
}

/// `extra` goes into the instance's `[config]` table after the listeners.
pub fn start(extra: &str) -> Vm {
    let config = format!(
        "plugin = \"voicemail\"\n[config]\nlisten_udp = \"127.0.0.1:0\"\nlisten_tcp = \"127.0.0.1:0\"\n{extra}"
    );
    let mut d = TestDaemon::with_plugins(&[("vm", &config)]);
    d.start();
    let (udp, tcp) = (start_addr(&d, "udp"), start_addr(&d, "tcp-listener"));
    Vm { d, udp, tcp }
}

/// The bound address of the instance's socket of this kind (`udp`,
/// `tcp-listener`).
pub fn start_addr(d: &TestDaemon, kind: &str) -> String {
    let p = d.plugin("vm");
    assert_eq!(p["state"], "running", "{p}\n{}", d.log());
    p["sockets"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["kind"] == kind))
        .and_then(|s| s["local"].as_str())
        .unwrap_or_else(|| panic!("no {kind} socket: {p}"))
        .to_string()
}

impl Vm {
    /// The instance's events, oldest first.
    pub fn events(&self) -> Vec<serde_json::Value> {
        let mut v: Vec<_> = self
            .d
            .events()
            .into_iter()
            .filter(|e| e["source"] == "vm")
            .collect();
        v.reverse();
        v
    }
}

/// The voice counts of an event, as its attributes carry them.
pub fn voice(e: &serde_json::Value) -> (String, String, String, String) {
    let a = |k: &str| e["attributes"][k].as_str().unwrap_or("").to_string();
    (
        a("voice_new"),
        a("voice_old"),
        a("voice_urgent_new"),
        a("voice_urgent_old"),
    )
}

pub fn counts(new: &str, old: &str, un: &str, uo: &str) -> (String, String, String, String) {
    (new.into(), old.into(), un.into(), uo.into())
}
