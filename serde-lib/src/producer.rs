//! The schema-validating [`Producer`]: serialize key and value (which validates them and
//! registers or looks up their schemas), then hand framed bytes to a transport. A value that
//! does not validate, or a schema the registry refuses, fails before anything is written.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use strata_broker::{ProducerRecord, RecordMetadata, RecordRef};

use crate::serializer::{Deserializer, SchemaIdHeader, Serialized, Serializer};
use crate::transport::{topic_runs, EncodedBatch, ProducerTransport};
use crate::wire::Field;
use crate::{Error, Result};

/// Per-thread buffers the warm single-record path encodes into.
#[derive(Default)]
struct Scratch {
    data: Vec<u8>,
    ends: Vec<usize>,
}

/// The most a thread's scratch buffer keeps between records.
const SCRATCH_KEEP: usize = 1 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

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
        if let Some(done) = self.send_now(&record) {
            return done;
        }
        let out = self.encode(record).await?;
        self.transport.as_ref().send(out).await
    }

    /// The warm path of [`send`](Self::send): both serializers ready and a transport that
    /// sends in place, the record is encoded into this thread's scratch buffer and sent from
    /// there. `None` (before anything is sent) means: take the general path.
    fn send_now(&self, record: &Record<'_, K, V>) -> Option<Result<RecordMetadata>> {
        let transport = self.transport.as_ref();
        if !transport.can_send_now() {
            return None;
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.try_borrow_mut().ok()?;
            let Scratch { data, ends } = &mut *scratch;
            data.clear();
            ends.clear();
            if data.capacity() > SCRATCH_KEEP {
                // One huge record does not pin its buffer to the thread for good.
                data.shrink_to(SCRATCH_KEEP);
            }
            let mut ids: [Option<SchemaIdHeader>; 2] = [None, None];
            if let Some(k) = record.key {
                match self
                    .key
                    .serialize_batch_ready(record.topic, Field::Key, &[k], data, ends)?
                {
                    Ok(h) => ids[0] = h,
                    Err(e) => return Some(Err(e)),
                }
            }
            let key_end = data.len();
            if let Some(v) = record.value {
                match self.value.serialize_batch_ready(
                    record.topic,
                    Field::Value,
                    &[v],
                    data,
                    ends,
                )? {
                    Ok(h) => ids[1] = h,
                    Err(e) => return Some(Err(e)),
                }
            }
            let headers: Vec<(&str, &[u8])> = record
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice()))
                .chain(ids.iter().flatten().map(|(k, v)| (*k, v.as_slice())))
                .collect();
            transport.send_ref_now(
                record.topic,
                RecordRef {
                    partition: record.partition,
                    key: record.key.map(|_| &data[..key_end]),
                    value: record.value.map(|_| &data[key_end..]),
                    headers: &headers,
                    timestamp: None,
                },
            )
        })
    }

    /// Serialize every record first, then send them all; one invalid record sends none.
    ///
    /// Records are encoded back to back into one buffer, one run of records to the same topic
    /// at a time (one writer-schema lookup per run), and the transport writes them from there.
    pub async fn send_all(&self, records: Vec<Record<'_, K, V>>) -> Result<Vec<RecordMetadata>> {
        let n = records.len();
        let runs: Vec<_> = topic_runs(n, |i| records[i].topic).collect();
        let mut batch = EncodedBatch::with_capacity(n, n * 96);
        let mut keys = Vec::with_capacity(n);
        let mut values = Vec::with_capacity(n);
        for r in records {
            keys.push(r.key);
            values.push(r.value);
            batch.push(r.topic, r.partition, r.headers);
        }
        for run in runs {
            let topic = batch.records()[run.start].topic;
            let (first, keys, values) = (run.start, &keys[run.clone()], &values[run]);
            encode_run(&*self.key, topic, Field::Key, first, keys, &mut batch).await?;
            encode_run(&*self.value, topic, Field::Value, first, values, &mut batch).await?;
        }
        self.transport.as_ref().send_encoded(&batch).await
    }

    /// Wait until buffered records are written.
    pub async fn flush(&self) -> Result<()> {
        self.transport.as_ref().flush().await
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

/// Encode the present `parts` (keys or values) of the run of records from `first` in `batch`,
/// all to `topic`, into the batch's buffer: in one call when the serializer is warm, one by one
/// (awaiting the registry) when not.
async fn encode_run<T: ?Sized>(
    serializer: &dyn Serializer<T>,
    topic: &str,
    field: Field,
    first: usize,
    parts: &[Option<&T>],
    batch: &mut EncodedBatch<'_>,
) -> Result<()> {
    let present: Vec<(usize, &T)> = parts
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (first + i, p)))
        .collect();
    if present.is_empty() {
        return Ok(());
    }
    let refs: Vec<&T> = present.iter().map(|(_, p)| *p).collect();
    let begin = batch.data_mut().len();
    let mut ends = Vec::with_capacity(refs.len());
    let header =
        match serializer.serialize_batch_ready(topic, field, &refs, batch.data_mut(), &mut ends) {
            Some(done) => done?,
            None => {
                // Not warm: drop what was written and go one by one.
                batch.data_mut().truncate(begin);
                ends.clear();
                let mut header = None;
                for part in &refs {
                    let s = serializer.serialize(topic, field, part).await?;
                    let data = batch.data_mut();
                    data.extend_from_slice(&s.payload);
                    ends.push(data.len());
                    header = s.header;
                }
                header
            }
        };
    if ends.len() != present.len() {
        return Err(Error::Serialize(format!(
            "the serializer encoded {} of {} values",
            ends.len(),
            present.len()
        )));
    }
    let mut from = begin;
    for ((i, _), end) in present.iter().zip(ends) {
        match field {
            Field::Key => batch.set_key(*i, from, end),
            Field::Value => batch.set_value(*i, from, end),
        }
        from = end;
    }
    if let Some((name, value)) = header {
        for (i, _) in &present {
            batch.push_header(*i, name, &value);
        }
    }
    Ok(())
}

fn place(s: Serialized, headers: &mut Vec<(String, Vec<u8>)>) -> Vec<u8> {
    if let Some((name, value)) = s.header {
        headers.push((name.to_string(), value));
    }
    s.payload
}

/// Append each of `parts` to `out`, pushing where each ends to `ends`.
fn append_all<'a>(parts: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u8>, ends: &mut Vec<usize>) {
    for p in parts {
        out.extend_from_slice(p);
        ends.push(out.len());
    }
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

    fn serialize_batch_ready(
        &self,
        _topic: &str,
        _field: Field,
        values: &[&str],
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Option<Result<Option<SchemaIdHeader>>> {
        append_all(values.iter().map(|v| v.as_bytes()), out, ends);
        Some(Ok(None))
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

    fn serialize_batch_ready(
        &self,
        _topic: &str,
        _field: Field,
        values: &[&String],
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Option<Result<Option<SchemaIdHeader>>> {
        append_all(values.iter().map(|v| v.as_bytes()), out, ends);
        Some(Ok(None))
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

    fn serialize_batch_ready(
        &self,
        _topic: &str,
        _field: Field,
        values: &[&[u8]],
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Option<Result<Option<SchemaIdHeader>>> {
        append_all(values.iter().copied(), out, ends);
        Some(Ok(None))
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
