//! Middleware around every route: what keeps one request from taking the server down or
//! holding it up, and what makes every answer Confluent-shaped.
//!
//! From the outside in:
//! - [`catch_panic`]: a panic in a handler becomes a 500 with `{"error_code":50001,…}`, logged;
//!   the server goes on. (Schema work runs on the [`crate::work`] pool, which catches its own.)
//! - [`confluent_errors`]: an error answered by something other than our handlers (an axum
//!   extractor's rejection of a path with invalid UTF-8, a foreign fallback) gets Confluent's
//!   `{"error_code","message"}` body instead of plain text.
//! - [`Guard::limit`]: at most `max_concurrent_requests` requests at once (429 beyond, at once),
//!   the body read within `body_read_timeout` (408) and no larger than the body limit (413),
//!   and the whole request within `request_timeout` (50002).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use tokio::sync::Semaphore;

use crate::limits::{human, Limits};
use crate::Error;

/// Turn a panic anywhere below into Confluent's 500, logged.
pub async fn catch_panic(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    match std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(panic) => {
            let cause = crate::work::panic_message(panic.as_ref());
            tracing::error!(%method, %path, panic = %cause, "a request panicked");
            Error::Panicked.into_response()
        }
    }
}

/// The largest plain-text error body carried into a Confluent message.
const MAX_REWRITTEN_BODY: usize = 4096;

/// Give error responses that are not JSON Confluent's body, keeping the status.
pub async fn confluent_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    if is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_REWRITTEN_BODY).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().map_or_else(
            || format!("HTTP {}", status.as_u16()),
            |r| format!("HTTP {} {r}", status.as_u16()),
        )
    } else {
        text
    };
    let mut rewritten = crate::http::json_response(
        status,
        &serde_json::json!({"error_code": status.as_u16(), "message": message}),
    );
    for (name, value) in parts.headers.iter() {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            rewritten.headers_mut().append(name, value.clone());
        }
    }
    rewritten
}

/// The per-request limits, shared by every request.
#[derive(Debug, Clone)]
pub struct Guard {
    in_flight: Arc<Semaphore>,
    max_concurrent: usize,
    body_limit: usize,
    body_timeout: Duration,
    request_timeout: Duration,
}

impl Guard {
    /// Guards for `limits`, with bodies up to `body_limit` bytes.
    pub fn new(limits: &Limits, body_limit: usize) -> Self {
        let max_concurrent = limits.max_concurrent_requests.max(1);
        Guard {
            in_flight: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            body_limit,
            body_timeout: limits.body_read_timeout,
            request_timeout: limits.request_timeout,
        }
    }

    /// The middleware function (use with `axum::middleware::from_fn_with_state`).
    pub async fn limit(State(guard): State<Guard>, req: Request, next: Next) -> Response {
        let Ok(_permit) = guard.in_flight.clone().try_acquire_owned() else {
            return Error::Overloaded(format!(
                "Too many requests in progress (the limit is {}, max_concurrent_requests); \
                 retry later",
                guard.max_concurrent
            ))
            .into_response();
        };
        let timeout = guard.request_timeout;
        match tokio::time::timeout(timeout, guard.run(req, next)).await {
            Ok(response) => response,
            Err(_) => Error::Timeout(human(timeout)).into_response(),
        }
    }

    async fn run(&self, req: Request, next: Next) -> Response {
        let (parts, body) = req.into_parts();
        // Read the whole body here, bounded in size and time, so that no handler can be held
        // up by a client that trickles its body (handlers buffer bodies anyway).
        let declared = parts
            .headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.body_limit as u64) {
            return closing(Error::PayloadTooLarge(self.body_limit));
        }
        let bytes: Bytes = match tokio::time::timeout(
            self.body_timeout,
            axum::body::to_bytes(body, self.body_limit),
        )
        .await
        {
            Err(_) => return closing(Error::BodyTimeout(human(self.body_timeout))),
            Ok(Err(e)) if is_length_limit(&e) => {
                return closing(Error::PayloadTooLarge(self.body_limit))
            }
            Ok(Err(e)) => {
                return Error::BadRequest(format!("Could not read the request body: {e}"))
                    .into_response()
            }
            Ok(Ok(bytes)) => bytes,
        };
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    }
}

/// The response to a request whose body was not read to its end: the connection cannot carry
/// another request, so say it will close (clients then do not reuse it).
fn closing(error: Error) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}
