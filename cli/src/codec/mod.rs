//! JSON values to and from schema-encoded bytes for the serde commands (`encode`, `decode`,
//! `produce`, `consume`), for every format the registry holds:
//!
//! - Avro: Avro's JSON encoding, converted along the schema (see [`avro_json`]);
//! - JSON Schema: the value as it is, validated against the schema;
//! - Protobuf: the Protobuf JSON mapping of a dynamic message (prost-reflect), unknown fields
//!   refused; output includes fields at their default value.
//!
//! [`Writer`] is one writer schema chosen for encoding (see `schema_source`); [`Reader`]
//! decodes frames of any schema the registry knows, caching each schema's codec. Neither
//! knows where bytes come from or go.
//!
//! strata-serde's serializers take typed values (serde types, Avro `Value`s, dynamic
//! messages) with one schema fixed up front; the commands need JSON for whatever schema a
//! frame names, so this glue lives here, built on strata-serde's `AvroCodec`, wire format and
//! registry client. It is a candidate to move into strata-serde if other tools need it.

pub mod avro_direct;
pub mod avro_json;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::Value as Json;
use strata_schema::{ParsedSchema, SchemaType};
use strata_serde::wire::{self, Field, SchemaId};
use strata_serde::{AvroCodec, RegistryClient};
use tokio::sync::Mutex;

use crate::schema_source::Placement;
use avro_direct::DirectPlan;

/// Why a value cannot be written with a schema: the value's fault, not the tool's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue(pub String);

impl std::fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidValue {}

/// A compiled schema: what encodes and decodes one schema's values.
enum Compiled {
    /// apache-avro's codec, and the fast path from and to JSON text.
    Avro(Box<AvroCodec>, Box<DirectPlan>),
    Json,
    Protobuf,
}

/// A schema fetched from (or registered with) the registry, compiled for values.
pub struct Codec {
    /// The registry's id, when known.
    pub id: Option<i32>,
    /// The schema's GUID, when the registry gave one.
    pub guid: Option<strata_serde::wire::SchemaId>,
    /// The parsed schema.
    pub parsed: Arc<strata_serde::client::FetchedSchema>,
    compiled: Compiled,
}

impl Codec {
    /// Compile a fetched schema.
    pub fn new(fetched: Arc<strata_serde::client::FetchedSchema>) -> anyhow::Result<Self> {
        let compiled = match &fetched.parsed {
            ParsedSchema::Avro(s) => {
                let codec =
                    AvroCodec::new(s).context("the Avro schema cannot be compiled for values")?;
                let direct = DirectPlan::new(codec.schema());
                Compiled::Avro(Box::new(codec), Box::new(direct))
            }
            ParsedSchema::Json(_) => Compiled::Json,
            ParsedSchema::Protobuf(_) => Compiled::Protobuf,
        };
        Ok(Codec {
            id: fetched.id,
            guid: fetched.guid.map(SchemaId::Guid),
            parsed: fetched,
            compiled,
        })
    }

    /// The format.
    pub fn schema_type(&self) -> SchemaType {
        self.parsed.parsed.schema_type()
    }

    /// The Protobuf message to write: `name`, or the schema's first message.
    pub fn message(
        &self,
        name: Option<&str>,
    ) -> anyhow::Result<Option<(MessageDescriptor, Vec<i32>)>> {
        let ParsedSchema::Protobuf(p) = &self.parsed.parsed else {
            if let Some(name) = name {
                return Err(anyhow!(
                    "--message {name} applies to Protobuf schemas, but this schema is {}",
                    self.schema_type()
                ));
            }
            return Ok(None);
        };
        let descriptor = match name {
            Some(n) => p.message_descriptor(n).ok_or_else(|| {
                anyhow!(
                    "the schema defines no message '{n}' (messages: {})",
                    p.file_descriptor()
                        .messages()
                        .map(|m| m.full_name().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?,
            None => p
                .first_message()
                .ok_or_else(|| anyhow!("the Protobuf schema defines no message"))?,
        };
        let indexes = p.message_indexes(descriptor.full_name()).ok_or_else(|| {
            anyhow!(
                "the message {} is not defined in this schema (it comes from an import); \
                 encode with the schema that defines it",
                descriptor.full_name()
            )
        })?;
        Ok(Some((descriptor, indexes)))
    }

    /// Encode `value` (the datum only, no frame). `message` is the Protobuf message to write.
    pub fn encode(
        &self,
        value: &Json,
        message: Option<&MessageDescriptor>,
    ) -> Result<Vec<u8>, InvalidValue> {
        let mut out = Vec::new();
        match (&self.compiled, &self.parsed.parsed) {
            (Compiled::Avro(codec, _), _) => {
                let names = avro_json::Names::of(codec.schema());
                let avro = avro_json::from_json(value, codec.schema(), &names)
                    .map_err(|e| InvalidValue(e.to_string()))?;
                codec
                    .encode_value(&avro, &mut out)
                    .map_err(|e| InvalidValue(e.to_string()))?;
            }
            (Compiled::Json, ParsedSchema::Json(schema)) => {
                schema
                    .validate(value)
                    .map_err(|messages| InvalidValue(messages.join("; ")))?;
                serde_json::to_writer(&mut out, value)
                    .map_err(|e| InvalidValue(format!("JSON encoding failed: {e}")))?;
            }
            (Compiled::Protobuf, _) => {
                let descriptor = message
                    .ok_or_else(|| InvalidValue("no Protobuf message type chosen".into()))?;
                let msg = DynamicMessage::deserialize_with_options(
                    descriptor.clone(),
                    value,
                    &DeserializeOptions::new(),
                )
                .map_err(|e| {
                    InvalidValue(format!(
                        "the value is not a {} in the Protobuf JSON mapping: {e}",
                        descriptor.full_name()
                    ))
                })?;
                msg.encode(&mut out)
                    .map_err(|e| InvalidValue(format!("Protobuf encoding failed: {e}")))?;
            }
            (Compiled::Json, _) => return Err(InvalidValue("the schema is not JSON".into())),
        }
        Ok(out)
    }

    /// Append an Avro datum as JSON text straight from the bytes, when the fast path takes it
    /// (see [`avro_direct`]); `false` (and `out` unchanged) otherwise.
    pub fn decode_fast(&self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        match &self.compiled {
            Compiled::Avro(_, direct) => direct.decode_to_json(payload, out).is_ok(),
            _ => false,
        }
    }

    /// Append the encoding of the JSON text `json` straight from the text, when the fast path
    /// takes it (see [`avro_direct`]); `false` (and `out` unchanged) otherwise.
    pub fn encode_fast(&self, json: &[u8], out: &mut Vec<u8>) -> bool {
        match &self.compiled {
            Compiled::Avro(_, direct) => direct.encode_json(json, out).is_ok(),
            _ => false,
        }
    }

    /// Decode a datum; `indexes` are the frame's Protobuf message indexes.
    pub fn decode(&self, indexes: &[i32], payload: &[u8]) -> anyhow::Result<Json> {
        match (&self.compiled, &self.parsed.parsed) {
            (Compiled::Avro(codec, _), _) => {
                let value = codec.decode(payload)?;
                let names = avro_json::Names::of(codec.schema());
                Ok(avro_json::to_json(&value, codec.schema(), &names))
            }
            (Compiled::Json, ParsedSchema::Json(schema)) => {
                let json: Json = serde_json::from_slice(payload)
                    .map_err(|e| anyhow!("the payload is not JSON: {e}"))?;
                schema.validate(&json).map_err(|messages| {
                    anyhow!(
                        "the payload does not validate against its schema: {}",
                        messages.join("; ")
                    )
                })?;
                Ok(json)
            }
            (Compiled::Protobuf, ParsedSchema::Protobuf(p)) => {
                let descriptor = p.message_descriptor_at(indexes).ok_or_else(|| {
                    anyhow!("the message indexes {indexes:?} name no message of the schema")
                })?;
                let msg = DynamicMessage::decode(descriptor.clone(), payload).map_err(|e| {
                    anyhow!("the payload is not a valid {}: {e}", descriptor.full_name())
                })?;
                let options = SerializeOptions::new().skip_default_fields(false);
                msg.serialize_with_options(serde_json::value::Serializer, &options)
                    .map_err(|e| anyhow!("the message cannot be shown as JSON: {e}"))
            }
            _ => Err(anyhow!("the schema's format does not match its codec")),
        }
    }
}

/// Framed bytes, and the schema-id header to send with them (header placement only).
pub type Framed = (Vec<u8>, Option<(String, Vec<u8>)>);

/// A writer schema chosen for encoding: the codec, the Protobuf message, the subject.
pub struct Writer {
    /// The codec.
    pub codec: Arc<Codec>,
    /// The subject the schema was chosen in, if any.
    pub subject: Option<String>,
    /// The Protobuf message written, with its indexes.
    pub message: Option<(MessageDescriptor, Vec<i32>)>,
}

impl Writer {
    /// "schema id 3 (subject 'users-value')", for messages.
    pub fn describe(&self) -> String {
        let id = self
            .codec
            .id
            .map_or_else(|| "the schema".to_string(), |id| format!("schema id {id}"));
        match &self.subject {
            Some(s) => format!("{id} (subject '{s}')"),
            None => id,
        }
    }

    /// Frame `value` for `field`: `(bytes, header)` where the header carries the id with
    /// header placement.
    pub fn frame(
        &self,
        value: &Json,
        placement: Placement,
        field: Field,
    ) -> Result<Framed, FrameError> {
        let datum = self
            .codec
            .encode(value, self.message.as_ref().map(|(d, _)| d))
            .map_err(FrameError::Invalid)?;
        let indexes = self.message.as_ref().map(|(_, i)| i.as_slice());
        let id = || {
            self.codec
                .id
                .ok_or_else(|| FrameError::Other(anyhow!("the schema has no registry id")))
        };
        let guid = || {
            self.codec.guid.ok_or_else(|| {
                FrameError::Other(anyhow!(
                    "the registry gave no GUID for schema id {}; GUID placement needs a \
                     registry that assigns GUIDs (Confluent 8.0+ or strata), or use \
                     --id-placement prefix",
                    self.codec.id.unwrap_or_default()
                ))
            })
        };
        let mut out = Vec::with_capacity(datum.len() + 8);
        let header = match placement {
            Placement::Prefix => {
                wire::write_prefix(&mut out, SchemaId::Id(id()?), indexes);
                None
            }
            Placement::GuidPrefix => {
                wire::write_prefix(&mut out, guid()?, indexes);
                None
            }
            Placement::Header => {
                let SchemaId::Guid(g) = guid()? else {
                    return Err(FrameError::Other(anyhow!("the GUID is not a GUID")));
                };
                Some((field.header().to_string(), wire::header_value(g, indexes)))
            }
        };
        out.extend_from_slice(&datum);
        Ok((out, header))
    }
}

impl Writer {
    /// Frame the JSON text `json` straight into `out` with an id or GUID prefix, when the fast
    /// path takes it (see [`avro_direct`]); `false` (and `out` unchanged) otherwise: then parse
    /// the text and use [`Writer::frame`], which decides and words any error.
    pub fn frame_fast(&self, json: &[u8], placement: Placement, out: &mut Vec<u8>) -> bool {
        let id = match (placement, self.codec.id, self.codec.guid) {
            (Placement::Prefix, Some(id), _) => SchemaId::Id(id),
            (Placement::GuidPrefix, _, Some(guid)) => guid,
            _ => return false,
        };
        if self.message.is_some() {
            return false;
        }
        let start = out.len();
        wire::write_prefix(out, id, None);
        if self.codec.encode_fast(json, out) {
            true
        } else {
            out.truncate(start);
            false
        }
    }
}

/// Why a value could not be framed.
#[derive(Debug)]
pub enum FrameError {
    /// The value does not fit the schema (reject the record).
    Invalid(InvalidValue),
    /// Anything else (stop).
    Other(anyhow::Error),
}

/// A decoded frame: the JSON value and the schema it was written with.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The value.
    pub value: Json,
    /// The schema id (or GUID) from the frame.
    pub schema: SchemaId,
}

/// Decodes frames of any schema the registry knows; codecs are compiled once per schema.
pub struct Reader {
    client: RegistryClient,
    registry: String,
    codecs: Mutex<HashMap<SchemaId, Arc<Codec>>>,
}

impl Reader {
    /// A reader fetching schemas through `client`; `registry` names it in errors.
    pub fn new(client: RegistryClient, registry: String) -> Self {
        Reader {
            client,
            registry,
            codecs: Mutex::new(HashMap::new()),
        }
    }

    /// The codec of schema `id`, fetched and compiled on first use.
    pub async fn codec(&self, id: SchemaId) -> anyhow::Result<Arc<Codec>> {
        if let Some(c) = self.codecs.lock().await.get(&id) {
            return Ok(c.clone());
        }
        let fetched = self
            .client
            .schema(id)
            .await
            .map_err(|e| match e.error_code() {
                Some(40403) | Some(404) => anyhow!(
                    "the frame names schema {id}, which the registry at {} does not have ({e})",
                    self.registry
                ),
                _ => anyhow!(
                    "cannot fetch schema {id} from the registry at {}: {e}",
                    self.registry
                ),
            })?;
        let codec = Arc::new(Codec::new(fetched)?);
        self.codecs.lock().await.insert(id, codec.clone());
        Ok(codec)
    }

    /// Decode `payload` as [`Reader::decode`] does and append its value as JSON text (as
    /// `serde_json::to_writer` prints it) to `out`: straight from the bytes when the fast path
    /// takes the frame, else through [`Reader::decode`]. Returns the frame's schema.
    pub async fn decode_text(
        &self,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> anyhow::Result<SchemaId> {
        if !headers.iter().any(|(k, _)| k == field.header()) {
            if let Ok(frame) = wire::parse_prefix(payload, false) {
                let codec = self.codec(frame.schema).await?;
                if codec.schema_type() == SchemaType::Avro && codec.decode_fast(frame.payload, out)
                {
                    return Ok(frame.schema);
                }
            }
        }
        let decoded = self.decode(field, headers, payload).await?;
        serde_json::to_writer(&mut *out, &decoded.value)
            .context("the value cannot be written as JSON")?;
        Ok(decoded.schema)
    }

    /// Decode `payload` (with `headers`, for ids carried in a header).
    pub async fn decode(
        &self,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> anyhow::Result<Decoded> {
        // The schema (and so whether message indexes follow) is known only once the id is
        // read: read the id first, then the whole frame.
        let header = headers.iter().rev().find(|(k, _)| k == field.header());
        let id = match header {
            Some((_, h)) => wire::parse_prefix(h, false)?.schema,
            None => wire::parse_prefix(payload, false)?.schema,
        };
        let codec = self.codec(id).await?;
        let proto = codec.schema_type() == SchemaType::Protobuf;
        let frame = match header {
            Some((_, h)) => wire::parse_header(h, payload, proto)?,
            None => wire::parse_prefix(payload, proto)?,
        };
        let (indexes, datum) = (frame.message_indexes, frame.payload);
        let value = codec
            .decode(&indexes, datum)
            .with_context(|| format!("the payload does not decode with schema {id}"))?;
        Ok(Decoded { value, schema: id })
    }
}
