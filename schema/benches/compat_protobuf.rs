//! BACKWARD_TRANSITIVE check of a 50-field Protobuf message against 100 stored, already-parsed
//! versions (all compatible, so every version is compared). Target: under 20 ms.

use criterion::{criterion_group, criterion_main, Criterion};
use strata_schema::{
    check_compatibility, CompatibilityLevel, CompatibilityPolicy, FormatSchema, ParseOptions,
    ParsedSchema, ProtobufSchema,
};

/// A schema whose `Event` message has 50 fields of mixed kinds; `extra` more fields after that
/// make each version distinct (added fields are compatible).
fn schema(extra: usize) -> String {
    let kinds = [
        "int32", "int64", "string", "bytes", "bool", "double", "Status", "Inner",
    ];
    let mut text = String::from(
        "syntax = \"proto3\";\npackage bench.v1;\n\nenum Status { UNKNOWN = 0; ACTIVE = 1; }\n\n\
         message Inner { string id = 1; repeated int64 values = 2; map<string, string> tags = 3; }\n\n\
         message Event {\n",
    );
    for n in 1..=50 {
        let kind = kinds[n % kinds.len()];
        if n % 10 == 0 {
            text.push_str(&format!("  map<string, {kind}> field_{n} = {n};\n"));
        } else {
            text.push_str(&format!("  {kind} field_{n} = {n};\n"));
        }
    }
    for n in 0..extra {
        let number = 51 + n;
        text.push_str(&format!("  string added_{number} = {number};\n"));
    }
    text.push_str("  oneof choice { string a = 200; int64 b = 201; }\n}\n");
    text
}

fn parse(text: &str) -> ParsedSchema {
    ParsedSchema::Protobuf(
        ProtobufSchema::parse(text, &[], ParseOptions::default()).expect("bench schema parses"),
    )
}

fn bench(c: &mut Criterion) {
    // Stored versions, newest first as `check_compatibility` expects.
    let stored: Vec<(i32, ParsedSchema)> = (0..100)
        .rev()
        .map(|v| (v as i32 + 1, parse(&schema(v))))
        .collect();
    let previous: Vec<(i32, &ParsedSchema)> = stored.iter().map(|(v, s)| (*v, s)).collect();
    let new = parse(&schema(100));

    let result = check_compatibility(
        CompatibilityLevel::BackwardTransitive,
        CompatibilityPolicy::Strict,
        &new,
        &previous,
    );
    assert!(result.is_compatible, "{:?}", result.messages);

    c.bench_function(
        "protobuf backward_transitive 50 fields x 100 versions",
        |b| {
            b.iter(|| {
                check_compatibility(
                    CompatibilityLevel::BackwardTransitive,
                    CompatibilityPolicy::Strict,
                    std::hint::black_box(&new),
                    std::hint::black_box(&previous),
                )
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
