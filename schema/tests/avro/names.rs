//! Avro 1.12.1's naming rules as Confluent 8.x applies them (issue 13, item 6): a new schema is
//! parsed with the strict (ASCII) name validator and names a record only once its fields are
//! parsed; a stored schema keeps loading with the Unicode rules it was accepted under.

use strata_schema::avro::AvroSchema;
use strata_schema::{FormatSchema, ParseOptions};

use crate::{avro, rejection};

const STORED: ParseOptions = ParseOptions {
    validate_as_new: false,
};

fn record_named(name: &str, namespace: Option<&str>) -> String {
    let ns = namespace.map_or(String::new(), |n| format!(r#","namespace":"{n}""#));
    format!(r#"{{"type":"record","name":"{name}"{ns},"fields":[{{"name":"a","type":"int"}}]}}"#)
}

#[test]
fn non_ascii_names_are_rejected_in_new_schemas_and_kept_in_stored_ones() {
    let cases = [
        (
            "a non-ASCII record name",
            record_named("été", None),
            "Illegal initial character: été",
        ),
        (
            "a non-ASCII namespace part",
            record_named("R", Some("com.été")),
            r#"Namespace part "été" is invalid: Illegal initial character: été"#,
        ),
        (
            "a namespace with a dash",
            record_named("R", Some("foo-bar-baz")),
            r#"Namespace part "foo-bar-baz" is invalid: Illegal character in: foo-bar-baz"#,
        ),
        (
            "a dotted name with a dash in its namespace",
            record_named("a-b.R", None),
            r#"Namespace part "a-b" is invalid: Illegal character in: a-b"#,
        ),
        (
            "a non-ASCII field name",
            r#"{"type":"record","name":"R","fields":[{"name":"prénom","type":"string"}]}"#
                .to_string(),
            "Illegal character in: prénom",
        ),
        (
            "a non-ASCII enum symbol",
            r#"{"type":"enum","name":"E","symbols":["Ä"]}"#.to_string(),
            "Illegal initial character: Ä",
        ),
        (
            "a non-ASCII alias",
            r#"{"type":"record","name":"R","aliases":["Ré"],"fields":[]}"#.to_string(),
            "Illegal character in: Ré",
        ),
    ];
    for (description, text, reason) in cases {
        assert_eq!(
            rejection(&text, ParseOptions::default()),
            reason,
            "{description}: {text}"
        );
        if let Err(e) = AvroSchema::parse(&text, &[], STORED) {
            panic!("{description}: a stored schema still loads: {e}");
        }
    }
}

#[test]
fn ascii_names_and_namespaces_stay_valid() {
    avro(&record_named("_R1", Some("com.acme_2.v1")));
    avro(r#"{"type":"enum","name":"E","namespace":"","symbols":["A_1","_b"]}"#);
}

const BACK_REFERENCE: &str = r#"{"type":"record","name":"R1","fields":[{"name":"f4","type":{"type":"record","name":"R3","namespace":"com.acme.v2","fields":[{"name":"children","type":{"type":"array","items":"R1"}}]}}]}"#;

#[test]
fn a_record_is_named_only_once_its_fields_are_parsed() {
    assert_eq!(
        rejection(BACK_REFERENCE, ParseOptions::default()),
        "Undefined schema: com.acme.v2.R1"
    );
    // The same as a field type of its own.
    let as_field = r#"{"type":"record","name":"R1","fields":[{"name":"f4","type":{"type":"record","name":"R3","namespace":"com.acme.v2","fields":[{"name":"parent","type":["null","R1"]}]}}]}"#;
    assert_eq!(
        rejection(as_field, ParseOptions::default()),
        "Undefined schema: com.acme.v2.R1"
    );
    // Stored schemas keep loading.
    let stored = AvroSchema::parse(BACK_REFERENCE, &[], STORED).expect("a stored schema loads");
    assert_eq!(stored.canonical(), BACK_REFERENCE);
}

#[test]
fn records_still_refer_to_themselves_and_to_enclosing_records_by_full_name() {
    // Recursion by the short name in the same namespace.
    avro(
        r#"{"type":"record","name":"Node","namespace":"n","fields":[{"name":"next","type":["null","Node"]}]}"#,
    );
    // An enclosing record reached from a nested namespace by its full name.
    avro(
        r#"{"type":"record","name":"R1","namespace":"a","fields":[{"name":"f","type":{"type":"record","name":"R3","namespace":"b","fields":[{"name":"up","type":["null","a.R1"]}]}}]}"#,
    );
    // The nested namespace's short name of an enclosing record that lives in it.
    avro(
        r#"{"type":"record","name":"R1","namespace":"b","fields":[{"name":"f","type":{"type":"record","name":"R3","fields":[{"name":"up","type":{"type":"array","items":"R1"}}]}}]}"#,
    );
    // `{"type": "Name"}` to the record itself.
    avro(r#"{"type":"record","name":"T","fields":[{"name":"self","type":["null",{"type":"T"}]}]}"#);
}
