//! Produce 100-byte records with acks=1 from one thread, against a raw sequential write of the
//! same bytes in the same chunk size (16 KiB, the producer's default batch.size).
//!
//! Every function writes 100,000 records per iteration. The broker appends to one segment that
//! never rolls during the run (`SEGMENT_BYTES`; a roll fsyncs the sealed segment, which is disk
//! time the raw baselines do not pay either), and the raw baselines append to one file that keeps
//! growing across iterations too, so both write into new page-cache pages of a growing file.

use std::io::Write;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_broker::{Broker, BrokerConfig, ProducerConfig, ProducerRecord, RecordRef, TopicConfig};

const RECORDS: usize = 100_000;
const VALUE: usize = 100;
/// Records per `send_batch` call: 16 KiB of values, like Kafka's default batch.size.
const BATCH: usize = 16 * 1024 / VALUE;
/// Large enough that no segment rolls during a run.
const SEGMENT_BYTES: u64 = 64 << 30;

/// A file opened for appending, which keeps growing across iterations like a segment does.
fn growing_file(path: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open_with(
        dir.path(),
        BrokerConfig {
            background_cleaner: false,
            ..BrokerConfig::default()
        },
    )
    .unwrap();
    let config = TopicConfig {
        segment_bytes: SEGMENT_BYTES,
        ..TopicConfig::default()
    };
    broker.create_topic("bench", 1, config).unwrap();
    let value = vec![0x5au8; VALUE];

    let mut g = c.benchmark_group("produce_100B");
    g.throughput(Throughput::Elements(RECORDS as u64));

    // Baseline: the same value bytes written sequentially to a file in 16 KiB writes.
    g.bench_function("raw_sequential_write", |b| {
        let mut f = growing_file(&dir.path().join("raw"));
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut buf = Vec::with_capacity(BATCH * VALUE);
                let start = Instant::now();
                for i in 0..RECORDS {
                    buf.extend_from_slice(&value);
                    if (i + 1) % BATCH == 0 {
                        f.write_all(&buf).unwrap();
                        buf.clear();
                    }
                }
                f.write_all(&buf).unwrap();
                total += start.elapsed();
            }
            total
        })
    });

    let producer = broker.producer(ProducerConfig::default());

    // Baseline 2: the very bytes the broker writes for RECORDS records (batch framing, CRCs and
    // record encoding included), written the same way.
    broker
        .create_topic("prime", 1, TopicConfig::default())
        .unwrap();
    let mut sent = 0;
    while sent < RECORDS {
        let n = BATCH.min(RECORDS - sent);
        let batch: Vec<ProducerRecord> = (0..n)
            .map(|_| ProducerRecord {
                topic: "prime".into(),
                partition: Some(0),
                value: Some(value.clone()),
                ..ProducerRecord::default()
            })
            .collect();
        producer.send_batch(batch).unwrap();
        sent += n;
    }
    let log_bytes =
        std::fs::read(dir.path().join("topics/prime/0/00000000000000000000.log")).unwrap();
    g.bench_function("raw_sequential_write_of_the_log_bytes", |b| {
        let mut f = growing_file(&dir.path().join("raw2"));
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                for chunk in log_bytes.chunks(16 * 1024) {
                    f.write_all(chunk).unwrap();
                }
                total += start.elapsed();
            }
            total
        })
    });

    g.bench_function("acks1_send_batch_16KiB", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let mut sent = 0;
                while sent < RECORDS {
                    let n = BATCH.min(RECORDS - sent);
                    let batch: Vec<ProducerRecord> = (0..n)
                        .map(|_| ProducerRecord {
                            topic: "bench".into(),
                            partition: Some(0),
                            value: Some(value.clone()),
                            ..ProducerRecord::default()
                        })
                        .collect();
                    producer.send_batch(batch).unwrap();
                    sent += n;
                }
                total += start.elapsed();
            }
            total
        })
    });

    // The same, with the records built before the clock starts: the broker's own cost.
    g.bench_function("acks1_send_batch_16KiB_prebuilt_records", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batches: Vec<Vec<ProducerRecord>> = (0..RECORDS.div_ceil(BATCH))
                    .map(|_| {
                        (0..BATCH)
                            .map(|_| ProducerRecord {
                                topic: "bench".into(),
                                partition: Some(0),
                                value: Some(value.clone()),
                                ..ProducerRecord::default()
                            })
                            .collect()
                    })
                    .collect();
                let start = Instant::now();
                for batch in batches {
                    producer.send_batch(batch).unwrap();
                }
                total += start.elapsed();
            }
            total
        })
    });

    // The borrowing API: records are slices of the caller's value, encoded straight into the
    // batch; one `write` per call, positions returned without a topic string per record.
    g.bench_function("acks1_send_batch_ref_16KiB", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let mut sent = 0;
                while sent < RECORDS {
                    let n = BATCH.min(RECORDS - sent);
                    let records = (0..n).map(|_| RecordRef::new(&value).with_partition(0));
                    let acked = producer.send_batch_ref("bench", records).unwrap();
                    debug_assert_eq!(acked.len(), n);
                    sent += n;
                }
                total += start.elapsed();
            }
            total
        })
    });

    g.bench_function("acks1_send_ref_one_by_one", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                for _ in 0..RECORDS {
                    producer
                        .send_ref("bench", RecordRef::new(&value).with_partition(0))
                        .unwrap();
                }
                total += start.elapsed();
            }
            total
        })
    });

    g.bench_function("acks1_send_one_by_one", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                for _ in 0..RECORDS {
                    producer
                        .send(ProducerRecord {
                            topic: "bench".into(),
                            partition: Some(0),
                            value: Some(value.clone()),
                            ..ProducerRecord::default()
                        })
                        .unwrap();
                }
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
