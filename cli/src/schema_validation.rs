//! Broker-side schema validation for `strata serve --kafka-listen`: the
//! [`strata_kafka::ProduceValidator`] that checks produced records against the registry running
//! in the same process, as the topic's settings ask (`confluent.{key,value}.schema.validation`,
//! `confluent.{key,value}.subject.name.strategy`, their `redpanda.*` aliases and
//! `strata.{key,value}.schema.validation=full`; see `strata_broker::TopicConfig::set`).
//!
//! A checked key or value must carry Confluent framing (a `0x00` id prefix, a `0x01` GUID
//! prefix, or the `__key_schema_id`/`__value_schema_id` GUID header) naming a schema that is
//! registered under the subject the strategy names; in `full` mode its bytes must also decode
//! with that schema. Null keys and values (tombstones) pass.
//!
//! Lookups go to the registry once and are then answered from memory: schemas by id and GUID,
//! their compiled decoders, and which subjects hold which ids (refreshed after
//! [`SUBJECTS_TTL`], so a version deleted from a subject stops being accepted soon after).
//! Within one batch, a record naming the same schema as the one before is accepted without a
//! lookup at all. It never parses a schema per record and takes no lock that writes on a hit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use strata_broker::{SchemaValidation, SubjectNameStrategy, TopicConfig, ValidationMode};
use strata_kafka::{InvalidRecord, ProduceValidator, RecordToValidate};
use strata_registry::Registry;
use strata_schema::ParsedSchema;
use strata_serde::wire::{self, Field, SchemaId};
use strata_serde::AvroCodec;

/// How long the subjects that hold a schema id are trusted before they are read again.
pub const SUBJECTS_TTL: Duration = Duration::from_secs(30);

/// Schemas (and subject lists) kept at most; the cache is emptied when it would grow past this,
/// so a producer naming endless ids cannot grow memory without bound.
const MAX_CACHED: usize = 10_000;

/// Validates produced records against the registry in the same process.
pub struct SchemaValidator {
    registry: Arc<Registry>,
    runtime: tokio::runtime::Handle,
    /// Schemas by the reference a frame carries (id or GUID).
    schemas: RwLock<HashMap<SchemaId, Arc<Known>>>,
    /// Live subjects registering each schema id, and when they were read.
    subjects: RwLock<HashMap<i64, SubjectsRead>>,
}

/// When the subjects of a schema id were read, and the live ones.
type SubjectsRead = (Instant, Arc<HashSet<String>>);

/// What one `validate` call shares between its records.
struct Batch<'t> {
    topic: &'t str,
    /// The time at the start of the batch (cache ages are judged against it).
    now: Instant,
    /// Where subjects that must be built are written, reused record after record.
    subject_buf: String,
}

impl std::fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaValidator")
            .field("schemas", &self.schemas.read().len())
            .finish_non_exhaustive()
    }
}

/// A schema the registry knows, compiled for checking payloads.
struct Known {
    id: i64,
    parsed: Arc<ParsedSchema>,
    /// The record's full name (Avro, JSON Schema's title); Protobuf names come from the
    /// message indexes of each frame.
    record_name: Option<String>,
    /// The payload checker for `full` mode, built on first use.
    decoder: std::sync::OnceLock<Result<Decoder, String>>,
}

enum Decoder {
    Avro(Box<AvroCodec>),
    Json,
    Protobuf,
}

/// The schema a frame names, and the bytes after the frame.
struct Framed<'a> {
    schema: SchemaId,
    /// The bytes holding Protobuf message indexes (for other formats: nothing to read), followed
    /// by the payload when the frame is a prefix.
    rest: &'a [u8],
    /// With header framing, the bare payload (the header's remainder holds the indexes).
    bare_payload: Option<&'a [u8]>,
}

/// What the previous record of the batch was accepted with, per field.
#[derive(Default)]
struct Memo {
    last: Option<(SchemaId, Vec<i32>, Arc<Known>)>,
}

impl SchemaValidator {
    /// A validator asking `registry`; `runtime` runs the registry's lookups on a cache miss
    /// (validation itself runs on a blocking thread).
    pub fn new(registry: Arc<Registry>, runtime: tokio::runtime::Handle) -> SchemaValidator {
        SchemaValidator {
            registry,
            runtime,
            schemas: RwLock::new(HashMap::new()),
            subjects: RwLock::new(HashMap::new()),
        }
    }

    fn check_field(
        &self,
        batch: &mut Batch<'_>,
        field: Field,
        rules: SchemaValidation,
        record: &RecordToValidate<'_>,
        memo: &mut Memo,
    ) -> Result<(), String> {
        let topic = batch.topic;
        let bytes = match field {
            Field::Key => record.key,
            Field::Value => record.value,
        };
        // Tombstones (and null keys) pass, as in Confluent Server and Redpanda.
        let Some(bytes) = bytes else {
            return Ok(());
        };
        let framed = frame(field, record.headers, bytes)?;
        let known = match &memo.last {
            Some((schema, _, known)) if *schema == framed.schema => known.clone(),
            _ => self.known(framed.schema)?,
        };
        let (indexes, payload) = match (&*known.parsed, framed.bare_payload) {
            (ParsedSchema::Protobuf(_), bare) => {
                let mut rest = framed.rest;
                let indexes = wire::read_message_indexes(&mut rest)
                    .map_err(|e| format!("its Protobuf message indexes do not read: {e}"))?;
                (indexes, bare.unwrap_or(rest))
            }
            (_, Some(bare)) => (Vec::new(), bare),
            (_, None) => (Vec::new(), framed.rest),
        };
        let same = matches!(&memo.last, Some((schema, ix, _)) if *schema == framed.schema && *ix == indexes);
        if !same {
            let name = self.record_name(&known, &indexes)?;
            let subject = subject(
                topic,
                field,
                rules.strategy,
                name.as_deref(),
                &mut batch.subject_buf,
            )
            .ok_or_else(|| {
                format!(
                    "its schema ({}) has no record name for the {}",
                    framed.schema,
                    strategy_name(rules.strategy)
                )
            })?;
            if !self.registered_under(known.id, subject, batch.now)? {
                return Err(format!(
                    "its schema ({}, registry id {}) is not registered under subject '{subject}' \
                     ({} of topic '{topic}')",
                    framed.schema,
                    known.id,
                    strategy_name(rules.strategy)
                ));
            }
            memo.last = Some((framed.schema, indexes.clone(), known.clone()));
        }
        if rules.mode == ValidationMode::Full {
            decode(&known, &indexes, payload)
                .map_err(|e| format!("its bytes do not fit its schema ({}): {e}", framed.schema))?;
        }
        Ok(())
    }

    /// The schema a frame names, from memory or (once) from the registry.
    fn known(&self, schema: SchemaId) -> Result<Arc<Known>, String> {
        if let Some(k) = self.schemas.read().get(&schema) {
            return Ok(k.clone());
        }
        let registry = self.registry.clone();
        let found = self.runtime.block_on(async move {
            let record = match schema {
                SchemaId::Id(id) => registry.schema(i64::from(id)).await,
                SchemaId::Guid(guid) => registry.schema_by_guid(&guid.to_string()).await,
            }
            .map_err(|e| format!("the registry could not be asked for {schema}: {e}"))?;
            let Some(record) = record else {
                return Ok(None);
            };
            let id = record.record.id;
            let parsed = registry
                .parsed(id)
                .await
                .map_err(|e| format!("the registry could not parse schema id {id}: {e}"))?;
            Ok::<_, String>(Some((id, parsed)))
        })?;
        let Some((id, parsed)) = found else {
            return Err(format!("its {schema} is not known to the schema registry"));
        };
        let known = Arc::new(Known {
            id,
            record_name: match &*parsed {
                ParsedSchema::Protobuf(_) => None,
                other => other.record_name(),
            },
            parsed,
            decoder: std::sync::OnceLock::new(),
        });
        let mut schemas = self.schemas.write();
        if schemas.len() >= MAX_CACHED {
            schemas.clear();
        }
        schemas.insert(schema, known.clone());
        Ok(known)
    }

    /// The record's full name for the record-name strategies.
    fn record_name(&self, known: &Known, indexes: &[i32]) -> Result<Option<String>, String> {
        match &*known.parsed {
            ParsedSchema::Protobuf(p) => p.message_at(indexes).map(Some).ok_or_else(|| {
                format!(
                    "its Protobuf message indexes {indexes:?} name no message of schema id {}",
                    known.id
                )
            }),
            _ => Ok(known.record_name.clone()),
        }
    }

    /// Whether schema `id` is registered (and not deleted) under `subject`.
    fn registered_under(&self, id: i64, subject: &str, now: Instant) -> Result<bool, String> {
        if let Some((read, subjects)) = self.subjects.read().get(&id) {
            if now.duration_since(*read) < SUBJECTS_TTL && subjects.contains(subject) {
                return Ok(true);
            }
        }
        let registry = self.registry.clone();
        let versions = self
            .runtime
            .block_on(async move { registry.versions_of_schema(id).await })
            .map_err(|e| format!("the registry could not list the subjects of id {id}: {e}"))?;
        let live: HashSet<String> = versions
            .into_iter()
            .filter(|v| !v.version.deleted)
            .map(|v| v.subject)
            .collect();
        let found = live.contains(subject);
        let mut cache = self.subjects.write();
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(id, (Instant::now(), Arc::new(live)));
        Ok(found)
    }
}

impl ProduceValidator for SchemaValidator {
    fn validate(
        &self,
        topic: &str,
        partition: i32,
        config: &TopicConfig,
        records: &[RecordToValidate<'_>],
    ) -> Result<(), InvalidRecord> {
        let fields = [
            (Field::Key, config.key_schema_validation),
            (Field::Value, config.value_schema_validation),
        ];
        if fields.iter().all(|(_, r)| r.mode == ValidationMode::Off) {
            return Ok(());
        }
        let mut batch = Batch {
            topic,
            now: Instant::now(),
            subject_buf: String::new(),
        };
        let mut memos = [Memo::default(), Memo::default()];
        for record in records {
            for ((field, rules), memo) in fields.iter().zip(memos.iter_mut()) {
                if rules.mode == ValidationMode::Off {
                    continue;
                }
                self.check_field(&mut batch, *field, *rules, record, memo)
                    .map_err(|reason| InvalidRecord {
                        index: record.index,
                        message: format!(
                            "record {} of the batch for {topic}-{partition} is refused by schema \
                         validation: its {} {reason}",
                            record.index,
                            field.suffix()
                        ),
                    })?;
            }
        }
        Ok(())
    }
}

/// Reads the frame of a key or value: the schema-id header for `field` if the record has one
/// (the last of that name, as Kafka's `lastHeader`), else the payload prefix.
fn frame<'a>(
    field: Field,
    headers: &'a [(&'a str, &'a [u8])],
    bytes: &'a [u8],
) -> Result<Framed<'a>, String> {
    let header = headers
        .iter()
        .rev()
        .find(|(k, _)| *k == field.header())
        .map(|(_, v)| *v);
    let (framing, bare_payload) = match header {
        Some(h) => (h, Some(bytes)),
        None => (bytes, None),
    };
    let (schema, rest) = match framing.split_first() {
        Some((&wire::MAGIC_ID, rest)) if rest.len() >= 4 => {
            let (id, rest) = rest.split_at(4);
            let id = i32::from_be_bytes([id[0], id[1], id[2], id[3]]);
            (SchemaId::Id(id), rest)
        }
        Some((&wire::MAGIC_GUID, rest)) if rest.len() >= 16 => {
            let (guid, rest) = rest.split_at(16);
            let mut g = [0u8; 16];
            g.copy_from_slice(guid);
            (
                SchemaId::Guid(strata_schema::guid::guid_from_bytes(g)),
                rest,
            )
        }
        Some((&wire::MAGIC_ID, _)) | Some((&wire::MAGIC_GUID, _)) => {
            return Err("is cut short inside its schema-registry framing".into())
        }
        Some((&other, _)) if header.is_some() => {
            return Err(format!(
                "header {} starts with 0x{other:02x}, not a schema id",
                field.header()
            ))
        }
        Some((&other, _)) => {
            return Err(format!(
                "does not carry schema-registry framing (it starts with 0x{other:02x}, not the \
                 magic byte 0x00 or 0x01, and there is no {} header)",
                field.header()
            ))
        }
        None => return Err("is empty, so it carries no schema id".into()),
    };
    Ok(Framed {
        schema,
        rest,
        bare_payload,
    })
}

/// The subject the strategy names, written into `buf` when it has to be built.
fn subject<'a>(
    topic: &'a str,
    field: Field,
    strategy: SubjectNameStrategy,
    record_name: Option<&'a str>,
    buf: &'a mut String,
) -> Option<&'a str> {
    buf.clear();
    match strategy {
        SubjectNameStrategy::TopicNameStrategy => {
            buf.push_str(topic);
            buf.push('-');
            buf.push_str(field.suffix());
        }
        SubjectNameStrategy::RecordNameStrategy => return record_name,
        SubjectNameStrategy::TopicRecordNameStrategy => {
            buf.push_str(topic);
            buf.push('-');
            buf.push_str(record_name?);
        }
    }
    Some(buf.as_str())
}

fn strategy_name(s: SubjectNameStrategy) -> &'static str {
    match s {
        SubjectNameStrategy::TopicNameStrategy => "TopicNameStrategy",
        SubjectNameStrategy::RecordNameStrategy => "RecordNameStrategy",
        SubjectNameStrategy::TopicRecordNameStrategy => "TopicRecordNameStrategy",
    }
}

/// `full` mode: the payload must be one datum of the schema.
fn decode(known: &Known, indexes: &[i32], payload: &[u8]) -> Result<(), String> {
    let decoder = known
        .decoder
        .get_or_init(|| match &*known.parsed {
            ParsedSchema::Avro(s) => AvroCodec::new(s)
                .map(|c| Decoder::Avro(Box::new(c)))
                .map_err(|e| e.to_string()),
            ParsedSchema::Json(_) => Ok(Decoder::Json),
            ParsedSchema::Protobuf(_) => Ok(Decoder::Protobuf),
        })
        .as_ref()
        .map_err(|e| format!("the schema cannot be compiled for payloads: {e}"))?;
    match (decoder, &*known.parsed) {
        (Decoder::Avro(codec), _) => codec.check(payload).map_err(|e| e.to_string()),
        (Decoder::Json, ParsedSchema::Json(schema)) => {
            let value: serde_json::Value = serde_json::from_slice(payload)
                .map_err(|e| format!("the payload is not JSON: {e}"))?;
            schema.validate(&value).map_err(|m| m.join("; "))
        }
        (Decoder::Protobuf, ParsedSchema::Protobuf(p)) => {
            let descriptor: MessageDescriptor = p
                .message_descriptor_at(indexes)
                .ok_or_else(|| format!("the message indexes {indexes:?} name no message"))?;
            DynamicMessage::decode(descriptor.clone(), payload)
                .map(|_| ())
                .map_err(|e| format!("the payload is not a valid {}: {e}", descriptor.full_name()))
        }
        _ => Err("the schema's format does not match its decoder".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_name_their_schema_from_the_prefix_or_the_header() {
        let f = frame(Field::Value, &[], &[0, 0, 0, 0, 7, 42]).unwrap();
        assert_eq!(f.schema, SchemaId::Id(7));
        assert_eq!(f.rest, &[42]);

        let mut header = vec![1u8];
        header.extend_from_slice(&[9u8; 16]);
        let headers = [("__value_schema_id", header.as_slice())];
        let f = frame(Field::Value, &headers, b"raw").unwrap();
        assert!(matches!(f.schema, SchemaId::Guid(_)));
        assert_eq!(f.bare_payload, Some(&b"raw"[..]));
        assert!(
            frame(Field::Key, &headers, b"raw").is_err(),
            "the value's header does not frame the key"
        );
    }

    #[test]
    fn unframed_cut_short_and_empty_payloads_are_refused_with_a_reason() {
        for (bytes, want) in [
            (&b"hello"[..], "does not carry schema-registry framing"),
            (&[0u8, 0, 1][..], "cut short"),
            (&[][..], "is empty"),
        ] {
            let e = frame(Field::Value, &[], bytes).err().unwrap();
            assert!(e.contains(want), "{bytes:?}: {e}");
        }
    }

    #[test]
    fn strategies_name_the_subject() {
        let mut buf = String::new();
        let s = subject(
            "orders",
            Field::Value,
            SubjectNameStrategy::TopicNameStrategy,
            None,
            &mut buf,
        );
        assert_eq!(s, Some("orders-value"));
        let mut buf = String::new();
        let s = subject(
            "orders",
            Field::Key,
            SubjectNameStrategy::RecordNameStrategy,
            Some("shop.Order"),
            &mut buf,
        );
        assert_eq!(s, Some("shop.Order"));
        let mut buf = String::new();
        let s = subject(
            "orders",
            Field::Value,
            SubjectNameStrategy::TopicRecordNameStrategy,
            Some("shop.Order"),
            &mut buf,
        );
        assert_eq!(s, Some("orders-shop.Order"));
        let mut buf = String::new();
        let s = subject(
            "orders",
            Field::Value,
            SubjectNameStrategy::TopicRecordNameStrategy,
            None,
            &mut buf,
        );
        assert_eq!(s, None, "no record name, no subject");
    }
}
