//! Protobuf: serializers and deserializers for prost-generated types and for prost-reflect
//! dynamic messages. The Confluent frame carries message indexes (which message of the schema
//! the payload holds); the user's prost type does the encoding, so no dynamic message is built
//! on the typed path.
//!
//! Schemas with imports other than the built-in well-known types (which need schema
//! references) are not registered by these serializers yet.

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage};
use strata_schema::{FormatSchema, ParseOptions, ParsedSchema, ProtobufSchema, SchemaType};

use crate::cache::OnceMap;
use crate::client::{FetchedSchema, RegistryClient, SchemaDef};
use crate::serializer::{
    choose_writer, Deserializer, Serialized, Serializer, SerializerConfig, Target, Writer,
};
use crate::wire::{self, Field};
use crate::{Error, Result};

fn protobuf_schema(parsed: &ParsedSchema) -> Result<&ProtobufSchema> {
    match parsed {
        ParsedSchema::Protobuf(s) => Ok(s),
        other => Err(Error::Deserialize(format!(
            "the schema is {}, not PROTOBUF",
            other.schema_type()
        ))),
    }
}

/// The writer side: own schema, the message's full name, and per-topic targets.
struct ProtoWriter {
    client: RegistryClient,
    config: SerializerConfig,
    own: Arc<FetchedSchema>,
    message: String,
    targets: [OnceMap<String, Arc<Target<()>>>; 2],
}

impl ProtoWriter {
    fn new(
        client: RegistryClient,
        schema_text: &str,
        message: String,
        config: SerializerConfig,
    ) -> Result<Self> {
        config.validate()?;
        let parsed = ProtobufSchema::parse(schema_text, &[], ParseOptions::default())?;
        if parsed.message_indexes(&message).is_none() {
            return Err(Error::Config(format!(
                "the schema defines no message '{message}'"
            )));
        }
        let def = SchemaDef::new(SchemaType::Protobuf, parsed.canonical());
        let targets = if config.use_latest_version || config.use_latest_with_metadata.is_some() {
            let ttl = client.latest_ttl();
            [OnceMap::with_ttl(ttl), OnceMap::with_ttl(ttl)]
        } else {
            [OnceMap::new(), OnceMap::new()]
        };
        Ok(ProtoWriter {
            client,
            config,
            own: Arc::new(FetchedSchema {
                id: None,
                guid: None,
                def,
                parsed: ParsedSchema::Protobuf(parsed),
            }),
            message,
            targets,
        })
    }

    async fn target(&self, topic: &str, field: Field) -> Result<Arc<Target<()>>> {
        let map = &self.targets[field as usize];
        if let Some(hit) = map.get(topic) {
            return Ok(hit);
        }
        map.get_or_try_init(topic.to_string(), || async {
            let chosen = choose_writer(
                &self.client,
                &self.config,
                Some((&self.own.def, &self.own.parsed)),
                Some(&self.message),
                topic,
                field,
            )
            .await?;
            // Indexes are relative to the schema the payload names.
            let writer = match &chosen.writer {
                Writer::Own => self.own.clone(),
                Writer::Fetched(f) => f.clone(),
            };
            let indexes = protobuf_schema(&writer.parsed)?
                .message_indexes(&self.message)
                .ok_or_else(|| {
                    Error::Serialize(format!(
                        "the writer schema (id {}) defines no message '{}'",
                        chosen.id, self.message
                    ))
                })?;
            let (prefix, header) = chosen.placement(&self.config, field, Some(&indexes))?;
            Ok(Arc::new(Target {
                prefix,
                header,
                codec: Arc::new(()),
            }))
        })
        .await
    }
}

/// Serializes prost-generated messages (Confluent's `ProtobufSerializer`). The `.proto` text
/// is given, since prost types do not carry their descriptors.
pub struct ProtobufSerializer<T> {
    writer: ProtoWriter,
    _t: PhantomData<fn(&T)>,
}

impl<T: prost::Message + prost::Name> ProtobufSerializer<T> {
    /// A serializer registering `proto` (the `.proto` text defining `T`).
    pub fn new(client: RegistryClient, proto: &str, config: SerializerConfig) -> Result<Self> {
        Ok(ProtobufSerializer {
            writer: ProtoWriter::new(client, proto, T::full_name(), config)?,
            _t: PhantomData,
        })
    }

    /// Encode `value` for `topic`'s `field`.
    pub async fn serialize(&self, topic: &str, field: Field, value: &T) -> Result<Serialized> {
        let target = self.writer.target(topic, field).await?;
        target.frame(value.encoded_len(), |out| {
            value
                .encode(out)
                .map_err(|e| Error::Serialize(format!("Protobuf encoding failed: {e}")))
        })
    }
}

#[async_trait]
impl<T: prost::Message + prost::Name + Sync> Serializer<T> for ProtobufSerializer<T> {
    async fn serialize(&self, topic: &str, field: Field, value: &T) -> Result<Serialized> {
        ProtobufSerializer::serialize(self, topic, field, value).await
    }
}

/// Serializes prost-reflect dynamic messages of one message type; the schema registered is
/// the message's file, as a base64 `FileDescriptorProto`.
pub struct ProtobufDynamicSerializer {
    writer: ProtoWriter,
    descriptor: MessageDescriptor,
}

impl ProtobufDynamicSerializer {
    /// A serializer for messages of `descriptor`'s type.
    pub fn new(
        client: RegistryClient,
        descriptor: MessageDescriptor,
        config: SerializerConfig,
    ) -> Result<Self> {
        use prost::Message as _;
        let file = descriptor
            .parent_file()
            .file_descriptor_proto()
            .encode_to_vec();
        let text = base64::engine::general_purpose::STANDARD.encode(file);
        Ok(ProtobufDynamicSerializer {
            writer: ProtoWriter::new(client, &text, descriptor.full_name().to_string(), config)?,
            descriptor,
        })
    }

    /// Encode `value` for `topic`'s `field`; a message of another type is refused.
    pub async fn serialize(
        &self,
        topic: &str,
        field: Field,
        value: &DynamicMessage,
    ) -> Result<Serialized> {
        use prost::Message as _;
        if value.descriptor() != self.descriptor {
            return Err(Error::Serialize(format!(
                "the message is a {}, but this serializer writes {}",
                value.descriptor().full_name(),
                self.descriptor.full_name()
            )));
        }
        let target = self.writer.target(topic, field).await?;
        target.frame(value.encoded_len(), |out| {
            value
                .encode(out)
                .map_err(|e| Error::Serialize(format!("Protobuf encoding failed: {e}")))
        })
    }
}

#[async_trait]
impl Serializer<DynamicMessage> for ProtobufDynamicSerializer {
    async fn serialize(
        &self,
        topic: &str,
        field: Field,
        value: &DynamicMessage,
    ) -> Result<Serialized> {
        ProtobufDynamicSerializer::serialize(self, topic, field, value).await
    }
}

/// Deserializes into prost-generated messages, checking that the payload's message indexes
/// name `T` in the writer schema.
pub struct ProtobufDeserializer<T> {
    client: RegistryClient,
    _t: PhantomData<fn() -> T>,
}

impl<T: prost::Message + prost::Name + Default> ProtobufDeserializer<T> {
    /// A deserializer for `T`.
    pub fn new(client: RegistryClient) -> Self {
        ProtobufDeserializer {
            client,
            _t: PhantomData,
        }
    }

    /// Decode a framed payload.
    pub async fn deserialize(
        &self,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<T> {
        let frame = wire::parse_dual(field, headers, payload, true)?;
        let fetched = self.client.schema(frame.schema).await?;
        let name = protobuf_schema(&fetched.parsed)?.message_at(&frame.message_indexes);
        let want = T::full_name();
        if name.as_deref() != Some(want.as_str()) {
            return Err(Error::Deserialize(format!(
                "the payload holds {} (indexes {:?} of schema {}), not {want}",
                name.as_deref().unwrap_or("no message"),
                frame.message_indexes,
                frame.schema
            )));
        }
        T::decode(frame.payload)
            .map_err(|e| Error::Deserialize(format!("the payload is not a valid {want}: {e}")))
    }
}

#[async_trait]
impl<T: prost::Message + prost::Name + Default> Deserializer<T> for ProtobufDeserializer<T> {
    async fn deserialize(
        &self,
        _topic: &str,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<T> {
        ProtobufDeserializer::deserialize(self, field, headers, payload).await
    }
}

/// Deserializes into dynamic messages of whatever type the payload's indexes name.
pub struct ProtobufDynamicDeserializer {
    client: RegistryClient,
}

impl ProtobufDynamicDeserializer {
    /// A dynamic deserializer.
    pub fn new(client: RegistryClient) -> Self {
        ProtobufDynamicDeserializer { client }
    }

    /// Decode a framed payload.
    pub async fn deserialize(
        &self,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<DynamicMessage> {
        let frame = wire::parse_dual(field, headers, payload, true)?;
        let fetched = self.client.schema(frame.schema).await?;
        let descriptor = protobuf_schema(&fetched.parsed)?
            .message_descriptor_at(&frame.message_indexes)
            .ok_or_else(|| {
                Error::Deserialize(format!(
                    "the message indexes {:?} name no message of schema {}",
                    frame.message_indexes, frame.schema
                ))
            })?;
        DynamicMessage::decode(descriptor, frame.payload)
            .map_err(|e| Error::Deserialize(format!("the payload is not valid Protobuf: {e}")))
    }
}

#[async_trait]
impl Deserializer<DynamicMessage> for ProtobufDynamicDeserializer {
    async fn deserialize(
        &self,
        _topic: &str,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<DynamicMessage> {
        ProtobufDynamicDeserializer::deserialize(self, field, headers, payload).await
    }
}
