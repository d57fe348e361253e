//! The Kafka transport (feature `kafka`): [`KafkaProducer`] over rdkafka's `FutureProducer`
//! and [`KafkaConsumer`] over its `StreamConsumer`, behind the same [`ProducerTransport`] /
//! [`ConsumerTransport`] traits as the bundled broker. The rdkafka configuration is passed
//! through untouched (`bootstrap.servers`, `group.id`, security settings, ...).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::{Header, Headers as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;
use strata_broker::{ConsumerRecord, ProducerRecord, RecordMetadata};

use crate::transport::{ConsumerTransport, ProducerTransport};
use crate::{Error, Result};

fn kafka_error(context: &str, e: rdkafka::error::KafkaError) -> Error {
    Error::Kafka(format!("{context}: {e}"))
}

fn config_of(
    pairs: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (k, v) in pairs {
        config.set(k, v);
    }
    config
}

/// A Kafka producer transport.
#[derive(Clone)]
pub struct KafkaProducer {
    inner: FutureProducer,
    queue_timeout: Duration,
}

impl KafkaProducer {
    /// A producer from rdkafka settings (`bootstrap.servers`, ...). Sends wait up to 30 s for
    /// room in the local queue.
    pub fn new(
        settings: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Result<Self> {
        let inner: FutureProducer = config_of(settings)
            .create()
            .map_err(|e| kafka_error("the Kafka producer cannot be created", e))?;
        Ok(KafkaProducer {
            inner,
            queue_timeout: Duration::from_secs(30),
        })
    }
}

#[async_trait]
impl ProducerTransport for KafkaProducer {
    async fn send(&self, r: ProducerRecord) -> Result<RecordMetadata> {
        let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
        for (k, v) in &r.headers {
            headers = headers.insert(Header {
                key: k,
                value: Some(v),
            });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&r.topic).headers(headers);
        if let Some(k) = &r.key {
            record = record.key(k.as_slice());
        }
        if let Some(v) = &r.value {
            record = record.payload(v.as_slice());
        }
        if let Some(p) = r.partition {
            record = record.partition(p);
        }
        if let Some(ts) = r.timestamp {
            record = record.timestamp(ts);
        }
        let delivery = self
            .inner
            .send(record, Timeout::After(self.queue_timeout))
            .await
            .map_err(|(e, _)| kafka_error(&format!("sending to topic '{}' failed", r.topic), e))?;
        Ok(RecordMetadata {
            topic: r.topic.into(),
            partition: delivery.partition,
            offset: delivery.offset,
            timestamp: delivery.timestamp.to_millis().unwrap_or(-1),
        })
    }

    async fn flush(&self) -> Result<()> {
        let p = self.inner.clone();
        tokio::task::spawn_blocking(move || p.flush(Timeout::After(Duration::from_secs(30))))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
            .map_err(|e| kafka_error("flushing the Kafka producer failed", e))
    }
}

/// A Kafka consumer transport.
#[derive(Clone)]
pub struct KafkaConsumer {
    inner: Arc<StreamConsumer>,
    max_records: usize,
}

impl KafkaConsumer {
    /// A consumer from rdkafka settings (`bootstrap.servers`, `group.id`, ...). One poll
    /// returns at most 500 records.
    pub fn new(
        settings: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Result<Self> {
        let inner: StreamConsumer = config_of(settings)
            .create()
            .map_err(|e| kafka_error("the Kafka consumer cannot be created", e))?;
        Ok(KafkaConsumer {
            inner: Arc::new(inner),
            max_records: 500,
        })
    }
}

#[async_trait]
impl ConsumerTransport for KafkaConsumer {
    async fn subscribe(&self, topics: &[String]) -> Result<()> {
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.inner
            .subscribe(&refs)
            .map_err(|e| kafka_error("subscribing failed", e))
    }

    async fn poll(&self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        while out.len() < self.max_records {
            // Wait for the first record up to the timeout; then take what is ready.
            let wait = if out.is_empty() {
                deadline.saturating_duration_since(tokio::time::Instant::now())
            } else {
                Duration::ZERO
            };
            let m = match tokio::time::timeout(wait, self.inner.recv()).await {
                Ok(Ok(m)) => m,
                Ok(Err(e)) => return Err(kafka_error("receiving from Kafka failed", e)),
                Err(_) => break,
            };
            out.push(consumer_record(&m));
        }
        Ok(out)
    }

    async fn commit(&self) -> Result<()> {
        self.inner
            .commit_consumer_state(CommitMode::Sync)
            .map_err(|e| kafka_error("committing offsets failed", e))
    }
}

/// A message read from Kafka as a [`ConsumerRecord`], the bundled broker's record type (key,
/// value and header values copied out of librdkafka's buffer; a null header value reads as
/// empty, as on the bundled broker).
pub fn consumer_record(m: &impl rdkafka::Message) -> ConsumerRecord {
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    (
                        h.key.to_string(),
                        Bytes::copy_from_slice(h.value.unwrap_or_default()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ConsumerRecord {
        topic: Arc::from(m.topic()),
        partition: m.partition(),
        offset: m.offset(),
        timestamp: m.timestamp().to_millis().unwrap_or(-1),
        key: m.key().map(Bytes::copy_from_slice),
        value: m.payload().map(Bytes::copy_from_slice),
        headers,
    }
}
