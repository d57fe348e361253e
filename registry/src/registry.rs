//! The registry's behaviour, independent of HTTP: Confluent's semantics for registering,
//! looking up, deleting and checking schemas, and for config and mode. Reads of immutable data
//! go through [`Caches`]; everything else goes to [`Storage`].

use std::sync::Arc;

use axum::body::Bytes;
use futures::future::BoxFuture;
use strata_schema::guid::schema_guid;
use strata_schema::{
    check_compatibility, CompatibilityLevel, CompatibilityPolicy, CompatibilityResult, Dependency,
    ParseOptions, ParsedSchema, SchemaReference, SchemaType,
};

use crate::cache::{CachedSchema, Caches};
use crate::entities::{RegisterSchemaRequest, SchemaEntity, SchemaStringEntity};
use crate::storage::{
    NewSchema, SchemaRecord, ScopeRows, Storage, StorageError, SubjectVersion, VersionInsert,
    VersionRecord,
};
use crate::types::{Mode, Subject, VersionId};
use crate::work::WorkPool;
use crate::{Error, Result};

/// The global scope's key in the config and mode tables.
pub const GLOBAL: &str = "";

/// How often a registration is retried when a concurrent writer took its version number.
const MAX_WRITE_ATTEMPTS: usize = 64;

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

/// Options of a register call.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegisterOptions {
    /// `normalize=true`.
    pub normalize: bool,
    /// `force=true`: skip the compatibility check.
    pub force: bool,
}

/// The result of a registration.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The subject version.
    pub version: i32,
    /// The stored schema.
    pub schema: Arc<CachedSchema>,
}

/// What one resolution of references has fetched and expanded so far.
#[derive(Default)]
struct Resolution {
    /// (subject, version as referenced) → the schema, fetched once.
    fetched: std::collections::HashMap<(String, i32), Arc<CachedSchema>>,
    /// Dependencies expanded (a schema referenced twice counts twice).
    expanded: usize,
}

/// A schema as given in a request, parsed and identified.
struct Candidate {
    parsed: Arc<ParsedSchema>,
    new: NewSchema,
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

fn live(versions: &[VersionRecord]) -> impl DoubleEndedIterator<Item = &VersionRecord> {
    versions.iter().filter(|v| !v.deleted)
}

fn invalid_schema(
    subject: &str,
    req_schema: &str,
    schema_type: SchemaType,
    refs: &[SchemaReference],
    reason: &dyn std::fmt::Display,
) -> Error {
    // Confluent: "Invalid schema " + Schema.toString() + ", details: " + cause.
    let refs: Vec<String> = refs
        .iter()
        .map(|r| {
            format!(
                "{{name='{}', subject='{}', version={}}}",
                r.name, r.subject, r.version
            )
        })
        .collect();
    // Confluent echoes the whole schema; Strata quotes a short prefix (a 42201 on a 5 MB schema
    // must not answer 5 MB).
    let req_schema = crate::limits::quote_prefix(req_schema);
    let shown = refs.len().min(crate::limits::QUOTED_REFERENCES);
    let more = match refs.len() - shown {
        0 => String::new(),
        n => format!(", … {n} more"),
    };
    Error::InvalidSchema(format!(
        "Invalid schema {{subject={subject}, version=0, id=-1, schemaType={schema_type}, references=[{}{more}], schema={req_schema}}}, details: {reason}",
        refs[..shown].join(", ")
    ))
}

fn merge_config(
    base: &mut serde_json::Map<String, serde_json::Value>,
    over: &serde_json::Map<String, serde_json::Value>,
) {
    for (k, v) in over {
        base.insert(k.clone(), v.clone());
    }
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

    // ---------------------------------------------------------------- schemas by id

    /// The schema with this id, from memory after first use.
    pub async fn schema(&self, id: i64) -> Result<Option<Arc<CachedSchema>>> {
        if let Some(hit) = self.caches.schemas.get(&id) {
            return Ok(Some(hit.clone()));
        }
        let generation = self.caches.generation();
        let Some(record) = self.storage.schema_by_id(id).await? else {
            return Ok(None);
        };
        let cached = self.cache_schema(record)?;
        if self.caches.generation() != generation {
            // A delete was applied while we read: what we read may be gone.
            self.caches.schemas.remove(&id);
        }
        Ok(Some(cached))
    }

    /// The body of `GET /schemas/ids/{id}` when it is cached (the hot path: no await, no I/O).
    pub fn cached_id_body(&self, id: i64) -> Option<Bytes> {
        self.caches.schemas.get(&id).map(|c| c.id_body.clone())
    }

    fn cache_schema(&self, record: SchemaRecord) -> Result<Arc<CachedSchema>> {
        let id = record.id;
        let id_body = serde_json::to_vec(&SchemaStringEntity::new(&record, &record.schema))
            .map_err(|e| Error::Internal(e.to_string()))?;
        let cached = Arc::new(CachedSchema {
            record,
            id_body: Bytes::from(id_body),
        });
        Ok(self.caches.schemas.get_or_insert(id, cached))
    }

    /// The schema with this GUID.
    pub async fn schema_by_guid(&self, guid: &str) -> Result<Option<Arc<CachedSchema>>> {
        let generation = self.caches.generation();
        match self.storage.schema_by_guid(guid).await? {
            Some(record) => {
                let id = record.id;
                let cached = self.cache_schema(record)?;
                if self.caches.generation() != generation {
                    // A delete was applied while we read: what we read may be gone.
                    self.caches.schemas.remove(&id);
                }
                Ok(Some(cached))
            }
            None => Ok(None),
        }
    }

    /// The parsed form of a stored schema, parsed once (leniently, as stored schemas are).
    pub async fn parsed(&self, id: i64) -> Result<Arc<ParsedSchema>> {
        if let Some(hit) = self.caches.parsed.get(&id) {
            return Ok(hit.clone());
        }
        let cached = self
            .schema(id)
            .await?
            .ok_or_else(|| Error::SchemaIdNotFound(id.to_string()))?;
        let record = &cached.record;
        let deps = self.resolve_references(&record.references, 0).await?;
        let (schema_type, text) = (record.schema_type, record.schema.clone());
        let text_limits = self.settings.limits.text();
        let parsed = self
            .pool
            .run("parse a stored schema", move || {
                ParsedSchema::parse_with_limits(
                    schema_type,
                    &text,
                    &deps,
                    ParseOptions {
                        validate_as_new: false,
                    },
                    text_limits,
                )
            })
            .await?
            .map_err(|e| Error::Internal(format!("stored schema {id} no longer parses: {e}")))?;
        let parsed = Arc::new(parsed);
        self.caches.parsed.insert(id, parsed.clone());
        Ok(parsed)
    }

    /// Resolve references into dependencies (recursively), from the store. Each referenced
    /// subject version is fetched once per call however often it recurs, and the expansion is
    /// bounded by `max_reference_depth` and `max_references` (42201 naming the limit).
    fn resolve_references<'a>(
        &'a self,
        refs: &'a [SchemaReference],
        depth: usize,
    ) -> BoxFuture<'a, Result<Vec<Dependency>>> {
        Box::pin(async move {
            let mut resolution = Resolution::default();
            self.resolve_with(refs.to_vec(), depth, &mut resolution)
                .await
        })
    }

    fn resolve_with<'a>(
        &'a self,
        refs: Vec<SchemaReference>,
        depth: usize,
        resolution: &'a mut Resolution,
    ) -> BoxFuture<'a, Result<Vec<Dependency>>> {
        Box::pin(async move {
            let limits = &self.settings.limits;
            if depth > limits.max_reference_depth {
                return Err(Error::InvalidSchema(format!(
                    "References are nested more than {} levels deep (max_reference_depth)",
                    limits.max_reference_depth
                )));
            }
            let mut deps = Vec::with_capacity(refs.len());
            for r in refs {
                resolution.expanded += 1;
                if resolution.expanded > limits.max_references {
                    return Err(Error::InvalidSchema(format!(
                        "References expand to more than {} schemas (max_references); \
                         a schema that references another several times counts it each time",
                        limits.max_references
                    )));
                }
                let key = (r.subject.clone(), r.version);
                let cached = match resolution.fetched.get(&key) {
                    Some(hit) => hit.clone(),
                    None => {
                        let fetched = self.referenced_schema(&r).await?;
                        resolution.fetched.insert(key, fetched.clone());
                        fetched
                    }
                };
                let dependencies = self
                    .resolve_with(cached.record.references.clone(), depth + 1, resolution)
                    .await?;
                deps.push(Dependency {
                    name: r.name,
                    subject: r.subject,
                    version: r.version,
                    schema_type: cached.record.schema_type,
                    schema: cached.record.schema.clone(),
                    dependencies,
                });
            }
            Ok(deps)
        })
    }

    async fn referenced_schema(&self, r: &SchemaReference) -> Result<Arc<CachedSchema>> {
        let missing = || {
            Error::InvalidSchema(format!(
                "Invalid schema: reference '{}' to subject '{}' version {} could not be found; register it first",
                r.name, r.subject, r.version
            ))
        };
        let versions = self.storage.versions(&r.subject).await?;
        let found = if r.version == -1 {
            live(&versions).next_back()
        } else {
            versions.iter().find(|v| v.version == r.version)
        };
        let v = found.ok_or_else(missing)?;
        self.schema(v.schema_id).await?.ok_or_else(missing)
    }

    // ---------------------------------------------------------------- versions

    /// All versions of a subject (soft-deleted included).
    pub async fn versions(&self, subject: &Subject) -> Result<Vec<VersionRecord>> {
        Ok(self.storage.versions(subject.as_str()).await?)
    }

    /// Resolve `version` in a subject: `latest` is the latest live version (or, with
    /// `deleted`, the latest of all); a number must exist and be live unless `deleted`.
    pub async fn find_version(
        &self,
        subject: &Subject,
        version: VersionId,
        deleted: bool,
    ) -> Result<VersionRecord> {
        let versions = self.versions(subject).await?;
        if versions.is_empty() || (!deleted && live(&versions).next().is_none()) {
            return Err(Error::SubjectNotFound(subject.to_string()));
        }
        let found = match version {
            VersionId::Latest if deleted => versions.last(),
            VersionId::Latest => live(&versions).next_back(),
            VersionId::Number(n) => versions
                .iter()
                .find(|v| v.version == n && (deleted || !v.deleted)),
        };
        found.copied().ok_or_else(|| {
            Error::VersionNotFound(match version {
                VersionId::Latest => "latest".into(),
                VersionId::Number(n) => n.to_string(),
            })
        })
    }

    /// The body of `GET /subjects/{s}/versions/{v}`: from memory for a live numbered version.
    pub async fn version_body(
        &self,
        subject: &Subject,
        version: VersionId,
        deleted: bool,
    ) -> Result<Bytes> {
        if let VersionId::Number(n) = version {
            if let Some(hit) = self.caches.versions.get(&(subject.to_string(), n)) {
                return Ok(hit);
            }
        }
        let generation = self.caches.generation();
        let v = self.find_version(subject, version, deleted).await?;
        let schema = self.schema(v.schema_id).await?.ok_or_else(|| {
            Error::Internal(format!("version refers to missing schema {}", v.schema_id))
        })?;
        let body = Bytes::from(
            serde_json::to_vec(&SchemaEntity::new(
                subject.as_str(),
                v.version,
                &schema.record,
                v.deleted,
            ))
            .map_err(|e| Error::Internal(e.to_string()))?,
        );
        if !v.deleted {
            let key = (subject.to_string(), v.version);
            self.caches.versions.insert(key.clone(), body.clone());
            if self.caches.generation() != generation {
                // A delete was applied while we read: what we read may be gone.
                self.caches.versions.remove(&key);
            }
        }
        Ok(body)
    }

    /// The schema registered as a subject version.
    pub async fn version_schema(
        &self,
        subject: &Subject,
        version: VersionId,
        deleted: bool,
    ) -> Result<(VersionRecord, Arc<CachedSchema>)> {
        let v = self.find_version(subject, version, deleted).await?;
        let schema = self.schema(v.schema_id).await?.ok_or_else(|| {
            Error::Internal(format!("version refers to missing schema {}", v.schema_id))
        })?;
        Ok((v, schema))
    }

    /// `GET /subjects/{s}/metadata`: the latest version of `subject` (soft-deleted ones too
    /// with `deleted`) whose schema's metadata `properties` hold every `(key, value)` pair.
    pub async fn version_with_metadata(
        &self,
        subject: &Subject,
        pairs: &[(String, String)],
        deleted: bool,
    ) -> Result<(VersionRecord, Arc<CachedSchema>)> {
        let versions = self.versions(subject).await?;
        if versions.is_empty() || (!deleted && live(&versions).next().is_none()) {
            return Err(Error::SubjectNotFound(subject.to_string()));
        }
        for v in versions.iter().rev().filter(|v| deleted || !v.deleted) {
            let schema = self.schema(v.schema_id).await?.ok_or_else(|| {
                Error::Internal(format!("version refers to missing schema {}", v.schema_id))
            })?;
            let properties = schema
                .record
                .metadata
                .as_ref()
                .and_then(|m| m.get("properties"))
                .and_then(|p| p.as_object());
            let holds = |(key, value): &(String, String)| {
                properties
                    .and_then(|p| p.get(key))
                    .and_then(|v| v.as_str())
                    .is_some_and(|v| v == value)
            };
            if pairs.iter().all(holds) {
                return Ok((*v, schema));
            }
        }
        Err(Error::SchemaNotFound)
    }

    /// Every subject version (for listings).
    pub async fn all_versions(&self) -> Result<Vec<SubjectVersion>> {
        Ok(self.storage.all_versions().await?)
    }

    /// Subject versions registering a schema id.
    pub async fn versions_of_schema(&self, id: i64) -> Result<Vec<SubjectVersion>> {
        Ok(self.storage.versions_of_schema(id).await?)
    }

    /// Ids of live schemas referencing a subject version (`deleted`: soft-deleted ones too).
    pub async fn referenced_by(
        &self,
        subject: &Subject,
        version: i32,
        deleted: bool,
    ) -> Result<Vec<i64>> {
        let ids = self
            .storage
            .referencing_schema_ids(subject.as_str(), version)
            .await?;
        if deleted {
            return Ok(ids);
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if self
                .storage
                .versions_of_schema(id)
                .await?
                .iter()
                .any(|sv| !sv.version.deleted)
            {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The largest id in use.
    pub async fn max_schema_id(&self) -> Result<i64> {
        Ok(self.storage.max_schema_id().await?)
    }

    // ---------------------------------------------------------------- parsing a request

    /// Parse a request's schema for `subject`: the empty schema means the latest version's;
    /// metadata and rule set are inherited from the latest live version when omitted.
    async fn candidate(
        &self,
        subject: &Subject,
        req: &RegisterSchemaRequest,
        versions: &[VersionRecord],
        normalize: bool,
        validate_as_new: bool,
        inherit: bool,
    ) -> Result<Candidate> {
        let latest = match live(versions).next_back() {
            Some(v) => self.schema(v.schema_id).await?,
            None => None,
        };
        let text = req.schema.as_deref().unwrap_or("");
        let (text, schema_type, refs) = if text.trim().is_empty() {
            // Confluent: an empty schema re-registers the latest version's (new metadata only).
            match &latest {
                Some(l) => (
                    l.record.schema.clone(),
                    l.record.schema_type,
                    l.record.references.clone(),
                ),
                None => return Err(Error::InvalidSchema("Empty schema".into())),
            }
        } else {
            let schema_type = match req.schema_type.as_deref() {
                None | Some("") => SchemaType::Avro,
                Some(t) => t
                    .parse::<SchemaType>()
                    .map_err(|e| Error::InvalidSchema(e.to_string()))?,
            };
            (
                text.to_string(),
                schema_type,
                req.references.clone().unwrap_or_default(),
            )
        };
        if text.len() > self.settings.max_schema_bytes {
            return Err(Error::SchemaTooLarge(
                text.len(),
                self.settings.max_schema_bytes,
            ));
        }
        validate_rule_set(req.rule_set.as_ref())?;
        let (metadata, rule_set) = match (&latest, inherit) {
            (Some(l), true) => (
                req.metadata.clone().or_else(|| l.record.metadata.clone()),
                req.rule_set.clone().or_else(|| l.record.rule_set.clone()),
            ),
            _ => (req.metadata.clone(), req.rule_set.clone()),
        };
        let deps = self
            .resolve_references(&refs, 0)
            .await
            .map_err(|e| match e {
                Error::InvalidSchema(reason) => {
                    invalid_schema(subject.as_str(), &text, schema_type, &refs, &reason)
                }
                other => other,
            })?;
        // Parse, normalise and canonicalise on the schema work pool (large stacks, bounded).
        let text_limits = self.settings.limits.text();
        let work_text = text.clone();
        let (parsed, canonical) = self
            .pool
            .run("parse a schema", move || {
                let mut parsed = ParsedSchema::parse_with_limits(
                    schema_type,
                    &work_text,
                    &deps,
                    ParseOptions { validate_as_new },
                    text_limits,
                )?;
                if normalize {
                    parsed = parsed.normalize()?;
                }
                let canonical = parsed.canonical().to_string();
                Ok::<_, strata_schema::Error>((Arc::new(parsed), canonical))
            })
            .await?
            .map_err(|e| invalid_schema(subject.as_str(), &text, schema_type, &refs, &e))?;
        let guid = schema_guid(&canonical, &refs, metadata.as_ref(), rule_set.as_ref()).to_string();
        Ok(Candidate {
            parsed,
            new: NewSchema {
                schema_type,
                guid,
                schema: canonical,
                references: refs,
                metadata,
                rule_set,
            },
        })
    }

    // ---------------------------------------------------------------- register

    /// Register a schema under a subject (Confluent's `POST /subjects/{s}/versions`).
    pub async fn register(
        &self,
        subject: &Subject,
        req: &RegisterSchemaRequest,
        opts: RegisterOptions,
    ) -> Result<Registered> {
        let scope = self.scope(subject).await?;
        let mode = scope.mode;
        if mode.is_read_only() {
            return Err(Error::OperationNotPermitted(format!(
                "Subject {subject} is in read-only mode"
            )));
        }
        if req.id.is_some() && mode != Mode::Import {
            return Err(Error::OperationNotPermitted(format!(
                "Subject {subject} is not in import mode"
            )));
        }
        if req.id.is_none() && mode == Mode::Import {
            return Err(Error::OperationNotPermitted(format!(
                "Subject {subject} is not in read-write mode"
            )));
        }
        let config = &scope;
        let normalize = opts.normalize || config.normalize;
        let skip_compat = opts.force || matches!(mode, Mode::Import | Mode::Forward);

        for _ in 0..MAX_WRITE_ATTEMPTS {
            let versions = self.versions(subject).await?;
            let candidate = self
                .candidate(subject, req, &versions, normalize, true, true)
                .await?;
            let existing_id = self
                .storage
                .schema_id_by_content(candidate.new.schema_type, &candidate.new.guid)
                .await?;
            // Confluent: an identical live schema in this subject is returned, not re-registered.
            if let Some(id) = existing_id {
                if let Some(v) = live(&versions).rev().find(|v| v.schema_id == id) {
                    if let Some(requested) = req.id.filter(|r| *r != id) {
                        return Err(Error::OperationNotPermitted(format!(
                            "Schema already registered with id {id} instead of input id {requested}"
                        )));
                    }
                    let schema = self.schema(id).await?.ok_or(Error::SchemaNotFound)?;
                    return Ok(Registered {
                        version: v.version,
                        schema,
                    });
                }
            }
            if !skip_compat {
                let result = self
                    .check_against(
                        &candidate.parsed,
                        &versions,
                        config.level,
                        config.policy,
                        None,
                    )
                    .await?;
                if !result.is_compatible {
                    return Err(Error::Incompatible {
                        subject: subject.to_string(),
                        messages: result.messages,
                        code_40901: self.settings.incompatible_code_40901,
                    });
                }
            }
            let next = versions.last().map_or(1, |v| v.version + 1);
            let version = match req.version {
                Some(v) if mode == Mode::Import => {
                    if v < 1 {
                        return Err(Error::InvalidVersion(v.to_string()));
                    }
                    if versions.iter().any(|x| x.version == v) {
                        return Err(Error::OperationNotPermitted(format!(
                            "Overwrite new schema version {v} of subject {subject} is not permitted."
                        )));
                    }
                    v
                }
                _ => next,
            };
            // Confluent tombstones soft-deleted versions of the same content on re-registration.
            let tombstone_deleted = existing_id
                .is_some_and(|id| versions.iter().any(|v| v.deleted && v.schema_id == id));
            match self
                .storage
                .insert_version(VersionInsert {
                    subject: subject.as_str(),
                    version,
                    schema: &candidate.new,
                    explicit_id: req.id,
                    tombstone_deleted,
                })
                .await
            {
                Ok(id) => {
                    self.events.registered();
                    let Candidate { parsed, new } = candidate;
                    self.caches.parsed.get_or_insert(id, parsed);
                    // The stored row is exactly what was inserted: cache it without reading back.
                    let schema = match self.caches.schemas.get(&id) {
                        Some(hit) => hit.clone(),
                        None => self.cache_schema(SchemaRecord {
                            id,
                            schema_type: new.schema_type,
                            guid: new.guid,
                            schema: new.schema,
                            references: new.references,
                            metadata: new.metadata,
                            rule_set: new.rule_set,
                        })?,
                    };
                    return Ok(Registered { version, schema });
                }
                Err(StorageError::Conflict(_)) => continue,
                Err(e @ (StorageError::IdTaken(_) | StorageError::ContentHasOtherId { .. })) => {
                    return Err(Error::OperationNotPermitted(e.to_string()))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Internal(format!(
            "registration under {subject} kept conflicting with concurrent writers"
        )))
    }

    /// Look a schema up in a subject (Confluent's `POST /subjects/{s}`).
    pub async fn lookup(
        &self,
        subject: &Subject,
        req: &RegisterSchemaRequest,
        normalize: bool,
        deleted: bool,
    ) -> Result<(VersionRecord, Arc<CachedSchema>)> {
        let versions = self.versions(subject).await?;
        if versions.is_empty() || (!deleted && live(&versions).next().is_none()) {
            return Err(Error::SubjectNotFound(subject.to_string()));
        }
        // Confluent fills in the latest schema only when registering: a lookup without a
        // schema matches nothing (40403).
        if req.schema.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(Error::SchemaNotFound);
        }
        let config = self.scope(subject).await?;
        let normalize = normalize || config.normalize;
        // First as given, then (Confluent's fallback) with the latest metadata and rule set.
        for inherit in [false, true] {
            if inherit && req.metadata.is_some() && req.rule_set.is_some() {
                break;
            }
            let candidate = self
                .candidate(subject, req, &versions, normalize, false, inherit)
                .await?;
            if let Some(id) = self
                .storage
                .schema_id_by_content(candidate.new.schema_type, &candidate.new.guid)
                .await?
            {
                let found = versions
                    .iter()
                    .rev()
                    .find(|v| v.schema_id == id && (deleted || !v.deleted));
                if let Some(v) = found {
                    let schema = self.schema(id).await?.ok_or(Error::SchemaNotFound)?;
                    return Ok((*v, schema));
                }
            }
        }
        Err(Error::SchemaNotFound)
    }

    // ---------------------------------------------------------------- compatibility

    async fn check_against(
        &self,
        new: &Arc<ParsedSchema>,
        versions: &[VersionRecord],
        level: CompatibilityLevel,
        policy: CompatibilityPolicy,
        only: Option<VersionRecord>,
    ) -> Result<CompatibilityResult> {
        let chosen: Vec<VersionRecord> = match only {
            Some(v) => vec![v],
            None if level.is_transitive() => live(versions).rev().copied().collect(),
            None => live(versions).next_back().copied().into_iter().collect(),
        };
        let mut parsed = Vec::with_capacity(chosen.len());
        for v in &chosen {
            parsed.push((v.version, self.parsed(v.schema_id).await?));
        }
        let new = new.clone();
        let max_pairs = self.settings.limits.max_compared_pairs;
        let result = self
            .pool
            .run("check compatibility", move || {
                let previous: Vec<(i32, &ParsedSchema)> =
                    parsed.iter().map(|(v, p)| (*v, p.as_ref())).collect();
                strata_schema::limits::with_max_compared_pairs(max_pairs, || {
                    check_compatibility(level, policy, &new, &previous)
                })
            })
            .await?;
        // A check that hit a complexity limit found nothing: refuse the request (42201).
        if let Some(limit) = result
            .messages
            .iter()
            .find(|m| m.contains("(max_compared_pairs)"))
        {
            return Err(Error::InvalidSchema(limit.clone()));
        }
        self.events.compatibility_checked(result.is_compatible);
        Ok(result)
    }

    /// Test a schema against a subject (`POST /compatibility/subjects/{s}/versions[/{v}]`).
    /// `version: None` checks as a registration would. With `verbose`, an unparsable schema is
    /// reported as incompatible with the reason instead of 42201, as Confluent does.
    pub async fn test_compatibility(
        &self,
        subject: &Subject,
        version: Option<VersionId>,
        req: &RegisterSchemaRequest,
        normalize: bool,
        verbose: bool,
    ) -> Result<CompatibilityResult> {
        let versions = self.versions(subject).await?;
        let only = match version {
            None => None,
            Some(VersionId::Latest) => match live(&versions).next_back() {
                Some(v) => Some(*v),
                // Confluent: checking against `latest` of a missing subject is compatible.
                None => {
                    return Ok(CompatibilityResult {
                        is_compatible: true,
                        messages: Vec::new(),
                    })
                }
            },
            // Confluent answers 40402 for a numbered version that is missing or soft-deleted,
            // whether or not the subject has any version at all.
            Some(VersionId::Number(n)) => Some(
                *live(&versions)
                    .find(|v| v.version == n)
                    .ok_or_else(|| Error::VersionNotFound(n.to_string()))?,
            ),
        };
        let config = self.scope(subject).await?;
        let candidate = match self
            .candidate(
                subject,
                req,
                &versions,
                normalize || config.normalize,
                true,
                true,
            )
            .await
        {
            Ok(c) => c,
            Err(Error::InvalidSchema(reason)) if verbose => {
                return Ok(CompatibilityResult {
                    is_compatible: false,
                    messages: vec![reason],
                })
            }
            Err(e) => return Err(e),
        };
        let level = if config.level == CompatibilityLevel::None {
            return Ok(CompatibilityResult {
                is_compatible: true,
                messages: Vec::new(),
            });
        } else {
            config.level
        };
        self.check_against(&candidate.parsed, &versions, level, config.policy, only)
            .await
    }

    // ---------------------------------------------------------------- deletes

    async fn ensure_writable(&self, subject: &Subject) -> Result<()> {
        if self.effective_mode(subject).await?.is_read_only() {
            return Err(Error::OperationNotPermitted(format!(
                "Subject {subject} is in read-only mode"
            )));
        }
        Ok(())
    }

    async fn ensure_unreferenced(
        &self,
        subject: &Subject,
        version: i32,
        include_deleted: bool,
    ) -> Result<()> {
        if !self
            .referenced_by(subject, version, include_deleted)
            .await?
            .is_empty()
        {
            return Err(Error::ReferenceExists {
                subject: subject.to_string(),
                version,
            });
        }
        Ok(())
    }

    /// Delete one version (`DELETE /subjects/{s}/versions/{v}`); returns the version number.
    pub async fn delete_version(
        &self,
        subject: &Subject,
        version: VersionId,
        permanent: bool,
    ) -> Result<i32> {
        self.ensure_writable(subject).await?;
        let versions = self.versions(subject).await?;
        if versions.is_empty() {
            return Err(Error::SubjectNotFound(subject.to_string()));
        }
        let v = match version {
            VersionId::Latest => *live(&versions)
                .next_back()
                .ok_or_else(|| Error::SubjectNotFound(subject.to_string()))?,
            VersionId::Number(n) => *versions
                .iter()
                .find(|v| v.version == n)
                .ok_or_else(|| Error::VersionNotFound(n.to_string()))?,
        };
        if permanent {
            if !v.deleted {
                return Err(Error::VersionNotSoftDeleted {
                    subject: subject.to_string(),
                    version: v.version,
                });
            }
            self.ensure_unreferenced(subject, v.version, true).await?;
            let removed = self
                .storage
                .hard_delete(subject.as_str(), &[v.version])
                .await?;
            self.forget(subject, &[v.version], &removed);
            if versions.len() == 1 {
                self.clear_subject_settings(subject).await?;
            }
        } else {
            if v.deleted {
                return Err(Error::VersionSoftDeleted {
                    subject: subject.to_string(),
                    version: v.version,
                });
            }
            self.ensure_unreferenced(subject, v.version, false).await?;
            self.storage
                .soft_delete(subject.as_str(), &[v.version])
                .await?;
            self.forget(subject, &[v.version], &[]);
        }
        Ok(v.version)
    }

    /// Delete a subject (`DELETE /subjects/{s}`); returns the versions deleted.
    pub async fn delete_subject(&self, subject: &Subject, permanent: bool) -> Result<Vec<i32>> {
        self.ensure_writable(subject).await?;
        let versions = self.versions(subject).await?;
        if versions.is_empty() {
            return Err(Error::SubjectNotFound(subject.to_string()));
        }
        let live_versions: Vec<i32> = live(&versions).map(|v| v.version).collect();
        if permanent {
            if !live_versions.is_empty() {
                return Err(Error::SubjectNotSoftDeleted(subject.to_string()));
            }
            let all: Vec<i32> = versions.iter().map(|v| v.version).collect();
            for v in &all {
                self.ensure_unreferenced(subject, *v, true).await?;
            }
            let removed = self.storage.hard_delete(subject.as_str(), &all).await?;
            self.forget(subject, &all, &removed);
            self.clear_subject_settings(subject).await?;
            Ok(all)
        } else {
            if live_versions.is_empty() {
                return Err(Error::SubjectSoftDeleted(subject.to_string()));
            }
            for v in &live_versions {
                self.ensure_unreferenced(subject, *v, false).await?;
            }
            self.storage
                .soft_delete(subject.as_str(), &live_versions)
                .await?;
            self.forget(subject, &live_versions, &[]);
            Ok(live_versions)
        }
    }

    fn forget(&self, subject: &Subject, versions: &[i32], removed_ids: &[i64]) {
        for v in versions {
            self.caches.forget_version(subject.as_str(), *v);
        }
        for id in removed_ids {
            self.caches.forget_schema(*id);
        }
    }

    async fn clear_subject_settings(&self, subject: &Subject) -> Result<()> {
        // Confluent: permanently deleting a subject also deletes its config and mode.
        self.storage.delete_config(subject.as_str()).await?;
        self.storage.delete_mode(subject.as_str()).await?;
        Ok(())
    }

    // ---------------------------------------------------------------- config

    /// The stored config object of a scope (`GLOBAL` or a subject), if any.
    pub async fn stored_config(
        &self,
        scope: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
        match self.storage.config(scope).await? {
            Some(body) => match serde_json::from_str(&body) {
                Ok(serde_json::Value::Object(map)) => Ok(Some(map)),
                _ => Err(Error::Internal(format!(
                    "stored config for '{scope}' is not a JSON object"
                ))),
            },
            None => Ok(None),
        }
    }

    /// The global config, with the default level filled in.
    pub async fn global_config(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        let mut map = self.stored_config(GLOBAL).await?.unwrap_or_default();
        map.entry("compatibilityLevel")
            .or_insert_with(|| self.settings.default_compatibility.as_str().into());
        Ok(map)
    }

    /// The config in force for a subject: its own over the global one.
    pub async fn config_in_scope(
        &self,
        subject: &Subject,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        let mut map = self.global_config().await?;
        if let Some(own) = self.stored_config(subject.as_str()).await? {
            merge_config(&mut map, &own);
        }
        Ok(map)
    }

    /// The mode and config in force for a subject, read in one round trip.
    async fn scope(&self, subject: &Subject) -> Result<Scope> {
        let rows: ScopeRows = self.storage.scope(subject.as_str()).await?;
        let parse_config =
            |body: &Option<String>| -> Result<serde_json::Map<String, serde_json::Value>> {
                match body {
                    None => Ok(serde_json::Map::new()),
                    Some(b) => match serde_json::from_str(b) {
                        Ok(serde_json::Value::Object(map)) => Ok(map),
                        _ => Err(Error::Internal(format!(
                            "stored config in scope of '{subject}' is not a JSON object"
                        ))),
                    },
                }
            };
        let mut map = parse_config(&rows.global_config)?;
        merge_config(&mut map, &parse_config(&rows.subject_config)?);
        let level = map
            .get("compatibilityLevel")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .unwrap_or(self.settings.default_compatibility);
        let policy = map
            .get("compatibilityPolicy")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        let normalize = map
            .get("normalize")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let global_mode: Mode = match &rows.global_mode {
            Some(m) => m.parse()?,
            None => Mode::default(),
        };
        // READONLY_OVERRIDE at the global level overrides every subject's own mode.
        let mode = match &rows.subject_mode {
            Some(m) if global_mode != Mode::ReadOnlyOverride => m.parse()?,
            _ => global_mode,
        };
        Ok(Scope {
            mode,
            level,
            policy,
            normalize,
        })
    }

    /// Apply a `ConfigUpdateRequest` (merge: absent keeps, `null` clears) to a scope and
    /// return the resulting stored config.
    pub async fn update_config(
        &self,
        scope: &str,
        update: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        let mut map = self.stored_config(scope).await?.unwrap_or_default();
        for (key, value) in update {
            // The request says `compatibility`; the stored Config says `compatibilityLevel`.
            let key = if key == "compatibility" {
                "compatibilityLevel"
            } else {
                key.as_str()
            };
            if value.is_null() {
                map.remove(key);
                continue;
            }
            match key {
                "compatibilityLevel" => {
                    let level: CompatibilityLevel = value
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .ok_or(Error::InvalidCompatibilityLevel)?;
                    map.insert(key.into(), level.as_str().into());
                }
                "compatibilityPolicy" => {
                    let policy: CompatibilityPolicy =
                        value.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                            Error::Unprocessable(
                                "Invalid compatibility policy. Valid values are STRICT and LENIENT"
                                    .into(),
                            )
                        })?;
                    map.insert(key.into(), policy.as_str().into());
                }
                "normalize" | "validateFields" | "validateRules" | "validateNewSchemas" => {
                    if !value.is_boolean() {
                        return Err(Error::Unprocessable(format!(
                            "'{key}' must be true or false"
                        )));
                    }
                    map.insert(key.into(), value.clone());
                }
                "defaultRuleSet" | "overrideRuleSet" => {
                    validate_rule_set(Some(value))?;
                    map.insert(key.into(), value.clone());
                }
                _ => {
                    map.insert(key.into(), value.clone());
                }
            }
        }
        let body = serde_json::Value::Object(map.clone()).to_string();
        self.storage.set_config(scope, &body).await?;
        Ok(map)
    }

    /// Remove a scope's config; the previous one, if any.
    pub async fn delete_config(
        &self,
        scope: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
        let previous = self.stored_config(scope).await?;
        self.storage.delete_config(scope).await?;
        Ok(previous)
    }

    // ---------------------------------------------------------------- mode

    /// The stored mode of a scope.
    pub async fn stored_mode(&self, scope: &str) -> Result<Option<Mode>> {
        match self.storage.mode(scope).await? {
            Some(m) => Ok(Some(m.parse()?)),
            None => Ok(None),
        }
    }

    /// The global mode (READWRITE when unset).
    pub async fn global_mode(&self) -> Result<Mode> {
        Ok(self.stored_mode(GLOBAL).await?.unwrap_or_default())
    }

    /// The mode in force for a subject.
    pub async fn effective_mode(&self, subject: &Subject) -> Result<Mode> {
        Ok(self.scope(subject).await?.mode)
    }

    /// Set a scope's mode (`PUT /mode[/{s}]`).
    pub async fn set_mode(
        &self,
        subject: Option<&Subject>,
        mode: Mode,
        force: bool,
    ) -> Result<Mode> {
        if !self.settings.mode_mutability {
            return Err(Error::OperationNotPermitted(
                "Mode changes are not allowed".into(),
            ));
        }
        if mode == Mode::Forward && subject.is_some() {
            return Err(Error::InvalidMode);
        }
        if mode == Mode::Import && !force {
            let has_subjects = match subject {
                Some(s) => live(&self.versions(s).await?).next().is_some(),
                None => self
                    .all_versions()
                    .await?
                    .iter()
                    .any(|sv| !sv.version.deleted),
            };
            if has_subjects {
                return Err(Error::OperationNotPermitted(
                    "Cannot import since found existing subjects".into(),
                ));
            }
        }
        let scope = subject.map_or(GLOBAL, Subject::as_str);
        self.storage.set_mode(scope, mode.as_str()).await?;
        Ok(mode)
    }

    /// Remove a scope's mode; the previous one, if any.
    pub async fn delete_mode(&self, scope: &str) -> Result<Option<Mode>> {
        let previous = self.stored_mode(scope).await?;
        self.storage.delete_mode(scope).await?;
        Ok(previous)
    }

    /// Subjects that have their own mode.
    pub async fn mode_subjects(&self) -> Result<Vec<String>> {
        Ok(self.storage.mode_scopes().await?)
    }
}

/// What applies to one subject: its mode and its compatibility settings.
struct Scope {
    mode: Mode,
    level: CompatibilityLevel,
    policy: CompatibilityPolicy,
    normalize: bool,
}

/// Confluent's `RuleSet.validate`: rule names unique, kinds and modes valid (42210).
fn validate_rule_set(rule_set: Option<&serde_json::Value>) -> Result<()> {
    let Some(rs) = rule_set else { return Ok(()) };
    if rs.is_null() {
        return Ok(());
    }
    let obj = rs
        .as_object()
        .ok_or_else(|| Error::InvalidRuleSet("ruleSet must be a JSON object".into()))?;
    for (group, migration) in [
        ("migrationRules", true),
        ("domainRules", false),
        ("encodingRules", false),
    ] {
        let Some(rules) = obj.get(group) else {
            continue;
        };
        if rules.is_null() {
            continue;
        }
        let rules = rules
            .as_array()
            .ok_or_else(|| Error::InvalidRuleSet(format!("{group} must be an array")))?;
        let mut names = std::collections::HashSet::new();
        for rule in rules {
            let name = rule
                .get("name")
                .and_then(|n| n.as_str())
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    Error::InvalidRuleSet(format!("every rule in {group} needs a name"))
                })?;
            if !names.insert(name) {
                return Err(Error::InvalidRuleSet(format!(
                    "Found duplicate name {name} in rules"
                )));
            }
            if let Some(kind) = rule.get("kind").and_then(|k| k.as_str()) {
                if !matches!(kind, "TRANSFORM" | "CONDITION") {
                    return Err(Error::InvalidRuleSet(format!(
                        "Invalid kind {kind} for rule {name}: use TRANSFORM or CONDITION"
                    )));
                }
            }
            if let Some(mode) = rule.get("mode").and_then(|m| m.as_str()) {
                let ok = if migration {
                    matches!(mode, "UPGRADE" | "DOWNGRADE" | "UPDOWN")
                } else {
                    matches!(mode, "WRITE" | "READ" | "WRITEREAD")
                };
                if !ok {
                    return Err(Error::InvalidRuleSet(format!(
                        "Invalid mode {mode} for rule {name} in {group}"
                    )));
                }
            }
        }
    }
    Ok(())
}
