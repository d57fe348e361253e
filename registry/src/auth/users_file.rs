//! The users file, in Karapace's `registry_authfile` format unchanged:
//!
//! ```json
//! {"users": [{"username": "alice", "algorithm": "sha512", "salt": "…", "password_hash": "…"}],
//!  "permissions": [{"username": "alice", "operation": "Write", "resource": "Subject:orders-.*"}]}
//! ```
//!
//! Older Karapace files (`password` instead of `password_hash`, `acls` instead of
//! `permissions`) load too, and so does Karapace's optional per-user `iterations`. A resource
//! is a regular expression matched against the whole of `Config:` or `Subject:<name>`
//! (Karapace's `fullmatch`). Loading is all or nothing: any bad entry refuses the file with a
//! message naming it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::password::{Algorithm, StoredPassword, LEGACY_PBKDF2_ITERATIONS};

/// What a permission allows. `Write` implies `Read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Operation {
    /// Read the resource.
    Read,
    /// Read and change the resource.
    Write,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Operation::Read => "Read",
            Operation::Write => "Write",
        })
    }
}

/// The resource naming global config and mode.
pub const CONFIG_RESOURCE: &str = "Config:";

/// The resource naming a subject.
pub fn subject_resource(subject: &str) -> String {
    format!("Subject:{subject}")
}

#[derive(Debug)]
struct Grant {
    operation: Operation,
    /// The pattern anchored at both ends.
    resource: regex::Regex,
}

/// One user: its password and what it may do.
#[derive(Debug)]
pub struct UserAccess {
    name: String,
    /// `None`: a name that only has permissions (a bearer-token or certificate user).
    password: Option<StoredPassword>,
    grants: Vec<Grant>,
    /// A grant of `.*` or `Subject:.*`: every subject is readable, so schema-id checks need
    /// not look up the subjects holding an id.
    reads_every_subject: bool,
    /// Whether each subject met so far is readable: the grants of a loaded file never change,
    /// so a subject's patterns are matched once, not per request (see
    /// [`UserAccess::may_read_subject`]).
    subject_reads: SubjectReads,
}

/// Most subject decisions remembered per user (past it they are forgotten and matched again).
pub const SUBJECT_DECISIONS: usize = 10_000;

/// A sharded map of subject → readable, bounded by [`SUBJECT_DECISIONS`].
#[derive(Debug, Default)]
struct SubjectReads {
    decisions: dashmap::DashMap<Box<str>, bool>,
    entries: std::sync::atomic::AtomicUsize,
}

impl UserAccess {
    /// The user name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `password` is this user's, in constant time (argon2 and scrypt are slow: call
    /// off the async workers).
    pub fn verify(&self, password: &str) -> bool {
        self.password.as_ref().is_some_and(|p| p.verify(password))
    }

    /// Karapace's rule: a grant allows `Read` whatever its operation, `Write` only if it is a
    /// `Write` grant; the resource must match the whole pattern.
    pub fn may(&self, operation: Operation, resource: &str) -> bool {
        self.grants.iter().any(|g| {
            (operation == Operation::Read || g.operation == Operation::Write)
                && g.resource.is_match(resource)
        })
    }

    /// Whether every subject is readable whatever its name.
    pub fn reads_every_subject(&self) -> bool {
        self.reads_every_subject
    }

    /// Whether `subject` is readable: `may(Read, "Subject:<subject>")`, matched once per
    /// subject and then remembered (a lookup in a sharded map on the hot path, not a regular
    /// expression and an allocation).
    pub fn may_read_subject(&self, subject: &str) -> bool {
        use std::sync::atomic::Ordering;
        if self.reads_every_subject {
            return true;
        }
        let reads = &self.subject_reads;
        if let Some(known) = reads.decisions.get(subject) {
            return *known;
        }
        let allowed = self.may(Operation::Read, &subject_resource(subject));
        if reads.entries.fetch_add(1, Ordering::Relaxed) >= SUBJECT_DECISIONS {
            reads.decisions.clear();
            reads.entries.store(1, Ordering::Relaxed);
        }
        reads.decisions.insert(subject.into(), allowed);
        allowed
    }
}

/// A loaded users file: users by name with their permissions.
#[derive(Debug, Default)]
pub struct UsersFile {
    users: HashMap<String, Arc<UserAccess>>,
}

/// Why a users file was refused.
#[derive(Debug, thiserror::Error)]
pub enum UsersFileError {
    /// The file could not be read.
    #[error("could not read the users file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not of the expected shape.
    #[error("the users file is not valid: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    users: Vec<RawUser>,
    #[serde(alias = "acls")]
    permissions: Vec<RawPermission>,
}

#[derive(Deserialize)]
struct RawUser {
    username: String,
    algorithm: String,
    salt: String,
    #[serde(alias = "password")]
    password_hash: String,
    iterations: Option<u32>,
}

#[derive(Deserialize)]
struct RawPermission {
    username: String,
    operation: String,
    resource: String,
}

impl UsersFile {
    /// Read and parse the file at `path`.
    pub fn load(path: &Path) -> Result<UsersFile, UsersFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| UsersFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        UsersFile::parse(&text)
    }

    /// Parse the text of a users file.
    pub fn parse(text: &str) -> Result<UsersFile, UsersFileError> {
        let invalid = UsersFileError::Invalid;
        let raw: RawFile = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut passwords: HashMap<String, StoredPassword> = HashMap::new();
        for (i, u) in raw.users.into_iter().enumerate() {
            let algorithm: Algorithm = u
                .algorithm
                .parse()
                .map_err(|e| invalid(format!("users[{i}] ({}): {e}", u.username)))?;
            let stored = StoredPassword {
                algorithm,
                salt: u.salt,
                hash: u.password_hash,
                iterations: u.iterations.unwrap_or(LEGACY_PBKDF2_ITERATIONS),
            };
            if stored.iterations == 0 {
                return Err(invalid(format!(
                    "users[{i}] ({}): iterations must be at least 1",
                    u.username
                )));
            }
            stored
                .check_shape()
                .map_err(|e| invalid(format!("users[{i}] ({}): {e}", u.username)))?;
            // Karapace builds a dict: a later entry for the same name wins.
            if passwords.insert(u.username.clone(), stored).is_some() {
                tracing::warn!(user = %u.username, "the users file names this user twice; the last entry wins");
            }
        }
        let mut grants: HashMap<String, Vec<(Grant, String)>> = HashMap::new();
        for (i, p) in raw.permissions.into_iter().enumerate() {
            let operation = match p.operation.as_str() {
                "Read" => Operation::Read,
                "Write" => Operation::Write,
                other => {
                    return Err(invalid(format!(
                        "permissions[{i}] ({}): operation '{other}' is neither Read nor Write",
                        p.username
                    )))
                }
            };
            let resource = regex::Regex::new(&format!(r"\A(?:{})\z", p.resource)).map_err(|e| {
                invalid(format!(
                    "permissions[{i}] ({}): resource '{}' is not a regular expression this server supports: {e}",
                    p.username, p.resource
                ))
            })?;
            grants.entry(p.username).or_default().push((
                Grant {
                    operation,
                    resource,
                },
                p.resource,
            ));
        }
        let mut names: Vec<String> = passwords.keys().cloned().collect();
        names.extend(
            grants
                .keys()
                .filter(|n| !passwords.contains_key(*n))
                .cloned(),
        );
        let users = names
            .into_iter()
            .map(|name| {
                let password = passwords.remove(&name);
                let grants = grants.remove(&name).unwrap_or_default();
                let reads_every_subject = grants
                    .iter()
                    .any(|(_, pattern)| matches!(pattern.as_str(), ".*" | "Subject:.*"));
                let access = UserAccess {
                    name: name.clone(),
                    password,
                    grants: grants.into_iter().map(|(g, _)| g).collect(),
                    reads_every_subject,
                    subject_reads: SubjectReads::default(),
                };
                (name, Arc::new(access))
            })
            .collect();
        Ok(UsersFile { users })
    }

    /// The user named `name` (with a password, or only permissions).
    pub fn user(&self, name: &str) -> Option<&Arc<UserAccess>> {
        self.users.get(name)
    }

    /// The access of a user authenticated elsewhere (a bearer token): its permissions, or
    /// none when the file does not name it.
    pub fn access_for(&self, name: &str) -> Arc<UserAccess> {
        self.users.get(name).cloned().unwrap_or_else(|| {
            Arc::new(UserAccess {
                name: name.to_string(),
                password: None,
                grants: Vec::new(),
                reads_every_subject: false,
                subject_reads: SubjectReads::default(),
            })
        })
    }

    /// How many users the file defines.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file defines no user.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(permissions: serde_json::Value) -> UsersFile {
        let text = serde_json::json!({
            "users": [{"username": "u", "algorithm": "sha256", "salt": "karapace-salt",
                       "password_hash": "zJDQF6sEAst4kxpPh2YQ/3rhIYenknOoMC/3k8Cih5A="}],
            "permissions": permissions,
        });
        UsersFile::parse(&text.to_string()).expect("file parses")
    }

    #[test]
    fn write_implies_read_and_read_does_not_imply_write() {
        let f = file(serde_json::json!([
            {"username": "u", "operation": "Write", "resource": "Subject:w"},
            {"username": "u", "operation": "Read", "resource": "Subject:r"},
        ]));
        let u = f.user("u").unwrap();
        assert!(u.may(Operation::Read, "Subject:w"));
        assert!(u.may(Operation::Write, "Subject:w"));
        assert!(u.may(Operation::Read, "Subject:r"));
        assert!(!u.may(Operation::Write, "Subject:r"));
        assert!(!u.may(Operation::Read, "Config:"));
        assert!(u.verify("hunter2"));
    }

    #[test]
    fn remembered_subject_decisions_agree_with_the_patterns_past_their_bound() {
        let f = file(serde_json::json!([
            {"username": "u", "operation": "Read", "resource": "Subject:team-.*"},
        ]));
        let u = f.user("u").unwrap();
        for round in 0..2 {
            for i in 0..SUBJECT_DECISIONS + 10 {
                let (subject, readable) = if i % 2 == 0 {
                    (format!("team-{i}"), true)
                } else {
                    (format!("other-team-{i}"), false)
                };
                assert_eq!(
                    u.may_read_subject(&subject),
                    readable,
                    "{subject}, round {round}"
                );
                assert_eq!(
                    u.may(Operation::Read, &subject_resource(&subject)),
                    readable
                );
            }
        }
        assert!(u.subject_reads.decisions.len() <= SUBJECT_DECISIONS);
        let every = file(serde_json::json!([
            {"username": "u", "operation": "Read", "resource": "Subject:.*"},
        ]));
        assert!(every.user("u").unwrap().may_read_subject("anything"));
    }

    #[test]
    fn resources_match_the_whole_name() {
        let f = file(serde_json::json!([
            {"username": "u", "operation": "Read", "resource": "Subject:orders"},
            {"username": "u", "operation": "Read", "resource": "Subject:pay-.*|Config:"},
        ]));
        let u = f.user("u").unwrap();
        assert!(u.may(Operation::Read, "Subject:orders"));
        assert!(!u.may(Operation::Read, "Subject:orders-secret"));
        assert!(!u.may(Operation::Read, "Subject:xorders"));
        assert!(u.may(Operation::Read, "Subject:pay-1"));
        assert!(u.may(Operation::Read, "Config:"), "alternation is grouped");
        assert!(!u.reads_every_subject());
        let all =
            file(serde_json::json!([{"username": "u", "operation": "Read", "resource": ".*"}]));
        assert!(all.user("u").unwrap().reads_every_subject());
    }

    #[test]
    fn older_karapace_field_names_load() {
        let text = r#"{"users": [{"username": "u", "algorithm": "sha1", "salt": "karapace-salt",
            "password": "30QM19RNUt+Ih2UluGSbdNGK/jU="}],
            "acls": [{"username": "u", "operation": "Read", "resource": ".*"}]}"#;
        let f = UsersFile::parse(text).unwrap();
        assert!(f.user("u").unwrap().verify("hunter2"));
    }

    #[test]
    fn bad_files_are_refused_with_the_entry_named() {
        let cases = [
            ("not json", "{", "EOF"),
            (
                "unknown algorithm",
                r#"{"users":[{"username":"u","algorithm":"md5","salt":"s","password_hash":"x"}],"permissions":[]}"#,
                "users[0] (u): unknown hash algorithm 'md5'",
            ),
            (
                "bad hash",
                r#"{"users":[{"username":"u","algorithm":"sha1","salt":"s","password_hash":"x"}],"permissions":[]}"#,
                "users[0] (u): password_hash",
            ),
            (
                "bad operation",
                r#"{"users":[],"permissions":[{"username":"u","operation":"Delete","resource":".*"}]}"#,
                "permissions[0] (u): operation 'Delete'",
            ),
            (
                "bad regex",
                r#"{"users":[],"permissions":[{"username":"u","operation":"Read","resource":"("}]}"#,
                "permissions[0] (u): resource '('",
            ),
            (
                "missing permissions",
                r#"{"users":[]}"#,
                "missing field `permissions`",
            ),
        ];
        for (what, text, expected) in cases {
            let err = UsersFile::parse(text).expect_err(what).to_string();
            assert!(err.contains(expected), "{what}: {err}");
        }
    }
}
