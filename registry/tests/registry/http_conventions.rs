//! Content negotiation, request-body rejections and unknown routes: Confluent's bodies and codes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::TestServer;

async fn raw(
    s: &TestServer,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> (u16, String, Value) {
    let mut req = s.client.request(method, format!("{}{}", s.base, path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        ct,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn responses_negotiate_confluent_media_types_and_refuse_others_with_406() {
    let s = TestServer::sqlite().await;
    let (status, ct, body) = raw(&s, Method::GET, "/", &[], None).await;
    assert_eq!(
        (status, ct.as_str(), body),
        (200, "application/vnd.schemaregistry.v1+json", json!({}))
    );
    let (_, ct, _) = raw(
        &s,
        Method::GET,
        "/config",
        &[("Accept", "application/json")],
        None,
    )
    .await;
    assert_eq!(ct, "application/json");
    let (_, ct, _) = raw(&s, Method::GET, "/config", &[("Accept", "*/*")], None).await;
    assert_eq!(ct, "application/vnd.schemaregistry.v1+json");
    let (status, _, body) = raw(
        &s,
        Method::GET,
        "/config",
        &[("Accept", "application/vnd.schemaregistry.v2+json")],
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            406,
            json!({"error_code": 406, "message": "HTTP 406 Not Acceptable"})
        )
    );
    s.stop().await;
}

#[tokio::test]
async fn request_bodies_are_checked_for_type_syntax_and_presence() {
    let s = TestServer::sqlite().await;
    let schema = json!({"schema": "\"string\""}).to_string();
    let (status, _, body) = raw(
        &s,
        Method::POST,
        "/subjects/a/versions",
        &[("Content-Type", "text/html")],
        Some(schema.clone().into_bytes()),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            415,
            json!({"error_code": 415, "message": "HTTP 415 Unsupported Media Type"})
        )
    );
    let (status, _, body) = raw(
        &s,
        Method::POST,
        "/subjects/a/versions",
        &[("Content-Type", "application/json")],
        Some(b"{oops".to_vec()),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (400, json!(400)),
        "{body}"
    );
    let (status, _, body) = raw(
        &s,
        Method::POST,
        "/subjects/a/versions",
        &[("Content-Type", "application/json")],
        Some(Vec::new()),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (422, json!(422)),
        "{body}"
    );
    // UTF-16 bodies are accepted.
    let utf16: Vec<u8> = schema
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .collect();
    let (status, _, body) = raw(
        &s,
        Method::POST,
        "/subjects/a/versions",
        &[("Content-Type", "application/json; charset=utf-16")],
        Some(utf16),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Octet-stream is treated as JSON, as Confluent does.
    let (status, _, _) = raw(
        &s,
        Method::POST,
        "/subjects/b/versions",
        &[("Content-Type", "application/octet-stream")],
        Some(schema.into_bytes()),
    )
    .await;
    assert_eq!(status, 200);
    s.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_malformed_ids_answer_404_with_a_confluent_body() {
    let s = TestServer::sqlite().await;
    for path in ["/nope", "/schemas/ids/abc", "/schemas/ids/99999999999"] {
        let (status, _, body) = raw(&s, Method::GET, path, &[], None).await;
        assert_eq!(
            (status, body),
            (
                404,
                json!({"error_code": 404, "message": "HTTP 404 Not Found"})
            ),
            "{path}"
        );
    }
    let (status, _, body) = raw(
        &s,
        Method::GET,
        "/associations/resources/default/orders?resourceType=topic",
        &[],
        None,
    )
    .await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40410)));
    let (status, _, body) = raw(&s, Method::GET, "/schemas/types", &[], None).await;
    assert_eq!((status, body), (200, json!(["AVRO", "JSON", "PROTOBUF"])));
    let (status, _, body) = raw(&s, Method::GET, "/contexts", &[], None).await;
    assert_eq!((status, body), (200, json!(["."])));
    let (status, _, body) = raw(&s, Method::GET, "/v1/metadata/id", &[], None).await;
    assert_eq!(status, 200);
    assert!(body["scope"]["clusters"].is_object());
    let (status, _, body) = raw(&s, Method::GET, "/subjects/a%0Ab/versions", &[], None).await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (422, json!(42208)),
        "{body}"
    );
    s.stop().await;
}

#[tokio::test]
async fn schemas_up_to_the_configured_size_are_accepted_and_larger_ones_answer_42209() {
    let s = TestServer::sqlite().await;
    // ~3 MB of doc text: above axum's default body limit, below Strata's 8 MB default.
    let doc = "x".repeat(3 * 1024 * 1024);
    let schema = json!({"type": "record", "name": "Big", "doc": doc, "fields": [{"name": "a", "type": "int"}]}).to_string();
    let (status, body) = s.register("big-value", &schema).await;
    assert_eq!(
        status,
        200,
        "{}",
        body.to_string().chars().take(200).collect::<String>()
    );
    let huge =
        json!({"type": "record", "name": "Huge", "doc": "y".repeat(9 * 1024 * 1024), "fields": []})
            .to_string();
    let (status, body) = s.register("huge-value", &huge).await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42209)));
    s.stop().await;
}
