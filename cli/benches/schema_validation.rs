//! Broker-side schema validation on the hot path: the cost per record of checking a batch of
//! framed Avro records against the in-process registry once its answers are cached. Each case
//! validates a batch of 1,000 records; criterion's time per iteration divided by 1,000 is the
//! cost per record. `unchecked` (a topic without validation) is the baseline in the same run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_broker::{TopicConfig, ValidationMode};
use strata_cli::schema_validation::SchemaValidator;
use strata_kafka::{ProduceValidator, RecordToValidate};

const BATCH: usize = 1000;

fn avro(name: &str) -> String {
    format!(
        r#"{{"type":"record","name":"{name}","namespace":"bench","fields":[{{"name":"id","type":"long"}},{{"name":"note","type":"string"}}]}}"#
    )
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (registry, ids) = runtime.block_on(async {
        let app = strata_registry::Application::build(strata_registry::ServerConfig {
            listen: "127.0.0.1:0".into(),
            database_url: format!("sqlite://{}/r.db", dir.path().display()),
            settings: Default::default(),
        })
        .await
        .expect("a registry");
        let url = format!("http://{}", app.local_addr());
        let registry = app.registry();
        tokio::spawn(app.run_until(std::future::pending()));
        let http = reqwest::Client::new();
        let mut ids = Vec::new();
        for (subject, name) in [("bench-value", "A"), ("bench-value", "B")] {
            let body = serde_json::json!({ "schema": avro(name) });
            let resp: serde_json::Value = http
                .post(format!("{url}/subjects/{subject}/versions"))
                .json(&body)
                .send()
                .await
                .expect("register")
                .json()
                .await
                .expect("an id");
            ids.push(resp["id"].as_i64().expect("an id") as i32);
            // The second schema must be compatible with the first to register in the same
            // subject; NONE keeps the bench independent of that.
            http.put(format!("{url}/config/{subject}"))
                .json(&serde_json::json!({"compatibility": "NONE"}))
                .send()
                .await
                .expect("config");
        }
        (registry, ids)
    });
    let validator = SchemaValidator::new(registry, runtime.handle().clone());

    // `id` (long 7) and `note` ("a 90-character note") make a ~100-byte record.
    let datum = {
        let mut d = vec![14u8];
        let note = "n".repeat(90);
        d.push((note.len() * 2) as u8);
        d.push(1);
        d.extend_from_slice(note.as_bytes());
        d
    };
    let framed = |id: i32| {
        let mut v = vec![0u8];
        v.extend_from_slice(&id.to_be_bytes());
        v.extend_from_slice(&datum);
        v
    };
    let same: Vec<Vec<u8>> = (0..BATCH).map(|_| framed(ids[0])).collect();
    let alternating: Vec<Vec<u8>> = (0..BATCH).map(|i| framed(ids[i % 2])).collect();

    let mut id_only = TopicConfig::default();
    id_only.value_schema_validation.mode = ValidationMode::SchemaId;
    let mut full = TopicConfig::default();
    full.value_schema_validation.mode = ValidationMode::Full;

    let mut group = c.benchmark_group("schema_validation_per_batch_of_1000");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, values, config) in [
        ("unchecked", &same, TopicConfig::default()),
        ("schema_id_same_schema", &same, id_only.clone()),
        (
            "schema_id_alternating_schemas",
            &alternating,
            id_only.clone(),
        ),
        ("full_avro", &same, full.clone()),
    ] {
        let records: Vec<RecordToValidate<'_>> = values
            .iter()
            .enumerate()
            .map(|(index, v)| RecordToValidate {
                index,
                key: None,
                value: Some(v),
                headers: &[],
            })
            .collect();
        validator
            .validate("bench", 0, &config, &records)
            .expect("the batch is valid");
        group.bench_function(name, |b| {
            b.iter(|| validator.validate("bench", 0, &config, &records))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
