//! JSON Schema: serializers and deserializers for serde types, validating payloads against the
//! schema with the validator strata-schema compiled once when the schema was parsed (never per
//! message, the pitfall of confluent-kafka-python #1564).

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use strata_schema::{FormatSchema, JsonSchema, ParseOptions, ParsedSchema, SchemaType};

use crate::cache::OnceMap;
use crate::client::{FetchedSchema, RegistryClient, SchemaDef};
use crate::serializer::{
    choose_writer, Deserializer, Serialized, Serializer, SerializerConfig, Target, Writer,
};
use crate::wire::{self, Field};
use crate::{Error, Result};

fn json_schema(fetched: &FetchedSchema) -> Result<&JsonSchema> {
    match &fetched.parsed {
        ParsedSchema::Json(s) => Ok(s),
        other => Err(Error::Deserialize(format!(
            "the schema is {}, not JSON",
            other.schema_type()
        ))),
    }
}

fn validate(schema: &JsonSchema, value: &serde_json::Value, name: &str) -> Result<()> {
    schema
        .validate(value)
        .map_err(|messages| Error::Validation {
            schema: name.to_string(),
            messages,
        })
}

/// Serializes serde values as JSON validated against a JSON Schema (Confluent's
/// `JSONSerializer`; `validate` on by default).
pub struct JsonSerializer<T: ?Sized> {
    client: RegistryClient,
    config: SerializerConfig,
    validate: bool,
    own: Option<Arc<FetchedSchema>>,
    targets: [OnceMap<String, Arc<Target<FetchedSchema>>>; 2],
    _t: PhantomData<fn(&T)>,
}

impl<T: Serialize + ?Sized> JsonSerializer<T> {
    /// A serializer writing with `schema` (JSON Schema text).
    pub fn new(client: RegistryClient, schema: &str, config: SerializerConfig) -> Result<Self> {
        let parsed = JsonSchema::parse(schema, &[], ParseOptions::default())?;
        let def = SchemaDef::new(SchemaType::Json, parsed.canonical());
        Self::build(
            client,
            Some(Arc::new(FetchedSchema {
                id: None,
                guid: None,
                def,
                parsed: ParsedSchema::Json(parsed),
            })),
            config,
        )
    }

    /// A serializer without a schema of its own (`use_schema_id` or `use_latest_version`).
    pub fn from_registry(client: RegistryClient, config: SerializerConfig) -> Result<Self> {
        Self::build(client, None, config)
    }

    fn build(
        client: RegistryClient,
        own: Option<Arc<FetchedSchema>>,
        config: SerializerConfig,
    ) -> Result<Self> {
        config.validate()?;
        let targets = if config.use_latest_version || config.use_latest_with_metadata.is_some() {
            let ttl = client.latest_ttl();
            [OnceMap::with_ttl(ttl), OnceMap::with_ttl(ttl)]
        } else {
            [OnceMap::new(), OnceMap::new()]
        };
        Ok(JsonSerializer {
            client,
            config,
            validate: true,
            own,
            targets,
            _t: PhantomData,
        })
    }

    /// Turn payload validation off (`json.fail.invalid.schema` / `validate=False`).
    pub fn without_validation(mut self) -> Self {
        self.validate = false;
        self
    }

    async fn target(&self, topic: &str, field: Field) -> Result<Arc<Target<FetchedSchema>>> {
        let map = &self.targets[field as usize];
        if let Some(hit) = map.get(topic) {
            return Ok(hit);
        }
        map.get_or_try_init(topic.to_string(), || async {
            let own = self.own.as_ref().map(|f| (&f.def, &f.parsed));
            let chosen = choose_writer(&self.client, &self.config, own, None, topic, field).await?;
            let (prefix, header) = chosen.placement(&self.config, field, None)?;
            let codec = match chosen.writer {
                Writer::Own => self
                    .own
                    .clone()
                    .ok_or_else(|| Error::Config("no schema to write with".into()))?,
                Writer::Fetched(f) => f,
            };
            json_schema(&codec)?;
            Ok(Arc::new(Target {
                prefix,
                header,
                codec,
            }))
        })
        .await
    }

    /// Encode `value` for `topic`'s `field`; a value that does not validate is an
    /// [`Error::Validation`].
    pub async fn serialize(&self, topic: &str, field: Field, value: &T) -> Result<Serialized> {
        let target = self.target(topic, field).await?;
        let json = serde_json::to_value(value).map_err(|e| {
            Error::Serialize(format!("the value is not representable as JSON: {e}"))
        })?;
        if self.validate {
            validate(
                json_schema(&target.codec)?,
                &json,
                &format!("for topic '{topic}'"),
            )?;
        }
        target.frame(128, |out| {
            serde_json::to_writer(out, &json)
                .map_err(|e| Error::Serialize(format!("JSON encoding failed: {e}")))
        })
    }
}

#[async_trait]
impl<T: Serialize + Sync + ?Sized> Serializer<T> for JsonSerializer<T> {
    async fn serialize(&self, topic: &str, field: Field, value: &T) -> Result<Serialized> {
        JsonSerializer::serialize(self, topic, field, value).await
    }
}

/// Deserializes JSON payloads into serde types, validating them against the writer schema.
pub struct JsonDeserializer<T> {
    client: RegistryClient,
    validate: bool,
    _t: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> JsonDeserializer<T> {
    /// A validating deserializer.
    pub fn new(client: RegistryClient) -> Self {
        JsonDeserializer {
            client,
            validate: true,
            _t: PhantomData,
        }
    }

    /// Turn payload validation off.
    pub fn without_validation(mut self) -> Self {
        self.validate = false;
        self
    }

    /// Decode a framed payload.
    pub async fn deserialize(
        &self,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<T> {
        let frame = wire::parse_dual(field, headers, payload, false)?;
        let json = parse_payload(frame.payload)?;
        if self.validate {
            let fetched = self.client.schema(frame.schema).await?;
            validate(json_schema(&fetched)?, &json, &frame.schema.to_string())?;
        }
        serde_json::from_value(json)
            .map_err(|e| Error::Deserialize(format!("the JSON does not fit the Rust type: {e}")))
    }
}

#[async_trait]
impl<T: DeserializeOwned + Send> Deserializer<T> for JsonDeserializer<T> {
    async fn deserialize(
        &self,
        _topic: &str,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<T> {
        JsonDeserializer::deserialize(self, field, headers, payload).await
    }
}

/// Parses a payload as one JSON document: cut-off text, anything after the document, and
/// nesting deeper than serde_json's limit (128) are errors; memory follows the bytes present.
pub(crate) fn parse_payload(bytes: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Deserialize(format!("the payload is not JSON: {e}")))
}

#[cfg(test)]
mod payload_tests {
    use super::*;
    use proptest::prelude::*;

    const DOC: &str =
        r#"{"name":"ada","age":36,"tags":["a","b"],"address":{"city":"x","zip":null},"ok":true}"#;

    #[test]
    fn deep_nesting_and_trailing_bytes_are_errors() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(parse_payload(deep.as_bytes()).is_err());
        assert!(parse_payload(b"{} {}").is_err());
        assert!(parse_payload(b"{}  \n").is_ok());
    }

    proptest! {
        #[test]
        fn json_payloads_cut_extended_damaged_or_random_are_errors_or_documents(
            cut in 0usize..200,
            extra in "[^ \t\r\n]{1,4}",
            flips in proptest::collection::vec((any::<usize>(), 1u8..), 1..4),
            garbage in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let bytes = DOC.as_bytes();
            prop_assert!(parse_payload(&bytes[..cut % bytes.len()]).is_err());
            let longer = format!("{DOC}{extra}");
            prop_assert!(parse_payload(longer.as_bytes()).is_err());
            let mut damaged = bytes.to_vec();
            for (i, x) in flips {
                let n = damaged.len();
                damaged[i % n] ^= x;
            }
            if let Ok(v) = parse_payload(&damaged) {
                prop_assert!(parse_payload(&serde_json::to_vec(&v).unwrap()).is_ok());
            }
            let _ = parse_payload(&garbage);
        }
    }
}
