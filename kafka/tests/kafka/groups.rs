//! The classic group protocol with librdkafka's subscribe, and its error codes over raw frames.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use strata_broker::{ProducerConfig, ProducerRecord, TopicConfig};

use crate::support::TestBroker;

fn group_consumer(tb: &TestBroker) -> BaseConsumer {
    let c: BaseConsumer = tb
        .client_config()
        .set("group.id", "readers")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "200")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("a librdkafka consumer");
    c.subscribe(&["grouped"]).expect("subscribe");
    c
}

fn produce(tb: &TestBroker, phase: &str, n: i32) {
    let p = tb.broker.producer(ProducerConfig::default());
    for i in 0..n {
        p.send(ProducerRecord::new("grouped", format!("{phase}-{i}")).with_partition(i % 4))
            .unwrap();
    }
}

fn assigned(c: &BaseConsumer) -> BTreeSet<i32> {
    c.assignment()
        .map(|tpl| tpl.elements().iter().map(|e| e.partition()).collect())
        .unwrap_or_default()
}

/// Polls every consumer until `n` records of `phase` arrived in all; (consumer, partition,
/// offset, value) of each.
fn read(consumers: &[&BaseConsumer], phase: &str, n: usize) -> Vec<(usize, i32, i64, String)> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while out.len() < n && Instant::now() < deadline {
        for (i, c) in consumers.iter().enumerate() {
            if let Some(m) = c.poll(Duration::from_millis(50)) {
                let m = m.expect("no consumer error");
                let v = String::from_utf8(m.payload().unwrap().to_vec()).unwrap();
                assert!(
                    v.starts_with(phase),
                    "a record of an earlier phase came again: {v}"
                );
                out.push((i, m.partition(), m.offset(), v));
            }
        }
    }
    // Nothing more: no duplicates.
    let grace = Instant::now() + Duration::from_millis(500);
    while Instant::now() < grace {
        for c in consumers {
            if let Some(m) = c.poll(Duration::from_millis(20)) {
                let m = m.unwrap();
                panic!("an extra record at {}-{}", m.partition(), m.offset());
            }
        }
    }
    out
}

fn assert_all_once_in_order(got: &[(usize, i32, i64, String)], phase: &str, n: i32) {
    let mut per: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for (_, p, _, v) in got {
        per.entry(*p).or_default().push(v.clone());
    }
    let mut want: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for i in 0..n {
        want.entry(i % 4).or_default().push(format!("{phase}-{i}"));
    }
    assert_eq!(
        per, want,
        "{phase}: every record once, in order per partition"
    );
}

#[test]
fn a_group_of_two_librdkafka_consumers_shares_the_partitions_and_rebalances_when_one_leaves() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("grouped", 4, TopicConfig::default())
        .unwrap();

    // One member: every partition is its own.
    produce(&tb, "one", 40);
    let a = group_consumer(&tb);
    let got = read(&[&a], "one", 40);
    assert_all_once_in_order(&got, "one", 40);
    assert_eq!(assigned(&a), BTreeSet::from([0, 1, 2, 3]));
    a.commit_consumer_state(CommitMode::Sync).unwrap();

    // A second member joins: the group rebalances and splits the partitions.
    let b = group_consumer(&tb);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        a.poll(Duration::from_millis(50));
        b.poll(Duration::from_millis(50));
        let (x, y) = (assigned(&a), assigned(&b));
        if !x.is_empty() && !y.is_empty() && x.len() + y.len() == 4 && x.is_disjoint(&y) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no rebalance to two members: {x:?} {y:?}"
        );
    }
    produce(&tb, "two", 80);
    let got = read(&[&a, &b], "two", 80);
    assert_all_once_in_order(&got, "two", 80);
    let (xa, xb) = (assigned(&a), assigned(&b));
    for (who, p, _, _) in &got {
        let mine = if *who == 0 { &xa } else { &xb };
        assert!(
            mine.contains(p),
            "consumer {who} read partition {p} it was not assigned"
        );
    }
    assert!(
        got.iter().any(|g| g.0 == 0) && got.iter().any(|g| g.0 == 1),
        "both members read"
    );
    a.commit_consumer_state(CommitMode::Sync).unwrap();
    b.commit_consumer_state(CommitMode::Sync).unwrap();

    // The second member leaves: the first gets every partition back, from the commits.
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(30);
    while assigned(&a).len() != 4 {
        a.poll(Duration::from_millis(50));
        assert!(Instant::now() < deadline, "no rebalance after the leave");
    }
    produce(&tb, "three", 40);
    let got = read(&[&a], "three", 40);
    assert_all_once_in_order(&got, "three", 40);
}
