//! Broker-side schema validation in `strata serve --kafka-listen`: topics created with
//! `confluent.value.schema.validation` (or `strata.value.schema.validation=full`) take only
//! records framed with a schema registered under the subject the strategy names; a refused batch
//! answers INVALID_RECORD and leaves nothing in the log.

use std::sync::Mutex;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;
use strata_broker::Broker;

use crate::harness::KafkaListener;

async fn register(registry: &str, subject: &str, schema: &str) -> i32 {
    let resp: serde_json::Value = reqwest::Client::new()
        .post(format!("{registry}/subjects/{subject}/versions"))
        .json(&serde_json::json!({ "schema": schema }))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("a JSON answer");
    resp["id"].as_i64().expect("an id") as i32
}

fn framed(id: i32, datum: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8];
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(datum);
    v
}

/// Delivery errors as text.
#[derive(Default)]
struct Reports(Mutex<Vec<String>>);

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.0.lock().expect("reports").push(format!("{e:?} {e}"));
        }
    }
}

/// Sends one record with `value` in its own batch; the delivery error, if any.
fn send(kafka: &str, topic: &str, value: &[u8]) -> Option<String> {
    let producer: BaseProducer<Reports> = ClientConfig::new()
        .set("bootstrap.servers", kafka)
        .set("broker.address.family", "v4")
        .set("retries", "0")
        .set("message.timeout.ms", "10000")
        .create_with_context(Reports::default())
        .expect("a producer");
    producer
        .send(BaseRecord::to(topic).key("k").payload(value))
        .expect("queued");
    producer.flush(Duration::from_secs(15)).expect("flushed");
    let errors = producer.context().0.lock().expect("reports").clone();
    errors.into_iter().next()
}

async fn create_topics(kafka: &str, topics: &[(&str, &[(&str, &str)])]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka)
        .set("broker.address.family", "v4")
        .create()
        .expect("an admin client");
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, configs)| {
            configs.iter().fold(
                NewTopic::new(name, 1, TopicReplication::Fixed(1)),
                |t, (k, v)| t.set(k, v),
            )
        })
        .collect();
    for r in admin
        .create_topics(&new, &AdminOptions::new())
        .await
        .expect("CreateTopics answers")
    {
        r.expect("the topic is created");
    }
}

const ORDER: &str =
    r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"}]}"#;
const OTHER: &str = r#"{"type":"record","name":"Other","namespace":"shop","fields":[{"name":"s","type":"string"}]}"#;

#[tokio::test]
async fn validated_topics_take_framed_records_of_their_subject_and_refuse_the_rest_with_invalid_record(
) {
    let s = KafkaListener::start();
    let order = register(&s.registry, "orders-value", ORDER).await;
    let other = register(&s.registry, "elsewhere-value", OTHER).await;
    create_topics(
        &s.servers,
        &[
            ("orders", &[("confluent.value.schema.validation", "true")]),
            ("strict", &[("strata.value.schema.validation", "full")]),
        ],
    )
    .await;
    // The strict topic's subject holds the same schema.
    assert_eq!(register(&s.registry, "strict-value", ORDER).await, order);

    let good = framed(order, &[14]); // long 7
    assert_eq!(
        send(&s.servers, "orders", &good),
        None,
        "a framed record passes"
    );

    let cases: [(&str, &str, Vec<u8>, &str); 5] = [
        (
            "raw bytes",
            "orders",
            b"{\"id\":7}".to_vec(),
            "does not carry schema-registry framing",
        ),
        (
            "an unknown id",
            "orders",
            framed(9999, &[14]),
            "not known to the schema registry",
        ),
        (
            "an id registered under another subject",
            "orders",
            framed(other, &[2, b'x']),
            "not registered under subject 'orders-value'",
        ),
        (
            "bytes that do not fit the schema (full mode)",
            "strict",
            framed(order, &[14, 99, 98]),
            "do not fit its schema",
        ),
        ("a cut-short id", "orders", vec![0, 0, 1], "cut short"),
    ];
    for (what, topic, value, reason) in &cases {
        let error = send(&s.servers, topic, value).unwrap_or_else(|| panic!("{what} was accepted"));
        assert!(
            error.contains("InvalidRecord") || error.contains("validate record"),
            "{what}: INVALID_RECORD expected, got {error}"
        );
        let message = produce_error_message(&s.servers, topic, value).await;
        assert!(
            message.contains(reason) && message.contains(&format!("{topic}-0")),
            "{what}: the broker's message names the reason ({reason}): {message}"
        );
    }
    // A framed record that fits passes full mode too; a tombstone passes everywhere.
    assert_eq!(send(&s.servers, "strict", &good), None);

    let broker = Broker::open(&s.log).expect("the log directory");
    assert_eq!(
        broker.offsets("orders", 0).expect("offsets"),
        (0, 1),
        "only the good record is in the log"
    );
    assert_eq!(broker.offsets("strict", 0).expect("offsets"), (0, 1));
    let config = broker.topic_config("strict").expect("config");
    assert_eq!(
        config.value_schema_validation.mode,
        strata_broker::ValidationMode::Full
    );
}

#[tokio::test]
async fn a_refused_batch_names_the_record_and_the_reason_and_writes_none_of_its_records() {
    let s = KafkaListener::start();
    let order = register(&s.registry, "mixed-value", ORDER).await;
    create_topics(
        &s.servers,
        &[(
            "mixed",
            &[
                ("redpanda.value.schema.id.validation", "true"),
                ("redpanda.value.subject.name.strategy", "TopicNameStrategy"),
            ],
        )],
    )
    .await;
    // Three records in one batch (linger): the third is raw, so none is written.
    let producer: BaseProducer<Reports> = ClientConfig::new()
        .set("bootstrap.servers", &s.servers)
        .set("broker.address.family", "v4")
        .set("retries", "0")
        .set("linger.ms", "200")
        .set("message.timeout.ms", "10000")
        .create_with_context(Reports::default())
        .expect("a producer");
    for value in [framed(order, &[2]), framed(order, &[4]), b"raw".to_vec()] {
        producer
            .send(BaseRecord::to("mixed").key("k").payload(&value))
            .expect("queued");
    }
    producer.flush(Duration::from_secs(15)).expect("flushed");
    let errors = producer.context().0.lock().expect("reports").clone();
    assert_eq!(errors.len(), 3, "the whole batch is refused: {errors:?}");
    let broker = Broker::open(&s.log).expect("the log directory");
    assert_eq!(broker.offsets("mixed", 0).expect("offsets"), (0, 0));

    // The broker's answer itself (Produce v8+ error message), read with a raw client.
    let message = produce_error_message(&s.servers, "mixed", b"raw").await;
    assert!(
        message.contains("record 0") && message.contains("schema-registry framing"),
        "the message names the record and the reason: {message}"
    );
}

/// Sends one Produce request with a single record and returns the partition's error message.
async fn produce_error_message(kafka: &str, topic: &str, value: &[u8]) -> String {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{ApiKey, ProduceRequest, RequestHeader, ResponseHeader};
    use kafka_protocol::messages::{ProduceResponse, TopicName};
    use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 0,
        key: None,
        value: Some(Bytes::copy_from_slice(value)),
        headers: Default::default(),
    };
    let mut records = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut records,
        &[record],
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encodes");
    let version = 9;
    let request = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.into())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records.freeze()))])]);
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::Produce as i16)
        .with_request_api_version(version)
        .with_correlation_id(1);
    let mut body = BytesMut::new();
    header
        .encode(&mut body, ApiKey::Produce.request_header_version(version))
        .expect("header");
    request.encode(&mut body, version).expect("request");
    let mut stream = tokio::net::TcpStream::connect(kafka)
        .await
        .expect("connects");
    stream
        .write_all(&(body.len() as i32).to_be_bytes())
        .await
        .expect("writes");
    stream.write_all(&body).await.expect("writes");
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await.expect("an answer");
    let mut answer = vec![0u8; i32::from_be_bytes(len) as usize];
    stream.read_exact(&mut answer).await.expect("an answer");
    let mut buf = Bytes::from(answer);
    ResponseHeader::decode(&mut buf, ApiKey::Produce.response_header_version(version))
        .expect("response header");
    let response = ProduceResponse::decode(&mut buf, version).expect("a Produce answer");
    let partition = &response.responses[0].partition_responses[0];
    assert_eq!(partition.error_code, 87, "INVALID_RECORD");
    partition
        .error_message
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_default()
}

const SHOP_PROTO: &str = r#"syntax = "proto3";
package shop;
message Order { int64 id = 1; }
message Payment { string ref = 1; }
"#;

/// Sends one record whose value is `value` with the given headers; the delivery error, if any.
fn send_with_headers(
    kafka: &str,
    topic: &str,
    value: &[u8],
    headers: &[(&str, &[u8])],
) -> Option<String> {
    use rdkafka::message::{Header, OwnedHeaders};
    let producer: BaseProducer<Reports> = ClientConfig::new()
        .set("bootstrap.servers", kafka)
        .set("broker.address.family", "v4")
        .set("retries", "0")
        .set("message.timeout.ms", "10000")
        .create_with_context(Reports::default())
        .expect("a producer");
    let owned = headers.iter().fold(OwnedHeaders::new(), |h, (k, v)| {
        h.insert(Header {
            key: k,
            value: Some(*v),
        })
    });
    producer
        .send(
            BaseRecord::<(), [u8]>::to(topic)
                .payload(value)
                .headers(owned),
        )
        .expect("queued");
    producer.flush(Duration::from_secs(15)).expect("flushed");
    let errors = producer.context().0.lock().expect("reports").clone();
    errors.into_iter().next()
}

#[tokio::test]
async fn record_name_strategies_take_the_protobuf_message_named_by_the_indexes_and_guid_framing_counts(
) {
    let s = KafkaListener::start();
    let http = reqwest::Client::new();
    let registered: serde_json::Value = http
        .post(format!("{}/subjects/shop.Payment/versions", s.registry))
        .json(&serde_json::json!({ "schema": SHOP_PROTO, "schemaType": "PROTOBUF" }))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("JSON");
    let id = registered["id"].as_i64().expect("an id") as i32;
    let by_id: serde_json::Value = http
        .get(format!("{}/schemas/ids/{id}", s.registry))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("JSON");
    let guid: uuid::Uuid = by_id["guid"]
        .as_str()
        .expect("a GUID")
        .parse()
        .expect("a UUID");
    create_topics(
        &s.servers,
        &[(
            "payments",
            &[
                ("confluent.value.schema.validation", "true"),
                (
                    "confluent.value.subject.name.strategy",
                    "io.confluent.kafka.serializers.subject.RecordNameStrategy",
                ),
                ("strata.value.schema.validation", "full"),
            ],
        )],
    )
    .await;
    // Payment (ref = "p1"): field 1, wire type 2.
    let payment = [0x0a, 2, b'p', b'1'];
    // Message indexes [1] (zig-zag: count 1 -> 02, index 1 -> 02) name shop.Payment.
    let mut as_payment = vec![0u8];
    as_payment.extend_from_slice(&id.to_be_bytes());
    as_payment.extend_from_slice(&[2, 2]);
    as_payment.extend_from_slice(&payment);
    assert_eq!(
        send(&s.servers, "payments", &as_payment),
        None,
        "shop.Payment is its subject"
    );

    // The same schema but index [0] names shop.Order, whose subject does not exist.
    let mut as_order = vec![0u8];
    as_order.extend_from_slice(&id.to_be_bytes());
    as_order.push(0);
    as_order.extend_from_slice(&[8, 7]);
    assert!(send(&s.servers, "payments", &as_order).is_some());
    let message = produce_error_message(&s.servers, "payments", &as_order).await;
    assert!(
        message.contains("subject 'shop.Order'"),
        "the record name comes from the message indexes: {message}"
    );

    // GUID prefix and GUID header framing name the same schema.
    let guid_bytes = strata_schema::guid::guid_to_bytes(&guid);
    let mut guid_prefix = vec![1u8];
    guid_prefix.extend_from_slice(&guid_bytes);
    guid_prefix.extend_from_slice(&[2, 2]);
    guid_prefix.extend_from_slice(&payment);
    assert_eq!(send(&s.servers, "payments", &guid_prefix), None);
    let mut header = vec![1u8];
    header.extend_from_slice(&guid_bytes);
    header.extend_from_slice(&[2, 2]);
    assert_eq!(
        send_with_headers(
            &s.servers,
            "payments",
            &payment,
            &[("__value_schema_id", &header)]
        ),
        None,
        "the GUID header frames a bare payload"
    );
    // Full mode: a bare payload that is not a Payment (a truncated length-delimited field).
    assert!(
        send_with_headers(
            &s.servers,
            "payments",
            &[0x0a, 9, b'p'],
            &[("__value_schema_id", &header)]
        )
        .is_some(),
        "bytes that are not a shop.Payment are refused in full mode"
    );
    let broker = Broker::open(&s.log).expect("the log directory");
    assert_eq!(broker.offsets("payments", 0).expect("offsets"), (0, 3));
}
