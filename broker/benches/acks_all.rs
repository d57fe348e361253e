//! acks=all with 8 concurrent producers on one partition (group commit), against the rate of
//! plain write+fdatasync pairs on a file in the same directory.

use std::io::Write;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_broker::{Acks, Broker, BrokerConfig, ProducerConfig, ProducerRecord, TopicConfig};

const PRODUCERS: usize = 8;
const PER_PRODUCER: usize = 200;

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
    broker
        .create_topic("bench", 1, TopicConfig::default())
        .unwrap();

    let mut g = c.benchmark_group("acks_all");
    g.throughput(Throughput::Elements(PER_PRODUCER as u64));
    g.bench_function("fsync_rate_write_100B_then_fdatasync", |b| {
        let mut f = std::fs::File::create(dir.path().join("raw")).unwrap();
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters * PER_PRODUCER as u64 {
                f.write_all(&[0u8; 100]).unwrap();
                f.sync_data().unwrap();
            }
            start.elapsed()
        })
    });
    g.throughput(Throughput::Elements((PRODUCERS * PER_PRODUCER) as u64));
    g.bench_function("8_producers_send", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let handles: Vec<_> = (0..PRODUCERS)
                    .map(|_| {
                        let p = broker.producer(ProducerConfig {
                            acks: Acks::All,
                            ..ProducerConfig::default()
                        });
                        std::thread::spawn(move || {
                            for _ in 0..PER_PRODUCER {
                                p.send(ProducerRecord::new("bench", vec![0u8; 100]))
                                    .unwrap();
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.join().unwrap();
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
