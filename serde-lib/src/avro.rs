//! Avro: serializers and deserializers for serde-typed values and for generic
//! [`apache_avro::types::Value`]s.
//!
//! Each writer schema is compiled once per schema id into an [`AvroCodec`] (an apache-avro
//! `Schema` with its named types resolved, and a flat `plan` of it) and kept in an `Arc`; no
//! message re-resolves a schema (`to_avro_datum`/`from_avro_datum` do, per call, and are never
//! used here). Reading with a reader schema applies Avro's resolution rules (new readers read
//! old data), compiled once per (writer id, reader schema) into a read plan.
//!
//! Typed values take the fast path: the plan `encode`r (a serde `Serializer` writing Avro
//! binary straight into the framed buffer, validating as it goes) and the plan `decode`r (a
//! serde `Deserializer` driving the caller's `Deserialize` impl over the payload bytes, with no
//! `Value` in between). Whatever the plan does not model (a few logical types, serde shapes
//! derived types do not produce) and every error goes to apache-avro, so the values accepted,
//! their bytes and the error messages stay apache-avro's. Generic [`Value`]s always use
//! apache-avro.

mod check;
mod decode;
mod encode;
mod plan;

pub use encode::write_long;

use std::marker::PhantomData;
use std::sync::Arc;

use apache_avro::headers::HeaderBuilder;
use apache_avro::types::Value;
use apache_avro::{GenericSingleObjectReader, GenericSingleObjectWriter, Schema};
use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use strata_schema::{AvroSchema, FormatSchema, ParseOptions, ParsedSchema, SchemaType};

use crate::cache::OnceMap;
use crate::client::{RegistryClient, SchemaDef};
use crate::serializer::{
    choose_writer, Deserializer, SchemaIdHeader, Serialized, Serializer, SerializerConfig, Target,
    Writer,
};
use crate::wire::{self, Field, SchemaId};
use crate::{Error, Result};
use plan::{Plan, PlanError};

/// A header of no bytes: lets apache-avro's single-object reader decode bare datums with a
/// schema resolved once.
struct NoHeader;

impl HeaderBuilder for NoHeader {
    fn build_header(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// The single-object writer insists on a 10..=20-byte header; we write this placeholder and
/// cut it out again.
struct PlaceholderHeader;
const PLACEHOLDER_LEN: usize = 10;

impl HeaderBuilder for PlaceholderHeader {
    fn build_header(&self) -> Vec<u8> {
        vec![0; PLACEHOLDER_LEN]
    }
}

/// A writer (or reader) schema compiled once: the apache-avro schema with its named types
/// resolved, ready to encode and decode any number of datums.
pub struct AvroCodec {
    schema: Schema,
    /// The schema uses named references, so the typed serializer needs a names table.
    has_refs: bool,
    reader: GenericSingleObjectReader,
    writer: Mutex<GenericSingleObjectWriter>,
    /// The writer plan; `None` when the schema uses what plans do not model.
    plan: Option<Arc<Plan>>,
    /// The named types, for [`check::check`] before apache-avro decodes a `Value`.
    names: check::Names,
}

impl std::fmt::Debug for AvroCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroCodec")
            .field("schema", &self.schema.canonical_form())
            .finish_non_exhaustive()
    }
}

fn avro_error(context: &str, e: apache_avro::Error) -> String {
    format!("{context}: {e}")
}

fn has_refs(schema: &Schema) -> bool {
    match schema {
        Schema::Ref { .. } => true,
        Schema::Record(r) => r.fields.iter().any(|f| has_refs(&f.schema)),
        Schema::Array(a) => has_refs(&a.items),
        Schema::Map(m) => has_refs(&m.types),
        Schema::Union(u) => u.variants().iter().any(has_refs),
        _ => false,
    }
}

impl AvroCodec {
    /// Compile `schema` (a parsed strata schema, references inlined).
    pub fn new(schema: &AvroSchema) -> Result<Self> {
        let text = schema.resolved();
        let schema = Schema::parse_str(&text)
            .map_err(|e| Error::Serialize(avro_error("apache-avro cannot load the schema", e)))?;
        Self::from_schema(schema)
    }

    /// Compile an apache-avro schema.
    pub fn from_schema(schema: Schema) -> Result<Self> {
        let reader = GenericSingleObjectReader::new_with_header_builder(schema.clone(), NoHeader)
            .map_err(|e| Error::Serialize(avro_error("the schema does not resolve", e)))?;
        let writer = GenericSingleObjectWriter::new_with_capacity_and_header_builder(
            &schema,
            64,
            PlaceholderHeader,
        )
        .map_err(|e| Error::Serialize(avro_error("the schema does not resolve", e)))?;
        let names = apache_avro::schema::ResolvedSchema::try_from(&schema)
            .map_err(|e| Error::Serialize(avro_error("the schema does not resolve", e)))?
            .get_names()
            .iter()
            .map(|(n, s)| (n.clone(), (*s).clone()))
            .collect();
        let plan = match Plan::writer(&schema) {
            Ok(plan) => Some(Arc::new(plan)),
            Err(reason) => {
                tracing::debug!(%reason, "Avro schema without a plan; apache-avro encodes and decodes it");
                None
            }
        };
        Ok(AvroCodec {
            has_refs: has_refs(&schema),
            schema,
            reader,
            writer: Mutex::new(writer),
            plan,
            names,
        })
    }

    /// The apache-avro schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Append the Avro encoding of a serde value, validated against the schema.
    pub fn encode_serde<T: Serialize + ?Sized>(&self, value: &T, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        if let Some(plan) = &self.plan {
            if encode::encode(plan, value, out).is_ok() {
                return Ok(());
            }
            // Not a shape the plan encoder writes, or not valid: apache-avro decides (and
            // words the error).
            out.truncate(start);
        }
        let result = self.encode_serde_apache(value, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_serde_apache<T: Serialize + ?Sized>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let to_error = |e: apache_avro::Error| {
            Error::Serialize(avro_error("the value does not match the Avro schema", e))
        };
        if self.has_refs {
            // apache-avro's direct serde writer resolves named references only through a
            // names table it builds per call; such schemas go through a generic value and
            // the writer resolved once.
            let value = apache_avro::to_value(value).map_err(to_error)?;
            let value = match value {
                // Typed structs become records; unions need the schema to pick a branch.
                v @ Value::Record(_) => v,
                v => v.resolve(&self.schema).map_err(to_error)?,
            };
            self.encode_value(&value, out)?;
        } else {
            // No named references: the direct serializer needs no names table, and
            // `write_avro_datum_ref` gives it an empty one (no allocation, no resolution).
            apache_avro::write_avro_datum_ref(&self.schema, &value, out).map_err(to_error)?;
        }
        Ok(())
    }

    /// Append the Avro encoding of a generic value, validated against the schema first.
    pub fn encode_value(&self, value: &Value, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        self.writer
            .lock()
            .write_value_ref(value, out)
            .map_err(|e| {
                Error::Serialize(avro_error("the value does not match the Avro schema", e))
            })?;
        out.drain(start..start + PLACEHOLDER_LEN);
        Ok(())
    }

    /// Decode one datum that must fill `bytes` exactly into a serde type.
    pub fn decode_serde<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        decode_typed(self.plan.as_deref(), bytes, || self.decode(bytes))
    }

    /// Checks that `bytes` hold exactly one datum of the schema, without decoding it into a
    /// value (what a broker validating payloads needs): the bounded walk [`Self::decode`]
    /// runs first.
    pub fn check(&self, bytes: &[u8]) -> Result<()> {
        check::check(&self.schema, &self.names, bytes).map_err(|e| {
            Error::Deserialize(format!(
                "the payload is not valid Avro for its writer schema: {e}"
            ))
        })
    }

    /// Decode one datum that must fill `bytes` exactly. The bytes are checked against the
    /// schema first (see `avro/check.rs`): a cut-off datum, bytes after it, or a length or
    /// item count the bytes cannot hold is an error, never a `null` or a huge allocation.
    pub fn decode(&self, bytes: &[u8]) -> Result<Value> {
        check::check(&self.schema, &self.names, bytes).map_err(|e| {
            Error::Deserialize(format!(
                "the payload is not valid Avro for its writer schema: {e}"
            ))
        })?;
        let mut input = bytes;
        let value = self.reader.read_value(&mut input).map_err(|e| {
            Error::Deserialize(avro_error(
                "the payload is not valid Avro for its writer schema",
                e,
            ))
        })?;
        if !input.is_empty() {
            return Err(Error::Deserialize(format!(
                "{} bytes are left after the Avro datum; the payload does not match its writer schema",
                input.len()
            )));
        }
        Ok(value)
    }
}

/// Decode with `plan`, or (without a plan, or when it gives up) with apache-avro: `value` and
/// `from_value`.
fn decode_typed<T: DeserializeOwned>(
    plan: Option<&Plan>,
    bytes: &[u8],
    value: impl FnOnce() -> Result<Value>,
) -> Result<T> {
    if let Some(plan) = plan {
        match decode::decode(plan, bytes) {
            Ok(v) => return Ok(v),
            // Bad bytes are final: apache-avro would fail too, and its recursive decoder can
            // exhaust the stack on deep garbage.
            Err(PlanError::Data(reason)) => {
                return Err(Error::Deserialize(format!(
                    "the payload is not valid Avro for its schema: {reason}"
                )))
            }
            // A Rust type the plan does not present as apache-avro does: apache-avro decides.
            Err(PlanError::Shape(_)) => {}
        }
    }
    apache_avro::from_value::<T>(&value()?)
        .map_err(|e| Error::Deserialize(avro_error("the Avro datum does not fit the Rust type", e)))
}

fn parse_avro(schema: &str) -> Result<(SchemaDef, ParsedSchema, Arc<AvroCodec>)> {
    let parsed = AvroSchema::parse(schema, &[], ParseOptions::default())?;
    let codec = Arc::new(AvroCodec::new(&parsed)?);
    let def = SchemaDef::new(SchemaType::Avro, parsed.canonical());
    Ok((def, ParsedSchema::Avro(parsed), codec))
}

fn fetched_codec(parsed: &ParsedSchema) -> Result<AvroCodec> {
    match parsed {
        ParsedSchema::Avro(s) => AvroCodec::new(s),
        other => Err(Error::Deserialize(format!(
            "the schema is {}, not AVRO",
            other.schema_type()
        ))),
    }
}

/// The writer side shared by the typed and generic serializers.
struct AvroWriter {
    client: RegistryClient,
    config: SerializerConfig,
    own: Option<(SchemaDef, ParsedSchema, Arc<AvroCodec>)>,
    targets: [OnceMap<String, Arc<Target<AvroCodec>>>; 2],
    codecs: OnceMap<i32, Arc<AvroCodec>>,
}

impl AvroWriter {
    fn new(client: RegistryClient, schema: Option<&str>, config: SerializerConfig) -> Result<Self> {
        config.validate()?;
        let own = schema.map(parse_avro).transpose()?;
        let targets = if config.use_latest_version || config.use_latest_with_metadata.is_some() {
            let ttl = client.latest_ttl();
            [OnceMap::with_ttl(ttl), OnceMap::with_ttl(ttl)]
        } else {
            [OnceMap::new(), OnceMap::new()]
        };
        Ok(AvroWriter {
            client,
            config,
            own,
            targets,
            codecs: OnceMap::new(),
        })
    }

    async fn target(&self, topic: &str, field: Field) -> Result<Arc<Target<AvroCodec>>> {
        let map = &self.targets[field as usize];
        if let Some(hit) = map.get(topic) {
            return Ok(hit);
        }
        map.get_or_try_init(topic.to_string(), || async {
            let own = self.own.as_ref().map(|(d, p, _)| (d, p));
            let chosen = choose_writer(&self.client, &self.config, own, None, topic, field).await?;
            let (prefix, header) = chosen.placement(&self.config, field, None)?;
            let codec = match chosen.writer {
                Writer::Own => match &self.own {
                    Some((_, _, codec)) => codec.clone(),
                    None => return Err(Error::Config("no schema to write with".into())),
                },
                Writer::Fetched(fetched) => {
                    let id = fetched.id.unwrap_or_default();
                    self.codecs
                        .get_or_try_init(id, || async {
                            fetched_codec(&fetched.parsed).map(Arc::new)
                        })
                        .await?
                }
            };
            Ok(Arc::new(Target {
                prefix,
                header,
                codec,
            }))
        })
        .await
    }
}

/// Serializes serde-typed values with an Avro schema (Confluent's `AvroSerializer`).
pub struct AvroSerializer<T: ?Sized> {
    writer: AvroWriter,
    _t: PhantomData<fn(&T)>,
}

impl<T: Serialize + ?Sized> AvroSerializer<T> {
    /// A serializer writing with `schema` (Avro JSON), registered or looked up per `config`.
    pub fn new(client: RegistryClient, schema: &str, config: SerializerConfig) -> Result<Self> {
        Ok(AvroSerializer {
            writer: AvroWriter::new(client, Some(schema), config)?,
            _t: PhantomData,
        })
    }

    /// A serializer without a schema of its own: `config` must set `use_schema_id`,
    /// `use_latest_with_metadata` or `use_latest_version`.
    pub fn from_registry(client: RegistryClient, config: SerializerConfig) -> Result<Self> {
        if config.use_schema_id.is_none()
            && !config.use_latest_version
            && config.use_latest_with_metadata.is_none()
        {
            return Err(Error::Config(
                "a serializer without a schema needs use_schema_id, use_latest_with_metadata \
                 or use_latest_version"
                    .into(),
            ));
        }
        Ok(AvroSerializer {
            writer: AvroWriter::new(client, None, config)?,
            _t: PhantomData,
        })
    }

    /// Encode `value` for `topic`'s `field`. Once the topic's writer schema is known the
    /// returned future is ready at its first poll: no registry call, no lock held.
    pub fn serialize<'a>(
        &'a self,
        topic: &'a str,
        field: Field,
        value: &'a T,
    ) -> impl std::future::Future<Output = Result<Serialized>> + Send + 'a
    where
        T: Sync,
    {
        // The warm path skips the (large) cold-path future entirely; the cold path is boxed so
        // the returned future stays small (futures are moved by value: their size is copied).
        match self.serialize_ready(topic, field, value) {
            Some(done) => futures::future::Either::Left(std::future::ready(done)),
            None => futures::future::Either::Right(Box::pin(async move {
                let target = self.writer.target(topic, field).await?;
                target.frame(FRAME_HINT, |out| target.codec.encode_serde(value, out))
            })),
        }
    }

    /// Encode `value` now if `topic`'s writer schema is already chosen (no registry call, no
    /// future); `None` otherwise.
    pub fn serialize_ready(
        &self,
        topic: &str,
        field: Field,
        value: &T,
    ) -> Option<Result<Serialized>> {
        self.writer.targets[field as usize].with(topic, |target| {
            target.frame(FRAME_HINT, |out| target.codec.encode_serde(value, out))
        })
    }
}

/// The bytes reserved for a typed datum after its prefix (one allocation for most records).
const FRAME_HINT: usize = 128;

#[async_trait]
impl<T: Serialize + Sync + ?Sized> Serializer<T> for AvroSerializer<T> {
    async fn serialize(&self, topic: &str, field: Field, value: &T) -> Result<Serialized> {
        AvroSerializer::serialize(self, topic, field, value).await
    }

    fn serialize_ready(&self, topic: &str, field: Field, value: &T) -> Option<Result<Serialized>> {
        AvroSerializer::serialize_ready(self, topic, field, value)
    }

    fn serialize_batch_ready(
        &self,
        topic: &str,
        field: Field,
        values: &[&T],
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Option<Result<Option<SchemaIdHeader>>> {
        // One cache lookup for the whole run.
        self.writer.targets[field as usize].with(topic, |target| {
            out.reserve(values.len() * (target.prefix.len() + 64));
            target.frame_all(values, out, ends, |codec, value, out| {
                codec.encode_serde(value, out)
            })
        })
    }
}

/// Serializes generic [`Value`]s, validating each against the writer schema.
pub struct AvroValueSerializer {
    writer: AvroWriter,
}

impl AvroValueSerializer {
    /// A serializer writing with `schema`; see [`AvroSerializer::new`].
    pub fn new(client: RegistryClient, schema: &str, config: SerializerConfig) -> Result<Self> {
        Ok(AvroValueSerializer {
            writer: AvroWriter::new(client, Some(schema), config)?,
        })
    }

    /// Encode `value` for `topic`'s `field`.
    pub async fn serialize(&self, topic: &str, field: Field, value: &Value) -> Result<Serialized> {
        let target = self.writer.target(topic, field).await?;
        target.frame(64, |out| target.codec.encode_value(value, out))
    }
}

#[async_trait]
impl Serializer<Value> for AvroValueSerializer {
    async fn serialize(&self, topic: &str, field: Field, value: &Value) -> Result<Serialized> {
        AvroValueSerializer::serialize(self, topic, field, value).await
    }
}

/// How to read one writer schema: its codec, and whether values must be resolved to the
/// reader schema.
struct ReadPlan {
    codec: Arc<AvroCodec>,
    resolve: bool,
    /// The typed read plan (the writer plan, or resolved to the reader schema).
    plan: Option<Arc<Plan>>,
}

/// The reader side shared by the typed and generic deserializers.
struct AvroReader {
    client: RegistryClient,
    reader: Option<(Schema, String)>,
    plans: OnceMap<SchemaId, Arc<ReadPlan>>,
}

impl AvroReader {
    fn new(client: RegistryClient, reader_schema: Option<&str>) -> Result<Self> {
        let reader = match reader_schema {
            Some(text) => {
                let parsed = AvroSchema::parse(text, &[], ParseOptions::default())?;
                let schema = Schema::parse_str(&parsed.resolved()).map_err(|e| {
                    Error::Deserialize(avro_error("apache-avro cannot load the reader schema", e))
                })?;
                let canonical = schema.canonical_form();
                Some((schema, canonical))
            }
            None => None,
        };
        Ok(AvroReader {
            client,
            reader,
            plans: OnceMap::new(),
        })
    }

    /// The read plan of a payload's writer schema (cached per schema id).
    async fn plan(&self, schema: SchemaId) -> Result<Arc<ReadPlan>> {
        if let Some(plan) = self.plans.get(&schema) {
            return Ok(plan);
        }
        self.plans
            .get_or_try_init(schema, || async {
                let fetched = self.client.schema(schema).await?;
                let codec = Arc::new(fetched_codec(&fetched.parsed)?);
                let resolve = self
                    .reader
                    .as_ref()
                    .is_some_and(|(_, c)| *c != codec.schema.canonical_form());
                let plan = match (&self.reader, resolve) {
                    (Some((reader, _)), true) => match Plan::resolved(&codec.schema, reader) {
                        Ok(plan) => Some(Arc::new(plan)),
                        Err(reason) => {
                            tracing::debug!(%reason, %schema, "no read plan; apache-avro resolves");
                            None
                        }
                    },
                    _ => codec.plan.clone(),
                };
                Ok(Arc::new(ReadPlan {
                    codec,
                    resolve,
                    plan,
                }))
            })
            .await
    }

    /// Decode now if the payload's read plan is cached (under the cache's read guard: no `Arc`
    /// clone); `None` when it must be fetched. Bad frames are answered now.
    fn read_typed_ready<T: DeserializeOwned>(
        &self,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Option<Result<T>> {
        let frame = match wire::parse_dual(field, headers, payload, false) {
            Ok(frame) => frame,
            Err(e) => return Some(Err(e)),
        };
        self.plans.with(&frame.schema, |plan| {
            decode_typed(plan.plan.as_deref(), frame.payload, || {
                self.value(plan, frame.schema, frame.payload)
            })
        })
    }

    async fn read_typed<T: DeserializeOwned>(
        &self,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<T> {
        let frame = wire::parse_dual(field, headers, payload, false)?;
        let plan = self.plan(frame.schema).await?;
        decode_typed(plan.plan.as_deref(), frame.payload, || {
            self.value(&plan, frame.schema, frame.payload)
        })
    }

    async fn read(
        &self,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<Value> {
        let frame = wire::parse_dual(field, headers, payload, false)?;
        let plan = self.plan(frame.schema).await?;
        self.value(&plan, frame.schema, frame.payload)
    }

    fn value(&self, plan: &ReadPlan, schema: SchemaId, payload: &[u8]) -> Result<Value> {
        let value = plan.codec.decode(payload)?;
        match (&self.reader, plan.resolve) {
            (Some((reader, _)), true) => value.resolve(reader).map_err(|e| {
                Error::Deserialize(avro_error(
                    &format!(
                        "data written with schema {} cannot be read with the reader schema",
                        schema
                    ),
                    e,
                ))
            }),
            _ => Ok(value),
        }
    }
}

/// Deserializes into serde-typed values (Confluent's `AvroDeserializer`), optionally through a
/// reader schema.
pub struct AvroDeserializer<T> {
    reader: AvroReader,
    _t: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> AvroDeserializer<T> {
    /// A deserializer reading with each payload's writer schema.
    pub fn new(client: RegistryClient) -> Self {
        AvroDeserializer {
            reader: AvroReader {
                client,
                reader: None,
                plans: OnceMap::new(),
            },
            _t: PhantomData,
        }
    }

    /// A deserializer resolving every payload to `reader_schema` (Avro schema resolution).
    pub fn with_reader_schema(client: RegistryClient, reader_schema: &str) -> Result<Self> {
        Ok(AvroDeserializer {
            reader: AvroReader::new(client, Some(reader_schema))?,
            _t: PhantomData,
        })
    }

    /// Decode a framed payload. Once the payload's writer schema is known the returned future
    /// is ready at its first poll: no registry call, no lock held across an await.
    pub fn deserialize<'a>(
        &'a self,
        field: Field,
        headers: &'a [(String, Bytes)],
        payload: &'a [u8],
    ) -> impl std::future::Future<Output = Result<T>> + 'a {
        // As the serializer: a small ready future when warm, the boxed cold path otherwise.
        match self.reader.read_typed_ready(field, headers, payload) {
            Some(done) => futures::future::Either::Left(std::future::ready(done)),
            None => futures::future::Either::Right(Box::pin(
                self.reader.read_typed(field, headers, payload),
            )),
        }
    }
}

#[async_trait]
impl<T: DeserializeOwned + Send> Deserializer<T> for AvroDeserializer<T> {
    async fn deserialize(
        &self,
        _topic: &str,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<T> {
        AvroDeserializer::deserialize(self, field, headers, payload).await
    }
}

/// Deserializes into generic [`Value`]s.
pub struct AvroValueDeserializer {
    reader: AvroReader,
}

impl AvroValueDeserializer {
    /// A deserializer returning values in their writer schema, or resolved to `reader_schema`.
    pub fn new(client: RegistryClient, reader_schema: Option<&str>) -> Result<Self> {
        Ok(AvroValueDeserializer {
            reader: AvroReader::new(client, reader_schema)?,
        })
    }

    /// Decode a framed payload.
    pub async fn deserialize(
        &self,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<Value> {
        self.reader.read(field, headers, payload).await
    }
}

#[async_trait]
impl Deserializer<Value> for AvroValueDeserializer {
    async fn deserialize(
        &self,
        _topic: &str,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<Value> {
        self.reader.read(field, headers, payload).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    const SCHEMA: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
        {"name":"id","type":"long"},{"name":"item","type":"string"},
        {"name":"note","type":["null","string"],"default":null},{"name":"qty","type":"int"},
        {"name":"price","type":"double"},{"name":"tags","type":{"type":"array","items":"string"}}]}"#;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Order {
        id: i64,
        item: String,
        note: Option<String>,
        qty: i32,
        price: f64,
        tags: Vec<String>,
    }

    fn order() -> Order {
        Order {
            id: 42,
            item: "widget".into(),
            note: Some("fragile".into()),
            qty: 3,
            price: 9.5,
            tags: vec!["a".into(), "b".into()],
        }
    }

    fn codec(schema: &str) -> AvroCodec {
        let parsed = AvroSchema::parse(schema, &[], ParseOptions::default()).unwrap();
        AvroCodec::new(&parsed).unwrap()
    }

    #[test]
    fn a_typed_value_round_trips_through_the_codec() {
        let codec = codec(SCHEMA);
        assert!(
            !codec.has_refs,
            "no named references: the direct serializer path"
        );
        let mut out = Vec::new();
        codec.encode_serde(&order(), &mut out).unwrap();
        let value = codec.decode(&out).unwrap();
        assert_eq!(apache_avro::from_value::<Order>(&value).unwrap(), order());
    }

    #[test]
    fn the_typed_encoding_equals_the_generic_encoding() {
        let codec = codec(SCHEMA);
        let mut typed = Vec::new();
        codec.encode_serde(&order(), &mut typed).unwrap();
        let value = apache_avro::to_value(order())
            .unwrap()
            .resolve(codec.schema())
            .unwrap();
        let mut generic = Vec::new();
        codec.encode_value(&value, &mut generic).unwrap();
        assert_eq!(typed, generic);
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_rejected() {
        let codec = codec(SCHEMA);
        let mut out = Vec::new();
        assert!(codec.encode_serde(&("not", "an order"), &mut out).is_err());
        assert!(codec.encode_value(&Value::Int(1), &mut out).is_err());
    }

    #[test]
    fn trailing_and_truncated_payloads_are_errors() {
        let codec = codec(SCHEMA);
        let mut out = Vec::new();
        codec.encode_serde(&order(), &mut out).unwrap();
        let mut longer = out.clone();
        longer.push(0);
        assert!(codec.decode(&longer).is_err());
        assert!(codec.decode(&out[..out.len() - 3]).is_err());
    }

    #[test]
    fn schemas_with_named_references_encode() {
        let schema = r#"{"type":"record","name":"Pair","fields":[
            {"name":"a","type":{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}},
            {"name":"b","type":"P"}]}"#;
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct P {
            x: i32,
        }
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Pair {
            a: P,
            b: P,
        }
        let codec = codec(schema);
        assert!(codec.has_refs);
        let mut out = Vec::new();
        let pair = Pair {
            a: P { x: 1 },
            b: P { x: 2 },
        };
        codec.encode_serde(&pair, &mut out).unwrap();
        assert_eq!(out, vec![2, 4]);
        let back: Pair = apache_avro::from_value(&codec.decode(&out).unwrap()).unwrap();
        assert_eq!(back, pair);
    }

    // ---- The plan encoder and decoder against apache-avro ----

    use std::collections::BTreeMap;
    use std::fmt::Debug;

    use proptest::prelude::*;
    use serde::de::DeserializeOwned;

    fn avro_schema(text: &str) -> Schema {
        Schema::parse_str(text).unwrap()
    }

    fn apache_bytes<T: Serialize>(schema: &Schema, value: &T) -> Vec<u8> {
        let codec = AvroCodec::from_schema(schema.clone()).unwrap();
        let mut out = Vec::new();
        codec.encode_serde_apache(value, &mut out).unwrap();
        out
    }

    fn apache_decode<T: DeserializeOwned>(schema: &Schema, bytes: &[u8]) -> T {
        let codec = AvroCodec::from_schema(schema.clone()).unwrap();
        apache_avro::from_value(&codec.decode(bytes).unwrap()).unwrap()
    }

    /// The plan encoder writes `value` (no fallback) with apache-avro's bytes, and the plan
    /// decoder reads those bytes back as apache-avro does.
    fn assert_like_apache<T>(case: &str, schema: &str, value: &T)
    where
        T: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let schema = avro_schema(schema);
        let plan = Plan::writer(&schema).unwrap_or_else(|e| panic!("{case}: {e}"));
        let mut ours = Vec::new();
        encode::encode(&plan, value, &mut ours)
            .unwrap_or_else(|e| panic!("{case}: the plan encoder gave up: {e}"));
        let theirs = apache_bytes(&schema, value);
        if AvroCodec::from_schema(schema.clone()).unwrap().has_refs {
            // apache-avro writes these through a `Value`, whose maps are hash maps: entry order
            // differs. Each side reads the other's bytes instead.
            let back: T = decode::decode(&plan, &theirs)
                .unwrap_or_else(|e| panic!("{case}: decode apache-avro's bytes: {e}"));
            assert_eq!(&back, value, "{case}: apache-avro's bytes");
        } else {
            assert_eq!(ours, theirs, "{case}: bytes");
        }
        let decoded: T =
            decode::decode(&plan, &ours).unwrap_or_else(|e| panic!("{case}: decode: {e}"));
        assert_eq!(&decoded, value, "{case}: round trip");
        assert_eq!(
            decoded,
            apache_decode::<T>(&schema, &ours),
            "{case}: apache-avro"
        );
    }

    /// Data written with `writer` reads with `reader` as apache-avro resolves it.
    fn assert_resolves_like_apache<W, R>(case: &str, writer: &str, reader: &str, value: &W) -> R
    where
        W: Serialize,
        R: DeserializeOwned + PartialEq + Debug,
    {
        let (ws, rs) = (avro_schema(writer), avro_schema(reader));
        let bytes = apache_bytes(&ws, value);
        let plan = Plan::resolved(&ws, &rs).unwrap_or_else(|e| panic!("{case}: {e}"));
        let ours: R =
            decode::decode(&plan, &bytes).unwrap_or_else(|e| panic!("{case}: decode: {e}"));
        let codec = AvroCodec::from_schema(ws).unwrap();
        let resolved = codec.decode(&bytes).unwrap().resolve(&rs).unwrap();
        let apache: R = apache_avro::from_value(&resolved).unwrap();
        assert_eq!(ours, apache, "{case}");
        ours
    }

    /// Bytes as serde bytes (a `Vec<u8>` is a serde sequence, which apache-avro does not
    /// write as Avro bytes).
    #[derive(Debug, Clone, PartialEq)]
    struct Blob(Vec<u8>);

    impl Serialize for Blob {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }

    impl<'de> Deserialize<'de> for Blob {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Blob;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E>(self, v: &[u8]) -> std::result::Result<Blob, E> {
                    Ok(Blob(v.to_vec()))
                }
            }
            d.deserialize_bytes(V)
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
    enum Suit {
        Hearts,
        Spades,
        Clubs,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Inner {
        x: i32,
        label: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Rich {
        flag: bool,
        small: i32,
        wide: i64,
        ratio: f32,
        suit: Suit,
        maybe_suit: Option<Suit>,
        inner: Inner,
        maybe_inner: Option<Inner>,
        inners: Vec<Inner>,
        scores: BTreeMap<String, i64>,
        nested: Vec<Vec<String>>,
        maybe_long: Option<i64>,
        stamp: i64,
        day: i32,
    }

    const RICH: &str = r#"{"type":"record","name":"Rich","namespace":"t","fields":[
        {"name":"flag","type":"boolean"},
        {"name":"small","type":"int"},
        {"name":"wide","type":"long"},
        {"name":"ratio","type":"float"},
        {"name":"suit","type":{"type":"enum","name":"Suit","symbols":["Hearts","Spades","Clubs"]}},
        {"name":"maybe_suit","type":["null","Suit"]},
        {"name":"inner","type":{"type":"record","name":"Inner","fields":[
            {"name":"x","type":"int"},{"name":"label","type":["null","string"]}]}},
        {"name":"maybe_inner","type":["null","Inner"]},
        {"name":"inners","type":{"type":"array","items":"Inner"}},
        {"name":"scores","type":{"type":"map","values":"long"}},
        {"name":"nested","type":{"type":"array","items":{"type":"array","items":"string"}}},
        {"name":"maybe_long","type":["null","long"]},
        {"name":"stamp","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"day","type":{"type":"int","logicalType":"date"}}]}"#;

    fn rich() -> Rich {
        Rich {
            flag: true,
            small: -7,
            wide: i64::MIN,
            ratio: 1.5,
            suit: Suit::Clubs,
            maybe_suit: Some(Suit::Spades),
            inner: Inner {
                x: 3,
                label: Some("é∂".into()),
            },
            maybe_inner: None,
            inners: vec![
                Inner { x: 1, label: None },
                Inner {
                    x: i32::MAX,
                    label: Some(String::new()),
                },
            ],
            scores: [("a".to_string(), 1), ("zz".to_string(), -1)].into(),
            nested: vec![vec![], vec!["x".into(), "y".into()]],
            maybe_long: Some(i64::MAX),
            stamp: 1_700_000_000_000,
            day: 19_000,
        }
    }

    #[test]
    fn the_plan_encoder_and_decoder_match_apache_avro() {
        assert_like_apache("the benchmark record", SCHEMA, &order());
        assert_like_apache(
            "nulls and empties",
            SCHEMA,
            &Order {
                id: -1,
                item: String::new(),
                note: None,
                qty: i32::MIN,
                price: -0.0,
                tags: vec![],
            },
        );
        assert_like_apache("enums, unions, records, maps, logical types", RICH, &rich());
        let mut other = rich();
        other.maybe_inner = Some(other.inner.clone());
        other.maybe_suit = None;
        other.maybe_long = None;
        other.scores.clear();
        other.flag = false;
        assert_like_apache("the other union branches", RICH, &other);
        let long = Order {
            tags: (0..3000).map(|i| i.to_string()).collect(),
            ..order()
        };
        assert_like_apache("arrays longer than one block", SCHEMA, &long);
        assert_like_apache(
            "a top-level map longer than one block",
            r#"{"type":"map","values":"int"}"#,
            &(0..2000)
                .map(|i| (format!("k{i:05}"), i))
                .collect::<BTreeMap<String, i32>>(),
        );
        assert_like_apache(
            "a top-level union",
            r#"["null","string"]"#,
            &Some("x".to_string()),
        );
        assert_like_apache(
            "a double in a union after a long",
            r#"["long","double"]"#,
            &2.5f64,
        );
    }

    #[test]
    fn a_recursive_schema_has_a_plan() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Node {
            value: i32,
            next: Option<Box<Node>>,
        }
        let schema = r#"{"type":"record","name":"Node","fields":[
            {"name":"value","type":"int"},{"name":"next","type":["null","Node"]}]}"#;
        let mut list = None;
        // apache-avro's decoder recurses with large frames: keep it shallow for the debug build.
        for value in 0..8 {
            list = Some(Box::new(Node { value, next: list }));
        }
        let list = *list.unwrap();
        let plan = Plan::writer(&avro_schema(schema)).unwrap();
        let mut out = Vec::new();
        encode::encode(&plan, &list, &mut out).unwrap();
        let back: Node = decode::decode(&plan, &out).unwrap();
        assert_eq!(back, list);
        // apache-avro reads named references back (its writer needs a names table for them).
        assert_eq!(apache_decode::<Node>(&avro_schema(schema), &out), list);
    }

    #[test]
    fn values_that_do_not_fit_are_rejected_by_the_plan_and_by_the_codec() {
        #[derive(Serialize)]
        struct Wrong {
            id: i64,
            item: i32,
        }
        type Encode = Box<dyn Fn(&AvroCodec, &mut Vec<u8>) -> Result<()>>;
        let cases: Vec<(&str, Encode)> = vec![
            (
                "a field of the wrong type",
                Box::new(|c, out| c.encode_serde(&Wrong { id: 1, item: 2 }, out)),
            ),
            (
                "a missing field",
                Box::new(|c, out| c.encode_serde(&Inner { x: 1, label: None }, out)),
            ),
            (
                "a bare number",
                Box::new(|c, out| c.encode_serde(&5i64, out)),
            ),
        ];
        let order_codec = codec(SCHEMA);
        for (case, encode) in cases {
            let mut out = vec![9];
            assert!(encode(&order_codec, &mut out).is_err(), "{case}");
            assert_eq!(out, vec![9], "{case}: nothing is left in the buffer");
        }
        // An i64 beyond i32 into an int field.
        #[derive(Serialize)]
        struct Big {
            x: i64,
            label: Option<String>,
        }
        let inner = codec(
            r#"{"type":"record","name":"Inner","fields":[
            {"name":"x","type":"int"},{"name":"label","type":["null","string"]}]}"#,
        );
        let mut out = Vec::new();
        assert!(inner
            .encode_serde(
                &Big {
                    x: i64::MAX,
                    label: None
                },
                &mut out
            )
            .is_err());
    }

    #[test]
    fn struct_fields_out_of_schema_order_are_written_in_schema_order() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Reordered {
            c: String,
            a: i32,
            b: Option<i64>,
        }
        let schema = r#"{"type":"record","name":"R","fields":[
            {"name":"a","type":"int"},{"name":"b","type":["null","long"]},
            {"name":"c","type":"string"}]}"#;
        let codec = codec(schema);
        let value = Reordered {
            c: "x".into(),
            a: 4,
            b: Some(-1),
        };
        let mut out = Vec::new();
        codec.encode_serde(&value, &mut out).unwrap();
        assert_eq!(out, [8, 2, 1, 2, b'x']);
        assert_eq!(codec.decode_serde::<Reordered>(&out).unwrap(), value);
        assert_eq!(apache_decode::<Reordered>(codec.schema(), &out), value);
    }

    #[test]
    fn shapes_the_plan_does_not_write_fall_back_to_apache_avro() {
        // A unit struct as Avro null: the plan encoder leaves it to apache-avro.
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Unit;
        let codec = codec(r#""null""#);
        let plan = codec.plan.clone().unwrap();
        assert!(encode::encode(&plan, &Unit, &mut Vec::new()).is_err());
        let mut out = Vec::new();
        codec.encode_serde(&Unit, &mut out).unwrap();
        assert_eq!(out, apache_bytes(codec.schema(), &Unit));
        assert_eq!(codec.decode_serde::<Unit>(&out).unwrap(), Unit);
    }

    #[test]
    fn reader_field_aliases_name_writer_fields() {
        // apache-avro's `Value::resolve` ignores field aliases; the Avro specification does not.
        let writer = avro_schema(
            r#"{"type":"record","name":"A","fields":[{"name":"old","type":"string"}]}"#,
        );
        let reader = avro_schema(
            r#"{"type":"record","name":"A","fields":[{"name":"new","aliases":["old"],"type":"string"}]}"#,
        );
        #[derive(Serialize)]
        struct Old {
            old: String,
        }
        #[derive(Debug, PartialEq, Deserialize)]
        struct New {
            new: String,
        }
        let bytes = apache_bytes(&writer, &Old { old: "v".into() });
        let plan = Plan::resolved(&writer, &reader).unwrap();
        assert_eq!(
            decode::decode::<New>(&plan, &bytes).unwrap(),
            New { new: "v".into() }
        );
    }

    #[test]
    fn schemas_with_unmodelled_logical_types_use_apache_avro() {
        let codec = codec(
            r#"{"type":"record","name":"U","fields":[{"name":"id","type":{"type":"string","logicalType":"uuid"}}]}"#,
        );
        assert!(codec.plan.is_none());
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct U {
            id: String,
        }
        let value = U {
            id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8".into(),
        };
        let mut out = Vec::new();
        codec.encode_serde(&value, &mut out).unwrap();
        assert_eq!(codec.decode_serde::<U>(&out).unwrap(), value);
    }

    #[test]
    fn reader_schemas_resolve_like_apache_avro() {
        const WRITER: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
            {"name":"id","type":"int"},
            {"name":"item","type":"string"},
            {"name":"gone","type":{"type":"array","items":{"type":"map","values":"string"}}},
            {"name":"qty","type":"int"},
            {"name":"price","type":"float"},
            {"name":"wide","type":"long"},
            {"name":"blob","type":"bytes"},
            {"name":"suit","type":{"type":"enum","name":"Suit","symbols":["Hearts","Spades","Clubs"]}},
            {"name":"note","type":["null","string"]},
            {"name":"plain","type":"string"},
            {"name":"either","type":["string","null"]}]}"#;
        #[derive(Serialize)]
        struct W {
            id: i32,
            item: String,
            gone: Vec<BTreeMap<String, String>>,
            qty: i32,
            price: f32,
            wide: i64,
            blob: Blob,
            suit: Suit,
            note: Option<String>,
            plain: String,
            either: Option<String>,
        }
        const READER: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
            {"name":"either","type":["null","string"]},
            {"name":"id","type":"long"},
            {"name":"item","type":"bytes"},
            {"name":"qty","type":"double"},
            {"name":"price","type":"double"},
            {"name":"wide","type":"float"},
            {"name":"blob","type":"string"},
            {"name":"suit","type":{"type":"enum","name":"Suit","symbols":["Clubs","Hearts","Other"],"default":"Other"}},
            {"name":"note","type":"string"},
            {"name":"plain","type":["null","string"]},
            {"name":"added","type":"string","default":"none"},
            {"name":"added_union","type":["null","int"],"default":null},
            {"name":"added_list","type":{"type":"array","items":"int"},"default":[1,2]},
            {"name":"added_record","type":{"type":"record","name":"P","fields":[
                {"name":"x","type":"int"},{"name":"s","type":"string"}]},"default":{"x":7,"s":"q"}},
            {"name":"added_suit","type":"Suit","default":"Hearts"}]}"#;
        #[derive(Debug, PartialEq, Deserialize)]
        struct P {
            x: i32,
            s: String,
        }
        #[derive(Debug, PartialEq, Deserialize)]
        enum RSuit {
            Clubs,
            Hearts,
            Other,
        }
        #[derive(Debug, PartialEq, Deserialize)]
        struct R {
            either: Option<String>,
            id: i64,
            item: Blob,
            qty: f64,
            price: f64,
            wide: f32,
            blob: String,
            suit: RSuit,
            note: String,
            plain: Option<String>,
            added: String,
            added_union: Option<i32>,
            added_list: Vec<i32>,
            added_record: P,
            added_suit: RSuit,
        }
        let w = W {
            id: -5,
            item: "widget".into(),
            gone: vec![[("k".to_string(), "v".to_string())].into(), BTreeMap::new()],
            qty: 3,
            price: 2.5,
            wide: 1 << 40,
            blob: Blob(b"text".to_vec()),
            suit: Suit::Spades,
            note: Some("n".into()),
            plain: "p".into(),
            either: None,
        };
        let r: R = assert_resolves_like_apache("every rule at once", WRITER, READER, &w);
        assert_eq!(r.suit, RSuit::Other, "a missing symbol reads the default");
        assert_eq!(r.item, Blob(b"widget".to_vec()));
        assert_eq!(r.added_list, vec![1, 2]);
        let w = W {
            suit: Suit::Hearts,
            either: Some("e".into()),
            ..w
        };
        let r: R = assert_resolves_like_apache("the other branches", WRITER, READER, &w);
        assert_eq!(r.either.as_deref(), Some("e"));
    }

    #[test]
    fn resolution_the_reader_cannot_do_is_an_error_in_data_or_at_compile_time() {
        let writer = avro_schema(r#"["null","string"]"#);
        let reader = avro_schema(r#""string""#);
        let plan = Plan::resolved(&writer, &reader).unwrap();
        let mut out = Vec::new();
        encode::encode(&Plan::writer(&writer).unwrap(), &None::<String>, &mut out).unwrap();
        assert!(
            decode::decode::<String>(&plan, &out).is_err(),
            "null read as string"
        );
        let mut out = Vec::new();
        encode::encode(&Plan::writer(&writer).unwrap(), &Some("s"), &mut out).unwrap();
        assert_eq!(decode::decode::<String>(&plan, &out).unwrap(), "s");

        let no_default = avro_schema(
            r#"{"type":"record","name":"Order","fields":[{"name":"missing","type":"int"}]}"#,
        );
        assert!(Plan::resolved(&avro_schema(SCHEMA), &no_default).is_err());
        assert!(Plan::resolved(&avro_schema(r#""long""#), &avro_schema(r#""int""#)).is_err());
    }

    #[test]
    fn lengths_beyond_the_input_are_errors_without_allocating() {
        let plan = Plan::writer(&avro_schema(SCHEMA)).unwrap();
        // id 1, then a string claiming 2^60 bytes.
        let mut huge = vec![2];
        encode::write_long(&mut huge, 1 << 60);
        assert!(decode::decode::<Order>(&plan, &huge).is_err());
        // A negative length.
        let mut negative = vec![2];
        encode::write_long(&mut negative, -3);
        assert!(decode::decode::<Order>(&plan, &negative).is_err());
        // An array of strings claiming i64::MAX items, and i64::MIN (negated, overflow).
        for count in [i64::MAX, i64::MIN, -(1 << 40)] {
            let mut bytes = vec![2, 2, b'a', 0, 2];
            bytes.extend_from_slice(&1.5f64.to_le_bytes());
            encode::write_long(&mut bytes, count);
            bytes.push(0);
            assert!(decode::decode::<Order>(&plan, &bytes).is_err(), "{count}");
        }
        // A billion nulls.
        let nulls = Plan::writer(&avro_schema(r#"{"type":"array","items":"null"}"#)).unwrap();
        let mut bytes = Vec::new();
        encode::write_long(&mut bytes, 1_000_000_000);
        bytes.push(0);
        assert!(decode::decode::<Vec<()>>(&nulls, &bytes).is_err());
        let mut bytes = Vec::new();
        encode::write_long(&mut bytes, 3);
        bytes.push(0);
        assert_eq!(decode::decode::<Vec<()>>(&nulls, &bytes).unwrap().len(), 3);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let schema = avro_schema(
            r#"{"type":"record","name":"N","fields":[{"name":"next","type":["null","N"]}]}"#,
        );
        let plan = Plan::writer(&schema).unwrap();
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct N {
            next: Option<Box<N>>,
        }
        let depth = |n: usize| {
            let mut bytes = vec![2u8; n];
            bytes.push(0);
            bytes
        };
        assert!(decode::decode::<N>(&plan, &depth(100)).is_ok());
        assert!(decode::decode::<N>(&plan, &depth(100_000)).is_err());
        // Skipped (ignored) data is bounded too.
        #[derive(Debug, Deserialize)]
        struct Nothing {}
        assert!(decode::decode::<Nothing>(&plan, &depth(100_000)).is_err());
        let arrays = avro_schema(
            r#"{"type":"record","name":"A","fields":[{"name":"a","type":{"type":"array","items":"A"}}]}"#,
        );
        let plan = Plan::writer(&arrays).unwrap();
        assert!(decode::decode::<serde::de::IgnoredAny>(&plan, &vec![2u8; 100_000]).is_err());
    }

    fn arb_order() -> impl Strategy<Value = Order> {
        (
            any::<i64>(),
            ".*",
            proptest::option::of(".*"),
            any::<i32>(),
            -1e300f64..1e300,
            proptest::collection::vec(".{0,8}", 0..5),
        )
            .prop_map(|(id, item, note, qty, price, tags)| Order {
                id,
                item,
                note,
                qty,
                price,
                tags,
            })
    }

    proptest! {
        #[test]
        fn any_order_encodes_and_decodes_like_apache_avro(order in arb_order()) {
            let schema = avro_schema(SCHEMA);
            let plan = Plan::writer(&schema).unwrap();
            let mut ours = Vec::new();
            encode::encode(&plan, &order, &mut ours).unwrap();
            prop_assert_eq!(&ours, &apache_bytes(&schema, &order));
            let back: Order = decode::decode(&plan, &ours).unwrap();
            prop_assert_eq!(back, order);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let order_plan = Plan::writer(&avro_schema(SCHEMA)).unwrap();
            let _ = decode::decode::<Order>(&order_plan, &bytes);
            let _ = decode::decode::<serde::de::IgnoredAny>(&order_plan, &bytes);
            let rich_plan = Plan::writer(&avro_schema(RICH)).unwrap();
            let _ = decode::decode::<Rich>(&rich_plan, &bytes);
            let _ = decode::decode::<serde::de::IgnoredAny>(&rich_plan, &bytes);
            // Through the codec (the plan, then apache-avro when the plan gives up).
            let _ = codec(SCHEMA).decode_serde::<Order>(&bytes);
        }

        #[test]
        fn truncated_payloads_are_errors(cut in 0usize..1000) {
            let schema = avro_schema(RICH);
            let plan = Plan::writer(&schema).unwrap();
            let mut bytes = Vec::new();
            encode::encode(&plan, &rich(), &mut bytes).unwrap();
            let cut = cut % bytes.len();
            prop_assert!(decode::decode::<Rich>(&plan, &bytes[..cut]).is_err());
        }
    }

    #[test]
    fn hostile_lengths_are_errors_not_allocations_or_nulls() {
        // A 10-byte frame claiming an array<int> of 500 million items.
        let ints = codec(r#"{"type":"array","items":"int"}"#);
        let mut frame = Vec::new();
        encode::write_long(&mut frame, 500_000_000);
        frame.extend_from_slice(&[2, 4, 6, 8, 10, 12]);
        let e = ints.decode(&frame).unwrap_err().to_string();
        assert!(e.contains("claims 500000000 item(s)"), "{e}");
        let s = codec(r#"{"type":"record","name":"S","fields":[{"name":"s","type":"string"}]}"#);
        let mut huge = Vec::new();
        encode::write_long(&mut huge, 500_000_000);
        for (what, bytes) in [
            ("5 bytes claimed, none there", vec![10u8]),
            ("500M claimed", huge),
        ] {
            let e = s.decode(&bytes).unwrap_err().to_string();
            assert!(
                e.contains("a string claims") && e.contains("(at $.s)"),
                "{what}: {e}"
            );
        }
        // Cut-off booleans and unions are errors, not null (apache-avro reads EOF as null).
        let b = codec(r#"{"type":"record","name":"B","fields":[{"name":"b","type":"boolean"}]}"#);
        assert!(b.decode(&[]).is_err());
        let u = codec(r#"["null","string"]"#);
        assert!(u.decode(&[]).is_err());
        assert!(u
            .decode(&[4])
            .unwrap_err()
            .to_string()
            .contains("union index 2"));
        // Bytes after the datum.
        let e = s.decode(&[2, b'a', 0]).unwrap_err().to_string();
        assert!(e.contains("1 byte(s) are left after the datum"), "{e}");
        // Items of no bytes: a bounded number.
        let nulls = codec(r#"{"type":"array","items":"null"}"#);
        let mut many = Vec::new();
        encode::write_long(&mut many, 1_000_000_000);
        many.push(0);
        let e = nulls.decode(&many).unwrap_err().to_string();
        assert!(e.contains("at most 65536"), "{e}");
        assert_eq!(
            nulls.decode(&[6, 0]).unwrap(),
            Value::Array(vec![Value::Null; 3])
        );
        // Negative block counts carry a byte size, checked too.
        let mut sized = Vec::new();
        encode::write_long(&mut sized, -2);
        encode::write_long(&mut sized, 1_000_000);
        sized.extend_from_slice(&[2, 4, 0]);
        assert!(ints.decode(&sized).is_err());
        let mut sized = Vec::new();
        encode::write_long(&mut sized, -2);
        encode::write_long(&mut sized, 2);
        sized.extend_from_slice(&[2, 4, 0]);
        assert_eq!(
            ints.decode(&sized).unwrap(),
            Value::Array(vec![Value::Int(1), Value::Int(2)])
        );
        // Deep nesting through the Value path: an error, not a stack overflow.
        let n =
            codec(r#"{"type":"record","name":"N","fields":[{"name":"next","type":["null","N"]}]}"#);
        let mut deep = vec![2u8; 100_000];
        deep.push(0);
        let e = n.decode(&deep).unwrap_err().to_string();
        assert!(e.contains("deeper than"), "{e}");
    }

    proptest! {
        #[test]
        fn the_value_decoder_refuses_cut_or_extended_datums_and_survives_any_damage(
            cut in 0usize..1000,
            extra in proptest::collection::vec(any::<u8>(), 1..8),
            flips in proptest::collection::vec((any::<usize>(), 1u8..), 1..4),
            garbage in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let c = codec(RICH);
            let mut bytes = Vec::new();
            c.encode_serde(&rich(), &mut bytes).unwrap();
            prop_assert!(c.decode(&bytes).is_ok());
            // Avro binary is self-delimiting: no strict prefix and no extension of a datum
            // is a datum of the same schema.
            let cut = cut % bytes.len();
            prop_assert!(c.decode(&bytes[..cut]).is_err());
            let mut longer = bytes.clone();
            longer.extend(&extra);
            prop_assert!(c.decode(&longer).is_err());
            // Damaged bytes: an error, or a value that encodes again.
            let mut damaged = bytes.clone();
            for (i, x) in flips {
                let n = damaged.len();
                damaged[i % n] ^= x;
            }
            if let Ok(v) = c.decode(&damaged) {
                let mut again = Vec::new();
                if c.encode_value(&v, &mut again).is_ok() {
                    prop_assert!(c.decode(&again).is_ok());
                }
            }
            let _ = c.decode(&garbage);
            let maps = codec(r#"{"type":"array","items":{"type":"map","values":
                ["null","bytes",{"type":"fixed","name":"F","size":3},{"type":"array","items":"null"}]}}"#);
            let _ = maps.decode(&garbage);
        }
    }
}
