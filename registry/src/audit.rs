//! The audit log: every mutation (register, delete, config, mode, and so import, which
//! registers under IMPORT mode) as one structured line on the `audit` target, so it can be
//! routed on its own (`STRATA_LOG=info,audit=info`, or `audit=off`).
//!
//! Fields: `user` (empty without a users file), `remote`, `method`, `route`, `subject`,
//! `version`, `id` (from the answer, when it names them), `status` and `outcome`
//! (`ok`, `refused` for a 4xx, `failed` for a 5xx). Lookups and compatibility tests are POSTs
//! that change nothing and are not audited. A mutation refused for its credentials is audited
//! too (no user, `refused`), besides the authentication layer's warning.

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// The user a request was authorized as, left in the response's extensions by the
/// authorization layer for the audit line.
#[derive(Debug, Clone)]
pub struct AuditUser(pub String);

/// The schema id and version a successful mutation's answer names, left in the response's
/// extensions by a handler that knows them (registration), so the audit line does not read
/// the answer back.
#[derive(Debug, Clone, Copy)]
pub struct Audited {
    /// The schema id.
    pub id: i64,
    /// The subject version.
    pub version: i32,
}

/// Largest answer read back for its `id` and `version` (register and delete answers are small).
const MAX_AUDITED_BODY: usize = 64 * 1024;

/// Add the audit layer to `router` (outside authorization, so refused mutations are logged
/// too) and, when credentials are required, the authorization layer inside it. The two are one
/// layer of the router: each layer a router adds is a boxed service per route that every
/// request clones through, so authorization adds no level of its own.
pub fn layer(
    router: axum::Router,
    auth: Option<crate::auth::middleware::AuthState>,
) -> axum::Router {
    let authorization = auth.map(|state| {
        axum::middleware::from_fn_with_state(
            std::sync::Arc::new(state),
            crate::auth::middleware::authorize,
        )
    });
    router.layer(
        tower::ServiceBuilder::new()
            .layer(axum::middleware::from_fn(audit))
            .option_layer(authorization),
    )
}

fn is_mutation(method: &Method, route: &str) -> bool {
    match *method {
        Method::PUT | Method::DELETE => true,
        Method::POST => {
            !(route == "/subjects/{subject}"
                || route.starts_with("/compatibility/")
                || route == "/")
        }
        _ => false,
    }
}

async fn audit(req: Request, next: Next) -> Response {
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    // Reads (the hot path) pass without an allocation.
    if !is_mutation(req.method(), matched.unwrap_or_default()) {
        return next.run(req).await;
    }
    let route = matched.unwrap_or_default().to_string();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let remote = req
        .extensions()
        .get::<ConnectInfo<crate::tls::RemoteAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    let subject = subject_of(&route, &path);
    let response = next.run(req).await;
    let status = response.status();
    let user = response
        .extensions()
        .get::<AuditUser>()
        .map(|u| u.0.clone())
        .unwrap_or_default();
    let audited = response.extensions().get::<Audited>().copied();
    let (response, id, version) = if let Some(a) = audited.filter(|_| status.is_success()) {
        (response, Some(a.id), Some(a.version.to_string()))
    } else if status.is_success() {
        let (parts, body) = response.into_parts();
        match to_bytes(body, MAX_AUDITED_BODY).await {
            Ok(bytes) => {
                let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                let id = value.get("id").and_then(|v| v.as_i64());
                let version = value
                    .get("version")
                    .and_then(|v| v.as_i64())
                    .map(|v| v.to_string())
                    // A delete answers the version(s) it deleted.
                    .or_else(|| value.as_i64().map(|v| v.to_string()))
                    .or_else(|| {
                        value.as_array().map(|a| {
                            a.iter()
                                .map(|v| v.to_string())
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                    });
                (Response::from_parts(parts, Body::from(bytes)), id, version)
            }
            Err(_) => (Response::from_parts(parts, Body::empty()), None, None),
        }
    } else {
        (response, None, None)
    };
    let outcome = if status.is_success() {
        "ok"
    } else if status.is_client_error() {
        "refused"
    } else {
        "failed"
    };
    tracing::info!(
        target: "audit",
        user = %user,
        remote = %remote,
        method = %method,
        route = %route,
        subject = subject.as_deref().unwrap_or(""),
        version = version.as_deref().unwrap_or(""),
        id = id.map(|i| i.to_string()).unwrap_or_default(),
        status = status.as_u16(),
        outcome,
        "mutation"
    );
    response
}

/// The subject named by a path whose route has a `{subject}` segment.
fn subject_of(route: &str, path: &str) -> Option<String> {
    let position = route.split('/').position(|seg| seg == "{subject}")?;
    let raw = path.split('/').nth(position)?;
    Some(
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_the_changing_methods_but_lookups_and_tests() {
        assert!(is_mutation(&Method::POST, "/subjects/{subject}/versions"));
        assert!(is_mutation(&Method::PUT, "/config"));
        assert!(is_mutation(&Method::DELETE, "/subjects/{subject}"));
        assert!(!is_mutation(&Method::POST, "/subjects/{subject}"));
        assert!(!is_mutation(
            &Method::POST,
            "/compatibility/subjects/{subject}/versions"
        ));
        assert!(!is_mutation(&Method::GET, "/config"));
    }

    #[test]
    fn the_subject_is_read_from_the_path_decoded() {
        assert_eq!(
            subject_of("/subjects/{subject}/versions", "/subjects/a%2Fb/versions").as_deref(),
            Some("a/b")
        );
        assert_eq!(subject_of("/config", "/config"), None);
    }
}
