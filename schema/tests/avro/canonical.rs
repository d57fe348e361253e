//! Canonical text: the bytes Java's `Schema.toString()` (compact) prints, which Confluent stores.

use strata_schema::FormatSchema;

use crate::avro;

const CASES: &[(&str, &str, &str)] = &[
    (
        "a primitive object without properties is its bare name",
        r#"{"type": "string"}"#,
        r#""string""#,
    ),
    (
        "a primitive with properties keeps them after type",
        r#"{"logicalType": "timestamp-millis", "type": "long"}"#,
        r#"{"type":"long","logicalType":"timestamp-millis"}"#,
    ),
    (
        "record attributes come in Java's order: type, name, namespace, doc, fields, props, aliases",
        r#"{"aliases":["Old"],"extra":{"k":1},"fields":[],"doc":"d","name":"R","namespace":"ns","type":"record"}"#,
        r#"{"type":"record","name":"R","namespace":"ns","doc":"d","fields":[],"extra":{"k":1},"aliases":["Old"]}"#,
    ),
    (
        "field attributes come in Java's order: name, type, doc, default, order, aliases, props",
        r#"{"type":"record","name":"R","fields":[{"custom":true,"aliases":["x"],"order":"descending","doc":"fd","default":1,"type":"int","name":"a"}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","doc":"fd","default":1,"order":"descending","aliases":["x"],"custom":true}]}"#,
    ),
    (
        "ascending order is not written",
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","order":"ascending"}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#,
    ),
    (
        "a named type is written in full once, then by name relative to the enclosing namespace",
        r#"{"type":"record","name":"a.R","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["X"]}},{"name":"e2","type":"E"},{"name":"o","type":{"type":"record","name":"b.O","fields":[{"name":"e3","type":"a.E"}]}}]}"#,
        r#"{"type":"record","name":"R","namespace":"a","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["X"]}},{"name":"e2","type":"E"},{"name":"o","type":{"type":"record","name":"O","namespace":"b","fields":[{"name":"e3","type":"a.E"}]}}]}"#,
    ),
    (
        "a null namespace inside a namespaced record is written as an empty namespace",
        r#"{"type":"record","name":"R","namespace":"a","fields":[{"name":"x","type":{"type":"fixed","name":"F","namespace":"","size":2}},{"name":"y","type":"F"}]}"#,
        r#"{"type":"record","name":"R","namespace":"a","fields":[{"name":"x","type":{"type":"fixed","name":"F","namespace":"","size":2}},{"name":"y","type":"F"}]}"#,
    ),
    (
        "a null-namespace type referenced inside a namespace is written by its simple name (Avro 1.11)",
        r#"[{"type":"record","name":"A","fields":[]},{"type":"record","name":"B","namespace":"n","fields":[{"name":"a","type":"A"}]}]"#,
        r#"[{"type":"record","name":"A","fields":[]},{"type":"record","name":"B","namespace":"n","fields":[{"name":"a","type":"A"}]}]"#,
    ),
    (
        "numbers in defaults print as Jackson prints the parsed node",
        r#"{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":1},{"name":"e","type":"double","default":1e10},{"name":"f","type":"float","default":"1.5"},{"name":"g","type":"double","default":"NaN"},{"name":"h","type":"double","default":0.5},{"name":"i","type":"long","default":9007199254740993}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":1},{"name":"e","type":"double","default":1.0E10},{"name":"f","type":"float","default":1.5},{"name":"g","type":"double","default":"NaN"},{"name":"h","type":"double","default":0.5},{"name":"i","type":"long","default":9007199254740993}]}"#,
    ),
    (
        "an error type stays an error",
        r#"{"type":"error","name":"Oops","fields":[{"name":"m","type":"string"}]}"#,
        r#"{"type":"error","name":"Oops","fields":[{"name":"m","type":"string"}]}"#,
    ),
    (
        "enum attributes: symbols, default, props, then aliases relative to the enum's namespace",
        r#"{"p":1,"aliases":["n.Old","o.X"],"default":"A","symbols":["A","B"],"namespace":"n","name":"E","type":"enum"}"#,
        r#"{"type":"enum","name":"E","namespace":"n","symbols":["A","B"],"default":"A","p":1,"aliases":["Old","o.X"]}"#,
    ),
    (
        "fixed attributes: size then props",
        r#"{"type":"fixed","size":16,"name":"md5","logicalType":"x","doc":"digest"}"#,
        r#"{"type":"fixed","name":"md5","doc":"digest","size":16,"logicalType":"x"}"#,
    ),
    (
        "array and map keep their properties after items/values",
        r#"[{"type":"array","x":"y","items":"int"},{"values":{"type":"string","avro.java.string":"String"},"type":"map"}]"#,
        r#"[{"type":"array","items":"int","x":"y"},{"type":"map","values":{"type":"string","avro.java.string":"String"}}]"#,
    ),
    (
        "strings are escaped as Jackson does",
        "{\"type\":\"record\",\"name\":\"R\",\"doc\":\"quote \\\" slash / tab \\t ctl \\u0001 é\",\"fields\":[]}",
        "{\"type\":\"record\",\"name\":\"R\",\"doc\":\"quote \\\" slash / tab \\t ctl \\u0001 é\",\"fields\":[]}",
    ),
    (
        "a same-namespace reference whose simple name is a type name is written in full (Avro 1.11.3+)",
        r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":{"type":"fixed","name":"map","size":1}},{"name":"b","type":"n.map"}]}"#,
        r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":{"type":"fixed","name":"map","size":1}},{"name":"b","type":"n.map"}]}"#,
    ),
    (
        "whitespace and key order of the input do not matter",
        "{ \"fields\" : [ { \"type\" : \"string\", \"name\" : \"s\" } ],\n \"name\" : \"R\", \"type\" : \"record\" }",
        r#"{"type":"record","name":"R","fields":[{"name":"s","type":"string"}]}"#,
    ),
    (
        "a {\"type\": name} object refers to the named type and drops its other attributes",
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":1}},{"name":"b","type":{"type":"F","ignored":true}}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":1}},{"name":"b","type":"F"}]}"#,
    ),
];

#[test]
fn canonical_text_is_what_java_avro_prints() {
    for (description, input, expected) in CASES {
        assert_eq!(avro(input).canonical(), *expected, "{description}");
    }
}

#[test]
fn canonical_text_is_a_fixed_point() {
    for (description, input, _) in CASES {
        let once = avro(input);
        let twice = avro(once.canonical());
        assert_eq!(twice.canonical(), once.canonical(), "{description}");
    }
}

#[test]
fn a_recursive_record_refers_to_itself_by_name() {
    let s = avro(
        r#"{"type":"record","name":"Node","namespace":"l","fields":[{"name":"next","type":["null","Node"]}]}"#,
    );
    assert_eq!(
        s.canonical(),
        r#"{"type":"record","name":"Node","namespace":"l","fields":[{"name":"next","type":["null","Node"]}]}"#
    );
}

#[test]
fn mutually_recursive_records_are_written_once_each() {
    let s = avro(
        r#"{"type":"record","name":"A","namespace":"m","fields":[{"name":"b","type":{"type":"record","name":"B","fields":[{"name":"a","type":["null","A"]}]}}]}"#,
    );
    assert_eq!(
        s.canonical(),
        r#"{"type":"record","name":"A","namespace":"m","fields":[{"name":"b","type":{"type":"record","name":"B","fields":[{"name":"a","type":["null","A"]}]}}]}"#
    );
}

#[test]
fn a_short_name_resolves_in_the_enclosing_namespace_before_the_null_namespace() {
    // Both a null-namespace E and an n.E exist; inside namespace n, "E" means n.E.
    let s = avro(
        r#"[{"type":"enum","name":"E","symbols":["NULLSPACE"]},{"type":"record","name":"R","namespace":"n","fields":[{"name":"x","type":{"type":"enum","name":"E","symbols":["INNER"]}},{"name":"y","type":"E"}]}]"#,
    );
    assert_eq!(
        s.canonical(),
        r#"[{"type":"enum","name":"E","symbols":["NULLSPACE"]},{"type":"record","name":"R","namespace":"n","fields":[{"name":"x","type":{"type":"enum","name":"E","symbols":["INNER"]}},{"name":"y","type":"E"}]}]"#
    );
}

#[test]
fn logical_types_are_kept_as_properties() {
    let s = avro(
        r#"{"type":"record","name":"R","fields":[{"name":"d","type":{"type":"int","logicalType":"date"}},{"name":"u","type":{"type":"string","logicalType":"uuid"}},{"name":"m","type":{"type":"fixed","name":"M","size":8,"logicalType":"decimal","precision":10,"scale":2}}]}"#,
    );
    assert_eq!(
        s.canonical(),
        r#"{"type":"record","name":"R","fields":[{"name":"d","type":{"type":"int","logicalType":"date"}},{"name":"u","type":{"type":"string","logicalType":"uuid"}},{"name":"m","type":{"type":"fixed","name":"M","size":8,"logicalType":"decimal","precision":10,"scale":2}}]}"#
    );
}

#[test]
fn comments_are_accepted_as_java_avros_json_factory_allows_them() {
    let s = avro(
        "/* person */ {\"type\": \"record\", \"name\": \"R\", // the record\n \"fields\": []}",
    );
    assert_eq!(s.canonical(), r#"{"type":"record","name":"R","fields":[]}"#);
}
