//! strata-broker: the embedded log broker that Strata's producer and consumer run on when no
//! Kafka cluster is at hand. It follows Kafka's model (topics, partitions, offsets, consumer
//! groups, retention and compaction, the Java client's partitioner) so that code moves to Kafka
//! unchanged. It knows nothing of schemas.
//!
//! ```no_run
//! use std::time::Duration;
//! use strata_broker::{AutoOffsetReset, Broker, ConsumerConfig, ProducerConfig, ProducerRecord, TopicConfig};
//!
//! # fn main() -> strata_broker::Result<()> {
//! let broker = Broker::open_or_create("/tmp/strata-log")?;
//! broker.create_topic("orders", 3, TopicConfig::default())?;
//! let producer = broker.producer(ProducerConfig::default());
//! let md = producer.send(ProducerRecord::new("orders", "hello").with_key("k1"))?;
//! let consumer = broker.consumer(ConsumerConfig {
//!     group_id: Some("billing".into()),
//!     auto_offset_reset: AutoOffsetReset::Earliest,
//!     ..ConsumerConfig::default()
//! })?;
//! consumer.subscribe(&["orders"])?;
//! let records = consumer.poll(Duration::from_secs(1))?;
//! // Or borrowed from the fetch buffers, with no allocation per record:
//! for r in consumer.poll_records(Duration::from_secs(1))?.iter() {
//!     let _value: Option<&[u8]> = r.value;
//! }
//! consumer.commit()?;
//! # let _ = (md, records);
//! # Ok(()) }
//! ```
//!
//! # Layout on disk
//!
//! ```text
//! <dir>/topics/<topic>/topic.json                partition count and TopicConfig
//! <dir>/topics/<topic>/topic.lock                flock for changes to topic.json
//! <dir>/topics/<topic>/<p>/<base offset>.log     record batches, [len][crc32c][header][records]
//! <dir>/topics/<topic>/<p>/<base offset>.index   sparse offset index (a hint)
//! <dir>/topics/<topic>/<p>/<base offset>.timeindex  time index (a hint)
//! <dir>/topics/<topic>/<p>/writer.lock           flock: one writer at a time
//! <dir>/topics/<topic>/<p>/writer.want           flock, shared by writers waiting for writer.lock
//! <dir>/topics/<topic>/<p>/cleaner.lock          flock: one cleaner at a time
//! <dir>/topics/<topic>/<p>/log-start             log start set by delete_records (if ever)
//! <dir>/topics/<topic>/<p>/<base>.log.repair     a repair's rewritten segment before its rename
//! <dir>/groups/<group>/...                       committed offsets and members (see `group`)
//! <dir>/tmp/                                     staging for atomic topic create and delete
//! ```
//!
//! # Locking scheme (several processes, one directory)
//!
//! All locks are advisory `flock(2)` locks, which the kernel releases when a process dies, even
//! by SIGKILL, so a crashed process never leaves a lock behind.
//!
//! - **Writers.** An append takes `writer.lock` of its partition exclusively, so writers in any
//!   number of processes take turns and there is one writer per partition at a time. Inside a
//!   process a mutex serialises threads first. A process keeps the lock between appends while it
//!   keeps appending (a lease): a background thread releases it after 2 ms without an append,
//!   and the writer lets go after holding it 20 ms so that other processes get their turn: a
//!   writer that has to wait holds `writer.want` shared meanwhile, and a writer whose lease ran
//!   out waits (up to 20 ms) until no one holds `writer.want` before appending again, since
//!   flock(2) does not hand the lock to a waiter by itself. The writer remembers the active
//!   segment's length and inode after its own append; a different one at the next
//!   append means another process wrote (or died writing, or repaired the log), and the writer
//!   re-lists segments and verifies the tail (CRC of every batch from the last point it knew
//!   valid). See "Damage" below for what it cuts off. Segments roll only at the end of an
//!   append (or in a repair, which changes the active segment too), so an unchanged active
//!   segment proves there was no roll.
//! - **Readers** take no lock. They read batches with `pread`, check each batch's CRC and never
//!   serve a batch that is incomplete or fails its CRC at the tail of the newest segment (a write
//!   in progress or a torn tail awaiting recovery); damage with intact batches after it is an
//!   [`Error::Corrupt`], after the records before it. Files deleted or replaced by retention or
//!   compaction stay readable through handles already open; readers re-list a partition's
//!   segments at most once a second, or at once when a segment named by the offset they wait for
//!   appears.
//! - **Cleaners** (retention, compaction) take `cleaner.lock` with a non-blocking try; a
//!   partition being cleaned by another process is skipped this round. They only touch sealed
//!   segments, never the active one, so they never contend with writers. Compaction is made
//!   crash-safe by a journal (see `cleaner`). `Broker::delete_records` waits for
//!   `cleaner.lock`, writes the new log start to `log-start` (atomically and durably) and
//!   deletes the sealed segments wholly before it; readers in other processes see the new log
//!   start when they next re-list the segments (within a second).
//! - **Topic metadata** changes (alter config, add partitions) take `topic.lock` and replace
//!   `topic.json` by rename. Topic creation and deletion are one directory rename each.
//!   Processes re-read `topic.json` at most every 500 ms.
//! - **Consumer groups.** A member holds `groups/<g>/members/<id>.lock` for its whole life;
//!   others test it with a non-blocking try-lock, so a killed member is noticed at once, and a
//!   heartbeat in `<id>.json` catches a hung one after its session timeout. Joins, sweeps of dead
//!   members and offset commits take `groups/<g>/group.lock` briefly; committed offsets are
//!   replaced atomically (write, fsync, rename, fsync the directory). A member publishes the
//!   partitions it reads in `<id>.json`; one that gains a partition in a rebalance reads it
//!   only once no other live member publishes it, and a member losing one commits its position
//!   first (with auto-commit, or `ConsumerConfig::commit_on_revoke`), so the next owner goes
//!   on where it stopped, as Kafka's rebalance protocol does.
//!
//! # Long polling
//!
//! `Consumer::poll` sleeps on a condition variable signalled by every append in this process, and
//! wakes at least every `BrokerConfig::external_poll_interval` (20 ms by default) to read the
//! files for records written by other processes. It never spins.
//!
//! # Durability
//!
//! `acks=0` buffers in the producer; `acks=1` returns once the batch is written to the operating
//! system; `acks=all` returns once it is fsynced, with concurrent producers sharing one fsync
//! (group commit). `Producer::send` writes one batch per record; `send_batch` and the
//! allocation-free `send_batch_ref` (records borrowed from the caller) write one batch per
//! partition for many records and acknowledge each record once its batch is written, which is
//! what Kafka's accumulator does for a stream of sends. Nothing acknowledged with `acks=all` is
//! lost: recovery only removes a torn tail, and that was never fsynced. Small files (topic
//! metadata, committed offsets, the log start, the cleaner's journal) are replaced through one
//! helper (`durable::replace_file`: write, fsync, rename, fsync the directory).
//!
//! # Damage
//!
//! A log never hands out an offset twice and never drops intact data without an operator
//! asking:
//!
//! - A **torn tail** (bytes after the last intact batch of the newest segment with no intact
//!   batch after them: an append cut short by a crash) is cut off by the next writer. The
//!   offsets its header claims (when the header is consistent), those the index names and those
//!   consumer groups committed stay handed out: when they reach past the log's end the next
//!   record goes after them, in a new segment when the evidence was just cut off, else after a
//!   gap in the active segment (as in a compacted log), so a record read and committed before a
//!   crash is never replaced by another with its offset.
//! - **Corruption** (a batch failing its CRC, header or record checks with intact batches after
//!   it, or any damage in an older segment) is never cut off: consumers get [`Error::Corrupt`]
//!   naming the topic, partition, offsets and file position once they reach it (they may seek
//!   past it, to `resume_offset`), appends fail with it while it lies in the newest segment, and
//!   the cleaner leaves the segment alone. [`Broker::verify_partition`] reports every damaged
//!   stretch; [`Broker::repair_partition`] removes the damaged bytes keeping every intact batch
//!   and its offsets, or truncates at the first damage, never lowering the next offset.

#![forbid(unsafe_code)]

mod batch;
mod broker;
mod cleaner;
mod config;
mod consumer;
mod durable;
mod error;
mod group;
mod partition;
mod partitioner;
mod producer;
mod record;
mod repair;
mod segment;
mod topic;

pub use crate::broker::{Broker, PartitionDescription, TopicDescription};
pub use crate::cleaner::CleanerStats;
pub use crate::config::{
    same_topic_setting, Acks, AutoOffsetReset, BrokerConfig, CleanupPolicy, ConsumerConfig,
    ProducerConfig, SchemaValidation, SubjectNameStrategy, TimestampType, TopicConfig,
    ValidationMode, OFFSET_MAP_ENTRY_OVERHEAD, TOPIC_CONFIG_ALIASES,
};
pub use crate::consumer::Consumer;
pub use crate::error::{Error, Result};
pub use crate::group::{GroupDescription, GroupMember, PartitionLag};
pub use crate::partitioner::{murmur2, partition_for_key};
pub use crate::producer::Producer;
pub use crate::record::{
    ConsumerRecord, ConsumerRecords, OffsetAndTimestamp, ProducerRecord, RecordMetadata,
    RecordPosition, RecordRef, RecordView, TopicPartition,
};
pub use crate::repair::{Damage, PartitionCheck, RepairMode, RepairReport};
pub use bytes::Bytes;
