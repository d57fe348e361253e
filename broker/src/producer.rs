//! The producer: picks partitions, encodes batches and appends them with the durability its
//! `acks` asks for. `acks=0` records wait in a per-partition buffer flushed by size, by a
//! linger timer thread, by `flush` and on drop.
//!
//! Records are encoded straight from the caller's memory into a batch buffer kept between
//! sends (`send_ref` and `send_batch_ref` take borrowed records, so sending allocates nothing
//! per record); a batch is written with one `write` and its CRC computed once.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::Mutex;

use crate::batch::{BatchBuilder, Headers, HEADER_LEN};
use crate::broker::Broker;
use crate::config::{Acks, ProducerConfig, TopicConfig};
use crate::error::{Error, Result};
use crate::partition::Partition;
use crate::partitioner::{partition_for_key, Sticky};
use crate::record::{ProducerRecord, RecordMetadata, RecordPosition, RecordRef};
use crate::topic::Topic;

/// Sends records. Cheap to clone; clones share buffers and sticky partitions.
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<ProducerInner>,
}

#[derive(Debug)]
struct Pending {
    partition: Arc<Partition>,
    config: TopicConfig,
    batch: BatchBuilder,
    since: Instant,
}

#[derive(Debug)]
struct ProducerInner {
    broker: Broker,
    config: ProducerConfig,
    sticky: Sticky,
    /// `acks=0` batches being filled, by topic and partition (looked up by `&str`, so buffering a
    /// record allocates nothing once its topic has been seen).
    pending: Mutex<HashMap<String, HashMap<i32, Pending>>>,
    /// Batch buffers kept between sends, so that a send does not allocate one.
    spare: Mutex<Vec<BatchBuilder>>,
}

impl Drop for ProducerInner {
    fn drop(&mut self) {
        if let Err(e) = self.flush_pending(|_| true) {
            tracing::warn!(error = %e, "could not flush buffered acks=0 records on drop");
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl ProducerInner {
    fn flush_pending(&self, due: impl Fn(&Pending) -> bool) -> Result<()> {
        let ready: Vec<Pending> = {
            let mut pending = self.pending.lock();
            let mut ready = Vec::new();
            for parts in pending.values_mut() {
                let due_ids: Vec<i32> = parts
                    .iter()
                    .filter(|(_, p)| due(p))
                    .map(|(&id, _)| id)
                    .collect();
                ready.extend(due_ids.into_iter().filter_map(|id| parts.remove(&id)));
            }
            ready
        };
        let mut first_err = None;
        for mut p in ready {
            if let Err(e) = p.partition.append(&mut p.batch, &p.config, Acks::Leader) {
                first_err.get_or_insert(e);
            }
            self.give_back(p.batch);
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Initial capacity of a batch buffer; it grows up to the batch limit as needed.
const BATCH_CAPACITY: usize = 64 * 1024;
/// Batch buffers kept for reuse by a producer (one per partition a call writes to, mostly).
const SPARE_BATCHES: usize = 8;
/// A buffer grown past this (by a large batch) is freed rather than kept.
const SPARE_MAX_CAPACITY: usize = 256 * 1024;

impl ProducerInner {
    /// A batch buffer from the spares, or a new one.
    fn take_batch(&self) -> BatchBuilder {
        match self.spare.lock().pop() {
            Some(mut b) => {
                b.reset();
                b
            }
            None => BatchBuilder::with_capacity(BATCH_CAPACITY),
        }
    }

    /// Keeps a batch buffer for a later send.
    fn give_back(&self, batch: BatchBuilder) {
        let mut spare = self.spare.lock();
        if spare.len() < SPARE_BATCHES && batch.capacity() <= SPARE_MAX_CAPACITY {
            spare.push(batch);
        }
    }
}

/// A record as the producer's internals see it, whether owned or borrowed by the caller.
#[derive(Debug, Clone, Copy)]
struct View<'a> {
    partition: Option<i32>,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: Headers<'a>,
    timestamp: Option<i64>,
}

impl<'a> From<&'a ProducerRecord> for View<'a> {
    fn from(r: &'a ProducerRecord) -> Self {
        View {
            partition: r.partition,
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            headers: Headers::Owned(&r.headers),
            timestamp: r.timestamp,
        }
    }
}

impl<'a> From<RecordRef<'a>> for View<'a> {
    fn from(r: RecordRef<'a>) -> Self {
        View {
            partition: r.partition,
            key: r.key,
            value: r.value,
            headers: Headers::Borrowed(r.headers),
            timestamp: r.timestamp,
        }
    }
}

/// A batch being filled for one partition during a multi-record send.
struct Open {
    partition: Arc<Partition>,
    batch: BatchBuilder,
    /// Indexes (in the caller's order) of the records in `batch`.
    members: Vec<usize>,
}

impl Open {
    /// Writes the batch (if it holds records) and fills in the members' offsets.
    fn write(
        &mut self,
        config: &TopicConfig,
        mut ack: impl FnMut(usize, i64, Option<i64>),
    ) -> Result<()> {
        if self.members.is_empty() {
            return Ok(());
        }
        let (base, lat) = self
            .partition
            .append(&mut self.batch, config, Acks::Leader)?;
        for (i, &m) in self.members.iter().enumerate() {
            ack(m, base + i as i64, lat);
        }
        self.members.clear();
        self.batch.reset();
        Ok(())
    }
}

/// The limit on one batch for this producer and topic.
fn max_batch(config: &ProducerConfig, topic: &TopicConfig) -> usize {
    config.max_message_bytes.min(topic.max_message_bytes)
}

impl Producer {
    pub(crate) fn new(broker: Broker, config: ProducerConfig) -> Producer {
        let linger = config.linger;
        let acks0 = config.acks == Acks::None;
        let inner = Arc::new(ProducerInner {
            broker,
            config,
            sticky: Sticky::default(),
            pending: Mutex::new(HashMap::new()),
            spare: Mutex::new(Vec::new()),
        });
        if acks0 {
            let weak: Weak<ProducerInner> = Arc::downgrade(&inner);
            let tick = linger.max(std::time::Duration::from_millis(1));
            // The linger timer; it ends when the producer is dropped.
            let spawned = std::thread::Builder::new()
                .name("strata-producer-linger".into())
                .spawn(move || loop {
                    std::thread::sleep(tick);
                    let Some(inner) = weak.upgrade() else { return };
                    let linger = inner.config.linger;
                    if let Err(e) = inner.flush_pending(|p| p.since.elapsed() >= linger) {
                        tracing::warn!(error = %e, "could not write buffered acks=0 records");
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "no linger thread; acks=0 records wait for flush()");
            }
        }
        Producer { inner }
    }

    /// The producer's settings.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// How many partitions a topic has.
    pub fn partitions_for(&self, topic: &str) -> Result<u32> {
        Ok(self.inner.broker.topic(topic)?.partition_count())
    }

    #[inline]
    fn choose(&self, topic: &str, record: &View<'_>, partitions: u32, size: usize) -> Result<i32> {
        match (record.partition, record.key) {
            (Some(p), _) => {
                if p < 0 || p as u32 >= partitions {
                    return Err(Error::UnknownPartition {
                        topic: topic.to_owned(),
                        partition: p,
                        partitions,
                    });
                }
                Ok(p)
            }
            (None, Some(k)) => Ok(partition_for_key(k, partitions)),
            (None, None) => Ok(self.inner.sticky.partition(
                topic,
                partitions,
                size,
                self.inner.config.batch_size,
            )),
        }
    }

    #[inline]
    fn check(topic: &str, record: &View<'_>, config: &TopicConfig, max: usize) -> Result<usize> {
        if config.cleanup_policy.compacts() && record.key.is_none() {
            return Err(Error::InvalidRecord {
                topic: topic.to_owned(),
                reason: "a compacted topic only accepts records with a key",
            });
        }
        let size = HEADER_LEN + BatchBuilder::record_size(record.key, record.value, record.headers);
        if size > max {
            return Err(Error::RecordTooLarge {
                topic: topic.to_owned(),
                size,
                max,
            });
        }
        Ok(size)
    }

    /// Sends one record and returns where it went once `acks` is satisfied. With `acks=1` and
    /// `acks=all` this is one `write` per record; [`Producer::send_batch`] and
    /// [`Producer::send_batch_ref`] write one batch for many records.
    pub fn send(&self, record: ProducerRecord) -> Result<RecordMetadata> {
        let (topic, pos) = self.send_view(&record.topic, View::from(&record))?;
        Ok(pos.with_topic(topic))
    }

    /// Sends one record borrowed from the caller, as [`Producer::send`] does, without
    /// allocating for the record or its acknowledgement.
    pub fn send_ref(&self, topic: &str, record: RecordRef<'_>) -> Result<RecordPosition> {
        self.send_view(topic, View::from(record))
            .map(|(_, pos)| pos)
    }

    /// [`Producer::send_ref`] acknowledged with the full [`RecordMetadata`]; its topic is the
    /// broker's shared name, so this allocates nothing either.
    pub fn send_ref_metadata(&self, topic: &str, record: RecordRef<'_>) -> Result<RecordMetadata> {
        let (topic, pos) = self.send_view(topic, View::from(record))?;
        Ok(pos.with_topic(topic))
    }

    /// Sends a record; returns the topic's shared name with the position.
    fn send_view(&self, topic_name: &str, record: View<'_>) -> Result<(Arc<str>, RecordPosition)> {
        let topic = self.inner.broker.topic(topic_name)?;
        let name = topic.name.clone();
        let config = topic.config();
        let max = max_batch(&self.inner.config, &config);
        let size = Self::check(topic_name, &record, &config, max)?;
        let partition_id = self.choose(topic_name, &record, topic.partition_count(), size)?;
        let partition = topic.partition(partition_id)?;
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        if self.inner.config.acks == Acks::None {
            return self
                .buffer(topic_name, record, partition, config, timestamp, size, max)
                .map(|pos| (name, pos));
        }
        let mut batch = self.inner.take_batch();
        batch.push(timestamp, record.key, record.value, record.headers);
        let appended = partition.append(&mut batch, &config, self.inner.config.acks);
        self.inner.give_back(batch);
        let (offset, lat) = appended?;
        Ok((
            name,
            RecordPosition {
                partition: partition_id,
                offset,
                timestamp: lat.unwrap_or(timestamp),
            },
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn buffer(
        &self,
        topic: &str,
        record: View<'_>,
        partition: Arc<Partition>,
        config: TopicConfig,
        timestamp: i64,
        size: usize,
        max: usize,
    ) -> Result<RecordPosition> {
        let limit = self.inner.config.batch_size.clamp(size, max);
        let full = {
            let mut pending = self.inner.pending.lock();
            if !pending.contains_key(topic) {
                pending.insert(topic.to_owned(), HashMap::new());
            }
            let Some(parts) = pending.get_mut(topic) else {
                return Err(Error::Closed { what: "producer" });
            };
            let full = match parts.get(&partition.id) {
                Some(p) if p.batch.len() + size - HEADER_LEN > limit => parts.remove(&partition.id),
                _ => None,
            };
            let entry = parts.entry(partition.id).or_insert_with(|| Pending {
                partition: partition.clone(),
                config,
                batch: self.inner.take_batch(),
                since: Instant::now(),
            });
            entry
                .batch
                .push(timestamp, record.key, record.value, record.headers);
            full
        };
        if let Some(mut p) = full {
            let appended = p.partition.append(&mut p.batch, &p.config, Acks::Leader);
            self.inner.give_back(p.batch);
            appended?;
        }
        Ok(RecordPosition {
            partition: partition.id,
            offset: -1,
            timestamp,
        })
    }

    /// Sends many records, writing one batch per partition (split at the batch limit), as the
    /// Java client's accumulator would. Metadata come back in the order of `records`. With
    /// `acks=all` every partition is fsynced once, at the end.
    pub fn send_batch(&self, records: Vec<ProducerRecord>) -> Result<Vec<RecordMetadata>> {
        if self.inner.config.acks == Acks::None {
            return records.into_iter().map(|r| self.send(r)).collect();
        }
        struct Slot {
            name: String,
            topic: Arc<Topic>,
            config: TopicConfig,
            max: usize,
            parts: Vec<Option<Open>>,
        }
        let mut out: Vec<RecordMetadata> = Vec::with_capacity(records.len());
        let mut slots: Vec<Slot> = Vec::new();
        let now = now_ms();
        let mut last = usize::MAX;
        let result = (|| {
            for (i, record) in records.into_iter().enumerate() {
                // Batches usually hold one topic: check the last one before searching.
                let si = if slots.get(last).is_some_and(|s| s.name == record.topic) {
                    last
                } else if let Some(si) = slots.iter().position(|s| s.name == record.topic) {
                    si
                } else {
                    let topic = self.inner.broker.topic(&record.topic)?;
                    let config = topic.config();
                    slots.push(Slot {
                        name: record.topic.clone(),
                        max: max_batch(&self.inner.config, &config),
                        parts: Vec::new(),
                        topic,
                        config,
                    });
                    slots.len() - 1
                };
                last = si;
                let slot = &mut slots[si];
                let view = View::from(&record);
                let size = Self::check(&record.topic, &view, &slot.config, slot.max)?;
                let pid = self.choose(&record.topic, &view, slot.topic.partition_count(), size)?;
                let o = self.open(&slot.topic, &mut slot.parts, pid)?;
                if !o.members.is_empty() && o.batch.len() + size - HEADER_LEN > slot.max {
                    o.write(&slot.config, |m, offset, lat| {
                        out[m].offset = offset;
                        if let Some(t) = lat {
                            out[m].timestamp = t;
                        }
                    })?;
                }
                let timestamp = record.timestamp.unwrap_or(now);
                o.batch.push(timestamp, view.key, view.value, view.headers);
                o.members.push(i);
                out.push(RecordMetadata {
                    topic: slot.topic.name.clone(),
                    partition: pid,
                    offset: -1,
                    timestamp,
                });
            }
            for slot in &mut slots {
                for o in slot.parts.iter_mut().flatten() {
                    o.write(&slot.config, |m, offset, lat| {
                        out[m].offset = offset;
                        if let Some(t) = lat {
                            out[m].timestamp = t;
                        }
                    })?;
                }
            }
            if self.inner.config.acks == Acks::All {
                for o in slots.iter().flat_map(|s| s.parts.iter().flatten()) {
                    o.partition.sync_all()?;
                }
            }
            Ok::<(), Error>(())
        })();
        for o in slots.into_iter().flat_map(|s| s.parts).flatten() {
            self.inner.give_back(o.batch);
        }
        result.map(|()| out)
    }

    /// Sends many records of one topic borrowed from the caller, writing one batch per
    /// partition (split at the batch limit) as [`Producer::send_batch`] does, without allocating
    /// per record: records are encoded straight into a reused batch buffer and each partition's
    /// batch is written with one `write` (its CRC computed once). Positions come back in the
    /// order of `records`, once the batches satisfy `acks` (with `acks=1`, written to the
    /// operating system; with `acks=all`, fsynced, once per partition at the end).
    pub fn send_batch_ref<'a>(
        &self,
        topic: &str,
        records: impl IntoIterator<Item = RecordRef<'a>>,
    ) -> Result<Vec<RecordPosition>> {
        let records = records.into_iter();
        if self.inner.config.acks == Acks::None {
            return records.map(|r| self.send_ref(topic, r)).collect();
        }
        let t = self.inner.broker.topic(topic)?;
        let config = t.config();
        let max = max_batch(&self.inner.config, &config);
        let partitions = t.partition_count();
        let now = now_ms();
        let mut out: Vec<RecordPosition> = Vec::with_capacity(records.size_hint().0);
        let mut parts: Vec<Option<Open>> = Vec::new();
        let result = (|| {
            for (i, record) in records.enumerate() {
                let view = View::from(record);
                let size = Self::check(topic, &view, &config, max)?;
                let pid = self.choose(topic, &view, partitions, size)?;
                let o = self.open(&t, &mut parts, pid)?;
                if !o.members.is_empty() && o.batch.len() + size - HEADER_LEN > max {
                    o.write(&config, |m, offset, lat| {
                        out[m].offset = offset;
                        if let Some(t) = lat {
                            out[m].timestamp = t;
                        }
                    })?;
                }
                let timestamp = view.timestamp.unwrap_or(now);
                o.batch.push(timestamp, view.key, view.value, view.headers);
                o.members.push(i);
                out.push(RecordPosition {
                    partition: pid,
                    offset: -1,
                    timestamp,
                });
            }
            for o in parts.iter_mut().flatten() {
                o.write(&config, |m, offset, lat| {
                    out[m].offset = offset;
                    if let Some(t) = lat {
                        out[m].timestamp = t;
                    }
                })?;
            }
            if self.inner.config.acks == Acks::All {
                for o in parts.iter().flatten() {
                    o.partition.sync_all()?;
                }
            }
            Ok::<(), Error>(())
        })();
        for o in parts.into_iter().flatten() {
            self.inner.give_back(o.batch);
        }
        result.map(|()| out)
    }

    /// The open batch of partition `pid` in `parts`, opened on first use.
    #[inline]
    fn open<'p>(
        &self,
        topic: &Topic,
        parts: &'p mut Vec<Option<Open>>,
        pid: i32,
    ) -> Result<&'p mut Open> {
        let idx = pid as usize;
        if parts.len() <= idx {
            parts.resize_with(idx + 1, || None);
        }
        let slot = &mut parts[idx];
        if slot.is_none() {
            *slot = Some(Open {
                partition: topic.partition(pid)?,
                batch: self.inner.take_batch(),
                members: Vec::new(),
            });
        }
        match slot {
            Some(o) => Ok(o),
            None => Err(Error::Closed { what: "producer" }),
        }
    }

    /// Writes every buffered `acks=0` record now.
    pub fn flush(&self) -> Result<()> {
        self.inner.flush_pending(|_| true)
    }
}
