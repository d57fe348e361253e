//! HTTP conventions shared by every route: Confluent's media types (406 on an unacceptable
//! `Accept`, 415 on an unsupported `Content-Type`), JSON request bodies whose rejections use
//! Confluent's error body, and responses written from pre-serialised bytes.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Error;

/// The media types the registry answers with, in Confluent's order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/vnd.schemaregistry.v1+json` (the default).
    V1,
    /// `application/vnd.schemaregistry+json`.
    Generic,
    /// `application/json`.
    Json,
}

impl MediaType {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::V1 => "application/vnd.schemaregistry.v1+json",
            MediaType::Generic => "application/vnd.schemaregistry+json",
            MediaType::Json => "application/json",
        })
    }

    /// Choose the response type from an `Accept` header, as Jersey does with Confluent's
    /// server-side qualities (v1 1.0, generic 0.9, json 0.5). `None`: nothing acceptable (406).
    pub fn negotiate(accept: Option<&str>) -> Option<MediaType> {
        let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
            return Some(MediaType::V1);
        };
        let mut best: Option<(f32, MediaType)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0f32;
            for p in parts {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    q = v.trim().parse().unwrap_or(1.0);
                }
            }
            if q <= 0.0 {
                continue;
            }
            // Jersey reads a bare token as `token/*` (so `*` is `*/*`), and a wildcard type
            // matches every subtype (`*/anything` is `*/*`).
            let (kind, subtype) = name.split_once('/').unwrap_or((name.as_str(), "*"));
            let (kind, subtype) = (kind.trim(), subtype.trim());
            let candidates: &[(MediaType, f32)] = match (kind, subtype) {
                ("*", _) | ("application", "*") => &[(MediaType::V1, 1.0)],
                ("application", "vnd.schemaregistry.v1+json") => &[(MediaType::V1, 1.0)],
                ("application", "vnd.schemaregistry+json") => &[(MediaType::Generic, 0.9)],
                ("application", "json") => &[(MediaType::Json, 0.5)],
                _ => &[],
            };
            for (m, server_q) in candidates {
                let score = q * server_q;
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, *m));
                }
            }
        }
        best.map(|(_, m)| m)
    }
}

/// Extractor: the negotiated response media type; rejects with 406.
#[derive(Debug, Clone, Copy)]
pub struct Accept(pub MediaType);

impl<S: Send + Sync> FromRequestParts<S> for Accept {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let accept = parts.headers.get(ACCEPT).and_then(|v| v.to_str().ok());
        MediaType::negotiate(accept)
            .map(Accept)
            .ok_or(Error::NotAcceptable)
    }
}

/// A response body already serialised, with the negotiated content type.
pub fn bytes_response(status: StatusCode, media: MediaType, body: Bytes) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, media.header());
    resp
}

/// Serialise `value` as the body of a 200 response.
pub fn ok<T: Serialize>(media: MediaType, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(v) => bytes_response(StatusCode::OK, media, Bytes::from(v)),
        Err(e) => Error::Internal(format!("serialising a response: {e}")).into_response(),
    }
}

/// A JSON response in the default media type (used for errors).
pub fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    bytes_response(status, MediaType::V1, Bytes::from(body))
}

/// Extractor: a JSON request body of Confluent's accepted content types. Rejections use
/// Confluent's body: 415 for a foreign content type, 422 for a missing body, 400 for malformed
/// JSON or a wrong shape. `charset=utf-16` bodies are decoded.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

const ACCEPTED_CONTENT_TYPES: [&str; 5] = [
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
    "*/*",
];

fn decode_text(bytes: &[u8], charset: Option<&str>) -> Result<String, Error> {
    let charset = charset.map(|c| c.trim().trim_matches('"').to_ascii_lowercase());
    let utf16 = |le: bool| -> Result<String, Error> {
        let body = bytes;
        let (body, le) = match body {
            [0xFF, 0xFE, rest @ ..] => (rest, true),
            [0xFE, 0xFF, rest @ ..] => (rest, false),
            _ => (body, le),
        };
        if body.len() % 2 != 0 {
            return Err(Error::BadRequest(
                "Request body is not valid UTF-16: odd number of bytes".into(),
            ));
        }
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units)
            .map_err(|e| Error::BadRequest(format!("Request body is not valid UTF-16: {e}")))
    };
    match charset.as_deref() {
        Some("utf-16") | Some("utf-16be") => utf16(false),
        Some("utf-16le") => utf16(true),
        _ => String::from_utf8(bytes.to_vec())
            .map_err(|e| Error::BadRequest(format!("Request body is not valid UTF-8: {e}"))),
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut charset = None;
        if let Some(ct) = &content_type {
            let mut parts = ct.split(';');
            let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            if !essence.is_empty() && !ACCEPTED_CONTENT_TYPES.contains(&essence.as_str()) {
                return Err(Error::UnsupportedMediaType);
            }
            charset = parts
                .filter_map(|p| p.trim().strip_prefix("charset=").map(str::to_string))
                .next();
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| Error::BadRequest(format!("Could not read the request body: {e}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::Unprocessable(
                "Request body is missing: send a JSON object".into(),
            ));
        }
        let text = decode_text(&bytes, charset.as_deref())?;
        serde_json::from_str(&text)
            .map(JsonBody)
            .map_err(|e| Error::BadRequest(format!("Unrecognized JSON in request body: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_v1_and_rejects_foreign_types() {
        assert_eq!(MediaType::negotiate(None), Some(MediaType::V1));
        assert_eq!(MediaType::negotiate(Some("*/*")), Some(MediaType::V1));
        assert_eq!(
            MediaType::negotiate(Some("application/*")),
            Some(MediaType::V1)
        );
        assert_eq!(
            MediaType::negotiate(Some("application/json")),
            Some(MediaType::Json)
        );
        assert_eq!(
            MediaType::negotiate(Some(
                "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"
            )),
            Some(MediaType::V1)
        );
        assert_eq!(
            MediaType::negotiate(Some("application/vnd.schemaregistry.v2+json")),
            None
        );
        assert_eq!(MediaType::negotiate(Some("text/html")), None);
    }

    #[test]
    fn negotiation_reads_wildcards_as_jersey_does() {
        for accept in [
            "*",
            "*/does_not_matter",
            "*; q=.2",
            "application",
            "APPLICATION/*",
            "text/html, *; q=.2, */*; q=.2",
        ] {
            assert_eq!(
                MediaType::negotiate(Some(accept)),
                Some(MediaType::V1),
                "Accept: {accept}"
            );
        }
        for accept in ["text", "text/*", "application/does_not_matter"] {
            assert_eq!(MediaType::negotiate(Some(accept)), None, "Accept: {accept}");
        }
    }

    #[test]
    fn utf16_bodies_are_decoded() {
        let text = "{\"a\":1}";
        let le: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert_eq!(decode_text(&le, Some("utf-16le")).unwrap(), text);
        assert_eq!(decode_text(&be, Some("utf-16")).unwrap(), text);
        assert!(decode_text(&[0xff], None).is_err());
    }
}
