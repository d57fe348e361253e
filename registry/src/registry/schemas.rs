//! Schemas by id and GUID, their parsed forms, reference resolution, and the reads of subject
//! versions. Immutable data is answered from [`Caches`](crate::cache::Caches) after first use.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::BoxFuture;
use strata_schema::{Dependency, ParseOptions, ParsedSchema, SchemaReference};

use super::{live, Registry};
use crate::cache::{CachedSchema, CachedVersion};
use crate::storage::{SchemaRecord, SubjectVersion, VersionRecord};
use crate::types::{Subject, VersionId};
use crate::{Error, Result};

/// What one resolution of references has fetched and expanded so far.
#[derive(Default)]
struct Resolution {
    /// (subject, version as referenced) → the schema, fetched once.
    fetched: HashMap<(String, i32), Arc<CachedSchema>>,
    /// Reference names resolved anywhere in the graph so far: Confluent resolves each name
    /// once per request, so a name met again (in the same list or deeper) is skipped.
    names: HashSet<String>,
    /// Dependencies expanded (one per distinct name).
    expanded: usize,
}

fn too_many_references(max: usize) -> Error {
    Error::InvalidSchema(format!(
        "References expand to more than {max} schemas (max_references), counting each \
         distinct reference name in the whole reference graph once"
    ))
}

impl Registry {
    /// The schema with this id, from memory after first use.
    pub async fn schema(&self, id: i64) -> Result<Option<Arc<CachedSchema>>> {
        if let Some(hit) = self.caches.schemas.get(&id) {
            return Ok(Some(hit.clone()));
        }
        let generation = self.caches.generation();
        let Some(record) = self.storage.schema_by_id(id).await? else {
            return Ok(None);
        };
        let cached = self.cache_schema(record);
        if self.caches.generation() != generation {
            // A delete was applied while we read: what we read may be gone.
            self.caches.schemas.remove(&id);
        }
        Ok(Some(cached))
    }

    /// The schema with this id when it is cached (the hot path: no await, no I/O).
    pub fn cached_schema(&self, id: i64) -> Option<Arc<CachedSchema>> {
        self.caches.schemas.get(&id)
    }

    pub(super) fn cache_schema(&self, record: SchemaRecord) -> Arc<CachedSchema> {
        let id = record.id;
        self.caches
            .schemas
            .get_or_insert(id, Arc::new(CachedSchema::new(record)))
    }

    /// The schema with this GUID.
    pub async fn schema_by_guid(&self, guid: &str) -> Result<Option<Arc<CachedSchema>>> {
        let generation = self.caches.generation();
        match self.storage.schema_by_guid(guid).await? {
            Some(record) => {
                let id = record.id;
                let cached = self.cache_schema(record);
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
        let tiny = crate::work::is_tiny(schema_type, &text, !deps.is_empty());
        let parsed = self
            .pool
            .run_unless_tiny("parse a stored schema", tiny, move || {
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
    pub(super) fn resolve_references<'a>(
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
                let key = (r.subject.clone(), r.version);
                let cached = match resolution.fetched.get(&key) {
                    Some(hit) => hit.clone(),
                    None => {
                        if resolution.fetched.len() >= limits.max_references {
                            return Err(too_many_references(limits.max_references));
                        }
                        let fetched = self.referenced_schema(&r).await?;
                        resolution.fetched.insert(key, fetched.clone());
                        fetched
                    }
                };
                // Confluent resolves each reference name once per request
                // (`AbstractSchemaProvider.resolveReferences` keeps one `visited` set for the
                // whole graph; a name already visited is skipped after its version was looked
                // up): a duplicate entry, in the same list or anywhere deeper, collapses into
                // the first and costs no expansion, so the expansion is linear in the distinct
                // names. The stored list keeps the entries as given, as Confluent's does.
                if !resolution.names.insert(r.name.clone()) {
                    continue;
                }
                resolution.expanded += 1;
                if resolution.expanded > limits.max_references {
                    return Err(too_many_references(limits.max_references));
                }
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

    /// A subject version with its schema (`GET /subjects/{s}/versions/{v}`): from memory for a
    /// live numbered version.
    pub async fn version(
        &self,
        subject: &Subject,
        version: VersionId,
        deleted: bool,
    ) -> Result<Arc<CachedVersion>> {
        if let VersionId::Number(n) = version {
            if let Some(hit) = self.caches.versions.get(&(subject.to_string(), n)) {
                return Ok(hit.clone());
            }
        }
        let generation = self.caches.generation();
        let (v, schema) = self.version_schema(subject, version, deleted).await?;
        let cached = Arc::new(CachedVersion {
            subject: subject.to_string(),
            version: v,
            schema,
            rendered: Default::default(),
        });
        if !v.deleted {
            let key = (subject.to_string(), v.version);
            self.caches.versions.insert(key.clone(), cached.clone());
            if self.caches.generation() != generation {
                // A delete was applied while we read: what we read may be gone.
                self.caches.versions.remove(&key);
            }
        }
        Ok(cached)
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
}
