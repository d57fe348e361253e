//! References: referenced schemas are parsed first into the same name space; their top-level
//! types are written by name in the canonical text, as Confluent does.

use strata_schema::avro::AvroSchema;
use strata_schema::{CompatibilityPolicy, FormatSchema, ParseOptions};

use crate::{avro_with, dep};

const ADDRESS: &str = r#"{"type":"record","name":"Address","namespace":"io.x","fields":[{"name":"street","type":"string"}]}"#;

#[test]
fn a_referenced_type_resolves_and_is_not_inlined() {
    let deps = [dep("io.x.Address", ADDRESS, vec![])];
    let person = avro_with(
        r#"{"type":"record","name":"Person","namespace":"io.x","fields":[{"name":"home","type":"Address"},{"name":"work","type":"io.x.Address"}]}"#,
        &deps,
    );
    assert_eq!(
        person.canonical(),
        r#"{"type":"record","name":"Person","namespace":"io.x","fields":[{"name":"home","type":"Address"},{"name":"work","type":"Address"}]}"#
    );
    assert_eq!(
        person.resolved(),
        r#"{"type":"record","name":"Person","namespace":"io.x","fields":[{"name":"home","type":{"type":"record","name":"Address","fields":[{"name":"street","type":"string"}]}},{"name":"work","type":"Address"}]}"#
    );
    assert_eq!(person.dependencies().len(), 1);
}

#[test]
fn a_referenced_type_from_another_namespace_is_written_by_full_name() {
    let deps = [dep("io.x.Address", ADDRESS, vec![])];
    let s = avro_with(
        r#"{"type":"record","name":"P","namespace":"other","fields":[{"name":"a","type":"io.x.Address"}]}"#,
        &deps,
    );
    assert_eq!(
        s.canonical(),
        r#"{"type":"record","name":"P","namespace":"other","fields":[{"name":"a","type":"io.x.Address"}]}"#
    );
}

#[test]
fn transitive_references_are_parsed_before_the_schemas_that_use_them() {
    let street = r#"{"type":"enum","name":"Kind","namespace":"io.x","symbols":["ROAD","LANE"]}"#;
    let address = r#"{"type":"record","name":"Address","namespace":"io.x","fields":[{"name":"kind","type":"Kind"}]}"#;
    let deps = [dep(
        "io.x.Address",
        address,
        vec![dep("io.x.Kind", street, vec![])],
    )];
    let s = avro_with(
        r#"{"type":"record","name":"P","namespace":"io.x","fields":[{"name":"a","type":"Address"},{"name":"k","type":"Kind"}]}"#,
        &deps,
    );
    assert_eq!(
        s.canonical(),
        r#"{"type":"record","name":"P","namespace":"io.x","fields":[{"name":"a","type":"Address"},{"name":"k","type":"Kind"}]}"#
    );
}

#[test]
fn a_type_nested_inside_a_referenced_schema_is_inlined_on_first_use_as_confluent_does() {
    let outer = r#"{"type":"record","name":"Outer","namespace":"io.x","fields":[{"name":"k","type":{"type":"enum","name":"Kind","symbols":["A"]}}]}"#;
    let deps = [dep("io.x.Outer", outer, vec![])];
    let s = avro_with(
        r#"{"type":"record","name":"P","namespace":"io.x","fields":[{"name":"k","type":"Kind"},{"name":"k2","type":"Kind"}]}"#,
        &deps,
    );
    assert_eq!(
        s.canonical(),
        r#"{"type":"record","name":"P","namespace":"io.x","fields":[{"name":"k","type":{"type":"enum","name":"Kind","symbols":["A"]}},{"name":"k2","type":"Kind"}]}"#
    );
}

#[test]
fn a_missing_reference_is_an_unknown_name() {
    let err = AvroSchema::parse(
        r#"{"type":"record","name":"P","fields":[{"name":"a","type":"io.x.Address"}]}"#,
        &[],
        ParseOptions::default(),
    )
    .expect_err("unresolved reference");
    assert!(
        err.to_string()
            .contains("\"io.x.Address\" is not a defined name"),
        "{err}"
    );
}

#[test]
fn an_invalid_referenced_schema_names_the_reference() {
    let deps = [dep("bad", r#"{"type":"record","name":"B"}"#, vec![])];
    let err = AvroSchema::parse(r#""int""#, &deps, ParseOptions::default())
        .expect_err("invalid reference");
    assert!(
        err.to_string().starts_with("Referenced schema 'bad'"),
        "{err}"
    );
}

#[test]
fn redefining_a_referenced_type_is_rejected() {
    let deps = [dep("io.x.Address", ADDRESS, vec![])];
    let err = AvroSchema::parse(ADDRESS, &deps, ParseOptions::default()).expect_err("redefinition");
    assert_eq!(err.to_string(), "Can't redefine: io.x.Address");
}

#[test]
fn schemas_with_references_are_compared_through_the_referenced_types() {
    let v1 = r#"{"type":"record","name":"Address","namespace":"io.x","fields":[{"name":"street","type":"string"}]}"#;
    let v2 = r#"{"type":"record","name":"Address","namespace":"io.x","fields":[{"name":"street","type":"string"},{"name":"zip","type":"string"}]}"#;
    let person = r#"{"type":"record","name":"Person","namespace":"io.x","fields":[{"name":"home","type":"Address"}]}"#;
    let old = avro_with(person, &[dep("io.x.Address", v1, vec![])]);
    let new = avro_with(person, &[dep("io.x.Address", v2, vec![])]);
    let d = new.backward_differences(&old, CompatibilityPolicy::Strict);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].path, "/fields/0/type/fields/1");
}
