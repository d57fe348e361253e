//! Applying levels across a subject's history and Confluent's message list
//! (`SchemaValidatorBuilder`, `KafkaSchemaRegistry.isCompatibleWithPrevious`).

use strata_schema::{
    check_compatibility, CompatibilityLevel, CompatibilityPolicy, ParseOptions, ParsedSchema,
    SchemaType,
};

fn parsed(text: &str) -> ParsedSchema {
    ParsedSchema::parse(SchemaType::Avro, text, &[], ParseOptions::default())
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

const V_A: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#;
const V_AB: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}"#;
const V_AB_DEFAULT: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int","default":0}]}"#;

const MISSING_B_NEW: &str = "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'b' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'b'}";
const MISSING_B_OLD: &str = "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'b' at path '/fields/1' in the old schema has no default value and is missing in the new schema', additionalInfo:'b'}";

fn check(level: CompatibilityLevel, new: &str, previous: &[(i32, &str)]) -> (bool, Vec<String>) {
    let new = parsed(new);
    let olds: Vec<(i32, ParsedSchema)> = previous.iter().map(|(v, t)| (*v, parsed(t))).collect();
    let refs: Vec<(i32, &ParsedSchema)> = olds.iter().map(|(v, s)| (*v, s)).collect();
    let r = check_compatibility(level, CompatibilityPolicy::Strict, &new, &refs);
    (r.is_compatible, r.messages)
}

#[test]
fn backward_failure_lists_differences_then_old_version_schema_and_config() {
    let (ok, messages) = check(CompatibilityLevel::Backward, V_AB, &[(1, V_A)]);
    assert!(!ok);
    assert_eq!(
        messages,
        vec![
            MISSING_B_NEW.to_string(),
            "{oldSchemaVersion: 1}".to_string(),
            format!("{{oldSchema: '{V_A}'}}"),
            "{validateFields: 'false', compatibility: 'BACKWARD'}".to_string(),
        ]
    );
}

#[test]
fn forward_checks_that_the_old_schema_reads_the_new_with_roles_swapped() {
    let (ok, messages) = check(CompatibilityLevel::Forward, V_A, &[(4, V_AB)]);
    assert!(!ok);
    assert_eq!(
        messages,
        vec![
            MISSING_B_OLD.to_string(),
            "{oldSchemaVersion: 4}".to_string(),
            format!("{{oldSchema: '{V_AB}'}}"),
            "{validateFields: 'false', compatibility: 'FORWARD'}".to_string(),
        ]
    );
}

#[test]
fn full_with_only_a_forward_failure_does_not_append_the_old_schema() {
    // Confluent's mutualReadStrategy appends the old schema only after the backward messages.
    let (ok, messages) = check(CompatibilityLevel::Full, V_A, &[(2, V_AB)]);
    assert!(!ok);
    assert_eq!(
        messages,
        vec![
            MISSING_B_OLD.to_string(),
            "{validateFields: 'false', compatibility: 'FULL'}".to_string(),
        ]
    );
}

#[test]
fn full_lists_forward_messages_before_backward_ones() {
    let old = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}"#;
    let new = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"c","type":"int"}]}"#;
    let (ok, messages) = check(CompatibilityLevel::Full, new, &[(1, old)]);
    assert!(!ok);
    assert_eq!(
        messages,
        vec![
            MISSING_B_OLD.to_string(),
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'c' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'c'}".to_string(),
            "{oldSchemaVersion: 1}".to_string(),
            format!("{{oldSchema: '{old}'}}"),
            "{validateFields: 'false', compatibility: 'FULL'}".to_string(),
        ]
    );
}

#[test]
fn transitive_levels_stop_at_the_newest_failing_version() {
    let (ok, messages) = check(
        CompatibilityLevel::BackwardTransitive,
        V_AB,
        &[(3, V_AB_DEFAULT), (2, V_A), (1, V_A)],
    );
    assert!(!ok);
    assert_eq!(messages[0], MISSING_B_NEW);
    assert_eq!(messages[1], "{oldSchemaVersion: 2}");
    assert_eq!(messages.len(), 4);
    assert_eq!(
        messages[3],
        "{validateFields: 'false', compatibility: 'BACKWARD_TRANSITIVE'}"
    );
}

#[test]
fn non_transitive_levels_compare_only_the_latest_version() {
    let (ok, messages) = check(
        CompatibilityLevel::Backward,
        V_AB,
        &[(3, V_AB_DEFAULT), (2, V_A)],
    );
    assert!(ok, "{messages:?}");
    assert!(messages.is_empty());
}

#[test]
fn none_and_empty_histories_are_always_compatible() {
    assert!(check(CompatibilityLevel::None, V_AB, &[(1, V_A)]).0);
    assert!(check(CompatibilityLevel::FullTransitive, V_AB, &[]).0);
}

#[test]
fn a_long_old_schema_is_truncated_in_the_message() {
    let doc = "x".repeat(11_000);
    let old = format!(
        r#"{{"type":"record","name":"R","doc":"{doc}","fields":[{{"name":"a","type":"int"}}]}}"#
    );
    let (ok, messages) = check(CompatibilityLevel::Backward, V_AB, &[(1, &old)]);
    assert!(!ok);
    let expected_head: String = old.chars().take(10 * 1024).collect();
    assert_eq!(
        messages[2],
        format!("{{oldSchema: <truncated> '{expected_head}...'}}")
    );
}

#[test]
fn a_version_of_another_schema_type_gets_confluents_single_message() {
    let proto = "syntax = \"proto3\";\nmessage M {\n  string a = 1;\n}\n";
    let Ok(old) = ParsedSchema::parse(SchemaType::Protobuf, proto, &[], ParseOptions::default())
    else {
        println!("skipping: Protobuf parsing is not available in this build");
        return;
    };
    let new = parsed(V_A);
    let r = check_compatibility(
        CompatibilityLevel::Backward,
        CompatibilityPolicy::Strict,
        &new,
        &[(1, &old)],
    );
    assert!(!r.is_compatible);
    assert_eq!(
        r.messages,
        vec![
            "Incompatible because of different schema type".to_string(),
            "{validateFields: 'false', compatibility: 'BACKWARD'}".to_string(),
        ]
    );
}
