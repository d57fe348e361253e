//! Normalisation: Confluent's `AvroSchemaUtils.toNormalizedString`, re-parsed; the registry
//! stores the canonical text of the result.

use strata_schema::FormatSchema;

use crate::{avro, avro_with, dep};

fn normalized(text: &str) -> String {
    match avro(text).normalize() {
        Ok(n) => n.canonical().to_string(),
        Err(e) => panic!("{text} should normalise: {e}"),
    }
}

const CASES: &[(&str, &str, &str)] = &[
    (
        "properties and aliases are sorted, an empty field doc is kept",
        r#"{"namespace":"n","name":"R","type":"record","fields":[{"name":"a","type":"int","doc":"","aliases":["z","y"],"custom":2,"another":1}],"b":1,"a":2}"#,
        r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","doc":"","aliases":["y","z"],"another":1,"custom":2}],"a":2,"b":1}"#,
    ),
    (
        "an empty record doc is dropped",
        r#"{"type":"record","name":"R","doc":"","fields":[]}"#,
        r#"{"type":"record","name":"R","fields":[]}"#,
    ),
    (
        "decimal properties come first, in logical-type order",
        r#"{"type":"bytes","scale":2,"precision":4,"logicalType":"decimal"}"#,
        r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#,
    ),
    (
        "an integer default of a double field becomes a double",
        r#"{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":1}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":1.0}]}"#,
    ),
    (
        "object defaults get sorted keys",
        r#"{"type":"record","name":"R","fields":[{"name":"m","type":{"type":"map","values":"int"},"default":{"b":1,"a":2}}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"m","type":{"type":"map","values":"int"},"default":{"a":2,"b":1}}]}"#,
    ),
    (
        "an error type normalises to a record",
        r#"{"type":"error","name":"E","fields":[]}"#,
        r#"{"type":"record","name":"E","fields":[]}"#,
    ),
    (
        "enum doc, aliases and default are kept",
        r#"{"type":"enum","name":"E","namespace":"n","default":"A","aliases":["Z","B"],"doc":"d","symbols":["A"]}"#,
        r#"{"type":"enum","name":"E","namespace":"n","doc":"d","symbols":["A"],"default":"A","aliases":["B","Z"]}"#,
    ),
    (
        "a default that does not fit the field type is dropped (Java's toObject gives null)",
        r#"{"type":"record","name":"R","fields":[{"name":"s","type":"string","default":5}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"s","type":"string"}]}"#,
    ),
];

#[test]
fn normalised_text_matches_confluent() {
    for (description, input, expected) in CASES {
        let lenient = strata_schema::ParseOptions {
            validate_as_new: false,
        };
        let s = <strata_schema::avro::AvroSchema as FormatSchema>::parse(input, &[], lenient)
            .unwrap_or_else(|e| panic!("{description}: {e}"));
        let n = s
            .normalize()
            .unwrap_or_else(|e| panic!("{description}: {e}"));
        assert_eq!(n.canonical(), *expected, "{description}");
    }
}

#[test]
fn schemas_differing_only_in_attribute_order_normalise_alike() {
    let a = r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"f","type":"int","x":1,"y":2}],"p":1,"q":2}"#;
    let b = r#"{"q":2,"fields":[{"y":2,"type":"int","name":"f","x":1}],"p":1,"name":"n.R","type":"record"}"#;
    assert_ne!(avro(a).canonical(), avro(b).canonical());
    assert_eq!(normalized(a), normalized(b));
}

#[test]
fn normalisation_is_stable() {
    for (description, input, _) in CASES {
        let lenient = strata_schema::ParseOptions {
            validate_as_new: false,
        };
        let s = <strata_schema::avro::AvroSchema as FormatSchema>::parse(input, &[], lenient)
            .unwrap_or_else(|e| panic!("{description}: {e}"));
        let once = s
            .normalize()
            .unwrap_or_else(|e| panic!("{description}: {e}"));
        let twice = once
            .normalize()
            .unwrap_or_else(|e| panic!("{description}: {e}"));
        assert_eq!(twice.canonical(), once.canonical(), "{description}");
    }
}

#[test]
fn referenced_types_stay_references_after_normalisation() {
    let address = r#"{"type":"record","name":"Address","namespace":"io.x","fields":[{"name":"s","type":"string"}]}"#;
    let deps = [dep("io.x.Address", address, vec![])];
    let s = avro_with(
        r#"{"type":"record","name":"P","namespace":"io.x","fields":[{"name":"a","type":"Address"}]}"#,
        &deps,
    );
    let n = s.normalize().expect("normalises");
    assert_eq!(
        n.canonical(),
        r#"{"type":"record","name":"P","namespace":"io.x","fields":[{"name":"a","type":"Address"}]}"#
    );
    assert_eq!(n.dependencies(), s.dependencies());
}

#[test]
fn a_named_type_used_twice_is_referenced_by_full_name() {
    assert_eq!(
        normalized(
            r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":2}},{"name":"b","type":"F"}]}"#
        ),
        r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":2}},{"name":"b","type":"F"}]}"#
    );
}

#[test]
fn logical_types_normalise_to_their_properties_first() {
    assert_eq!(
        normalized(
            r#"{"type":"record","name":"R","fields":[{"name":"d","type":{"connect.name":"x","logicalType":"date","type":"int"}},{"name":"m","type":{"scale":0,"precision":10,"logicalType":"decimal","size":8,"name":"M","type":"fixed"}}]}"#
        ),
        r#"{"type":"record","name":"R","fields":[{"name":"d","type":{"type":"int","logicalType":"date","connect.name":"x"}},{"name":"m","type":{"type":"fixed","name":"M","size":8,"logicalType":"decimal","precision":10,"scale":0}}]}"#
    );
}
