//! The project's own Protobuf cases: proto2, nested messages, oneofs, maps, references, base64
//! input, normalisation, invalid text, and the compatibility messages.

use strata_schema::protobuf::{diff, ProtobufSchema};
use strata_schema::{
    check_compatibility, CompatibilityLevel, CompatibilityPolicy, Dependency, Error, FormatSchema,
    ParseOptions, ParsedSchema, SchemaType,
};

fn parse(text: &str) -> ProtobufSchema {
    parse_with(text, &[])
}

fn parse_with(text: &str, deps: &[Dependency]) -> ProtobufSchema {
    ProtobufSchema::parse(text, deps, ParseOptions::default())
        .unwrap_or_else(|e| panic!("schema does not parse: {e}\n{text}"))
}

fn dep(name: &str, version: i32, text: &str) -> Dependency {
    Dependency {
        name: name.to_string(),
        subject: name.to_string(),
        version,
        schema_type: SchemaType::Protobuf,
        schema: text.to_string(),
        dependencies: Vec::new(),
    }
}

/// `(changes as "TYPE #/path", sorted; compatible)` from `original` to `update`.
fn changes(original: &ProtobufSchema, update: &ProtobufSchema) -> (Vec<String>, bool) {
    let mut all: Vec<String> = diff(original, update)
        .iter()
        .map(ToString::to_string)
        .collect();
    all.sort();
    let compatible = update
        .backward_differences(original, CompatibilityPolicy::Strict)
        .is_empty();
    (all, compatible)
}

fn case(description: &str, original: &str, update: &str, expected: &[&str], compatible: bool) {
    let (actual, is_compatible) = changes(&parse(original), &parse(update));
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(actual, expected, "case '{description}': change list");
    assert_eq!(
        is_compatible, compatible,
        "case '{description}': compatible flag"
    );
}

#[test]
fn proto2_labels_and_required_fields_follow_confluent() {
    case(
        "optional to required is a numeric label change",
        "syntax = \"proto2\";\nmessage M { optional int32 a = 1; }",
        "syntax = \"proto2\";\nmessage M { required int32 a = 1; }",
        &["FIELD_NUMERIC_LABEL_CHANGED #/M/1"],
        false,
    );
    case(
        "optional string to repeated string is compatible",
        "syntax = \"proto2\";\nmessage M { optional string a = 1; }",
        "syntax = \"proto2\";\nmessage M { repeated string a = 1; }",
        &["FIELD_STRING_OR_BYTES_LABEL_CHANGED #/M/1"],
        true,
    );
    case(
        "adding a required field breaks old data",
        "syntax = \"proto2\";\nmessage M { optional int32 a = 1; }",
        "syntax = \"proto2\";\nmessage M { optional int32 a = 1; required bool b = 2; }",
        &["REQUIRED_FIELD_ADDED #/M/2"],
        false,
    );
    case(
        "proto3 implicit to repeated has no label change (Confluent: no label on either side)",
        "syntax = \"proto3\";\nmessage M { int32 a = 1; }",
        "syntax = \"proto3\";\nmessage M { repeated int32 a = 1; }",
        &[],
        true,
    );
}

#[test]
fn scalar_groups_decide_wire_compatibility() {
    case(
        "int32 to int64 stays in the general number group",
        "syntax = \"proto3\";\nmessage M { int32 a = 1; }",
        "syntax = \"proto3\";\nmessage M { int64 a = 1; }",
        &[],
        true,
    );
    case(
        "int32 to sint32 changes the group",
        "syntax = \"proto3\";\nmessage M { int32 a = 1; }",
        "syntax = \"proto3\";\nmessage M { sint32 a = 1; }",
        &["FIELD_SCALAR_KIND_CHANGED #/M/1"],
        false,
    );
    case(
        "fixed32 to sfixed32 is fine, fixed32 to fixed64 is not",
        "syntax = \"proto3\";\nmessage M { fixed32 a = 1; fixed32 b = 2; }",
        "syntax = \"proto3\";\nmessage M { sfixed32 a = 1; fixed64 b = 2; }",
        &["FIELD_SCALAR_KIND_CHANGED #/M/2"],
        false,
    );
}

#[test]
fn nested_messages_are_compared_by_name_and_position() {
    case(
        "nested field change and nested message reordering",
        "syntax = \"proto3\";\nmessage O { message A { int32 x = 1; } message B {} A a = 1; }",
        "syntax = \"proto3\";\nmessage O { message B {} message A { string x = 1; } A a = 1; }",
        &[
            "FIELD_SCALAR_KIND_CHANGED #/O/A/1",
            "MESSAGE_MOVED #/O/A",
            "MESSAGE_MOVED #/O/B",
        ],
        false,
    );
    case(
        "a field pointing at a renamed message",
        "syntax = \"proto3\";\nmessage A {}\nmessage M { A a = 1; }",
        "syntax = \"proto3\";\nmessage B {}\nmessage M { B a = 1; }",
        &[
            "FIELD_NAMED_TYPE_CHANGED #/M/1",
            "MESSAGE_ADDED #/B",
            "MESSAGE_REMOVED #/A",
        ],
        false,
    );
}

#[test]
fn recursive_messages_terminate() {
    case(
        "self-referencing tree",
        "syntax = \"proto3\";\nmessage Node { repeated Node children = 1; string v = 2; }",
        "syntax = \"proto3\";\nmessage Node { repeated Node children = 1; bytes v = 2; }",
        &[],
        true,
    );
}

#[test]
fn oneof_rules_follow_confluent_master() {
    case(
        "a field moves into a new singleton oneof",
        "syntax = \"proto3\";\nmessage M { int32 a = 1; }",
        "syntax = \"proto3\";\nmessage M { oneof o { int32 a = 1; } }",
        &["ONEOF_ADDED #/M/o"],
        true,
    );
    case(
        "two fields move into one oneof",
        "syntax = \"proto3\";\nmessage M { int32 a = 1; int32 b = 2; }",
        "syntax = \"proto3\";\nmessage M { oneof o { int32 a = 1; int32 b = 2; } }",
        &["MULTIPLE_FIELDS_MOVED_TO_ONEOF #/M/o", "ONEOF_ADDED #/M/o"],
        false,
    );
    case(
        "deleting a whole oneof is compatible",
        "syntax = \"proto3\";\nmessage M { oneof o { int32 a = 1; int32 b = 2; } }",
        "syntax = \"proto3\";\nmessage M { }",
        &["ONEOF_REMOVED #/M/o"],
        true,
    );
    case(
        "proto3 optional fields are not oneofs",
        "syntax = \"proto3\";\nmessage M { optional int32 a = 1; }",
        "syntax = \"proto3\";\nmessage M { optional int32 a = 1; optional string b = 2; }",
        &["FIELD_ADDED #/M/2"],
        true,
    );
}

#[test]
fn maps_compare_keys_and_values_and_hide_entry_messages() {
    case(
        "map value type change",
        "syntax = \"proto3\";\nmessage M { map<string, int32> m = 1; }",
        "syntax = \"proto3\";\nmessage M { map<string, string> m = 1; }",
        &["FIELD_SCALAR_KIND_CHANGED #/M/1"],
        false,
    );
    case(
        "map to scalar changes the kind",
        "syntax = \"proto3\";\nmessage M { map<string, int32> m = 1; }",
        "syntax = \"proto3\";\nmessage M { int32 m = 1; }",
        &["FIELD_KIND_CHANGED #/M/1"],
        false,
    );
    case(
        "renaming a map field renames its entry message, which nobody sees",
        "syntax = \"proto3\";\nmessage M { map<string, int32> m = 1; }",
        "syntax = \"proto3\";\nmessage M { map<string, int32> n = 1; }",
        &["FIELD_NAME_CHANGED #/M/1"],
        true,
    );
}

const DEP_V1: &str = "syntax = \"proto3\";\npackage dep;\nmessage D { int32 x = 1; }\n";
const DEP_V2: &str = "syntax = \"proto3\";\npackage dep;\nmessage D { string x = 1; }\n";
const USES_DEP: &str = "syntax = \"proto3\";\nimport \"dep.proto\";\nmessage M { dep.D d = 1; }\n";

#[test]
fn references_are_recursed_into_when_the_version_differs() {
    let old = parse_with(USES_DEP, &[dep("dep.proto", 1, DEP_V1)]);
    let same = parse_with(USES_DEP, &[dep("dep.proto", 1, DEP_V1)]);
    let new = parse_with(USES_DEP, &[dep("dep.proto", 2, DEP_V2)]);
    assert_eq!(changes(&old, &same), (vec![], true));
    let (list, compatible) = changes(&old, &new);
    assert_eq!(
        list,
        vec![
            "FIELD_NAMED_TYPE_CHANGED #/M/1",
            "FIELD_SCALAR_KIND_CHANGED #/D/1"
        ]
    );
    assert!(!compatible);
}

#[test]
fn transitive_references_resolve() {
    let inner = dep("inner.proto", 1, DEP_V1);
    let mut outer = dep(
        "outer.proto",
        1,
        "syntax = \"proto3\";\npackage outer;\nimport \"inner.proto\";\nmessage O { dep.D d = 1; }\n",
    );
    outer.dependencies.push(inner);
    let schema = parse_with(
        "syntax = \"proto3\";\nimport \"outer.proto\";\nmessage M { outer.O o = 1; }\n",
        &[outer],
    );
    assert!(schema.message_descriptor("dep.D").is_some());
}

#[test]
fn a_missing_import_is_a_missing_reference() {
    let err = ProtobufSchema::parse(USES_DEP, &[], ParseOptions::default())
        .expect_err("dep.proto is not supplied");
    assert_eq!(err, Error::MissingReference("dep.proto".into()));
}

#[test]
fn well_known_and_confluent_imports_need_no_reference() {
    let schema = parse(
        r#"syntax = "proto3";
import "google/protobuf/timestamp.proto";
import "confluent/meta.proto";
import "confluent/type/decimal.proto";
message M {
  option (confluent.message_meta).doc = "a message";
  google.protobuf.Timestamp at = 1;
  confluent.type.Decimal amount = 2 [(confluent.field_meta).params = { key: "precision", value: "8" }];
}
"#,
    );
    let again = parse(schema.canonical());
    assert_eq!(again.canonical(), schema.canonical());
}

#[test]
fn invalid_text_is_an_invalid_schema_with_a_location() {
    let err = ProtobufSchema::parse(
        "syntax = \"proto3\";\nmessage M {\n  strin x = 1;\n}\n",
        &[],
        ParseOptions::default(),
    )
    .expect_err("unknown type");
    match err {
        Error::Invalid {
            schema_type,
            reason,
        } => {
            assert_eq!(schema_type, SchemaType::Protobuf);
            assert!(reason.contains("line 3"), "{reason}");
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn base64_descriptor_input_is_accepted_and_serialized_round_trips() {
    let schema = parse(
        "syntax = \"proto3\";\npackage p;\nmessage A { map<string, B> m = 1; optional int32 o = 2; }\nmessage B { repeated string s = 1; }\n",
    );
    let from_base64 = parse(&schema.serialized());
    assert_eq!(changes(&schema, &from_base64), (vec![], true));
    assert_eq!(
        from_base64.serialized(),
        parse(&from_base64.serialized()).serialized()
    );
    assert_eq!(from_base64.message_indexes("p.B"), Some(vec![1]));
    assert_eq!(
        from_base64.formatted("serialized").expect("format"),
        from_base64.serialized()
    );
    // The canonical text of a base64 input parses to itself.
    assert_eq!(
        parse(from_base64.canonical()).canonical(),
        from_base64.canonical()
    );
}

#[test]
fn normalize_gives_equal_text_for_formatting_option_and_import_order() {
    let a = parse(
        r#"syntax = "proto3";
package p;
import "google/protobuf/timestamp.proto";
import "confluent/meta.proto";
option java_package = "j";
option (confluent.file_meta).doc = "d";
message M {
  reserved 9, 3 to 5;
  google.protobuf.Timestamp t = 2;
  string s = 1 [deprecated = true, json_name = "S"];
  enum E { A = 0; C = 2; B = 1; }
}
"#,
    );
    let b = parse(
        r#"syntax = "proto3";
package p;
import "confluent/meta.proto";
import "google/protobuf/timestamp.proto";
option (confluent.file_meta) = { doc: "d" };
option java_package = "j";
message M {
    reserved 3 to 5;
    reserved 9;
    string s = 1 [json_name = "S", deprecated = true];
    .google.protobuf.Timestamp t = 2;
    enum E {
        A = 0;
        B = 1;
        C = 2;
    }
}
"#,
    );
    let (na, nb) = (a.normalize().expect("a"), b.normalize().expect("b"));
    assert_eq!(na.canonical(), nb.canonical());
    assert_eq!(
        na.normalize().expect("idempotent").canonical(),
        na.canonical()
    );
}

#[test]
fn canonical_text_is_deterministic_and_round_trips() {
    let text = r#"syntax = "proto2";
package p;
message M {
  extensions 100 to max;
  optional int32 a = 1 [default = -5];
  optional string s = 2 [default = "x\"y"];
  optional group G = 3 { optional int32 g = 1; }
  oneof o { int32 c = 4; string d = 5; }
}
extend M { optional int32 ext = 100; }
enum E { ZERO = 0; }
"#;
    let schema = parse(text);
    let again = parse(schema.canonical());
    assert_eq!(again.canonical(), schema.canonical());
    assert_eq!(parse(text).canonical(), schema.canonical());
    assert!(schema
        .canonical()
        .starts_with("syntax = \"proto2\";\npackage p;\n"));
}

#[test]
fn incompatibility_messages_are_rendered_as_confluent_does() {
    let old = parse("syntax = \"proto3\";\nmessage TestMessage { int32 a = 3; }");
    let new = parse("syntax = \"proto3\";\nmessage TestMessage { string a = 3; }");
    let found = new.backward_differences(&old, CompatibilityPolicy::Strict);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, "FIELD_SCALAR_KIND_CHANGED");
    assert_eq!(found[0].path, "#/TestMessage/3");
    assert_eq!(
        found[0].message,
        "{errorType:\"FIELD_SCALAR_KIND_CHANGED\", description:\"The kind of a SCALAR field at \
         path '#/TestMessage/3' in the new schema does not match its kind in the old schema\"}"
    );

    let old = ParsedSchema::Protobuf(old);
    let new = ParsedSchema::Protobuf(new);
    let result = check_compatibility(
        CompatibilityLevel::Backward,
        CompatibilityPolicy::Strict,
        &new,
        &[(1, &old)],
    );
    assert!(!result.is_compatible);
    assert!(result.messages[0].starts_with("{errorType:\"FIELD_SCALAR_KIND_CHANGED\""));
}

#[test]
fn package_change_is_incompatible_in_8x() {
    case(
        "package change",
        "syntax = \"proto3\";\npackage a;\nmessage M {}",
        "syntax = \"proto3\";\npackage b;\nmessage M {}",
        &["PACKAGE_CHANGED #/"],
        false,
    );
}

#[test]
fn record_name_is_package_and_first_message() {
    let schema = parse("syntax = \"proto3\";\npackage a.b;\nenum E { X = 0; }\nmessage First {}\nmessage Second {}");
    assert_eq!(schema.record_name().as_deref(), Some("a.b.First"));
    let enums_only = parse("syntax = \"proto3\";\nenum E { X = 0; }");
    assert_eq!(enums_only.record_name().as_deref(), Some("E"));
}

#[test]
fn google_common_types_need_no_reference() {
    let schema = parse(
        r#"syntax = "proto3";
import "google/type/date.proto";
import "google/type/money.proto";
import "google/type/datetime.proto";
import "google/type/phone_number.proto";
message M {
  google.type.Date d = 1;
  google.type.Money m = 2;
  google.type.DateTime t = 3;
  google.type.PhoneNumber p = 4;
}
"#,
    );
    assert!(schema.message_descriptor("google.type.TimeZone").is_some());
}

#[test]
fn formatted_follows_confluents_format_parameter() {
    let schema = parse(
        r#"syntax = "proto2";
import "google/protobuf/descriptor.proto";
import "confluent/meta.proto";
extend google.protobuf.FieldOptions { optional string mine = 50001; }
message M {
  option (confluent.message_meta).doc = "kept";
  extensions 100 to 200;
  optional int32 a = 1 [(mine) = "dropped"];
}
"#,
    );
    assert_eq!(schema.formatted("").expect("default"), schema.canonical());
    assert_eq!(
        schema.formatted("default").expect("default"),
        schema.canonical()
    );
    let ignoring = schema
        .formatted("ignore_extensions")
        .expect("ignore_extensions");
    assert!(
        ignoring.contains("(confluent.message_meta).doc"),
        "{ignoring}"
    );
    assert!(!ignoring.contains("mine"), "{ignoring}");
    assert!(!ignoring.contains("extensions 100"), "{ignoring}");
    assert!(schema.canonical().contains("[(mine) = \"dropped\"]"));
    assert_eq!(
        schema.formatted("serialized").expect("serialized"),
        schema.serialized()
    );
}

#[test]
fn a_reference_to_a_built_in_file_without_text_uses_the_built_in() {
    let schema = parse_with(
        "syntax = \"proto3\";\nimport \"confluent/type/decimal.proto\";\nmessage M { confluent.type.Decimal d = 1; }\n",
        &[dep("confluent/type/decimal.proto", 1, "")],
    );
    assert!(schema
        .message_descriptor("confluent.type.Decimal")
        .is_some());
}

/// Confluent prints a serialized descriptor with its map entries as explicit nested messages
/// (`toProtoFile`), and counts them in message indexes, as confluent-kafka-python does.
#[test]
fn explicit_map_entries_count_in_indexes_and_normalize_to_maps() {
    let with_map = parse(
        "syntax = \"proto3\";\npackage p;\nmessage A {\n  map<string, string> m = 1;\n  B b = 2;\n  message B {}\n}\n",
    );
    assert_eq!(with_map.message_indexes("p.A.B"), Some(vec![0, 0]));

    // The same schema from its serialized descriptor: the entry comes first among A's nested
    // messages, as protoc emits it.
    let from_base64 = parse(&with_map.serialized());
    assert!(
        from_base64.canonical().contains("option map_entry = true;"),
        "{}",
        from_base64.canonical()
    );
    assert_eq!(from_base64.message_indexes("p.A.B"), Some(vec![0, 1]));
    assert_eq!(from_base64.message_at(&[0, 1]).as_deref(), Some("p.A.B"));
    assert!(changes(&with_map, &from_base64).1);
    assert_eq!(
        parse(from_base64.canonical()).canonical(),
        from_base64.canonical()
    );

    // Normalising collapses explicit entries back into map fields.
    assert_eq!(
        from_base64.normalize().expect("normalizes").canonical(),
        with_map.normalize().expect("normalizes").canonical()
    );
}

/// Custom options in a serialized descriptor (confluent-kafka-python registers base64
/// descriptors) survive into the canonical text, as Confluent's `toCustomOptions` keeps them.
#[test]
fn serialized_descriptors_keep_confluent_meta_options() {
    let text = r#"syntax = "proto3";
package p;
import "confluent/meta.proto";
option (confluent.file_meta).doc = "file";
message M {
  option (confluent.message_meta) = { doc: "message", tags: ["PII"] };
  string ssn = 1 [(confluent.field_meta) = { tags: "PII", params: { key: "scale", value: "2" } }];
  E e = 2;
}
enum E {
  A = 0 [(confluent.enum_value_meta).doc = "a"];
}
"#;
    let schema = parse(text);
    let from_base64 = parse(&schema.serialized());
    let canonical = from_base64.canonical();
    for expected in [
        "option (confluent.file_meta) = {\n  doc: \"file\"\n};",
        "tags: [\n      \"PII\"\n    ]",
        "(confluent.field_meta) = {",
        "value: \"2\",\n",
        "A = 0 [(confluent.enum_value_meta) = {",
    ] {
        assert!(
            canonical.contains(expected),
            "missing {expected:?} in\n{canonical}"
        );
    }
    assert_eq!(parse(canonical).canonical(), canonical);
    assert_eq!(
        from_base64.normalize().expect("normalizes").canonical(),
        schema.normalize().expect("normalizes").canonical()
    );
}

#[test]
fn forward_checks_render_the_roles_the_other_way_round() {
    let old = ParsedSchema::Protobuf(parse("syntax = \"proto3\";\nmessage M { int32 a = 1; }"));
    let new = ParsedSchema::Protobuf(parse("syntax = \"proto3\";\nmessage M { string a = 1; }"));
    let result = check_compatibility(
        CompatibilityLevel::Forward,
        CompatibilityPolicy::Strict,
        &new,
        &[(3, &old)],
    );
    assert!(!result.is_compatible);
    assert_eq!(
        result.messages[0],
        "{errorType:\"FIELD_SCALAR_KIND_CHANGED\", description:\"The kind of a SCALAR field at \
         path '#/M/1' in the old schema does not match its kind in the new schema\"}"
    );
}

/// `google/protobuf/struct.proto` as protoc-generated Python code embeds it (what
/// confluent-kafka-python registers, base64): map entries explicit, JSON names filled in.
const STRUCT_PROTO_BASE64: &str = "Chxnb29nbGUvcHJvdG9idWYvc3RydWN0LnByb3RvEg9nb29nbGUucHJvdG9idWYimAEKBlN0cnVjdBI7CgZmaWVsZHMYASADKAsyIy5nb29nbGUucHJvdG9idWYuU3RydWN0LkZpZWxkc0VudHJ5UgZmaWVsZHMaUQoLRmllbGRzRW50cnkSEAoDa2V5GAEgASgJUgNrZXkSLAoFdmFsdWUYAiABKAsyFi5nb29nbGUucHJvdG9idWYuVmFsdWVSBXZhbHVlOgI4ASKyAgoFVmFsdWUSOwoKbnVsbF92YWx1ZRgBIAEoDjIaLmdvb2dsZS5wcm90b2J1Zi5OdWxsVmFsdWVIAFIJbnVsbFZhbHVlEiMKDG51bWJlcl92YWx1ZRgCIAEoAUgAUgtudW1iZXJWYWx1ZRIjCgxzdHJpbmdfdmFsdWUYAyABKAlIAFILc3RyaW5nVmFsdWUSHwoKYm9vbF92YWx1ZRgEIAEoCEgAUglib29sVmFsdWUSPAoMc3RydWN0X3ZhbHVlGAUgASgLMhcuZ29vZ2xlLnByb3RvYnVmLlN0cnVjdEgAUgtzdHJ1Y3RWYWx1ZRI7CgpsaXN0X3ZhbHVlGAYgASgLMhouZ29vZ2xlLnByb3RvYnVmLkxpc3RWYWx1ZUgAUglsaXN0VmFsdWVCBgoEa2luZCI7CglMaXN0VmFsdWUSLgoGdmFsdWVzGAEgAygLMhYuZ29vZ2xlLnByb3RvYnVmLlZhbHVlUgZ2YWx1ZXMqGwoJTnVsbFZhbHVlEg4KCk5VTExfVkFMVUUQAEJ/ChNjb20uZ29vZ2xlLnByb3RvYnVmQgtTdHJ1Y3RQcm90b1ABWi9nb29nbGUuZ29sYW5nLm9yZy9wcm90b2J1Zi90eXBlcy9rbm93bi9zdHJ1Y3RwYvgBAaICA0dQQqoCHkdvb2dsZS5Qcm90b2J1Zi5XZWxsS25vd25UeXBlc2IGcHJvdG8z";

#[test]
fn a_protoc_generated_descriptor_from_python_parses() {
    let schema = parse(STRUCT_PROTO_BASE64);
    let canonical = schema.canonical();
    assert!(canonical.contains("message FieldsEntry {"), "{canonical}");
    assert!(
        canonical.contains("option map_entry = true;"),
        "{canonical}"
    );
    assert_eq!(
        schema.message_indexes("google.protobuf.Struct.FieldsEntry"),
        Some(vec![0, 0])
    );
    assert_eq!(
        schema.message_indexes("google.protobuf.ListValue"),
        Some(vec![2])
    );
    assert_eq!(
        schema.record_name().as_deref(),
        Some("google.protobuf.Struct")
    );
    let again = parse(canonical);
    assert_eq!(again.canonical(), canonical);
    assert!(diff(&schema, &again).is_empty());
    let value = schema
        .message_descriptor("google.protobuf.Value")
        .expect("Value");
    assert_eq!(
        value
            .oneofs()
            .next()
            .map(|o| o.name().to_string())
            .as_deref(),
        Some("kind")
    );
}

#[test]
fn serialized_descriptors_keep_custom_options_defined_in_their_references() {
    let opts = dep(
        "opts.proto",
        1,
        "syntax = \"proto3\";\npackage mine;\nimport \"google/protobuf/descriptor.proto\";\nextend google.protobuf.FieldOptions { string label = 50000; }\n",
    );
    let deps = [opts];
    let schema = parse_with(
        "syntax = \"proto3\";\nimport \"opts.proto\";\nmessage M { string s = 1 [(mine.label) = \"x\"]; }\n",
        &deps,
    );
    let from_base64 = parse_with(&schema.serialized(), &deps);
    assert!(
        from_base64
            .canonical()
            .contains("string s = 1 [(mine.label) = \"x\"];"),
        "{}",
        from_base64.canonical()
    );
}

/// A dependency named like a built-in file and given as a serialized descriptor is read
/// against the built-in file of that name for its options, not against itself (this used to
/// recurse until the stack overflowed).
#[test]
fn a_serialized_dependency_named_like_a_built_in_file_parses() {
    let meta = parse(
        "syntax = \"proto3\";\npackage confluent;\nimport \"google/protobuf/descriptor.proto\";\nmessage Meta { string doc = 1; }\nextend google.protobuf.FieldOptions { Meta field_meta = 1088; }\n",
    );
    let deps = [dep("confluent/meta.proto", 1, &meta.serialized())];
    let schema = parse_with(
        "syntax = \"proto3\";\nimport \"confluent/meta.proto\";\nmessage M { string s = 1 [(confluent.field_meta).doc = \"x\"]; }\n",
        &deps,
    );
    assert!(schema.message_descriptor("M").is_some());
    // Its own serialized form, with the same dependency, parses too.
    let again = parse_with(&schema.serialized(), &deps);
    assert_eq!(changes(&schema, &again), (vec![], true));
}

/// Serialized descriptors that import each other (or themselves) are an invalid schema, not
/// an endless recursion.
#[test]
fn serialized_dependencies_importing_each_other_are_an_error() {
    let a_plain = dep("a.proto", 1, "syntax = \"proto3\";\nmessage A {}\n");
    let b_plain = dep("b.proto", 1, "syntax = \"proto3\";\nmessage B {}\n");
    let a_importing_b = parse_with(
        "syntax = \"proto3\";\nimport \"b.proto\";\nmessage A { B b = 1; }\n",
        std::slice::from_ref(&b_plain),
    )
    .serialized();
    let b_importing_a = parse_with(
        "syntax = \"proto3\";\nimport \"a.proto\";\nmessage B { A a = 1; }\n",
        std::slice::from_ref(&a_plain),
    )
    .serialized();
    let root = "syntax = \"proto3\";\nimport \"a.proto\";\nmessage R { A a = 1; }\n";
    let deps = [
        dep("a.proto", 1, &a_importing_b),
        dep("b.proto", 1, &b_importing_a),
    ];
    let err = ProtobufSchema::parse(root, &deps, ParseOptions::default())
        .expect_err("an import cycle does not compile");
    assert!(
        matches!(&err, Error::Invalid { .. }),
        "not an invalid schema: {err:?}"
    );
    assert!(err.to_string().contains("a.proto"), "{err}");

    let a_importing_a = parse_with(
        "syntax = \"proto3\";\nimport \"a.proto\";\nmessage A2 { A a = 1; }\n",
        std::slice::from_ref(&a_plain),
    )
    .serialized();
    let err = ProtobufSchema::parse(
        root,
        &[dep("a.proto", 1, &a_importing_a)],
        ParseOptions::default(),
    )
    .expect_err("a file importing itself does not compile");
    assert!(err.to_string().contains("a.proto"), "{err}");
}

/// Issue 13, item 3: Confluent keeps custom options that name no known extension in the text
/// and builds descriptors from the standard options only.
#[test]
fn custom_options_that_are_defined_nowhere_are_kept_in_the_text_and_ignored() {
    let placements = [
        ("a message", "message M { option (my_option) = true; int32 a = 1; }"),
        ("a field", "message M { int32 a = 1 [(my_option) = true]; }"),
        (
            "a oneof",
            "message M { oneof o { option (my_option) = true; int32 a = 1; } }",
        ),
        (
            "an enum",
            "enum E { option (my_option) = true; X = 0 [(other.opt) = 1]; }\nmessage M { int32 a = 1; }",
        ),
        (
            "the file",
            "option (my_option) = true;\noption (.pkg.deep).x = \"y\";\nmessage M { int32 a = 1; }",
        ),
    ];
    for (place, body) in placements {
        let text = format!("syntax = \"proto3\";\n{body}\n");
        let schema = ProtobufSchema::parse(&text, &[], ParseOptions::default())
            .unwrap_or_else(|e| panic!("an undefined option on {place} is accepted: {e}"));
        assert!(
            schema.canonical().contains("(my_option) = true") || body.contains("(other.opt)"),
            "{place}: the option stays in the canonical text:\n{}",
            schema.canonical()
        );
        let normalized = schema.normalize().expect("normalizes");
        for written in ["my_option", "other.opt", ".pkg.deep"] {
            if body.contains(written) {
                assert!(
                    normalized.canonical().contains(written),
                    "{place}: '{written}' stays in the normalised text:\n{}",
                    normalized.canonical()
                );
            }
        }
        // The canonical text parses again to the same text.
        assert_eq!(parse(schema.canonical()).canonical(), schema.canonical());
    }

    // Standard options still reach the descriptors; the unknown ones do not.
    let schema = parse(
        "syntax = \"proto3\";\noption java_package = \"com.acme\";\noption (my_option) = true;\nmessage M { int32 a = 1 [deprecated = true, (my_option) = 1]; }\n",
    );
    let file = schema.file_descriptor().file_descriptor_proto();
    let options = file.options.clone().expect("file options");
    assert_eq!(options.java_package.as_deref(), Some("com.acme"));
    assert!(options.uninterpreted_option.is_empty());
    let field = schema
        .message_descriptor("M")
        .expect("M")
        .get_field(1)
        .expect("field 1");
    assert_eq!(
        field
            .field_descriptor_proto()
            .options
            .clone()
            .unwrap_or_default()
            .deprecated,
        Some(true)
    );

    // Options that are ignored are ignored for compatibility too.
    case(
        "an undefined option added, changed and removed",
        "syntax = \"proto3\";\nmessage M { option (my_option) = true; int32 a = 1 [(f) = 1]; }",
        "syntax = \"proto3\";\nmessage M { int32 a = 1 [(f) = 2, (g) = \"x\"]; }",
        &[],
        true,
    );
}

#[test]
fn defined_custom_options_are_still_checked() {
    let defining = "syntax = \"proto3\";\npackage opts;\nimport \"google/protobuf/descriptor.proto\";\nextend google.protobuf.MessageOptions { bool flag = 50001; }\n";
    let deps = [dep("opts.proto", 1, defining)];
    let ok = parse_with(
        "syntax = \"proto3\";\nimport \"opts.proto\";\nmessage M { option (opts.flag) = true; option (undefined) = 3; int32 a = 1; }\n",
        &deps,
    );
    assert!(
        ok.canonical().contains("(undefined) = 3"),
        "{}",
        ok.canonical()
    );
    // A defined option with a value of the wrong type is still an invalid schema.
    let err = ProtobufSchema::parse(
        "syntax = \"proto3\";\nimport \"opts.proto\";\nmessage M { option (opts.flag) = \"not a bool\"; int32 a = 1; }\n",
        &deps,
        ParseOptions::default(),
    )
    .expect_err("a string for a bool option");
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    // And so is a type that is defined nowhere, with its location.
    let err = ProtobufSchema::parse(
        "syntax = \"proto3\";\nmessage M {\n  option (undefined) = true;\n  Nope n = 1;\n}\n",
        &[],
        ParseOptions::default(),
    )
    .expect_err("Nope is not defined");
    assert!(err.to_string().contains("Nope"), "{err}");
}

/// Issue 13, item 4: Confluent resolves types across every referenced schema, whatever the import
/// line names.
#[test]
fn types_resolve_across_references_whatever_the_import_line_names() {
    let referenced = "syntax = \"proto3\";\nmessage NoReference {\n  message NoReferenceNested {\n    string s = 1;\n  }\n  NoReferenceNested nested = 1;\n}\n";
    let text = "syntax = \"proto3\";\nimport \"NoReferenceNested.proto\";\nmessage Uses {\n  NoReference.NoReferenceNested n = 1;\n}\n";
    let deps = [dep("NoReference.proto", 1, referenced)];
    let schema = parse_with(text, &deps);
    assert!(
        schema
            .canonical()
            .contains("import \"NoReferenceNested.proto\";"),
        "the import line stays in the text:\n{}",
        schema.canonical()
    );
    let field = schema
        .message_descriptor("Uses")
        .expect("Uses")
        .get_field(1)
        .expect("field 1");
    assert_eq!(
        field.kind().as_message().map(|m| m.full_name().to_string()),
        Some("NoReference.NoReferenceNested".to_string())
    );
    let normalized = schema.normalize().expect("normalizes");
    assert_eq!(
        parse_with(normalized.canonical(), &deps).canonical(),
        normalized.canonical()
    );
    // Compatibility still sees the referenced type.
    let changed = "syntax = \"proto3\";\nmessage NoReference {\n  message NoReferenceNested {\n    int32 s = 1;\n  }\n  NoReferenceNested nested = 1;\n}\n";
    let update = parse_with(text, &[dep("NoReference.proto", 2, changed)]);
    let (_, compatible) = changes(&schema, &update);
    assert!(!compatible, "string -> int32 in the referenced type");

    // Without any reference the import is still missing.
    let err = ProtobufSchema::parse(text, &[], ParseOptions::default())
        .expect_err("nothing to resolve against");
    assert_eq!(
        err,
        Error::MissingReference("NoReferenceNested.proto".into())
    );
}

#[test]
fn a_referenced_schema_with_an_undefined_option_still_resolves() {
    let referenced =
        "syntax = \"proto3\";\npackage dep;\noption (my_option) = 1;\nmessage D { int32 x = 1 [(f) = true]; }\n";
    let schema = parse_with(
        "syntax = \"proto3\";\nimport \"dep.proto\";\nmessage M { dep.D d = 1; }\n",
        &[dep("dep.proto", 1, referenced)],
    );
    assert!(schema.message_descriptor("dep.D").is_some());
}
