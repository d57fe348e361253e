//! The speed figures of issue 14's hostile-input probes, measured here rather than by timed unit
//! tests (the unit tests check the bounded work deterministically: limits and pair budgets).
//!
//! Each figure comes in pairs whose ratio is what matters: a linear parse of four times the
//! names takes about four times as long (a quadratic one sixteen). Run with
//! `cargo bench -p strata-schema --bench hostile_sizes`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::{json, Map, Value};
use strata_schema::{CompatibilityPolicy, ParseOptions, ParsedSchema, SchemaType};

fn parse(schema_type: SchemaType, text: &str) -> ParsedSchema {
    ParsedSchema::parse(schema_type, text, &[], ParseOptions::default())
        .expect("bench schema parses")
}

fn avro_record(n: usize) -> String {
    let fields: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("f{i}"), "type": "int"}))
        .collect();
    json!({"type": "record", "name": "R", "fields": fields}).to_string()
}

fn avro_enum(n: usize) -> String {
    let symbols: Vec<String> = (0..n).map(|i| format!("S{i}")).collect();
    json!({"type": "enum", "name": "E", "symbols": symbols}).to_string()
}

fn json_object(n: usize) -> String {
    let properties: Map<String, Value> = (0..n)
        .map(|i| (format!("p{i}"), json!({"type": "string"})))
        .collect();
    let required: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    json!({"type": "object", "properties": properties, "required": required}).to_string()
}

fn json_enum(n: usize) -> String {
    let values: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    json!({ "enum": values }).to_string()
}

/// A string schema with a `description` of `bytes` bytes, nested `depth` objects deep.
fn json_deep(bytes: usize, depth: usize) -> String {
    let mut value = json!({"type": "string", "description": "x".repeat(bytes)});
    for _ in 0..depth {
        value = json!({"type": "object", "properties": {"a": value}});
    }
    value.to_string()
}

fn nested_any_of(depth: usize, tag: &mut usize) -> Value {
    if depth == 0 {
        *tag += 1;
        return json!({"type": "object", "properties": {format!("p{tag}"): {"type": "string"}}});
    }
    let branches: Vec<Value> = (0..3).map(|_| nested_any_of(depth - 1, tag)).collect();
    json!({ "anyOf": branches })
}

fn wide(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_wide");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for n in [12_500, 50_000] {
        let record = avro_record(n);
        group.bench_with_input(
            BenchmarkId::new("avro_record_fields", n),
            &record,
            |b, t| b.iter(|| parse(SchemaType::Avro, t)),
        );
        let symbols = avro_enum(2 * n);
        group.bench_with_input(
            BenchmarkId::new("avro_enum_symbols", 2 * n),
            &symbols,
            |b, t| b.iter(|| parse(SchemaType::Avro, t)),
        );
        let object = json_object(n);
        group.bench_with_input(
            BenchmarkId::new("json_object_properties_parse_and_compare", n),
            &object,
            |b, t| {
                b.iter(|| {
                    let s = parse(SchemaType::Json, t);
                    assert!(s
                        .backward_differences(&s, CompatibilityPolicy::default())
                        .is_empty());
                })
            },
        );
        let values = json_enum(2 * n);
        group.bench_with_input(
            BenchmarkId::new("json_enum_values", 2 * n),
            &values,
            |b, t| b.iter(|| parse(SchemaType::Json, t)),
        );
    }
    group.finish();
}

fn deep(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_deep");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    // The same 8 MB of text nested 1 and 60 deep: a parse linear in the text costs about the
    // same for both (copying each subschema's text cost size times depth).
    for depth in [1, 60] {
        let text = json_deep(8_000_000, depth);
        group.bench_with_input(
            BenchmarkId::new("json_8mb_parse_and_compare", depth),
            &text,
            |b, t| {
                b.iter(|| {
                    let s = parse(SchemaType::Json, t);
                    assert!(s
                        .backward_differences(&s, CompatibilityPolicy::default())
                        .is_empty());
                })
            },
        );
    }
    group.finish();
}

fn combined(c: &mut Criterion) {
    let mut group = c.benchmark_group("combined_default_budget");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    // The 450 KB probe (anyOf of three, depth 8): the comparison stops at the default
    // max_compared_pairs instead of running for 52 s.
    let (mut ta, mut tb) = (0, 100_000);
    let v1 = parse(SchemaType::Json, &nested_any_of(8, &mut ta).to_string());
    let v2 = parse(SchemaType::Json, &nested_any_of(8, &mut tb).to_string());
    group.bench_function("json_nested_any_of_depth_8_to_the_limit", |b| {
        b.iter(|| {
            let found = v2.backward_differences(&v1, CompatibilityPolicy::default());
            assert_eq!(found[0].kind, strata_schema::limits::LIMIT_EXCEEDED);
        })
    });
    group.finish();
}

fn reordered(c: &mut Criterion) {
    // Issue 14: a record checked against itself with every field reversed; fields away from
    // their position are found through a name index (linear), not a scan per field.
    let mut group = c.benchmark_group("reordered_fields");
    group.sample_size(10);
    for n in [4_000usize, 16_000] {
        let new = parse(SchemaType::Avro, &avro_record(n));
        let fields: Vec<Value> = (0..n)
            .rev()
            .map(|i| json!({"name": format!("f{i}"), "type": "int"}))
            .collect();
        let reversed = json!({"type": "record", "name": "R", "fields": fields}).to_string();
        let old = parse(SchemaType::Avro, &reversed);
        group.bench_with_input(BenchmarkId::new("avro_backward", n), &n, |b, _| {
            b.iter(|| {
                let r = strata_schema::check_compatibility(
                    strata_schema::CompatibilityLevel::Backward,
                    CompatibilityPolicy::Strict,
                    &new,
                    &[(1, &old)],
                );
                assert!(r.is_compatible);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, wide, deep, combined, reordered);
criterion_main!(benches);
