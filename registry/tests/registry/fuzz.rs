//! Property tests: random and mutated requests (paths, queries, bodies, schemas of every format)
//! against every endpoint. Whatever is sent, the server answers with a status below 500 and,
//! for every error, Confluent's `{"error_code": N, "message": "…"}` body; and it keeps
//! answering.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::TestServer;

const AVRO: &str = r#"{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"},{"name":"tags","type":{"type":"array","items":"string"}},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},{"name":"email","type":["null","string"],"default":null}]}"#;
const PROTO: &str = "syntax = \"proto3\";\npackage fuzz;\nimport \"google/protobuf/timestamp.proto\";\nmessage Order {\n  string id = 1;\n  repeated Line lines = 2 [packed = false];\n  map<string, int64> totals = 3;\n  google.protobuf.Timestamp at = 4;\n  oneof pay { string card = 5; string iban = 6; }\n  message Line { string sku = 1; int32 qty = 2; }\n  enum State { NEW = 0; DONE = 1; }\n}\n";
const JSON_SCHEMA: &str = r##"{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"id":{"type":"integer","minimum":0},"name":{"type":"string","pattern":"^[a-z]+$"},"tags":{"type":"array","items":{"$ref":"#/definitions/tag"}},"any":{"anyOf":[{"type":"string"},{"type":"number"}]}},"required":["id"],"additionalProperties":false,"definitions":{"tag":{"type":"string","maxLength":10}}}"##;

/// One generated request.
#[derive(Debug, Clone)]
struct Fuzzed {
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
}

/// A schema of one of the formats, cut and spliced at random.
fn mutated_schema() -> impl Strategy<Value = (String, &'static str)> {
    (
        prop::sample::select(vec![
            (AVRO, "AVRO"),
            (PROTO, "PROTOBUF"),
            (JSON_SCHEMA, "JSON"),
        ]),
        any::<prop::sample::Index>(),
        0usize..40,
        prop::sample::select(vec![
            "",
            "{",
            "}",
            "[",
            "]",
            "\"",
            "\\",
            "{{{{{{{{",
            "message M {",
            "null",
            "0",
            "-1",
            "\u{0}",
            "é",
            "\u{FFFF}",
            "$ref",
            "\"$ref\":\"#/x\"",
            "anyOf",
            "}}}}}}",
            ";",
            "=",
        ]),
        any::<bool>(),
    )
        .prop_map(|((text, ty), at, cut, insert, swap_type)| {
            let bytes = text.as_bytes();
            let start = at.index(bytes.len());
            let end = (start + cut).min(bytes.len());
            let mut out = bytes[..start].to_vec();
            out.extend_from_slice(insert.as_bytes());
            out.extend_from_slice(&bytes[end..]);
            let ty = if swap_type { "PROTOBUF" } else { ty };
            (String::from_utf8_lossy(&out).into_owned(), ty)
        })
}

/// A path segment: sometimes valid, sometimes hostile (percent-encoded bytes that are not
/// UTF-8, dots, huge numbers).
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["fuzz-value", "fuzz-key", "other"]).prop_map(String::from),
        "[a-zA-Z0-9._:-]{0,20}",
        prop::sample::select(vec![
            "%FF",
            "%C3%28",
            "%00",
            "..",
            ".",
            "%2F",
            "%25",
            "latest",
            "-1",
            "0",
            "99999999999999999999",
            "2147483648",
            "%E2%82",
            ":.ctx:s",
        ])
        .prop_map(String::from),
        any::<u32>().prop_map(|n| n.to_string()),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                "deleted",
                "permanent",
                "normalize",
                "verbose",
                "force",
                "format",
                "offset",
                "limit",
                "subjectPrefix",
                "defaultToGlobal",
                "fetchMaxId",
                "key",
                "value",
                "latestOnly",
                "deletedOnly",
            ]),
            prop::sample::select(vec![
                "true",
                "false",
                "TRUE",
                "x",
                "-1",
                "0",
                "99999999999999999999",
                "serialized",
                "%FF",
                "",
            ]),
        ),
        0..4,
    )
    .prop_map(|pairs| {
        if pairs.is_empty() {
            return String::new();
        }
        let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("?{}", q.join("&"))
    })
}

fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        mutated_schema().prop_map(|(schema, ty)| Some(
            json!({"schema": schema, "schemaType": ty}).to_string().into_bytes()
        )),
        (mutated_schema(), 0usize..3).prop_map(|((schema, ty), refs)| {
            let references: Vec<Value> = (0..refs)
                .map(|i| json!({"name": format!("r{i}.proto"), "subject": "fuzz-value", "version": i}))
                .collect();
            Some(
                json!({"schema": schema, "schemaType": ty, "references": references,
                       "metadata": {"properties": {"k": "v"}}})
                .to_string()
                .into_bytes(),
            )
        }),
        prop::sample::select(vec![
            json!({"compatibility": "FULL"}),
            json!({"compatibility": "nonsense"}),
            json!({"compatibilityLevel": 3}),
            json!({"mode": "READONLY"}),
            json!({"mode": "IMPORT"}),
            json!({"mode": "READWRITE"}),
            json!({"mode": 1}),
            json!({"schema": null}),
            json!({"schema": 12}),
            json!([]),
            json!(null),
            json!("string"),
            json!({"schema": "\"string\"", "id": -5, "version": 0}),
        ])
        .prop_map(|v| Some(v.to_string().into_bytes())),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Some),
        // The request's JSON text itself cut and spliced.
        (mutated_schema(), any::<prop::sample::Index>(), 0usize..20).prop_map(
            |((schema, ty), at, cut)| {
                let text = json!({"schema": schema, "schemaType": ty}).to_string().into_bytes();
                let start = at.index(text.len());
                let end = (start + cut).min(text.len());
                let mut out = text[..start].to_vec();
                out.extend_from_slice(&text[end..]);
                Some(out)
            }
        ),
    ]
}

fn request() -> impl Strategy<Value = Fuzzed> {
    let templates = prop::sample::select(vec![
        (Method::GET, "/"),
        (Method::GET, "/subjects"),
        (Method::GET, "/schemas"),
        (Method::GET, "/schemas/types"),
        (Method::GET, "/schemas/ids/{v}"),
        (Method::GET, "/schemas/ids/{v}/schema"),
        (Method::GET, "/schemas/ids/{v}/subjects"),
        (Method::GET, "/schemas/ids/{v}/versions"),
        (Method::GET, "/schemas/guids/{s}"),
        (Method::POST, "/subjects/{s}"),
        (Method::DELETE, "/subjects/{s}"),
        (Method::GET, "/subjects/{s}/versions"),
        (Method::POST, "/subjects/{s}/versions"),
        (Method::GET, "/subjects/{s}/versions/{v}"),
        (Method::DELETE, "/subjects/{s}/versions/{v}"),
        (Method::GET, "/subjects/{s}/versions/{v}/schema"),
        (Method::GET, "/subjects/{s}/versions/{v}/referencedby"),
        (Method::GET, "/subjects/{s}/metadata"),
        (Method::POST, "/compatibility/subjects/{s}/versions"),
        (Method::POST, "/compatibility/subjects/{s}/versions/{v}"),
        (Method::GET, "/config"),
        (Method::PUT, "/config/{s}"),
        (Method::GET, "/config/{s}"),
        (Method::DELETE, "/config/{s}"),
        (Method::PUT, "/mode/{s}"),
        (Method::GET, "/mode/{s}"),
        (Method::DELETE, "/mode/{s}"),
        (Method::GET, "/contexts"),
        (Method::PATCH, "/subjects/{s}/versions"),
    ]);
    (templates, segment(), segment(), query(), body()).prop_map(
        |((method, template), s, v, query, body)| Fuzzed {
            method,
            path: format!("{}{query}", template.replace("{s}", &s).replace("{v}", &v)),
            body,
        },
    )
}

pub async fn random_and_mutated_requests_never_get_a_5xx_or_a_foreign_body(s: &TestServer) {
    // Something to find, reference, delete and check against.
    s.post("/subjects/fuzz-value/versions", json!({"schema": AVRO}))
        .await;
    s.post(
        "/subjects/fuzz-key/versions",
        json!({"schema": PROTO, "schemaType": "PROTOBUF"}),
    )
    .await;
    s.post(
        "/subjects/other/versions",
        json!({"schema": JSON_SCHEMA, "schemaType": "JSON"}),
    )
    .await;
    let mut runner = TestRunner::new(Config {
        cases: 1000,
        ..Config::default()
    });
    let strategy = request();
    for case in 0..1000 {
        let req = strategy
            .new_tree(&mut runner)
            .expect("a request is generated")
            .current();
        let mut call = s
            .client
            .request(req.method.clone(), format!("{}{}", s.base, req.path));
        if let Some(b) = &req.body {
            call = call
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .body(b.clone());
        }
        let resp = match call.send().await {
            Ok(r) => r,
            // reqwest refuses some URLs before sending (that is the client, not the server).
            Err(e) if e.is_builder() => continue,
            Err(e) => panic!("case {case}: {req:?}: the request failed: {e}"),
        };
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        assert!(
            status < 500,
            "case {case}: {req:?} answered {status}: {text}"
        );
        if status >= 400 {
            let body: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("case {case}: {req:?}: not JSON: {text}"));
            assert!(
                body["error_code"].is_u64() && body["message"].is_string(),
                "case {case}: {req:?}: not a Confluent error body: {text}"
            );
        }
    }
    // Still serving.
    assert_eq!(s.get("/").await.0, 200);
}

on_both_engines!(random_and_mutated_requests_never_get_a_5xx_or_a_foreign_body);
