//! The same typed Producer and Consumer over Kafka (rdkafka against librdkafka's in-process
//! mock cluster).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::mocking::MockCluster;
use strata_serde::{
    AvroDeserializer, AvroSerializer, Consumer, ErrorPolicy, JsonSerializer, KafkaConsumer,
    KafkaProducer, Producer, Record, SerializerConfig, StringSerde,
};

use crate::avro::{order, Order, ORDER_V1};
use crate::harness::Registry;
use crate::json::{Person, PERSON};

#[tokio::test]
async fn typed_records_go_through_kafka_and_come_back() {
    let registry = Registry::start().await;
    let client = registry.client();
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("orders", 1, 1).expect("topic");
    let bootstrap = cluster.bootstrap_servers();

    let producer: Producer<str, Order> = Producer::new(
        Arc::new(
            KafkaProducer::new([
                ("bootstrap.servers", bootstrap.as_str()),
                ("message.timeout.ms", "10000"),
            ])
            .unwrap(),
        ),
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
        Arc::new(
            KafkaConsumer::new([
                ("bootstrap.servers", bootstrap.as_str()),
                ("group.id", "g"),
                ("auto.offset.reset", "earliest"),
            ])
            .unwrap(),
        ),
        Arc::new(StringSerde),
        Arc::new(AvroDeserializer::new(client)),
        ErrorPolicy::Fail,
    );
    consumer.subscribe(&["orders"]).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..60 {
        got.extend(consumer.poll(Duration::from_millis(500)).await.unwrap());
        if got.len() >= 3 {
            break;
        }
    }
    let ids: Vec<i64> = got.iter().map(|m| m.value.as_ref().unwrap().id).collect();
    assert_eq!(ids, vec![0, 1, 2]);
    assert_eq!(got[0].key.as_deref(), Some("k"));
}

#[tokio::test]
async fn an_invalid_value_is_not_sent_to_kafka() {
    let registry = Registry::start().await;
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("people", 1, 1).expect("topic");
    let bootstrap = cluster.bootstrap_servers();
    let producer: Producer<str, Person> = Producer::new(
        Arc::new(KafkaProducer::new([("bootstrap.servers", bootstrap.as_str())]).unwrap()),
        Arc::new(StringSerde),
        Arc::new(
            JsonSerializer::new(registry.client(), PERSON, SerializerConfig::default()).unwrap(),
        ),
    );
    let bad = Person {
        name: String::new(),
        age: 1,
    };
    let err = producer
        .send(Record::new("people", &bad))
        .await
        .unwrap_err();
    assert!(
        matches!(err, strata_serde::Error::Validation { .. }),
        "{err}"
    );
}
