//! What every format's serializer shares: the options Confluent clients name
//! (`auto_register_schemas`, `use_latest_version`, `use_latest_with_metadata`, `use_schema_id`,
//! `normalize_schemas`, `latest_compatibility_strict`, subject name strategy, reference subject
//! name strategy, schema-id placement), choosing the
//! writer schema and its id for a topic, and the [`Serializer`]/[`Deserializer`] traits the
//! producer and consumer use.
//!
//! Formats (in `avro`, `json`, `protobuf`) own the datum encoding only.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use strata_schema::{CompatibilityPolicy, ParsedSchema};

use crate::client::{FetchedSchema, RegistryClient, SchemaDef};
use crate::wire::{self, Field, SchemaId};
use crate::{Error, Result};

/// How a serializer names the subject it registers under and looks schemas up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value` (Confluent's default `TopicNameStrategy`).
    #[default]
    Topic,
    /// The schema's fully-qualified name (`RecordNameStrategy`).
    Record,
    /// `<topic>-<fully-qualified name>` (`TopicRecordNameStrategy`).
    TopicRecord,
}

impl SubjectNameStrategy {
    /// The subject for `topic`/`field` and a schema named `record_name`.
    pub fn subject(self, topic: &str, field: Field, record_name: Option<&str>) -> Result<String> {
        let named = || {
            record_name.ok_or_else(|| {
                Error::Config(format!(
                    "the {self:?} subject name strategy needs a named schema (an Avro record, a \
                     Protobuf message or a JSON schema with a title); use the Topic strategy"
                ))
            })
        };
        Ok(match self {
            SubjectNameStrategy::Topic => format!("{topic}-{}", field.suffix()),
            SubjectNameStrategy::Record => named()?.to_string(),
            SubjectNameStrategy::TopicRecord => format!("{topic}-{}", named()?),
        })
    }
}

/// A custom [`ReferenceSubjectNameStrategy`]: the topic, the field (key or value) and the
/// import path in; the subject out.
pub type ReferenceSubjectNameFn = dyn Fn(&str, Field, &str) -> String + Send + Sync;

/// How a Protobuf serializer names the subject each imported file is registered under (and
/// that the importing schema's `references` entry names): Confluent's
/// `reference.subject.name.strategy`, called with the topic, the field and the import path
/// (`shop/common.proto`, the reference's name).
#[derive(Clone, Default)]
pub enum ReferenceSubjectNameStrategy {
    /// The import path itself (confluent-kafka's default `reference_subject_name_strategy`).
    #[default]
    ImportPath,
    /// A function of the topic, the field and the import path.
    Custom(Arc<ReferenceSubjectNameFn>),
}

impl ReferenceSubjectNameStrategy {
    /// A strategy calling `name(topic, field, import_path)`. It is called whenever a
    /// serializer resolves its imports for a topic, so it must name the same subject for the
    /// same arguments.
    pub fn custom(name: impl Fn(&str, Field, &str) -> String + Send + Sync + 'static) -> Self {
        ReferenceSubjectNameStrategy::Custom(Arc::new(name))
    }

    /// The subject for the file imported as `import_path` by a schema written to `topic`'s
    /// `field`.
    pub fn subject(&self, topic: &str, field: Field, import_path: &str) -> String {
        match self {
            ReferenceSubjectNameStrategy::ImportPath => import_path.to_string(),
            ReferenceSubjectNameStrategy::Custom(name) => name(topic, field, import_path),
        }
    }
}

impl std::fmt::Debug for ReferenceSubjectNameStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReferenceSubjectNameStrategy::ImportPath => f.write_str("ImportPath"),
            ReferenceSubjectNameStrategy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Custom strategies are equal when they are the same function (clones of one strategy).
impl PartialEq for ReferenceSubjectNameStrategy {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::ImportPath, Self::ImportPath) => true,
            (Self::Custom(a), Self::Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for ReferenceSubjectNameStrategy {}

/// Where the schema id travels (`schema.id.serializer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaIdPlacement {
    /// Magic `0x00` + id before the payload (`prefix_schema_id_serializer`, the default).
    #[default]
    Prefix,
    /// Magic `0x01` + GUID in the `__key_schema_id`/`__value_schema_id` header
    /// (`header_schema_id_serializer`); the payload is bare.
    Header,
}

/// Serializer options, named as Confluent's clients name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerializerConfig {
    /// Register the value's schema if the subject does not know it (default true). Exclusive
    /// with `use_latest_version`.
    pub auto_register_schemas: bool,
    /// Write with the subject's latest version instead of the value's own schema.
    pub use_latest_version: bool,
    /// Write with this schema id.
    pub use_schema_id: Option<i32>,
    /// Ask the registry to normalize on register and lookup.
    pub normalize_schemas: bool,
    /// Write with the latest version of the subject whose metadata properties hold all these
    /// pairs (`use.latest.with.metadata`); takes precedence over `use_latest_version`.
    pub use_latest_with_metadata: Option<BTreeMap<String, String>>,
    /// With `use_latest_version` or `use_latest_with_metadata`: refuse unless that version can
    /// read data written with the value's own schema (default true, as Java's
    /// `latest.compatibility.strict`).
    pub latest_compatibility_strict: bool,
    /// Subject naming.
    pub subject_name_strategy: SubjectNameStrategy,
    /// Subject naming for the files a Protobuf schema imports, registered as its references
    /// (`reference.subject.name.strategy`; default: the import path). Avro and JSON
    /// serializers register no references and ignore it.
    pub reference_subject_name_strategy: ReferenceSubjectNameStrategy,
    /// Schema-id placement.
    pub schema_id_placement: SchemaIdPlacement,
}

impl Default for SerializerConfig {
    fn default() -> Self {
        SerializerConfig {
            auto_register_schemas: true,
            use_latest_version: false,
            use_latest_with_metadata: None,
            use_schema_id: None,
            normalize_schemas: false,
            latest_compatibility_strict: true,
            subject_name_strategy: SubjectNameStrategy::Topic,
            reference_subject_name_strategy: ReferenceSubjectNameStrategy::ImportPath,
            schema_id_placement: SchemaIdPlacement::Prefix,
        }
    }
}

impl SerializerConfig {
    /// Reject contradictory options, as confluent-kafka-python does.
    pub fn validate(&self) -> Result<()> {
        if self.use_latest_with_metadata.is_some() && self.auto_register_schemas {
            return Err(Error::Config(
                "auto_register_schemas and use_latest_with_metadata cannot both be set; turn \
                 auto_register_schemas off to write with the version the metadata picks"
                    .into(),
            ));
        }
        if self.use_latest_version && self.auto_register_schemas {
            return Err(Error::Config(
                "auto_register_schemas and use_latest_version cannot both be set; turn \
                 auto_register_schemas off to write with the latest version"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A schema-id header: its name (`__key_schema_id`/`__value_schema_id`) and value.
pub type SchemaIdHeader = (&'static str, Vec<u8>);

/// Encoded bytes and the schema-id header to send with them (header placement only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serialized {
    /// The record key or value bytes.
    pub payload: Vec<u8>,
    /// `(header name, header value)` when the id travels in a header.
    pub header: Option<SchemaIdHeader>,
}

/// Turns values into framed bytes for a topic.
#[async_trait]
pub trait Serializer<T: ?Sized>: Send + Sync {
    /// Encode `value` for `topic`'s key or value.
    async fn serialize(&self, topic: &str, field: Field, value: &T) -> Result<Serialized>;

    /// Encode `value` without waiting, when everything it needs is at hand (the topic's writer
    /// schema already chosen); `None` means: call [`serialize`](Self::serialize). The
    /// [`Producer`](crate::Producer) tries this first, so a warm serializer costs no boxed
    /// future per message.
    fn serialize_ready(&self, topic: &str, field: Field, value: &T) -> Option<Result<Serialized>> {
        let _ = (topic, field, value);
        None
    }

    /// Encode `values`, all for `topic`'s `field`, without waiting: their bytes are appended to
    /// `out` one after another, and the offset in `out` where each ends is pushed to `ends`.
    /// Returns the schema-id header every value is sent with (header placement only). `None`
    /// means the serializer is not warm (as with [`serialize_ready`](Self::serialize_ready));
    /// `out` and `ends` may then hold part of the batch, which the caller discards. The
    /// [`Producer`](crate::Producer)'s `send_all` uses this, so a warm batch costs one cache
    /// lookup per run of records to one topic and no allocation per record.
    fn serialize_batch_ready(
        &self,
        topic: &str,
        field: Field,
        values: &[&T],
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Option<Result<Option<SchemaIdHeader>>> {
        let mut header = None;
        for value in values {
            match self.serialize_ready(topic, field, value)? {
                Ok(s) => {
                    out.extend_from_slice(&s.payload);
                    ends.push(out.len());
                    header = s.header;
                }
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(header))
    }
}

/// Turns framed bytes back into values.
#[async_trait]
pub trait Deserializer<T>: Send + Sync {
    /// Decode `payload` (with the record's headers, for header-placed ids).
    async fn deserialize(
        &self,
        topic: &str,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<T>;
}

/// The writer schema a serializer chose for a topic, and the bytes that name it.
#[derive(Debug)]
pub(crate) struct Target<C> {
    /// The prefix written before the payload (empty with header placement).
    pub prefix: Vec<u8>,
    /// The header value (header placement only).
    pub header: Option<SchemaIdHeader>,
    /// The format's compiled writer.
    pub codec: Arc<C>,
}

impl<C> Target<C> {
    /// Frame each of `values` with `encode` into `out`, back to back, pushing each one's end
    /// to `ends` (see [`Serializer::serialize_batch_ready`]).
    pub(crate) fn frame_all<T: ?Sized>(
        &self,
        values: &[&T],
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
        mut encode: impl FnMut(&C, &T, &mut Vec<u8>) -> Result<()>,
    ) -> Result<Option<SchemaIdHeader>> {
        for value in values {
            out.extend_from_slice(&self.prefix);
            encode(&self.codec, value, out)?;
            ends.push(out.len());
        }
        Ok(self.header.clone())
    }

    /// Frame `encode`'s output: prefix, then the datum.
    pub(crate) fn frame(
        &self,
        size_hint: usize,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<Serialized> {
        let mut payload = Vec::with_capacity(self.prefix.len() + size_hint);
        payload.extend_from_slice(&self.prefix);
        encode(&mut payload)?;
        Ok(Serialized {
            payload,
            header: self.header.clone(),
        })
    }
}

/// The writer schema: the value's own, or one fetched from the registry.
pub(crate) enum Writer {
    /// The serializer's own schema.
    Own,
    /// A schema from the registry.
    Fetched(Arc<FetchedSchema>),
}

/// Choose the writer schema and its id for `topic`/`field`, following Confluent's order:
/// `use_schema_id`, then `use_latest_with_metadata`, then `use_latest_version`, then register or
/// look up the own schema.
pub(crate) async fn choose_writer(
    client: &RegistryClient,
    config: &SerializerConfig,
    own: Option<(&SchemaDef, &ParsedSchema)>,
    record_name: Option<&str>,
    topic: &str,
    field: Field,
) -> Result<Chosen> {
    let record_name = record_name
        .map(str::to_string)
        .or_else(|| own.and_then(|(_, parsed)| parsed.record_name()));
    let record_name = record_name.as_deref();
    let (writer, id, guid) = if let Some(id) = config.use_schema_id {
        let fetched = client.schema_by_id(id).await?;
        let guid = fetched.guid;
        (Writer::Fetched(fetched), id, guid)
    } else if config.use_latest_version || config.use_latest_with_metadata.is_some() {
        let subject = config
            .subject_name_strategy
            .subject(topic, field, record_name)?;
        let latest = match &config.use_latest_with_metadata {
            Some(metadata) => client.latest_with_metadata(&subject, metadata).await?,
            None => client.latest_version(&subject).await?,
        };
        let fetched = client.schema_by_id(latest.id).await?;
        if config.latest_compatibility_strict {
            if let Some((_, own)) = own {
                let problems = fetched
                    .parsed
                    .backward_differences(own, CompatibilityPolicy::Strict);
                if !problems.is_empty() {
                    return Err(Error::Serialize(format!(
                        "the chosen version of subject '{subject}' (id {}) cannot read data \
                         written with the value's schema: {}",
                        latest.id,
                        problems
                            .iter()
                            .map(|p| p.message.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    )));
                }
            }
        }
        (Writer::Fetched(fetched), latest.id, latest.guid)
    } else {
        let (def, _) = own.ok_or_else(|| {
            Error::Config(
                "this serializer has no schema of its own: set use_schema_id or \
                 use_latest_version"
                    .into(),
            )
        })?;
        let subject = config
            .subject_name_strategy
            .subject(topic, field, record_name)?;
        let registered = if config.auto_register_schemas {
            client
                .register(&subject, def, config.normalize_schemas)
                .await?
        } else {
            client
                .lookup(&subject, def, config.normalize_schemas)
                .await?
        };
        (Writer::Own, registered.id, registered.guid)
    };
    Ok(Chosen { writer, id, guid })
}

/// The writer schema chosen for a topic, with its id and GUID.
pub(crate) struct Chosen {
    /// The writer schema.
    pub writer: Writer,
    /// Its id.
    pub id: i32,
    /// Its GUID, when the registry gave one.
    pub guid: Option<uuid::Uuid>,
}

impl Chosen {
    /// The prefix and header that name this schema under `config`'s placement.
    pub(crate) fn placement(
        &self,
        config: &SerializerConfig,
        field: Field,
        message_indexes: Option<&[i32]>,
    ) -> Result<(Vec<u8>, Option<SchemaIdHeader>)> {
        match config.schema_id_placement {
            SchemaIdPlacement::Prefix => {
                let mut prefix = Vec::with_capacity(8);
                wire::write_prefix(&mut prefix, SchemaId::Id(self.id), message_indexes);
                Ok((prefix, None))
            }
            SchemaIdPlacement::Header => {
                let guid = self.guid.ok_or_else(|| {
                    Error::Config(format!(
                        "the registry did not give schema {} a GUID (it predates Confluent \
                         8.0), so it cannot be placed in a header; use prefix placement",
                        self.id
                    ))
                })?;
                Ok((
                    Vec::new(),
                    Some((field.header(), wire::header_value(guid, message_indexes))),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_name_strategies_follow_confluent() {
        let s = SubjectNameStrategy::Topic;
        assert_eq!(
            s.subject("orders", Field::Value, None).unwrap(),
            "orders-value"
        );
        assert_eq!(
            s.subject("orders", Field::Key, Some("x.Y")).unwrap(),
            "orders-key"
        );
        let s = SubjectNameStrategy::Record;
        assert_eq!(
            s.subject("orders", Field::Value, Some("shop.Order"))
                .unwrap(),
            "shop.Order"
        );
        assert!(s.subject("orders", Field::Value, None).is_err());
        let s = SubjectNameStrategy::TopicRecord;
        assert_eq!(
            s.subject("orders", Field::Value, Some("shop.Order"))
                .unwrap(),
            "orders-shop.Order"
        );
    }

    #[test]
    fn the_reference_subject_is_the_import_path_unless_a_custom_strategy_names_it() {
        let default = SerializerConfig::default().reference_subject_name_strategy;
        assert_eq!(
            default.subject("orders", Field::Value, "shop/common.proto"),
            "shop/common.proto"
        );
        let custom = ReferenceSubjectNameStrategy::custom(|topic, field, import| {
            format!("{topic}-{}-{import}", field.suffix())
        });
        assert_eq!(
            custom.subject("orders", Field::Key, "shop/common.proto"),
            "orders-key-shop/common.proto"
        );
        assert_eq!(custom.clone(), custom);
        assert_ne!(custom, default);
        assert_ne!(
            custom,
            ReferenceSubjectNameStrategy::custom(|_, _, import| import.to_string())
        );
    }

    #[test]
    fn auto_register_and_use_latest_version_are_exclusive() {
        let config = SerializerConfig {
            use_latest_version: true,
            ..SerializerConfig::default()
        };
        assert!(matches!(config.validate(), Err(Error::Config(_))));
    }
}
