//! Consumer groups within one process.

use std::collections::BTreeSet;
use std::time::Duration;

use strata_broker::{
    AutoOffsetReset, ConsumerConfig, Error, ProducerConfig, ProducerRecord, TopicConfig,
    TopicPartition,
};

use crate::support::{broker, poll_n, wait_for, PATIENCE};

fn member(group: &str) -> ConsumerConfig {
    ConsumerConfig {
        group_id: Some(group.into()),
        auto_offset_reset: AutoOffsetReset::Earliest,
        enable_auto_commit: false,
        ..ConsumerConfig::default()
    }
}

#[test]
fn two_members_share_the_partitions_and_one_takes_over_when_the_other_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 4, TopicConfig::default()).unwrap();
    let a = b.consumer(member("g")).unwrap();
    let c = b.consumer(member("g")).unwrap();
    a.subscribe(&["t"]).unwrap();
    c.subscribe(&["t"]).unwrap();
    wait_for("a balanced assignment", PATIENCE, || {
        a.assignment().len() == 2 && c.assignment().len() == 2
    });
    let all: BTreeSet<_> = a.assignment().into_iter().chain(c.assignment()).collect();
    assert_eq!(all.len(), 4, "no partition is assigned twice");
    c.close().unwrap();
    wait_for("the takeover", PATIENCE, || a.assignment().len() == 4);
}

#[test]
fn a_new_member_resumes_from_the_committed_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 2, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..20 {
        p.send(ProducerRecord::new("t", "x").with_partition(i % 2))
            .unwrap();
    }
    let first = b.consumer(member("g")).unwrap();
    first.subscribe(&["t"]).unwrap();
    let got = poll_n(&first, 20, PATIENCE);
    assert_eq!(got.len(), 20);
    first.commit().unwrap();
    first.close().unwrap();
    for i in 0..4 {
        p.send(ProducerRecord::new("t", "y").with_partition(i % 2))
            .unwrap();
    }
    let second = b.consumer(member("g")).unwrap();
    second.subscribe(&["t"]).unwrap();
    let got = poll_n(&second, 4, PATIENCE);
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|r| r.value.as_deref() == Some(&b"y"[..])));
    assert_eq!(
        second.committed(&TopicPartition::new("t", 0)).unwrap(),
        Some(10)
    );
}

#[test]
fn auto_commit_commits_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    b.producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "x"))
        .unwrap();
    let c = b
        .consumer(ConsumerConfig {
            enable_auto_commit: true,
            ..member("g")
        })
        .unwrap();
    c.subscribe(&["t"]).unwrap();
    assert_eq!(poll_n(&c, 1, PATIENCE).len(), 1);
    drop(c);
    let d = b.describe_group("g").unwrap();
    assert_eq!(d.offsets[0].committed, 1);
}

#[test]
fn groups_are_listed_with_their_members_and_lag() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 2, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..10 {
        p.send(ProducerRecord::new("t", "x").with_partition(i % 2))
            .unwrap();
    }
    let c = b.consumer(member("billing")).unwrap();
    c.subscribe(&["t"]).unwrap();
    c.commit_offsets(&[
        (TopicPartition::new("t", 0), 2),
        (TopicPartition::new("t", 1), 5),
    ])
    .unwrap();
    assert_eq!(b.list_groups().unwrap(), vec!["billing"]);
    let d = b.describe_group("billing").unwrap();
    assert_eq!(d.members.len(), 1);
    assert_eq!(d.members[0].assignment.len(), 2);
    let lags: Vec<i64> = d.offsets.iter().map(|o| o.lag).collect();
    assert_eq!(lags, vec![3, 0]);
}

#[test]
fn commit_without_a_group_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let c = b.consumer(ConsumerConfig::default()).unwrap();
    let e = c.commit().unwrap_err();
    assert!(matches!(e, Error::NoGroup { .. }), "{e}");
    let e = c.subscribe(&["t"]).unwrap_err();
    assert!(e.to_string().contains("group_id"), "{e}");
    let e = b.describe_group("nobody").unwrap_err();
    assert!(matches!(e, Error::UnknownGroup { .. }), "{e}");
}

#[test]
fn a_member_that_stops_polling_past_its_session_timeout_loses_its_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 2, TopicConfig::default()).unwrap();
    let hung = b
        .consumer(ConsumerConfig {
            session_timeout: Duration::from_millis(300),
            ..member("g")
        })
        .unwrap();
    hung.subscribe(&["t"]).unwrap();
    let live = b.consumer(member("g")).unwrap();
    live.subscribe(&["t"]).unwrap();
    wait_for("a split", PATIENCE, || {
        hung.assignment().len() == 1 && live.assignment().len() == 1
    });
    // `hung` never polls again: after its session timeout the other member takes over.
    wait_for("the takeover", PATIENCE, || {
        live.poll(Duration::from_millis(20)).unwrap();
        live.assignment().len() == 2
    });
}

#[test]
fn a_group_is_deleted_only_without_members_and_starts_empty_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..5 {
        p.send(ProducerRecord::new("t", format!("{i}"))).unwrap();
    }
    let tp = TopicPartition::new("t", 0);
    let c = b.consumer(member("g")).unwrap();
    c.subscribe(&["t"]).unwrap();
    assert_eq!(poll_n(&c, 5, PATIENCE).len(), 5);
    c.commit().unwrap();
    assert!(
        matches!(
            b.delete_group("g"),
            Err(Error::GroupNotEmpty { members: 1, .. })
        ),
        "a group with a live member is not deleted"
    );
    c.close().unwrap();
    drop(c);
    b.delete_group("g").unwrap();
    assert!(!b.list_groups().unwrap().contains(&"g".to_owned()));
    assert!(matches!(
        b.delete_group("g"),
        Err(Error::UnknownGroup { .. })
    ));
    // A new member of the same name has no committed offset: it reads from the start again.
    let c = b.consumer(member("g")).unwrap();
    c.subscribe(&["t"]).unwrap();
    assert_eq!(c.committed(&tp).unwrap(), None);
    assert_eq!(poll_n(&c, 5, PATIENCE).len(), 5);
}

/// One member's run: polls (a little work after each poll) until the group as a whole has
/// delivered `total` distinct records, then commits and leaves. Returns every (partition,
/// offset) it returned. Stopping on the group's count rather than on a quiet spell keeps a
/// member starved of CPU on a loaded machine from leaving records behind.
fn run_member(
    c: strata_broker::Consumer,
    delivered: &std::sync::Mutex<BTreeSet<(i32, i64)>>,
    total: usize,
    work: Duration,
) -> Vec<(i32, i64)> {
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + PATIENCE;
    while delivered.lock().unwrap().len() < total {
        assert!(
            std::time::Instant::now() < deadline,
            "the group delivered only {} of {total} records",
            delivered.lock().unwrap().len()
        );
        let records = c.poll(Duration::from_millis(20)).unwrap();
        if !records.is_empty() {
            let these: Vec<(i32, i64)> = records.iter().map(|r| (r.partition, r.offset)).collect();
            delivered.lock().unwrap().extend(these.iter().copied());
            seen.extend(these);
            std::thread::sleep(work);
        }
    }
    c.commit().unwrap();
    c.close().unwrap();
    seen
}

#[test]
fn two_members_committing_on_revocation_share_4000_records_with_few_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 4, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..4000 {
        p.send(ProducerRecord::new("t", format!("v{i}")).with_partition(i % 4))
            .unwrap();
    }
    let config = ConsumerConfig {
        max_poll_records: 50,
        commit_on_revoke: true,
        ..member("g")
    };
    let delivered = std::sync::Mutex::new(BTreeSet::new());
    // The first member reads a part of the log alone (at 50 records a poll it cannot have
    // drained any partition), then the second joins: the first hands two partitions over,
    // committing on revocation, with most of their records still to read.
    let one = b.consumer(config.clone()).unwrap();
    one.subscribe(&["t"]).unwrap();
    let mut early = Vec::new();
    wait_for("the first member's first records", PATIENCE, || {
        let records = one.poll(Duration::from_millis(20)).unwrap();
        early.extend(records.iter().map(|r| (r.partition, r.offset)));
        early.len() >= 200
    });
    delivered.lock().unwrap().extend(early.iter().copied());
    let two = b.consumer(config.clone()).unwrap();
    two.subscribe(&["t"]).unwrap();
    wait_for("the second member's share", PATIENCE, || {
        two.assignment().len() == 2
    });
    let (first, second) = std::thread::scope(|s| {
        let one = s.spawn(|| run_member(one, &delivered, 4000, Duration::from_millis(3)));
        let two = s.spawn(|| run_member(two, &delivered, 4000, Duration::from_millis(3)));
        (one.join().unwrap(), two.join().unwrap())
    });
    let first: Vec<(i32, i64)> = early.into_iter().chain(first).collect();
    assert!(!second.is_empty(), "the second member got records");
    let total = first.len() + second.len();
    let distinct: BTreeSet<(i32, i64)> = first.iter().chain(&second).copied().collect();
    assert_eq!(distinct.len(), 4000, "every record was delivered");
    let duplicates = total - distinct.len();
    assert!(duplicates < 200, "{duplicates} duplicates (of {total})");
    // A third run of the group finds nothing left: everything delivered was committed.
    let third = b.consumer(config).unwrap();
    third.subscribe(&["t"]).unwrap();
    wait_for("the third member's assignment", PATIENCE, || {
        third.assignment().len() == 4
    });
    let tps = third.assignment();
    for tp in &tps {
        assert_eq!(third.committed(tp).unwrap(), Some(1000), "{tp:?}");
    }
    let again = third.poll(Duration::from_millis(300)).unwrap();
    assert!(again.is_empty(), "{} records delivered again", again.len());
}

#[test]
fn a_partition_handed_over_is_read_from_the_offset_its_previous_owner_committed_on_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 2, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..20 {
        p.send(ProducerRecord::new("t", format!("v{i}")).with_partition(i % 2))
            .unwrap();
    }
    let config = ConsumerConfig {
        commit_on_revoke: true,
        ..member("g")
    };
    let first = b.consumer(config.clone()).unwrap();
    first.subscribe(&["t"]).unwrap();
    assert_eq!(poll_n(&first, 20, PATIENCE).len(), 20);
    let second = b.consumer(config).unwrap();
    second.subscribe(&["t"]).unwrap();
    wait_for("the second member's share", PATIENCE, || {
        second.assignment().len() == 1
    });
    let tp = second.assignment()[0].clone();
    // Looked up while the first member still reads it: nothing committed yet.
    assert_eq!(second.position(&tp).unwrap(), 0);
    // The first member gives it up (committing 10) at its next poll.
    wait_for("the hand-over", PATIENCE, || {
        let _ = first.poll(Duration::from_millis(10)).unwrap();
        first.assignment().len() == 1
    });
    let again = second.poll(Duration::from_millis(500)).unwrap();
    assert!(again.is_empty(), "{} records delivered twice", again.len());
    assert_eq!(second.position(&tp).unwrap(), 10);
}
