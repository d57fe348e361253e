//! The registry's error type: one variant per Confluent condition, each mapped to its
//! `error_code`; the HTTP status is derived from the code (its first three digits).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every condition the REST API reports, with Confluent's codes and messages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 40401.
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    /// 40402.
    #[error("Version {0} not found.")]
    VersionNotFound(String),
    /// 40403 with the id in the message.
    #[error("Schema {0} not found")]
    SchemaIdNotFound(String),
    /// 40403 without an id (lookup miss, `/schemas/ids/{id}/subjects`).
    #[error("Schema not found")]
    SchemaNotFound,
    /// 40404.
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    /// 40405.
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    /// 40406.
    #[error("Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently")]
    VersionSoftDeleted {
        /// The subject.
        subject: String,
        /// The version.
        version: i32,
    },
    /// 40407.
    #[error("Subject '{subject}' Version {version} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted {
        /// The subject.
        subject: String,
        /// The version.
        version: i32,
    },
    /// 40408.
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectConfigNotFound(String),
    /// 40409.
    #[error("Subject '{0}' does not have subject-level mode configured")]
    SubjectModeNotFound(String),
    /// 409 (or 40901, by configuration).
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]", .messages.join(", "))]
    Incompatible {
        /// The subject.
        subject: String,
        /// Confluent's verbose messages.
        messages: Vec<String>,
        /// Emit 40901 instead of 409 (Confluent 8.2+).
        code_40901: bool,
    },
    /// 42201.
    #[error("{0}")]
    InvalidSchema(String),
    /// 42202.
    #[error("The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")]
    InvalidVersion(String),
    /// 42203.
    #[error("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")]
    InvalidCompatibilityLevel,
    /// 42204.
    #[error("Invalid mode. Valid values are READWRITE, READONLY, IMPORT and FORWARD.")]
    InvalidMode,
    /// 42205.
    #[error("{0}")]
    OperationNotPermitted(String),
    /// 42206.
    #[error("One or more references exist to the schema {{magic=1,keytype=SCHEMA,subject={subject},version={version}}}.")]
    ReferenceExists {
        /// The referenced subject.
        subject: String,
        /// The referenced version.
        version: i32,
    },
    /// 42208.
    #[error("The specified subject '{0}' is not a valid.")]
    InvalidSubject(String),
    /// 42209.
    #[error("Schema too large: {0} bytes exceeds the limit of {1} bytes")]
    SchemaTooLarge(usize, usize),
    /// 42210.
    #[error("Invalid rule set: {0}")]
    InvalidRuleSet(String),
    /// 400: the body is not JSON of the expected shape.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such route, or a malformed path parameter.
    #[error("HTTP 404 Not Found")]
    NotFound,
    /// 404 with Confluent's association code (association endpoints are not supported).
    #[error("{0}")]
    AssociationNotFound(String),
    /// 401: missing or wrong credentials (answered with `WWW-Authenticate`).
    #[error("Unauthorized")]
    Unauthorized,
    /// 40301: the user may not perform the operation (global config and mode, or a write to
    /// a subject it may read).
    #[error("{0}")]
    Forbidden(String),
    /// 406.
    #[error("HTTP 406 Not Acceptable")]
    NotAcceptable,
    /// 415.
    #[error("HTTP 415 Unsupported Media Type")]
    UnsupportedMediaType,
    /// 422: a field of the request body is malformed.
    #[error("{0}")]
    Unprocessable(String),
    /// 408: the request body did not arrive in time.
    #[error("Request timeout: the request body was not received within {0} (body_read_timeout)")]
    BodyTimeout(String),
    /// 413: the request body is larger than the limit.
    #[error("Request entity too large: the body exceeds the limit of {0} bytes (max_body_bytes: twice max_schema_bytes plus 64 KiB)")]
    PayloadTooLarge(usize),
    /// 429: too much work in progress; the client should retry later.
    #[error("{0}")]
    Overloaded(String),
    /// 50001: a request panicked. The panic is logged, not shown; the server goes on.
    #[error("Internal Server Error: the request failed unexpectedly")]
    Panicked,
    /// 50002: the request did not finish within the request timeout (Confluent's operation
    /// timeout code).
    #[error("Operation timed out: the request did not finish within {0} (request_timeout)")]
    Timeout(String),
    /// 50001: the storage failed. The cause is logged, not shown.
    #[error("Error in the backing data store")]
    Store(#[source] crate::storage::StorageError),
    /// 500: anything else unexpected. The cause is logged, not shown.
    #[error("Internal Server Error")]
    Internal(String),
}

impl Error {
    /// Confluent's `error_code`.
    pub fn error_code(&self) -> u32 {
        match self {
            Error::SubjectNotFound(_) => 40401,
            Error::VersionNotFound(_) => 40402,
            Error::SchemaIdNotFound(_) | Error::SchemaNotFound => 40403,
            Error::SubjectSoftDeleted(_) => 40404,
            Error::SubjectNotSoftDeleted(_) => 40405,
            Error::VersionSoftDeleted { .. } => 40406,
            Error::VersionNotSoftDeleted { .. } => 40407,
            Error::SubjectConfigNotFound(_) => 40408,
            Error::SubjectModeNotFound(_) => 40409,
            Error::AssociationNotFound(_) => 40410,
            Error::Incompatible { code_40901, .. } => {
                // Confluent answers 409 up to 8.1 and 40901 from 8.2; clients still assert 409.
                if *code_40901 {
                    40901
                } else {
                    409
                }
            }
            Error::InvalidSchema(_) => 42201,
            Error::InvalidVersion(_) => 42202,
            Error::InvalidCompatibilityLevel => 42203,
            Error::InvalidMode => 42204,
            Error::OperationNotPermitted(_) => 42205,
            Error::ReferenceExists { .. } => 42206,
            Error::InvalidSubject(_) => 42208,
            Error::SchemaTooLarge(..) => 42209,
            Error::InvalidRuleSet(_) => 42210,
            Error::BadRequest(_) => 400,
            Error::NotFound => 404,
            Error::Unauthorized => 401,
            Error::Forbidden(_) => 40301,
            Error::NotAcceptable => 406,
            Error::UnsupportedMediaType => 415,
            Error::Unprocessable(_) => 422,
            Error::BodyTimeout(_) => 408,
            Error::PayloadTooLarge(_) => 413,
            Error::Overloaded(_) => 429,
            Error::Store(_) | Error::Panicked => 50001,
            Error::Timeout(_) => 50002,
            Error::Internal(_) => 500,
        }
    }

    /// The HTTP status: the first three digits of the code.
    pub fn status(&self) -> StatusCode {
        let mut code = self.error_code();
        while code >= 1000 {
            code /= 10;
        }
        StatusCode::from_u16(code as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `{"error_code": N, "message": "..."}` body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error_code": self.error_code(), "message": self.to_string()})
    }
}

impl From<crate::storage::StorageError> for Error {
    fn from(e: crate::storage::StorageError) -> Self {
        match e {
            // The client's input, not the store, is at fault: 422.
            crate::storage::StorageError::Unstorable(what) => {
                Error::Unprocessable(format!("Cannot store {what}"))
            }
            e => Error::Store(e),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            match &self {
                Error::Store(cause) => tracing::error!(error = %cause, "storage error"),
                Error::Internal(cause) => tracing::error!(error = %cause, "internal error"),
                other => tracing::error!(error = %other, "server error"),
            }
        }
        let mut response = crate::http::json_response(status, &self.body());
        if matches!(self, Error::Store(_)) {
            response
                .extensions_mut()
                .insert(crate::metrics::QueryFailed);
        }
        if matches!(self, Error::Unauthorized) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"strata\""),
            );
        }
        response
    }
}
