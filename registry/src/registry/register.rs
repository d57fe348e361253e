//! Registration and lookup: a request's schema is parsed into a [`Candidate`] (on the work
//! pool), checked against the subject's history, and stored in one storage call; the stored
//! schema and its parsed form go to the caches.

use std::sync::Arc;

use strata_schema::guid::schema_guid;
use strata_schema::{ParseOptions, ParsedSchema, SchemaReference, SchemaType};

use super::config::validate_rule_set;
use super::{live, Registry};
use crate::cache::CachedSchema;
use crate::entities::RegisterSchemaRequest;
use crate::storage::{
    FirstVersion, NewSchema, SchemaRecord, StorageError, SubjectState, VersionInsert,
    VersionRecord, Written,
};
use crate::types::{Mode, Subject};
use crate::{Error, Result};

/// How a first-version attempt ended.
enum FirstAttempt {
    /// Registered (or found registered).
    Done(Registered),
    /// The subject was not new: its state, and the request as parsed for a new subject.
    NotNew(SubjectState, Box<Candidate>),
}

/// How often a registration is retried when a concurrent writer took its version number.
const MAX_WRITE_ATTEMPTS: usize = 64;

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

/// A schema as given in a request, parsed and identified.
pub(super) struct Candidate {
    pub(super) parsed: Arc<ParsedSchema>,
    pub(super) new: NewSchema,
}

pub(super) fn invalid_schema(
    subject: &str,
    req_schema: &str,
    schema_type: SchemaType,
    refs: &[SchemaReference],
    metadata: Option<&serde_json::Value>,
    rule_set: Option<&serde_json::Value>,
    reason: &dyn std::fmt::Display,
) -> Error {
    // Confluent 8.x, `schema` being the request's `Schema` entity (`toString`): a schema the
    // provider cannot parse is refused by `KafkaSchemaRegistry.loadSchema` as "Invalid schema "
    // + schema + " with refs " + refs + " of type " + type + ", details: " + cause, and
    // `AvroSchemaProvider.parseSchemaOrElseThrow` has wrapped Avro's message the same way
    // first (the Protobuf provider is taken to rethrow it as it is). A JSON schema is only
    // read as a schema later, in `maybeValidateAndNormalizeSchema`: "Invalid schema " + schema
    // + ", details: " + cause (Confluent's cause there is the bare "Invalid JSON Schema";
    // Strata gives the reason).
    let guid = schema_guid(req_schema, refs, metadata, rule_set);
    let shown = refs.len().min(crate::limits::QUOTED_REFERENCES);
    let more = match refs.len() - shown {
        0 => String::new(),
        n => format!(", … {n} more"),
    };
    let refs: Vec<String> = refs[..shown]
        .iter()
        .map(|r| {
            format!(
                "{{name='{}', subject='{}', version={}}}",
                r.name, r.subject, r.version
            )
        })
        .collect();
    let refs = format!("[{}{more}]", refs.join(", "));
    let json = |v: Option<&serde_json::Value>| {
        v.filter(|v| !v.is_null())
            .map_or_else(|| "null".to_string(), |v| v.to_string())
    };
    // Confluent echoes the whole schema; Strata quotes a short prefix (a 42201 on a 5 MB schema
    // must not answer 5 MB).
    let req_schema = crate::limits::quote_prefix(req_schema);
    let entity = format!(
        "{{subject={subject},version=0,id=-1,guid={guid},schemaType={schema_type},references={refs},metadata={},ruleSet={},schema={req_schema},schemaTags=null,ts=null,createTs=null,deleted=null}}",
        json(metadata),
        json(rule_set),
    );
    let wrap = |details: &dyn std::fmt::Display| {
        format!(
            "Invalid schema {entity} with refs {refs} of type {schema_type}, details: {details}"
        )
    };
    Error::InvalidSchema(match schema_type {
        SchemaType::Avro => wrap(&wrap(reason)),
        SchemaType::Json => format!("Invalid schema {entity}, details: {reason}"),
        _ => wrap(reason),
    })
}

impl Registry {
    /// Parse a request's schema for `subject`: the empty schema means the latest version's;
    /// metadata and rule set are inherited from the latest live version when omitted.
    pub(super) async fn candidate(
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
        // Confluent's 42201 for this request, whatever the reason.
        let invalid = |reason: &dyn std::fmt::Display| {
            invalid_schema(
                subject.as_str(),
                &text,
                schema_type,
                &refs,
                req.metadata.as_ref(),
                req.rule_set.as_ref(),
                reason,
            )
        };
        let deps = self
            .resolve_references(&refs, 0)
            .await
            .map_err(|e| match e {
                Error::InvalidSchema(reason) => invalid(&reason),
                other => other,
            })?;
        // Parse, normalise and canonicalise on the schema work pool (large stacks, bounded),
        // or here when the schema is tiny.
        let text_limits = self.settings.limits.text();
        let tiny = crate::work::is_tiny(schema_type, &text, !deps.is_empty());
        let work_text = text.clone();
        let (parsed, canonical) = self
            .pool
            .run_unless_tiny("parse a schema", tiny, move || {
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
            .map_err(|e| invalid(&e))?;
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

    /// Register a schema under a subject (Confluent's `POST /subjects/{s}/versions`).
    ///
    /// One straight line: read what applies to the subject (one round trip), parse the request
    /// (work pool), check compatibility (work pool), write (one round trip on PostgreSQL), cache.
    /// A concurrent writer that took the version number sends it round again.
    pub async fn register(
        &self,
        subject: &Subject,
        req: &RegisterSchemaRequest,
        opts: RegisterOptions,
    ) -> Result<Registered> {
        // A first version needs nothing read first: on PostgreSQL it is tried in one round trip,
        // parsed as for a new subject; the storage answers with the subject's state when the
        // subject was not new, and the registration goes on from there.
        let mut first = self.try_first_version(subject, req, opts).await?;
        if let Some(FirstAttempt::Done(registered)) = first {
            return Ok(registered);
        }
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let (state, parsed_as_new) = match first.take() {
                Some(FirstAttempt::NotNew(state, candidate)) => (state, Some(*candidate)),
                _ => (self.storage.subject_state(subject.as_str()).await?, None),
            };
            let versions = state.versions;
            let in_force = self.in_force_from(subject, &state.scope)?;
            let mode = in_force.mode;
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
            let normalize = opts.normalize || in_force.normalize;
            let skip_compat = opts.force || matches!(mode, Mode::Import | Mode::Forward);

            let reusable = match parsed_as_new {
                Some(c)
                    if normalize == opts.normalize && !self.inherits(req, &versions).await? =>
                {
                    Some(c)
                }
                _ => None,
            };
            let candidate = match reusable {
                Some(c) => c,
                None => {
                    self.candidate(subject, req, &versions, normalize, true, true)
                        .await?
                }
            };
            // Confluent: an identical live schema in this subject is returned, not re-registered
            // (nor checked against the history). Found in memory when the subject's schemas are
            // cached; a new subject has none to look for.
            if let Some((v, id)) = self.live_version_of(&candidate, &versions).await? {
                if let Some(requested) = req.id.filter(|r| *r != id) {
                    return Err(Error::OperationNotPermitted(format!(
                        "Schema already registered with id {id} instead of input id {requested}"
                    )));
                }
                return self.existing(v, id).await;
            }
            if !skip_compat {
                let result = self
                    .check_against(
                        &candidate.parsed,
                        &versions,
                        in_force.level,
                        in_force.policy,
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
            match self
                .storage
                .insert_version(VersionInsert {
                    subject: subject.as_str(),
                    version,
                    schema: &candidate.new,
                    explicit_id: req.id,
                })
                .await
            {
                // Confluent: an identical live schema in this subject is returned, not
                // re-registered (the storage found it while writing).
                Ok(Written::Existing { id, version }) => return self.existing(version, id).await,
                Ok(Written::Added { id }) => return Ok(self.stored(id, version, candidate)),
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

    /// On an engine where it saves a round trip, and for a request with a schema of its own and
    /// no explicit id: parse it as for a new subject and register it as version 1 unless the
    /// storage finds the subject is not new. `None` when not tried (or when the request does
    /// not parse as for a new subject: the regular path then reports it in Confluent's order,
    /// mode before schema).
    async fn try_first_version(
        &self,
        subject: &Subject,
        req: &RegisterSchemaRequest,
        opts: RegisterOptions,
    ) -> Result<Option<FirstAttempt>> {
        let has_text = req.schema.as_deref().is_some_and(|t| !t.trim().is_empty());
        if !self.storage.registers_first_versions_in_one_call() || req.id.is_some() || !has_text {
            return Ok(None);
        }
        let Ok(candidate) = self
            .candidate(subject, req, &[], opts.normalize, true, true)
            .await
        else {
            return Ok(None);
        };
        match self
            .storage
            .register_first_version(subject.as_str(), opts.normalize, &candidate.new)
            .await
        {
            Ok(FirstVersion::Written(Written::Added { id })) => {
                Ok(Some(FirstAttempt::Done(self.stored(id, 1, candidate))))
            }
            Ok(FirstVersion::Written(Written::Existing { id, version })) => {
                Ok(Some(FirstAttempt::Done(self.existing(version, id).await?)))
            }
            Ok(FirstVersion::State(state)) => {
                Ok(Some(FirstAttempt::NotNew(state, Box::new(candidate))))
            }
            // A concurrent writer got there first: read and go on.
            Err(StorageError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether parsing `req` in a subject with these versions inherits metadata or a rule set
    /// from the latest live version (so a parse made as for a new subject cannot be reused).
    async fn inherits(
        &self,
        req: &RegisterSchemaRequest,
        versions: &[VersionRecord],
    ) -> Result<bool> {
        let Some(latest) = live(versions).next_back() else {
            return Ok(false);
        };
        let Some(latest) = self.schema(latest.schema_id).await? else {
            return Ok(true);
        };
        Ok((req.metadata.is_none() && latest.record.metadata.is_some())
            || (req.rule_set.is_none() && latest.record.rule_set.is_some()))
    }

    /// Cache what was just stored under `id` (the stored row has exactly the candidate's
    /// content: one content, one id) without reading it back.
    fn stored(&self, id: i64, version: i32, candidate: Candidate) -> Registered {
        self.events.registered();
        let Candidate { parsed, new } = candidate;
        self.caches.parsed.get_or_insert(id, parsed);
        let schema = match self.caches.schemas.get(&id) {
            Some(hit) => hit,
            None => self.cache_schema(SchemaRecord {
                id,
                schema_type: new.schema_type,
                guid: new.guid,
                schema: new.schema,
                references: new.references,
                metadata: new.metadata,
                rule_set: new.rule_set,
            }),
        };
        Registered { version, schema }
    }

    /// The live version of `versions` holding the candidate's content, with its id: from the
    /// schema cache when it holds every live version's schema, else one database lookup.
    async fn live_version_of(
        &self,
        candidate: &Candidate,
        versions: &[VersionRecord],
    ) -> Result<Option<(i32, i64)>> {
        let mut all_cached = true;
        for v in live(versions).rev() {
            match self.caches.schemas.get(&v.schema_id) {
                Some(s)
                    if s.record.guid == candidate.new.guid
                        && s.record.schema_type == candidate.new.schema_type =>
                {
                    return Ok(Some((v.version, v.schema_id)));
                }
                Some(_) => {}
                None => all_cached = false,
            }
        }
        if all_cached {
            return Ok(None);
        }
        let Some(id) = self
            .storage
            .schema_id_by_content(candidate.new.schema_type, &candidate.new.guid)
            .await?
        else {
            return Ok(None);
        };
        Ok(live(versions)
            .rev()
            .find(|v| v.schema_id == id)
            .map(|v| (v.version, id)))
    }

    async fn existing(&self, version: i32, id: i64) -> Result<Registered> {
        let schema = self.schema(id).await?.ok_or(Error::SchemaNotFound)?;
        Ok(Registered { version, schema })
    }

    /// Look a schema up in a subject (Confluent's `POST /subjects/{s}`).
    pub async fn lookup(
        &self,
        subject: &Subject,
        req: &RegisterSchemaRequest,
        normalize: bool,
        deleted: bool,
    ) -> Result<(VersionRecord, Arc<CachedSchema>)> {
        let state = self.storage.subject_state(subject.as_str()).await?;
        let versions = state.versions;
        if versions.is_empty() || (!deleted && live(&versions).next().is_none()) {
            return Err(Error::SubjectNotFound(subject.to_string()));
        }
        // Confluent fills in the latest schema only when registering: a lookup without a
        // schema matches nothing (40403).
        if req.schema.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(Error::SchemaNotFound);
        }
        let config = self.in_force_from(subject, &state.scope)?;
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
}
