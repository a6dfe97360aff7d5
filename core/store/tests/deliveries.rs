#![allow(clippy::unwrap_used)]

use tocsin_abi::{Event, Priority};
use tocsin_store::{Batch, NewDelivery, Op, OpOutcome, OpenOptions, Store, Transition};

fn ev(id: &str) -> Event {
    Event {
        source: "s".into(),
        source_event_id: id.into(),
        kind: "t.x".into(),
        user: "u".into(),
        origin_host: String::new(),
        occurred_at_ms: 0,
        priority: Priority::Normal,
        summary: id.into(),
        body: String::new(),
        attributes: Default::default(),
    }
}

fn nd(mid: &str, key: Option<&str>, next: i64) -> NewDelivery {
    NewDelivery {
        subscription_id: Some(1),
        target_instance: "rec".into(),
        target_address: "a".into(),
        user: "u".into(),
        state: "pending",
        next_attempt_at: Some(next),
        expires_at: None,
        message_id: mid.into(),
        coalesce_key: key.map(str::to_string),
        priority: 3,
        flags: 0,
        summary: mid.into(),
        body: String::new(),
        detail: "test".into(),
        escalated_from: None,
    }
}

fn history_states(s: &Store, id: i64) -> Vec<String> {
    s.delivery_history(id)
        .unwrap()
        .into_iter()
        .map(|h| h.to_state)
        .collect()
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("t.db"), OpenOptions { full_check: false }).unwrap();
    (dir, s)
}

fn insert(s: &mut Store, id: &str, d: Vec<NewDelivery>) -> i64 {
    let mut b = Batch::new();
    b.push(
        Op::InsertEvent {
            event: ev(id),
            received_at_ms: 1,
            deliveries: d,
        },
        (),
    );
    match s.commit(&mut b).results.pop().unwrap().1.unwrap() {
        OpOutcome::EventInserted { id } => id,
        o => panic!("{o:?}"),
    }
}

#[test]
fn duplicates_get_no_second_delivery_and_coalescing_replaces_waiting() {
    let (_d, mut s) = open();
    insert(&mut s, "e1", vec![nd("m1", Some("k"), 10)]);
    // Same event again: duplicate, its deliveries are not inserted.
    let mut b = Batch::new();
    b.push(
        Op::InsertEvent {
            event: ev("e1"),
            received_at_ms: 1,
            deliveries: vec![nd("m1b", Some("k"), 10)],
        },
        (),
    );
    assert!(matches!(
        s.commit(&mut b).results[0].1,
        Ok(OpOutcome::EventDuplicate { .. })
    ));
    insert(&mut s, "e2", vec![nd("m2", Some("k"), 10)]);
    let first = s.delivery_by_message_id("m1").unwrap().unwrap();
    assert_eq!(first.state, "coalesced");
    assert!(s.delivery_by_message_id("m1b").unwrap().is_none());
    let second = s.delivery_by_message_id("m2").unwrap().unwrap();
    assert_eq!(second.state, "pending");
    let h = s.delivery_history(first.id).unwrap();
    assert_eq!(
        h.last().unwrap().detail,
        format!("replaced by delivery {}", second.id)
    );
}

#[test]
fn transitions_are_conditional_and_recorded() {
    let (_d, mut s) = open();
    insert(&mut s, "e1", vec![nd("m1", None, 10)]);
    let id = s.delivery_by_message_id("m1").unwrap().unwrap().id;
    let t = |from: &'static [&'static str], to: &'static str| Transition {
        id,
        from,
        to,
        attempts: Some(1),
        next_attempt_at: Some(None),
        escalate_at: None,
        last_error: None,
        detail: to.into(),
    };
    let mut b = Batch::new();
    b.push(Op::Transition(t(&["pending"], "in-flight")), ());
    b.push(Op::Transition(t(&["pending"], "sent")), ());
    b.push(Op::Transition(t(&["in-flight"], "sent")), ());
    let r = s.commit(&mut b);
    let outs: Vec<_> = r.results.into_iter().map(|(_, o)| o.unwrap()).collect();
    assert_eq!(
        outs,
        vec![OpOutcome::Done, OpOutcome::Count(0), OpOutcome::Done]
    );
    let states = history_states(&s, id);
    assert_eq!(states, ["pending", "in-flight", "sent"]);
}

#[test]
fn due_lookup_is_ordered_and_fifo_check_sees_older() {
    let (_d, mut s) = open();
    insert(&mut s, "e1", vec![nd("m1", None, 30)]);
    insert(&mut s, "e2", vec![nd("m2", None, 20)]);
    let due = s.due_deliveries(25, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].message_id, "m2");
    assert_eq!(s.next_due().unwrap(), Some(20));
    let d1 = s.delivery_by_message_id("m1").unwrap().unwrap().id;
    let d2 = s.delivery_by_message_id("m2").unwrap().unwrap().id;
    let older = |s: &tocsin_store::Store| -> Vec<(i64, String)> {
        s.older_unfinished("u", "rec", "a", d2)
            .unwrap()
            .into_iter()
            .map(|(id, state, _)| (id, state))
            .collect()
    };
    // A fresh pending row never blocks through the index: due order puts
    // it first when it is due, and a held one must not block.
    assert!(older(&s).is_empty());
    let step = |s: &mut tocsin_store::Store, from: &'static [&'static str], to, attempts, next| {
        let mut b = Batch::new();
        b.push(
            Op::Transition(Transition {
                id: d1,
                from,
                to,
                attempts,
                next_attempt_at: Some(next),
                escalate_at: None,
                last_error: None,
                detail: to.into(),
            }),
            (),
        );
        let r = s.commit(&mut b);
        assert_eq!(r.results[0].1.as_ref().unwrap(), &OpOutcome::Done);
    };
    // Handed out: it keeps its place until it is finished.
    step(&mut s, &["pending"], "in-flight", Some(1), None);
    assert_eq!(older(&s), [(d1, "in-flight".to_string())]);
    // Queued again after a failed hand-over: still ahead of m2.
    step(&mut s, &["in-flight"], "pending", None, Some(40));
    assert_eq!(older(&s), [(d1, "pending".to_string())]);
    step(&mut s, &["pending"], "in-flight", Some(2), None);
    step(&mut s, &["in-flight"], "retrying", None, Some(50));
    assert_eq!(older(&s), [(d1, "retrying".to_string())]);
    step(&mut s, &["retrying"], "in-flight", Some(3), None);
    step(&mut s, &["in-flight"], "sent", None, None);
    assert!(older(&s).is_empty());
}

#[test]
fn escalation_happens_once() {
    let (_d, mut s) = open();
    let ev_id = insert(&mut s, "e1", vec![nd("m1", None, 10)]);
    let id = s.delivery_by_message_id("m1").unwrap().unwrap().id;
    let mut b = Batch::new();
    b.push(
        Op::Transition(Transition {
            id,
            from: &["pending"],
            to: "sent",
            attempts: Some(1),
            next_attempt_at: Some(None),
            escalate_at: Some(Some(50)),
            last_error: None,
            detail: "sent".into(),
        }),
        (),
    );
    s.commit(&mut b);
    assert_eq!(s.escalations_due(60, 10).unwrap().len(), 1);
    let mut esc = nd("m-esc", None, 60);
    esc.escalated_from = Some(id);
    b.push(
        Op::InsertDelivery {
            event_id: ev_id,
            delivery: esc,
        },
        (),
    );
    s.commit(&mut b);
    assert!(
        s.escalations_due(i64::MAX, 10).unwrap().is_empty(),
        "deadline cleared atomically"
    );
    assert_eq!(s.escalations_of(id).unwrap().len(), 1);
}

#[test]
fn due_query_uses_the_partial_index() {
    let (_d, s) = open();
    let plan = s.explain_due_query().unwrap().join(" | ");
    assert!(plan.contains("COVERING INDEX deliveries_due"), "{plan}");
    assert!(
        !plan.contains("SCAN d "),
        "no full scan of deliveries: {plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
}

#[test]
fn dead_letters_replay_and_purge() {
    let (_d, mut s) = open();
    insert(&mut s, "e1", vec![nd("m1", None, 10)]);
    let id = s.delivery_by_message_id("m1").unwrap().unwrap().id;
    let mut b = Batch::new();
    b.push(
        Op::Transition(Transition {
            id,
            from: &["pending"],
            to: "dead",
            attempts: Some(5),
            next_attempt_at: Some(None),
            escalate_at: None,
            last_error: Some("boom".into()),
            detail: "dead".into(),
        }),
        (),
    );
    b.push(
        Op::DlqReplay {
            id: None,
            now_ms: 99,
        },
        (),
    );
    let r = s.commit(&mut b);
    assert_eq!(r.results[1].1, Ok(OpOutcome::Count(1)));
    let d = s.delivery(id).unwrap().unwrap();
    assert_eq!(
        (d.state.as_str(), d.attempts, d.next_attempt_at),
        ("pending", 0, Some(99))
    );
    b.push(Op::DlqPurge { id: Some(id) }, ());
    assert_eq!(
        s.commit(&mut b).results[0].1,
        Ok(OpOutcome::Count(0)),
        "only dead ones"
    );
}

/// Transitions of one row in one batch are folded into one row write; the
/// row ends up exactly as if each had been applied in turn, and an op that
/// reads deliveries (here a coalescing insert) sees the staged changes.
#[test]
fn staged_transitions_fold_and_are_visible_to_coalescing() {
    let (_d, mut s) = open();
    insert(&mut s, "e1", vec![nd("m1", Some("k"), 10)]);
    let id = s.delivery_by_message_id("m1").unwrap().unwrap().id;
    let mut b = Batch::new();
    b.push(
        Op::Transition(Transition {
            id,
            from: &["pending", "retrying"],
            to: "in-flight",
            attempts: Some(1),
            next_attempt_at: Some(None),
            escalate_at: None,
            last_error: None,
            detail: "handed".into(),
        }),
        (),
    );
    // Coalescing replaces waiting deliveries of key k: the one just moved
    // to in-flight is not waiting any more and must be left alone.
    b.push(
        Op::InsertEvent {
            event: ev("e2"),
            received_at_ms: 1,
            deliveries: vec![nd("m2", Some("k"), 10)],
        },
        (),
    );
    b.push(
        Op::Transition(Transition {
            id,
            from: &["in-flight"],
            to: "retrying",
            attempts: None,
            next_attempt_at: Some(Some(500)),
            escalate_at: Some(Some(900)),
            last_error: Some("busy".into()),
            detail: "retry".into(),
        }),
        (),
    );
    b.push(
        Op::Transition(Transition {
            id,
            from: &["in-flight"],
            to: "sent",
            attempts: Some(7),
            next_attempt_at: None,
            escalate_at: None,
            last_error: None,
            detail: "must not apply".into(),
        }),
        (),
    );
    let outs: Vec<_> = s
        .commit(&mut b)
        .results
        .into_iter()
        .map(|(_, o)| o.unwrap())
        .collect();
    assert!(matches!(outs[1], OpOutcome::EventInserted { .. }));
    assert_eq!(outs[2], OpOutcome::Done);
    assert_eq!(outs[3], OpOutcome::Count(0));
    let r = s.delivery(id).unwrap().unwrap();
    assert_eq!(r.state, "retrying");
    assert_eq!(r.attempts, 1);
    assert_eq!(r.next_attempt_at, Some(500));
    assert_eq!(r.escalate_at, Some(900));
    assert_eq!(r.last_error.as_deref(), Some("busy"));
    let states = history_states(&s, id);
    assert_eq!(states, ["pending", "in-flight", "retrying"]);
    assert_eq!(
        s.delivery_by_message_id("m2").unwrap().unwrap().state,
        "pending"
    );
    // A later batch sees the written row.
    let due = s.due_deliveries(1_000, 10).unwrap();
    assert_eq!(
        due.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![id + 1, id]
    );
}

/// Releasing held deliveries finds exactly the waiting rows of one target
/// deferred past now, however many other rows wait, oldest first.
#[test]
fn deferred_for_target_finds_only_that_targets_future_rows() {
    let (_d, mut s) = open();
    let mut other = nd("o1", None, 5_000);
    other.target_address = "b".into();
    insert(&mut s, "e1", vec![nd("m1", None, 5_000), other]);
    insert(&mut s, "e2", vec![nd("m2", None, 50)]);
    insert(&mut s, "e3", vec![nd("m3", None, 4_000)]);
    let id = |m: &str| s.delivery_by_message_id(m).unwrap().unwrap().id;
    let (m1, m3) = (id("m1"), id("m3"));
    let got = s.deferred_for_target("rec", "a", 100, 10).unwrap();
    assert_eq!(
        got,
        vec![(m3, "pending".to_string()), (m1, "pending".to_string())]
    );
    assert_eq!(s.deferred_for_target("rec", "a", 100, 1).unwrap().len(), 1);
    assert!(
        s.deferred_for_target("rec", "a", 9_999, 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn queue_depths_count_each_unfinished_state() {
    let (_d, mut s) = open();
    let ids: Vec<i64> = (0..6)
        .map(|i| {
            insert(
                &mut s,
                &format!("q{i}"),
                vec![nd(&format!("q{i}"), None, 10)],
            );
            s.delivery_by_message_id(&format!("q{i}"))
                .unwrap()
                .unwrap()
                .id
        })
        .collect();
    let mut b = Batch::new();
    let t = |id, from: &'static [&'static str], to| Transition {
        id,
        from,
        to,
        attempts: Some(1),
        next_attempt_at: Some(Some(20)),
        escalate_at: None,
        last_error: None,
        detail: to.into(),
    };
    // 0, 1: pending · 2: in flight · 3: retrying · 4: dead · 5: sent
    b.push(Op::Transition(t(ids[2], &["pending"], "in-flight")), ());
    b.push(Op::Transition(t(ids[3], &["pending"], "retrying")), ());
    b.push(Op::Transition(t(ids[4], &["pending"], "dead")), ());
    b.push(Op::Transition(t(ids[5], &["pending"], "sent")), ());
    assert!(s.commit(&mut b).error.is_none());
    let mut got = s.stats().unwrap().deliveries_by_state;
    got.sort();
    let want: Vec<(String, i64)> = [
        ("dead", 1),
        ("in-flight", 1),
        ("pending", 2),
        ("retrying", 1),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(got, want);
    // A restart puts what was in flight back in the queue.
    let mut b = Batch::new();
    b.push(Op::ResetInFlight, ());
    assert_eq!(
        s.commit(&mut b).results[0].1.as_ref().unwrap(),
        &OpOutcome::Count(1)
    );
    assert_eq!(s.delivery(ids[2]).unwrap().unwrap().state, "pending");
}
