//! The producer: picks partitions, encodes batches and appends them with the durability its
//! `acks` asks for. `acks=0` records wait in a per-partition buffer flushed by size, by a
//! linger timer thread, by `flush` and on drop.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::Mutex;

use crate::batch::{BatchBuilder, HEADER_LEN};
use crate::broker::Broker;
use crate::config::{Acks, ProducerConfig, TopicConfig};
use crate::error::{Error, Result};
use crate::partition::Partition;
use crate::partitioner::{partition_for_key, Sticky};
use crate::record::{ProducerRecord, RecordMetadata};

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
    pending: Mutex<HashMap<(String, i32), Pending>>,
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
            let keys: Vec<_> = pending
                .iter()
                .filter(|(_, p)| due(p))
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .filter_map(|k| pending.remove(&k))
                .collect()
        };
        let mut first_err = None;
        for mut p in ready {
            if let Err(e) = p.partition.append(&mut p.batch, &p.config, Acks::Leader) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Initial capacity of a batch buffer; it grows up to the batch limit as needed.
const BATCH_CAPACITY: usize = 64 * 1024;

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

    fn choose(&self, record: &ProducerRecord, topic_partitions: u32, size: usize) -> Result<i32> {
        match (record.partition, &record.key) {
            (Some(p), _) => {
                if p < 0 || p as u32 >= topic_partitions {
                    return Err(Error::UnknownPartition {
                        topic: record.topic.clone(),
                        partition: p,
                        partitions: topic_partitions,
                    });
                }
                Ok(p)
            }
            (None, Some(k)) => Ok(partition_for_key(k, topic_partitions)),
            (None, None) => Ok(self.inner.sticky.partition(
                &record.topic,
                topic_partitions,
                size,
                self.inner.config.batch_size,
            )),
        }
    }

    fn check(record: &ProducerRecord, config: &TopicConfig, max: usize) -> Result<usize> {
        if config.cleanup_policy.compacts() && record.key.is_none() {
            return Err(Error::InvalidRecord {
                topic: record.topic.clone(),
                reason: "a compacted topic only accepts records with a key",
            });
        }
        let size = HEADER_LEN
            + BatchBuilder::record_size(
                record.key.as_deref(),
                record.value.as_deref(),
                &record.headers,
            );
        if size > max {
            return Err(Error::RecordTooLarge {
                topic: record.topic.clone(),
                size,
                max,
            });
        }
        Ok(size)
    }

    /// Sends one record and returns where it went once `acks` is satisfied.
    pub fn send(&self, record: ProducerRecord) -> Result<RecordMetadata> {
        let topic = self.inner.broker.topic(&record.topic)?;
        let config = topic.config();
        let max = max_batch(&self.inner.config, &config);
        let size = Self::check(&record, &config, max)?;
        let partition_id = self.choose(&record, topic.partition_count(), size)?;
        let partition = topic.partition(partition_id)?;
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        if self.inner.config.acks == Acks::None {
            return self.buffer(record, partition, config, timestamp, size, max);
        }
        let mut batch = BatchBuilder::with_capacity(size);
        batch.push(
            timestamp,
            record.key.as_deref(),
            record.value.as_deref(),
            &record.headers,
        );
        let (offset, lat) = partition.append(&mut batch, &config, self.inner.config.acks)?;
        Ok(RecordMetadata {
            topic: record.topic,
            partition: partition_id,
            offset,
            timestamp: lat.unwrap_or(timestamp),
        })
    }

    fn buffer(
        &self,
        record: ProducerRecord,
        partition: Arc<Partition>,
        config: TopicConfig,
        timestamp: i64,
        size: usize,
        max: usize,
    ) -> Result<RecordMetadata> {
        let limit = self.inner.config.batch_size.clamp(size, max);
        let key = (record.topic.clone(), partition.id);
        let full = {
            let mut pending = self.inner.pending.lock();
            let full = match pending.get(&key) {
                Some(p) if p.batch.len() + size - HEADER_LEN > limit => pending.remove(&key),
                _ => None,
            };
            let entry = pending.entry(key).or_insert_with(|| Pending {
                partition: partition.clone(),
                config,
                batch: BatchBuilder::with_capacity(limit),
                since: Instant::now(),
            });
            entry.batch.push(
                timestamp,
                record.key.as_deref(),
                record.value.as_deref(),
                &record.headers,
            );
            full
        };
        if let Some(mut p) = full {
            p.partition.append(&mut p.batch, &p.config, Acks::Leader)?;
        }
        Ok(RecordMetadata {
            topic: record.topic,
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
        struct Open {
            partition: Arc<Partition>,
            batch: BatchBuilder,
            members: Vec<usize>,
        }
        struct Slot {
            name: String,
            topic: Arc<crate::topic::Topic>,
            config: TopicConfig,
            max: usize,
            parts: Vec<Option<Open>>,
        }
        let mut out: Vec<RecordMetadata> = Vec::with_capacity(records.len());
        let mut slots: Vec<Slot> = Vec::new();
        let now = now_ms();
        let write = |o: &mut Open, config: &TopicConfig, out: &mut [RecordMetadata]| {
            if o.members.is_empty() {
                return Ok(());
            }
            let (base, lat) = o.partition.append(&mut o.batch, config, Acks::Leader)?;
            for (i, &m) in o.members.iter().enumerate() {
                out[m].offset = base + i as i64;
                if let Some(t) = lat {
                    out[m].timestamp = t;
                }
            }
            o.members.clear();
            o.batch.reset();
            Ok::<(), Error>(())
        };
        let mut last = usize::MAX;
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
            let size = Self::check(&record, &slot.config, slot.max)?;
            let pid = self.choose(&record, slot.topic.partition_count(), size)?;
            let idx = pid as usize;
            if slot.parts.len() <= idx {
                slot.parts.resize_with(idx + 1, || None);
            }
            if slot.parts[idx].is_none() {
                slot.parts[idx] = Some(Open {
                    partition: slot.topic.partition(pid)?,
                    batch: BatchBuilder::with_capacity(slot.max.min(BATCH_CAPACITY)),
                    members: Vec::new(),
                });
            }
            let (config, max) = (&slot.config, slot.max);
            let Some(o) = slot.parts[idx].as_mut() else {
                continue;
            };
            if !o.members.is_empty() && o.batch.len() + size - HEADER_LEN > max {
                write(o, config, &mut out)?;
            }
            let timestamp = record.timestamp.unwrap_or(now);
            o.batch.push(
                timestamp,
                record.key.as_deref(),
                record.value.as_deref(),
                &record.headers,
            );
            o.members.push(i);
            out.push(RecordMetadata {
                topic: record.topic,
                partition: pid,
                offset: -1,
                timestamp,
            });
        }
        for slot in &mut slots {
            for o in slot.parts.iter_mut().flatten() {
                write(o, &slot.config, &mut out)?;
            }
        }
        if self.inner.config.acks == Acks::All {
            for o in slots.iter().flat_map(|s| s.parts.iter().flatten()) {
                o.partition.sync_all()?;
            }
        }
        Ok(out)
    }

    /// Writes every buffered `acks=0` record now.
    pub fn flush(&self) -> Result<()> {
        self.inner.flush_pending(|_| true)
    }
}
