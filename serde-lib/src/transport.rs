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
    /// Whether [`send_ref_now`](Self::send_ref_now) sends here and now (checked before a record
    /// is encoded for it).
    fn can_send_now(&self) -> bool {
        false
    }
    /// Send one record borrowed from the caller and wait for its acknowledgement without
    /// yielding to the runtime: the warm path of [`Producer::send`](crate::Producer::send),
    /// which then copies nothing into an owned record. Only called when
    /// [`can_send_now`](Self::can_send_now) says so; `None` means: use [`send`](Self::send).
    fn send_ref_now(&self, topic: &str, record: RecordRef<'_>) -> Option<Result<RecordMetadata>> {
        let _ = (topic, record);
        None
    }
    /// Send an encoded batch in order and wait for all acknowledgements. The default copies
    /// the records out into [`ProducerRecord`]s for [`send_batch`](Self::send_batch);
    /// transports that can write borrowed bytes override it.
    async fn send_encoded(&self, batch: &EncodedBatch<'_>) -> Result<Vec<RecordMetadata>> {
        self.send_batch(batch.to_producer_records()).await
    }
    /// Wait until buffered records are written.
    async fn flush(&self) -> Result<()>;
}

/// Framed records encoded back to back into one buffer: what the
/// [`Producer`](crate::Producer)'s `send_all` hands to its transport, so a batch costs no
/// allocation per record.
#[derive(Debug, Default)]
pub struct EncodedBatch<'a> {
    data: Vec<u8>,
    records: Vec<EncodedRecord<'a>>,
}

/// One record of an [`EncodedBatch`]: where its key and value lie in the batch's buffer.
#[derive(Debug)]
pub struct EncodedRecord<'a> {
    /// The topic.
    pub topic: &'a str,
    /// An explicit partition.
    pub partition: Option<i32>,
    key: Option<(usize, usize)>,
    value: Option<(usize, usize)>,
    /// The headers (the caller's, then schema-id headers).
    pub headers: Vec<(String, Vec<u8>)>,
}

impl<'a> EncodedBatch<'a> {
    /// An empty batch with room for `records` records of about `bytes` bytes in all.
    pub fn with_capacity(records: usize, bytes: usize) -> Self {
        EncodedBatch {
            data: Vec::with_capacity(bytes),
            records: Vec::with_capacity(records),
        }
    }

    /// Add a record without key or value bytes yet; returns its index.
    pub fn push(
        &mut self,
        topic: &'a str,
        partition: Option<i32>,
        headers: Vec<(String, Vec<u8>)>,
    ) -> usize {
        self.records.push(EncodedRecord {
            topic,
            partition,
            key: None,
            value: None,
            headers,
        });
        self.records.len() - 1
    }

    /// The buffer the records' bytes are appended to; with [`set_key`](Self::set_key) and
    /// [`set_value`](Self::set_value) a record takes a range of it.
    pub fn data_mut(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// Record `i`'s key is `data[start..end]`.
    pub fn set_key(&mut self, i: usize, start: usize, end: usize) {
        self.records[i].key = Some((start, end));
    }

    /// Record `i`'s value is `data[start..end]`.
    pub fn set_value(&mut self, i: usize, start: usize, end: usize) {
        self.records[i].value = Some((start, end));
    }

    /// Append a header to record `i`.
    pub fn push_header(&mut self, i: usize, name: &str, value: &[u8]) {
        self.records[i]
            .headers
            .push((name.to_string(), value.to_vec()));
    }

    /// The records.
    pub fn records(&self) -> &[EncodedRecord<'a>] {
        &self.records
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Record `i`'s key bytes.
    pub fn key(&self, i: usize) -> Option<&[u8]> {
        self.records[i].key.map(|(s, e)| &self.data[s..e])
    }

    /// Record `i`'s value bytes (`None`: a tombstone).
    pub fn value(&self, i: usize) -> Option<&[u8]> {
        self.records[i].value.map(|(s, e)| &self.data[s..e])
    }

    /// The records as owned [`ProducerRecord`]s.
    pub fn to_producer_records(&self) -> Vec<ProducerRecord> {
        (0..self.records.len())
            .map(|i| {
                let r = &self.records[i];
                ProducerRecord {
                    topic: r.topic.to_string(),
                    partition: r.partition,
                    key: self.key(i).map(<[u8]>::to_vec),
                    value: self.value(i).map(<[u8]>::to_vec),
                    headers: r.headers.clone(),
                    timestamp: None,
                }
            })
            .collect()
    }
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

    fn can_send_now(&self) -> bool {
        in_place()
    }

    fn send_ref_now(&self, topic: &str, record: RecordRef<'_>) -> Option<Result<RecordMetadata>> {
        if !in_place() {
            return None;
        }
        Some(
            tokio::task::block_in_place(|| self.0.send_ref_metadata(topic, record))
                .map_err(Error::from),
        )
    }

    async fn send_encoded(&self, batch: &EncodedBatch<'_>) -> Result<Vec<RecordMetadata>> {
        if in_place() {
            return tokio::task::block_in_place(|| send_encoded_borrowed(&self.0, batch))
                .map_err(Error::from);
        }
        // The blocking pool needs owned records.
        self.send_batch(batch.to_producer_records()).await
    }

    async fn flush(&self) -> Result<()> {
        let p = self.0.clone();
        blocking(move || p.flush()).await
    }
}

/// An encoded batch through the broker's borrowed batch path, its bytes written straight from
/// the batch's buffer.
fn send_encoded_borrowed(
    producer: &strata_broker::Producer,
    batch: &EncodedBatch<'_>,
) -> strata_broker::Result<Vec<RecordMetadata>> {
    let records = batch.records();
    let headers = header_refs(records.iter().map(|r| &r.headers));
    send_runs(
        producer,
        records.len(),
        |i| records[i].topic,
        |i| RecordRef {
            partition: records[i].partition,
            key: batch.key(i),
            value: batch.value(i),
            headers: headers.get(i).map_or(&[], Vec::as_slice),
            timestamp: None,
        },
    )
}

/// Owned `records` through the broker's borrowed batch path: keys, values and headers are
/// encoded straight from the records.
fn send_batch_borrowed(
    producer: &strata_broker::Producer,
    records: Vec<ProducerRecord>,
) -> strata_broker::Result<Vec<RecordMetadata>> {
    let headers = header_refs(records.iter().map(|r| &r.headers));
    send_runs(
        producer,
        records.len(),
        |i| records[i].topic.as_str(),
        |i| {
            let r = &records[i];
            RecordRef {
                partition: r.partition,
                key: r.key.as_deref(),
                value: r.value.as_deref(),
                headers: headers.get(i).map_or(&[], Vec::as_slice),
                timestamp: r.timestamp,
            }
        },
    )
}

/// Borrowed header lists, one per record; empty (no allocation) when no record has headers.
fn header_refs<'a>(
    lists: impl Iterator<Item = &'a Vec<(String, Vec<u8>)>> + Clone,
) -> Vec<Vec<(&'a str, &'a [u8])>> {
    if lists.clone().all(Vec::is_empty) {
        return Vec::new();
    }
    lists
        .map(|h| h.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect())
        .collect()
}

/// Records `0..n` through `send_batch_ref`, one call per run of records to one topic, with
/// their metadata in order (the topic's name allocated once per run, shared by its records).
fn send_runs<'a>(
    producer: &strata_broker::Producer,
    n: usize,
    topic: impl Fn(usize) -> &'a str,
    record: impl Fn(usize) -> RecordRef<'a>,
) -> strata_broker::Result<Vec<RecordMetadata>> {
    let mut out = Vec::with_capacity(n);
    for run in topic_runs(n, &topic) {
        let name = topic(run.start);
        let positions = producer.send_batch_ref(name, run.map(&record))?;
        let shared: Arc<str> = Arc::from(name);
        out.extend(positions.into_iter().map(|p| p.with_topic(shared.clone())));
    }
    Ok(out)
}

/// The runs of consecutive indexes in `0..n` with the same `topic`, in order.
pub(crate) fn topic_runs<'a>(
    n: usize,
    topic: impl Fn(usize) -> &'a str,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    let mut start = 0;
    std::iter::from_fn(move || {
        (start < n).then(|| {
            let name = topic(start);
            let end = (start + 1..n).find(|&i| topic(i) != name).unwrap_or(n);
            let run = start..end;
            start = end;
            run
        })
    })
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
    fn can_send_now(&self) -> bool {
        (**self).can_send_now()
    }
    fn send_ref_now(&self, topic: &str, record: RecordRef<'_>) -> Option<Result<RecordMetadata>> {
        (**self).send_ref_now(topic, record)
    }
    async fn send_encoded(&self, batch: &EncodedBatch<'_>) -> Result<Vec<RecordMetadata>> {
        (**self).send_encoded(batch).await
    }
    async fn flush(&self) -> Result<()> {
        (**self).flush().await
    }
}
