//! The records users send and receive, and the names of partitions.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::batch::{self, RecordSpan};

/// A topic and partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition, from 0.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic and partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A record to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    /// The topic.
    pub topic: String,
    /// An explicit partition; otherwise chosen from the key, or sticky for keyless records.
    pub partition: Option<i32>,
    /// The key.
    pub key: Option<Vec<u8>>,
    /// The value; `None` is a tombstone.
    pub value: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Create time in milliseconds since the epoch; the time of `send` when `None`.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record with a value and no key.
    pub fn new(topic: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            value: Some(value.into()),
            ..ProducerRecord::default()
        }
    }

    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets an explicit partition.
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// Sets the create time.
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// A tombstone for `key`.
    pub fn tombstone(topic: impl Into<String>, key: impl Into<Vec<u8>>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            key: Some(key.into()),
            ..ProducerRecord::default()
        }
    }
}

/// A record borrowed from the caller, for [`Producer::send_ref`](crate::Producer::send_ref) and
/// [`Producer::send_batch_ref`](crate::Producer::send_batch_ref): key, value and headers are
/// encoded straight from the caller's memory into the batch, so sending one allocates nothing
/// per record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// An explicit partition; otherwise chosen from the key, or sticky for keyless records.
    pub partition: Option<i32>,
    /// The key.
    pub key: Option<&'a [u8]>,
    /// The value; `None` is a tombstone.
    pub value: Option<&'a [u8]>,
    /// Headers, in order.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// Create time in milliseconds since the epoch; the time of the send when `None`.
    pub timestamp: Option<i64>,
}

impl<'a> RecordRef<'a> {
    /// A record with a value and no key.
    pub fn new(value: &'a [u8]) -> Self {
        RecordRef {
            value: Some(value),
            ..RecordRef::default()
        }
    }

    /// A tombstone for `key`.
    pub fn tombstone(key: &'a [u8]) -> Self {
        RecordRef {
            key: Some(key),
            ..RecordRef::default()
        }
    }

    /// Sets the key.
    pub fn with_key(mut self, key: &'a [u8]) -> Self {
        self.key = Some(key);
        self
    }

    /// Sets an explicit partition.
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the headers.
    pub fn with_headers(mut self, headers: &'a [(&'a str, &'a [u8])]) -> Self {
        self.headers = headers;
        self
    }

    /// Sets the create time.
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }
}

/// Where a record sent by [`Producer::send_ref`](crate::Producer::send_ref) or
/// [`Producer::send_batch_ref`](crate::Producer::send_batch_ref) went: [`RecordMetadata`]
/// without the topic (the caller named it), so acknowledging allocates nothing per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPosition {
    /// The partition.
    pub partition: i32,
    /// The record's offset; -1 with `acks=0`, as Kafka reports it.
    pub offset: i64,
    /// The record's timestamp (the log-append time on such topics).
    pub timestamp: i64,
}

impl RecordPosition {
    /// The full metadata, with the topic.
    pub fn with_topic(self, topic: Arc<str>) -> RecordMetadata {
        RecordMetadata {
            topic,
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
        }
    }
}

/// Where a sent record went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic (shared: acknowledging many records of a topic copies no name).
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset; -1 with `acks=0`, as Kafka reports it.
    pub offset: i64,
    /// The record's timestamp (the log-append time on such topics).
    pub timestamp: i64,
}

/// A record read by a consumer. Key, value and header values share the buffer they were read
/// into, so reading does not copy them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The timestamp in milliseconds since the epoch.
    pub timestamp: i64,
    /// The key.
    pub key: Option<Bytes>,
    /// The value; `None` for a tombstone.
    pub value: Option<Bytes>,
    /// Headers, in order.
    pub headers: Vec<(String, Bytes)>,
}

/// A record borrowed from the buffer a consumer read it into: what
/// [`crate::Consumer::poll_records`] hands out, with no per-record allocation or reference
/// count. [`RecordView::to_owned_record`] (or [`ConsumerRecords::into_owned`]) gives a
/// [`ConsumerRecord`] that outlives the fetch.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The timestamp in milliseconds since the epoch.
    pub timestamp: i64,
    /// The key.
    pub key: Option<&'a [u8]>,
    /// The value; `None` for a tombstone.
    pub value: Option<&'a [u8]>,
    chunk: &'a Chunk,
    span: &'a RecordSpan,
}

impl<'a> RecordView<'a> {
    /// The headers, in order (a null header value reads as empty).
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        let (s, e) = self.span.headers;
        batch::headers_in(
            &self.chunk.buf[s as usize..e as usize],
            self.span.header_count,
        )
    }

    /// The number of headers.
    pub fn header_count(&self) -> usize {
        self.span.header_count as usize
    }

    /// The record as an owned [`ConsumerRecord`] (key, value and header values still share
    /// the fetch buffer: nothing is copied but header names).
    pub fn to_owned_record(&self) -> ConsumerRecord {
        self.chunk.owned(self.span)
    }
}

/// The records of one partition read by one fetch: the buffer, and where each record sits.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    pub topic: Arc<str>,
    pub partition: i32,
    pub buf: Bytes,
    pub spans: Vec<RecordSpan>,
}

impl Chunk {
    fn view<'a>(&'a self, span: &'a RecordSpan) -> RecordView<'a> {
        RecordView {
            topic: &self.topic,
            partition: self.partition,
            offset: span.offset,
            timestamp: span.timestamp,
            key: RecordSpan::slice(&self.buf, span.key),
            value: RecordSpan::slice(&self.buf, span.value),
            chunk: self,
            span,
        }
    }

    fn owned(&self, span: &RecordSpan) -> ConsumerRecord {
        let bytes = |(s, e): (u32, u32)| {
            (s != batch::NULL_SPAN).then(|| self.buf.slice(s as usize..e as usize))
        };
        let headers = if span.header_count == 0 {
            Vec::new()
        } else {
            let (s, e) = span.headers;
            let section = &self.buf[s as usize..e as usize];
            batch::headers_in(section, span.header_count)
                .map(|(name, value)| (name.to_owned(), self.buf.slice_ref(value)))
                .collect()
        };
        ConsumerRecord {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: span.offset,
            timestamp: span.timestamp,
            key: bytes(span.key),
            value: bytes(span.value),
            headers,
        }
    }

    /// The records `range` of this chunk as a chunk of their own (sharing the buffer).
    pub fn part(&self, range: std::ops::Range<usize>) -> Chunk {
        Chunk {
            topic: self.topic.clone(),
            partition: self.partition,
            buf: self.buf.clone(),
            spans: self.spans[range].to_vec(),
        }
    }
}

/// What [`crate::Consumer::poll_records`] returns: the records of one poll, grouped by the
/// fetch that read them, in order within each partition. Iterating borrows them from the
/// fetch buffers ([`RecordView`]); [`ConsumerRecords::into_owned`] turns them into
/// [`ConsumerRecord`]s. A fetch buffer is reused by later fetches once every record read
/// from it is dropped.
#[derive(Debug, Clone, Default)]
pub struct ConsumerRecords {
    chunks: Vec<Chunk>,
    count: usize,
}

impl ConsumerRecords {
    /// The number of records.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The records, borrowed.
    pub fn iter(&self) -> impl Iterator<Item = RecordView<'_>> {
        self.chunks
            .iter()
            .flat_map(|c| c.spans.iter().map(move |s| c.view(s)))
    }

    /// The records as owned [`ConsumerRecord`]s.
    pub fn into_owned(self) -> Vec<ConsumerRecord> {
        let mut out = Vec::with_capacity(self.count);
        for c in &self.chunks {
            out.extend(c.spans.iter().map(|s| c.owned(s)));
        }
        out
    }

    pub(crate) fn push(&mut self, chunk: Chunk) {
        self.count += chunk.spans.len();
        self.chunks.push(chunk);
    }
}

/// An offset found by timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetAndTimestamp {
    /// The first offset whose timestamp is at least the one asked for.
    pub offset: i64,
    /// That record's timestamp.
    pub timestamp: i64,
}
