//! `strata serve --kafka-listen`: the registry and a Kafka listener in one process, on the log
//! directory the CLI and the library use.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use strata_broker::{AutoOffsetReset, Broker, ConsumerConfig, TopicPartition};

use crate::harness::KafkaListener;

#[test]
fn serve_with_kafka_listen_takes_records_from_librdkafka_into_the_log_dir() {
    let mut served = KafkaListener::start();
    let log_dir = served.log.clone();

    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &served.servers)
        .set("broker.address.family", "v4")
        .set("acks", "all")
        .set("message.timeout.ms", "10000")
        .create()
        .expect("a librdkafka producer");
    for i in 0..20 {
        producer
            .send(
                BaseRecord::to("from-kafka")
                    .key("k")
                    .payload(&format!("record-{i}")),
            )
            .expect("queued");
    }
    producer
        .flush(Duration::from_secs(20))
        .expect("every record acknowledged by strata serve");

    // The records are in the log directory, for the library (and `strata consume`) to read.
    let broker = Broker::open(&log_dir).expect("the log directory exists");
    let consumer = broker
        .consumer(ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::Earliest,
            enable_auto_commit: false,
            ..ConsumerConfig::default()
        })
        .expect("a consumer");
    consumer
        .assign(&[TopicPartition::new("from-kafka", 0)])
        .expect("the topic was auto-created with one partition");
    let mut values = Vec::new();
    // Only bounds a hang: generous for a loaded CI machine.
    let deadline = Instant::now() + Duration::from_secs(60);
    while values.len() < 20 && Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(200)).expect("poll") {
            values.push(String::from_utf8(r.value.expect("a value").to_vec()).expect("utf-8"));
        }
    }
    let want: Vec<String> = (0..20).map(|i| format!("record-{i}")).collect();
    assert_eq!(values, want);

    let exit = served.stop();
    assert!(exit.success(), "exit status after SIGTERM: {exit:?}");
}

#[test]
fn serve_refuses_an_advertised_address_without_a_port() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("serve")
        .args(["--kafka-listen", "127.0.0.1:0"])
        .args(["--kafka-advertised-address", "kafka.example.com"])
        .env("STRATA_LISTEN", "127.0.0.1:0")
        .env(
            "STRATA_DATABASE_URL",
            format!("sqlite://{}/r.db", dir.path().display()),
        )
        .env("STRATA_LOG_DIR", dir.path().join("log"))
        .env("STRATA_LOG", "off")
        .stdin(Stdio::null())
        .output()
        .expect("strata serve runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`kafka.example.com` is not a valid advertised address; give HOST:PORT"),
        "stderr: {stderr}"
    );
}
