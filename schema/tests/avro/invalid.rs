//! Schemas Java Avro rejects, with the reason Confluent shows in its 42201 details.

use strata_schema::ParseOptions;

use crate::rejection;

const CASES: &[(&str, &str, &str)] = &[
    (
        "an unknown field type",
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}"#,
        r#""Missing" is not a defined name. The type of the "a" field must be a defined name or a {"type": ...} expression."#,
    ),
    (
        "an unknown top-level name",
        r#""Foo""#,
        r#"Undefined name: "Foo""#,
    ),
    (
        "an unknown type attribute",
        r#"{"type":"Foo"}"#,
        "Type not supported: Foo",
    ),
    (
        "a union nested in a union",
        r#"["null",["int","string"]]"#,
        r#"Nested union: ["null",["int","string"]]"#,
    ),
    (
        "a primitive twice in a union",
        r#"["int","string","int"]"#,
        "Duplicate in union:int",
    ),
    (
        "a named type twice in a union",
        r#"[{"type":"fixed","name":"F","size":1},"F"]"#,
        "Duplicate in union:F",
    ),
    (
        "two arrays in a union",
        r#"[{"type":"array","items":"int"},{"type":"array","items":"string"}]"#,
        "Duplicate in union:array",
    ),
    (
        "a type defined twice",
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"enum","name":"E","symbols":["A"]}},{"name":"b","type":{"type":"enum","name":"E","symbols":["B"]}}]}"#,
        "Can't redefine: E",
    ),
    (
        "a record name starting with a digit",
        r#"{"type":"record","name":"1R","fields":[]}"#,
        "Illegal initial character: 1R",
    ),
    (
        "a field name with a dash",
        r#"{"type":"record","name":"R","fields":[{"name":"a-b","type":"int"}]}"#,
        "Illegal character in: a-b",
    ),
    (
        "an empty name",
        r#"{"type":"enum","name":"","symbols":[]}"#,
        "Empty name",
    ),
    (
        "a duplicate field",
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"a","type":"int"}]}"#,
        "Duplicate field a in record R: a type:INT pos:1 and a type:STRING pos:0.",
    ),
    (
        "a duplicate enum symbol",
        r#"{"type":"enum","name":"E","symbols":["A","A"]}"#,
        "Duplicate enum symbol: A",
    ),
    (
        "an invalid enum symbol",
        r#"{"type":"enum","name":"E","symbols":["A B"]}"#,
        "Illegal character in: A B",
    ),
    (
        "an enum default outside the symbols",
        r#"{"type":"enum","name":"E","symbols":["A","B"],"default":"C"}"#,
        "The Enum Default: C is not in the enum symbol set: [A, B]",
    ),
    (
        "an object without type",
        r#"{"name":"x"}"#,
        r#"No type: {"name":"x"}"#,
    ),
    (
        "a record without fields",
        r#"{"type":"record","name":"R"}"#,
        r#"Record has no fields: {"type":"record","name":"R"}"#,
    ),
    (
        "a named type without name",
        r#"{"type":"fixed","size":1}"#,
        r#"No name in schema: {"type":"fixed","size":1}"#,
    ),
    (
        "a fixed without size",
        r#"{"type":"fixed","name":"F"}"#,
        r#"Invalid or no size: {"type":"fixed","name":"F"}"#,
    ),
    (
        "a fixed with a negative size",
        r#"{"type":"fixed","name":"F","size":-1}"#,
        "Invalid fixed size: -1",
    ),
    (
        "an array without items",
        r#"{"type":"array"}"#,
        r#"Array has no items type: {"type":"array"}"#,
    ),
    (
        "a map without values",
        r#"{"type":"map"}"#,
        r#"Map has no values type: {"type":"map"}"#,
    ),
    (
        "a field without type",
        r#"{"type":"record","name":"R","fields":[{"name":"a"}]}"#,
        r#"No field type: {"name":"a"}"#,
    ),
    (
        "a field without name",
        r#"{"type":"record","name":"R","fields":[{"type":"int"}]}"#,
        r#"No field name: {"type":"int"}"#,
    ),
    (
        "a named type called after a primitive",
        r#"{"type":"fixed","name":"int","size":1}"#,
        "Schemas may not be named after primitives: int",
    ),
    ("a number as schema", "5", "Schema not yet supported: 5"),
    (
        "aliases that are not an array",
        r#"{"type":"fixed","name":"F","size":1,"aliases":"G"}"#,
        r#"aliases not an array: {"type":"fixed","name":"F","size":1,"aliases":"G"}"#,
    ),
    (
        "a non-numeric text default for a double field",
        r#"{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":"abc"}]}"#,
        r#"For input string: "abc""#,
    ),
];

#[test]
fn invalid_schemas_are_rejected_with_java_avros_reason() {
    for (description, input, reason) in CASES {
        assert_eq!(
            rejection(input, ParseOptions::default()),
            *reason,
            "{description}"
        );
    }
}

#[test]
fn invalid_json_is_rejected_with_the_parser_position() {
    let reason = rejection("{\"type\":", ParseOptions::default());
    assert!(reason.starts_with("Invalid JSON: "), "{reason}");
}

#[test]
fn stored_schemas_are_checked_for_structure_even_when_parsed_leniently() {
    let lenient = ParseOptions {
        validate_as_new: false,
    };
    assert_eq!(
        rejection(r#"["int","int"]"#, lenient),
        "Duplicate in union:int"
    );
}
