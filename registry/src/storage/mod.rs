//! Storage: the [`Storage`] trait, the records it deals in, and the engines behind it.
//!
//! Both engines share one SQL implementation ([`sql::SqlStorage`], over sqlx's `Any` driver
//! with runtime-checked queries) and differ only in what [`sql::Dialect`] names: connection
//! set-up, migrations, how a write transaction begins and how the id sequence is advanced after
//! an import. Storage knows nothing of HTTP; errors are mapped once, in `registry::Error`.
//!
//! Integrity rests on constraints, not on hope: schema ids come from a sequence (PostgreSQL
//! identity, SQLite AUTOINCREMENT) and are never reused; `(schema_type, guid)` is unique, so one
//! schema content has one id; `(subject, version)` is the primary key and `(subject, schema_id)`
//! is unique among live versions, so concurrent registrations cannot produce duplicate versions.

mod direct;
mod sql;

use async_trait::async_trait;
use strata_schema::{SchemaReference, SchemaType};

pub use sql::{redact, Dialect, SqlStorage, INVALIDATION_CHANNEL};

/// Result with [`StorageError`] as the default error.
pub type StorageResult<T, E = StorageError> = std::result::Result<T, E>;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness constraint refused the write (a concurrent writer got there first).
    /// The caller re-reads and retries.
    #[error("a concurrent write conflicted: {0}")]
    Conflict(String),
    /// An import asked for an id that another schema holds.
    #[error("Overwrite new schema with id {0} is not permitted.")]
    IdTaken(i64),
    /// An import asked for another id for a schema that already has one.
    #[error("Schema already registered with id {existing}, cannot import it with id {requested}.")]
    ContentHasOtherId {
        /// The id the content already has.
        existing: i64,
        /// The id the import asked for.
        requested: i64,
    },
    /// The database URL names no supported engine.
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database could not be opened, created or migrated.
    #[error("could not open the database at {url}: {source}")]
    Open {
        /// The URL with any password removed.
        url: String,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A value that cannot be stored (a NUL character: PostgreSQL text cannot hold one).
    #[error("cannot store {0}")]
    Unstorable(String),
    /// A stored value could not be decoded (the database was edited by hand?).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// A stored schema: its content and id.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaRecord {
    /// The global id.
    pub id: i64,
    /// The format.
    pub schema_type: SchemaType,
    /// Confluent's GUID (MD5 over text, references, metadata, rule set).
    pub guid: String,
    /// The canonical text.
    pub schema: String,
    /// References, in order.
    pub references: Vec<SchemaReference>,
    /// `metadata`, verbatim.
    pub metadata: Option<serde_json::Value>,
    /// `ruleSet`, verbatim.
    pub rule_set: Option<serde_json::Value>,
}

/// Content to store; the id is assigned by the sequence (or given, in IMPORT mode).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSchema {
    /// The format.
    pub schema_type: SchemaType,
    /// Confluent's GUID of this content.
    pub guid: String,
    /// The canonical text.
    pub schema: String,
    /// References, in order.
    pub references: Vec<SchemaReference>,
    /// `metadata`, verbatim.
    pub metadata: Option<serde_json::Value>,
    /// `ruleSet`, verbatim.
    pub rule_set: Option<serde_json::Value>,
}

/// One version of one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRecord {
    /// The version number.
    pub version: i32,
    /// The schema it registers.
    pub schema_id: i64,
    /// Soft-deleted.
    pub deleted: bool,
}

/// A subject version, with its subject (for listings across subjects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectVersion {
    /// The subject.
    pub subject: String,
    /// The version.
    pub version: VersionRecord,
}

/// The stored config bodies and modes that apply to a subject, read together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeRows {
    /// The global config body (JSON text).
    pub global_config: Option<String>,
    /// The subject's config body.
    pub subject_config: Option<String>,
    /// The global mode.
    pub global_mode: Option<String>,
    /// The subject's mode.
    pub subject_mode: Option<String>,
}

/// A delete another instance must apply to its caches (see `crate::coherence`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    /// Its position in the shared log.
    pub seq: i64,
    /// The subject whose versions were deleted.
    pub subject: String,
    /// The versions deleted (soft or permanently).
    pub versions: Vec<i32>,
    /// The schema ids removed by a permanent delete.
    pub schema_ids: Vec<i64>,
}

/// What `insert_version` writes.
#[derive(Debug, Clone, Copy)]
pub struct VersionInsert<'a> {
    /// The subject.
    pub subject: &'a str,
    /// The new version number.
    pub version: i32,
    /// The content.
    pub schema: &'a NewSchema,
    /// IMPORT mode: the id to store the content under.
    pub explicit_id: Option<i64>,
}

/// What `insert_version` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The version was added; the content has this id (new, or shared with other subjects).
    Added {
        /// The schema id.
        id: i64,
    },
    /// The subject already had a live version of this content: nothing was written.
    Existing {
        /// The schema id.
        id: i64,
        /// The live version holding it.
        version: i32,
    },
}

/// What `register_first_version` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstVersion {
    /// The subject was new, as assumed: the content was stored as its version 1.
    Written(Written),
    /// It was not (or its settings ask for more than a plain registration): nothing was
    /// written, and this is the subject's state, as [`Storage::subject_state`] reads it.
    State(SubjectState),
}

/// What a registration reads about a subject before it writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectState {
    /// The configs and modes that apply.
    pub scope: ScopeRows,
    /// All versions of the subject, soft-deleted included, in version order.
    pub versions: Vec<VersionRecord>,
}

/// The persistence the registry needs. Every method is one short transaction.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// The schema with this id.
    async fn schema_by_id(&self, id: i64) -> StorageResult<Option<SchemaRecord>>;
    /// The schema with this GUID.
    async fn schema_by_guid(&self, guid: &str) -> StorageResult<Option<SchemaRecord>>;
    /// The id of this content, if stored.
    async fn schema_id_by_content(
        &self,
        schema_type: SchemaType,
        guid: &str,
    ) -> StorageResult<Option<i64>>;
    /// All versions of a subject, soft-deleted included, in version order.
    async fn versions(&self, subject: &str) -> StorageResult<Vec<VersionRecord>>;
    /// Every subject version registering this schema id.
    async fn versions_of_schema(&self, id: i64) -> StorageResult<Vec<SubjectVersion>>;
    /// Every subject version, ordered by subject then version.
    async fn all_versions(&self) -> StorageResult<Vec<SubjectVersion>>;
    /// In one transaction (on PostgreSQL one round trip, without an explicit id): store the
    /// content unless it is stored (under `explicit_id` when given); when the subject has a live
    /// version of it, return that version and write nothing; otherwise remove the subject's
    /// unreferenced soft-deleted versions of the same content (Confluent's tombstones) and add
    /// the version. A concurrent writer that took the version number yields
    /// [`StorageError::Conflict`].
    async fn insert_version(&self, insert: VersionInsert<'_>) -> StorageResult<Written>;
    /// The configs and modes of the global scope and of `subject`, in one round trip.
    async fn scope(&self, subject: &str) -> StorageResult<ScopeRows>;
    /// The configs and modes that apply to `subject` and its versions, in one round trip.
    async fn subject_state(&self, subject: &str) -> StorageResult<SubjectState>;
    /// Whether [`Storage::register_first_version`] saves a round trip on this engine (then the
    /// registry tries it first for a registration without an explicit id).
    fn registers_first_versions_in_one_call(&self) -> bool {
        false
    }
    /// In one round trip: register `schema` as version 1 of `subject` when the subject has no
    /// version, its mode and the global one are READWRITE, and no config asks to normalise
    /// (unless `normalize`, the request's own); otherwise write nothing and return the
    /// subject's state. A concurrent writer yields [`StorageError::Conflict`].
    async fn register_first_version(
        &self,
        subject: &str,
        normalize: bool,
        schema: &NewSchema,
    ) -> StorageResult<FirstVersion> {
        let _ = (normalize, schema);
        Ok(FirstVersion::State(self.subject_state(subject).await?))
    }
    /// Mark versions soft-deleted, and log the invalidation for other instances in the same
    /// transaction.
    async fn soft_delete(&self, subject: &str, versions: &[i32]) -> StorageResult<()>;
    /// Remove versions permanently; schemas no longer registered anywhere are removed too, and
    /// their ids returned (they are never reused). The invalidation is logged for other
    /// instances in the same transaction.
    async fn hard_delete(&self, subject: &str, versions: &[i32]) -> StorageResult<Vec<i64>>;
    /// Logged invalidations with `seq > after`, in order.
    async fn invalidations_after(&self, after: i64) -> StorageResult<Vec<Invalidation>>;
    /// The last logged invalidation's `seq` (0 when none).
    async fn last_invalidation(&self) -> StorageResult<i64>;
    /// Ids of schemas whose references name this subject version.
    async fn referencing_schema_ids(&self, subject: &str, version: i32) -> StorageResult<Vec<i64>>;
    /// A config body (JSON text) for a scope (`""` = global).
    async fn config(&self, scope: &str) -> StorageResult<Option<String>>;
    /// Store a config body.
    async fn set_config(&self, scope: &str, body: &str) -> StorageResult<()>;
    /// Remove a config; whether one existed.
    async fn delete_config(&self, scope: &str) -> StorageResult<bool>;
    /// A mode for a scope (`""` = global).
    async fn mode(&self, scope: &str) -> StorageResult<Option<String>>;
    /// Store a mode.
    async fn set_mode(&self, scope: &str, mode: &str) -> StorageResult<()>;
    /// Remove a mode; whether one existed.
    async fn delete_mode(&self, scope: &str) -> StorageResult<bool>;
    /// Scopes (subjects) that have a mode set.
    async fn mode_scopes(&self) -> StorageResult<Vec<String>>;
    /// The largest schema id in use (0 when empty).
    async fn max_schema_id(&self) -> StorageResult<i64>;
    /// A round trip to the database (readiness): `Ok` when it answers.
    async fn ping(&self) -> StorageResult<()>;
}

/// Open the storage named by `url` (`sqlite://…` or `postgres://…`), creating and migrating
/// the database as needed.
pub async fn open(url: &str) -> StorageResult<SqlStorage> {
    SqlStorage::open(url).await
}
