//! The broker's one error type. Every message is a sentence that tells the user what went wrong
//! and, where there is one, what to do about it. Errors never leave the log unreadable: whatever
//! failed half-way is rolled back before the error is returned.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the broker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file system is full (or a quota is exhausted); nothing of the failed write was kept.
    #[error("the disk holding {path} is full; free some space or lower retention, then retry (nothing of the failed write was kept)")]
    DiskFull {
        /// The file that could not be written.
        path: PathBuf,
    },
    /// The log directory is missing or cannot be used.
    #[error("the log directory {path} cannot be used: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The underlying cause.
        #[source]
        source: io::Error,
    },
    /// Any other I/O failure, with what the broker was doing.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What the broker was doing, as a verb phrase ("read", "create segment").
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying cause.
        #[source]
        source: io::Error,
    },
    /// The topic does not exist.
    #[error("topic `{topic}` does not exist; create it first or check the name")]
    UnknownTopic {
        /// The topic asked for.
        topic: String,
    },
    /// The topic already exists.
    #[error("topic `{topic}` already exists")]
    TopicAlreadyExists {
        /// The topic.
        topic: String,
    },
    /// The topic name is not a valid Kafka topic name.
    #[error("`{name}` is not a valid topic name: {reason}")]
    InvalidTopicName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The partition does not exist in the topic.
    #[error("topic `{topic}` has {partitions} partition(s); partition {partition} does not exist")]
    UnknownPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: i32,
        /// How many partitions the topic has.
        partitions: u32,
    },
    /// A partition count that cannot be used (zero, or fewer than the topic already has).
    #[error("invalid partition count for topic `{topic}`: {reason}")]
    InvalidPartitions {
        /// The topic.
        topic: String,
        /// Why the count was rejected.
        reason: String,
    },
    /// A record (or batch) larger than `max.message.bytes`.
    #[error("the record is {size} bytes, larger than max.message.bytes ({max}) for topic `{topic}`; raise max.message.bytes or send smaller records")]
    RecordTooLarge {
        /// The topic.
        topic: String,
        /// The encoded size of the record batch.
        size: usize,
        /// The limit in force.
        max: usize,
    },
    /// A record that the topic cannot accept, such as a record without a key on a compacted topic.
    #[error("invalid record for topic `{topic}`: {reason}")]
    InvalidRecord {
        /// The topic.
        topic: String,
        /// Why the record was rejected.
        reason: &'static str,
    },
    /// An offset outside the partition's log, with no reset policy to fall back on.
    #[error("offset {offset} is out of range for {topic}-{partition} (the log holds offsets {log_start}..{log_end}); seek to a valid offset or set auto.offset.reset")]
    OffsetOutOfRange {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset asked for.
        offset: i64,
        /// The first offset in the log.
        log_start: i64,
        /// The offset the next record will get.
        log_end: i64,
    },
    /// A configuration key or value that is not understood.
    #[error("invalid configuration `{key}` = `{value}`: {reason}")]
    InvalidConfig {
        /// The configuration key.
        key: String,
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A damaged batch with intact data after it (a torn tail, an interrupted write at the very
    /// end of the log, is cut off by the next writer; this is not). Consumers get it when they
    /// reach the damage, and the partition refuses appends while its newest segment holds it,
    /// until an operator repairs it (`Broker::repair_partition`).
    #[error("{topic}-{partition} is corrupt: the batch at byte {position} of {path} is damaged ({reason}); offsets {offset} to {} cannot be read. Nothing is appended to the partition until it is repaired (`strata topics repair {topic} --partition {partition}`); a consumer can seek to offset {resume_offset} to read on", resume_offset - 1)]
    Corrupt {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The segment file.
        path: PathBuf,
        /// Byte position of the damaged batch in the file.
        position: u64,
        /// The first offset that cannot be read.
        offset: i64,
        /// The first offset of the next intact batch: where reading can resume.
        resume_offset: i64,
        /// What is wrong.
        reason: String,
    },
    /// An operation that needs a consumer group was called on a consumer without `group_id`.
    #[error("this consumer has no group_id; set ConsumerConfig::group_id to {what}")]
    NoGroup {
        /// What the caller tried to do.
        what: &'static str,
    },
    /// The consumer group has never been used in this log directory.
    #[error("consumer group `{group}` does not exist; it is created when a consumer with that group_id subscribes or commits")]
    UnknownGroup {
        /// The group asked for.
        group: String,
    },
    /// The consumer group still has live members (Kafka's NON_EMPTY_GROUP).
    #[error("consumer group `{group}` has {members} live member(s); close them before deleting the group")]
    GroupNotEmpty {
        /// The group.
        group: String,
        /// How many members hold their membership.
        members: usize,
    },
    /// The partition is not assigned to this consumer.
    #[error(
        "{topic}-{partition} is not assigned to this consumer; assign or subscribe to it first"
    )]
    NotAssigned {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// A metadata file (topic or group) that cannot be parsed.
    #[error("the metadata file {path} cannot be parsed: {reason}")]
    BadMetadata {
        /// The file.
        path: PathBuf,
        /// The parse error.
        reason: String,
    },
    /// The broker or its handle was closed.
    #[error("the {what} is closed")]
    Closed {
        /// What was closed.
        what: &'static str,
    },
}

/// The broker's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error, recognising a full disk.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        let path = path.into();
        match source.raw_os_error() {
            Some(code) if code == libc::ENOSPC || code == libc::EDQUOT || code == libc::EFBIG => {
                Error::DiskFull { path }
            }
            _ => Error::Io {
                action,
                path,
                source,
            },
        }
    }
}

/// Adds a path and an action to `io::Result`s.
pub(crate) trait IoContext<T> {
    /// Converts the error with [`Error::io`].
    fn ctx(self, action: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, action: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(action, path, e))
    }
}
