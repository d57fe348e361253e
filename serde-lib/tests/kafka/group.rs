use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use strata_broker::RecordRef;
use strata_serde::{ConsumerTransport, KafkaConsumer, KafkaConsumerOptions, KafkaProducer};

use crate::cluster;

const RECORDS: usize = 4_000;

async fn produce(bootstrap: &str, topic: &str) {
    let p = KafkaProducer::new([("bootstrap.servers", bootstrap)]).expect("producer");
    let mut pipeline = p.pipeline::<usize>(1_000);
    for i in 0..RECORDS {
        let value = i.to_string();
        let r = RecordRef {
            partition: Some((i % 4) as i32),
            key: None,
            value: Some(value.as_bytes()),
            headers: &[],
            timestamp: None,
        };
        pipeline.send(i, topic, r).await.expect("send");
    }
    pipeline.finish().await.expect("finish");
}

fn member(bootstrap: &str, group: &str, commit_on_revoke: bool) -> KafkaConsumer {
    KafkaConsumer::with_options(
        [
            ("bootstrap.servers", bootstrap),
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("auto.offset.reset", "earliest"),
            ("session.timeout.ms", "4500"),
            ("heartbeat.interval.ms", "200"),
            // Partitions that move are revoked after a completed round, when the group takes
            // commits: librdkafka's mock cluster (as strata serve) refuses them while a round
            // is in progress, which Kafka allows.
            ("partition.assignment.strategy", "cooperative-sticky"),
        ],
        KafkaConsumerOptions {
            max_records: 20,
            commit_on_revoke,
        },
    )
    .expect("member")
}

/// A member that reads slowly (20 records every 20 ms, as a command printing them) until
/// nothing came for 10 s, then commits what it read; returns the values it read.
async fn run(c: KafkaConsumer, topic: &str, seen: Arc<AtomicUsize>) -> Vec<String> {
    c.subscribe(&[topic.to_string()]).await.expect("subscribe");
    let mut out = Vec::new();
    let mut idle = tokio::time::Instant::now();
    while idle.elapsed() < Duration::from_secs(10) {
        let records = c.poll(Duration::from_millis(200)).await.expect("poll");
        if !records.is_empty() {
            idle = tokio::time::Instant::now();
        }
        seen.fetch_add(records.len(), Ordering::SeqCst);
        out.extend(
            records
                .into_iter()
                .map(|r| String::from_utf8(r.value.unwrap_or_default().to_vec()).unwrap()),
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.commit().await.expect("final commit");
    out
}

/// Two members, the second joining once the first has read 400 records: the values read in
/// all, and how many were read twice.
async fn two_members(commit_on_revoke: bool) -> (usize, usize, usize) {
    let mock = cluster("orders", 4);
    let bootstrap = mock.bootstrap_servers();
    produce(&bootstrap, "orders").await;
    let seen = Arc::new(AtomicUsize::new(0));
    let a = tokio::spawn(run(
        member(&bootstrap, "g", commit_on_revoke),
        "orders",
        seen.clone(),
    ));
    let waited = tokio::time::Instant::now();
    while seen.load(Ordering::SeqCst) < 400 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the first member read nothing"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let b = tokio::spawn(run(
        member(&bootstrap, "g", commit_on_revoke),
        "orders",
        seen.clone(),
    ));
    let (a, b) = (a.await.expect("member a"), b.await.expect("member b"));
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in a.iter().chain(b.iter()) {
        *counts.entry(v.clone()).or_default() += 1;
    }
    let duplicates = counts.values().map(|n| n - 1).sum();
    // A third member of the group finds nothing left.
    let third = run(member(&bootstrap, "g", commit_on_revoke), "orders", seen).await;
    (counts.len(), duplicates, third.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_commits_what_it_handed_out_when_a_rebalance_takes_its_partitions() {
    let (distinct, duplicates, third) = two_members(true).await;
    assert_eq!(distinct, RECORDS, "every record was read");
    assert!(
        duplicates < RECORDS / 20,
        "under 5% read twice, got {duplicates} duplicates of {RECORDS}"
    );
    assert_eq!(third, 0, "a third member finds nothing left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_commit_on_revoke_the_next_owner_reads_revoked_partitions_again() {
    // The control: the same run without the callback's commit re-delivers what the first
    // member had read of the partitions it lost, which shows the test above can fail.
    let (distinct, duplicates, _) = two_members(false).await;
    assert_eq!(distinct, RECORDS, "every record was read");
    assert!(
        duplicates >= 200,
        "the partitions handed over restart from the beginning: {duplicates} duplicates"
    );
}
