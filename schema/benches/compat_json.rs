//! BACKWARD_TRANSITIVE check of a 50-property JSON schema against 100 stored, already-parsed
//! versions (all compatible, so every version is compared). Target: under 20 ms.

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Map, Value};
use strata_schema::{
    check_compatibility, CompatibilityLevel, CompatibilityPolicy, ParseOptions, ParsedSchema,
    SchemaType,
};

/// A closed object with the first `n` of 50 properties of assorted kinds.
fn schema(n: usize) -> String {
    let mut properties = Map::new();
    for i in 0..n {
        let p: Value = match i % 5 {
            0 => json!({"type": "string", "maxLength": 64}),
            1 => json!({"type": "integer", "minimum": 0}),
            2 => json!({"type": ["string", "null"]}),
            3 => json!({"type": "array", "items": {"type": "number"}}),
            _ => {
                json!({"type": "object", "properties": {"x": {"type": "boolean"}, "y": {"enum": ["a", "b"]}}})
            }
        };
        properties.insert(format!("p{i}"), p);
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Bench",
        "type": "object",
        "properties": properties,
        "required": ["p0"],
        "additionalProperties": false
    })
    .to_string()
}

fn parse(text: &str) -> ParsedSchema {
    ParsedSchema::parse(SchemaType::Json, text, &[], ParseOptions::default())
        .expect("bench schema parses")
}

fn bench(c: &mut Criterion) {
    let stored: Vec<ParsedSchema> = (0..100).map(|v| parse(&schema(1 + v / 2))).collect();
    let new = parse(&schema(50));
    // Newest first, as the registry passes them.
    let previous: Vec<(i32, &ParsedSchema)> = stored
        .iter()
        .enumerate()
        .rev()
        .map(|(i, s)| (i as i32 + 1, s))
        .collect();
    let result = check_compatibility(
        CompatibilityLevel::BackwardTransitive,
        CompatibilityPolicy::Strict,
        &new,
        &previous,
    );
    assert!(result.is_compatible, "{:?}", result.messages);
    c.bench_function("json_backward_transitive_50_props_100_versions", |b| {
        b.iter(|| {
            check_compatibility(
                CompatibilityLevel::BackwardTransitive,
                CompatibilityPolicy::Strict,
                &new,
                &previous,
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
