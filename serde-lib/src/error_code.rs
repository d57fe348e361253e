//! Confluent Schema Registry's error codes (the `error_code` of an error body), by name, as
//! [`Error::error_code`](crate::Error::error_code) reports them. Only the numbers: what each
//! means to a caller is the caller's business.

/// No such subject.
pub const SUBJECT_NOT_FOUND: i32 = 40401;
/// No such version of the subject.
pub const VERSION_NOT_FOUND: i32 = 40402;
/// No schema with that id.
pub const SCHEMA_NOT_FOUND: i32 = 40403;
/// The subject is already soft-deleted.
pub const SUBJECT_SOFT_DELETED: i32 = 40404;
/// The subject must be soft-deleted before a permanent delete.
pub const SUBJECT_NOT_SOFT_DELETED: i32 = 40405;
/// The version is already soft-deleted.
pub const VERSION_SOFT_DELETED: i32 = 40406;
/// The version must be soft-deleted before a permanent delete.
pub const VERSION_NOT_SOFT_DELETED: i32 = 40407;
/// The subject has no compatibility level of its own.
pub const SUBJECT_COMPATIBILITY_NOT_CONFIGURED: i32 = 40408;
/// The subject has no mode of its own.
pub const SUBJECT_MODE_NOT_CONFIGURED: i32 = 40409;
/// The schema is incompatible with earlier versions (the HTTP status doubles as the code).
pub const INCOMPATIBLE_SCHEMA: i32 = 409;
/// The schema is incompatible (the code a registry configured for 40901 answers).
pub const INCOMPATIBLE_SCHEMA_40901: i32 = 40901;
/// The schema does not parse, or a reference does not resolve.
pub const INVALID_SCHEMA: i32 = 42201;
/// The version is neither a number from 1 nor `latest`.
pub const INVALID_VERSION: i32 = 42202;
/// Not a compatibility level.
pub const INVALID_COMPATIBILITY_LEVEL: i32 = 42203;
/// Not a mode.
pub const INVALID_MODE: i32 = 42204;
/// The mode forbids the operation (READONLY, or IMPORT rules).
pub const OPERATION_NOT_PERMITTED: i32 = 42205;
/// Other schemas reference the one to delete.
pub const REFERENCE_EXISTS: i32 = 42206;
/// The registry failed internally.
pub const INTERNAL_SERVER_ERROR: i32 = 50001;

/// Whether `code` means "not there": a subject, version or schema the registry does not
/// have (404s without a Confluent code included).
pub fn is_not_found(code: i32) -> bool {
    matches!(
        code,
        404 | SUBJECT_NOT_FOUND | VERSION_NOT_FOUND | SCHEMA_NOT_FOUND
    )
}
