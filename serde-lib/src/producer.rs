//! The schema-validating [`Producer`]: serialize key and value (which validates them and
//! registers or looks up their schemas), then hand framed bytes to a transport. A value that
//! does not validate, or a schema the registry refuses, fails before anything is written.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use strata_broker::{ProducerRecord, RecordMetadata};

use crate::serializer::{Deserializer, Serialized, Serializer};
use crate::transport::ProducerTransport;
use crate::wire::Field;
use crate::{Error, Result};

/// A record to produce: typed key and value.
#[derive(Debug, Clone)]
pub struct Record<'a, K: ?Sized, V: ?Sized> {
    /// The topic.
    pub topic: &'a str,
    /// The key, if any.
    pub key: Option<&'a K>,
    /// The value; `None` is a tombstone (not serialized).
    pub value: Option<&'a V>,
    /// An explicit partition.
    pub partition: Option<i32>,
    /// Extra headers.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl<'a, K: ?Sized, V: ?Sized> Record<'a, K, V> {
    /// A record with a value and no key.
    pub fn new(topic: &'a str, value: &'a V) -> Self {
        Record {
            topic,
            key: None,
            value: Some(value),
            partition: None,
            headers: Vec::new(),
        }
    }

    /// Sets the key.
    pub fn with_key(mut self, key: &'a K) -> Self {
        self.key = Some(key);
        self
    }
}

/// Produces typed records through a schema registry's serializers. The same API over the
/// bundled broker and Kafka: only the transport differs.
pub struct Producer<K: ?Sized, V: ?Sized> {
    transport: Arc<dyn ProducerTransport>,
    key: Arc<dyn Serializer<K>>,
    value: Arc<dyn Serializer<V>>,
}

impl<K: ?Sized + Sync, V: ?Sized + Sync> Producer<K, V> {
    /// A producer sending through `transport`, with the key and value serializers.
    pub fn new(
        transport: Arc<dyn ProducerTransport>,
        key: Arc<dyn Serializer<K>>,
        value: Arc<dyn Serializer<V>>,
    ) -> Self {
        Producer {
            transport,
            key,
            value,
        }
    }

    /// Serialize (and validate) the record, then send it. Nothing is sent if either part
    /// fails to serialize.
    pub async fn send(&self, record: Record<'_, K, V>) -> Result<RecordMetadata> {
        let out = self.encode(record).await?;
        self.transport.send(out).await
    }

    /// Serialize every record first, then send them all; one invalid record sends none.
    pub async fn send_all(&self, records: Vec<Record<'_, K, V>>) -> Result<Vec<RecordMetadata>> {
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            out.push(self.encode(r).await?);
        }
        self.transport.send_batch(out).await
    }

    /// Wait until buffered records are written.
    pub async fn flush(&self) -> Result<()> {
        self.transport.flush().await
    }

    async fn encode(&self, record: Record<'_, K, V>) -> Result<ProducerRecord> {
        let mut headers = record.headers;
        let key = match record.key {
            Some(k) => Some(place(
                serialize(&*self.key, record.topic, Field::Key, k).await?,
                &mut headers,
            )),
            None => None,
        };
        let value = match record.value {
            Some(v) => Some(place(
                serialize(&*self.value, record.topic, Field::Value, v).await?,
                &mut headers,
            )),
            None => None,
        };
        Ok(ProducerRecord {
            topic: record.topic.to_string(),
            partition: record.partition,
            key,
            value,
            headers,
            timestamp: None,
        })
    }
}

/// A warm serializer encodes in place; only a cold one (a registry call ahead) is awaited.
async fn serialize<T: ?Sized>(
    serializer: &dyn Serializer<T>,
    topic: &str,
    field: Field,
    value: &T,
) -> Result<Serialized> {
    match serializer.serialize_ready(topic, field, value) {
        Some(done) => done,
        None => serializer.serialize(topic, field, value).await,
    }
}

fn place(s: Serialized, headers: &mut Vec<(String, Vec<u8>)>) -> Vec<u8> {
    if let Some((name, value)) = s.header {
        headers.push((name.to_string(), value));
    }
    s.payload
}

/// Strings as UTF-8 without framing (Kafka's `StringSerializer`), for keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct StringSerde;

#[async_trait]
impl Serializer<str> for StringSerde {
    async fn serialize(&self, _topic: &str, _field: Field, value: &str) -> Result<Serialized> {
        Ok(Serialized {
            payload: value.as_bytes().to_vec(),
            header: None,
        })
    }

    fn serialize_ready(
        &self,
        _topic: &str,
        _field: Field,
        value: &str,
    ) -> Option<Result<Serialized>> {
        Some(Ok(Serialized {
            payload: value.as_bytes().to_vec(),
            header: None,
        }))
    }
}

#[async_trait]
impl Serializer<String> for StringSerde {
    async fn serialize(&self, _topic: &str, _field: Field, value: &String) -> Result<Serialized> {
        Ok(Serialized {
            payload: value.as_bytes().to_vec(),
            header: None,
        })
    }

    fn serialize_ready(
        &self,
        _topic: &str,
        _field: Field,
        value: &String,
    ) -> Option<Result<Serialized>> {
        Some(Ok(Serialized {
            payload: value.as_bytes().to_vec(),
            header: None,
        }))
    }
}

#[async_trait]
impl Deserializer<String> for StringSerde {
    async fn deserialize(
        &self,
        _topic: &str,
        _field: Field,
        _headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<String> {
        String::from_utf8(payload.to_vec())
            .map_err(|e| Error::Deserialize(format!("the bytes are not UTF-8: {e}")))
    }
}

/// Bytes as they are (Kafka's `ByteArraySerializer`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesSerde;

#[async_trait]
impl Serializer<[u8]> for BytesSerde {
    async fn serialize(&self, _topic: &str, _field: Field, value: &[u8]) -> Result<Serialized> {
        Ok(Serialized {
            payload: value.to_vec(),
            header: None,
        })
    }

    fn serialize_ready(
        &self,
        _topic: &str,
        _field: Field,
        value: &[u8],
    ) -> Option<Result<Serialized>> {
        Some(Ok(Serialized {
            payload: value.to_vec(),
            header: None,
        }))
    }
}

#[async_trait]
impl Deserializer<Bytes> for BytesSerde {
    async fn deserialize(
        &self,
        _topic: &str,
        _field: Field,
        _headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> Result<Bytes> {
        Ok(Bytes::copy_from_slice(payload))
    }
}
