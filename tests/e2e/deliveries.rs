//! The routing and delivery engine end to end, with the recording
//! delivery plugin.

use std::time::{Duration, Instant};
use tocsin_tests::{LineClient, TestDaemon};

const FAST_RETRY: &str = "\n[delivery]\nretry_base_ms = 100\nretry_cap_ms = 400\nmax_attempts = 3\nunavailable_retry_ms = 200\n";

fn recorder(d: &TestDaemon, name: &str, mode: &str) -> std::path::PathBuf {
    let file = d.path().join(format!("{name}.jsonl"));
    d.write_plugin(
        name,
        &format!(
            "plugin = \"test-recorder\"\n[config]\nfile = \"{}\"\ncontrol = \"127.0.0.1:0\"\nmode = \"{mode}\"\n",
            file.display()
        ),
    );
    file
}

fn daemon(extra: &str) -> TestDaemon {
    let d = TestDaemon::with_plugins(&[]);
    let mut text = std::fs::read_to_string(&d.config).unwrap();
    text.push_str(extra);
    d.write_config(&text);
    d
}

/// The recorder's lines; a line still being written (no newline yet) is
/// not counted.
fn records(file: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(i) => &text[..i],
        None => "",
    };
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn deliveries(d: &TestDaemon, state: Option<&str>) -> Vec<serde_json::Value> {
    let mut args = vec!["deliveries", "list", "--limit", "1000"];
    if let Some(s) = state {
        args.push("--state");
        args.push(s);
    }
    d.ctl_json(&args).as_array().cloned().unwrap_or_default()
}

fn sub(d: &TestDaemon, args: &[&str]) {
    let mut full = vec!["subs", "add"];
    full.extend_from_slice(args);
    let out = d.ctl(&full);
    assert_eq!(out.code, 0, "subs add {args:?}: {out:?}");
}

fn control(d: &TestDaemon, instance: &str) -> LineClient {
    LineClient::connect(&d.plugin_addr(instance))
}

#[test]
fn send_routes_renders_and_delivers() {
    let mut d = daemon("");
    let file = recorder(&d, "rec", "ok");
    d.start();
    sub(
        &d,
        &[
            "alice-mail",
            "--user",
            "*@example.org",
            "--kind",
            "mail.*",
            "--target",
            "rec:im:alice@example.org",
            "--summary",
            "[{priority}] {summary} from {attr.from}",
            "--body",
            "{kind} for {user}",
        ],
    );
    sub(
        &d,
        &[
            "bob",
            "--user",
            "bob@example.org",
            "--target",
            "rec:im:bob@example.org",
        ],
    );
    // Template errors are refused up front, with exit status 2.
    let bad = d.ctl(&[
        "subs",
        "add",
        "x",
        "--user",
        "*",
        "--target",
        "rec:y",
        "--summary",
        "{nope}",
    ]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("unknown field {nope}"), "{bad:?}");
    d.send(
        "alice@example.org",
        "mail.MessageNew",
        "New mail",
        &["--priority", "high", "--attr", "from=Bob"],
    );
    d.send("carol@other.org", "mail.MessageNew", "not subscribed", &[]);
    let recs = wait_for("one delivery", Duration::from_secs(10), || {
        let r = records(&file);
        (r.len() == 1).then_some(r)
    });
    assert_eq!(recs[0]["summary"], "[high] New mail from Bob");
    assert_eq!(recs[0]["body"], "mail.MessageNew for alice@example.org");
    assert_eq!(recs[0]["target"], "im:alice@example.org");
    assert_eq!(recs[0]["message_id"].as_str().unwrap().len(), 32);
    let id = recs[0]["delivery_id"].as_i64().unwrap();
    let shown = wait_for("sent", Duration::from_secs(5), || {
        let v = d.ctl_json(&["deliveries", "show", &id.to_string()]);
        (v["delivery"]["state"] == "sent").then_some(v)
    });
    let states: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["pending", "in-flight", "sent"]);
    assert_eq!(shown["event"]["summary"], "New mail");
    let list = d.ctl_json(&["subs", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(d.ctl(&["subs", "rm", "bob"]).code, 0);
    assert_eq!(d.ctl(&["subs", "rm", "bob"]).code, 1);
    assert_eq!(d.ctl(&["subs", "disable", "alice-mail"]).code, 0);
    d.send(
        "alice@example.org",
        "mail.MessageNew",
        "while disabled",
        &[],
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        records(&file).len(),
        1,
        "a disabled subscription matches nothing"
    );
}

#[test]
fn retries_back_off_then_dead_letter_and_replay() {
    let mut d = daemon(FAST_RETRY);
    let file = recorder(&d, "rec", "retry");
    d.start();
    sub(&d, &["s", "--user", "*", "--target", "rec:a"]);
    d.send("u", "t.x", "will fail", &[]);
    let dead = wait_for("dead letter", Duration::from_secs(10), || {
        let v = d.ctl_json(&["dlq", "list"]);
        let a = v.as_array().unwrap().clone();
        (a.len() == 1).then_some(a)
    });
    let id = dead[0]["id"].as_i64().unwrap();
    assert_eq!(dead[0]["attempts"], 3);
    let shown = d.ctl_json(&["dlq", "show", &id.to_string()]);
    let hist: Vec<String> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to_state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        hist,
        [
            "pending",
            "in-flight",
            "retrying",
            "in-flight",
            "retrying",
            "in-flight",
            "dead"
        ]
    );
    // Backoff: the retries were spaced (jittered 50..100 ms, then 100..200 ms).
    let at: Vec<i64> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["at"].as_i64().unwrap())
        .collect();
    assert!(at[3] - at[2] >= 50, "{at:?}");
    assert!(at[5] - at[4] >= 100, "{at:?}");
    assert!(records(&file).is_empty());
    // Fix the cause, replay.
    assert_eq!(control(&d, "rec").cmd("MODE ok"), "ok");
    let r = d.ctl_json(&["dlq", "replay", "--all"]);
    assert_eq!(r["count"], 1);
    wait_for("delivery after replay", Duration::from_secs(10), || {
        (records(&file).len() == 1).then_some(())
    });
    assert!(d.ctl_json(&["dlq", "list"]).as_array().unwrap().is_empty());
    // Purge.
    assert_eq!(control(&d, "rec").cmd("MODE permanent"), "ok");
    d.send("u", "t.x", "permanent", &[]);
    wait_for("permanent → dead", Duration::from_secs(10), || {
        (d.ctl_json(&["dlq", "list"]).as_array().unwrap().len() == 1).then_some(())
    });
    let dl = d.ctl_json(&["dlq", "list"]);
    assert_eq!(dl[0]["attempts"], 1, "permanent failures do not retry");
    assert_eq!(d.ctl_json(&["dlq", "purge", "--all"])["count"], 1);
    assert!(d.ctl_json(&["dlq", "list"]).as_array().unwrap().is_empty());
}

#[test]
fn kill9_during_retries_loses_nothing_and_does_not_redeliver_confirmed() {
    let mut d =
        daemon("\n[delivery]\nretry_base_ms = 300\nretry_cap_ms = 600\nmax_attempts = 10\n");
    let file = recorder(&d, "rec", "fail-first:2");
    d.start();
    sub(&d, &["s", "--user", "*", "--target", "rec:a"]);
    for i in 0..30 {
        d.send(&format!("u{i}"), "t.x", &format!("n{i}"), &[]);
    }
    // Wait until some are confirmed and others are still retrying.
    wait_for(
        "a mix of sent and retrying",
        Duration::from_secs(20),
        || {
            let sent = deliveries(&d, Some("sent")).len();
            let retrying =
                deliveries(&d, Some("retrying")).len() + deliveries(&d, Some("pending")).len();
            (sent > 0 && retrying > 0).then_some(())
        },
    );
    d.kill9();
    let confirmed: Vec<i64> = {
        let c = rusqlite::Connection::open(&d.db).unwrap();
        let mut st = c
            .prepare("SELECT id FROM deliveries WHERE state = 'sent'")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert!(!confirmed.is_empty());
    d.start();
    wait_for("all 30 sent", Duration::from_secs(40), || {
        (deliveries(&d, Some("sent")).len() == 30).then_some(())
    });
    let recs = records(&file);
    let mut counts = std::collections::HashMap::new();
    for r in &recs {
        *counts
            .entry(r["delivery_id"].as_i64().unwrap())
            .or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 30, "every delivery made it");
    for id in confirmed {
        assert_eq!(
            counts[&id], 1,
            "delivery {id} was confirmed before the crash and must not repeat"
        );
    }
}

#[test]
fn quiet_hours_hold_bypass_and_drop() {
    let mut d = daemon("");
    let file = recorder(&d, "rec", "ok");
    d.start();
    // A window around now in UTC.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let hm = |s: u64| format!("{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60);
    let window = format!("{}-{}", hm(now - 3600), hm(now + 3600));
    sub(
        &d,
        &[
            "hold",
            "--user",
            "held@x",
            "--target",
            "rec:held",
            "--quiet-hours",
            &window,
            "--tz",
            "UTC",
            "--quiet-bypass",
            "urgent",
        ],
    );
    sub(
        &d,
        &[
            "drop",
            "--user",
            "dropped@x",
            "--target",
            "rec:dropped",
            "--quiet-hours",
            &window,
            "--tz",
            "UTC",
            "--quiet-action",
            "drop",
        ],
    );
    d.send("held@x", "t.x", "held", &["--priority", "normal"]);
    d.send(
        "held@x",
        "t.x",
        "urgent goes through",
        &["--priority", "urgent"],
    );
    d.send("dropped@x", "t.x", "dropped", &[]);
    wait_for("urgent delivered", Duration::from_secs(10), || {
        (records(&file).len() == 1).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    let recs = records(&file);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["summary"], "urgent goes through");
    let held = deliveries(&d, Some("pending"));
    assert_eq!(held.len(), 1);
    let until = held[0]["next_attempt_at"].as_i64().unwrap();
    let expect_end = ((now + 3600) / 60 * 60) as i64 * 1000;
    assert_eq!(until, expect_end, "held until the window ends");
    assert_eq!(deliveries(&d, Some("dropped")).len(), 1);
}

#[test]
fn coalescing_replaces_undelivered_older() {
    let mut d = daemon("");
    let file = recorder(&d, "rec", "ok");
    d.start();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let hm = |s: u64| format!("{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60);
    let window = format!("{}-{}", hm(now - 3600), hm(now + 3600));
    // Held by quiet hours, so the first is still undelivered when the
    // second arrives.
    sub(
        &d,
        &[
            "vm",
            "--user",
            "*",
            "--target",
            "rec:vm",
            "--coalesce",
            "vm:{attr.account}",
            "--quiet-hours",
            &window,
            "--tz",
            "UTC",
        ],
    );
    d.send(
        "alice",
        "voicemail.MessageWaiting",
        "1 new",
        &["--attr", "account=100"],
    );
    d.send(
        "alice",
        "voicemail.MessageWaiting",
        "2 new",
        &["--attr", "account=100"],
    );
    d.send(
        "alice",
        "voicemail.MessageWaiting",
        "other box",
        &["--attr", "account=200"],
    );
    let co = deliveries(&d, Some("coalesced"));
    assert_eq!(co.len(), 1, "{co:?}");
    assert_eq!(co[0]["summary"], "1 new");
    let pending = deliveries(&d, Some("pending"));
    assert_eq!(pending.len(), 2);
    let shown = d.ctl_json(&["deliveries", "show", &co[0]["id"].to_string()]);
    assert!(shown["history"].as_array().unwrap().iter().any(|h| {
        h["detail"]
            .as_str()
            .unwrap()
            .starts_with("replaced by delivery")
    }));
    assert!(records(&file).is_empty());
}

#[test]
fn receipts_escalation_once_and_no_storm_after_restart() {
    let mut d = daemon("");
    let file = recorder(&d, "rec", "ok");
    let file2 = recorder(&d, "pager", "ok");
    d.start();
    sub(
        &d,
        &[
            "esc",
            "--user",
            "*",
            "--target",
            "rec:im:alice",
            "--receipts",
            "display",
            "--escalate-after",
            "1s",
            "--escalate-to",
            "pager:sms:+100",
        ],
    );
    d.send("alice", "alarm.Door", "door open", &["--id", "a1"]);
    d.send("alice", "alarm.Door", "door closed", &["--id", "a2"]);
    let recs = wait_for("two deliveries", Duration::from_secs(10), || {
        let r = records(&file);
        (r.len() == 2).then_some(r)
    });
    assert_eq!(recs[0]["want_display_receipt"], true);
    // a2 is displayed in time; a1 never is.
    let mut c = control(&d, "rec");
    let a2 = recs.iter().find(|r| r["summary"] == "door closed").unwrap();
    assert_eq!(
        c.cmd(&format!(
            "RECEIPT {} delivered",
            a2["message_id"].as_str().unwrap()
        )),
        "ok"
    );
    assert_eq!(
        c.cmd(&format!(
            "RECEIPT {} displayed",
            a2["message_id"].as_str().unwrap()
        )),
        "ok"
    );
    let esc = wait_for("escalation", Duration::from_secs(10), || {
        let r = records(&file2);
        (r.len() == 1).then_some(r)
    });
    assert_eq!(esc[0]["summary"], "door open");
    assert_eq!(esc[0]["target"], "sms:+100");
    let a2_row = d.ctl_json(&["deliveries", "show", &a2["delivery_id"].to_string()]);
    assert_eq!(a2_row["delivery"]["state"], "displayed");
    let a1_id = recs.iter().find(|r| r["summary"] == "door open").unwrap()["delivery_id"]
        .as_i64()
        .unwrap();
    let a1_row = d.ctl_json(&["deliveries", "show", &a1_id.to_string()]);
    assert_eq!(a1_row["escalations"].as_array().unwrap().len(), 1);
    assert!(a1_row["delivery"]["escalate_at"].is_null());
    // Restart: nothing escalates again.
    d.kill9();
    d.start();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        records(&file2).len(),
        1,
        "no second escalation after a restart"
    );
}

#[test]
fn order_per_recipient_is_preserved_across_retries() {
    let mut d = daemon("\n[delivery]\nretry_base_ms = 200\nretry_cap_ms = 200\nmax_attempts = 5\n");
    let file = recorder(&d, "rec", "fail-first:1");
    d.start();
    sub(&d, &["s", "--user", "*", "--target", "rec:a"]);
    for i in 0..5 {
        d.send("same-user", "t.x", &format!("m{i}"), &[]);
    }
    let recs = wait_for("five in order", Duration::from_secs(20), || {
        let r = records(&file);
        (r.len() == 5).then_some(r)
    });
    let order: Vec<&str> = recs
        .iter()
        .map(|r| r["summary"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["m0", "m1", "m2", "m3", "m4"]);
}

#[test]
fn a_recipient_window_pipelines_the_oldest_and_retries_keep_order() {
    // Three in flight to one recipient: the three oldest, the rest wait.
    let mut d = daemon(
        "\n[delivery]\nmax_in_flight_per_recipient = 3\nretry_base_ms = 200\nretry_cap_ms = 200\nmax_attempts = 5\n",
    );
    recorder(&d, "rec", "hang");
    d.start();
    sub(&d, &["s", "--user", "*", "--target", "rec:a"]);
    for i in 0..5 {
        d.send("same-user", "t.x", &format!("m{i}"), &[]);
    }
    d.send("other-user", "t.x", "o0", &[]);
    let summaries = |state| -> Vec<String> {
        let mut v: Vec<String> = deliveries(&d, Some(state))
            .iter()
            .map(|r| r["summary"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    wait_for("four in flight", Duration::from_secs(5), || {
        (summaries("in-flight").len() == 4).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(summaries("in-flight"), ["m0", "m1", "m2", "o0"]);
    assert_eq!(summaries("pending"), ["m3", "m4"]);
}

#[test]
fn a_recipient_window_does_not_let_younger_ones_overtake_a_retry() {
    // The first delivery fails at once, inside the pass that hands the
    // next ones out: they must wait behind it all the same.
    let mut d = daemon(
        "\n[delivery]\nmax_in_flight_per_recipient = 3\nretry_base_ms = 200\nretry_cap_ms = 200\nmax_attempts = 5\n",
    );
    let file = recorder(&d, "rec", "fail-next:1");
    d.start();
    sub(
        &d,
        &[
            "s",
            "--user",
            "*",
            "--target",
            "rec:a",
            "--presence",
            "hold",
        ],
    );
    // Held while absent, then released together into one dispatch pass.
    let mut c = control(&d, "rec");
    assert_eq!(c.cmd("PRESENCE a 0"), "ok");
    for i in 0..6 {
        d.send("same-user", "t.x", &format!("m{i}"), &[]);
    }
    wait_for("six held", Duration::from_secs(5), || {
        (deliveries(&d, Some("pending")).len() == 6).then_some(())
    });
    assert!(records(&file).is_empty());
    assert_eq!(c.cmd("PRESENCE a 1"), "ok");
    let recs = wait_for("all six", Duration::from_secs(20), || {
        let r = records(&file);
        (r.len() == 6).then_some(r)
    });
    let order: Vec<&str> = recs
        .iter()
        .map(|r| r["summary"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["m0", "m1", "m2", "m3", "m4", "m5"]);
}

#[test]
fn random_failures_never_reorder_a_recipients_queue() {
    // A third of all attempts fail; with a window of 3 and answers inside
    // `deliver`, every recipient must still get its notifications once
    // each and in the order they were sent.
    let mut d = daemon(
        "\n[delivery]\nmax_in_flight_per_recipient = 3\nretry_base_ms = 20\nretry_cap_ms = 40\nmax_attempts = 50\n",
    );
    let file = recorder(&d, "rec", "fail-random:33");
    d.start();
    sub(&d, &["s", "--user", "*", "--target", "rec:a"]);
    let users = ["u0", "u1", "u2"];
    let per_user = 25;
    for i in 0..per_user {
        for u in users {
            d.send(u, "t.x", &format!("{u}-{i:03}"), &[]);
        }
    }
    let recs = wait_for("every notification", Duration::from_secs(60), || {
        let r = records(&file);
        (r.len() >= users.len() * per_user).then_some(r)
    });
    assert_eq!(
        recs.len(),
        users.len() * per_user,
        "delivered more than once"
    );
    let retried = recs
        .iter()
        .filter(|r| r["attempt"].as_u64() > Some(1))
        .count();
    assert!(retried > 5, "the failures were injected: {retried} retried");
    for u in users {
        let got: Vec<&str> = recs
            .iter()
            .filter(|r| r["user"] == u)
            .map(|r| r["summary"].as_str().unwrap())
            .collect();
        let want: Vec<String> = (0..per_user).map(|i| format!("{u}-{i:03}")).collect();
        assert_eq!(got, want, "order for {u}");
    }
}

#[test]
fn in_flight_is_bounded_per_instance_and_ttl_expires() {
    let mut d = daemon("\n[delivery]\nmax_in_flight = 2\n");
    recorder(&d, "rec", "hang");
    d.start();
    sub(
        &d,
        &["s", "--user", "*", "--target", "rec:a", "--ttl", "1s"],
    );
    for i in 0..5 {
        d.send(&format!("u{i}"), "t.x", "x", &[]);
    }
    wait_for("two in flight", Duration::from_secs(5), || {
        (deliveries(&d, Some("in-flight")).len() == 2).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(deliveries(&d, Some("in-flight")).len(), 2);
    assert_eq!(deliveries(&d, Some("pending")).len(), 3);
    // The waiting ones expire after their TTL.
    wait_for("expired", Duration::from_secs(10), || {
        (deliveries(&d, Some("expired")).len() == 3).then_some(())
    });
    let st = d.ctl_json(&["status"]);
    assert_eq!(st["queues"]["in_flight"], 2);
}

#[test]
fn a_panicking_delivery_plugin_returns_its_deliveries() {
    let mut d = daemon(FAST_RETRY);
    let file = recorder(&d, "rec", "panic");
    d.start();
    sub(&d, &["s", "--user", "*", "--target", "rec:a"]);
    d.send("u", "t.x", "survives a panic", &[]);
    wait_for("instance failed", Duration::from_secs(5), || {
        (d.plugin("rec")["state"] == "failed").then_some(())
    });
    wait_for("back in the queue", Duration::from_secs(5), || {
        (deliveries(&d, Some("pending")).len() == 1).then_some(())
    });
    // Fix the plugin config, reload: delivered.
    recorder(&d, "rec", "ok");
    d.ctl_json(&["plugins", "reload"]);
    wait_for("delivered after reload", Duration::from_secs(10), || {
        (records(&file).len() == 1).then_some(())
    });
    assert_eq!(d.ctl(&["status"]).code, 0);
}

#[test]
fn per_user_rate_limit_delays_the_excess() {
    let mut d = daemon("");
    let file = recorder(&d, "rec", "ok");
    d.start();
    sub(
        &d,
        &[
            "s",
            "--user",
            "*",
            "--target",
            "rec:a",
            "--rate-limit",
            "2/1h",
        ],
    );
    for i in 0..4 {
        d.send("chatty", "t.x", &format!("m{i}"), &[]);
    }
    d.send("quiet", "t.x", "other user", &[]);
    wait_for("three deliveries", Duration::from_secs(10), || {
        (records(&file).len() == 3).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(records(&file).len(), 3);
    let waiting = deliveries(&d, Some("pending"));
    assert_eq!(waiting.len(), 2);
    assert!(waiting.iter().all(|w| w["user"] == "chatty"));
}

#[test]
fn retention_prunes_finished_history() {
    let mut d =
        daemon("\n[retention]\ndeliveries_days = 0\nevents_days = 0\nprune_interval_s = 1\n");
    let file = recorder(&d, "rec", "ok");
    d.start();
    sub(&d, &["s", "--user", "*", "--target", "rec:a"]);
    for i in 0..10 {
        d.send("u", "t.x", &format!("m{i}"), &[]);
    }
    wait_for("delivered", Duration::from_secs(10), || {
        (records(&file).len() == 10).then_some(())
    });
    wait_for("pruned", Duration::from_secs(15), || {
        (deliveries(&d, None).is_empty() && d.events().is_empty()).then_some(())
    });
    assert!(d.log().contains("retention: pruned"));
}

#[test]
fn asynchronous_plugin_answers_complete_the_delivery() {
    let mut d = daemon("");
    let file = recorder(&d, "rec", "async");
    d.start();
    sub(&d, &["s", "--user", "*", "--target", "rec:a"]);
    d.send("u", "t.x", "answered later", &[]);
    // The plugin records at once but answers 50 ms later: in flight first.
    wait_for("recorded", Duration::from_secs(5), || {
        (records(&file).len() == 1).then_some(())
    });
    let id = records(&file)[0]["delivery_id"].as_i64().unwrap();
    let v = wait_for("sent", Duration::from_secs(5), || {
        let v = d.ctl_json(&["deliveries", "show", &id.to_string()]);
        (v["delivery"]["state"] == "sent").then_some(v)
    });
    let hist: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(hist, ["pending", "in-flight", "sent"]);
    let at: Vec<i64> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["at"].as_i64().unwrap())
        .collect();
    assert!(
        at[2] - at[1] >= 40,
        "answered by the timer, not synchronously: {at:?}"
    );
}
