//! Avro serialize/deserialize with a warm cache next to raw apache-avro with a pre-resolved
//! schema, and producing through the bundled broker with and without the serializer. What each
//! bench measures, and the figures, are in `serde-lib/BENCHMARKS.md`.
//!
//! A real registry (strata-registry on a loopback port over a temporary SQLite file) answers
//! the first register and id lookups; every measured call hits the caches.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apache_avro::headers::HeaderBuilder;
use apache_avro::GenericSingleObjectReader;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use strata_broker::{Broker, ProducerConfig, ProducerRecord, RecordRef, TopicConfig};
use strata_serde::{
    AvroDeserializer, AvroSerializer, BundledProducer, Field, Producer, Record, RegistryClient,
    RegistryConfig, SerializerConfig, StringSerde,
};

const SCHEMA: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"item","type":"string"},{"name":"note","type":["null","string"],"default":null},{"name":"qty","type":"int"},{"name":"price","type":"double"},{"name":"tags","type":{"type":"array","items":"string"}}]}"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: i64,
    item: String,
    note: Option<String>,
    qty: i32,
    price: f64,
    tags: Vec<String>,
}

fn order() -> Order {
    Order {
        id: 1_234_567,
        item: "blue widget, large".into(),
        note: Some("leave at the door".into()),
        qty: 3,
        price: 19.99,
        tags: vec!["gift".into(), "express".into()],
    }
}

/// strata-registry on a loopback port over a SQLite file in `dir`; its URL.
async fn registry(dir: &std::path::Path) -> String {
    let app = strata_registry::Application::build(strata_registry::ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/registry.db", dir.display()),
        settings: Default::default(),
    })
    .await
    .expect("the registry starts");
    let url = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending::<()>()));
    url
}

struct NoHeader;
impl HeaderBuilder for NoHeader {
    fn build_header(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// Time `raw` and `ours` in alternating rounds of `per_round` calls (so both see the same load
/// from other processes) and print the median of the per-round ratios ours/raw, with the
/// quartiles. Criterion's figures for two benches come from different minutes of a shared
/// machine; this ratio does not drift with the load. `setup` builds each round's inputs
/// outside the timing (for sends that consume their records).
fn paired<I, O, R, S>(
    name: &str,
    per_round: usize,
    mut setup: impl FnMut() -> I,
    mut raw: R,
    mut ours: S,
) where
    R: FnMut(I) -> O,
    S: FnMut() -> O,
{
    paired_rounds(
        name,
        per_round,
        |n| {
            let inputs: Vec<I> = (0..n).map(|_| setup()).collect();
            let start = Instant::now();
            for input in inputs {
                black_box(raw(input));
            }
            start.elapsed()
        },
        |n| {
            let start = Instant::now();
            for _ in 0..n {
                black_box(ours());
            }
            start.elapsed()
        },
    );
}

/// [`paired`] with each side timing its own round of `n` calls.
fn paired_rounds(
    name: &str,
    per_round: usize,
    mut time_raw: impl FnMut(usize) -> Duration,
    mut time_ours: impl FnMut(usize) -> Duration,
) {
    const ROUNDS: usize = 301;
    let mut ratios = Vec::with_capacity(ROUNDS);
    let (mut raw_total, mut ours_total) = (Duration::ZERO, Duration::ZERO);
    for round in 0..ROUNDS {
        let (r, o) = if round % 2 == 0 {
            let r = time_raw(per_round);
            (r, time_ours(per_round))
        } else {
            let o = time_ours(per_round);
            (time_raw(per_round), o)
        };
        raw_total += r;
        ours_total += o;
        ratios.push(o.as_secs_f64() / r.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let calls = (ROUNDS * per_round) as f64;
    eprintln!(
        "paired {name}: ours/raw time {:.3} (quartiles {:.3}..{:.3}); mean per call: raw {:.0} ns, ours {:.0} ns",
        ratios[ROUNDS / 2],
        ratios[ROUNDS / 4],
        ratios[3 * ROUNDS / 4],
        raw_total.as_nanos() as f64 / calls,
        ours_total.as_nanos() as f64 / calls,
    );
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let registry_dir = tempfile::tempdir().unwrap();
    let url = rt.block_on(registry(registry_dir.path()));
    let client = RegistryClient::new(RegistryConfig::new(url)).unwrap();
    let ser = Arc::new(
        AvroSerializer::<Order>::new(client.clone(), SCHEMA, SerializerConfig::default()).unwrap(),
    );
    let de = AvroDeserializer::<Order>::new(client);
    let value = order();
    // Warm the caches.
    let framed = rt
        .block_on(ser.serialize("orders", Field::Value, &value))
        .unwrap()
        .payload;
    rt.block_on(de.deserialize(Field::Value, &[], &framed))
        .unwrap();
    let raw_schema = apache_avro::Schema::parse_str(SCHEMA).unwrap();
    let mut raw = Vec::new();
    apache_avro::write_avro_datum_ref(&raw_schema, &value, &mut raw).unwrap();
    assert_eq!(&framed[5..], &raw[..]);
    eprintln!(
        "record: {} bytes framed, {} bytes raw",
        framed.len(),
        raw.len()
    );

    let mut g = c.benchmark_group("avro_serialize");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_apache_avro_preresolved", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(64);
            apache_avro::write_avro_datum_ref(&raw_schema, &value, &mut out).unwrap();
            out
        })
    });
    let codec = strata_serde::AvroCodec::new(
        &<strata_schema::AvroSchema as strata_schema::FormatSchema>::parse(
            SCHEMA,
            &[],
            Default::default(),
        )
        .unwrap(),
    )
    .unwrap();
    g.bench_function("strata_codec_unframed", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(64);
            codec.encode_serde(&value, &mut out).unwrap();
            out
        })
    });
    g.bench_function("strata_framed_warm_cache", |b| {
        b.iter(|| {
            ser.serialize("orders", Field::Value, &value)
                .now_or_never()
                .expect("a warm cache never waits")
                .unwrap()
        })
    });
    g.finish();

    let reader =
        GenericSingleObjectReader::new_with_header_builder(raw_schema.clone(), NoHeader).unwrap();
    let mut g = c.benchmark_group("avro_deserialize");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_apache_avro_preresolved", |b| {
        b.iter(|| {
            let v = reader.read_value(&mut &raw[..]).unwrap();
            apache_avro::from_value::<Order>(&v).unwrap()
        })
    });
    g.bench_function("strata_codec_unframed", |b| {
        b.iter(|| codec.decode_serde::<Order>(&raw).unwrap())
    });
    g.bench_function("strata_framed_warm_cache", |b| {
        b.iter(|| {
            de.deserialize(Field::Value, &[], &framed)
                .now_or_never()
                .expect("a warm cache never waits")
                .unwrap()
        })
    });
    g.finish();

    // Producing through the bundled broker: raw bytes vs serialize + validate + send.
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open_or_create(dir.path()).unwrap();
    broker
        .create_topic("orders", 1, TopicConfig::default())
        .unwrap();
    let raw_producer = broker.producer(ProducerConfig::default());
    let producer: Producer<str, Order> = Producer::new(
        Arc::new(BundledProducer(raw_producer.clone())),
        Arc::new(StringSerde),
        ser.clone(),
    );
    const BATCH: u64 = 100;
    let mut g = c.benchmark_group("produce_bundled_broker_batch_100");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("raw_broker_send_batch", |b| {
        b.iter_batched(
            || {
                (0..BATCH)
                    .map(|_| ProducerRecord::new("orders", framed.clone()))
                    .collect::<Vec<_>>()
            },
            |records| raw_producer.send_batch(records).unwrap(),
            BatchSize::SmallInput,
        )
    });
    // The same, with building the records (payload copy, topic string) inside the timing, as
    // the producer must.
    g.bench_function("raw_broker_send_batch_incl_record_build", |b| {
        b.iter(|| {
            let records = (0..BATCH)
                .map(|_| ProducerRecord::new("orders", framed.clone()))
                .collect::<Vec<_>>();
            raw_producer.send_batch(records).unwrap()
        })
    });
    g.bench_function("strata_producer_send_all", |b| {
        b.iter(|| {
            let records = (0..BATCH)
                .map(|_| Record::new("orders", &value))
                .collect::<Vec<_>>();
            rt.block_on(producer.send_all(records)).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("produce_bundled_broker_single");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_broker_send", |b| {
        b.iter(|| {
            raw_producer
                .send(ProducerRecord::new("orders", framed.clone()))
                .unwrap()
        })
    });
    g.bench_function("strata_producer_send", |b| {
        b.iter(|| {
            rt.block_on(producer.send(Record::new("orders", &value)))
                .unwrap()
        })
    });
    // As an application sends: awaiting in a task, not entering the runtime per record.
    g.bench_function("strata_producer_send_in_task", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(producer.send(Record::new("orders", &value)).await.unwrap());
                }
                start.elapsed()
            })
        })
    });
    g.finish();

    // The same comparisons, interleaved (`STRATA_BENCH_PAIRED=0` skips them, for profiling).
    if std::env::var("STRATA_BENCH_PAIRED").as_deref() == Ok("0") {
        return;
    }
    paired(
        "serialize (framed, warm cache / raw apache-avro)",
        2000,
        || (),
        |()| {
            let mut out = Vec::with_capacity(64);
            apache_avro::write_avro_datum_ref(&raw_schema, &value, &mut out).unwrap();
            out
        },
        || {
            ser.serialize("orders", Field::Value, &value)
                .now_or_never()
                .expect("a warm cache never waits")
                .unwrap()
                .payload
        },
    );
    paired(
        "serialize (framed, warm cache / strata codec unframed)",
        2000,
        || (),
        |()| {
            let mut out = Vec::with_capacity(64);
            codec.encode_serde(&value, &mut out).unwrap();
            out
        },
        || {
            ser.serialize("orders", Field::Value, &value)
                .now_or_never()
                .expect("a warm cache never waits")
                .unwrap()
                .payload
        },
    );
    paired(
        "deserialize (framed, warm cache / raw apache-avro)",
        2000,
        || (),
        |()| {
            let v = reader.read_value(&mut &raw[..]).unwrap();
            apache_avro::from_value::<Order>(&v).unwrap()
        },
        || {
            de.deserialize(Field::Value, &[], &framed)
                .now_or_never()
                .expect("a warm cache never waits")
                .unwrap()
        },
    );
    paired(
        "deserialize (framed, warm cache / strata codec unframed)",
        2000,
        || (),
        |()| codec.decode_serde::<Order>(&raw).unwrap(),
        || {
            de.deserialize(Field::Value, &[], &framed)
                .now_or_never()
                .expect("a warm cache never waits")
                .unwrap()
        },
    );
    paired(
        "produce single (validating producer / raw broker send)",
        200,
        || ProducerRecord::new("orders", framed.clone()),
        |r| raw_producer.send(r).unwrap().offset,
        || {
            rt.block_on(producer.send(Record::new("orders", &value)))
                .unwrap()
                .offset
        },
    );
    paired_rounds(
        "produce single in a task (validating producer / raw broker send)",
        200,
        |n| {
            let records: Vec<_> = (0..n)
                .map(|_| ProducerRecord::new("orders", framed.clone()))
                .collect();
            let start = Instant::now();
            for r in records {
                black_box(raw_producer.send(r).unwrap());
            }
            start.elapsed()
        },
        |n| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(producer.send(Record::new("orders", &value)).await.unwrap());
                }
                start.elapsed()
            })
        },
    );
    paired(
        "produce batch of 100 (validating producer / raw broker send_batch)",
        10,
        || {
            (0..BATCH)
                .map(|_| ProducerRecord::new("orders", framed.clone()))
                .collect::<Vec<_>>()
        },
        |records| raw_producer.send_batch(records).unwrap().len(),
        || {
            let records = (0..BATCH)
                .map(|_| Record::new("orders", &value))
                .collect::<Vec<_>>();
            rt.block_on(producer.send_all(records)).unwrap().len()
        },
    );
    paired_rounds(
        "produce batch of 100 in a task (validating producer / raw broker send_batch)",
        10,
        |n| {
            let batches: Vec<Vec<_>> = (0..n)
                .map(|_| {
                    (0..BATCH)
                        .map(|_| ProducerRecord::new("orders", framed.clone()))
                        .collect()
                })
                .collect();
            let start = Instant::now();
            for records in batches {
                black_box(raw_producer.send_batch(records).unwrap());
            }
            start.elapsed()
        },
        |n| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..n {
                    let records = (0..BATCH)
                        .map(|_| Record::new("orders", &value))
                        .collect::<Vec<_>>();
                    black_box(producer.send_all(records).await.unwrap());
                }
                start.elapsed()
            })
        },
    );
    paired(
        "produce batch of 100 (validating producer / raw broker send_batch_ref, borrowed framed bytes)",
        10,
        || (),
        |()| {
            raw_producer
                .send_batch_ref(
                    "orders",
                    (0..BATCH).map(|_| RecordRef {
                        partition: None,
                        key: None,
                        value: Some(&framed),
                        headers: &[],
                        timestamp: None,
                    }),
                )
                .unwrap()
                .len()
        },
        || {
            let records = (0..BATCH)
                .map(|_| Record::new("orders", &value))
                .collect::<Vec<_>>();
            rt.block_on(producer.send_all(records)).unwrap().len()
        },
    );
    paired(
        "produce batch of 100 (validating producer / raw broker send_batch incl. record build)",
        10,
        || (),
        |()| {
            let records = (0..BATCH)
                .map(|_| ProducerRecord::new("orders", framed.clone()))
                .collect::<Vec<_>>();
            raw_producer.send_batch(records).unwrap().len()
        },
        || {
            let records = (0..BATCH)
                .map(|_| Record::new("orders", &value))
                .collect::<Vec<_>>();
            rt.block_on(producer.send_all(records)).unwrap().len()
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
