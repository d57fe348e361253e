//! Default values: validated like Java Avro's validate-defaults for new schemas (a union default
//! may match ANY branch in Avro 1.12.1, which Confluent ships since 8.0.3 / 8.1.1 / 8.2; Avro
//! 1.11 wanted the first), accepted as written for stored schemas.

use strata_schema::avro::AvroSchema;
use strata_schema::{FormatSchema, ParseOptions};

use crate::rejection;

fn record(field_type: &str, default: &str) -> String {
    format!(
        r#"{{"type":"record","name":"R","fields":[{{"name":"a","type":{field_type},"default":{default}}}]}}"#
    )
}

const VALID: &[(&str, &str, &str)] = &[
    ("an int default for an int field", r#""int""#, "1"),
    ("a long default beyond int range", r#""long""#, "2147483648"),
    ("an integer default for a float field", r#""float""#, "1"),
    ("a fraction for a double field", r#""double""#, "0.25"),
    (
        "a text number for a double field",
        r#""double""#,
        r#""2.5""#,
    ),
    ("NaN text for a float field", r#""float""#, r#""NaN""#),
    ("text for bytes", r#""bytes""#, r#""\u00ff""#),
    (
        "null for a union whose first branch is null",
        r#"["null","string"]"#,
        "null",
    ),
    (
        "text for a union whose first branch is string",
        r#"["string","null"]"#,
        r#""x""#,
    ),
    (
        "text for a union whose second branch is string (Avro 1.12)",
        r#"["null","string"]"#,
        r#""x""#,
    ),
    (
        "null for a union whose second branch is null (Avro 1.12)",
        r#"["string","null"]"#,
        "null",
    ),
    (
        "null in an array of [string, null] unions (Avro 1.12)",
        r#"{"type":"array","items":["string","null"]}"#,
        r#"["a",null]"#,
    ),
    (
        "null in a map of [string, null] unions (Avro 1.12)",
        r#"{"type":"map","values":["string","null"]}"#,
        r#"{"k":null}"#,
    ),
    (
        "an array of ints",
        r#"{"type":"array","items":"int"}"#,
        "[1,2]",
    ),
    (
        "a map of strings",
        r#"{"type":"map","values":"string"}"#,
        r#"{"k":"v"}"#,
    ),
    (
        "an enum symbol",
        r#"{"type":"enum","name":"E","symbols":["A"]}"#,
        r#""A""#,
    ),
    (
        "a record default using a nested field default",
        r#"{"type":"record","name":"In","fields":[{"name":"x","type":"int"},{"name":"y","type":"int","default":0}]}"#,
        r#"{"x":1}"#,
    ),
];

const INVALID: &[(&str, &str, &str, &str)] = &[
    (
        "text for an int field",
        r#""int""#,
        r#""x""#,
        r#"Invalid default for field a: "x" not a "int""#,
    ),
    (
        "an int default beyond int range",
        r#""int""#,
        "2147483648",
        r#"Invalid default for field a: 2147483648 not a "int""#,
    ),
    (
        "a fraction for a long field",
        r#""long""#,
        "1.5",
        r#"Invalid default for field a: 1.5 not a "long""#,
    ),
    (
        "a number for a union of null and string",
        r#"["null","string"]"#,
        "1",
        r#"Invalid default for field a: 1 not a ["null","string"]"#,
    ),
    (
        "a boolean in an array of [string, null] unions",
        r#"{"type":"array","items":["string","null"]}"#,
        "[true]",
        r#"Invalid default for field a: [true] not a {"type":"array","items":["string","null"]}"#,
    ),
    (
        "an array with a wrong element",
        r#"{"type":"array","items":"int"}"#,
        r#"["a"]"#,
        r#"Invalid default for field a: ["a"] not a {"type":"array","items":"int"}"#,
    ),
    (
        "a record default missing a field without default",
        r#"{"type":"record","name":"In","fields":[{"name":"x","type":"int"}]}"#,
        "{}",
        r#"Invalid default for field a: {} not a {"type":"record","name":"In","fields":[{"name":"x","type":"int"}]}"#,
    ),
    (
        "a boolean for a string",
        r#""string""#,
        "true",
        r#"Invalid default for field a: true not a "string""#,
    ),
];

#[test]
fn valid_defaults_are_accepted_for_new_schemas() {
    for (description, ty, default) in VALID {
        let text = record(ty, default);
        let parsed = AvroSchema::parse(&text, &[], ParseOptions::default())
            .unwrap_or_else(|e| panic!("{description}: {text}: {e}"));
        // `normalize=true` re-parses the normalised text as new: it must stay valid.
        if let Err(e) = parsed.normalize() {
            panic!("{description}: normalising {text}: {e}");
        }
    }
}

#[test]
fn invalid_defaults_are_rejected_for_new_schemas_with_java_avros_reason() {
    for (description, ty, default, reason) in INVALID {
        assert_eq!(
            rejection(&record(ty, default), ParseOptions::default()),
            *reason,
            "{description}"
        );
    }
}

#[test]
fn invalid_defaults_are_kept_as_written_for_stored_schemas() {
    let lenient = ParseOptions {
        validate_as_new: false,
    };
    for (description, ty, default, _) in INVALID {
        let text = record(ty, default);
        let parsed = match AvroSchema::parse(&text, &[], lenient) {
            Ok(p) => p,
            Err(e) => panic!("{description}: stored schema should parse leniently: {e}"),
        };
        assert!(
            parsed
                .canonical()
                .contains(&format!("\"default\":{default}")),
            "{description}: {}",
            parsed.canonical()
        );
    }
}
