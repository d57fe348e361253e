//! Wide schemas (issue 14): a record of tens of thousands of fields or an enum of a hundred
//! thousand symbols parses in time linear in its size. The duplicate checks used to compare each
//! name with every earlier one (a 50k-field record took 7 s, a 100k-symbol enum 17 s).
//!
//! Measured as a ratio in one process, not against a clock: four times the names must cost well
//! under the sixteen times a quadratic check would.

use std::time::{Duration, Instant};

use crate::{avro, rejection};
use strata_schema::ParseOptions;

fn record_of(n: usize) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"name":"f{i}","type":"int"}}"#))
        .collect();
    format!(
        r#"{{"type":"record","name":"R","fields":[{}]}}"#,
        fields.join(",")
    )
}

fn enum_of(n: usize) -> String {
    let symbols: Vec<String> = (0..n).map(|i| format!(r#""S{i}""#)).collect();
    format!(
        r#"{{"type":"enum","name":"E","symbols":[{}]}}"#,
        symbols.join(",")
    )
}

/// The fastest of three parses of `text`.
fn best_parse_time(text: &str) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            avro(text);
            start.elapsed()
        })
        .min()
        .expect("three runs")
}

fn assert_linear(what: &str, make: fn(usize) -> String) {
    let small = best_parse_time(&make(12_500));
    let large = best_parse_time(&make(50_000));
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
    eprintln!("{what}: {small:?} then {large:?}, ratio {ratio:.1}");
    assert!(
        ratio < 9.0,
        "{what}: 4x the names took {ratio:.1}x the time ({small:?} then {large:?}); a linear parse is about 4x"
    );
}

#[test]
fn a_record_of_many_fields_parses_in_time_linear_in_its_fields() {
    assert_linear("record", record_of);
}

#[test]
fn an_enum_of_many_symbols_parses_in_time_linear_in_its_symbols() {
    assert_linear("enum", enum_of);
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

/// The fastest of three BACKWARD checks of a record against its reversed self.
fn best_reordered_check_time(n: usize) -> Duration {
    use strata_schema::{
        check_compatibility, CompatibilityLevel, CompatibilityPolicy, ParsedSchema, SchemaType,
    };
    let parse = |text: &str| {
        ParsedSchema::parse(SchemaType::Avro, text, &[], ParseOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (new, old) = (parse(&record_of(n)), parse(&reversed_record_of(n)));
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let r = check_compatibility(
                CompatibilityLevel::Backward,
                CompatibilityPolicy::Strict,
                &new,
                &[(1, &old)],
            );
            let elapsed = start.elapsed();
            assert!(r.is_compatible, "reordered fields match by name: {r:?}");
            elapsed
        })
        .min()
        .expect("three runs")
}

#[test]
fn a_record_with_reordered_fields_is_checked_in_time_linear_in_its_fields() {
    // Fields away from their position are found through a name index built once per record,
    // not by a scan of the writer's fields for each reader field.
    let small = best_reordered_check_time(4_000);
    let large = best_reordered_check_time(16_000);
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
    eprintln!("reordered record check: {small:?} then {large:?}, ratio {ratio:.1}");
    assert!(
        ratio < 9.0,
        "4x the fields took {ratio:.1}x the time ({small:?} then {large:?}); a linear check is about 4x"
    );
}
