//! In-memory caches of immutable data, so cached reads never touch the database.
//!
//! Memory model: the four caches together hold at most `cache_max_bytes` (256 MiB by default)
//! as [`Weigh`] estimates it: a stored schema counts its text, the body the HTTP layer renders
//! from it once (estimated in advance), its metadata and rule set; a parsed schema counts
//! [`PARSED_BYTES_PER_TEXT_BYTE`] times its canonical text; a version its subject and body. Past the budget the least recently used entries
//! are evicted (see [`ByteLru`]) and read again from the database when next needed. Schemas,
//! parsed forms, version bodies and the subjects of ids get 40%, 40%, 15% and 5% of the budget.
//!
//! `id → subjects` (the subjects holding an id, deleted versions included) serves the
//! authorization of `/schemas/ids/{id}` for users limited to some subjects. It is trusted only
//! to allow: a registration elsewhere can add a subject to an id without any invalidation, so
//! when no cached subject is readable the database is asked again (and the entry refreshed).
//! Deletes, which can remove a subject from an id, clear it whole (they are rare), here and,
//! through `crate::coherence`, on the other instances.
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
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use strata_schema::ParsedSchema;

use crate::lru::{ByteLru, Weigh};
use crate::storage::{SchemaRecord, VersionRecord};

/// The estimate of a parsed schema's memory per byte of its canonical text (trees, names and
/// derived indexes take several times the text).
pub const PARSED_BYTES_PER_TEXT_BYTE: usize = 8;

/// A stored schema and what is derived from it once.
#[derive(Debug)]
pub struct CachedSchema {
    /// The stored record.
    pub record: SchemaRecord,
    /// A rendering of the record that the transport layer computes once and reuses (the body
    /// of `GET /schemas/ids/{id}`); the registry itself never looks at it.
    pub rendered: OnceLock<Bytes>,
}

impl CachedSchema {
    /// A cache entry for `record`, not yet rendered.
    pub fn new(record: SchemaRecord) -> Self {
        CachedSchema {
            record,
            rendered: OnceLock::new(),
        }
    }
}

/// An estimate of a rendered body carrying `record` (JSON escaping adds a little to the text).
fn rendered_estimate(record: &SchemaRecord) -> usize {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map_or(0, |v| v.to_string().len());
    record.schema.len()
        + record.schema.len() / 8
        + json(&record.metadata)
        + json(&record.rule_set)
        + record
            .references
            .iter()
            .map(|x| x.name.len() + x.subject.len() + 48)
            .sum::<usize>()
        + 128
}

impl Weigh for Arc<CachedSchema> {
    fn weigh(&self) -> usize {
        let r = &self.record;
        // The record (text, references, metadata) and its rendering take about as much again.
        2 * rendered_estimate(r) + r.guid.len() + 128
    }
}

/// A live subject version and its schema, with a rendering the transport layer computes once
/// (the body of `GET /subjects/{s}/versions/{v}`).
#[derive(Debug)]
pub struct CachedVersion {
    /// The subject.
    pub subject: String,
    /// The version.
    pub version: VersionRecord,
    /// Its schema (shared with the schema cache).
    pub schema: Arc<CachedSchema>,
    /// The rendered body, filled on first use by the transport layer.
    pub rendered: OnceLock<Bytes>,
}

impl Weigh for Arc<CachedVersion> {
    fn weigh(&self) -> usize {
        // The schema is counted by the schema cache; here the key and the rendered body.
        2 * self.subject.len() + rendered_estimate(&self.schema.record) + 128
    }
}

impl Weigh for Arc<ParsedSchema> {
    fn weigh(&self) -> usize {
        self.canonical().len() * PARSED_BYTES_PER_TEXT_BYTE + 1024
    }
}

/// The registry's caches, bounded by bytes together (see the module doc). Reads take a shard's
/// read lock only; there is no global lock.
#[derive(Debug)]
pub struct Caches {
    /// id → schema.
    pub schemas: ByteLru<i64, Arc<CachedSchema>>,
    /// id → parsed form (for compatibility checks: history is not re-parsed while cached).
    pub parsed: ByteLru<i64, Arc<ParsedSchema>>,
    /// (subject, version) → a live version with its schema.
    pub versions: ByteLru<(String, i32), Arc<CachedVersion>>,
    /// id → the subjects holding it (see the module doc: trusted only to allow).
    id_subjects: ByteLru<i64, Arc<[Box<str>]>>,
    /// Bumped by every invalidation.
    generation: AtomicU64,
}

impl Caches {
    /// Empty caches holding at most about `max_bytes` together.
    pub fn new(max_bytes: usize) -> Self {
        Caches {
            schemas: ByteLru::new(max_bytes / 5 * 2),
            parsed: ByteLru::new(max_bytes / 5 * 2),
            versions: ByteLru::new(max_bytes / 20 * 3),
            id_subjects: ByteLru::new(max_bytes / 20),
            generation: AtomicU64::new(0),
        }
    }

    /// Forget a subject version (after a soft or permanent delete).
    pub fn forget_version(&self, subject: &str, version: i32) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.versions.remove(&(subject.to_string(), version));
        self.id_subjects.clear();
    }

    /// Forget a schema id (after a permanent delete removed it).
    pub fn forget_schema(&self, id: i64) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.schemas.remove(&id);
        self.parsed.remove(&id);
        self.id_subjects.clear();
    }

    /// The subjects holding `id`, as last read (may miss subjects registered since).
    pub fn subjects_of_id(&self, id: i64) -> Option<Arc<[Box<str>]>> {
        self.id_subjects.get(&id)
    }

    /// Remember the subjects holding `id`, read from the database when the invalidation count
    /// was `generation` (dropped if a delete came since: what was read may be gone).
    pub fn remember_subjects_of_id(&self, id: i64, subjects: Arc<[Box<str>]>, generation: u64) {
        self.id_subjects.insert(id, subjects);
        if self.generation() != generation {
            self.id_subjects.remove(&id);
        }
    }

    /// (entries, estimated bytes) held by the caches together.
    pub fn usage(&self) -> (usize, usize) {
        self.stats()
            .iter()
            .fold((0, 0), |(n, b), (_, s)| (n + s.entries, b + s.bytes))
    }

    /// Each cache's name and statistics (for metrics).
    pub fn stats(&self) -> [(&'static str, crate::lru::CacheStats); 4] {
        [
            ("schemas", self.schemas.stats()),
            ("parsed", self.parsed.stats()),
            ("versions", self.versions.stats()),
            ("id_subjects", self.id_subjects.stats()),
        ]
    }

    /// The number of invalidations so far (see the module doc).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}
