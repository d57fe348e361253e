//! Our own cases: 2019-09/2020-12 keywords, invalid schemas, references, recursion,
//! normalisation, messages, payload validation and the registry-level check.

use serde_json::json;
use strata_schema::json::{self, Draft, JsonSchema};
use strata_schema::{
    check_compatibility, CompatibilityLevel, CompatibilityPolicy, Dependency, Error, FormatSchema,
    ParseOptions, ParsedSchema, SchemaType,
};

fn parse(v: serde_json::Value) -> JsonSchema {
    parse_with(v, &[])
}

fn parse_with(v: serde_json::Value, deps: &[Dependency]) -> JsonSchema {
    JsonSchema::parse(&v.to_string(), deps, ParseOptions::default())
        .unwrap_or_else(|e| panic!("schema {v} does not parse: {e}"))
}

fn dep(name: &str, schema: serde_json::Value) -> Dependency {
    Dependency {
        name: name.into(),
        subject: name.into(),
        version: 1,
        schema_type: SchemaType::Json,
        schema: schema.to_string(),
        dependencies: vec![],
    }
}

fn changes(original: &JsonSchema, update: &JsonSchema) -> Vec<String> {
    let mut v: Vec<String> = json::diff(original, update)
        .iter()
        .map(ToString::to_string)
        .collect();
    v.sort();
    v
}

fn compatible(original: &JsonSchema, update: &JsonSchema, policy: CompatibilityPolicy) -> bool {
    update.backward_differences(original, policy).is_empty()
}

const S2020: &str = "https://json-schema.org/draft/2020-12/schema";
const S2019: &str = "https://json-schema.org/draft/2019-09/schema";

// ---- 2019-09 / 2020-12 keywords -------------------------------------------------------

/// (description, original, update, expected changes, compatible under STRICT)
fn keyword_cases() -> Vec<(
    &'static str,
    serde_json::Value,
    serde_json::Value,
    Vec<&'static str>,
    bool,
)> {
    vec![
        (
            "prefixItems: a tuple item changing type is incompatible (everit's path, as Confluent reports it)",
            json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}]}),
            json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "integer"}]}),
            vec!["TYPE_CHANGED #/items/0"],
            false,
        ),
        (
            "prefixItems: an item added to a closed tuple (items: false) is compatible",
            json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}], "items": false}),
            json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}], "items": false}),
            vec!["ITEM_ADDED_TO_CLOSED_CONTENT_MODEL #/items/1"],
            true,
        ),
        (
            "prefixItems: an item added to an open tuple is incompatible",
            json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}]}),
            json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]}),
            vec!["ITEM_ADDED_TO_OPEN_CONTENT_MODEL #/items/1"],
            false,
        ),
        (
            "prefixItems: an item removed and covered by items is compatible",
            json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}], "items": {"type": "string"}}),
            json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "string"}}),
            vec!["ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/1"],
            true,
        ),
        (
            "2020-12 items without prefixItems is the schema of every item",
            json!({"$schema": S2020, "type": "array", "items": {"type": "integer"}}),
            json!({"$schema": S2020, "type": "array", "items": {"type": "number"}}),
            vec!["TYPE_EXTENDED #/items"],
            true,
        ),
        (
            "unevaluatedProperties false closes the content model: optional property added",
            json!({"$schema": S2019, "type": "object", "properties": {"a": {"type": "string"}}, "unevaluatedProperties": false}),
            json!({"$schema": S2019, "type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "unevaluatedProperties": false}),
            vec!["OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/b"],
            true,
        ),
        (
            "unevaluatedProperties false then removed opens the model",
            json!({"$schema": S2020, "type": "object", "unevaluatedProperties": false}),
            json!({"$schema": S2020, "type": "object"}),
            vec!["UNEVALUATED_PROPERTIES_ADDED #/unevaluatedProperties"],
            true,
        ),
        (
            "unevaluatedProperties added as false is incompatible",
            json!({"$schema": S2020, "type": "object"}),
            json!({"$schema": S2020, "type": "object", "unevaluatedProperties": false}),
            vec!["UNEVALUATED_PROPERTIES_REMOVED #/unevaluatedProperties"],
            false,
        ),
        (
            "unevaluatedProperties schema covers a removed property",
            json!({"$schema": S2020, "type": "object", "properties": {"a": {"type": "string"}}, "unevaluatedProperties": false}),
            json!({"$schema": S2020, "type": "object", "unevaluatedProperties": {"type": "string"}}),
            vec![
                "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/a",
                "UNEVALUATED_PROPERTIES_ADDED #/unevaluatedProperties",
            ],
            true,
        ),
        (
            "dependentRequired added is incompatible",
            json!({"$schema": S2019, "type": "object", "properties": {"a": {}, "b": {}}}),
            json!({"$schema": S2019, "type": "object", "properties": {"a": {}, "b": {}}, "dependentRequired": {"a": ["b"]}}),
            vec!["DEPENDENCY_ARRAY_ADDED #/dependentRequired/a"],
            false,
        ),
        (
            "dependentRequired narrowed is compatible",
            json!({"$schema": S2019, "type": "object", "dependentRequired": {"a": ["b", "c"]}}),
            json!({"$schema": S2019, "type": "object", "dependentRequired": {"a": ["b"]}}),
            vec!["DEPENDENCY_ARRAY_NARROWED #/dependentRequired/a"],
            true,
        ),
        (
            "dependentSchemas removed is compatible",
            json!({"$schema": S2020, "type": "object", "dependentSchemas": {"a": {"required": ["b"]}}}),
            json!({"$schema": S2020, "type": "object"}),
            vec!["DEPENDENCY_SCHEMA_REMOVED #/dependentSchemas/a"],
            true,
        ),
        (
            "dependentSchemas changed type is incompatible",
            json!({"$schema": S2020, "type": "object", "dependentSchemas": {"a": {"type": "object"}}}),
            json!({"$schema": S2020, "type": "object", "dependentSchemas": {"a": {"type": "array"}}}),
            vec!["TYPE_CHANGED #/dependentSchemas/a"],
            false,
        ),
        (
            "$defs references are followed",
            json!({"$schema": S2020, "type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {"A": {"type": "string", "maxLength": 5}}}),
            json!({"$schema": S2020, "type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {"A": {"type": "string", "maxLength": 3}}}),
            vec!["MAX_LENGTH_DECREASED #/properties/a/maxLength"],
            false,
        ),
        (
            "$anchor references are followed",
            json!({"$schema": S2020, "properties": {"a": {"$ref": "#num"}}, "$defs": {"N": {"$anchor": "num", "type": "integer"}}}),
            json!({"$schema": S2020, "properties": {"a": {"$ref": "#num"}}, "$defs": {"N": {"$anchor": "num", "type": "number"}}}),
            vec!["TYPE_EXTENDED #/properties/a"],
            true,
        ),
        (
            "minContains raised is incompatible, maxContains removed is compatible",
            json!({"$schema": S2020, "type": "array", "contains": {"type": "string"}, "minContains": 1, "maxContains": 3}),
            json!({"$schema": S2020, "type": "array", "contains": {"type": "string"}, "minContains": 2}),
            vec!["MAX_CONTAINS_REMOVED #/maxContains", "MIN_CONTAINS_INCREASED #/minContains"],
            false,
        ),
        (
            "required property with default added to an open model is still incompatible under STRICT",
            json!({"type": "object", "properties": {"a": {"type": "string"}}}),
            json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string", "default": "x"}}, "required": ["b"]}),
            vec!["REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL #/properties/b"],
            false,
        ),
        (
            "draft 4 uses id, and exclusiveMaximum flags are not compared",
            json!({"$schema": "http://json-schema.org/draft-04/schema#", "id": "a", "type": "number", "maximum": 5, "exclusiveMaximum": true}),
            json!({"$schema": "http://json-schema.org/draft-04/schema#", "id": "b", "type": "number", "maximum": 6, "exclusiveMaximum": true}),
            vec!["ID_CHANGED #/", "MAXIMUM_INCREASED #/maximum"],
            true,
        ),
        (
            "connect.type bytes on both sides is the same type",
            json!({"type": "string", "connect.type": "bytes"}),
            json!({"type": "number", "connect.type": "bytes"}),
            vec![],
            true,
        ),
        (
            "a nullable type list gaining null is compatible",
            json!({"type": "string"}),
            json!({"type": ["string", "null"]}),
            vec!["SUM_TYPE_EXTENDED #/"],
            true,
        ),
    ]
}

#[test]
fn draft_2019_and_2020_keywords_are_compared_like_their_older_counterparts() {
    let mut failures = Vec::new();
    for (description, original, update, expected, strict) in keyword_cases() {
        let (o, u) = (parse(original), parse(update));
        let mut expected: Vec<String> = expected.into_iter().map(String::from).collect();
        expected.sort();
        let actual = changes(&o, &u);
        if actual != expected {
            failures.push(format!("{description}: {actual:?}, expected {expected:?}"));
        }
        if compatible(&o, &u, CompatibilityPolicy::Strict) != strict {
            failures.push(format!("{description}: STRICT verdict is not {strict}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lenient_accepts_optional_and_defaulted_properties_added_to_open_models() {
    let o = parse(json!({"type": "object", "properties": {"a": {"type": "string"}}}));
    let optional = parse(
        json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}),
    );
    let defaulted = parse(
        json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer", "default": 0}}, "required": ["b"]}),
    );
    let required = parse(
        json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["b"]}),
    );
    for (what, u, lenient) in [
        ("optional", &optional, true),
        ("defaulted", &defaulted, true),
        ("required", &required, false),
    ] {
        assert!(
            !compatible(&o, u, CompatibilityPolicy::Strict),
            "{what}: STRICT must refuse"
        );
        assert_eq!(
            compatible(&o, u, CompatibilityPolicy::Lenient),
            lenient,
            "{what}: LENIENT"
        );
    }
    let closed = parse(
        json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {}}, "additionalProperties": false}),
    );
    let removed = parse(
        json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false}),
    );
    assert!(!compatible(&closed, &removed, CompatibilityPolicy::Strict));
    assert!(compatible(&closed, &removed, CompatibilityPolicy::Lenient));
}

// ---- drafts and invalid schemas -------------------------------------------------------

#[test]
fn draft_is_detected_from_dollar_schema_and_defaults_to_7() {
    assert_eq!(parse(json!({"$schema": S2020})).draft(), Draft::Draft202012);
    assert_eq!(parse(json!({"$schema": S2019})).draft(), Draft::Draft201909);
    assert_eq!(
        parse(json!({"$schema": "http://json-schema.org/draft-06/schema#"})).draft(),
        Draft::Draft6
    );
    assert_eq!(
        parse(json!({"$schema": "http://json-schema.org/draft-04/schema#"})).draft(),
        Draft::Draft4
    );
    assert_eq!(parse(json!({"type": "string"})).draft(), Draft::Draft7);
}

#[test]
fn invalid_schemas_are_rejected_with_a_reason() {
    let cases = [
        ("not JSON", "{\"type\": "),
        ("a number", "5"),
        ("an array", "[]"),
        ("type is a number", r#"{"type": 5}"#),
        ("unknown type name", r#"{"type": "str"}"#),
        ("required is a string", r#"{"required": "x"}"#),
        ("properties is an array", r#"{"properties": []}"#),
        (
            "minLength is negative",
            r#"{"type": "string", "minLength": -1}"#,
        ),
        (
            "a property schema is a string",
            r#"{"properties": {"a": "string"}}"#,
        ),
        (
            "$ref to a missing definition",
            r##"{"properties": {"a": {"$ref": "#/definitions/missing"}}}"##,
        ),
        (
            "$ref to an unknown document",
            r#"{"properties": {"a": {"$ref": "other.json"}}}"#,
        ),
        ("$ref is not a string", r#"{"$ref": 5}"#),
        (
            "2020-12 prefixItems is not an array",
            r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "prefixItems": {}}"#,
        ),
    ];
    for (what, text) in cases {
        match JsonSchema::parse(text, &[], ParseOptions::default()) {
            Err(Error::Invalid {
                schema_type,
                reason,
            }) => {
                assert_eq!(schema_type, SchemaType::Json, "{what}");
                assert!(!reason.is_empty(), "{what}: empty reason");
            }
            other => panic!("{what}: expected Error::Invalid, got {other:?}"),
        }
    }
}

#[test]
fn boolean_schemas_are_valid() {
    let t = parse(json!(true));
    let f = parse(json!(false));
    assert!(t.validate(&json!(1)).is_ok());
    assert!(f.validate(&json!(1)).is_err());
    // Anything can become `true`; `false` can become anything.
    assert!(compatible(
        &parse(json!({"type": "string"})),
        &t,
        CompatibilityPolicy::Strict
    ));
    assert!(compatible(
        &f,
        &parse(json!({"type": "string"})),
        CompatibilityPolicy::Strict
    ));
}

// ---- references --------------------------------------------------------------------------

fn customer(kind: &str) -> serde_json::Value {
    json!({"$id": "customer.json", "type": "object", "properties": {"id": {"type": kind}}})
}

#[test]
fn references_to_other_subjects_resolve_and_are_compared() {
    let root = json!({"type": "object", "properties": {"customer": {"$ref": "customer.json"}}});
    let old = parse_with(root.clone(), &[dep("customer.json", customer("integer"))]);
    let wider = parse_with(root.clone(), &[dep("customer.json", customer("number"))]);
    let other = parse_with(root.clone(), &[dep("customer.json", customer("string"))]);
    assert_eq!(
        changes(&old, &wider),
        vec!["TYPE_EXTENDED #/properties/customer/properties/id"]
    );
    assert!(compatible(&old, &wider, CompatibilityPolicy::Strict));
    assert!(!compatible(&old, &other, CompatibilityPolicy::Strict));

    assert!(old.validate(&json!({"customer": {"id": 3}})).is_ok());
    let errors = old.validate(&json!({"customer": {"id": "x"}})).unwrap_err();
    assert!(!errors.is_empty());
}

#[test]
fn references_resolve_against_the_root_id_and_transitively() {
    let address = json!({"type": "object", "properties": {"zip": {"type": "string"}}});
    let mut customer_dep = dep(
        "https://example.com/schemas/customer.json",
        json!({"type": "object", "properties": {"address": {"$ref": "address.json"}}}),
    );
    customer_dep.dependencies.push(dep("address.json", address));
    let root = json!({
        "$id": "https://example.com/schemas/order.json",
        "type": "object",
        "properties": {"customer": {"$ref": "customer.json#"}}
    });
    let schema = parse_with(root, &[customer_dep]);
    assert!(schema
        .validate(&json!({"customer": {"address": {"zip": "1000"}}}))
        .is_ok());
    assert!(schema
        .validate(&json!({"customer": {"address": {"zip": 1000}}}))
        .is_err());
}

#[test]
fn a_missing_reference_is_an_invalid_schema() {
    let err = JsonSchema::parse(
        &json!({"properties": {"c": {"$ref": "customer.json"}}}).to_string(),
        &[],
        ParseOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("customer.json"), "{err}");
}

fn recursive(id_type: &str) -> serde_json::Value {
    json!({
        "type": "object",
        "definitions": {
            "node": {
                "type": "object",
                "properties": {
                    "id": {"type": id_type},
                    "children": {"type": "array", "items": {"$ref": "#/definitions/node"}},
                    "next": {"oneOf": [{"type": "null"}, {"$ref": "#/definitions/node"}]}
                }
            }
        },
        "properties": {"root": {"$ref": "#/definitions/node"}}
    })
}

#[test]
fn recursive_references_terminate_and_still_find_changes() {
    let a = parse(recursive("string"));
    let b = parse(recursive("string"));
    assert!(json::diff(&a, &b).is_empty());
    let c = parse(recursive("integer"));
    assert!(!compatible(&a, &c, CompatibilityPolicy::Strict));
    let self_ref = parse(json!({"$ref": "#"}));
    assert!(json::diff(&self_ref, &self_ref).is_empty());
}

/// Confluent's memo-masking reproducer: T0 -> T2 -> T0 is a cycle behind singleton `oneOf`s,
/// the root is `oneOf[T0, T1]`, and the real changes are T0.id and T1.id.
fn memo_masking(t0: &str, t1: &str) -> serde_json::Value {
    let object = |id: &str, target: &str| {
        json!({"type": "object", "additionalProperties": true, "properties": {
            "id": {"type": id},
            "ref": {"oneOf": [{"$ref": format!("#/definitions/{target}")}]}
        }})
    };
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": true,
        "definitions": {"T0": object(t0, "T2"), "T1": object(t1, "T2"), "T2": object("integer", "T0")},
        "properties": {"root": {"oneOf": [{"$ref": "#/definitions/T0"}, {"$ref": "#/definitions/T1"}]}}
    })
}

#[test]
fn recursive_union_incompatibility_is_not_masked_by_memoisation() {
    let original = parse(memo_masking("integer", "boolean"));
    let update = parse(memo_masking("boolean", "number"));
    assert!(!compatible(&original, &update, CompatibilityPolicy::Strict));
}

#[test]
fn wide_recursive_unions_compare_each_pair_of_subschemas_once() {
    let types = [
        "Asset", "Basket", "Swap", "Bond", "Option", "Future", "Forward", "Loan", "Repo", "Equity",
        "Index", "Leg",
    ];
    let union = || json!({"oneOf": types.iter().map(|t| json!({"$ref": format!("#/definitions/{t}")})).collect::<Vec<_>>()});
    let mut definitions = serde_json::Map::new();
    for t in types {
        definitions.insert(
            t.into(),
            json!({"type": "object", "properties": {
                "id": {"type": "string"}, "underlying": union(), "referenceProduct": union()
            }}),
        );
    }
    let schema =
        json!({"type": "object", "definitions": definitions, "properties": {"product": union()}});
    let (a, b) = (parse(schema.clone()), parse(schema));
    // The work is counted, not timed: with each pair of subschemas compared once, this takes
    // 42,051 pair comparisons (201 for 3 types, 2,739 for 6); without the memo the
    // comparisons of nested unions multiply and run past the budget. The time is measured by
    // the benches, not here.
    let found = strata_schema::limits::with_max_compared_pairs(100_000, || {
        b.backward_differences(&a, CompatibilityPolicy::Strict)
    });
    assert!(found.is_empty(), "{found:?}");
    assert!(json::diff(&a, &b).is_empty());
}

// ---- canonical, normalize, record name, messages ------------------------------------------

#[test]
fn canonical_is_compact_json_in_the_original_key_order() {
    let s = JsonSchema::parse(
        "{ \"type\" : \"object\",\n \"title\": \"T\", \"a\": 1.0 }",
        &[],
        ParseOptions::default(),
    )
    .unwrap();
    assert_eq!(s.canonical(), r#"{"type":"object","title":"T","a":1.0}"#);
}

#[test]
fn normalize_sorts_keys_so_reordered_schemas_are_equal() {
    let a = parse(
        json!({"type": "object", "properties": {"b": {"type": "string"}, "a": {"maxLength": 2, "type": "string"}}}),
    );
    let b = parse(
        json!({"properties": {"a": {"type": "string", "maxLength": 2}, "b": {"type": "string"}}, "type": "object"}),
    );
    assert_ne!(a.canonical(), b.canonical());
    let (na, nb) = (a.normalize().unwrap(), b.normalize().unwrap());
    assert_eq!(na.canonical(), nb.canonical());
    assert_eq!(
        na.canonical(),
        r#"{"properties":{"a":{"maxLength":2,"type":"string"},"b":{"type":"string"}},"type":"object"}"#
    );
}

#[test]
fn normalize_sorts_and_dedupes_references() {
    let d1 = dep("b.json", json!({"type": "string"}));
    let d2 = dep("a.json", json!({"type": "string"}));
    let s = parse_with(
        json!({"properties": {"a": {"$ref": "a.json"}, "b": {"$ref": "b.json"}}}),
        &[d1.clone(), d2.clone(), d1],
    );
    let names: Vec<String> = s
        .normalize()
        .unwrap()
        .dependencies()
        .iter()
        .map(|d| d.name.clone())
        .collect();
    assert_eq!(names, vec!["a.json", "b.json"]);
}

#[test]
fn record_name_is_the_title() {
    assert_eq!(
        parse(json!({"title": "Order", "type": "object"}))
            .record_name()
            .as_deref(),
        Some("Order")
    );
    assert_eq!(parse(json!({"type": "object"})).record_name(), None);
}

#[test]
fn incompatibility_messages_use_confluents_rendering() {
    let o = parse(json!({"type": "number"}));
    let u = parse(json!({"type": "integer"}));
    let found = u.backward_differences(&o, CompatibilityPolicy::Strict);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, "TYPE_NARROWED");
    assert_eq!(found[0].path, "#/");
    assert_eq!(
        found[0].message,
        r#"{errorType:"TYPE_NARROWED", description:"A type at path '#/' is different between the new schema and the old schema'}"#
    );
    let open = parse(json!({"properties": {"a": {}}}));
    let added = parse(json!({"properties": {"a": {}, "dname": {"type": "string"}}}));
    let found = added.backward_differences(&open, CompatibilityPolicy::Strict);
    assert_eq!(
        found[0].message,
        r#"{errorType:"OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", description:"The new schema has an open content model and has a property or item at path '#/properties/dname' which is missing in the old schema'}"#
    );
}

#[test]
fn check_compatibility_reports_confluent_messages_for_json() {
    let v1 = ParsedSchema::Json(parse(
        json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false}),
    ));
    let v2 = ParsedSchema::Json(parse(
        json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "additionalProperties": false}),
    ));
    let v3 = ParsedSchema::Json(parse(
        json!({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": false}),
    ));
    let ok = check_compatibility(
        CompatibilityLevel::BackwardTransitive,
        CompatibilityPolicy::Strict,
        &v2,
        &[(1, &v1)],
    );
    assert!(ok.is_compatible, "{:?}", ok.messages);
    let bad = check_compatibility(
        CompatibilityLevel::BackwardTransitive,
        CompatibilityPolicy::Strict,
        &v3,
        &[(2, &v2), (1, &v1)],
    );
    assert!(!bad.is_compatible);
    assert!(
        bad.messages[0].starts_with(r#"{errorType:"TYPE_CHANGED""#),
        "{:?}",
        bad.messages
    );
    assert!(
        bad.messages.contains(&"{oldSchemaVersion: 2}".to_string()),
        "{:?}",
        bad.messages
    );
}

// ---- payload validation ---------------------------------------------------------------------

#[test]
fn payloads_are_validated_with_the_compiled_validator() {
    let s = parse(json!({
        "$schema": S2020,
        "type": "object",
        "properties": {"id": {"type": "integer"}, "tags": {"type": "array", "prefixItems": [{"type": "string"}], "items": false}},
        "required": ["id"],
        "unevaluatedProperties": false
    }));
    assert!(s.validate(&json!({"id": 1, "tags": ["a"]})).is_ok());
    let errors = s
        .validate(&json!({"tags": ["a", "b"], "extra": 1}))
        .unwrap_err();
    assert!(errors.len() >= 2, "{errors:?}");
    assert!(s.validator().is_valid(&json!({"id": 2})));
}

#[test]
fn a_schema_recursing_through_not_terminates() {
    let s = json!({"definitions": {"A": {"not": {"$ref": "#/definitions/A"}}}, "properties": {"a": {"$ref": "#/definitions/A"}}});
    let (a, b) = (parse(s.clone()), parse(s));
    let _ = json::diff(&a, &b);
}

#[test]
fn an_unknown_dollar_schema_is_read_as_draft_7() {
    let s = parse(json!({"$schema": "urn:example:custom", "type": "string", "maxLength": 2}));
    assert_eq!(s.draft(), Draft::Draft7);
    assert!(s.validate(&json!("ab")).is_ok());
    assert!(s.validate(&json!("abc")).is_err());
}

#[test]
fn references_may_point_into_a_dependency_with_a_fragment() {
    let common = json!({"definitions": {"id": {"type": "integer", "minimum": 1}}});
    let s = parse_with(
        json!({"properties": {"id": {"$ref": "common.json#/definitions/id"}}}),
        &[dep("common.json", common)],
    );
    assert!(s.validate(&json!({"id": 1})).is_ok());
    assert!(s.validate(&json!({"id": 0})).is_err());
}

#[test]
fn meta_schema_violations_say_where_and_why() {
    let err = JsonSchema::parse(
        r#"{"properties": {"a": {"type": 5}}}"#,
        &[],
        ParseOptions::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("draft-07") && text.contains("/properties/a/type"),
        "{text}"
    );
}

#[test]
fn json_schema_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JsonSchema>();
}

// ---- issue 13, item 7: Confluent reads 2019-09 and 2020-12 with json-sKema -------------------

#[test]
fn draft_2019_09_is_read_with_2020_12_rules_as_confluent_does() {
    // prefixItems counts in 2019-09: FORWARD checks the old schema against the new one.
    let old = parse(json!({"$schema": S2019, "prefixItems": [{"exclusiveMaximum": 200}]}));
    let new = parse(json!({"$schema": S2019, "prefixItems": [{}]}));
    assert_eq!(changes(&new, &old), vec!["TYPE_CHANGED #/items/0"]);
    let forward = check_compatibility(
        CompatibilityLevel::Forward,
        CompatibilityPolicy::Strict,
        &ParsedSchema::Json(new),
        &[(1, &ParsedSchema::Json(old))],
    );
    assert!(!forward.is_compatible, "{:?}", forward.messages);

    // The draft-7 tuple form is refused, as json-sKema's loader refuses it (in 2020-12 the
    // meta-schema already does).
    for (draft, says) in [
        (S2019, "expected boolean or object, found array"),
        (S2020, "is not of types \"boolean\", \"object\""),
    ] {
        let text = json!({"$schema": draft, "items": [{}]}).to_string();
        match JsonSchema::parse(&text, &[], ParseOptions::default()) {
            Err(Error::Invalid { reason, .. }) => {
                assert!(reason.contains(says), "{draft}: {reason}")
            }
            other => panic!("{draft}: an items array must be refused, got {other:?}"),
        }
    }
    // additionalItems is not a 2020-12 keyword: json-sKema leaves it unprocessed.
    let open = parse(json!({"$schema": S2019, "prefixItems": [{}]}));
    let closed = parse(json!({"$schema": S2019, "prefixItems": [{}], "additionalItems": false}));
    assert_eq!(changes(&open, &closed), Vec::<String>::new());
}

#[test]
fn items_false_without_prefix_items_closes_the_array_as_confluent_translates_it() {
    // Confluent: `items: false` becomes `additionalItems: false`, so `items: {}` adds a schema.
    let closed = parse(json!({"$schema": S2020, "items": false}));
    let open = parse(json!({"$schema": S2020, "items": {}}));
    let found = changes(&closed, &open);
    assert!(
        found.contains(&"SCHEMA_ADDED #/items".to_string()),
        "{found:?}"
    );
    assert!(!compatible(&closed, &open, CompatibilityPolicy::Strict));
    // `items: true` constrains nothing.
    let unconstrained = parse(json!({"$schema": S2020, "type": "array"}));
    let items_true = parse(json!({"$schema": S2020, "type": "array", "items": true}));
    assert_eq!(changes(&unconstrained, &items_true), Vec::<String>::new());
}

/// `(is_compatible, incompatible difference types)` of `new` against `old` at `level`.
fn verdict(
    level: CompatibilityLevel,
    old: serde_json::Value,
    new: serde_json::Value,
) -> (bool, Vec<String>) {
    let (old, new) = (
        ParsedSchema::Json(parse(old)),
        ParsedSchema::Json(parse(new)),
    );
    let result = check_compatibility(level, CompatibilityPolicy::Strict, &new, &[(1, &old)]);
    let mut kinds: Vec<String> = result
        .messages
        .iter()
        .filter_map(|m| {
            m.strip_prefix("{errorType:\"")
                .and_then(|rest| rest.split('"').next())
                .map(str::to_string)
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    (result.is_compatible, kinds)
}

#[test]
fn a_2020_12_type_list_is_read_as_confluents_translation_of_json_skema() {
    // allOf:[{maxLength}] -> allOf:[{type:[string,null], maxLength, format}], FORWARD: the new
    // subschema is allOf[anyOf[string, null], string(maxLength)] (format first keeps maxLength
    // out of the type list), spliced into the allOf; the old string schema matches a part.
    assert_eq!(
        verdict(
            CompatibilityLevel::Forward,
            json!({"$schema": S2020, "allOf": [{"maxLength": 64}]}),
            json!({"$schema": S2020, "allOf": [{"type": ["string", "null"], "maxLength": 64, "format": "email"}]}),
        ),
        (true, vec![])
    );
    // A draft-07 tuple item with a type list, then the same as 2020-12 prefixItems, FORWARD:
    // everit gives both types minimum; the translation merges it into the first number branch
    // only (anyOf[number(minimum), integer]), so one branch has no counterpart.
    let (compatible, kinds) = verdict(
        CompatibilityLevel::Forward,
        json!({"items": [{"type": ["number", "integer"], "minimum": 0}]}),
        json!({"$schema": S2020, "prefixItems": [{"type": ["number", "integer"], "minimum": 0}]}),
    );
    assert!(!compatible);
    assert_eq!(kinds, vec!["COMBINED_TYPE_SUBSCHEMAS_CHANGED"]);
    let draft7 = parse(json!({"items": [{"type": ["number", "integer"], "minimum": 0}]}));
    let s2020 = parse(
        json!({"$schema": S2020, "prefixItems": [{"type": ["number", "integer"], "minimum": 0}]}),
    );
    assert!(
        changes(&s2020, &draft7)
            .contains(&"COMBINED_TYPE_SUBSCHEMAS_CHANGED #/items/0".to_string()),
        "{:?}",
        changes(&s2020, &draft7)
    );
    // Only adding $schema 2020-12 to allOf:[{enum, type}]: the synthetic allOf of the enum and
    // the type is spliced into the allOf, BACKWARD sees the product extended.
    assert_eq!(
        verdict(
            CompatibilityLevel::Backward,
            json!({"allOf": [{"enum": ["e"], "type": "string"}]}),
            json!({"$schema": S2020, "allOf": [{"enum": ["e"], "type": "string"}]}),
        ),
        (false, vec!["PRODUCT_TYPE_EXTENDED".to_string()])
    );
    // Draft 7 keeps everit's reading: each type of the list carries its keywords.
    assert_eq!(
        verdict(
            CompatibilityLevel::Full,
            json!({"type": ["string", "null"], "maxLength": 5}),
            json!({"type": ["string", "null"], "maxLength": 5}),
        ),
        (true, vec![])
    );
}

#[test]
fn a_format_next_to_a_2020_12_type_list_changes_the_translation_as_in_confluent() {
    // Issue 13, example 1. Without `format` the type list's string branch carries maxLength
    // (anyOf[string(maxLength), boolean]); json-sKema hands `format` to the translator first
    // (Java HashMap order), and its empty synthetic allOf keeps maxLength out of the branch:
    // allOf[anyOf[string, boolean], string(maxLength)]. FULL: BACKWARD sees anyOf -> allOf
    // (COMBINED_TYPE_CHANGED), FORWARD finds no match for the anyOf branch.
    let old = json!({"$schema": S2020, "properties": {"p2": {"type": ["string", "boolean"], "maxLength": 5}}});
    let new = json!({"$schema": S2020, "properties": {"p2": {"type": ["string", "boolean"], "maxLength": 5, "format": "email"}}});
    assert_eq!(
        verdict(CompatibilityLevel::Full, old.clone(), new.clone()),
        (
            false,
            vec![
                "COMBINED_TYPE_CHANGED".to_string(),
                "COMBINED_TYPE_SUBSCHEMAS_CHANGED".to_string()
            ]
        )
    );
    let (old, new) = (parse(old), parse(new));
    assert_eq!(
        changes(&old, &new),
        vec!["COMBINED_TYPE_CHANGED #/properties/p2"]
    );
    let forward = changes(&new, &old);
    assert!(
        forward.contains(&"COMBINED_TYPE_EXTENDED #/properties/p2".to_string())
            && forward.contains(&"COMBINED_TYPE_SUBSCHEMAS_CHANGED #/properties/p2".to_string()),
        "{forward:?}"
    );
    // The same keywords in draft 7 (everit) are compatible: each type carries maxLength and
    // format is a string keyword that Confluent does not compare.
    assert_eq!(
        verdict(
            CompatibilityLevel::Full,
            json!({"properties": {"p2": {"type": ["string", "boolean"], "maxLength": 5}}}),
            json!({"properties": {"p2": {"type": ["string", "boolean"], "maxLength": 5, "format": "email"}}}),
        ),
        (true, vec![])
    );
    // A keyword that comes after the type list in the hash order merges into its branch:
    // minLength next to the type list is the same schema with or without the list first.
    assert_eq!(
        verdict(
            CompatibilityLevel::Full,
            json!({"$schema": S2020, "minLength": 1, "type": ["string", "null"]}),
            json!({"$schema": S2020, "type": ["string", "null"], "minLength": 1}),
        ),
        (true, vec![])
    );
    // A lone type list with a keyword of one of its types is that type's branch narrowed:
    // anyOf[string(maxLength 5), null] -> anyOf[string(maxLength 3), null] is BACKWARD
    // incompatible only through the string branch.
    let (compatible, kinds) = verdict(
        CompatibilityLevel::Backward,
        json!({"$schema": S2020, "type": ["string", "null"], "maxLength": 5}),
        json!({"$schema": S2020, "type": ["string", "null"], "maxLength": 3}),
    );
    assert!(!compatible);
    assert_eq!(kinds, vec!["COMBINED_TYPE_SUBSCHEMAS_CHANGED"]);
}

#[test]
fn a_2019_09_payload_is_validated_with_prefix_items_as_confluent_does() {
    // Confluent validates 2019-09 payloads with json-sKema (2020-12 rules), as its
    // compatibility check reads the schema: prefixItems constrain the leading items and
    // `items` the rest.
    let schema = parse(json!({
        "$schema": S2019,
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}],
        "items": {"type": "boolean"}
    }));
    assert!(schema.validate(&json!(["a", 1, true, false])).is_ok());
    assert!(schema.validate(&json!(["a"])).is_ok());
    let errors = schema.validate(&json!([1, 1])).unwrap_err();
    assert!(errors.iter().any(|e| e.starts_with("#/0:")), "{errors:?}");
    let errors = schema.validate(&json!(["a", "b"])).unwrap_err();
    assert!(errors.iter().any(|e| e.starts_with("#/1:")), "{errors:?}");
    let errors = schema
        .validate(&json!(["a", 1, "not a boolean"]))
        .unwrap_err();
    assert!(errors.iter().any(|e| e.starts_with("#/2:")), "{errors:?}");
    // `items: false` after prefixItems closes the tuple.
    let closed =
        parse(json!({"$schema": S2019, "prefixItems": [{"type": "string"}], "items": false}));
    assert!(closed.validate(&json!(["a"])).is_ok());
    assert!(closed.validate(&json!(["a", "b"])).is_err());
    // The same in a referenced 2019-09 schema.
    let deps = [dep(
        "pair.json",
        json!({"$schema": S2019, "prefixItems": [{"type": "string"}, {"type": "integer"}]}),
    )];
    let root = parse_with(
        json!({"$schema": S2019, "type": "object", "properties": {"p": {"$ref": "pair.json"}}}),
        &deps,
    );
    assert!(root.validate(&json!({"p": ["a", 1]})).is_ok());
    assert!(root.validate(&json!({"p": [1, "a"]})).is_err());
}

#[test]
fn a_fractional_multiple_of_is_compared_by_value_where_confluent_truncates_it() {
    // Confluent compares `multipleOf` with Java's intValue(): 5 -> 2.5 is "2 % 5, 5 % 2",
    // MULTIPLE_OF_CHANGED (and below 1 it divides by zero). Every multiple of 5 is a multiple
    // of 2.5, so the new schema reads the old data: REDUCED, compatible.
    let old = parse(json!({"type": "number", "multipleOf": 5}));
    let new = parse(json!({"type": "number", "multipleOf": 2.5}));
    assert_eq!(
        changes(&old, &new),
        vec!["MULTIPLE_OF_REDUCED #/multipleOf"]
    );
    assert!(compatible(&old, &new, CompatibilityPolicy::Strict));
    // Whole divisors answer as Confluent does.
    let four = parse(json!({"type": "number", "multipleOf": 4}));
    let two = parse(json!({"type": "number", "multipleOf": 2}));
    let three = parse(json!({"type": "number", "multipleOf": 3}));
    assert_eq!(
        changes(&two, &four),
        vec!["MULTIPLE_OF_EXPANDED #/multipleOf"]
    );
    assert_eq!(
        changes(&four, &two),
        vec!["MULTIPLE_OF_REDUCED #/multipleOf"]
    );
    assert_eq!(
        changes(&two, &three),
        vec!["MULTIPLE_OF_CHANGED #/multipleOf"]
    );
    // Below 1 (Confluent: an ArithmeticException, HTTP 500).
    let tenth = parse(json!({"type": "number", "multipleOf": 0.1}));
    let fifth = parse(json!({"type": "number", "multipleOf": 0.2}));
    assert_eq!(
        changes(&tenth, &fifth),
        vec!["MULTIPLE_OF_EXPANDED #/multipleOf"]
    );
}

#[test]
fn read_only_next_to_a_2020_12_type_list_counts_as_a_part_like_format() {
    // json-sKema makes a part of `readOnly: true` (not of false), visited before `type` here.
    let base = json!({"$schema": S2020, "type": ["string", "null"], "maxLength": 5});
    let mut read_only = base.clone();
    read_only["readOnly"] = json!(true);
    let (compatible, kinds) = verdict(CompatibilityLevel::Full, base.clone(), read_only);
    assert!(!compatible);
    assert_eq!(
        kinds,
        vec!["COMBINED_TYPE_CHANGED", "COMBINED_TYPE_SUBSCHEMAS_CHANGED"]
    );
    let mut not_read_only = base.clone();
    not_read_only["readOnly"] = json!(false);
    assert_eq!(
        verdict(CompatibilityLevel::Full, base, not_read_only),
        (true, vec![])
    );
    // In front of minLength too: minLength, format, type in the hash order.
    let (compatible, _) = verdict(
        CompatibilityLevel::Full,
        json!({"$schema": S2020, "type": ["string", "null"], "minLength": 1}),
        json!({"$schema": S2020, "type": ["string", "null"], "minLength": 1, "format": "uri"}),
    );
    assert!(!compatible);
    // Draft 7 reads readOnly and format as annotations of each type: compatible.
    assert_eq!(
        verdict(
            CompatibilityLevel::Full,
            json!({"type": ["string", "null"], "maxLength": 5}),
            json!({"type": ["string", "null"], "maxLength": 5, "readOnly": true, "format": "uri"}),
        ),
        (true, vec![])
    );
}

#[test]
fn unevaluated_true_or_empty_differs_from_absent_as_in_confluents_array_diff() {
    // Confluent's ArraySchemaDiff reads unevaluatedItems from the translated schema: `true` or
    // `{}` appearing narrows (incompatible), disappearing extends; both leave the content
    // model open.
    let absent =
        parse(json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}]}));
    let open = parse(
        json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}], "unevaluatedItems": true}),
    );
    let empty = parse(
        json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}], "unevaluatedItems": {}}),
    );
    let typed = parse(
        json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}], "unevaluatedItems": {"type": "integer"}}),
    );
    assert_eq!(
        changes(&absent, &open),
        vec!["UNEVALUATED_ITEMS_NARROWED #/unevaluatedItems"]
    );
    assert!(!compatible(&absent, &open, CompatibilityPolicy::Strict));
    assert_eq!(
        changes(&open, &absent),
        vec!["UNEVALUATED_ITEMS_EXTENDED #/unevaluatedItems"]
    );
    assert!(compatible(&open, &absent, CompatibilityPolicy::Strict));
    assert_eq!(changes(&open, &empty), Vec::<String>::new());
    assert_eq!(
        changes(&empty, &typed),
        vec!["UNEVALUATED_ITEMS_NARROWED #/unevaluatedItems"]
    );
    // Open with `true`: an item added to the tuple is ITEM_ADDED_TO_OPEN_CONTENT_MODEL.
    let longer = parse(
        json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "unevaluatedItems": true}),
    );
    assert!(
        changes(&open, &longer).contains(&"ITEM_ADDED_TO_OPEN_CONTENT_MODEL #/items/1".to_string()),
        "{:?}",
        changes(&open, &longer)
    );
    // A schema partially opens it: an added item it covers is compatible.
    let typed_longer = parse(
        json!({"$schema": S2020, "type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "unevaluatedItems": {"type": "integer"}}),
    );
    assert!(
        changes(&typed, &typed_longer).contains(
            &"ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/1".to_string()
        ),
        "{:?}",
        changes(&typed, &typed_longer)
    );
    // The same reading for unevaluatedProperties.
    let object = parse(json!({"$schema": S2020, "type": "object"}));
    let object_open =
        parse(json!({"$schema": S2020, "type": "object", "unevaluatedProperties": true}));
    assert_eq!(
        changes(&object, &object_open),
        vec!["UNEVALUATED_PROPERTIES_NARROWED #/unevaluatedProperties"]
    );
}

#[test]
fn odd_2020_12_schemas_translate_and_compare_with_themselves_cleanly() {
    for schema in [
        json!({"$schema": S2020, "type": ["string"], "maxLength": 1, "minLength": 0, "pattern": "a"}),
        json!({"$schema": S2020, "allOf": [{}], "oneOf": [true, false]}),
        json!({"$schema": S2020, "allOf": [{"$ref": "#"}], "format": "x"}),
        json!({"$schema": S2020, "properties": {}, "patternProperties": {}}),
        json!({"$schema": S2020, "type": "array", "prefixItems": [true], "items": {"type": "string"}, "contains": {"type": "string"}, "maxContains": 2, "uniqueItems": false}),
        json!({"$schema": S2020, "$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
        json!({"$schema": S2020, "anyOf": [{"type": ["integer", "null"], "minimum": 1, "format": "int32"}, {"readOnly": true}]}),
        json!({"$schema": S2020, "type": "object", "required": ["a"], "dependentRequired": {"a": ["b"]}, "additionalProperties": {"type": "integer"}, "minProperties": 1}),
        json!({"$schema": S2020, "if": {"type": "string"}, "then": {"maxLength": 1}, "not": {"const": null}}),
    ] {
        // (Confluent reports a compatible NOT_TYPE_NARROWED even for an unchanged `not`.)
        let parsed = parse(schema.clone());
        assert!(
            compatible(&parsed, &parsed, CompatibilityPolicy::Strict),
            "{schema}: {:?}",
            changes(&parsed, &parsed)
        );
    }
}

#[test]
fn draft_4_ignores_the_draft_6_keywords_const_contains_and_property_names_as_everit_does() {
    const S4: &str = "http://json-schema.org/draft-04/schema#";
    // everit's draft-4 loader makes nothing of them: each schema is `{}`, and `{}` to `{}` is
    // no change; in draft 7 they constrain.
    for keyword in [
        json!({"const": 1}),
        json!({"contains": {"type": "string"}}),
        json!({"propertyNames": {"maxLength": 3}}),
    ] {
        let mut draft4 = keyword.clone();
        draft4["$schema"] = json!(S4);
        let empty = parse(json!({"$schema": S4}));
        let constrained = parse(draft4.clone());
        assert_eq!(
            changes(&constrained, &empty),
            Vec::<String>::new(),
            "{draft4}"
        );
        assert_eq!(
            changes(&empty, &constrained),
            Vec::<String>::new(),
            "{draft4}"
        );
        let draft7 = parse(keyword.clone());
        assert_ne!(
            changes(&draft7, &parse(json!({"type": "string"}))),
            Vec::<String>::new(),
            "{keyword}"
        );
    }
}
