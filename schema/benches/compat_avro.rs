//! BACKWARD_TRANSITIVE check of a 50-field Avro record against 100 stored, already-parsed
//! versions: the registry's worst common case on register. Target: under 20 ms.

use criterion::{criterion_group, criterion_main, Criterion};
use strata_schema::{
    check_compatibility, CompatibilityLevel, CompatibilityPolicy, ParseOptions, ParsedSchema,
    SchemaType,
};

/// Version `v` has fields f0..f(49), alternating types, with the newest fields defaulted so every
/// version can read every older one; a nested record, an enum, a union and an array exercise the
/// recursive paths.
fn version(v: usize) -> String {
    let mut fields = Vec::new();
    for i in 0..50 {
        let ty = match i % 5 {
            0 => r#""int""#.to_string(),
            1 => r#""string""#.to_string(),
            2 => r#"["null","long"]"#.to_string(),
            3 => r#"{"type":"array","items":"double"}"#.to_string(),
            _ => format!(
                r#"{{"type":"record","name":"N{i}","fields":[{{"name":"x","type":"int"}},{{"name":"e","type":{{"type":"enum","name":"E{i}","symbols":["A","B","C"]}}}}]}}"#
            ),
        };
        // Each version adds one defaulted field, so later versions read earlier data.
        let default = if i >= 40 { r#","default":null"# } else { "" };
        let ty = if i >= 40 {
            r#"["null","string"]"#.to_string()
        } else {
            ty
        };
        if i < 40 || i - 40 < 1 + v % 10 {
            fields.push(format!(r#"{{"name":"f{i}","type":{ty}{default}}}"#));
        }
    }
    format!(
        r#"{{"type":"record","name":"Bench","namespace":"strata.bench","doc":"v{v}","fields":[{}]}}"#,
        fields.join(",")
    )
}

fn parse(text: &str) -> ParsedSchema {
    match ParsedSchema::parse(SchemaType::Avro, text, &[], ParseOptions::default()) {
        Ok(s) => s,
        Err(e) => panic!("bench schema must parse: {e}"),
    }
}

fn bench(c: &mut Criterion) {
    let stored: Vec<ParsedSchema> = (0..100).map(|v| parse(&version(v))).collect();
    let previous: Vec<(i32, &ParsedSchema)> = stored
        .iter()
        .enumerate()
        .rev()
        .map(|(v, s)| (v as i32 + 1, s))
        .collect();
    let new = parse(&version(9));
    let result = check_compatibility(
        CompatibilityLevel::BackwardTransitive,
        CompatibilityPolicy::Strict,
        &new,
        &previous,
    );
    assert!(result.is_compatible, "{:?}", result.messages);
    c.bench_function("avro backward_transitive 50 fields x 100 versions", |b| {
        b.iter(|| {
            check_compatibility(
                CompatibilityLevel::BackwardTransitive,
                CompatibilityPolicy::Strict,
                std::hint::black_box(&new),
                std::hint::black_box(&previous),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
