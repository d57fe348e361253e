use std::collections::HashMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use strata_broker::{ProducerRecord, RecordRef};
use strata_serde::kafka::DEFAULT_MAX_IN_FLIGHT;
use strata_serde::{
    ConsumerTransport, KafkaConsumer, KafkaConsumerOptions, KafkaProducer, ProducerTransport,
    StartAt,
};

use crate::cluster;

const WAIT: Duration = Duration::from_secs(10);

fn producer(bootstrap: &str) -> KafkaProducer {
    KafkaProducer::new([("bootstrap.servers", bootstrap), ("linger.ms", "5")]).expect("producer")
}

fn consumer(bootstrap: &str, group: &str) -> KafkaConsumer {
    KafkaConsumer::new([
        ("bootstrap.servers", bootstrap),
        ("group.id", group),
        ("enable.auto.commit", "false"),
        ("auto.offset.reset", "earliest"),
    ])
    .expect("consumer")
}

/// Values read until `n` records came or nothing came for a few seconds in a row (10 s before
/// the first record, which on a loaded machine waits for the assignment and the first fetch;
/// 3 s after one).
async fn read(c: &KafkaConsumer, n: usize) -> Vec<(i32, i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut idle = 0;
    while out.len() < n && idle < if out.is_empty() { 20 } else { 6 } {
        let records = c.poll(Duration::from_millis(500)).await.expect("poll");
        if records.is_empty() {
            idle += 1;
        } else {
            idle = 0;
        }
        out.extend(
            records
                .into_iter()
                .map(|r| (r.partition, r.offset, r.value.unwrap_or_default().to_vec())),
        );
    }
    out
}

async fn produce_numbers(bootstrap: &str, topic: &str, n: usize) {
    let p = producer(bootstrap);
    let mut pipeline = p.pipeline::<usize>(100);
    let mut acked = 0;
    for i in 0..n {
        let value = i.to_string();
        let r = RecordRef {
            partition: Some(0),
            key: None,
            value: Some(value.as_bytes()),
            headers: &[],
            timestamp: None,
        };
        acked += pipeline.send(i, topic, r).await.expect("send").len();
        assert!(
            pipeline.in_flight() <= 100,
            "at most 100 records await acknowledgement"
        );
    }
    acked += pipeline.finish().await.expect("finish").len();
    assert_eq!(acked, n, "every record is acknowledged once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_acknowledges_every_record_in_send_order_with_its_tag() {
    let mock = cluster("numbers", 1);
    let bootstrap = mock.bootstrap_servers();
    let p = producer(&bootstrap);
    let mut pipeline = p.pipeline::<usize>(50);
    let mut acks = Vec::new();
    for i in 0..1_000usize {
        let value = i.to_string();
        let headers = [("n", value.as_bytes())];
        let r = RecordRef {
            partition: Some(0),
            key: Some(b"k"),
            value: Some(value.as_bytes()),
            headers: &headers,
            timestamp: None,
        };
        acks.extend(pipeline.send(i, "numbers", r).await.expect("send"));
    }
    acks.extend(pipeline.finish().await.expect("finish"));
    let tags: Vec<usize> = acks.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        tags,
        (0..1_000).collect::<Vec<_>>(),
        "acknowledged in send order"
    );
    let offsets: Vec<i64> = acks.iter().map(|(_, m)| m.offset).collect();
    assert_eq!(
        offsets,
        (0..1_000).collect::<Vec<i64>>(),
        "offsets in send order"
    );
    assert!(acks.iter().all(|(_, m)| &*m.topic == "numbers"));

    let c = consumer(&bootstrap, "g");
    c.assign("numbers", &[0], StartAt::Beginning, WAIT)
        .expect("assign");
    let read = read(&c, 1_000).await;
    let values: Vec<String> = read
        .iter()
        .map(|(_, _, v)| String::from_utf8(v.clone()).unwrap())
        .collect();
    let expected: Vec<String> = (0..1_000).map(|i: usize| i.to_string()).collect();
    assert_eq!(values, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_names_the_record_it_could_not_produce() {
    let mock = cluster("numbers", 1);
    let bootstrap = mock.bootstrap_servers();
    let p = KafkaProducer::new([
        ("bootstrap.servers", bootstrap.as_str()),
        ("message.max.bytes", "1000"),
    ])
    .expect("producer");
    let mut pipeline = p.pipeline::<&str>(10);
    let big = vec![b'x'; 5_000];
    let r = RecordRef {
        partition: Some(0),
        key: None,
        value: Some(&big),
        headers: &[],
        timestamp: None,
    };
    let failed = match pipeline.send("line 7", "numbers", r).await {
        Err(u) => u,
        Ok(_) => match pipeline.finish().await {
            Err(u) => u,
            Ok(_) => panic!("a record over message.max.bytes was produced"),
        },
    };
    assert_eq!(failed.tag, "line 7");
    assert!(
        failed.to_string().contains("numbers"),
        "the error names the topic: {failed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_pipelined_and_their_metadata_comes_back_in_record_order() {
    let mock = cluster("batch", 2);
    let bootstrap = mock.bootstrap_servers();
    let p = producer(&bootstrap);
    let records: Vec<ProducerRecord> = (0..2 * DEFAULT_MAX_IN_FLIGHT as i32 / 100)
        .map(|i| ProducerRecord {
            topic: "batch".into(),
            partition: Some(i % 2),
            key: None,
            value: Some(i.to_string().into_bytes()),
            headers: vec![],
            timestamp: None,
        })
        .collect();
    let n = records.len();
    let metadata = p.send_batch(records).await.expect("batch");
    assert_eq!(metadata.len(), n);
    for (i, m) in metadata.iter().enumerate() {
        assert_eq!(m.partition, i as i32 % 2, "record {i}");
        assert_eq!(m.offset, i as i64 / 2, "record {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assigned_partitions_start_where_asked() {
    let mock = cluster("numbers", 1);
    let bootstrap = mock.bootstrap_servers();
    produce_numbers(&bootstrap, "numbers", 10).await;
    for (start, first, count) in [
        (StartAt::Beginning, Some(0), 10),
        (StartAt::Offset(4), Some(4), 6),
        (StartAt::FromEnd(3), Some(7), 3),
        (StartAt::End, None, 0),
        // Nothing committed: auto.offset.reset=earliest.
        (StartAt::Committed, Some(0), 10),
    ] {
        let c = consumer(&bootstrap, "starts");
        c.assign("numbers", &[0], start, WAIT).expect("assign");
        let read = read(&c, 10).await;
        assert_eq!(read.len(), count, "{start:?}");
        assert_eq!(read.first().map(|r| r.1), first, "{start:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seek_moves_the_next_read_and_positions_follow_what_was_handed_out() {
    let mock = cluster("numbers", 1);
    let bootstrap = mock.bootstrap_servers();
    produce_numbers(&bootstrap, "numbers", 10).await;
    let c = consumer(&bootstrap, "seeks");
    c.assign("numbers", &[0], StartAt::Beginning, WAIT)
        .expect("assign");
    let first = read(&c, 10).await;
    assert_eq!(first.len(), 10);
    assert_eq!(
        c.positions(),
        HashMap::from([(("numbers".to_string(), 0), 10)])
    );
    c.seek("numbers", 0, 6, WAIT).expect("seek");
    assert_eq!(
        c.positions(),
        HashMap::from([(("numbers".to_string(), 0), 6)])
    );
    let again = read(&c, 4).await;
    let offsets: Vec<i64> = again.iter().map(|r| r.1).collect();
    assert_eq!(offsets, vec![6, 7, 8, 9]);
}

fn committed(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Vec<Option<i64>> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut list = TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition(topic, p);
    }
    let got = c.committed_offsets(list, WAIT).expect("committed");
    (0..partitions)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => Some(o),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_offsets_are_committed_as_given_and_commit_takes_what_was_handed_out() {
    let mock = cluster("numbers", 1);
    let bootstrap = mock.bootstrap_servers();
    produce_numbers(&bootstrap, "numbers", 10).await;
    let c = consumer(&bootstrap, "exact");
    c.assign("numbers", &[0], StartAt::Beginning, WAIT)
        .expect("assign");
    assert_eq!(read(&c, 10).await.len(), 10);
    // A command that printed only 3 of the 10 commits 3, not the fetch position.
    let three = HashMap::from([(("numbers".to_string(), 0), 3)]);
    let c2 = c.clone();
    tokio::task::spawn_blocking(move || c2.commit_offsets(&three))
        .await
        .unwrap()
        .expect("commit");
    assert_eq!(committed(&bootstrap, "exact", "numbers", 1), vec![Some(3)]);
    c.commit().await.expect("commit");
    assert_eq!(committed(&bootstrap, "exact", "numbers", 1), vec![Some(10)]);
    // And a new member of the group starts there.
    let next = consumer(&bootstrap, "exact");
    next.assign("numbers", &[0], StartAt::Committed, WAIT)
        .expect("assign");
    assert!(read(&next, 1).await.is_empty());
    let opts = KafkaConsumerOptions::default();
    assert!(!opts.commit_on_revoke, "commit on revocation is asked for");
}
