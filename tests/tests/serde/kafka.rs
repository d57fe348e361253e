//! The same typed Producer and Consumer over Kafka: rdkafka against librdkafka's in-process
//! mock cluster, or against a real Kafka (or Redpanda) when `KAFKA_BOOTSTRAP_SERVERS` is set
//! (topics then get unique names, so runs never see each other's records). Each test runs
//! against a registry on SQLite and on PostgreSQL.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use strata_serde::{
    AvroDeserializer, AvroSerializer, Consumer, ErrorPolicy, JsonDeserializer, JsonSerializer,
    KafkaConsumer, KafkaProducer, Producer, Record, SerializerConfig, StringSerde,
};

use crate::avro::{order, Order, ORDER_V1};
use crate::harness::Registry;
use crate::json::{Person, PERSON};

/// A Kafka cluster for one test: the one `KAFKA_BOOTSTRAP_SERVERS` names, or a mock cluster.
struct Kafka {
    bootstrap: String,
    mock: Option<MockCluster<'static, DefaultProducerContext>>,
}

impl Kafka {
    fn start() -> Kafka {
        match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
            Ok(bootstrap) if !bootstrap.trim().is_empty() => Kafka {
                bootstrap,
                mock: None,
            },
            _ => {
                let mock = MockCluster::new(1).expect("mock cluster");
                Kafka {
                    bootstrap: mock.bootstrap_servers(),
                    mock: Some(mock),
                }
            }
        }
    }

    /// Create a one-partition topic named after `base` (unique on a real cluster).
    async fn topic(&self, base: &str) -> String {
        match &self.mock {
            Some(mock) => {
                mock.create_topic(base, 1, 1).expect("topic");
                base.to_string()
            }
            None => {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                let name = format!("strata-e2e-{base}-{nanos}");
                let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
                    .set("bootstrap.servers", &self.bootstrap)
                    .create()
                    .expect("admin client");
                let results = admin
                    .create_topics(
                        &[NewTopic::new(&name, 1, TopicReplication::Fixed(1))],
                        &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
                    )
                    .await
                    .expect("create topic");
                for r in results {
                    r.expect("topic created");
                }
                name
            }
        }
    }
}

async fn typed_records_go_through_kafka_and_come_back(registry: Registry) {
    let client = registry.client();
    let kafka = Kafka::start();
    let topic = kafka.topic("orders").await;
    let bootstrap = kafka.bootstrap.clone();

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
            .send(Record::new(&topic, &o).with_key("k"))
            .await
            .unwrap();
    }
    // A batch goes through the transport's default path (copied out into owned records).
    let more: Vec<Order> = (3..6).map(|id| Order { id, ..order() }).collect();
    let md = producer
        .send_all(
            more.iter()
                .map(|o| Record::new(topic.as_str(), o).with_key("b"))
                .collect(),
        )
        .await
        .unwrap();
    assert_eq!(md.len(), 3);
    assert!(md.iter().all(|m| *m.topic == *topic));

    let consumer: Consumer<String, Order> = Consumer::new(
        Arc::new(
            KafkaConsumer::new([
                ("bootstrap.servers", bootstrap.as_str()),
                // A group per topic: the SQLite and PostgreSQL runs share a real cluster
                // at once, and one group over both topics would rebalance under them.
                ("group.id", topic.as_str()),
                ("auto.offset.reset", "earliest"),
            ])
            .unwrap(),
        ),
        Arc::new(StringSerde),
        Arc::new(AvroDeserializer::new(client)),
        ErrorPolicy::Fail,
    );
    consumer.subscribe(&[topic.as_str()]).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..60 {
        got.extend(consumer.poll(Duration::from_millis(500)).await.unwrap());
        if got.len() >= 6 {
            break;
        }
    }
    let ids: Vec<i64> = got.iter().map(|m| m.value.as_ref().unwrap().id).collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(got[0].key.as_deref(), Some("k"));
    assert_eq!(got[5].key.as_deref(), Some("b"));
}

async fn an_invalid_value_is_not_sent_to_kafka(registry: Registry) {
    let kafka = Kafka::start();
    let topic = kafka.topic("people").await;
    let bootstrap = kafka.bootstrap.clone();
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
    let err = producer.send(Record::new(&topic, &bad)).await.unwrap_err();
    assert!(
        matches!(err, strata_serde::Error::Validation { .. }),
        "{err}"
    );
    // Nothing reached the topic: a valid record sent afterwards is the first one there.
    let good = Person {
        name: "Barbara".into(),
        age: 2,
    };
    producer.send(Record::new(&topic, &good)).await.unwrap();
    let consumer: Consumer<String, Person> = Consumer::new(
        Arc::new(
            KafkaConsumer::new([
                ("bootstrap.servers", bootstrap.as_str()),
                ("group.id", topic.as_str()),
                ("auto.offset.reset", "earliest"),
            ])
            .unwrap(),
        ),
        Arc::new(StringSerde),
        Arc::new(JsonDeserializer::new(registry.client())),
        ErrorPolicy::Fail,
    );
    consumer.subscribe(&[topic.as_str()]).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..60 {
        got.extend(consumer.poll(Duration::from_millis(500)).await.unwrap());
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].offset, 0, "the rejected record took no offset");
    assert_eq!(got[0].value.as_ref(), Some(&good));
}

crate::on_both_engines!(
    typed_records_go_through_kafka_and_come_back,
    an_invalid_value_is_not_sent_to_kafka,
);
