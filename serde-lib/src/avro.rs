//! Avro: serializers and deserializers for serde-typed values and for generic
//! [`apache_avro::types::Value`]s.
//!
//! Each writer schema is compiled once per schema id into an [`AvroCodec`] (an apache-avro
//! `Schema` with its named types resolved, and a flat [`plan`] of it) and kept in an `Arc`; no
//! message re-resolves a schema (`to_avro_datum`/`from_avro_datum` do, per call, and are never
//! used here). Reading with a reader schema applies Avro's resolution rules (new readers read
//! old data), compiled once per (writer id, reader schema) into a read plan.
//!
//! Typed values take the fast path: the plan [`encode`]r (a serde `Serializer` writing Avro
//! binary straight into the framed buffer, validating as it goes) and the plan [`decode`]r (a
//! serde `Deserializer` driving the caller's `Deserialize` impl over the payload bytes, with no
//! `Value` in between). Whatever the plan does not model (a few logical types, serde shapes
//! derived types do not produce) and every error goes to apache-avro, so the values accepted,
//! their bytes and the error messages stay apache-avro's. Generic [`Value`]s always use
//! apache-avro.

mod decode;
mod encode;
mod plan;

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
    choose_writer, Deserializer, Serialized, Serializer, SerializerConfig, Target, Writer,
};
use crate::wire::{self, Field, SchemaId};
use crate::{Error, Result};
use plan::Plan;

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
        })
    }

    /// The apache-avro schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Append the Avro encoding of a serde value, validated against the schema.
    pub fn encode_serde<T: Serialize + ?Sized>(&self, value: &T, out: &mut Vec<u8>) -> Result<()> {
        if let Some(plan) = &self.plan {
            let start = out.len();
            if encode::encode(plan, value, out).is_ok() {
                return Ok(());
            }
            // Not a shape the plan encoder writes, or not valid: apache-avro decides (and
            // words the error).
            out.truncate(start);
        }
        self.encode_serde_apache(value, out)
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

    /// Decode one datum that must fill `bytes` exactly.
    pub fn decode(&self, bytes: &[u8]) -> Result<Value> {
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
        if let Ok(v) = decode::decode(plan, bytes) {
            return Ok(v);
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
        let targets = if config.use_latest_version {
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

    /// A serializer without a schema of its own: `config` must set `use_schema_id` or
    /// `use_latest_version`.
    pub fn from_registry(client: RegistryClient, config: SerializerConfig) -> Result<Self> {
        if config.use_schema_id.is_none() && !config.use_latest_version {
            return Err(Error::Config(
                "a serializer without a schema needs use_schema_id or use_latest_version".into(),
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
        // The warm path skips the (large) cold-path future entirely.
        match self.writer.targets[field as usize].get(topic) {
            Some(target) => futures::future::Either::Left(std::future::ready(
                target.frame(128, |out| target.codec.encode_serde(value, out)),
            )),
            None => futures::future::Either::Right(async move {
                let target = self.writer.target(topic, field).await?;
                target.frame(128, |out| target.codec.encode_serde(value, out))
            }),
        }
    }
}

#[async_trait]
impl<T: Serialize + Sync + ?Sized> Serializer<T> for AvroSerializer<T> {
    async fn serialize(&self, topic: &str, field: Field, value: &T) -> Result<Serialized> {
        AvroSerializer::serialize(self, topic, field, value).await
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

    /// Decode a framed payload.
    pub async fn deserialize(
        &self,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<T> {
        self.reader.read_typed(field, headers, payload).await
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
}
