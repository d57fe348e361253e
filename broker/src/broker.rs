//! The broker handle: opens a log directory, keeps this process's view of its topics, and
//! answers the admin calls. Producers and consumers are made from it.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use parking_lot::RwLock;

use crate::cleaner::{self, CleanerStats};
use crate::config::{BrokerConfig, ConsumerConfig, ProducerConfig, TopicConfig};
use crate::consumer::Consumer;
use crate::durable::sync_dir;
use crate::error::{Error, IoContext, Result};
use crate::group::{self, GroupDescription};
use crate::partition::{Leases, Notifier, Partition, LEASE_IDLE};
use crate::producer::Producer;
use crate::repair::{self, PartitionCheck, RepairMode, RepairReport};
use crate::topic::{self, Topic, TopicMeta};

/// An embedded broker over one log directory. Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct Broker {
    pub(crate) inner: Arc<BrokerInner>,
}

#[derive(Debug)]
pub(crate) struct BrokerInner {
    pub dir: PathBuf,
    pub config: BrokerConfig,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    pub notifier: Arc<Notifier>,
    pub leases: Arc<Leases>,
    /// Dropping this stops the background cleaner.
    _stop_cleaner: Option<mpsc::Sender<()>>,
}

/// A topic as `describe_topic` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// The topic.
    pub name: String,
    /// Its configuration.
    pub config: TopicConfig,
    /// Its partitions, in order.
    pub partitions: Vec<PartitionDescription>,
}

/// One partition as `describe_topic` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    /// The partition.
    pub partition: i32,
    /// The first offset still in the log.
    pub log_start_offset: i64,
    /// The offset the next record will get.
    pub log_end_offset: i64,
    /// Bytes on disk.
    pub size_bytes: u64,
    /// Number of segment files.
    pub segments: usize,
}

impl Broker {
    /// Opens an existing log directory with default settings.
    pub fn open(dir: impl AsRef<Path>) -> Result<Broker> {
        Broker::open_with(dir, BrokerConfig::default())
    }

    /// Opens a log directory, creating it if it is missing.
    pub fn open_or_create(dir: impl AsRef<Path>) -> Result<Broker> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|source| Error::Directory {
            path: dir.to_owned(),
            source,
        })?;
        Broker::open(dir)
    }

    /// Opens an existing log directory.
    pub fn open_with(dir: impl AsRef<Path>, config: BrokerConfig) -> Result<Broker> {
        let dir = dir.as_ref().to_owned();
        let dir_err = |source| Error::Directory {
            path: dir.clone(),
            source,
        };
        let meta = fs::metadata(&dir).map_err(dir_err)?;
        if !meta.is_dir() {
            return Err(dir_err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "it is not a directory",
            )));
        }
        for sub in ["topics", "groups", "tmp"] {
            fs::create_dir_all(dir.join(sub)).map_err(dir_err)?;
        }
        fs::read_dir(dir.join("topics")).map_err(dir_err)?;
        let notifier = Arc::new(Notifier::default());
        let (stop, rx) = if config.background_cleaner {
            let (tx, rx) = mpsc::channel::<()>();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let inner = Arc::new(BrokerInner {
            dir,
            config,
            topics: RwLock::new(HashMap::new()),
            notifier,
            leases: Arc::new(Leases::default()),
            _stop_cleaner: stop,
        });
        {
            // The lease thread: releases writer locks this process no longer uses, so that
            // other processes can write. It sleeps while no lock is held.
            let weak = Arc::downgrade(&inner);
            let leases = inner.leases.clone();
            std::thread::Builder::new()
                .name("strata-broker-leases".into())
                .spawn(move || loop {
                    if !leases.wait_for_held(std::time::Duration::from_millis(200)) {
                        if weak.strong_count() == 0 {
                            return;
                        }
                        continue;
                    }
                    std::thread::sleep(LEASE_IDLE);
                    let Some(inner) = weak.upgrade() else { return };
                    let topics: Vec<Arc<Topic>> = inner.topics.read().values().cloned().collect();
                    drop(inner);
                    for t in topics {
                        for p in t.partitions() {
                            p.release_if_idle(LEASE_IDLE);
                        }
                    }
                })
                .map_err(|e| Error::io("start the lease thread", "strata-broker-leases", e))?;
        }
        if let Some(rx) = rx {
            let weak = Arc::downgrade(&inner);
            let interval = inner.config.cleaner_interval;
            std::thread::Builder::new()
                .name("strata-broker-cleaner".into())
                .spawn(move || loop {
                    match rx.recv_timeout(interval) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    let Some(inner) = weak.upgrade() else { return };
                    let broker = Broker { inner };
                    if let Err(e) = broker.run_cleaner() {
                        tracing::warn!(error = %e, "background log cleaning failed");
                    }
                })
                .map_err(|e| Error::io("start the cleaner thread", "strata-broker-cleaner", e))?;
        }
        Ok(Broker { inner })
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    fn topic_dir(&self, name: &str) -> PathBuf {
        self.inner.dir.join("topics").join(name)
    }

    /// This process's handle on a topic, loading it (or noticing its deletion) as needed.
    pub(crate) fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        let cached = self.inner.topics.read().get(name).cloned();
        if let Some(t) = cached {
            if t.refresh(false)? {
                return Ok(t);
            }
            self.inner.topics.write().remove(name);
            return Err(Error::UnknownTopic {
                topic: name.to_owned(),
            });
        }
        topic::validate_name(name)?;
        let opened = Topic::open(
            name,
            self.topic_dir(name),
            self.inner.notifier.clone(),
            self.inner.leases.clone(),
        )?;
        let Some(t) = opened else {
            return Err(Error::UnknownTopic {
                topic: name.to_owned(),
            });
        };
        let t = Arc::new(t);
        let mut topics = self.inner.topics.write();
        Ok(topics.entry(name.to_owned()).or_insert(t).clone())
    }

    pub(crate) fn partition(&self, topic: &str, partition: i32) -> Result<Arc<Partition>> {
        self.topic(topic)?.partition(partition)
    }

    /// Creates a topic with `partitions` partitions.
    pub fn create_topic(&self, name: &str, partitions: u32, config: TopicConfig) -> Result<()> {
        topic::validate_name(name)?;
        config.validate()?;
        if partitions == 0 {
            return Err(Error::InvalidPartitions {
                topic: name.to_owned(),
                reason: "a topic needs at least one partition".into(),
            });
        }
        let final_dir = self.topic_dir(name);
        if final_dir.join("topic.json").exists() {
            return Err(Error::TopicAlreadyExists {
                topic: name.to_owned(),
            });
        }
        let staging = self
            .inner
            .dir
            .join("tmp")
            .join(format!("create-{name}-{:016x}", rand::random::<u64>()));
        let result = (|| {
            fs::create_dir_all(&staging).ctx("create topic directory", &staging)?;
            for p in 0..partitions {
                Partition::create(&staging.join(p.to_string()))?;
            }
            topic::write_meta(&staging, &TopicMeta { partitions, config })?;
            match fs::rename(&staging, &final_dir) {
                Ok(()) => {}
                Err(e)
                    if e.kind() == std::io::ErrorKind::AlreadyExists
                        || e.raw_os_error() == Some(libc::ENOTEMPTY) =>
                {
                    return Err(Error::TopicAlreadyExists {
                        topic: name.to_owned(),
                    })
                }
                Err(e) => return Err(Error::io("create topic", &final_dir, e)),
            }
            sync_dir(&self.inner.dir.join("topics"))
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        result?;
        tracing::info!(topic = name, partitions, "created topic");
        Ok(())
    }

    /// Deletes a topic and its data. Readers that already hold its files finish reading them.
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        topic::validate_name(name)?;
        let dir = self.topic_dir(name);
        if !dir.join("topic.json").exists() {
            return Err(Error::UnknownTopic {
                topic: name.to_owned(),
            });
        }
        let grave = self
            .inner
            .dir
            .join("tmp")
            .join(format!("deleted-{name}-{:016x}", rand::random::<u64>()));
        fs::rename(&dir, &grave).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::UnknownTopic {
                    topic: name.to_owned(),
                }
            } else {
                Error::io("delete topic", &dir, e)
            }
        })?;
        self.inner.topics.write().remove(name);
        sync_dir(&self.inner.dir.join("topics"))?;
        fs::remove_dir_all(&grave).ctx("remove deleted topic data", &grave)?;
        tracing::info!(topic = name, "deleted topic");
        Ok(())
    }

    /// The names of all topics, sorted.
    pub fn list_topics(&self) -> Result<Vec<String>> {
        let dir = self.inner.dir.join("topics");
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir).ctx("list topics", &dir)? {
            let entry = entry.ctx("list topics", &dir)?;
            if let Some(name) = entry.file_name().to_str() {
                if entry.path().join("topic.json").exists() {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// A topic's configuration and partitions with their offsets and sizes.
    pub fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        let t = self.topic(name)?;
        t.refresh(true)?;
        let mut partitions = Vec::new();
        for p in t.partitions() {
            p.reload()?;
            partitions.push(PartitionDescription {
                partition: p.id,
                log_start_offset: p.log_start()?,
                log_end_offset: p.log_end()?,
                size_bytes: p.size_bytes()?,
                segments: p.segments().len(),
            });
        }
        Ok(TopicDescription {
            name: name.to_owned(),
            config: t.config(),
            partitions,
        })
    }

    /// A topic's configuration in force, from memory (re-read from `topic.json` at most every
    /// metadata interval, so a change made by another process is seen soon after).
    pub fn topic_config(&self, name: &str) -> Result<TopicConfig> {
        Ok(self.topic(name)?.config())
    }

    /// Replaces a topic's configuration. Retention and compaction use it from their next run.
    pub fn alter_topic_config(&self, name: &str, config: TopicConfig) -> Result<()> {
        config.validate()?;
        self.topic(name)?.update_meta(|meta| {
            meta.config = config;
            Ok(())
        })
    }

    /// Grows a topic to `total` partitions (partitions can never shrink, as in Kafka).
    pub fn create_partitions(&self, name: &str, total: u32) -> Result<()> {
        self.topic(name)?.update_meta(|meta| {
            if total < meta.partitions {
                return Err(Error::InvalidPartitions {
                    topic: name.to_owned(),
                    reason: format!(
                        "it has {} partitions and partitions cannot be removed",
                        meta.partitions
                    ),
                });
            }
            meta.partitions = total;
            Ok(())
        })
    }

    /// The first offset and the end offset of a partition.
    pub fn offsets(&self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        let p = self.partition(topic, partition)?;
        Ok((p.log_start()?, p.log_end()?))
    }

    /// Deletes the records of a partition before `before` (Kafka's DeleteRecords): the log
    /// start moves there for every process (others notice within a second), consumers before
    /// it get their `auto_offset_reset`, and sealed segments wholly before it are deleted at
    /// once. `-1` means the log end (everything). Returns the new log start (Kafka's low
    /// watermark). An offset after the log end is an [`Error::OffsetOutOfRange`].
    pub fn delete_records(&self, topic: &str, partition: i32, before: i64) -> Result<i64> {
        let p = self.partition(topic, partition)?;
        cleaner::delete_records(&p, before)
    }

    /// Reads every batch of a partition, checking CRCs and record framing, and reports the
    /// damage with the offsets it holds (`strata topics verify`). Takes no lock; a write in
    /// progress may show as a torn tail.
    pub fn verify_partition(&self, topic: &str, partition: i32) -> Result<PartitionCheck> {
        repair::verify(&*self.partition(topic, partition)?)
    }

    /// Removes a partition's damage (`strata topics repair`): only the damaged bytes, keeping
    /// every intact batch and its offsets, or everything from the first damage on. The next
    /// offset never goes down. Appends and cleaning wait while it runs.
    pub fn repair_partition(
        &self,
        topic: &str,
        partition: i32,
        mode: RepairMode,
    ) -> Result<RepairReport> {
        repair::repair(&*self.partition(topic, partition)?, mode)
    }

    /// The names of all consumer groups, sorted.
    pub fn list_groups(&self) -> Result<Vec<String>> {
        group::list_groups(&self.inner.dir)
    }

    /// A group's live members, their assignments, and committed offsets with lag.
    pub fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        group::describe(self, group)
    }

    /// Deletes a consumer group's committed offsets (Kafka's DeleteGroups). Fails with
    /// [`Error::GroupNotEmpty`] while a consumer is a member, and [`Error::UnknownGroup`] for a
    /// group never used.
    pub fn delete_group(&self, group: &str) -> Result<()> {
        group::delete(self.dir(), group)?;
        tracing::info!(group, "deleted consumer group");
        Ok(())
    }

    /// Runs retention and compaction once, now, on every topic.
    pub fn run_cleaner(&self) -> Result<CleanerStats> {
        let mut total = CleanerStats::default();
        for name in self.list_topics()? {
            let t = match self.topic(&name) {
                Ok(t) => t,
                Err(Error::UnknownTopic { .. }) => continue,
                Err(e) => return Err(e),
            };
            let config = t.config();
            for p in t.partitions() {
                let s = cleaner::clean_partition(
                    &p,
                    &config,
                    cleaner::now_ms(),
                    self.inner.config.cleaner_offset_map_bytes,
                )?;
                total.add(&s);
            }
        }
        Ok(total)
    }

    /// A producer.
    pub fn producer(&self, config: ProducerConfig) -> Producer {
        Producer::new(self.clone(), config)
    }

    /// A consumer.
    pub fn consumer(&self, config: ConsumerConfig) -> Result<Consumer> {
        Consumer::new(self.clone(), config)
    }
}
