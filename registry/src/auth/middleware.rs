//! The authorization layer: who is asking (Basic credentials) and whether the route allows it,
//! by Karapace's rules.
//!
//! - `GET /`, `/schemas/types` and `/health/*` need no credentials (Karapace's behaviour for
//!   the first two; probes carry none), nor does `/openapi.json` (the API's shape, not its
//!   data). `/metrics` is served outside this layer (see `crate::metrics`).
//! - Everything else needs valid credentials: 401, `WWW-Authenticate: Basic realm="strata"`.
//! - Global `/config` and `/mode`: `Config:`, Read to read, Write to change (403 otherwise).
//! - A subject's paths (`/subjects/{s}…`, `/config/{s}`, `/mode/{s}`,
//!   `/compatibility/subjects/{s}…`): `Subject:{s}`. Reads (GET, lookup, compatibility test)
//!   need Read; register and delete need Write. A subject the user may not read answers 40401
//!   as a missing one does; one it may read but not write answers 403.
//! - `/schemas/ids/{id}…` and `/schemas/guids/{guid}`: readable when some subject holding the
//!   schema is; otherwise the missing schema's 40403.
//! - Listings are filtered by the handlers through [`Access`].

use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::users_file::{subject_resource, CONFIG_RESOURCE};
use super::{Access, Authenticator, Operation, UserAccess};
use crate::registry::Registry;
use crate::Error;

/// What the layer needs: the users file and the registry (to find the subjects of an id).
#[derive(Debug, Clone)]
pub struct AuthState {
    /// The users file in force.
    pub authenticator: Arc<Authenticator>,
    /// The registry.
    pub registry: Arc<Registry>,
    /// Bearer tokens, when OIDC is configured.
    pub bearer: Option<Arc<super::bearer::BearerValidator>>,
}

/// Routes that answer without credentials.
const OPEN_ROUTES: [&str; 5] = [
    "/",
    "/schemas/types",
    "/health/live",
    "/health/ready",
    "/openapi.json",
];

/// Add the layer to `router` (its routes must be in place: it runs after routing). The server
/// composes it with the audit layer instead (see `crate::audit::layer`).
pub fn layer(router: axum::Router, state: AuthState) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(
        Arc::new(state),
        authorize,
    ))
}

/// The layer's function, for `axum::middleware::from_fn_with_state` (its state is one `Arc`:
/// one reference count touched per request, not one per field).
pub(crate) async fn authorize(
    State(state): State<Arc<AuthState>>,
    req: Request,
    next: Next,
) -> Response {
    // Per request on the hot path: no allocation before the decision needs one.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let template = matched.as_ref().map_or("", MatchedPath::as_str);
    if OPEN_ROUTES.contains(&template) {
        return next.run(req).await;
    }
    // The hot path: Basic credentials verified before (one digest of the header and a map
    // lookup). First use, bearer tokens, client certificates and refusals are handled out of
    // line, so that this future stays small.
    let user = match state.authenticator.cached(req.headers().get(AUTHORIZATION)) {
        Some(user) => user,
        None => match Box::pin(authenticate(
            &state,
            req.headers().get(AUTHORIZATION),
            req.extensions()
                .get::<ConnectInfo<crate::tls::RemoteAddr>>()
                .map(|c| &c.0),
            req.method(),
            req.uri().path(),
        ))
        .await
        {
            Ok(user) => user,
            Err(refused) => return refused,
        },
    };
    let access = Access::User(user);
    let reading = req.method() == Method::GET || req.method() == Method::HEAD;
    // Reading schemas (by id, GUID or listing) decides nothing for a user who reads every
    // subject; for another user a schema id whose cached subjects include a readable one is
    // allowed without the path parameters or the database.
    if reading && template.starts_with("/schemas") {
        let allowed = access.reads_every_subject()
            || schema_id_in_path(template, req.uri().path())
                .is_some_and(|id| cached_readable(&state.registry, &access, id));
        if allowed {
            let mut req = req;
            req.extensions_mut().insert(access);
            return next.run(req).await;
        }
    }
    Box::pin(authorize_route(state, access, template, req, next)).await
}

/// Who is asking, when the verified-credentials cache does not say: a client certificate,
/// a bearer token, or Basic credentials checked against the users file. `Err` is the 401.
async fn authenticate(
    state: &AuthState,
    header: Option<&HeaderValue>,
    connection: Option<&crate::tls::RemoteAddr>,
    method: &Method,
    path: &str,
) -> Result<Arc<UserAccess>, Response> {
    let addr = connection.map(|c| c.addr);
    let remote = move || addr.map(|a| a.to_string()).unwrap_or_default();
    // mTLS: without an Authorization header, the client certificate's CN names the user.
    let certificate_user = connection.and_then(|c| c.client_cn.clone());
    let token = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let authenticated = match (token, &state.bearer) {
        _ if header.is_none() && certificate_user.is_some() => Ok(state
            .authenticator
            .access_for(certificate_user.as_deref().unwrap_or_default())),
        (Some(token), Some(bearer)) => match bearer.validate(token).await {
            Ok(name) => Ok(state.authenticator.access_for(&name)),
            Err(reason) => {
                tracing::warn!(
                    remote = %remote(),
                    method = %method,
                    path = %path,
                    reason = %reason,
                    "bearer token refused"
                );
                return Err(Error::Unauthorized.into_response());
            }
        },
        _ => state.authenticator.authenticate(header).await,
    };
    authenticated.map_err(|refusal| {
        // Never the password.
        tracing::warn!(
            user = refusal.user().unwrap_or(""),
            remote = %remote(),
            method = %method,
            path = %path,
            reason = refusal.reason(),
            "authentication failed"
        );
        Error::Unauthorized.into_response()
    })
}

/// The id of a `/schemas/ids/{id}…` path, read from the path itself when it is plain digits
/// (anything else, percent-encoded or not a number, goes through [`decide`]).
fn schema_id_in_path(template: &str, path: &str) -> Option<i64> {
    if !template.starts_with("/schemas/ids/{id}") {
        return None;
    }
    let raw = path.strip_prefix("/schemas/ids/")?;
    let raw = raw.split_once('/').map_or(raw, |(id, _)| id);
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    crate::routes::parse_schema_id(raw).ok()
}

/// The route's decision for an authenticated user (everything but the hot path above).
async fn authorize_route(
    state: Arc<AuthState>,
    access: Access,
    template: &str,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let params: Vec<(String, String)> = if template.contains('{') {
        match RawPathParams::from_request_parts(&mut parts, &()).await {
            Ok(p) => p
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            Err(_) => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // The audit layer names the user of mutations only.
    let reading =
        parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD;
    let user_name =
        (!reading).then(|| crate::audit::AuditUser(access.user().unwrap_or_default().to_string()));
    let decision = decide(
        &state.registry,
        &access,
        &parts.method,
        template,
        param("subject"),
        param("id"),
        param("guid"),
    )
    .await;
    let mut response = match decision {
        Err(e) => e.into_response(),
        Ok(()) => {
            parts.extensions.insert(access);
            next.run(Request::from_parts(parts, body)).await
        }
    };
    if let Some(user_name) = user_name {
        response.extensions_mut().insert(user_name);
    }
    response
}

/// Whether the route allows the user; `Err` is the answer when not.
async fn decide(
    registry: &Registry,
    access: &Access,
    method: &Method,
    template: &str,
    subject: Option<&str>,
    id: Option<&str>,
    guid: Option<&str>,
) -> Result<(), Error> {
    let reading = method == Method::GET || method == Method::HEAD;
    match template {
        "/config" | "/mode" => {
            let op = if reading {
                Operation::Read
            } else {
                Operation::Write
            };
            if access.may(op, CONFIG_RESOURCE) {
                Ok(())
            } else {
                Err(forbidden(access, op, CONFIG_RESOURCE))
            }
        }
        _ if subject.is_some() => {
            let subject = subject.unwrap_or_default();
            let resource = subject_resource(subject);
            // Lookup (POST /subjects/{s}) and compatibility tests change nothing.
            let op = if reading
                || template == "/subjects/{subject}" && method == Method::POST
                || template.starts_with("/compatibility/")
            {
                Operation::Read
            } else {
                Operation::Write
            };
            if !access.may(Operation::Read, &resource) {
                // Karapace: indistinguishable from a subject that does not exist.
                return Err(Error::SubjectNotFound(subject.to_string()));
            }
            if !access.may(op, &resource) {
                return Err(forbidden(access, op, &resource));
            }
            Ok(())
        }
        "/schemas/ids/{id}"
        | "/schemas/ids/{id}/schema"
        | "/schemas/ids/{id}/subjects"
        | "/schemas/ids/{id}/versions" => {
            // A malformed id is left to the handler (Jersey's plain 404).
            let Some(parsed) = id.and_then(|raw| crate::routes::parse_schema_id(raw).ok()) else {
                return Ok(());
            };
            if may_read_schema(registry, access, parsed).await? {
                Ok(())
            } else if template.ends_with("/subjects") || template.ends_with("/versions") {
                Err(Error::SchemaNotFound)
            } else {
                Err(Error::SchemaIdNotFound(parsed.to_string()))
            }
        }
        "/schemas/guids/{guid}" => {
            let guid = guid.unwrap_or_default();
            match registry.schema_by_guid(guid).await? {
                Some(s) if !may_read_schema(registry, access, s.record.id).await? => {
                    Err(Error::SchemaIdNotFound(guid.to_string()))
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Whether some subject holding schema `id` (deleted versions included, as their ids still
/// resolve) is readable. The subjects of an id are cached: a cached readable subject allows
/// without a database round trip; otherwise the database is asked (a subject may have been
/// registered since), see `crate::cache`.
pub async fn may_read_schema(registry: &Registry, access: &Access, id: i64) -> Result<bool, Error> {
    if cached_readable(registry, access, id) {
        return Ok(true);
    }
    let caches = registry.caches();
    let generation = caches.generation();
    let versions = registry.versions_of_schema(id).await?;
    let mut subjects: Vec<Box<str>> = Vec::new();
    for sv in &versions {
        if subjects.last().is_none_or(|s| **s != *sv.subject) {
            subjects.push(sv.subject.as_str().into());
        }
    }
    let readable = subjects.iter().any(|s| access.may_read_subject(s));
    if !subjects.is_empty() {
        caches.remember_subjects_of_id(id, subjects.into(), generation);
    }
    Ok(readable)
}

/// Whether the caches alone allow reading schema `id`: the user reads every subject, or a
/// cached subject of the id is readable. `false` means the database must be asked (nothing
/// cached, or no cached subject readable: one may have been registered since).
fn cached_readable(registry: &Registry, access: &Access, id: i64) -> bool {
    access.reads_every_subject()
        || registry
            .caches()
            .subjects_of_id(id)
            .is_some_and(|subjects| subjects.iter().any(|s| access.may_read_subject(s)))
}

fn forbidden(access: &Access, op: Operation, resource: &str) -> Error {
    Error::Forbidden(format!(
        "User '{}' is denied operation {op} on {resource}",
        access.user().unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_ids_are_read_from_plain_digit_paths_only() {
        let cases = [
            (
                "/schemas/ids/{id}",
                "/schemas/ids/42",
                Some(42),
                "the schema",
            ),
            (
                "/schemas/ids/{id}/schema",
                "/schemas/ids/7/schema",
                Some(7),
                "its text",
            ),
            (
                "/schemas/ids/{id}/subjects",
                "/schemas/ids/7/subjects",
                Some(7),
                "its subjects",
            ),
            (
                "/schemas/ids/{id}",
                "/schemas/ids/%34%32",
                None,
                "percent-encoded: decide()",
            ),
            (
                "/schemas/ids/{id}",
                "/schemas/ids/-1",
                None,
                "not digits: decide()",
            ),
            ("/schemas/ids/{id}", "/schemas/ids/", None, "empty"),
            (
                "/schemas/guids/{guid}",
                "/schemas/guids/42",
                None,
                "not an id route",
            ),
            ("/schemas", "/schemas", None, "the listing"),
        ];
        for (template, path, expected, what) in cases {
            assert_eq!(schema_id_in_path(template, path), expected, "{what}");
        }
    }
}
