//! In-memory caches of immutable data, so cached reads never touch the database.
//!
//! Schema ids are never reused and a schema's content never changes, so `id → schema` (with its
//! pre-serialised `/schemas/ids/{id}` body and its parsed form) can be cached forever; it is
//! evicted only when a permanent delete removes the id. A subject's numbered version is
//! immutable too, except for being soft- or permanently deleted: the cache holds live versions
//! only and drops an entry when a delete reaches it. The only invalidations are deletions,
//! keyed exactly as cached here; deletes made by other instances sharing the database arrive
//! through `crate::coherence`.
//!
//! A read that fills the cache races with a delete: it may read a row just before the delete
//! commits and insert it just after the invalidation was applied. [`Caches::generation`]
//! closes that window: a filler notes the generation before reading the database and drops
//! what it inserted if an invalidation happened meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use dashmap::DashMap;
use strata_schema::ParsedSchema;

use crate::storage::SchemaRecord;

/// A stored schema and what is derived from it once.
#[derive(Debug)]
pub struct CachedSchema {
    /// The stored record.
    pub record: SchemaRecord,
    /// The body of `GET /schemas/ids/{id}` with no query parameters.
    pub id_body: Bytes,
}

/// The registry's caches. Lock-free reads (sharded maps), no global lock.
#[derive(Debug, Default)]
pub struct Caches {
    /// id → schema.
    pub schemas: DashMap<i64, Arc<CachedSchema>>,
    /// id → parsed form (for compatibility checks: history is never re-parsed).
    pub parsed: DashMap<i64, Arc<ParsedSchema>>,
    /// (subject, version) → body of `GET /subjects/{s}/versions/{v}` for a live version.
    pub versions: DashMap<(String, i32), Bytes>,
    /// Bumped by every invalidation.
    generation: AtomicU64,
}

impl Caches {
    /// Forget a subject version (after a soft or permanent delete).
    pub fn forget_version(&self, subject: &str, version: i32) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.versions.remove(&(subject.to_string(), version));
    }

    /// Forget a schema id (after a permanent delete removed it).
    pub fn forget_schema(&self, id: i64) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.schemas.remove(&id);
        self.parsed.remove(&id);
    }

    /// The number of invalidations so far (see the module doc).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}
