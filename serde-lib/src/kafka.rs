//! The Kafka transport (feature `kafka`): [`KafkaProducer`] over rdkafka's `FutureProducer`
//! and [`KafkaConsumer`] over its `BaseConsumer`, behind the same [`ProducerTransport`] /
//! [`ConsumerTransport`] traits as the bundled broker. The rdkafka configuration is passed
//! through untouched (`bootstrap.servers`, `group.id`, security settings, ...).
//!
//! Beyond the traits, the producer pipelines sends ([`KafkaPipeline`]: many records awaiting
//! acknowledgement, acknowledged in order), and the consumer assigns partitions from a chosen
//! start ([`StartAt`]), seeks, reports the positions of what it handed out and commits exact
//! offsets; with [`KafkaConsumer::commit_on_revoke`] it commits what it handed out when a
//! rebalance takes partitions away, as Kafka's consumers do, so the next owner goes on from
//! there. It must not know schemas: records are strata-broker's plain ones.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers as _, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use strata_broker::{ConsumerRecord, ProducerRecord, RecordMetadata, RecordRef};

use crate::transport::{ConsumerTransport, EncodedBatch, ProducerTransport};
use crate::{Error, Result};

fn kafka_error(context: &str, e: KafkaError) -> Error {
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

/// Records a pipeline lets wait for acknowledgement before it waits for the oldest one.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 10_000;

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

    /// A pipeline over this producer: records are enqueued without waiting for their
    /// acknowledgement, up to `max_in_flight` of them (at least one).
    pub fn pipeline<T>(&self, max_in_flight: usize) -> KafkaPipeline<T> {
        KafkaPipeline {
            producer: self.inner.clone(),
            in_flight: VecDeque::new(),
            max_in_flight: max_in_flight.max(1),
        }
    }
}

/// The rdkafka record for `record`, its bytes borrowed.
fn future_record<'a>(topic: &'a str, record: &RecordRef<'a>) -> FutureRecord<'a, [u8], [u8]> {
    let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
    for &(k, v) in record.headers {
        headers = headers.insert(Header {
            key: k,
            value: Some(v),
        });
    }
    let mut fr: FutureRecord<'a, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
    if let Some(k) = record.key {
        fr = fr.key(k);
    }
    if let Some(v) = record.value {
        fr = fr.payload(v);
    }
    if let Some(p) = record.partition {
        fr = fr.partition(p);
    }
    if let Some(ts) = record.timestamp {
        fr = fr.timestamp(ts);
    }
    fr
}

fn borrowed_headers(headers: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect()
}

/// What a pipeline's sends await: the record's tag (what the caller calls it: a line number,
/// an index) and librdkafka's acknowledgement.
struct Pending<T> {
    tag: T,
    topic: Arc<str>,
    delivery: DeliveryFuture,
}

/// A record a pipeline could not produce, with the caller's tag for it.
#[derive(Debug)]
pub struct Undelivered<T> {
    /// The tag given with the record.
    pub tag: T,
    /// Why it was not produced.
    pub error: Error,
}

impl<T> std::fmt::Display for Undelivered<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// Pipelined sends over a [`KafkaProducer`]: each [`send`](Self::send) enqueues a record in
/// librdkafka and returns at once unless too many await acknowledgement, in which case it
/// waits for the oldest; [`finish`](Self::finish) waits for the rest. Acknowledgements are
/// awaited in send order, and the first failure stops the pipeline with the failed record's
/// tag. One round trip per record would cap a producer at a few thousand records a second.
pub struct KafkaPipeline<T> {
    producer: FutureProducer,
    in_flight: VecDeque<Pending<T>>,
    max_in_flight: usize,
}

impl<T> KafkaPipeline<T> {
    /// Enqueue `record` for `topic` under `tag`; returns the metadata of the records whose
    /// acknowledgement this call waited for (oldest first; usually none).
    pub async fn send(
        &mut self,
        tag: T,
        topic: &str,
        record: RecordRef<'_>,
    ) -> std::result::Result<Vec<(T, RecordMetadata)>, Undelivered<T>> {
        let mut acknowledged = Vec::new();
        let mut fr = future_record(topic, &record);
        loop {
            match self.producer.send_result(fr) {
                Ok(delivery) => {
                    self.in_flight.push_back(Pending {
                        tag,
                        topic: Arc::from(topic),
                        delivery,
                    });
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    fr = back;
                    // Wait for room: the oldest acknowledgement, or a moment.
                    match self.in_flight.pop_front() {
                        Some(p) => acknowledged.push(delivered(p).await?),
                        None => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
                Err((e, _)) => {
                    return Err(Undelivered {
                        tag,
                        error: kafka_error(&format!("sending to topic '{topic}' failed"), e),
                    })
                }
            }
        }
        while self.in_flight.len() > self.max_in_flight {
            if let Some(p) = self.in_flight.pop_front() {
                acknowledged.push(delivered(p).await?);
            }
        }
        Ok(acknowledged)
    }

    /// How many records await acknowledgement.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Wait for every record sent; returns their metadata in send order.
    pub async fn finish(
        &mut self,
    ) -> std::result::Result<Vec<(T, RecordMetadata)>, Undelivered<T>> {
        let mut acknowledged = Vec::with_capacity(self.in_flight.len());
        while let Some(p) = self.in_flight.pop_front() {
            acknowledged.push(delivered(p).await?);
        }
        Ok(acknowledged)
    }
}

async fn delivered<T>(p: Pending<T>) -> std::result::Result<(T, RecordMetadata), Undelivered<T>> {
    let topic = p.topic;
    match p.delivery.await {
        Ok(Ok(d)) => Ok((
            p.tag,
            RecordMetadata {
                topic: topic.clone(),
                partition: d.partition,
                offset: d.offset,
                timestamp: d.timestamp.to_millis().unwrap_or(-1),
            },
        )),
        Ok(Err((e, _))) => Err(Undelivered {
            tag: p.tag,
            error: kafka_error(&format!("sending to topic '{topic}' failed"), e),
        }),
        Err(_) => Err(Undelivered {
            tag: p.tag,
            error: Error::Kafka(format!(
                "sending to topic '{topic}' failed: the Kafka producer shut down"
            )),
        }),
    }
}

/// Metadata in record order from a pipeline's acknowledgements.
fn in_order(acks: Vec<(usize, RecordMetadata)>, n: usize) -> Vec<RecordMetadata> {
    debug_assert_eq!(acks.len(), n);
    // Acknowledgements come back in send order, which is record order.
    acks.into_iter().map(|(_, m)| m).collect()
}

#[async_trait]
impl ProducerTransport for KafkaProducer {
    async fn send(&self, r: ProducerRecord) -> Result<RecordMetadata> {
        let headers = borrowed_headers(&r.headers);
        let record = RecordRef {
            partition: r.partition,
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            headers: &headers,
            timestamp: r.timestamp,
        };
        let delivery = self
            .inner
            .send(
                future_record(&r.topic, &record),
                Timeout::After(self.queue_timeout),
            )
            .await
            .map_err(|(e, _)| kafka_error(&format!("sending to topic '{}' failed", r.topic), e))?;
        Ok(RecordMetadata {
            topic: r.topic.as_str().into(),
            partition: delivery.partition,
            offset: delivery.offset,
            timestamp: delivery.timestamp.to_millis().unwrap_or(-1),
        })
    }

    /// Pipelined: every record is enqueued before the first acknowledgement is awaited.
    async fn send_batch(&self, records: Vec<ProducerRecord>) -> Result<Vec<RecordMetadata>> {
        let mut pipeline = self.pipeline(DEFAULT_MAX_IN_FLIGHT);
        let mut acks = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let headers = borrowed_headers(&r.headers);
            let record = RecordRef {
                partition: r.partition,
                key: r.key.as_deref(),
                value: r.value.as_deref(),
                headers: &headers,
                timestamp: r.timestamp,
            };
            acks.extend(
                pipeline
                    .send(i, &r.topic, record)
                    .await
                    .map_err(|u| u.error)?,
            );
        }
        acks.extend(pipeline.finish().await.map_err(|u| u.error)?);
        Ok(in_order(acks, records.len()))
    }

    /// Pipelined, the bytes handed to librdkafka straight from the batch's buffer.
    async fn send_encoded(&self, batch: &EncodedBatch<'_>) -> Result<Vec<RecordMetadata>> {
        let mut pipeline = self.pipeline(DEFAULT_MAX_IN_FLIGHT);
        let mut acks = Vec::with_capacity(batch.len());
        for (i, r) in batch.records().iter().enumerate() {
            let headers = borrowed_headers(&r.headers);
            let record = RecordRef {
                partition: r.partition,
                key: batch.key(i),
                value: batch.value(i),
                headers: &headers,
                timestamp: None,
            };
            acks.extend(
                pipeline
                    .send(i, r.topic, record)
                    .await
                    .map_err(|u| u.error)?,
            );
        }
        acks.extend(pipeline.finish().await.map_err(|u| u.error)?);
        Ok(in_order(acks, batch.len()))
    }

    async fn flush(&self) -> Result<()> {
        let p = self.inner.clone();
        tokio::task::spawn_blocking(move || p.flush(Timeout::After(Duration::from_secs(30))))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
            .map_err(|e| kafka_error("flushing the Kafka producer failed", e))
    }
}

/// A partition: (topic, partition).
pub type PartitionKey = (String, i32);

/// Where an assigned partition starts ([`KafkaConsumer::assign`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// This offset.
    Offset(i64),
    /// The first record.
    Beginning,
    /// The end: only new records.
    End,
    /// This many records before the end (the first record when there are fewer).
    FromEnd(i64),
    /// The first record at or after this time (ms since the epoch), else the end.
    Timestamp(i64),
    /// The group's committed offset, else `auto.offset.reset`.
    Committed,
}

/// The consumer's rdkafka context: what was handed out, and what a rebalance revoked.
struct Tracker {
    commit_on_revoke: bool,
    state: Mutex<Tracked>,
}

#[derive(Default)]
struct Tracked {
    /// Per partition, the offset after the last record handed out by `poll`.
    handed_out: HashMap<PartitionKey, i64>,
    /// Partitions revoked since the current poll began.
    revoked: HashSet<PartitionKey>,
}

impl ClientContext for Tracker {}

impl ConsumerContext for Tracker {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let mut state = self.state.lock();
        let mut commit = TopicPartitionList::new();
        for e in list.elements() {
            let key = (e.topic().to_string(), e.partition());
            if let Some(o) = state.handed_out.remove(&key) {
                if commit
                    .add_partition_offset(&key.0, key.1, Offset::Offset(o))
                    .is_err()
                {
                    tracing::warn!(topic = %key.0, partition = key.1, "cannot commit offset {o}");
                }
            }
            state.revoked.insert(key);
        }
        drop(state);
        if self.commit_on_revoke && commit.count() > 0 {
            // Everything handed out before this poll is the application's; the next owner
            // goes on after it.
            if let Err(e) = consumer.commit(&commit, CommitMode::Sync) {
                tracing::warn!(error = %e, "committing revoked partitions failed");
            }
        }
    }
}

/// A Kafka consumer transport.
#[derive(Clone)]
pub struct KafkaConsumer {
    inner: Arc<BaseConsumer<Tracker>>,
    max_records: usize,
}

/// Settings of a [`KafkaConsumer`] beyond rdkafka's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KafkaConsumerOptions {
    /// Records one poll returns at most.
    pub max_records: usize,
    /// Commit the positions of what was handed out when a rebalance revokes partitions (with
    /// `enable.auto.commit=false`; librdkafka's auto-commit already commits on revocation).
    pub commit_on_revoke: bool,
}

impl Default for KafkaConsumerOptions {
    fn default() -> Self {
        KafkaConsumerOptions {
            max_records: 500,
            commit_on_revoke: false,
        }
    }
}

impl KafkaConsumer {
    /// A consumer from rdkafka settings (`bootstrap.servers`, `group.id`, ...). One poll
    /// returns at most 500 records.
    pub fn new(
        settings: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Result<Self> {
        Self::with_options(settings, KafkaConsumerOptions::default())
    }

    /// A consumer from rdkafka settings and [`KafkaConsumerOptions`].
    pub fn with_options(
        settings: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
        options: KafkaConsumerOptions,
    ) -> Result<Self> {
        let tracker = Tracker {
            commit_on_revoke: options.commit_on_revoke,
            state: Mutex::new(Tracked::default()),
        };
        let inner: BaseConsumer<Tracker> = config_of(settings)
            .create_with_context(tracker)
            .map_err(|e| kafka_error("the Kafka consumer cannot be created", e))?;
        Ok(KafkaConsumer {
            inner: Arc::new(inner),
            max_records: options.max_records.max(1),
        })
    }

    /// Whether this consumer commits on revocation.
    pub fn commit_on_revoke(&self) -> bool {
        self.inner.context().commit_on_revoke
    }

    /// Join the group (`group.id`) as a member reading `topics`, without waiting (the
    /// assignment comes with the next polls); the same as [`ConsumerTransport::subscribe`].
    pub fn subscribe_to(&self, topics: &[&str]) -> Result<()> {
        self.inner
            .subscribe(topics)
            .map_err(|e| kafka_error("subscribing failed", e))
    }

    /// The partitions of `topic`, from the cluster's metadata (blocks up to `timeout`).
    pub fn partitions(&self, topic: &str, timeout: Duration) -> Result<Vec<i32>> {
        let md = self
            .inner
            .fetch_metadata(Some(topic), timeout)
            .map_err(|e| kafka_error(&format!("cannot read the metadata of '{topic}'"), e))?;
        let mut out = Vec::new();
        for t in md.topics() {
            if let Some(e) = t.error() {
                return Err(Error::Kafka(format!(
                    "cannot read the metadata of '{topic}': {}",
                    RDKafkaErrorCode::from(e)
                )));
            }
            out.extend(t.partitions().iter().map(|p| p.id()));
        }
        Ok(out)
    }

    /// Read `partitions` of `topic` from `start`, outside any group rebalancing (commits still
    /// go to `group.id`). Blocks up to `timeout` when the start is a timestamp.
    pub fn assign(
        &self,
        topic: &str,
        partitions: &[i32],
        start: StartAt,
        timeout: Duration,
    ) -> Result<()> {
        let mut list = TopicPartitionList::new();
        for p in partitions {
            let offset = match start {
                StartAt::Offset(o) => Offset::Offset(o),
                StartAt::FromEnd(n) => Offset::OffsetTail(n),
                StartAt::Beginning => Offset::Beginning,
                StartAt::End => Offset::End,
                // Looked up below: the timestamp goes where the offset will be.
                StartAt::Timestamp(ts) => Offset::Offset(ts),
                StartAt::Committed => Offset::Stored,
            };
            list.add_partition_offset(topic, *p, offset)
                .map_err(|e| kafka_error(&format!("cannot assign {topic}-{p}"), e))?;
        }
        if let StartAt::Timestamp(_) = start {
            list = self
                .inner
                .offsets_for_times(list, timeout)
                .map_err(|e| kafka_error("cannot find offsets for the timestamp", e))?;
            // No record at or after the time: the end, as the bundled broker does.
            let missing: Vec<(String, i32)> = list
                .elements()
                .iter()
                .filter(|e| !matches!(e.offset(), Offset::Offset(_)))
                .map(|e| (e.topic().to_string(), e.partition()))
                .collect();
            for (t, p) in missing {
                list.set_partition_offset(&t, p, Offset::End)
                    .map_err(|e| kafka_error(&format!("cannot assign {t}-{p}"), e))?;
            }
        }
        self.inner
            .assign(&list)
            .map_err(|e| kafka_error(&format!("cannot assign partitions of '{topic}'"), e))
    }

    /// Read `partition` of `topic` from `offset` next (the partition must be assigned).
    pub fn seek(&self, topic: &str, partition: i32, offset: i64, timeout: Duration) -> Result<()> {
        self.inner
            .seek(topic, partition, Offset::Offset(offset), timeout)
            .map_err(|e| kafka_error(&format!("cannot seek {topic}-{partition} to {offset}"), e))?;
        self.inner
            .context()
            .state
            .lock()
            .handed_out
            .insert((topic.to_string(), partition), offset);
        Ok(())
    }

    /// Per partition still held, the offset after the last record handed out (what a commit
    /// of everything read would commit). Partitions a rebalance took away are not in it.
    pub fn positions(&self) -> HashMap<PartitionKey, i64> {
        self.inner.context().state.lock().handed_out.clone()
    }

    /// Commit exactly `offsets` (per partition, the next offset to read) to the group; blocks
    /// until the group coordinator answers.
    ///
    /// When the group is rebalancing, this member must rejoin before it can commit: the
    /// partitions are paused (nothing more is fetched or handed out), the consumer is polled
    /// so that it takes part in the rebalance, and the commit is retried, for up to 30 s. A
    /// partition the rebalance takes away meanwhile gets its offset from the revocation
    /// commit (with [`commit_on_revoke`](Self::commit_on_revoke)), which takes `offsets` for it.
    pub fn commit_offsets<'a>(
        &self,
        offsets: impl IntoIterator<Item = (&'a PartitionKey, &'a i64)>,
    ) -> Result<()> {
        let mut wanted: HashMap<PartitionKey, i64> =
            offsets.into_iter().map(|(k, o)| (k.clone(), *o)).collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut paused: Option<TopicPartitionList> = None;
        let result = loop {
            let list = offset_list(&wanted)?;
            if list.count() == 0 {
                break Ok(());
            }
            match self.inner.commit(&list, CommitMode::Sync) {
                Err(KafkaError::ConsumerCommit(
                    RDKafkaErrorCode::RebalanceInProgress | RDKafkaErrorCode::IllegalGeneration,
                )) if std::time::Instant::now() < deadline => {
                    if paused.is_none() {
                        let assigned = self
                            .inner
                            .assignment()
                            .map_err(|e| kafka_error("cannot read the assignment", e))?;
                        self.inner
                            .pause(&assigned)
                            .map_err(|e| kafka_error("cannot pause the consumer", e))?;
                        paused = Some(assigned);
                    }
                    {
                        // What a revocation commits for these partitions is what was asked.
                        let mut state = self.inner.context().state.lock();
                        for (k, o) in &wanted {
                            if let Some(h) = state.handed_out.get_mut(k) {
                                *h = *o;
                            }
                        }
                    }
                    if let Some(Ok(m)) = self.inner.poll(Duration::from_millis(100)) {
                        // Fetched before the pause: not handed out, read again after.
                        tracing::debug!(
                            offset = rdkafka::Message::offset(&m),
                            "a record fetched before the pause"
                        );
                    }
                    let mut state = self.inner.context().state.lock();
                    for k in std::mem::take(&mut state.revoked) {
                        wanted.remove(&k);
                    }
                }
                other => break other.map_err(|e| kafka_error("committing offsets failed", e)),
            }
        };
        if let Some(list) = paused {
            // Partitions it still holds read on; resuming ones it lost is harmless.
            if let Err(e) = self.inner.resume(&list) {
                tracing::warn!(error = %e, "cannot resume the consumer");
            }
        }
        result
    }
}

fn offset_list(offsets: &HashMap<PartitionKey, i64>) -> Result<TopicPartitionList> {
    let mut list = TopicPartitionList::new();
    for ((t, p), o) in offsets {
        list.add_partition_offset(t, *p, Offset::Offset(*o))
            .map_err(|e| kafka_error(&format!("cannot commit offset {o} of {t}-{p}"), e))?;
    }
    Ok(list)
}

/// Errors a poll reports rather than leaving to librdkafka's retries.
fn fatal(e: &KafkaError) -> bool {
    matches!(
        e,
        KafkaError::MessageConsumption(
            RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::GroupAuthorizationFailed
        )
    )
}

#[async_trait]
impl ConsumerTransport for KafkaConsumer {
    async fn subscribe(&self, topics: &[String]) -> Result<()> {
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.subscribe_to(&refs)
    }

    /// Waits up to `timeout` for the first record, then takes what is ready. Records fetched
    /// in this poll from partitions a rebalance revoked meanwhile are dropped: their next
    /// owner reads them from the revoked position.
    async fn poll(&self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let consumer = self.inner.clone();
        let max = self.max_records;
        tokio::task::spawn_blocking(move || {
            let tracker = consumer.context();
            tracker.state.lock().revoked.clear();
            let mut out: Vec<ConsumerRecord> = Vec::new();
            let mut wait = timeout;
            while out.len() < max {
                let polled = consumer.poll(wait);
                {
                    let mut state = tracker.state.lock();
                    if !state.revoked.is_empty() {
                        let revoked = std::mem::take(&mut state.revoked);
                        out.retain(|r| !revoked.contains(&(r.topic.to_string(), r.partition)));
                    }
                }
                let m = match polled {
                    None => break,
                    Some(Ok(m)) => m,
                    Some(Err(e)) if fatal(&e) => {
                        return Err(kafka_error("receiving from Kafka failed", e))
                    }
                    // librdkafka retries the rest (a broker down, a transport failure).
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "Kafka reported an error; retrying");
                        if out.is_empty() {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        break;
                    }
                };
                wait = Duration::ZERO;
                out.push(consumer_record(&m));
            }
            let mut state = tracker.state.lock();
            for r in &out {
                state
                    .handed_out
                    .insert((r.topic.to_string(), r.partition), r.offset + 1);
            }
            Ok(out)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
    }

    /// Commits the positions of everything handed out.
    async fn commit(&self) -> Result<()> {
        let consumer = self.clone();
        tokio::task::spawn_blocking(move || {
            let positions = consumer.positions();
            consumer.commit_offsets(&positions)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
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
