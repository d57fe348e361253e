//! A throughput measurement, not a check: run it in release with
//! `cargo test --release -p strata-kafka --test kafka bench -- --ignored --nocapture`.
//! 1,000,000 records of 100 bytes produced by librdkafka to the listener and fetched back, and
//! the broker library's own `send_batch` and `send_batch_ref` on the same machine for comparison.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use strata_broker::{ProducerConfig, ProducerRecord, RecordRef, TopicConfig};

use crate::support::TestBroker;

const N: usize = 1_000_000;

#[test]
#[ignore = "a benchmark: run in release with --ignored --nocapture"]
fn bench_a_million_records_through_the_listener_and_the_library() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("bench", 1, TopicConfig::default())
        .unwrap();
    tb.broker
        .create_topic("bench-lib", 1, TopicConfig::default())
        .unwrap();
    let value = vec![b'x'; 100];

    let producer: BaseProducer = tb
        .client_config()
        .set("linger.ms", "5")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "2000000")
        .set("acks", "1")
        .create()
        .unwrap();
    let start = Instant::now();
    for _ in 0..N {
        let mut r = BaseRecord::<(), [u8]>::to("bench").payload(&value[..]);
        loop {
            match producer.send(r) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(1));
                    r = back;
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    let produce = start.elapsed();
    assert_eq!(tb.broker.offsets("bench", 0).unwrap(), (0, N as i64));

    let consumer: BaseConsumer = tb
        .client_config()
        .set("group.id", "bench")
        .set("enable.auto.commit", "false")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "10485760")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("bench", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let start = Instant::now();
    let mut read = 0usize;
    while read < N {
        if let Some(m) = consumer.poll(Duration::from_secs(5)) {
            assert_eq!(m.unwrap().payload().map(<[u8]>::len), Some(100));
            read += 1;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "fetch stalled at {read}"
        );
    }
    let fetch = start.elapsed();

    let lib = tb.broker.producer(ProducerConfig::default());
    let start = Instant::now();
    for _ in 0..N / 1000 {
        lib.send_batch_ref("bench-lib", (0..1000).map(|_| RecordRef::new(&value)))
            .unwrap();
    }
    let library = start.elapsed();

    tb.broker
        .create_topic("bench-owned", 1, TopicConfig::default())
        .unwrap();
    let start = Instant::now();
    for _ in 0..N / 1000 {
        lib.send_batch(
            (0..1000)
                .map(|_| ProducerRecord::new("bench-owned", value.clone()))
                .collect(),
        )
        .unwrap();
    }
    let owned = start.elapsed();

    let rate = |d: Duration| N as f64 / d.as_secs_f64();
    println!(
        "produce over Kafka: {:.0} records/s; fetch over Kafka: {:.0} records/s; library send_batch: {:.0} records/s; library send_batch_ref: {:.0} records/s; produce/send_batch = {:.2}; produce/send_batch_ref = {:.2}",
        rate(produce),
        rate(fetch),
        rate(owned),
        rate(library),
        rate(produce) / rate(owned),
        rate(produce) / rate(library)
    );
}

/// The broker library's own `send_batch` rate (1,000 batches of 1,000 records of `value`), the
/// baseline the network path is compared with.
fn library_send_batch_rate(tb: &TestBroker, topic: &str, value: &[u8]) -> f64 {
    tb.broker
        .create_topic(topic, 1, TopicConfig::default())
        .unwrap();
    let lib = tb.broker.producer(ProducerConfig::default());
    let start = Instant::now();
    for _ in 0..N / 1000 {
        lib.send_batch(
            (0..1000)
                .map(|_| ProducerRecord::new(topic, value.to_vec()))
                .collect(),
        )
        .unwrap();
    }
    N as f64 / start.elapsed().as_secs_f64()
}

/// The benchmark: `kcat -P` sends 1,000,000 records of 100 bytes to the listener and
/// `kcat -C` reads them back, beside the library's `send_batch` in the same run. Run in release:
/// `cargo test --release -p strata-kafka --test kafka bench_kcat -- --ignored --nocapture`
/// (scripts/bench-kafka.sh). Needs kcat on the PATH.
#[test]
#[ignore = "a benchmark: run in release with --ignored --nocapture"]
fn bench_kcat_produces_and_fetches_a_million_records_against_the_library_rate() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let tb = TestBroker::start();
    tb.broker
        .create_topic("bench-kcat", 1, TopicConfig::default())
        .unwrap();
    let value = vec![b'x'; 100];
    let mut input = Vec::with_capacity(N * 101);
    for _ in 0..N {
        input.extend_from_slice(&value);
        input.push(b'\n');
    }
    let bootstrap = tb.addr.to_string();

    let library_before = library_send_batch_rate(&tb, "bench-lib-1", &value);

    let start = Instant::now();
    let mut kcat = Command::new("kcat")
        .args(["-P", "-b", &bootstrap, "-t", "bench-kcat", "-p", "0"])
        .args(["-X", "linger.ms=5", "-X", "batch.size=1000000"])
        .args(["-X", "queue.buffering.max.messages=2000000"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat runs (apt-get install kcat)");
    kcat.stdin.take().unwrap().write_all(&input).unwrap();
    assert!(kcat.wait().unwrap().success(), "kcat -P succeeded");
    let produce = start.elapsed();
    assert_eq!(tb.broker.offsets("bench-kcat", 0).unwrap(), (0, N as i64));

    let start = Instant::now();
    let out = Command::new("kcat")
        .args(["-C", "-b", &bootstrap, "-t", "bench-kcat", "-p", "0"])
        .args(["-o", "beginning", "-e", "-q", "-f", "%o\\n"])
        .args(["-X", "fetch.max.bytes=52428800"])
        .output()
        .expect("kcat runs");
    let fetch = start.elapsed();
    assert!(out.status.success());
    let lines = out.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    assert_eq!(lines.count(), N, "every record read back");

    let library_after = library_send_batch_rate(&tb, "bench-lib-2", &value);
    let library = (library_before + library_after) / 2.0;
    let rate = |d: Duration| N as f64 / d.as_secs_f64();
    println!(
        "kcat -P: {:.0} records/s; kcat -C: {:.0} records/s; library send_batch: {:.0} records/s \
         (before {:.0}, after {:.0}); kcat -P / send_batch = {:.2}",
        rate(produce),
        rate(fetch),
        library,
        library_before,
        library_after,
        rate(produce) / library
    );
}
