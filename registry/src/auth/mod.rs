//! Authentication and authorization, with Karapace's semantics and users file.
//!
//! One middleware ([`middleware::layer`]) checks every request when a users file is given:
//! Basic credentials (401 with `WWW-Authenticate` otherwise), then the permission the route
//! needs (`Config:` for global config and mode, `Subject:<name>` for a subject's paths). It
//! leaves an [`Access`] in the request's extensions, which listing handlers use to show only
//! the subjects the user may read. Without a users file every request is [`Access::Unrestricted`].
//!
//! What must hold: a subject the user may not read answers exactly as a missing one (40401; an
//! id held only by such subjects 40403), so permissions never reveal what exists.

pub mod bearer;
pub mod credentials;
pub mod middleware;
pub mod password;
pub mod reload;
pub mod users_file;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub use credentials::Authenticator;
pub use password::Algorithm;
pub use users_file::{Operation, UserAccess, UsersFile, UsersFileError};

/// Who is asking, as the handlers see it.
#[derive(Debug, Clone)]
pub enum Access {
    /// No users file: everything is allowed.
    Unrestricted,
    /// An authenticated user of the users file.
    User(Arc<UserAccess>),
}

impl Access {
    /// The user's name, when authenticated.
    pub fn user(&self) -> Option<&str> {
        match self {
            Access::Unrestricted => None,
            Access::User(u) => Some(u.name()),
        }
    }

    /// Whether `operation` on `resource` (`Config:`, `Subject:<name>`) is allowed.
    pub fn may(&self, operation: Operation, resource: &str) -> bool {
        match self {
            Access::Unrestricted => true,
            Access::User(u) => u.may(operation, resource),
        }
    }

    /// Whether the subject may be read (listings keep only these).
    pub fn may_read_subject(&self, subject: &str) -> bool {
        match self {
            Access::Unrestricted => true,
            Access::User(u) => u.may_read_subject(subject),
        }
    }

    /// Whether every subject may be read, whatever its name.
    pub fn reads_every_subject(&self) -> bool {
        match self {
            Access::Unrestricted => true,
            Access::User(u) => u.reads_every_subject(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Access {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The middleware inserts the user's access whenever a users file is in force.
        Ok(parts
            .extensions
            .get::<Access>()
            .cloned()
            .unwrap_or(Access::Unrestricted))
    }
}
