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

/// CPU seconds used so far by this process (every thread: here the listener) and by its
/// children that have been waited for (kcat), from /proc/self/stat.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // utime, stime, cutime, cstime are fields 14 to 17 (1-based), 12 to 15 here; in ticks of
    // 1/100 s (CLK_TCK on Linux).
    let at = |i: usize| f.get(i).copied().unwrap_or(0.0) / 100.0;
    (at(11) + at(12), at(13) + at(14))
}

/// One `kcat -P` of `input` (N records of 100 bytes) into partition 0 of `topic` with `acks`:
/// records per second, and the CPU seconds of the listener's process and of kcat.
fn kcat_produce(tb: &TestBroker, topic: &str, acks: &str, input: &[u8]) -> (f64, f64, f64) {
    use std::io::Write;
    use std::process::{Command, Stdio};

    tb.broker
        .create_topic(topic, 1, TopicConfig::default())
        .unwrap();
    let bootstrap = tb.addr.to_string();
    let (server_before, kcat_before) = cpu_seconds();
    let start = Instant::now();
    let mut kcat = Command::new("kcat")
        .args(["-P", "-b", &bootstrap, "-t", topic, "-p", "0"])
        .args(["-X", "linger.ms=5", "-X", "batch.size=1000000"])
        .args(["-X", "queue.buffering.max.messages=2000000"])
        .args(["-X", &format!("acks={acks}")])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat runs (apt-get install kcat)");
    kcat.stdin.take().unwrap().write_all(input).unwrap();
    assert!(kcat.wait().unwrap().success(), "kcat -P succeeded");
    let rate = N as f64 / start.elapsed().as_secs_f64();
    let (server_after, kcat_after) = cpu_seconds();
    assert_eq!(tb.broker.offsets(topic, 0).unwrap(), (0, N as i64));
    (rate, server_after - server_before, kcat_after - kcat_before)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The benchmark: `kcat -P` sends 1,000,000 records of 100 bytes to the listener and
/// `kcat -C` reads them back, beside the library's `send_batch` in the same run. The library
/// writes with its default acks (1: to the operating system, no fsync), so kcat does too
/// (`acks=1`); `acks=all` (an fsync per request, as the library's `Acks::All`) is measured
/// beside it. Three rounds, each the library's rate then kcat's, so that a burst of load on
/// the machine hits both sides of one ratio; the median round is the figure. Run in release:
/// `cargo test --release -p strata-kafka --test kafka bench_kcat -- --ignored --nocapture`
/// (scripts/bench-kafka.sh). Needs kcat on the PATH.
#[test]
#[ignore = "a benchmark: run in release with --ignored --nocapture"]
fn bench_kcat_produces_and_fetches_a_million_records_against_the_library_rate() {
    use std::process::Command;

    let tb = TestBroker::start();
    let value = vec![b'x'; 100];
    let mut input = Vec::with_capacity(N * 101);
    for _ in 0..N {
        input.extend_from_slice(&value);
        input.push(b'\n');
    }
    let bootstrap = tb.addr.to_string();

    let mut ratios = Vec::new();
    let mut rounds = Vec::new();
    for round in 0..3 {
        let library = library_send_batch_rate(&tb, &format!("bench-lib-{round}"), &value);
        let (rate, server_cpu, kcat_cpu) =
            kcat_produce(&tb, &format!("bench-kcat-{round}"), "1", &input);
        ratios.push(rate / library);
        // Per record: the library's append (one thread, so wall time is CPU time), and the CPU
        // of the listener's process (which includes writing kcat's input into the pipe) and of
        // kcat. kcat's own CPU bounds its rate whatever the listener does.
        rounds.push(format!(
            "round {}: send_batch {library:.0}/s, kcat -P {rate:.0}/s, ratio {:.2}; per record: \
             send_batch {:.2} µs, listener CPU {:.2} µs, kcat CPU {:.2} µs",
            round + 1,
            rate / library,
            1e6 / library,
            server_cpu * 1e6 / N as f64,
            kcat_cpu * 1e6 / N as f64
        ));
    }
    let (all_rate, all_server_cpu, _) = kcat_produce(&tb, "bench-kcat-all", "all", &input);

    let start = Instant::now();
    let out = Command::new("kcat")
        .args(["-C", "-b", &bootstrap, "-t", "bench-kcat-0", "-p", "0"])
        .args(["-o", "beginning", "-e", "-q", "-f", "%o\\n"])
        .args(["-X", "fetch.max.bytes=52428800"])
        .output()
        .expect("kcat runs");
    let fetch = N as f64 / start.elapsed().as_secs_f64();
    assert!(out.status.success());
    let lines = out.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    assert_eq!(lines.count(), N, "every record read back");

    for r in &rounds {
        println!("{r}");
    }
    println!(
        "kcat -P: median ratio to send_batch {:.2} (rounds {}); acks=all: {all_rate:.0} records/s \
         (listener CPU {all_server_cpu:.2} s); kcat -C: {fetch:.0} records/s",
        median(ratios.clone()),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
