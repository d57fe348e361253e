//! The hook through which records are checked before they are appended. This crate knows
//! nothing of schemas: the caller (e.g. `strata serve`, which has the registry) passes an
//! implementation in with [`crate::KafkaServer::with_validator`]. Without one every well-formed
//! batch is appended.

use strata_broker::TopicConfig;

/// One record of a produced batch, as the validator sees it.
#[derive(Debug, Clone, Copy)]
pub struct RecordToValidate<'a> {
    /// Its position in the partition's batch (0-based), as Kafka's `batch_index`.
    pub index: usize,
    /// The key, `None` for a null key.
    pub key: Option<&'a [u8]>,
    /// The value, `None` for a tombstone.
    pub value: Option<&'a [u8]>,
    /// The headers, in order.
    pub headers: &'a [(&'a str, &'a [u8])],
}

/// Why a batch was refused: the first record that failed and a sentence naming the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRecord {
    /// The failing record's position in the batch.
    pub index: usize,
    /// What is wrong with it, for the producer's error message.
    pub message: String,
}

/// Checks the records produced to one partition before any of them is appended. A refusal
/// refuses the whole batch with INVALID_RECORD (87), as Confluent Server and Redpanda do for
/// broker-side schema validation; nothing of it is written.
pub trait ProduceValidator: Send + Sync + 'static {
    /// Accepts or refuses the records of one partition of one Produce request. `config` is the
    /// topic's configuration in force (its schema validation settings among them). It runs on a
    /// blocking thread, so it may wait (e.g. for a registry lookup on a cache miss).
    fn validate(
        &self,
        topic: &str,
        partition: i32,
        config: &TopicConfig,
        records: &[RecordToValidate<'_>],
    ) -> Result<(), InvalidRecord>;
}
