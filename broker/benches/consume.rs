//! Consume a whole partition from the start. The partition is generated once per run in a
//! temporary directory; its size is `STRATA_BENCH_CONSUME_BYTES` (default 1 GiB).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_broker::{
    AutoOffsetReset, Broker, BrokerConfig, ConsumerConfig, ProducerConfig, ProducerRecord,
    TopicConfig, TopicPartition,
};

const VALUE: usize = 100;

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
        let batch: Vec<ProducerRecord> = (0..10_000)
            .map(|_| ProducerRecord {
                topic: "bench".into(),
                partition: Some(0),
                value: Some(value.clone()),
                ..ProducerRecord::default()
            })
            .collect();
        producer.send_batch(batch).unwrap();
    }
    let d = broker.describe_topic("bench").unwrap().partitions[0].clone();
    let (bytes, end) = (d.size_bytes, d.log_end_offset);

    let mut g = c.benchmark_group("consume");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function(format!("from_start_{}MiB_100B_records", bytes >> 20), |b| {
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
                let mut value_bytes = 0usize;
                while last + 1 < end {
                    for r in consumer.poll(Duration::from_secs(1)).unwrap() {
                        value_bytes += r.value.as_ref().map_or(0, |v| v.len());
                        last = r.offset;
                    }
                }
                total += start.elapsed();
                assert!(value_bytes > 0);
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
