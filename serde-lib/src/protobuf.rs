//! Protobuf: serializers and deserializers for prost-generated types and for prost-reflect
//! dynamic messages. The Confluent frame carries message indexes (which message of the schema
//! the payload holds); the user's prost type does the encoding, so no dynamic message is built
//! on the typed path.
//!
//! Imports other than the built-in files (`google/protobuf/…`, `google/type/…`, `confluent/…`)
//! become schema references, as confluent-kafka's serializers make them: each imported file is
//! registered (with `auto_register_schemas`, else looked up) under the subject the
//! configured [`ReferenceSubjectNameStrategy`](crate::ReferenceSubjectNameStrategy) names (by
//! default its import path, as Confluent's default `reference_subject_name_strategy`), imports
//! first, and the root schema is registered with `references` `[{name, subject, version}]`. Deserializers
//! resolve the references of a schema fetched by id (each referenced version fetched once).

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use futures::future::BoxFuture;
use prost_reflect::{DynamicMessage, FileDescriptor, MessageDescriptor, ReflectMessage};
use strata_schema::{
    Dependency, FormatSchema, ParseOptions, ParsedSchema, ProtobufSchema, SchemaReference,
    SchemaType,
};

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

/// A `.proto` file the schema imports, registered as a schema reference: its import path
/// (the reference's name, and by default the subject it is registered under), its text
/// (`.proto` source or a base64 `FileDescriptorProto`), and its own imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoImport {
    /// The import path, as the importing file writes it (`shop/common.proto`).
    pub name: String,
    /// The file's schema text.
    pub schema: String,
    /// The files it imports in turn (well-known types left out).
    pub imports: Vec<ProtoImport>,
}

impl ProtoImport {
    /// An imported file without imports of its own.
    pub fn new(name: impl Into<String>, schema: impl Into<String>) -> Self {
        ProtoImport {
            name: name.into(),
            schema: schema.into(),
            imports: Vec::new(),
        }
    }

    /// The imports of `file` (a descriptor's file), well-known types left out, each as a
    /// base64 `FileDescriptorProto` as confluent-kafka registers them.
    pub fn of_file(file: &FileDescriptor) -> Vec<ProtoImport> {
        use prost::Message as _;
        file.dependencies()
            .filter(|d| !is_built_in(d.name()))
            .map(|d| ProtoImport {
                name: d.name().to_string(),
                schema: base64::engine::general_purpose::STANDARD
                    .encode(d.file_descriptor_proto().encode_to_vec()),
                imports: ProtoImport::of_file(&d),
            })
            .collect()
    }

    fn dependency(&self) -> Dependency {
        Dependency {
            name: self.name.clone(),
            subject: self.name.clone(),
            version: 0,
            schema_type: SchemaType::Protobuf,
            schema: self.schema.clone(),
            dependencies: self.imports.iter().map(ProtoImport::dependency).collect(),
        }
    }
}

/// The files Confluent's serializers never register as references, because every Confluent
/// client and registry has them built in (strata-schema too): the well-known types
/// (`google/protobuf/…`), Google's common types (`google/type/…`) and Confluent's own
/// (`confluent/meta.proto`, `confluent/type/decimal.proto`). The same prefixes as
/// confluent-kafka's `_is_builtin`, applied with its default `skip.known.types`.
pub(crate) fn is_built_in(import: &str) -> bool {
    ["google/protobuf/", "google/type/", "confluent/"]
        .iter()
        .any(|prefix| import.starts_with(prefix))
}

/// `imports` with the built-in files left out, at every depth.
fn without_built_ins(imports: Vec<ProtoImport>) -> Vec<ProtoImport> {
    imports
        .into_iter()
        .filter(|i| !is_built_in(&i.name))
        .map(|i| ProtoImport {
            imports: without_built_ins(i.imports),
            ..i
        })
        .collect()
}

/// The subject `config`'s reference subject name strategy names for `import` when the
/// importing schema is written to `topic`'s `field`.
fn reference_subject(
    config: &SerializerConfig,
    topic: &str,
    field: Field,
    import: &ProtoImport,
) -> Result<String> {
    let subject = config
        .reference_subject_name_strategy
        .subject(topic, field, &import.name);
    if subject.is_empty() {
        return Err(Error::Config(format!(
            "the reference subject name strategy named no subject for the import '{}'",
            import.name
        )));
    }
    Ok(subject)
}

/// The subjects of `imports` and of their imports, depth first: which registrations a
/// schema's references name for `topic`'s `field` (the same for every topic under the
/// default strategy).
fn import_subjects(
    config: &SerializerConfig,
    topic: &str,
    field: Field,
    imports: &[ProtoImport],
    out: &mut Vec<String>,
) -> Result<()> {
    for import in imports {
        out.push(reference_subject(config, topic, field, import)?);
        import_subjects(config, topic, field, &import.imports, out)?;
    }
    Ok(())
}

/// Register (with `auto_register_schemas`) or look up each import, its own imports first,
/// under the subject the reference subject name strategy names for it; the references
/// naming them.
fn resolve_imports<'a>(
    client: &'a RegistryClient,
    config: &'a SerializerConfig,
    topic: &'a str,
    field: Field,
    imports: &'a [ProtoImport],
) -> BoxFuture<'a, Result<Vec<SchemaReference>>> {
    Box::pin(async move {
        let mut out = Vec::with_capacity(imports.len());
        for import in imports {
            let subject = reference_subject(config, topic, field, import)?;
            let mut def = SchemaDef::new(SchemaType::Protobuf, import.schema.clone());
            def.references = resolve_imports(client, config, topic, field, &import.imports).await?;
            if config.auto_register_schemas {
                client
                    .register(&subject, &def, config.normalize_schemas)
                    .await?;
            }
            let found = client
                .lookup(&subject, &def, config.normalize_schemas)
                .await?;
            let version = found.version.ok_or_else(|| {
                Error::Serialize(format!(
                    "the registry did not say which version of '{subject}' the import is"
                ))
            })?;
            out.push(SchemaReference {
                name: import.name.clone(),
                subject,
                version,
            });
        }
        Ok(out)
    })
}

/// The writer side: own schema, the message's full name, and per-topic targets.
struct ProtoWriter {
    client: RegistryClient,
    config: SerializerConfig,
    own: Arc<FetchedSchema>,
    message: String,
    imports: Vec<ProtoImport>,
    /// The own schema with its imports as references, once they are registered, by the
    /// subjects those references name (see [`import_subjects`]).
    with_references: OnceMap<Vec<String>, SchemaDef>,
    targets: [OnceMap<String, Arc<Target<()>>>; 2],
}

impl ProtoWriter {
    fn new(
        client: RegistryClient,
        schema_text: &str,
        imports: Vec<ProtoImport>,
        message: String,
        config: SerializerConfig,
    ) -> Result<Self> {
        config.validate()?;
        // Built-in files the caller listed anyway are neither registered nor parsed from the
        // caller's copy: every Confluent client uses its built-in version of them.
        let imports = without_built_ins(imports);
        let dependencies: Vec<Dependency> = imports.iter().map(ProtoImport::dependency).collect();
        let parsed = ProtobufSchema::parse(schema_text, &dependencies, ParseOptions::default())?;
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
            imports,
            with_references: OnceMap::new(),
            targets,
        })
    }

    /// The own schema as registered for `topic`'s `field`: with its imports as references
    /// (registered first, under the subjects the reference subject name strategy names).
    async fn own_def(&self, topic: &str, field: Field) -> Result<SchemaDef> {
        if self.imports.is_empty() {
            return Ok(self.own.def.clone());
        }
        let mut subjects = Vec::new();
        import_subjects(&self.config, topic, field, &self.imports, &mut subjects)?;
        self.with_references
            .get_or_try_init(subjects, || async {
                let mut def = self.own.def.clone();
                def.references =
                    resolve_imports(&self.client, &self.config, topic, field, &self.imports)
                        .await?;
                Ok(def)
            })
            .await
    }

    async fn target(&self, topic: &str, field: Field) -> Result<Arc<Target<()>>> {
        let map = &self.targets[field as usize];
        if let Some(hit) = map.get(topic) {
            return Ok(hit);
        }
        map.get_or_try_init(topic.to_string(), || async {
            // Imports matter only when the own schema is registered or looked up.
            let uses_own = self.config.use_schema_id.is_none()
                && !self.config.use_latest_version
                && self.config.use_latest_with_metadata.is_none();
            let def = if uses_own {
                self.own_def(topic, field).await?
            } else {
                self.own.def.clone()
            };
            let chosen = choose_writer(
                &self.client,
                &self.config,
                Some((&def, &self.own.parsed)),
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
        Self::with_imports(client, proto, Vec::new(), config)
    }

    /// A serializer registering `proto`, which imports `imports` (registered first, as
    /// schema references). Built-in files (`google/protobuf/…`, `google/type/…`,
    /// `confluent/…`) need not be listed, and are ignored if they are.
    pub fn with_imports(
        client: RegistryClient,
        proto: &str,
        imports: Vec<ProtoImport>,
        config: SerializerConfig,
    ) -> Result<Self> {
        Ok(ProtobufSerializer {
            writer: ProtoWriter::new(client, proto, imports, T::full_name(), config)?,
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
    /// A serializer for messages of `descriptor`'s type. Its file's imports (but the
    /// well-known types) are registered first, as schema references.
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
        let imports = ProtoImport::of_file(&descriptor.parent_file());
        Ok(ProtobufDynamicSerializer {
            writer: ProtoWriter::new(
                client,
                &text,
                imports,
                descriptor.full_name().to_string(),
                config,
            )?,
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
        decode_dynamic(descriptor, frame.payload)
    }
}

/// Decodes a message of `descriptor`. prost checks every length against the bytes left and
/// bounds nesting (100 levels), so a cut-off field, an impossible length or deep garbage is an
/// error and memory follows the bytes present.
pub(crate) fn decode_dynamic(
    descriptor: MessageDescriptor,
    payload: &[u8],
) -> Result<DynamicMessage> {
    DynamicMessage::decode(descriptor, payload)
        .map_err(|e| Error::Deserialize(format!("the payload is not valid Protobuf: {e}")))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RegistryConfig;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Due {
        #[prost(int32, tag = "1")]
        x: i32,
    }

    impl prost::Name for Due {
        const NAME: &'static str = "Due";
        const PACKAGE: &'static str = "b";
    }

    #[test]
    fn built_in_files_listed_as_imports_are_left_to_the_built_in_versions() {
        const ROOT: &str = "syntax = \"proto3\";\npackage b;\nimport \"confluent/meta.proto\";\n\
                            import \"google/type/date.proto\";\nmessage Due { int32 x = 1; }\n";
        // The caller's copies: confluent/meta.proto as a serialized descriptor (as
        // ProtoImport::of_file would make it) and google/type/date.proto as garbage. Neither
        // is used, so neither can break the schema (nor send the parser round in circles).
        let parsed = ProtobufSchema::parse(ROOT, &[], ParseOptions::default()).unwrap();
        let file = parsed.message_descriptor("b.Due").unwrap().parent_file();
        let meta = file
            .dependencies()
            .find(|d| d.name() == "confluent/meta.proto")
            .unwrap();
        use prost::Message as _;
        let meta = base64::engine::general_purpose::STANDARD
            .encode(meta.file_descriptor_proto().encode_to_vec());
        let client = RegistryClient::new(RegistryConfig::new("http://127.0.0.1:1")).unwrap();
        let ser = ProtobufSerializer::<Due>::with_imports(
            client,
            ROOT,
            vec![
                ProtoImport::new("confluent/meta.proto", meta),
                ProtoImport::new("google/type/date.proto", "not a proto file"),
            ],
            SerializerConfig::default(),
        )
        .unwrap();
        assert!(ser.writer.imports.is_empty());
        // And a descriptor's file never lists them.
        assert!(ProtoImport::of_file(&file).is_empty());
    }

    #[tokio::test]
    async fn a_serializer_meeting_cyclic_references_reports_a_reference_cycle_not_a_deserialize_error(
    ) {
        use crate::client::tests::{assert_is_the_a_b_cycle, cyclic_registry};
        // The latest version of `dues-value` (answered as `b`) references `a`, which references
        // `b`: the serializer fetches and parses it before writing.
        let client = RegistryClient::new(RegistryConfig::new(&cyclic_registry().await)).unwrap();
        let config = SerializerConfig {
            auto_register_schemas: false,
            use_latest_version: true,
            latest_compatibility_strict: false,
            ..SerializerConfig::default()
        };
        let ser = ProtobufSerializer::<Due>::new(
            client,
            "syntax = \"proto3\";\npackage b;\nmessage Due { int32 x = 1; }\n",
            config,
        )
        .unwrap();
        let err = ser
            .serialize("dues", Field::Value, &Due { x: 1 })
            .await
            .unwrap_err();
        assert_is_the_a_b_cycle(&err);
    }

    const NODE: &str =
        "syntax = \"proto3\";\npackage t;\nmessage Node { int64 id = 1; string name = 2; \
        repeated int32 xs = 3; map<string, Node> kids = 4; Node next = 5; bytes blob = 6; \
        repeated string tags = 7; double d = 8; }\n";

    fn node_descriptor() -> MessageDescriptor {
        ProtobufSchema::parse(NODE, &[], ParseOptions::default())
            .unwrap()
            .message_descriptor("t.Node")
            .unwrap()
    }

    fn node_bytes() -> Vec<u8> {
        use prost::Message as _;
        let json = serde_json::json!({"id": "-7", "name": "ada", "xs": [1, -2, 300],
            "kids": {"k": {"id": "1", "tags": ["x"]}}, "next": {"name": "n", "blob": "AAEC"},
            "blob": "/wA=", "tags": ["a", "", "c"], "d": 1.5});
        DynamicMessage::deserialize(node_descriptor(), json)
            .unwrap()
            .encode_to_vec()
    }

    #[test]
    fn impossible_lengths_and_deep_nesting_are_protobuf_errors() {
        // Field 2 (string) claiming 500M bytes.
        let mut claim = vec![0x12];
        prost::encoding::encode_varint(500_000_000, &mut claim);
        claim.extend_from_slice(b"abc");
        assert!(decode_dynamic(node_descriptor(), &claim).is_err());
        // Packed field 3 claiming more bytes than there are.
        assert!(decode_dynamic(node_descriptor(), &[0x1a, 0x7f, 1, 2]).is_err());
        // 100,000 nested `next` messages.
        let mut inner: Vec<u8> = Vec::new();
        for _ in 0..100_000 {
            let mut b = vec![0x2a];
            prost::encoding::encode_varint(inner.len() as u64, &mut b);
            b.extend_from_slice(&inner);
            inner = b;
        }
        assert!(decode_dynamic(node_descriptor(), &inner).is_err());
    }

    proptest::proptest! {
        #[test]
        fn protobuf_payloads_cut_damaged_or_random_are_errors_or_exact_messages(
            cut in 0usize..1000,
            flips in proptest::collection::vec((proptest::prelude::any::<usize>(), 1u8..), 1..4),
            garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            use prost::Message as _;
            let bytes = node_bytes();
            proptest::prop_assert!(decode_dynamic(node_descriptor(), &bytes).is_ok());
            // A cut inside a field is an error; a cut between fields is the message of the
            // fields before it, exactly (Protobuf has no end marker).
            let cut = &bytes[..cut % bytes.len()];
            if let Ok(m) = decode_dynamic(node_descriptor(), cut) {
                proptest::prop_assert_eq!(m.encode_to_vec(), cut.to_vec());
            }
            let mut damaged = bytes.clone();
            for (i, x) in flips {
                let n = damaged.len();
                damaged[i % n] ^= x;
            }
            if let Ok(m) = decode_dynamic(node_descriptor(), &damaged) {
                proptest::prop_assert!(decode_dynamic(node_descriptor(), &m.encode_to_vec()).is_ok());
            }
            let _ = decode_dynamic(node_descriptor(), &garbage);
        }
    }
}
