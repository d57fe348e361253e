//! Wide schemas (issue 14): a record of tens of thousands of fields or an enum of a hundred
//! thousand symbols parses, and a duplicate among them is still found and named. The duplicate
//! checks used to compare each name with every earlier one (a 50k-field record took 7 s, a
//! 100k-symbol enum 17 s).
//!
//! How long these take is measured by `cargo bench -p strata-schema --bench hostile_sizes`
//! (group `parse_wide`: 12.5k against 50k fields, 25k against 100k symbols; a linear parse of
//! four times the names takes about four times as long). A timed test here flaked on the
//! shared machine, so these tests check only what a clock cannot disturb.

use crate::{avro, rejection};
use strata_schema::{FormatSchema, ParseOptions};

fn record_of(n: usize) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"name":"f{i}","type":"int"}}"#))
        .collect();
    format!(
        r#"{{"type":"record","name":"R","fields":[{}]}}"#,
        fields.join(",")
    )
}

fn enum_of(symbols: impl Iterator<Item = String>) -> String {
    let symbols: Vec<String> = symbols.map(|s| format!(r#""{s}""#)).collect();
    format!(
        r#"{{"type":"enum","name":"E","symbols":[{}]}}"#,
        symbols.join(",")
    )
}

#[test]
fn a_record_of_fifty_thousand_fields_parses_and_a_duplicate_at_its_end_is_named() {
    let wide = avro(&record_of(50_000));
    assert!(wide
        .canonical()
        .contains(r#"{"name":"f49999","type":"int"}"#));
    let mut text = record_of(50_000);
    text.truncate(text.len() - 2);
    text.push_str(r#",{"name":"f0","type":"string"}]}"#);
    assert_eq!(
        rejection(&text, ParseOptions::default()),
        "Duplicate field f0 in record R: f0 type:STRING pos:50000 and f0 type:INT pos:0."
    );
}

#[test]
fn an_enum_of_a_hundred_thousand_symbols_parses_and_a_duplicate_at_its_end_is_named() {
    let wide = avro(&enum_of((0..100_000).map(|i| format!("S{i}"))));
    assert!(wide.canonical().contains(r#""S99999"]"#));
    let text = enum_of(
        (0..100_000)
            .map(|i| format!("S{i}"))
            .chain(["S0".to_string()]),
    );
    assert_eq!(
        rejection(&text, ParseOptions::default()),
        "Duplicate enum symbol: S0"
    );
}

#[test]
fn duplicate_fields_and_symbols_are_still_named_with_their_positions() {
    let record = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"},{"name":"a","type":"string"}]}"#;
    assert_eq!(
        rejection(record, ParseOptions::default()),
        "Duplicate field a in record R: a type:STRING pos:2 and a type:INT pos:0."
    );
    let symbols = r#"{"type":"enum","name":"E","symbols":["A","B","A"]}"#;
    assert_eq!(
        rejection(symbols, ParseOptions::default()),
        "Duplicate enum symbol: A"
    );
}

/// The same record with its fields in reverse order (every field away from its position).
fn reversed_record_of(n: usize) -> String {
    let fields: Vec<String> = (0..n)
        .rev()
        .map(|i| format!(r#"{{"name":"f{i}","type":"int"}}"#))
        .collect();
    format!(
        r#"{{"type":"record","name":"R","fields":[{}]}}"#,
        fields.join(",")
    )
}

#[test]
fn a_record_with_every_field_reordered_matches_its_fields_by_name() {
    // Fields away from their position are found through a name index built once per record
    // (how long that takes for 4k against 16k fields: group `reordered_fields` of the
    // `hostile_sizes` bench).
    use strata_schema::{
        check_compatibility, CompatibilityLevel, CompatibilityPolicy, ParsedSchema, SchemaType,
    };
    let parse = |text: &str| {
        ParsedSchema::parse(SchemaType::Avro, text, &[], ParseOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let new = parse(&record_of(16_000));
    let old = parse(&reversed_record_of(16_000));
    let r = check_compatibility(
        CompatibilityLevel::Full,
        CompatibilityPolicy::Strict,
        &new,
        &[(1, &old)],
    );
    assert!(r.is_compatible, "reordered fields match by name: {r:?}");
    let mut fewer = reversed_record_of(16_000);
    fewer = fewer.replacen(r#"{"name":"f15999","type":"int"},"#, "", 1);
    let fewer = parse(&fewer);
    let r = check_compatibility(
        CompatibilityLevel::Forward,
        CompatibilityPolicy::Strict,
        &new,
        &[(1, &fewer)],
    );
    assert!(
        r.is_compatible,
        "a reader without f15999 reads the new record: {r:?}"
    );
    let r = check_compatibility(
        CompatibilityLevel::Backward,
        CompatibilityPolicy::Strict,
        &new,
        &[(1, &fewer)],
    );
    assert!(
        !r.is_compatible,
        "f15999 has no default, so new readers cannot read old data: {r:?}"
    );
}
