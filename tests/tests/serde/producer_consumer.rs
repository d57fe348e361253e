//! The typed Producer and Consumer over the bundled broker.

use std::sync::Arc;
use std::time::Duration;

use strata_broker::{AutoOffsetReset, ConsumerConfig, ProducerConfig};
use strata_serde::consumer::DLQ_ERROR_HEADER;
use strata_serde::{
    AvroDeserializer, AvroSerializer, BundledConsumer, BundledProducer, BytesSerde, Consumer,
    ErrorPolicy, JsonSerializer, Producer, Record, SchemaIdPlacement, SerializerConfig,
    StringSerde,
};

use crate::avro::{order, Order, ORDER_V1};
use crate::harness::{CountingRelay, Registry, TestBroker};
use crate::json::{Person, PERSON};

fn consumer_config(group: &str) -> ConsumerConfig {
    ConsumerConfig {
        group_id: Some(group.into()),
        auto_offset_reset: AutoOffsetReset::Earliest,
        ..ConsumerConfig::default()
    }
}

/// How long a test polls for records that must come before failing: it only bounds how long
/// a broken consumer makes the test hang, so it is generous (2 loaded cores on CI).
const PATIENCE: Duration = Duration::from_secs(60);

async fn poll_until<K: Send, V: Send>(
    consumer: &Consumer<K, V>,
    want: usize,
) -> Vec<strata_serde::Message<K, V>> {
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + PATIENCE;
    while out.len() < want && std::time::Instant::now() < deadline {
        out.extend(consumer.poll(Duration::from_millis(100)).await.unwrap());
    }
    out
}

/// The error of the first poll that fails (polls before it must return nothing: `why`).
async fn first_poll_error<K: Send, V: Send>(
    consumer: &Consumer<K, V>,
    why: &str,
) -> strata_serde::Error {
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)).await {
            Ok(v) => assert!(v.is_empty(), "{why}"),
            Err(e) => return e,
        }
    }
    panic!("no poll failed in {PATIENCE:?} ({why})");
}

async fn typed_records_go_through_the_bundled_broker_and_come_back(registry: Registry) {
    let broker = TestBroker::new(&["orders"]);
    let client = registry.client();
    let producer: Producer<str, Order> = Producer::new(
        Arc::new(BundledProducer(
            broker.broker.producer(ProducerConfig::default()),
        )),
        Arc::new(StringSerde),
        Arc::new(
            AvroSerializer::new(client.clone(), ORDER_V1, SerializerConfig::default()).unwrap(),
        ),
    );
    for i in 0..3 {
        let mut o = order();
        o.id = i;
        producer
            .send(Record::new("orders", &o).with_key("k"))
            .await
            .unwrap();
    }
    let consumer: Consumer<String, Order> = Consumer::new(
        Arc::new(BundledConsumer(
            broker.broker.consumer(consumer_config("g")).unwrap(),
        )),
        Arc::new(StringSerde),
        Arc::new(AvroDeserializer::new(client)),
        ErrorPolicy::Fail,
    );
    consumer.subscribe(&["orders"]).await.unwrap();
    let got = poll_until(&consumer, 3).await;
    let ids: Vec<i64> = got.iter().map(|m| m.value.as_ref().unwrap().id).collect();
    assert_eq!(ids, vec![0, 1, 2]);
    assert_eq!(got[0].key.as_deref(), Some("k"));
}

async fn send_all_writes_runs_of_topics_in_order_with_keys_and_header_placed_ids(
    registry: Registry,
) {
    let broker = TestBroker::new(&["orders", "audit"]);
    let producer = order_producer(&broker, &registry, SchemaIdPlacement::Header);
    let orders: Vec<Order> = (0..6).map(|i| Order { id: i, ..order() }).collect();
    // Topics interleaved in runs: orders, orders, audit, orders, audit, audit.
    let topics = ["orders", "orders", "audit", "orders", "audit", "audit"];
    let records: Vec<Record<'_, str, Order>> = orders
        .iter()
        .zip(topics)
        .map(|(o, t)| {
            let mut r = Record::new(t, o).with_key("k");
            r.headers.push(("trace".into(), vec![o.id as u8]));
            r
        })
        .collect();
    let md = producer.send_all(records).await.unwrap();
    let got: Vec<(&str, i64)> = md.iter().map(|m| (&*m.topic, m.offset)).collect();
    assert_eq!(
        got,
        vec![
            ("orders", 0),
            ("orders", 1),
            ("audit", 0),
            ("orders", 2),
            ("audit", 1),
            ("audit", 2)
        ]
    );
    let consumer = order_consumer(&broker, &registry, "g-all");
    consumer.subscribe(&["orders", "audit"]).await.unwrap();
    let mut got = poll_until(&consumer, 6).await;
    got.sort_by_key(|m| m.value.as_ref().unwrap().id);
    assert_eq!(got.len(), 6);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(&*m.topic, topics[i]);
        assert_eq!(m.value.as_ref().unwrap().id, i as i64);
        assert_eq!(m.key.as_deref(), Some("k"));
        let names: Vec<&str> = m.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            vec!["trace", "__value_schema_id"],
            "the id travels in a header"
        );
        assert_eq!(m.headers[0].1.as_ref(), &[i as u8]);
    }
}

async fn an_invalid_value_writes_nothing(registry: Registry) {
    let broker = TestBroker::new(&["people"]);
    let producer: Producer<str, Person> = Producer::new(
        Arc::new(BundledProducer(
            broker.broker.producer(ProducerConfig::default()),
        )),
        Arc::new(StringSerde),
        Arc::new(
            JsonSerializer::new(registry.client(), PERSON, SerializerConfig::default()).unwrap(),
        ),
    );
    let bad = Person {
        name: String::new(),
        age: 1,
    };
    let good = Person {
        name: "x".into(),
        age: 1,
    };
    assert!(producer.send(Record::new("people", &bad)).await.is_err());
    assert!(producer
        .send_all(vec![
            Record::new("people", &good),
            Record::new("people", &bad)
        ])
        .await
        .is_err());
    assert_eq!(broker.end_offset("people"), 0, "nothing was written");
    // Warm (the topic's writer schema chosen): a bad record in the middle of a batch, or alone,
    // still writes nothing.
    producer.send(Record::new("people", &good)).await.unwrap();
    assert!(producer
        .send_all(vec![
            Record::new("people", &good),
            Record::new("people", &bad),
            Record::new("people", &good)
        ])
        .await
        .is_err());
    assert!(producer.send(Record::new("people", &bad)).await.is_err());
    assert_eq!(broker.end_offset("people"), 1, "only the good single send");
}

fn order_producer(
    broker: &TestBroker,
    registry: &Registry,
    placement: SchemaIdPlacement,
) -> Producer<str, Order> {
    Producer::new(
        Arc::new(BundledProducer(
            broker.broker.producer(ProducerConfig::default()),
        )),
        Arc::new(StringSerde),
        Arc::new(
            AvroSerializer::new(
                registry.client(),
                ORDER_V1,
                SerializerConfig {
                    schema_id_placement: placement,
                    ..SerializerConfig::default()
                },
            )
            .unwrap(),
        ),
    )
}

fn order_consumer(
    broker: &TestBroker,
    registry: &Registry,
    group: &str,
) -> Consumer<String, Order> {
    Consumer::new(
        Arc::new(BundledConsumer(
            broker.broker.consumer(consumer_config(group)).unwrap(),
        )),
        Arc::new(StringSerde),
        Arc::new(AvroDeserializer::new(registry.client())),
        ErrorPolicy::Fail,
    )
}

/// `send_all` encodes a batch into one buffer: records with and without keys, and tombstones,
/// keep their own key and value, whether the serializer is cold (the first batch registers the
/// schema) or warm.
async fn batches_keep_each_records_key_and_value_cold_and_warm(registry: Registry) {
    let broker = TestBroker::new(&["orders"]);
    let producer = order_producer(&broker, &registry, SchemaIdPlacement::Prefix);
    let orders: Vec<Order> = (0..4).map(|i| Order { id: i, ..order() }).collect();
    let batch = || {
        vec![
            Record::new("orders", &orders[0]).with_key("k0"),
            Record::new("orders", &orders[1]),
            Record {
                value: None,
                ..Record::new("orders", &orders[2]).with_key("k2")
            },
            Record::new("orders", &orders[3]).with_key(""),
        ]
    };
    for round in 0..2 {
        let md = producer.send_all(batch()).await.unwrap();
        let offsets: Vec<i64> = md.iter().map(|m| m.offset).collect();
        let base = round * 4;
        assert_eq!(offsets, vec![base, base + 1, base + 2, base + 3]);
    }
    let consumer = order_consumer(&broker, &registry, "g-batches");
    consumer.subscribe(&["orders"]).await.unwrap();
    let got = poll_until(&consumer, 8).await;
    assert_eq!(got.len(), 8);
    for (i, m) in got.iter().enumerate() {
        let want_key = match i % 4 {
            0 => Some("k0"),
            2 => Some("k2"),
            3 => Some(""),
            _ => None,
        };
        assert_eq!(m.key.as_deref(), want_key, "record {i}");
        match i % 4 {
            2 => assert!(m.value.is_none(), "record {i} is a tombstone"),
            n => assert_eq!(m.value.as_ref().unwrap().id, n as i64, "record {i}"),
        }
    }
}

/// Single sends (the first cold, the rest on the warm path that encodes in place) carry the
/// caller's headers and then the header-placed schema id.
async fn single_sends_carry_the_callers_headers_and_a_header_placed_id(registry: Registry) {
    let broker = TestBroker::new(&["orders"]);
    let producer = order_producer(&broker, &registry, SchemaIdPlacement::Header);
    for i in 0..3 {
        let o = Order { id: i, ..order() };
        let mut r = Record::new("orders", &o).with_key("k");
        r.headers.push(("trace".into(), vec![i as u8]));
        let md = producer.send(r).await.unwrap();
        assert_eq!((&*md.topic, md.offset), ("orders", i));
    }
    let consumer = order_consumer(&broker, &registry, "g-single");
    consumer.subscribe(&["orders"]).await.unwrap();
    let got = poll_until(&consumer, 3).await;
    assert_eq!(got.len(), 3);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.value.as_ref().unwrap().id, i as i64);
        assert_eq!(m.key.as_deref(), Some("k"));
        let names: Vec<&str> = m.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, vec!["trace", "__value_schema_id"]);
        assert_eq!(m.headers[0].1.as_ref(), &[i as u8]);
    }
}

/// A registry outage is not a bad record: with the skip policy the consumer reports the
/// outage (its kind kept) and skips nothing, and once the registry is back the same records
/// decode.
async fn a_registry_outage_skips_nothing_and_the_records_decode_after_it(registry: Registry) {
    let broker = TestBroker::new(&["orders"]);
    let producer = order_producer(&broker, &registry, SchemaIdPlacement::Prefix);
    for id in 0..2 {
        let o = Order { id, ..order() };
        producer.send(Record::new("orders", &o)).await.unwrap();
    }
    let relay = CountingRelay::start(&registry).await;
    relay.set_down(true);
    let consumer: Consumer<String, Order> = Consumer::new(
        Arc::new(BundledConsumer(
            broker.broker.consumer(consumer_config("g-outage")).unwrap(),
        )),
        Arc::new(StringSerde),
        Arc::new(AvroDeserializer::new(relay.client())),
        ErrorPolicy::Skip,
    );
    consumer.subscribe(&["orders"]).await.unwrap();
    let err = first_poll_error(&consumer, "nothing decodes while the registry is down").await;
    assert!(err.is_transient(), "{err:?}");
    // Polling again while down retries the same record: still nothing skipped.
    assert!(consumer.poll(Duration::from_millis(100)).await.is_err());
    assert_eq!(consumer.skipped(), 0);
    relay.set_down(false);
    let got = poll_until(&consumer, 2).await;
    let ids: Vec<i64> = got.iter().map(|m| m.value.as_ref().unwrap().id).collect();
    assert_eq!(ids, vec![0, 1]);
    assert_eq!(consumer.skipped(), 0);
}

/// On a current-thread runtime the bundled transport cannot send in place: records go through
/// the blocking pool, single and batched, and arrive the same.
#[test]
fn a_current_thread_runtime_sends_through_the_blocking_pool() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let registry = Registry::start().await;
        let broker = TestBroker::new(&["orders"]);
        let producer = order_producer(&broker, &registry, SchemaIdPlacement::Prefix);
        let orders: Vec<Order> = (0..4).map(|i| Order { id: i, ..order() }).collect();
        producer
            .send(Record::new("orders", &orders[0]).with_key("a"))
            .await
            .unwrap();
        producer
            .send(Record::new("orders", &orders[1]))
            .await
            .unwrap();
        let md = producer
            .send_all(vec![
                Record::new("orders", &orders[2]).with_key("c"),
                Record::new("orders", &orders[3]),
            ])
            .await
            .unwrap();
        assert_eq!(md.iter().map(|m| m.offset).collect::<Vec<_>>(), vec![2, 3]);
        let consumer = order_consumer(&broker, &registry, "g-current");
        consumer.subscribe(&["orders"]).await.unwrap();
        let got = poll_until(&consumer, 4).await;
        let ids: Vec<i64> = got.iter().map(|m| m.value.as_ref().unwrap().id).collect();
        assert_eq!(ids, vec![0, 1, 2, 3]);
        let keys: Vec<Option<&str>> = got.iter().map(|m| m.key.as_deref()).collect();
        assert_eq!(keys, vec![Some("a"), None, Some("c"), None]);
    });
}

async fn an_incompatible_schema_writes_nothing_and_reports_the_registrys_messages(
    registry: Registry,
) {
    let broker = TestBroker::new(&["orders"]);
    let client = registry.client();
    let v1 = AvroSerializer::<Order>::new(client.clone(), ORDER_V1, SerializerConfig::default())
        .unwrap();
    v1.serialize("orders", strata_serde::Field::Value, &order())
        .await
        .unwrap();
    #[derive(serde::Serialize)]
    struct Broken {
        id: String,
    }
    let producer: Producer<str, Broken> = Producer::new(
        Arc::new(BundledProducer(broker.broker.producer(ProducerConfig::default()))),
        Arc::new(StringSerde),
        Arc::new(
            AvroSerializer::new(
                client,
                r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"}]}"#,
                SerializerConfig::default(),
            )
            .unwrap(),
        ),
    );
    let err = producer
        .send(Record::new("orders", &Broken { id: "x".into() }))
        .await
        .unwrap_err();
    assert!(err.is_incompatible(), "{err}");
    assert_eq!(broker.end_offset("orders"), 0);
}

async fn produce_one_good_one_bad(broker: &TestBroker, registry: &Registry) {
    let raw = broker.broker.producer(ProducerConfig::default());
    let producer: Producer<str, Order> = Producer::new(
        Arc::new(BundledProducer(raw.clone())),
        Arc::new(StringSerde),
        Arc::new(
            AvroSerializer::new(registry.client(), ORDER_V1, SerializerConfig::default()).unwrap(),
        ),
    );
    // Garbage first, then an unknown schema id, then a good record.
    raw.send(strata_broker::ProducerRecord::new("orders", vec![7u8, 7]))
        .unwrap();
    raw.send(strata_broker::ProducerRecord::new(
        "orders",
        vec![0u8, 0, 0, 0, 99, 2],
    ))
    .unwrap();
    producer
        .send(Record::new("orders", &order()))
        .await
        .unwrap();
}

async fn the_skip_policy_counts_and_skips_undecodable_records(registry: Registry) {
    let broker = TestBroker::new(&["orders"]);
    produce_one_good_one_bad(&broker, &registry).await;
    let consumer: Consumer<bytes::Bytes, Order> = Consumer::new(
        Arc::new(BundledConsumer(
            broker.broker.consumer(consumer_config("s")).unwrap(),
        )),
        Arc::new(BytesSerde),
        Arc::new(AvroDeserializer::new(registry.client())),
        ErrorPolicy::Skip,
    );
    consumer.subscribe(&["orders"]).await.unwrap();
    let got = poll_until(&consumer, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].offset, 2);
    assert_eq!(consumer.skipped(), 2);
}

async fn the_dead_letter_policy_forwards_undecodable_records(registry: Registry) {
    let broker = TestBroker::new(&["orders", "orders-dlq"]);
    produce_one_good_one_bad(&broker, &registry).await;
    let consumer: Consumer<bytes::Bytes, Order> = Consumer::new(
        Arc::new(BundledConsumer(
            broker.broker.consumer(consumer_config("d")).unwrap(),
        )),
        Arc::new(BytesSerde),
        Arc::new(AvroDeserializer::new(registry.client())),
        ErrorPolicy::DeadLetter {
            topic: "orders-dlq".into(),
            producer: Arc::new(BundledProducer(
                broker.broker.producer(ProducerConfig::default()),
            )),
        },
    );
    consumer.subscribe(&["orders"]).await.unwrap();
    let got = poll_until(&consumer, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(consumer.dead_lettered(), 2);
    assert_eq!(broker.end_offset("orders-dlq"), 2);

    let dlq = broker
        .broker
        .consumer(consumer_config("dlq-reader"))
        .unwrap();
    dlq.subscribe(&["orders-dlq"]).unwrap();
    let mut records = Vec::new();
    let deadline = std::time::Instant::now() + PATIENCE;
    while records.len() < 2 && std::time::Instant::now() < deadline {
        records.extend(dlq.poll(Duration::from_millis(100)).unwrap());
    }
    assert_eq!(records[0].value.as_deref(), Some(&[7u8, 7][..]));
    assert!(records[0]
        .headers
        .iter()
        .any(|(k, _)| k == DLQ_ERROR_HEADER));
}

async fn the_fail_policy_returns_the_error_with_the_records_position(registry: Registry) {
    let broker = TestBroker::new(&["orders"]);
    produce_one_good_one_bad(&broker, &registry).await;
    let consumer: Consumer<bytes::Bytes, Order> = Consumer::new(
        Arc::new(BundledConsumer(
            broker.broker.consumer(consumer_config("f")).unwrap(),
        )),
        Arc::new(BytesSerde),
        Arc::new(AvroDeserializer::new(registry.client())),
        ErrorPolicy::Fail,
    );
    consumer.subscribe(&["orders"]).await.unwrap();
    let err = first_poll_error(&consumer, "the bad record comes first").await;
    assert!(err.to_string().contains("offset 0"), "{err}");
}

crate::on_both_engines!(
    typed_records_go_through_the_bundled_broker_and_come_back,
    send_all_writes_runs_of_topics_in_order_with_keys_and_header_placed_ids,
    an_invalid_value_writes_nothing,
    an_incompatible_schema_writes_nothing_and_reports_the_registrys_messages,
    the_skip_policy_counts_and_skips_undecodable_records,
    the_dead_letter_policy_forwards_undecodable_records,
    the_fail_policy_returns_the_error_with_the_records_position,
    batches_keep_each_records_key_and_value_cold_and_warm,
    single_sends_carry_the_callers_headers_and_a_header_placed_id,
    a_registry_outage_skips_nothing_and_the_records_decode_after_it,
);
