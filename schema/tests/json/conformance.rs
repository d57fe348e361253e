//! Confluent's `diff-schema-examples.json` and `diff-combined-schema-examples.json`
//! (shared/conformance, present in CI): same compatibility verdict (STRICT, and LENIENT where
//! the case gives one) and the same change list, compared as a multiset.

use std::path::PathBuf;

use serde_json::Value;
use strata_schema::json::{self, JsonSchema};
use strata_schema::{CompatibilityPolicy, FormatSchema, ParseOptions};

fn vectors(file: &str) -> Option<Vec<Value>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/confluent/json-schema")
        .join(file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "note: {} is absent; skipping (it is present in CI)",
            path.display()
        );
        return None;
    };
    let cases: Vec<Value> = serde_json::from_str(&text).expect("vector file is a JSON array");
    Some(cases)
}

fn parse(value: &Value, description: &str) -> JsonSchema {
    JsonSchema::parse(&value.to_string(), &[], ParseOptions::default())
        .unwrap_or_else(|e| panic!("{description}: schema does not parse: {e}"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Run every case of `file`; return how many ran.
fn run(file: &str) -> usize {
    let Some(cases) = vectors(file) else { return 0 };
    let mut failures = Vec::new();
    for case in &cases {
        let description = case["description"].as_str().unwrap_or("?");
        let original = parse(&case["original_schema"], description);
        let update = parse(&case["update_schema"], description);
        let expected: Vec<String> = case["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| c.as_str().expect("change").to_string())
            .collect();
        let differences = json::diff(&original, &update);
        let actual: Vec<String> = differences.iter().map(ToString::to_string).collect();
        if sorted(actual.clone()) != sorted(expected.clone()) {
            failures.push(format!(
                "{description}: changes {actual:?}, expected {expected:?}"
            ));
        }
        let compatible = case["compatible"].as_bool().expect("compatible");
        let strict = update
            .backward_differences(&original, CompatibilityPolicy::Strict)
            .is_empty();
        if strict != compatible {
            failures.push(format!(
                "{description}: STRICT compatible = {strict}, expected {compatible}"
            ));
        }
        let expected_lenient = case
            .get("compatible_lenient")
            .and_then(Value::as_bool)
            .unwrap_or(compatible);
        let lenient = update
            .backward_differences(&original, CompatibilityPolicy::Lenient)
            .is_empty();
        if lenient != expected_lenient {
            failures.push(format!(
                "{description}: LENIENT compatible = {lenient}, expected {expected_lenient}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn confluent_diff_schema_examples_all_pass() {
    let n = run("diff-schema-examples.json");
    eprintln!("{n} cases of diff-schema-examples.json passed");
}

#[test]
fn confluent_diff_combined_schema_examples_all_pass() {
    let n = run("diff-combined-schema-examples.json");
    eprintln!("{n} cases of diff-combined-schema-examples.json passed");
}
