use std::path::PathBuf;
use tocsin_abi::{Event, Priority};

/// A ~300-byte event, the size the S2S targets use.
pub fn event(i: usize) -> Event {
    Event {
        source: "bench".into(),
        source_event_id: format!("bench-{i:012}"),
        kind: "mail.MessageNew".into(),
        user: format!("user{}@example.org", i % 1000),
        origin_host: "mx1.example.org".into(),
        occurred_at_ms: 1_700_000_000_000 + i as i64,
        priority: Priority::Normal,
        summary: "New message from Bob Example <bob@example.org>: Quarterly report".into(),
        body: "Hi Alice, please find the quarterly figures attached; the summary is in the first \
               section and the details follow. Regards, Bob"
            .into(),
        attributes: [
            ("folder".to_string(), "INBOX".to_string()),
            ("uid".to_string(), i.to_string()),
        ]
        .into(),
    }
}

/// The workspace's target dir of this binary's profile.
pub fn sibling_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let p = exe.parent().expect("bin dir").join(name);
    assert!(
        p.exists(),
        "{} missing: cargo build --release --workspace",
        p.display()
    );
    p
}

pub fn rate(n: usize, secs: f64) -> String {
    format!("{:>10.0}/s", n as f64 / secs)
}
