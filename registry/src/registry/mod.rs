//! The registry's behaviour, independent of HTTP: Confluent's semantics for registering,
//! looking up, deleting and checking schemas, and for config and mode. It takes typed values
//! (`Subject`, `VersionId`, `Scope`, a parsed request) and returns domain values (records,
//! versions, [`Config`], [`Mode`]); the routes (`crate::routes`) build every HTTP body. Reads of
//! immutable data go through [`Caches`]; everything else goes to [`Storage`].
//!
//! One file per concern:
//! - `schemas`: schemas by id and GUID, their parsed forms, references, versions and listings;
//! - `register`: parsing a request into a candidate, registration and lookup;
//! - `compatibility`: checks against a subject's history;
//! - `deletes`: soft and permanent deletes of versions and subjects;
//! - `config` and `mode`: per-scope settings, typed.
//!
//! A registration is one straight line: route → [`Registry::register`] → parse (on the work
//! pool) → compatibility (on the work pool) → one storage call → cache.

mod compatibility;
mod config;
mod deletes;
mod mode;
mod register;
mod schemas;

use std::sync::Arc;

use strata_schema::CompatibilityLevel;

use crate::cache::Caches;
use crate::storage::{Storage, VersionRecord};
use crate::work::WorkPool;
use crate::Result;

pub use config::{Config, Scope};
pub use register::RegisterOptions;

/// Server-wide settings that change behaviour.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Answer incompatible registrations with error code 40901 (Confluent 8.2+) instead of 409.
    pub incompatible_code_40901: bool,
    /// The compatibility level when none is configured.
    pub default_compatibility: CompatibilityLevel,
    /// Largest schema text accepted, in bytes (42209 above it).
    pub max_schema_bytes: usize,
    /// Whether `PUT /mode` is allowed (Confluent's `mode.mutability`).
    pub mode_mutability: bool,
    /// Limits on work, time and nesting (see [`crate::limits`]).
    pub limits: crate::limits::Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            incompatible_code_40901: false,
            default_compatibility: CompatibilityLevel::Backward,
            max_schema_bytes: 8 * 1024 * 1024,
            mode_mutability: true,
            limits: crate::limits::Limits::default(),
        }
    }
}

/// The registry.
pub struct Registry {
    storage: Arc<dyn Storage>,
    caches: Caches,
    settings: Settings,
    /// Parsing and compatibility run here, never on an async worker.
    pool: WorkPool,
    /// Counted for metrics.
    events: crate::metrics::Events,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The versions of a subject that are not soft-deleted, in version order.
fn live(versions: &[VersionRecord]) -> impl DoubleEndedIterator<Item = &VersionRecord> {
    versions.iter().filter(|v| !v.deleted)
}

impl Registry {
    /// A registry over `storage`.
    pub fn new(storage: Arc<dyn Storage>, settings: Settings) -> Self {
        let pool = WorkPool::new(settings.limits.pool).expect("starting the schema work pool");
        Registry {
            storage,
            caches: Caches::new(settings.limits.cache_max_bytes),
            settings,
            pool,
            events: Default::default(),
        }
    }

    /// What the registry counted (for metrics).
    pub(crate) fn events(&self) -> &crate::metrics::Events {
        &self.events
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The caches (for invalidations from other instances, `crate::coherence`).
    pub(crate) fn caches(&self) -> &Caches {
        &self.caches
    }

    /// What the caches hold now: (entries, estimated bytes). Never above `cache_max_bytes`.
    pub fn cache_usage(&self) -> (usize, usize) {
        self.caches.usage()
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<()> {
        Ok(self.storage.ping().await?)
    }
}
