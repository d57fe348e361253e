//! Requests that Confluent Schema Registry 8.x answers in a way a new user would not guess
//! (issue 13): each asserts Confluent's status, error code and message, on both engines.

use serde_json::{json, Value};

use crate::harness::{record, TestServer};

fn error(code: i64, message: &str) -> Value {
    json!({"error_code": code, "message": message})
}

/// Item 1: a numbered version that is missing (subject unknown, or all its versions soft- or
/// hard-deleted) is 40402 `Version N not found.`; `latest` of such a subject is compatible.
pub async fn compatibility_against_a_missing_numbered_version_answers_40402(s: &TestServer) {
    let schema = record("R", &[("a", "int", None)]);
    let check = |subject: &str, version: &str| {
        let path = format!("/compatibility/subjects/{subject}/versions/{version}");
        let body = json!({ "schema": schema });
        async move { s.post(&path, body).await }
    };
    assert_eq!(
        check("nosuch", "1").await,
        (404, error(40402, "Version 1 not found.")),
        "a subject that was never registered"
    );
    assert_eq!(
        check("nosuch", "latest").await,
        (200, json!({"is_compatible": true}))
    );

    s.register_ok("soft", &schema).await;
    assert_eq!(
        check("soft", "2").await,
        (404, error(40402, "Version 2 not found.")),
        "a version above the latest"
    );
    assert_eq!(s.delete("/subjects/soft").await.0, 200);
    assert_eq!(
        check("soft", "1").await,
        (404, error(40402, "Version 1 not found.")),
        "a subject whose only version is soft-deleted"
    );
    assert_eq!(
        check("soft", "latest").await,
        (200, json!({"is_compatible": true}))
    );
    assert_eq!(s.delete("/subjects/soft?permanent=true").await.0, 200);
    assert_eq!(
        check("soft", "1").await,
        (404, error(40402, "Version 1 not found.")),
        "a subject whose only version is hard-deleted"
    );
}

/// Item 2: Jersey reads `Accept: *` as `*/*` and a wildcard type as matching any subtype.
pub async fn wildcard_accept_headers_answer_with_the_v1_media_type(s: &TestServer) {
    s.register_ok("accept-value", &record("R", &[("a", "int", None)]))
        .await;
    for accept in ["*", "*/does_not_matter", "*; q=.2", "application"] {
        let resp = s
            .client
            .get(format!("{}/subjects", s.base))
            .header("Accept", accept)
            .send()
            .await
            .expect("sent");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body: Value = resp.json().await.expect("a JSON body");
        assert_eq!(
            (status, content_type.as_str(), body),
            (
                200,
                "application/vnd.schemaregistry.v1+json",
                json!(["accept-value"])
            ),
            "Accept: {accept}"
        );
    }
    let resp = s
        .client
        .get(format!("{}/subjects", s.base))
        .header("Accept", "text/*")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 406, "Accept: text/*");
}

/// Item 5: a lookup without a schema matches nothing (Confluent fills in the latest schema
/// only when registering).
pub async fn a_lookup_without_a_schema_answers_40403(s: &TestServer) {
    s.register_ok("lookup-empty-value", &record("R", &[("a", "int", None)]))
        .await;
    for body in [json!({}), json!({"schema": null}), json!({"schema": ""})] {
        assert_eq!(
            s.post("/subjects/lookup-empty-value", body.clone()).await,
            (404, error(40403, "Schema not found")),
            "lookup with {body}"
        );
    }
    // An unknown subject is still reported as such.
    assert_eq!(
        s.post("/subjects/nobody-value", json!({})).await,
        (404, error(40401, "Subject 'nobody-value' not found."))
    );
}

async fn register_protobuf(
    s: &TestServer,
    subject: &str,
    schema: &str,
    refs: Value,
) -> (u16, Value) {
    s.post(
        &format!("/subjects/{subject}/versions"),
        json!({"schema": schema, "schemaType": "PROTOBUF", "references": refs}),
    )
    .await
}

/// Item 3: custom options defined nowhere are accepted, kept in the stored text and ignored for
/// compatibility.
pub async fn protobuf_custom_options_defined_nowhere_are_kept_and_ignored(s: &TestServer) {
    let v1 = "syntax = \"proto3\";\nmessage M { option (my_option) = true; int32 a = 1; }";
    let (status, body) = register_protobuf(s, "opts-value", v1, json!([])).await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_i64().expect("an id");
    let stored = s.get(&format!("/schemas/ids/{id}")).await.1;
    assert!(
        stored["schema"]
            .as_str()
            .is_some_and(|t| t.contains("option (my_option) = true;")),
        "{stored}"
    );
    // The option on a field, a oneof, an enum or the file is accepted too.
    for (subject, text) in [
        ("opts-field", "syntax = \"proto3\";\nmessage M { int32 a = 1 [(my_option) = true]; }"),
        ("opts-oneof", "syntax = \"proto3\";\nmessage M { oneof o { option (my_option) = true; int32 a = 1; } }"),
        ("opts-enum", "syntax = \"proto3\";\nenum E { option (my_option) = true; X = 0; }\nmessage M { E e = 1; }"),
        ("opts-file", "syntax = \"proto3\";\noption (my_option) = true;\nmessage M { int32 a = 1; }"),
    ] {
        let (status, body) = register_protobuf(s, subject, text, json!([])).await;
        assert_eq!(status, 200, "{subject}: {body}");
    }
    // Normalised, the option stays.
    let (status, body) = s
        .post(
            "/subjects/opts-normalized/versions?normalize=true",
            json!({"schema": v1, "schemaType": "PROTOBUF"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let normalized = s.get(&format!("/schemas/ids/{}", body["id"])).await.1;
    assert!(
        normalized["schema"]
            .as_str()
            .is_some_and(|t| t.contains("(my_option) = true")),
        "{normalized}"
    );
    // Changing or dropping the option is no change for compatibility (BACKWARD by default).
    let v2 = "syntax = \"proto3\";\nmessage M { option (my_option) = false; int32 a = 1 [(other) = 2]; }";
    let (status, body) = s
        .post(
            "/compatibility/subjects/opts-value/versions/latest",
            json!({"schema": v2, "schemaType": "PROTOBUF"}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"is_compatible": true})));
    let (status, body) = register_protobuf(s, "opts-value", v2, json!([])).await;
    assert_eq!((status, body["version"].clone()), (200, json!(2)), "{body}");
}

/// Item 4: types resolve across every referenced schema, whatever the import line names.
pub async fn protobuf_types_resolve_across_references_whatever_the_import_names(s: &TestServer) {
    let referenced = "syntax = \"proto3\";\nmessage NoReference {\n  message NoReferenceNested {\n    string s = 1;\n  }\n  NoReferenceNested nested = 1;\n}\n";
    let (status, body) = register_protobuf(s, "s1", referenced, json!([])).await;
    assert_eq!(status, 200, "{body}");
    let using = "syntax = \"proto3\";\nimport \"NoReferenceNested.proto\";\nmessage Uses {\n  NoReference.NoReferenceNested n = 1;\n}\n";
    let refs = json!([{"name": "NoReference.proto", "subject": "s1", "version": 1}]);
    let (status, body) = register_protobuf(s, "s2", using, refs.clone()).await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_i64().expect("an id");
    let stored = s.get(&format!("/schemas/ids/{id}")).await.1;
    assert!(
        stored["schema"]
            .as_str()
            .is_some_and(|t| t.contains("import \"NoReferenceNested.proto\";")),
        "the import line is kept: {stored}"
    );
    assert_eq!(stored["references"], refs);
    // Read back, looked up and checked like any other schema.
    let (status, found) = s
        .post(
            "/subjects/s2",
            json!({"schema": using, "schemaType": "PROTOBUF", "references": refs}),
        )
        .await;
    assert_eq!((status, found["id"].as_i64()), (200, Some(id)), "{found}");
    let changed = "syntax = \"proto3\";\nimport \"NoReferenceNested.proto\";\nmessage Uses {\n  NoReference.NoReferenceNested n = 1;\n  int32 extra = 2;\n}\n";
    let (status, body) = s
        .post(
            "/compatibility/subjects/s2/versions/latest",
            json!({"schema": changed, "schemaType": "PROTOBUF", "references": refs}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"is_compatible": true})));
    assert_eq!(
        s.get("/subjects/s1/versions/1/referencedby").await.1,
        json!([id])
    );
}

/// Item 6: new Avro schemas follow Avro 1.12.1 as Confluent 8.x applies it.
pub async fn new_avro_schemas_follow_avro_1_12_1(s: &TestServer) {
    // A union default may match any branch, in records, arrays and maps.
    for (subject, field_type, default) in [
        ("u-record", json!(["string", "null"]), json!(null)),
        (
            "u-array",
            json!({"type": "array", "items": ["string", "null"]}),
            json!([null]),
        ),
        (
            "u-map",
            json!({"type": "map", "values": ["string", "null"]}),
            json!({"k": null}),
        ),
    ] {
        let schema = json!({"type": "record", "name": "R", "fields": [
            {"name": "g1", "type": field_type, "default": default}
        ]})
        .to_string();
        let (status, body) = s.register(subject, &schema).await;
        assert_eq!(status, 200, "{subject}: {body}");
    }
    // The whole 42201 as Confluent 8.x words it: the provider's "Invalid schema <entity> with
    // refs [] of type AVRO, details: <Avro's message>" wrapped once more by the registry, the
    // entity being the request's Schema (guid: MD5 of the text, as a UUID).
    let schema = r#"{"type":"record","name":"R","namespace":"foo-bar-baz","fields":[]}"#;
    let (status, body) = s.register("names-value", schema).await;
    let guid = strata_schema::guid::schema_guid(schema, &[], None, None);
    let entity = format!(
        "{{subject=names-value,version=0,id=-1,guid={guid},schemaType=AVRO,references=[],metadata=null,ruleSet=null,schema={schema},schemaTags=null,ts=null,createTs=null,deleted=null}}"
    );
    let provider = format!(
        r#"Invalid schema {entity} with refs [] of type AVRO, details: Namespace part "foo-bar-baz" is invalid: Illegal character in: foo-bar-baz"#
    );
    assert_eq!(
        (status, body),
        (
            422,
            json!({
                "error_code": 42201,
                "message": format!("Invalid schema {entity} with refs [] of type AVRO, details: {provider}")
            })
        )
    );
    // A JSON schema is read as a schema after the provider (which only reads the JSON):
    // Confluent's validation step words it without "with refs".
    let text = r#"{"type": 12}"#;
    let (status, body) = s
        .post(
            "/subjects/json-value/versions",
            json!({"schema": text, "schemaType": "JSON"}),
        )
        .await;
    let guid = strata_schema::guid::schema_guid(text, &[], None, None);
    let prefix = format!(
        "Invalid schema {{subject=json-value,version=0,id=-1,guid={guid},schemaType=JSON,references=[],metadata=null,ruleSet=null,schema={text},schemaTags=null,ts=null,createTs=null,deleted=null}}, details: "
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert_eq!(status, 422, "{body}");
    assert!(message.starts_with(&prefix), "{message}");
    assert!(
        !message[prefix.len()..].contains("Invalid schema"),
        "{message}"
    );
    // Names and namespace parts must be ASCII.
    for (schema, reason) in [
        (
            r#"{"type":"record","name":"R","namespace":"foo-bar-baz","fields":[]}"#,
            r#"details: Namespace part "foo-bar-baz" is invalid: Illegal character in: foo-bar-baz"#,
        ),
        (
            r#"{"type":"record","name":"été","fields":[]}"#,
            "details: Illegal initial character: été",
        ),
        (
            r#"{"type":"record","name":"R1","fields":[{"name":"f4","type":{"type":"record","name":"R3","namespace":"com.acme.v2","fields":[{"name":"children","type":{"type":"array","items":"R1"}}]}}]}"#,
            "Undefined schema: com.acme.v2.R1",
        ),
    ] {
        let (status, body) = s.register("names-value", schema).await;
        assert_eq!(
            (status, body["error_code"].clone()),
            (422, json!(42201)),
            "{body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains(reason)),
            "{schema}: {body}"
        );
    }
    assert_eq!(s.get("/subjects/names-value/versions").await.0, 404);
}
