//! Typed values parsed at the edge: subjects, version ids, modes.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// A subject name, validated as Confluent does (no control characters, not a reserved name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject(String);

impl Subject {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Subject {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        // Confluent's QualifiedSubject.isValidSubject: control characters and the reserved
        // global/empty context names are invalid (42208).
        if s.is_empty()
            || s.chars().any(|c| c.is_control())
            || s == "__GLOBAL"
            || s == "__EMPTY"
            || s.contains(":.__GLOBAL:")
        {
            return Err(Error::InvalidSubject(s.to_string()));
        }
        Ok(Subject(s.to_string()))
    }
}

/// `latest` (or `-1`), or a version number in `[1, 2^31-1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionId {
    /// The latest live version.
    Latest,
    /// A specific version.
    Number(i32),
}

impl FromStr for VersionId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("latest") {
            return Ok(VersionId::Latest);
        }
        match t.parse::<i32>() {
            Ok(-1) => Ok(VersionId::Latest),
            Ok(n) if n >= 1 => Ok(VersionId::Number(n)),
            _ => Err(Error::InvalidVersion(s.to_string())),
        }
    }
}

/// The registry's mode, globally or per subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Normal operation.
    #[default]
    ReadWrite,
    /// Registrations and deletes refused.
    ReadOnly,
    /// Deprecated alias kept for compatibility: read-only, overriding subject modes.
    ReadOnlyOverride,
    /// Registrations must carry explicit ids; compatibility is not checked.
    Import,
    /// Global only: compatibility is not checked.
    Forward,
}

impl Mode {
    /// Confluent's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadWrite => "READWRITE",
            Mode::ReadOnly => "READONLY",
            Mode::ReadOnlyOverride => "READONLY_OVERRIDE",
            Mode::Import => "IMPORT",
            Mode::Forward => "FORWARD",
        }
    }

    /// Whether writes are refused.
    pub fn is_read_only(self) -> bool {
        matches!(self, Mode::ReadOnly | Mode::ReadOnlyOverride)
    }
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_uppercase().as_str() {
            "READWRITE" => Mode::ReadWrite,
            "READONLY" => Mode::ReadOnly,
            "READONLY_OVERRIDE" => Mode::ReadOnlyOverride,
            "IMPORT" => Mode::Import,
            "FORWARD" => Mode::Forward,
            _ => return Err(Error::InvalidMode),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_accept_latest_minus_one_and_positive_numbers_only() {
        assert_eq!("latest".parse::<VersionId>().unwrap(), VersionId::Latest);
        assert_eq!(" LATEST ".parse::<VersionId>().unwrap(), VersionId::Latest);
        assert_eq!("-1".parse::<VersionId>().unwrap(), VersionId::Latest);
        assert_eq!("7".parse::<VersionId>().unwrap(), VersionId::Number(7));
        for bad in ["0", "-2", "abc", "2147483648", ""] {
            let err = bad.parse::<VersionId>().unwrap_err();
            assert_eq!(err.error_code(), 42202, "{bad}");
        }
    }

    #[test]
    fn subjects_with_control_characters_or_reserved_names_are_invalid() {
        assert!("orders-value".parse::<Subject>().is_ok());
        for bad in ["", "a\nb", "__GLOBAL", "__EMPTY"] {
            assert_eq!(
                bad.parse::<Subject>().unwrap_err().error_code(),
                42208,
                "{bad:?}"
            );
        }
    }
}
