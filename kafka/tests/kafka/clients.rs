//! librdkafka (rdkafka) producers and consumers against the listener.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use strata_broker::{
    AutoOffsetReset, ConsumerConfig, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition,
};

use crate::support::TestBroker;

/// Collects delivery reports: (value, partition, offset) or the error.
#[derive(Clone, Default)]
struct Deliveries(Arc<Mutex<Vec<Delivery>>>);

/// (value, partition, offset), or why the record was not delivered.
type Delivery = Result<(String, i32, i64), String>;

/// (partition, offset, key, value) of a record read.
type Read = (i32, i64, Option<Vec<u8>>, Vec<u8>);

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let r = match result {
            Ok(m) => Ok((
                String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                m.partition(),
                m.offset(),
            )),
            Err((e, _)) => Err(e.to_string()),
        };
        self.0.lock().unwrap().push(r);
    }
}

/// Produces `values` (keyed `k{i % 7}`) and returns the (partition, offset) of each, in the
/// order of `values`, once all are delivered.
fn produce(
    tb: &TestBroker,
    topic: &str,
    values: &[String],
    extra: &[(&str, &str)],
) -> Vec<(i32, i64)> {
    let deliveries = Deliveries::default();
    let mut config = tb.client_config();
    config.set("linger.ms", "5");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    let producer: BaseProducer<Deliveries> = config
        .create_with_context(deliveries.clone())
        .expect("a librdkafka producer");
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{}", i % 7);
        let mut record = BaseRecord::to(topic).key(&key).payload(v);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, r)) => {
                    assert!(
                        matches!(
                            e.rdkafka_error_code(),
                            Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                        ),
                        "send failed: {e}"
                    );
                    producer.poll(Duration::from_millis(10));
                    record = r;
                }
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer
        .flush(Duration::from_secs(20))
        .expect("all records delivered in time");
    let reports = deliveries.0.lock().unwrap().clone();
    assert_eq!(
        reports.len(),
        values.len(),
        "one delivery report per record"
    );
    let by_value: std::collections::HashMap<String, (i32, i64)> = reports
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("a record was not delivered: {e}")))
        .map(|(v, p, o)| (v, (p, o)))
        .collect();
    values.iter().map(|v| by_value[v]).collect()
}

/// Reads `n` records from every partition of `topic` from the beginning, with manual
/// assignment; fails if more than `n` arrive within a short grace period.
fn consume_all(tb: &TestBroker, topic: &str, partitions: i32, n: usize) -> Vec<Read> {
    let consumer: BaseConsumer = tb
        .client_config()
        .set("group.id", "strata-kafka-tests")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("a librdkafka consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("a partition");
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while out.len() < n && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.expect("no consumer error");
            out.push((
                m.partition(),
                m.offset(),
                m.key().map(<[u8]>::to_vec),
                m.payload().unwrap_or_default().to_vec(),
            ));
        }
    }
    // Nothing more (a duplicate would show here).
    let grace = Instant::now() + Duration::from_millis(500);
    while Instant::now() < grace {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.expect("no consumer error");
            panic!(
                "an unexpected extra record at {}-{}",
                m.partition(),
                m.offset()
            );
        }
    }
    out
}

fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:05}")).collect()
}

/// Every value read exactly once and, per partition, in the order produced.
fn assert_once_in_order(produced: &[String], delivered: &[(i32, i64)], read: &[Read]) {
    assert_eq!(
        read.len(),
        produced.len(),
        "as many records read as produced"
    );
    let mut expected: BTreeMap<i32, Vec<(i64, &str)>> = BTreeMap::new();
    for (v, (p, o)) in produced.iter().zip(delivered) {
        expected.entry(*p).or_default().push((*o, v));
    }
    let mut got: BTreeMap<i32, Vec<(i64, &str)>> = BTreeMap::new();
    for (p, o, _, v) in read {
        got.entry(*p)
            .or_default()
            .push((*o, std::str::from_utf8(v).expect("utf-8 values")));
    }
    for e in expected.values_mut() {
        e.sort();
    }
    assert_eq!(
        got, expected,
        "per partition: the records produced, once each, in offset order"
    );
}

#[test]
fn librdkafka_records_round_trip_exactly_once_and_in_order_with_each_acks_level() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("orders", 3, TopicConfig::default())
        .unwrap();
    let mut all_values = Vec::new();
    let mut all_delivered = Vec::new();
    for acks in ["all", "1", "0"] {
        let v = values(&format!("acks{acks}"), 200);
        let delivered = produce(&tb, "orders", &v, &[("acks", acks)]);
        if acks != "0" {
            assert!(
                delivered.iter().all(|(_, o)| *o >= 0),
                "acks={acks}: offsets reported"
            );
            all_values.extend(v);
            all_delivered.extend(delivered);
        } else {
            // acks=0: librdkafka learns no offsets; the records are still there, after the rest.
            all_values.extend(v);
            all_delivered.extend(delivered);
        }
    }
    let read = consume_all(&tb, "orders", 3, all_values.len());
    if all_delivered.iter().any(|(_, o)| *o < 0) {
        // acks=0 gives no offsets: compare values per partition in read order instead.
        let mut per_part: BTreeMap<i32, Vec<&str>> = BTreeMap::new();
        for (v, (p, _)) in all_values.iter().zip(&all_delivered) {
            per_part.entry(*p).or_default().push(v);
        }
        let mut got: BTreeMap<i32, Vec<&str>> = BTreeMap::new();
        for (p, _, _, v) in &read {
            got.entry(*p)
                .or_default()
                .push(std::str::from_utf8(v).unwrap());
        }
        assert_eq!(
            got, per_part,
            "every record once, in the order produced per partition"
        );
        let mut offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
        for (p, o, _, _) in &read {
            offsets.entry(*p).or_default().push(*o);
        }
        for (p, o) in offsets {
            assert!(
                o.windows(2).all(|w| w[1] == w[0] + 1),
                "partition {p}: consecutive offsets"
            );
            assert_eq!(o[0], 0, "partition {p} starts at offset 0");
        }
    } else {
        assert_once_in_order(&all_values, &all_delivered, &read);
    }
    assert_eq!(read.len(), 600);
}

#[test]
fn gzip_snappy_and_lz4_batches_from_librdkafka_are_stored_and_read_back() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("zipped", 2, TopicConfig::default())
        .unwrap();
    let mut v_all = Vec::new();
    let mut d_all = Vec::new();
    for codec in ["gzip", "snappy", "lz4"] {
        let v = values(codec, 300);
        let d = produce(
            &tb,
            "zipped",
            &v,
            &[("compression.codec", codec), ("acks", "1")],
        );
        v_all.extend(v);
        d_all.extend(d);
    }
    let read = consume_all(&tb, "zipped", 2, v_all.len());
    assert_once_in_order(&v_all, &d_all, &read);
}

#[test]
fn a_topic_named_by_a_librdkafka_producer_is_auto_created() {
    let tb = TestBroker::start();
    let v = values("auto", 10);
    let d = produce(&tb, "created-on-demand", &v, &[]);
    assert!(tb
        .broker
        .list_topics()
        .unwrap()
        .contains(&"created-on-demand".to_owned()));
    let read = consume_all(&tb, "created-on-demand", 1, v.len());
    assert_once_in_order(&v, &d, &read);
}

#[test]
fn records_produced_over_kafka_are_read_by_the_library_consumer_and_the_reverse() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("shared", 2, TopicConfig::default())
        .unwrap();

    // Kafka producer -> library consumer, headers included.
    let deliveries = Deliveries::default();
    let producer: BaseProducer<Deliveries> = tb
        .client_config()
        .create_with_context(deliveries.clone())
        .unwrap();
    for i in 0..50 {
        let value = format!("over-kafka-{i}");
        let headers = OwnedHeaders::new().insert(Header {
            key: "trace",
            value: Some(format!("t{i}").as_bytes()),
        });
        producer
            .send(
                BaseRecord::to("shared")
                    .key("same-key")
                    .payload(&value)
                    .headers(headers)
                    .timestamp(1_700_000_000_000 + i),
            )
            .unwrap();
    }
    producer.flush(Duration::from_secs(20)).unwrap();
    let lib = tb
        .broker
        .consumer(ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::Earliest,
            enable_auto_commit: false,
            ..ConsumerConfig::default()
        })
        .unwrap();
    lib.assign(&[
        TopicPartition::new("shared", 0),
        TopicPartition::new("shared", 1),
    ])
    .unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < 50 && Instant::now() < deadline {
        got.extend(lib.poll(Duration::from_millis(200)).unwrap());
    }
    assert_eq!(got.len(), 50);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(
            r.value.as_deref(),
            Some(format!("over-kafka-{i}").as_bytes()),
            "in order"
        );
        assert_eq!(r.key.as_deref(), Some(&b"same-key"[..]));
        assert_eq!(
            r.timestamp,
            1_700_000_000_000 + i as i64,
            "the client's timestamp is kept"
        );
        assert_eq!(
            r.headers,
            vec![("trace".to_owned(), bytes::Bytes::from(format!("t{i}")))]
        );
    }

    // Library producer -> Kafka consumer.
    let lib_producer = tb.broker.producer(ProducerConfig::default());
    for i in 0..30 {
        lib_producer
            .send(
                ProducerRecord::new("shared", format!("from-library-{i}"))
                    .with_partition(1)
                    .with_header("h", "x"),
            )
            .unwrap();
    }
    let consumer: BaseConsumer = tb
        .client_config()
        .set("group.id", "g")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let before = got.iter().filter(|r| r.partition == 1).count() as i64;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("shared", 1, Offset::Offset(before))
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut read = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while read.len() < 30 && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let h = m.headers().map(|h| h.get(0).value.map(<[u8]>::to_vec));
            read.push((m.offset(), m.payload().unwrap().to_vec(), h));
        }
    }
    assert_eq!(read.len(), 30);
    for (i, (o, v, h)) in read.iter().enumerate() {
        assert_eq!(*o, before + i as i64);
        assert_eq!(v, format!("from-library-{i}").as_bytes());
        assert_eq!(h, &Some(Some(b"x".to_vec())));
    }
}

#[test]
fn list_offsets_answers_earliest_latest_and_by_timestamp() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("times", 1, TopicConfig::default())
        .unwrap();
    let p = tb.broker.producer(ProducerConfig::default());
    for (i, ts) in [1_000i64, 2_000, 3_000].iter().enumerate() {
        p.send(ProducerRecord::new("times", format!("r{i}")).with_timestamp(*ts))
            .unwrap();
    }
    tb.broker.delete_records("times", 0, 1).unwrap();
    let consumer: BaseConsumer = tb.client_config().set("group.id", "lo").create().unwrap();
    let (low, high) = consumer
        .fetch_watermarks("times", 0, Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        (low, high),
        (1, 3),
        "earliest after delete_records, and the log end"
    );
    let mut q = TopicPartitionList::new();
    q.add_partition_offset("times", 0, Offset::Offset(1_500))
        .unwrap();
    let found = consumer
        .offsets_for_times(q, Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        found.find_partition("times", 0).unwrap().offset(),
        Offset::Offset(1)
    );
    let mut q = TopicPartitionList::new();
    q.add_partition_offset("times", 0, Offset::Offset(2_500))
        .unwrap();
    let found = consumer
        .offsets_for_times(q, Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        found.find_partition("times", 0).unwrap().offset(),
        Offset::Offset(2)
    );
    let mut q = TopicPartitionList::new();
    q.add_partition_offset("times", 0, Offset::Offset(9_000))
        .unwrap();
    let found = consumer
        .offsets_for_times(q, Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        found.find_partition("times", 0).unwrap().offset(),
        Offset::End,
        "no record that recent"
    );
}

#[test]
fn offsets_committed_by_librdkafka_are_the_library_groups_offsets_and_the_reverse() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("progress", 2, TopicConfig::default())
        .unwrap();
    let consumer: BaseConsumer = tb
        .client_config()
        .set("group.id", "billing")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("progress", 0, Offset::Offset(7))
        .unwrap();
    tpl.add_partition_offset("progress", 1, Offset::Offset(3))
        .unwrap();
    consumer
        .commit(&tpl, CommitMode::Sync)
        .expect("OffsetCommit succeeds");

    let lib = tb
        .broker
        .consumer(ConsumerConfig {
            group_id: Some("billing".into()),
            enable_auto_commit: false,
            ..ConsumerConfig::default()
        })
        .unwrap();
    assert_eq!(
        lib.committed(&TopicPartition::new("progress", 0)).unwrap(),
        Some(7)
    );
    assert_eq!(
        lib.committed(&TopicPartition::new("progress", 1)).unwrap(),
        Some(3)
    );

    lib.commit_offsets(&[(TopicPartition::new("progress", 1), 11)])
        .unwrap();
    let mut q = TopicPartitionList::new();
    q.add_partition("progress", 0);
    q.add_partition("progress", 1);
    let committed = consumer
        .committed_offsets(q, Duration::from_secs(10))
        .expect("OffsetFetch succeeds");
    assert_eq!(
        committed.find_partition("progress", 0).unwrap().offset(),
        Offset::Offset(7)
    );
    assert_eq!(
        committed.find_partition("progress", 1).unwrap().offset(),
        Offset::Offset(11)
    );
}

#[test]
fn a_librdkafka_idempotent_producer_writes_every_record_once_and_in_order() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("idem", 3, TopicConfig::default())
        .unwrap();
    let v = values("idem", 600);
    let d = produce(
        &tb,
        "idem",
        &v,
        &[("enable.idempotence", "true"), ("acks", "all")],
    );
    let read = consume_all(&tb, "idem", 3, v.len());
    assert_once_in_order(&v, &d, &read);
}
