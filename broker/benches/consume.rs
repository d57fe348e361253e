//! Consume a whole partition from the start. The partition is generated once per run in a
//! temporary directory; its size is `STRATA_BENCH_CONSUME_BYTES` (default 1 GiB).
//!
//! Throughput is counted in record payload bytes (100-byte values) delivered through the public
//! consumer API. The baseline reads the partition's segment files (all bytes, framing included)
//! with 1 MiB `read`s into one reused buffer: the cost of getting the bytes out of the page
//! cache, which no consumer can beat without mmap. Both use the same throughput figure (the
//! payload), so their ratio is the ratio of their times.

use std::io::Read;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_broker::{
    AutoOffsetReset, Broker, BrokerConfig, ConsumerConfig, ProducerConfig, RecordRef, TopicConfig,
    TopicPartition,
};

const VALUE: usize = 100;
/// Records per batch written: 16 KiB of values.
const BATCH: usize = 16 * 1024 / VALUE;

fn bench(c: &mut Criterion) {
    let target: u64 = std::env::var("STRATA_BENCH_CONSUME_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 30);
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open_with(
        dir.path(),
        BrokerConfig {
            background_cleaner: false,
            ..BrokerConfig::default()
        },
    )
    .unwrap();
    broker
        .create_topic("bench", 1, TopicConfig::default())
        .unwrap();
    let producer = broker.producer(ProducerConfig::default());
    let value = vec![0x5au8; VALUE];
    loop {
        let size = broker.describe_topic("bench").unwrap().partitions[0].size_bytes;
        if size >= target {
            break;
        }
        // 16 KiB batches, as a producer with Kafka's default batch.size writes them.
        for _ in 0..64 {
            let batch = (0..BATCH).map(|_| RecordRef::new(&value).with_partition(0));
            producer.send_batch_ref("bench", batch).unwrap();
        }
    }
    let d = broker.describe_topic("bench").unwrap().partitions[0].clone();
    let (bytes, end) = (d.size_bytes, d.log_end_offset);
    let payload = end as u64 * VALUE as u64;
    let mut segments: Vec<_> = std::fs::read_dir(dir.path().join("topics/bench/0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();

    let mut g = c.benchmark_group("consume");
    g.throughput(Throughput::Bytes(payload));
    g.bench_function(
        format!("raw_read_1MiB_chunks_of_the_{}MiB_log", bytes >> 20),
        |b| {
            let mut buf = vec![0u8; 1 << 20];
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let mut read = 0u64;
                    for path in &segments {
                        let mut f = std::fs::File::open(path).unwrap();
                        loop {
                            let n = f.read(&mut buf).unwrap();
                            if n == 0 {
                                break;
                            }
                            read += n as u64;
                        }
                    }
                    total += start.elapsed();
                    assert_eq!(read, bytes);
                }
                total
            })
        },
    );
    // The public API both ways: owned records (`poll`), and records borrowed from the fetch
    // buffers (`poll_records`), reading each value's bytes (a byte sum, so the payload is
    // really touched).
    for (name, borrowed) in [
        (format!("from_start_{}MiB_100B_records", bytes >> 20), false),
        (
            format!("from_start_{}MiB_100B_records_poll_records", bytes >> 20),
            true,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let consumer = broker
                        .consumer(ConsumerConfig {
                            auto_offset_reset: AutoOffsetReset::Earliest,
                            max_poll_records: 100_000,
                            ..ConsumerConfig::default()
                        })
                        .unwrap();
                    consumer.assign(&[TopicPartition::new("bench", 0)]).unwrap();
                    let start = Instant::now();
                    let mut last = -1;
                    let (mut value_bytes, mut sum) = (0usize, 0u64);
                    while last + 1 < end {
                        if borrowed {
                            for r in consumer
                                .poll_records(Duration::from_secs(1))
                                .unwrap()
                                .iter()
                            {
                                let v = r.value.unwrap_or_default();
                                value_bytes += v.len();
                                sum = sum.wrapping_add(u64::from(v[0]) + u64::from(v[v.len() - 1]));
                                last = r.offset;
                            }
                        } else {
                            for r in consumer.poll(Duration::from_secs(1)).unwrap() {
                                let v = r.value.as_deref().unwrap_or_default();
                                value_bytes += v.len();
                                sum = sum.wrapping_add(u64::from(v[0]) + u64::from(v[v.len() - 1]));
                                last = r.offset;
                            }
                        }
                    }
                    total += start.elapsed();
                    assert!(value_bytes > 0);
                    std::hint::black_box(sum);
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
