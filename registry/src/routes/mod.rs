//! The REST API: one module per Confluent resource, each with its handlers and `router()`.

mod associations;
mod compatibility;
mod config;
mod contexts;
mod health;
mod metadata;
mod mode;
mod params;
mod schemas;
mod subjects;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::middleware::{self, Guard};
use crate::registry::Registry;
use crate::Error;

pub(crate) use params::schema_id as parse_schema_id;

/// Shared state of every handler.
pub type AppState = Arc<Registry>;

/// The API's routes, each with its OpenAPI description (see [`crate::openapi`]).
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::ApiInfo::openapi())
        .merge(metadata::router())
        .merge(schemas::router())
        .merge(subjects::router())
        .merge(compatibility::router())
        .merge(config::router())
        .merge(mode::router())
        .merge(contexts::router())
        .merge(associations::router())
        .merge(health::router())
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    // A schema travels as a JSON string, where escaping can double its size.
    let body_limit = state
        .settings()
        .max_schema_bytes
        .saturating_mul(2)
        .saturating_add(64 * 1024);
    let (routes, mut document) = api().split_for_parts();
    let (openapi_route, openapi_document) = OpenApiRouter::<crate::openapi::Document>::new()
        .routes(routes!(crate::openapi::serve))
        .split_for_parts();
    document.merge(openapi_document);
    document.merge(crate::metrics::document());
    let document = crate::openapi::Document::new(&document);
    let api = routes
        .merge(openapi_route.with_state(document))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit));
    let guard = Guard::new(&state.settings().limits, body_limit);
    harden(api, guard).with_state(state)
}

/// Wrap routes in the middleware that bounds and shapes every request (see
/// [`crate::middleware`]).
fn harden<S: Clone + Send + Sync + 'static>(routes: Router<S>, guard: Guard) -> Router<S> {
    routes
        .layer(axum::middleware::from_fn_with_state(guard, Guard::limit))
        .layer(axum::middleware::from_fn(middleware::confluent_errors))
        .layer(axum::middleware::from_fn(middleware::catch_panic))
}

async fn not_found() -> Response {
    Error::NotFound.into_response()
}

async fn method_not_allowed() -> Response {
    crate::http::json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &serde_json::json!({"error_code": 405, "message": "HTTP 405 Method Not Allowed"}),
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::limits::Limits;

    async fn call(app: Router, path: &str) -> (u16, serde_json::Value) {
        let resp = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn every_route_is_declared_with_its_openapi_description() {
        // Routes declared with `routes!` are in the document by construction; a plain
        // `.route(` would add one that is not. Only the unsupported associations do.
        let sources = [
            ("metadata.rs", include_str!("metadata.rs")),
            ("schemas.rs", include_str!("schemas.rs")),
            ("subjects.rs", include_str!("subjects.rs")),
            ("compatibility.rs", include_str!("compatibility.rs")),
            ("config.rs", include_str!("config.rs")),
            ("mode.rs", include_str!("mode.rs")),
            ("contexts.rs", include_str!("contexts.rs")),
            ("health.rs", include_str!("health.rs")),
            ("mod.rs", include_str!("mod.rs")),
        ];
        for (file, source) in sources {
            let code = source.split("#[cfg(test)]").next().unwrap_or(source);
            assert!(
                !code.contains(".route("),
                "{file} declares a route outside routes!()"
            );
        }
        let (_, document) = api().split_for_parts();
        for path in associations::UNDOCUMENTED {
            assert!(!document.paths.paths.contains_key(path));
        }
        assert!(
            document.paths.paths.len() >= 25,
            "{}",
            document.paths.paths.len()
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_a_confluent_body_and_the_router_goes_on() {
        async fn boom() -> &'static str {
            panic!("a bug in a handler")
        }
        let app = harden(
            Router::new()
                .route("/boom", get(boom))
                .route("/fine", get(|| async { axum::Json(serde_json::json!({})) })),
            Guard::new(&Limits::default(), 1024),
        );
        let (status, body) = call(app.clone(), "/boom").await;
        assert_eq!(status, 500);
        assert_eq!(body["error_code"], 50001, "{body}");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("Internal Server Error"));
        assert!(
            !body.to_string().contains("a bug in a handler"),
            "the cause is not shown"
        );
        assert_eq!(call(app, "/fine").await.0, 200);
    }

    #[tokio::test]
    async fn plain_text_rejections_get_a_confluent_body() {
        async fn plain() -> (StatusCode, &'static str) {
            (StatusCode::BAD_REQUEST, "Invalid URL: something")
        }
        let app = harden(
            Router::new().route("/plain", get(plain)),
            Guard::new(&Limits::default(), 1024),
        );
        let (status, body) = call(app, "/plain").await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            serde_json::json!({"error_code": 400, "message": "Invalid URL: something"})
        );
    }
}
