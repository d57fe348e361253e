//! `GET /openapi.json`: the document lists every route the router serves, and the router
//! serves every operation the document lists. (Its validity against the OpenAPI specification
//! is checked by `openapi-spec-validator` in tests/interop/test_registry_operations.py.)

use reqwest::Method;
use serde_json::Value;

use crate::harness::TestServer;

const METHODS: [&str; 4] = ["get", "post", "put", "delete"];

/// A concrete path for a template (any value will do: only the routing is tested).
fn concrete(template: &str) -> String {
    template
        .replace("{subject}", "openapi-probe")
        .replace("{version}", "1")
        .replace("{id}", "1")
        .replace("{guid}", "0b9cc8c0-0000-0000-0000-000000000000")
        .replace("{context}", "probe-context")
}

/// Whether an answer came from the router's fallbacks (no route, or no such method on it)
/// rather than from a handler.
fn from_fallback(status: u16, body: &Value) -> bool {
    status == 405 || (status == 404 && body["error_code"] == 404)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served_and_no_other_method_is() {
    let s = TestServer::sqlite().await;
    let (status, document) = s.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (template, item) in paths {
        assert!(!template.contains('*'), "{template}");
        let path = concrete(template);
        for method in METHODS {
            let documented = item.get(method).is_some();
            let body = (method == "post" || method == "put").then(|| serde_json::json!({}));
            let (status, answer) = s
                .call(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &path,
                    body,
                )
                .await;
            if documented {
                operations += 1;
                assert!(
                    !from_fallback(status, &answer),
                    "{} {template} is documented but not served: {status} {answer}",
                    method.to_uppercase()
                );
                let op = &item[method];
                assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
                // Every path parameter of the template is declared.
                for name in template
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split('}').next())
                {
                    let declared = op["parameters"].as_array().is_some_and(|ps| {
                        ps.iter().any(|p| p["name"] == name && p["in"] == "path")
                    });
                    assert!(declared, "{method} {template}: {{{name}}} is not declared");
                }
            } else {
                assert_eq!(
                    status,
                    405,
                    "{} {template} is served but not documented: {answer}",
                    method.to_uppercase()
                );
            }
        }
    }
    assert!(operations >= 40, "{operations} operations");
    // The Confluent paths clients use are all there, and so are the operations endpoints.
    for path in [
        "/subjects/{subject}/versions",
        "/schemas/ids/{id}",
        "/compatibility/subjects/{subject}/versions/{version}",
        "/config/{subject}",
        "/mode",
        "/health/ready",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} is missing");
    }
    s.stop().await;
}
