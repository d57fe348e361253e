//! Where framed records go and come from: the [`ProducerTransport`] and [`ConsumerTransport`]
//! traits, and their implementation over the bundled broker (strata-broker, which blocks, so
//! every call runs on tokio's blocking pool). Records are strata-broker's plain
//! [`ProducerRecord`]/[`ConsumerRecord`], which know nothing of schemas.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use strata_broker::{ConsumerRecord, ProducerRecord, RecordMetadata, RecordRef};

use crate::{Error, Result};

/// Sends framed records.
#[async_trait]
pub trait ProducerTransport: Send + Sync {
    /// Send one record and wait for its acknowledgement.
    async fn send(&self, record: ProducerRecord) -> Result<RecordMetadata>;
    /// Send records in order and wait for all acknowledgements.
    async fn send_batch(&self, records: Vec<ProducerRecord>) -> Result<Vec<RecordMetadata>> {
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            out.push(self.send(r).await?);
        }
        Ok(out)
    }
    /// Wait until buffered records are written.
    async fn flush(&self) -> Result<()>;
}

/// Receives framed records.
#[async_trait]
pub trait ConsumerTransport: Send + Sync {
    /// Subscribe to `topics`.
    async fn subscribe(&self, topics: &[String]) -> Result<()>;
    /// Records available within `timeout` (possibly none).
    async fn poll(&self, timeout: Duration) -> Result<Vec<ConsumerRecord>>;
    /// Commit the positions of everything polled so far.
    async fn commit(&self) -> Result<()>;
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> strata_broker::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task(e.to_string()))?
        .map_err(Error::from)
}

/// Whether a short blocking broker call (a send) runs in place: on a multi-threaded runtime
/// (the worker hands its other tasks off; no thread hop, which costs more than an `acks=1`
/// append). Otherwise it goes to the blocking pool. Long calls (a consumer's poll) always use
/// [`blocking`].
fn in_place() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// The bundled broker's producer as a transport.
#[derive(Debug, Clone)]
pub struct BundledProducer(pub strata_broker::Producer);

#[async_trait]
impl ProducerTransport for BundledProducer {
    async fn send(&self, record: ProducerRecord) -> Result<RecordMetadata> {
        if in_place() {
            // In place the producer is borrowed: no handle clone per record.
            return tokio::task::block_in_place(|| self.0.send(record)).map_err(Error::from);
        }
        let p = self.0.clone();
        blocking(move || p.send(record)).await
    }

    async fn send_batch(&self, records: Vec<ProducerRecord>) -> Result<Vec<RecordMetadata>> {
        if in_place() {
            return tokio::task::block_in_place(|| send_batch_borrowed(&self.0, records))
                .map_err(Error::from);
        }
        let p = self.0.clone();
        blocking(move || send_batch_borrowed(&p, records)).await
    }

    async fn flush(&self) -> Result<()> {
        let p = self.0.clone();
        blocking(move || p.flush()).await
    }
}

/// `records` through the broker's borrowed batch path (`send_batch_ref`, one call per run of
/// records to one topic): keys, values and headers are encoded straight from the records, and
/// each record's topic moves into its metadata, so nothing is allocated per record but header
/// lists. Metadata come back in the order of `records`.
fn send_batch_borrowed(
    producer: &strata_broker::Producer,
    records: Vec<ProducerRecord>,
) -> strata_broker::Result<Vec<RecordMetadata>> {
    let headers: Vec<Vec<(&str, &[u8])>> = records
        .iter()
        .map(|r| {
            r.headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice()))
                .collect()
        })
        .collect();
    let mut positions = Vec::with_capacity(records.len());
    let mut start = 0;
    while start < records.len() {
        let topic = &records[start].topic;
        let end = start
            + records[start..]
                .iter()
                .take_while(|r| &r.topic == topic)
                .count();
        positions.extend(
            producer.send_batch_ref(
                topic,
                records[start..end]
                    .iter()
                    .zip(&headers[start..end])
                    .map(|(r, h)| RecordRef {
                        partition: r.partition,
                        key: r.key.as_deref(),
                        value: r.value.as_deref(),
                        headers: h,
                        timestamp: r.timestamp,
                    }),
            )?,
        );
        start = end;
    }
    drop(headers);
    Ok(records
        .into_iter()
        .zip(positions)
        .map(|(r, p)| RecordMetadata {
            topic: r.topic,
            partition: p.partition,
            offset: p.offset,
            timestamp: p.timestamp,
        })
        .collect())
}

/// The bundled broker's consumer as a transport.
#[derive(Debug, Clone)]
pub struct BundledConsumer(pub strata_broker::Consumer);

#[async_trait]
impl ConsumerTransport for BundledConsumer {
    async fn subscribe(&self, topics: &[String]) -> Result<()> {
        let c = self.0.clone();
        let topics = topics.to_vec();
        blocking(move || {
            let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
            c.subscribe(&refs)
        })
        .await
    }

    async fn poll(&self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let c = self.0.clone();
        blocking(move || c.poll(timeout)).await
    }

    async fn commit(&self) -> Result<()> {
        let c = self.0.clone();
        blocking(move || c.commit()).await
    }
}

/// Shared handles are transports too.
#[async_trait]
impl<T: ProducerTransport + ?Sized> ProducerTransport for Arc<T> {
    async fn send(&self, record: ProducerRecord) -> Result<RecordMetadata> {
        (**self).send(record).await
    }
    async fn send_batch(&self, records: Vec<ProducerRecord>) -> Result<Vec<RecordMetadata>> {
        (**self).send_batch(records).await
    }
    async fn flush(&self) -> Result<()> {
        (**self).flush().await
    }
}
