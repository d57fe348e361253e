//! Confluent's `diff-schema-examples.json` and `diff-schema-examples-with-meta.json`, run
//! through `strata_schema::protobuf::diff`. Change lists are compared as multisets (Confluent
//! emits some in hash order) and the `compatible` flag exactly.

use std::path::{Path, PathBuf};

use serde_json::Value;
use strata_schema::protobuf::{diff, ProtobufSchema};
use strata_schema::{Dependency, FormatSchema, ParseOptions, SchemaType};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/confluent/protobuf")
}

/// A schema field is either inline text or a path to a `.proto` file next to the vectors.
fn schema_text(dir: &Path, value: &str) -> String {
    if value.ends_with(".proto") && !value.contains('\n') {
        std::fs::read_to_string(dir.join(value)).expect("referenced .proto file is readable")
    } else {
        value.to_string()
    }
}

fn dependencies(case: &Value, side: &str) -> Vec<Dependency> {
    let refs = case[format!("{side}_references")]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let deps = case[format!("{side}_dependencies")]
        .as_array()
        .cloned()
        .unwrap_or_default();
    deps.iter()
        .filter_map(|d| {
            let name = d["name"].as_str()?.to_string();
            // Entries without text are built-in files (confluent/meta.proto, ...): an empty
            // text falls through to the built-in.
            let text = d["dependency"].as_str().unwrap_or_default().to_string();
            let reference = refs.iter().find(|r| r["name"].as_str() == Some(&name));
            Some(Dependency {
                subject: reference
                    .and_then(|r| r["subject"].as_str())
                    .unwrap_or(&name)
                    .to_string(),
                version: reference
                    .and_then(|r| r["version"].as_i64())
                    .map_or(1, |v| v as i32),
                name,
                schema_type: SchemaType::Protobuf,
                schema: text,
                dependencies: Vec::new(),
            })
        })
        .collect()
}

fn run_file(file: &str) -> usize {
    let dir = vectors_dir();
    let path = dir.join(file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "note: {} is absent; skipping (it is present in CI)",
            path.display()
        );
        return 0;
    };
    let cases: Vec<Value> = serde_json::from_str(&text).expect("vector file is JSON");
    for case in &cases {
        let description = case["description"].as_str().unwrap_or("?");
        let original_text = schema_text(&dir, case["original_schema"].as_str().expect("original"));
        let update_text = schema_text(&dir, case["update_schema"].as_str().expect("update"));
        let original = ProtobufSchema::parse(
            &original_text,
            &dependencies(case, "original"),
            ParseOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{description}: original does not parse: {e}"));
        let update = ProtobufSchema::parse(
            &update_text,
            &dependencies(case, "update"),
            ParseOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{description}: update does not parse: {e}"));

        let differences = diff(&original, &update);
        let mut actual: Vec<String> = differences.iter().map(ToString::to_string).collect();
        let mut expected: Vec<String> = case["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| c.as_str().expect("change is a string").to_string())
            .collect();
        actual.sort();
        expected.sort();
        assert_eq!(actual, expected, "case '{description}': change list");

        let compatible = case["compatible"].as_bool().expect("compatible");
        let incompatible = update.backward_differences(&original, Default::default());
        assert_eq!(
            incompatible.is_empty(),
            compatible,
            "case '{description}': compatible flag ({incompatible:?})"
        );
    }
    cases.len()
}

#[test]
fn confluent_diff_schema_examples_all_pass() {
    let n = run_file("diff-schema-examples.json");
    eprintln!("{n} cases passed");
}

#[test]
fn confluent_diff_schema_examples_with_meta_all_pass() {
    let n = run_file("diff-schema-examples-with-meta.json");
    eprintln!("{n} cases passed");
}

/// Every schema of the vector files: the canonical text parses to itself, differs from the input
/// in nothing the diff sees, and normalising is idempotent.
#[test]
fn canonical_and_normalized_texts_of_every_vector_schema_round_trip() {
    let dir = vectors_dir();
    for file in [
        "diff-schema-examples.json",
        "diff-schema-examples-with-meta.json",
    ] {
        let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
            eprintln!("note: {file} is absent; skipping (it is present in CI)");
            continue;
        };
        let cases: Vec<Value> = serde_json::from_str(&text).expect("vector file is JSON");
        for case in &cases {
            let description = case["description"].as_str().unwrap_or("?");
            for side in ["original", "update"] {
                let source = schema_text(
                    &dir,
                    case[format!("{side}_schema")].as_str().expect("schema"),
                );
                let deps = dependencies(case, side);
                let parse = |t: &str| {
                    ProtobufSchema::parse(t, &deps, ParseOptions::default())
                        .unwrap_or_else(|e| panic!("{description} ({side}): {e}\n{t}"))
                };
                let schema = parse(&source);
                let again = parse(schema.canonical());
                assert_eq!(
                    again.canonical(),
                    schema.canonical(),
                    "{description} ({side}): canonical text is not a fixpoint"
                );
                let changes = diff(&schema, &again);
                assert!(changes.is_empty(), "{description} ({side}): {changes:?}");
                let normalized = schema.normalize().expect("normalizes");
                assert_eq!(
                    normalized
                        .normalize()
                        .expect("normalizes again")
                        .canonical(),
                    normalized.canonical(),
                    "{description} ({side}): normalising is not idempotent"
                );
                let changes = diff(&schema, &normalized);
                assert!(
                    changes.iter().all(|d| d.kind.is_compatible()),
                    "{description} ({side}): normalising changed the schema: {changes:?}"
                );
            }
        }
    }
}

/// The `.proto` files next to the vectors (Confluent's test resources) parse and round-trip.
#[test]
fn confluent_test_proto_files_round_trip() {
    let dir = vectors_dir().join("io/confluent/kafka/schemaregistry/protobuf/diff");
    let read = |name: &str| std::fs::read_to_string(dir.join(name));
    let Ok(test_proto) = read("TestProto.proto") else {
        eprintln!(
            "note: {} is absent; skipping (it is present in CI)",
            dir.display()
        );
        return;
    };
    let test_proto2 = read("TestProto2.proto").expect("TestProto2.proto");
    let deps = vec![
        Dependency {
            name: "TestProto.proto".into(),
            subject: "test1".into(),
            version: 1,
            schema_type: SchemaType::Protobuf,
            schema: test_proto,
            dependencies: Vec::new(),
        },
        Dependency {
            name: "TestProto2.proto".into(),
            subject: "test2".into(),
            version: 1,
            schema_type: SchemaType::Protobuf,
            schema: test_proto2,
            dependencies: Vec::new(),
        },
    ];
    for name in [
        "NestedTestProto.proto",
        "NestedNoMapTestProto.proto",
        "DecimalValue.proto",
        "DecimalValue2.proto",
        "SameMessageName.proto",
    ] {
        let text = read(name).expect("readable");
        let schema = ProtobufSchema::parse(&text, &deps, ParseOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = ProtobufSchema::parse(schema.canonical(), &deps, ParseOptions::default())
            .unwrap_or_else(|e| panic!("{name} canonical: {e}\n{}", schema.canonical()));
        assert_eq!(again.canonical(), schema.canonical(), "{name}");
        assert!(diff(&schema, &again).is_empty(), "{name}");
        let normalized = schema.normalize().expect("normalizes");
        assert_eq!(
            normalized.normalize().expect("again").canonical(),
            normalized.canonical(),
            "{name}"
        );
        let from_base64 =
            ProtobufSchema::parse(&schema.serialized(), &deps, ParseOptions::default())
                .unwrap_or_else(|e| panic!("{name} serialized: {e}"));
        assert!(
            diff(&schema, &from_base64).is_empty(),
            "{name}: {:?}",
            diff(&schema, &from_base64)
        );
    }
}
