//! Protobuf and JSON Schema through the registry: references, lookup, normalize, verbose
//! compatibility messages, formats, and a changed schema type.

use serde_json::{json, Value};

use crate::harness::TestServer;

async fn register_typed(
    s: &TestServer,
    subject: &str,
    schema_type: &str,
    schema: &str,
    refs: Value,
) -> (u16, Value) {
    s.post(
        &format!("/subjects/{subject}/versions"),
        json!({"schema": schema, "schemaType": schema_type, "references": refs}),
    )
    .await
}

const ORDER_PROTO: &str = r#"syntax = "proto3";
package shop;

import "shop/customer.proto";
import "google/protobuf/timestamp.proto";

message Order {
  int64 id = 1;
  Customer customer = 2;
  google.protobuf.Timestamp placed_at = 3;
  message Line {
    string sku = 1;
    int32 quantity = 2;
  }
  repeated Line lines = 4;
}
"#;

const CUSTOMER_PROTO: &str = r#"syntax = "proto3";
package shop;

message Customer {
  string name = 1;
}
"#;

pub async fn protobuf_schemas_register_with_references_and_check_compatibility(s: &TestServer) {
    let (status, customer) =
        register_typed(s, "customer", "PROTOBUF", CUSTOMER_PROTO, json!([])).await;
    assert_eq!(status, 200, "{customer}");
    assert_eq!(customer["schemaType"], "PROTOBUF");
    let refs = json!([{"name": "shop/customer.proto", "subject": "customer", "version": 1}]);
    let (status, order) =
        register_typed(s, "orders-value", "PROTOBUF", ORDER_PROTO, refs.clone()).await;
    assert_eq!(status, 200, "{order}");
    let order_id = order["id"].as_i64().unwrap();
    assert_eq!(
        s.get("/subjects/customer/versions/1/referencedby").await.1,
        json!([order_id])
    );
    let (_, by_id) = s.get(&format!("/schemas/ids/{order_id}")).await;
    assert_eq!(by_id["schemaType"], "PROTOBUF");
    assert_eq!(by_id["references"], refs);
    assert!(
        by_id["schema"].as_str().unwrap().contains("message Order"),
        "{by_id}"
    );

    // Lookup by the same text finds it; re-registering returns the same version.
    let (status, found) = s
        .post(
            "/subjects/orders-value",
            json!({"schema": ORDER_PROTO, "schemaType": "PROTOBUF", "references": refs}),
        )
        .await;
    assert_eq!(
        (status, found["id"].as_i64()),
        (200, Some(order_id)),
        "{found}"
    );
    let (_, again) = register_typed(s, "orders-value", "PROTOBUF", ORDER_PROTO, refs.clone()).await;
    assert_eq!(
        (again["id"].as_i64(), again["version"].as_i64()),
        (Some(order_id), Some(1))
    );

    // format=serialized answers a base64 FileDescriptorProto; that form is accepted as input
    // and describes the same messages (no differences either way).
    let (status, serialized) = s
        .get(&format!("/schemas/ids/{order_id}?format=serialized"))
        .await;
    assert_eq!(status, 200, "{serialized}");
    let b64 = serialized["schema"].as_str().unwrap().to_string();
    assert!(!b64.contains("message"), "serialized form is base64: {b64}");
    s.put("/config/orders-copy", json!({"compatibility": "FULL"}))
        .await;
    let (status, copy) = register_typed(s, "orders-copy", "PROTOBUF", &b64, refs.clone()).await;
    assert_eq!(status, 200, "{copy}");
    assert!(
        copy["schema"].as_str().unwrap().contains("message Order"),
        "{copy}"
    );
    let (_, check) = s
        .post(
            "/compatibility/subjects/orders-copy/versions/latest",
            json!({"schema": ORDER_PROTO, "schemaType": "PROTOBUF", "references": refs}),
        )
        .await;
    assert_eq!(
        check,
        json!({"is_compatible": true}),
        "text and descriptor forms agree"
    );

    // Changing a field's kind is incompatible, with Confluent's message and path.
    let changed = ORDER_PROTO.replace("int64 id = 1;", "string id = 1;");
    let (_, body) = s
        .post(
            "/compatibility/subjects/orders-value/versions/latest?verbose=true",
            json!({"schema": changed, "schemaType": "PROTOBUF", "references": refs}),
        )
        .await;
    assert_eq!(body["is_compatible"], false, "{body}");
    assert!(
        body["messages"]
            .to_string()
            .contains("FIELD_SCALAR_KIND_CHANGED"),
        "{body}"
    );
    assert!(body["messages"].to_string().contains("#/Order/1"), "{body}");
    let (status, err) = register_typed(s, "orders-value", "PROTOBUF", &changed, refs.clone()).await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (409, json!(409)),
        "{err}"
    );
    // Adding a field is compatible.
    let added = ORDER_PROTO.replace(
        "repeated Line lines = 4;",
        "repeated Line lines = 4;\n  string note = 5;",
    );
    let (status, v2) = register_typed(s, "orders-value", "PROTOBUF", &added, refs).await;
    assert_eq!((status, v2["version"].clone()), (200, json!(2)), "{v2}");

    // Invalid text is 42201 with the parser's reason.
    let (status, err) = register_typed(
        s,
        "bad-proto",
        "PROTOBUF",
        "syntax = \"proto3\"; message {",
        json!([]),
    )
    .await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42201)),
        "{err}"
    );
}

pub async fn protobuf_normalize_gives_one_id_to_reformatted_schemas(s: &TestServer) {
    let a = "syntax = \"proto3\";\npackage p;\nimport \"google/protobuf/timestamp.proto\";\nimport \"google/protobuf/duration.proto\";\nmessage M { int32 a = 1; google.protobuf.Timestamp t = 2; google.protobuf.Duration d = 3; }\n";
    let b = "syntax = \"proto3\";\n\npackage p;\n\nimport \"google/protobuf/duration.proto\";\nimport \"google/protobuf/timestamp.proto\";\n\nmessage M {\n    int32 a = 1;\n    google.protobuf.Timestamp t = 2;\n    google.protobuf.Duration d = 3;\n}\n";
    let (status, first) = s
        .post(
            "/subjects/norm-value/versions?normalize=true",
            json!({"schema": a, "schemaType": "PROTOBUF"}),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = s
        .post(
            "/subjects/norm-value/versions?normalize=true",
            json!({"schema": b, "schemaType": "PROTOBUF"}),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        (second["id"].clone(), second["version"].clone()),
        (first["id"].clone(), json!(1))
    );
}

pub async fn json_schemas_register_with_references_and_check_compatibility(s: &TestServer) {
    let address = r#"{"$id":"https://example.com/address.json","type":"object","properties":{"street":{"type":"string"}}}"#;
    let (status, body) = register_typed(s, "address-json", "JSON", address, json!([])).await;
    assert_eq!(status, 200, "{body}");
    let person = r#"{"type":"object","title":"Person","properties":{"name":{"type":"string"},"home":{"$ref":"https://example.com/address.json"}},"required":["name"]}"#;
    let refs = json!([{"name": "https://example.com/address.json", "subject": "address-json", "version": 1}]);
    let (status, body) = register_typed(s, "person-value", "JSON", person, refs.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["schemaType"], "JSON");
    let id = body["id"].as_i64().unwrap();
    assert_eq!(
        s.get("/subjects/address-json/versions/1/referencedby")
            .await
            .1,
        json!([id])
    );
    // Canonical text is compact JSON in the original key order.
    let (_, by_id) = s.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(by_id["schema"], person);

    // Narrowing a type is incompatible (Confluent's TYPE_NARROWED, STRICT by default).
    let narrowed = person.replace(
        r#""name":{"type":"string"}"#,
        r#""name":{"type":"string","maxLength":3}"#,
    );
    let (_, check) = s
        .post(
            "/compatibility/subjects/person-value/versions/latest?verbose=true",
            json!({"schema": narrowed, "schemaType": "JSON", "references": refs}),
        )
        .await;
    assert_eq!(check["is_compatible"], false, "{check}");
    assert!(
        check["messages"].to_string().contains("MAX_LENGTH_ADDED"),
        "{check}"
    );

    // An open content model: adding an optional property is incompatible under STRICT and
    // compatible under LENIENT (compatibilityPolicy).
    let open_v1 = r#"{"type":"object","properties":{"a":{"type":"string"}}}"#;
    let open_v2 = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}}"#;
    assert_eq!(
        register_typed(s, "open-value", "JSON", open_v1, json!([]))
            .await
            .0,
        200
    );
    let (status, _) = register_typed(s, "open-value", "JSON", open_v2, json!([])).await;
    assert_eq!(
        status, 409,
        "STRICT refuses a property added to an open model"
    );
    s.put(
        "/config/open-value",
        json!({"compatibilityPolicy": "LENIENT"}),
    )
    .await;
    let (status, body) = register_typed(s, "open-value", "JSON", open_v2, json!([])).await;
    assert_eq!(status, 200, "LENIENT accepts it: {body}");

    let (status, err) = register_typed(s, "bad-json", "JSON", r#"{"type": 5}"#, json!([])).await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42201)),
        "{err}"
    );
}

pub async fn a_changed_schema_type_is_incompatible(s: &TestServer) {
    let (status, _) = register_typed(s, "mixed-value", "AVRO", r#""string""#, json!([])).await;
    assert_eq!(status, 200);
    let (_, check) = s
        .post(
            "/compatibility/subjects/mixed-value/versions/latest?verbose=true",
            json!({"schema": r#"{"type":"string"}"#, "schemaType": "JSON"}),
        )
        .await;
    assert_eq!(check["is_compatible"], false);
    assert!(
        check["messages"]
            .to_string()
            .contains("Incompatible because of different schema type"),
        "{check}"
    );
    let (status, _) =
        register_typed(s, "mixed-value", "JSON", r#"{"type":"string"}"#, json!([])).await;
    assert_eq!(status, 409);
}
