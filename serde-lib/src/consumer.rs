//! The schema-aware [`Consumer`]: poll framed records from a transport and decode keys and
//! values. A record that cannot be decoded (unknown schema id, garbage payload) follows the
//! [`ErrorPolicy`]: fail, skip (logged and counted) or forward to a dead-letter topic. Nothing
//! is dropped silently.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use strata_broker::{ConsumerRecord, ProducerRecord};
use tokio::sync::Mutex;

use crate::serializer::Deserializer;
use crate::transport::{ConsumerTransport, ProducerTransport};
use crate::wire::Field;
use crate::{Error, Result};

/// Header names set on dead-lettered records (the original position and the reason).
pub const DLQ_TOPIC_HEADER: &str = "__strata_dlq_topic";
/// See [`DLQ_TOPIC_HEADER`].
pub const DLQ_PARTITION_HEADER: &str = "__strata_dlq_partition";
/// See [`DLQ_TOPIC_HEADER`].
pub const DLQ_OFFSET_HEADER: &str = "__strata_dlq_offset";
/// See [`DLQ_TOPIC_HEADER`].
pub const DLQ_ERROR_HEADER: &str = "__strata_dlq_error";

/// What the consumer does with a record it cannot decode (an unknown schema id, bytes that
/// are not a frame, a payload that does not fit its schema). A registry that cannot be reached
/// or fails ([`Error::is_transient`]) is not such a record: under every policy `poll` returns
/// that error and the record stays first in line for the next poll.
#[derive(Clone)]
pub enum ErrorPolicy {
    /// Return the error from `poll` (records after it stay buffered for the next poll).
    Fail,
    /// Log a warning, count it ([`Consumer::skipped`]) and go on.
    Skip,
    /// Send the raw record, with headers naming its origin and the error, to this topic through
    /// this transport, count it ([`Consumer::dead_lettered`]) and go on.
    DeadLetter {
        /// The dead-letter topic.
        topic: String,
        /// Where to send it.
        producer: Arc<dyn ProducerTransport>,
    },
}

impl std::fmt::Debug for ErrorPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrorPolicy::Fail => f.write_str("Fail"),
            ErrorPolicy::Skip => f.write_str("Skip"),
            ErrorPolicy::DeadLetter { topic, .. } => write!(f, "DeadLetter({topic})"),
        }
    }
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub struct Message<K, V> {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The timestamp, ms since the epoch.
    pub timestamp: i64,
    /// The decoded key.
    pub key: Option<K>,
    /// The decoded value; `None` for a tombstone.
    pub value: Option<V>,
    /// The headers.
    pub headers: Vec<(String, Bytes)>,
}

/// Consumes typed records. The same API over the bundled broker and Kafka.
pub struct Consumer<K, V> {
    transport: Arc<dyn ConsumerTransport>,
    key: Arc<dyn Deserializer<K>>,
    value: Arc<dyn Deserializer<V>>,
    policy: ErrorPolicy,
    pending: Mutex<VecDeque<ConsumerRecord>>,
    skipped: AtomicU64,
    dead_lettered: AtomicU64,
}

impl<K: Send, V: Send> Consumer<K, V> {
    /// A consumer reading through `transport`.
    pub fn new(
        transport: Arc<dyn ConsumerTransport>,
        key: Arc<dyn Deserializer<K>>,
        value: Arc<dyn Deserializer<V>>,
        policy: ErrorPolicy,
    ) -> Self {
        Consumer {
            transport,
            key,
            value,
            policy,
            pending: Mutex::new(VecDeque::new()),
            skipped: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
        }
    }

    /// Subscribe to `topics`.
    pub async fn subscribe(&self, topics: &[&str]) -> Result<()> {
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        self.transport.subscribe(&topics).await
    }

    /// Commit the positions of everything polled.
    pub async fn commit(&self) -> Result<()> {
        self.transport.commit().await
    }

    /// Records skipped under [`ErrorPolicy::Skip`].
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Records sent to the dead-letter topic.
    pub fn dead_lettered(&self) -> u64 {
        self.dead_lettered.load(Ordering::Relaxed)
    }

    /// Decoded records available within `timeout`.
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<Message<K, V>>> {
        let mut pending = self.pending.lock().await;
        if pending.is_empty() {
            pending.extend(self.transport.poll(timeout).await?);
        }
        let mut out = Vec::with_capacity(pending.len());
        while let Some(record) = pending.pop_front() {
            match self.decode(&record).await {
                Ok(m) => out.push(m),
                Err(e) if e.is_transient() => {
                    // The registry is unreachable or failing: the record may decode on retry,
                    // so no policy skips or dead-letters it. It stays first in line, and the
                    // error (its kind kept) goes to the caller once what decoded is delivered.
                    pending.push_front(record);
                    if out.is_empty() {
                        return Err(e);
                    }
                    return Ok(out);
                }
                Err(e) => match &self.policy {
                    ErrorPolicy::Fail => {
                        if out.is_empty() {
                            return Err(position_error(&record, e));
                        }
                        // Deliver what decoded; the failing record fails the next poll.
                        pending.push_front(record);
                        return Ok(out);
                    }
                    ErrorPolicy::Skip => {
                        tracing::warn!(
                            topic = %record.topic,
                            partition = record.partition,
                            offset = record.offset,
                            error = %e,
                            "skipping a record that cannot be deserialized"
                        );
                        self.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    ErrorPolicy::DeadLetter { topic, producer } => {
                        producer.send(dead_letter(topic, &record, &e)).await?;
                        tracing::warn!(
                            topic = %record.topic,
                            partition = record.partition,
                            offset = record.offset,
                            dead_letter_topic = %topic,
                            error = %e,
                            "sent a record that cannot be deserialized to the dead-letter topic"
                        );
                        self.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    }
                },
            }
        }
        Ok(out)
    }

    async fn decode(&self, r: &ConsumerRecord) -> Result<Message<K, V>> {
        let key = match &r.key {
            Some(k) => Some(
                self.key
                    .deserialize(&r.topic, Field::Key, &r.headers, k)
                    .await?,
            ),
            None => None,
        };
        let value = match &r.value {
            Some(v) => Some(
                self.value
                    .deserialize(&r.topic, Field::Value, &r.headers, v)
                    .await?,
            ),
            None => None,
        };
        Ok(Message {
            topic: r.topic.clone(),
            partition: r.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key,
            value,
            headers: r.headers.clone(),
        })
    }
}

fn position_error(r: &ConsumerRecord, e: Error) -> Error {
    Error::Deserialize(format!(
        "record {}-{} at offset {}: {e}",
        r.topic, r.partition, r.offset
    ))
}

fn dead_letter(topic: &str, r: &ConsumerRecord, e: &Error) -> ProducerRecord {
    let mut headers: Vec<(String, Vec<u8>)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.to_vec()))
        .collect();
    headers.push((DLQ_TOPIC_HEADER.into(), r.topic.as_bytes().to_vec()));
    headers.push((
        DLQ_PARTITION_HEADER.into(),
        r.partition.to_string().into_bytes(),
    ));
    headers.push((DLQ_OFFSET_HEADER.into(), r.offset.to_string().into_bytes()));
    headers.push((DLQ_ERROR_HEADER.into(), e.to_string().into_bytes()));
    ProducerRecord {
        topic: topic.to_string(),
        partition: None,
        key: r.key.as_ref().map(|k| k.to_vec()),
        value: r.value.as_ref().map(|v| v.to_vec()),
        headers,
        timestamp: Some(r.timestamp),
    }
}
