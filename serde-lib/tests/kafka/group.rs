use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
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
            // commits: librdkafka's mock cluster refuses them while a round is in progress,
            // where Kafka (and strata serve) take them while members rejoin.
            ("partition.assignment.strategy", "cooperative-sticky"),
        ],
        KafkaConsumerOptions {
            max_records: 20,
            commit_on_revoke,
        },
    )
    .expect("member")
}

/// When a member stops reading.
#[derive(Clone)]
enum Until {
    /// Once the members together have read every record (the values read so far, shared).
    AllRead(Arc<Mutex<HashSet<String>>>),
    /// Once nothing came for this long.
    Quiet(Duration),
}

/// A member that reads slowly (20 records every 20 ms, as a command printing them) until
/// `until`, then commits what it read; returns the values it read.
///
/// The two members of a run stop on the group's count, not on a quiet spell: on a loaded
/// machine a rebalance round can hand a member partitions back after the other has been quiet
/// for 10 s, and a member that left then left records unread (3,474 of 4,000 read, seen
/// twice in a row on a loaded 2-core machine).
async fn run(c: KafkaConsumer, topic: &str, until: Until) -> Vec<String> {
    c.subscribe(&[topic.to_string()]).await.expect("subscribe");
    let mut out = Vec::new();
    let started = tokio::time::Instant::now();
    let mut idle = tokio::time::Instant::now();
    loop {
        match &until {
            Until::AllRead(read) => {
                let n = read.lock().unwrap().len();
                if n >= RECORDS {
                    break;
                }
                // Only bounds a hang; a run takes seconds.
                assert!(
                    started.elapsed() < Duration::from_secs(180),
                    "the group read only {n} of {RECORDS} records"
                );
            }
            Until::Quiet(quiet) => {
                if idle.elapsed() >= *quiet {
                    break;
                }
            }
        }
        let records = c.poll(Duration::from_millis(200)).await.expect("poll");
        if !records.is_empty() {
            idle = tokio::time::Instant::now();
        }
        let values: Vec<String> = records
            .into_iter()
            .map(|r| String::from_utf8(r.value.unwrap_or_default().to_vec()).unwrap())
            .collect();
        if let Until::AllRead(read) = &until {
            read.lock().unwrap().extend(values.iter().cloned());
        }
        out.extend(values);
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
    let read = Arc::new(Mutex::new(HashSet::new()));
    let until = Until::AllRead(read.clone());
    let a = tokio::spawn(run(
        member(&bootstrap, "g", commit_on_revoke),
        "orders",
        until.clone(),
    ));
    let waited = tokio::time::Instant::now();
    while read.lock().unwrap().len() < 400 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the first member read nothing"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let b = tokio::spawn(run(
        member(&bootstrap, "g", commit_on_revoke),
        "orders",
        until,
    ));
    let (a, b) = (a.await.expect("member a"), b.await.expect("member b"));
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in a.iter().chain(b.iter()) {
        *counts.entry(v.clone()).or_default() += 1;
    }
    let duplicates = counts.values().map(|n| n - 1).sum();
    // A third member of the group finds nothing left.
    let third = run(
        member(&bootstrap, "g", commit_on_revoke),
        "orders",
        Until::Quiet(Duration::from_secs(10)),
    )
    .await;
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
