//! Query-string and path parsing with Confluent's rejections.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::types::{Subject, VersionId};
use crate::Error;

/// Extractor: query parameters; a malformed value answers 400 with Confluent's body.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|e| Error::BadRequest(format!("Invalid query parameter: {}", e.body_text())))
    }
}

/// `offset` and `limit` (−1 or absent: no limit) applied to a listing.
pub fn paginate<T>(items: Vec<T>, offset: Option<i64>, limit: Option<i64>) -> Vec<T> {
    let offset = offset.unwrap_or(0).max(0) as usize;
    let limit = match limit {
        Some(l) if l > 0 => l as usize,
        _ => usize::MAX,
    };
    items.into_iter().skip(offset).take(limit).collect()
}

/// The `subjectPrefix` filter: absent, or Confluent's default `:*:` (every context), matches
/// every subject; Strata serves only the default context.
pub fn subject_prefix(param: Option<&str>) -> &str {
    param.filter(|p| *p != ":*:").unwrap_or("")
}

/// Parse a subject path segment (42208 when invalid).
pub fn subject(raw: &str) -> Result<Subject, Error> {
    raw.parse()
}

/// Parse a version path segment (42202 when invalid).
pub fn version(raw: &str) -> Result<VersionId, Error> {
    raw.parse()
}

/// Parse a schema id path segment: a non-integer is Jersey's plain 404.
pub fn schema_id(raw: &str) -> Result<i64, Error> {
    raw.trim()
        .parse::<i32>()
        .map(i64::from)
        .map_err(|_| Error::NotFound)
}

/// A boolean query parameter as Jersey reads one (`Boolean.valueOf`): `true` in any case is
/// true, anything else false. confluent-kafka for Python sends `False`/`True`.
pub fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    Ok(s.trim().eq_ignore_ascii_case("true"))
}
