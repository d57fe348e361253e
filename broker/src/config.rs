//! Configuration: per-topic settings with Kafka's names and defaults, and the producer, consumer
//! and broker settings. Parsing from Kafka-style `key=value` pairs happens here, once.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What happens to old records of a topic (`cleanup.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CleanupPolicy {
    /// Old segments are deleted by `retention.ms` and `retention.bytes`.
    #[default]
    Delete,
    /// Only the latest record per key is kept; tombstones go after `delete.retention.ms`.
    Compact,
    /// Both: compacted, and old segments deleted by retention.
    CompactDelete,
}

impl CleanupPolicy {
    /// Whether the topic is compacted.
    pub fn compacts(self) -> bool {
        matches!(self, CleanupPolicy::Compact | CleanupPolicy::CompactDelete)
    }

    /// Whether retention deletes old segments.
    pub fn deletes(self) -> bool {
        matches!(self, CleanupPolicy::Delete | CleanupPolicy::CompactDelete)
    }

    fn as_kafka(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        }
    }
}

/// Which timestamp a record keeps (`message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimestampType {
    /// The producer's timestamp (or the time of `send` when it gives none).
    #[default]
    CreateTime,
    /// The broker's clock when the batch is appended.
    LogAppendTime,
}

/// Per-topic configuration, with Kafka's names (see [`TopicConfig::set`]) and defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicConfig {
    /// `retention.ms`: segments whose newest record is older than this are deleted; `None` keeps
    /// them forever (Kafka's -1). Default 7 days.
    pub retention_ms: Option<i64>,
    /// `retention.bytes`: the oldest segments are deleted while a partition is larger than this;
    /// `None` means no size limit (the default).
    pub retention_bytes: Option<u64>,
    /// `segment.bytes`: the active segment is rolled when it would grow past this. Default 1 GiB.
    pub segment_bytes: u64,
    /// `segment.ms`: the active segment is rolled when its first record is older than this, so
    /// that retention and compaction can reach it. Default 7 days.
    pub segment_ms: i64,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `delete.retention.ms`: how long a tombstone outlives the records it deletes. Default 1 day.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: records younger than this are never compacted. Default 0.
    pub min_compaction_lag_ms: i64,
    /// `max.message.bytes`: the largest record batch the topic accepts. Default 1048588.
    pub max_message_bytes: usize,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// Broker-side schema validation of record keys (`confluent.key.schema.validation`,
    /// `confluent.key.subject.name.strategy`, their `redpanda.*` aliases and
    /// `strata.key.schema.validation`). The broker only stores it; whoever serves produce
    /// requests with a registry at hand (strata-kafka's validator hook) applies it.
    pub key_schema_validation: SchemaValidation,
    /// Broker-side schema validation of record values (the `*.value.*` settings).
    pub value_schema_validation: SchemaValidation,
}

/// How strictly records of a topic are checked against the schema registry, for keys or values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ValidationMode {
    /// No check (the default).
    #[default]
    Off,
    /// Every non-null key or value must carry Confluent framing naming a schema registered under
    /// the subject the strategy names (Confluent Server's and Redpanda's schema id validation).
    SchemaId,
    /// As `SchemaId`, and the bytes must also decode with that schema
    /// (`strata.*.schema.validation=full`).
    Full,
}

/// Which subject a record's schema must be registered under (Confluent's
/// `SubjectNameStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value`.
    #[default]
    TopicNameStrategy,
    /// The record's fully qualified name.
    RecordNameStrategy,
    /// `<topic>-<record's fully qualified name>`.
    TopicRecordNameStrategy,
}

impl SubjectNameStrategy {
    /// Confluent's class name, as Confluent Server shows it.
    pub fn class_name(self) -> &'static str {
        match self {
            SubjectNameStrategy::TopicNameStrategy => {
                "io.confluent.kafka.serializers.subject.TopicNameStrategy"
            }
            SubjectNameStrategy::RecordNameStrategy => {
                "io.confluent.kafka.serializers.subject.RecordNameStrategy"
            }
            SubjectNameStrategy::TopicRecordNameStrategy => {
                "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
            }
        }
    }

    /// Parses a short name (`TopicNameStrategy`, as Redpanda writes it) or Confluent's class
    /// name.
    fn parse(key: &str, value: &str) -> Result<Self> {
        let short = value
            .trim()
            .strip_prefix("io.confluent.kafka.serializers.subject.")
            .unwrap_or(value.trim());
        match short {
            "TopicNameStrategy" => Ok(SubjectNameStrategy::TopicNameStrategy),
            "RecordNameStrategy" => Ok(SubjectNameStrategy::RecordNameStrategy),
            "TopicRecordNameStrategy" => Ok(SubjectNameStrategy::TopicRecordNameStrategy),
            _ => Err(bad(
                key,
                value,
                "expected TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy \
                 (or Confluent's class name, io.confluent.kafka.serializers.subject.…)",
            )),
        }
    }
}

/// Broker-side schema validation of one part of a record (key or value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SchemaValidation {
    /// How strictly.
    pub mode: ValidationMode,
    /// Which subject the schema must be registered under.
    pub strategy: SubjectNameStrategy,
}

/// The alias keys of [`TopicConfig::set`] that [`TopicConfig::to_pairs`] does not list: Redpanda's
/// names for Confluent's schema validation settings.
pub const TOPIC_CONFIG_ALIASES: &[(&str, &str)] = &[
    (
        "redpanda.key.schema.id.validation",
        "confluent.key.schema.validation",
    ),
    (
        "redpanda.value.schema.id.validation",
        "confluent.value.schema.validation",
    ),
    (
        "redpanda.key.subject.name.strategy",
        "confluent.key.subject.name.strategy",
    ),
    (
        "redpanda.value.subject.name.strategy",
        "confluent.value.subject.name.strategy",
    ),
];

/// The name a setting is stored and described under: an alias from [`TOPIC_CONFIG_ALIASES`]
/// becomes its Confluent name; any other key is returned as it is.
fn canonical_key(key: &str) -> &str {
    TOPIC_CONFIG_ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key, |(_, name)| name)
}

/// Whether two topic configuration keys name the same stored setting, so that deleting one
/// deletes the other: an alias from [`TOPIC_CONFIG_ALIASES`] and its Confluent name, and
/// `confluent.{key,value}.schema.validation` and `strata.{key,value}.schema.validation`, which
/// both describe the one validation mode.
pub fn same_topic_setting(a: &str, b: &str) -> bool {
    fn stored(key: &str) -> &str {
        match canonical_key(key.trim()) {
            "strata.key.schema.validation" => "confluent.key.schema.validation",
            "strata.value.schema.validation" => "confluent.value.schema.validation",
            other => other,
        }
    }
    stored(a) == stored(b)
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(key, value, "expected true or false")),
    }
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            retention_ms: Some(7 * 24 * 3600 * 1000),
            retention_bytes: None,
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            cleanup_policy: CleanupPolicy::Delete,
            delete_retention_ms: 24 * 3600 * 1000,
            min_compaction_lag_ms: 0,
            max_message_bytes: 1_048_588,
            timestamp_type: TimestampType::CreateTime,
            key_schema_validation: SchemaValidation::default(),
            value_schema_validation: SchemaValidation::default(),
        }
    }
}

fn bad(key: &str, value: &str, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn parse_i64(key: &str, value: &str) -> Result<i64> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| bad(key, value, "expected a whole number"))
}

impl TopicConfig {
    /// Sets one setting by its Kafka name (`retention.ms`, `retention.bytes`, `segment.bytes`,
    /// `segment.ms`, `cleanup.policy`, `delete.retention.ms`, `min.compaction.lag.ms`,
    /// `max.message.bytes`, `message.timestamp.type`), and the schema validation settings
    /// `confluent.{key,value}.schema.validation` (`true`/`false`),
    /// `confluent.{key,value}.subject.name.strategy`, `strata.{key,value}.schema.validation`
    /// (`false`, `true` or `full`) and the `redpanda.*` aliases in [`TOPIC_CONFIG_ALIASES`].
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let key = canonical_key(key);
        match key {
            "confluent.key.schema.validation" | "confluent.value.schema.validation" => {
                let on = parse_bool(key, value)?;
                let v = self.validation_mut(key);
                v.mode = match (on, v.mode) {
                    (false, _) => ValidationMode::Off,
                    (true, ValidationMode::Full) => ValidationMode::Full,
                    (true, _) => ValidationMode::SchemaId,
                };
            }
            "strata.key.schema.validation" | "strata.value.schema.validation" => {
                let mode = match value.trim().to_ascii_lowercase().as_str() {
                    "false" => ValidationMode::Off,
                    "true" => ValidationMode::SchemaId,
                    "full" => ValidationMode::Full,
                    _ => return Err(bad(key, value, "expected false, true or full")),
                };
                self.validation_mut(key).mode = mode;
            }
            "confluent.key.subject.name.strategy" | "confluent.value.subject.name.strategy" => {
                let strategy = SubjectNameStrategy::parse(key, value)?;
                self.validation_mut(key).strategy = strategy;
            }
            "retention.ms" => {
                let v = parse_i64(key, value)?;
                self.retention_ms = match v {
                    -1 => None,
                    v if v >= 0 => Some(v),
                    _ => return Err(bad(key, value, "use -1 for no limit or a positive number")),
                };
            }
            "retention.bytes" => {
                let v = parse_i64(key, value)?;
                self.retention_bytes = match v {
                    -1 => None,
                    v if v >= 0 => Some(v as u64),
                    _ => return Err(bad(key, value, "use -1 for no limit or a positive number")),
                };
            }
            "segment.bytes" => {
                let v = parse_i64(key, value)?;
                if v < 1024 {
                    return Err(bad(key, value, "segment.bytes must be at least 1024"));
                }
                self.segment_bytes = v as u64;
            }
            "segment.ms" => {
                let v = parse_i64(key, value)?;
                if v < 1 {
                    return Err(bad(key, value, "segment.ms must be positive"));
                }
                self.segment_ms = v;
            }
            "cleanup.policy" => {
                let mut parts: Vec<&str> = value.split(',').map(str::trim).collect();
                parts.sort_unstable();
                self.cleanup_policy = match parts.as_slice() {
                    ["delete"] => CleanupPolicy::Delete,
                    ["compact"] => CleanupPolicy::Compact,
                    ["compact", "delete"] => CleanupPolicy::CompactDelete,
                    _ => {
                        return Err(bad(
                            key,
                            value,
                            "expected `delete`, `compact` or `compact,delete`",
                        ))
                    }
                };
            }
            "delete.retention.ms" => {
                let v = parse_i64(key, value)?;
                if v < 0 {
                    return Err(bad(key, value, "must not be negative"));
                }
                self.delete_retention_ms = v;
            }
            "min.compaction.lag.ms" => {
                let v = parse_i64(key, value)?;
                if v < 0 {
                    return Err(bad(key, value, "must not be negative"));
                }
                self.min_compaction_lag_ms = v;
            }
            "max.message.bytes" => {
                let v = parse_i64(key, value)?;
                if v < 64 {
                    return Err(bad(key, value, "max.message.bytes must be at least 64"));
                }
                self.max_message_bytes = v as usize;
            }
            "message.timestamp.type" => {
                self.timestamp_type = match value {
                    "CreateTime" => TimestampType::CreateTime,
                    "LogAppendTime" => TimestampType::LogAppendTime,
                    _ => return Err(bad(key, value, "expected CreateTime or LogAppendTime")),
                };
            }
            _ => return Err(bad(key, value, "unknown topic configuration key")),
        }
        Ok(())
    }

    /// Returns one setting to its default (Kafka's IncrementalAlterConfigs DELETE, `strata
    /// topics alter --delete`). `key` may be an alias from [`TOPIC_CONFIG_ALIASES`]: deleting
    /// `redpanda.value.schema.id.validation` resets `confluent.value.schema.validation`. An
    /// unknown key is refused and nothing changes.
    pub fn reset(&mut self, key: &str) -> Result<()> {
        let name = canonical_key(key.trim());
        let default = TopicConfig::default()
            .to_pairs()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
            .ok_or_else(|| bad(key, "", "unknown topic configuration key"))?;
        self.set(name, &default)
    }

    fn validation_mut(&mut self, key: &str) -> &mut SchemaValidation {
        if key.contains(".key.") {
            &mut self.key_schema_validation
        } else {
            &mut self.value_schema_validation
        }
    }

    /// Builds a configuration from Kafka-style pairs over the defaults.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut config = TopicConfig::default();
        for (k, v) in pairs {
            config.set(k, v)?;
        }
        Ok(config)
    }

    /// The settings as Kafka-style pairs, in a fixed order (for `describe`).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<i64>| v.unwrap_or(-1).to_string();
        vec![
            ("cleanup.policy", self.cleanup_policy.as_kafka().to_owned()),
            (
                "confluent.key.schema.validation",
                (self.key_schema_validation.mode != ValidationMode::Off).to_string(),
            ),
            (
                "confluent.key.subject.name.strategy",
                self.key_schema_validation.strategy.class_name().to_owned(),
            ),
            (
                "confluent.value.schema.validation",
                (self.value_schema_validation.mode != ValidationMode::Off).to_string(),
            ),
            (
                "confluent.value.subject.name.strategy",
                self.value_schema_validation
                    .strategy
                    .class_name()
                    .to_owned(),
            ),
            ("delete.retention.ms", self.delete_retention_ms.to_string()),
            ("max.message.bytes", self.max_message_bytes.to_string()),
            (
                "message.timestamp.type",
                match self.timestamp_type {
                    TimestampType::CreateTime => "CreateTime".to_owned(),
                    TimestampType::LogAppendTime => "LogAppendTime".to_owned(),
                },
            ),
            (
                "min.compaction.lag.ms",
                self.min_compaction_lag_ms.to_string(),
            ),
            (
                "retention.bytes",
                opt(self.retention_bytes.map(|v| v as i64)),
            ),
            ("retention.ms", opt(self.retention_ms)),
            ("segment.bytes", self.segment_bytes.to_string()),
            ("segment.ms", self.segment_ms.to_string()),
            (
                "strata.key.schema.validation",
                mode_name(self.key_schema_validation.mode).to_owned(),
            ),
            (
                "strata.value.schema.validation",
                mode_name(self.value_schema_validation.mode).to_owned(),
            ),
        ]
    }

    /// Checks values that serde alone cannot (a hand-edited topic file, a struct literal).
    pub(crate) fn validate(&self) -> Result<()> {
        if self.segment_bytes < 1024 {
            return Err(bad(
                "segment.bytes",
                &self.segment_bytes.to_string(),
                "segment.bytes must be at least 1024",
            ));
        }
        if self.max_message_bytes < 64 {
            return Err(bad(
                "max.message.bytes",
                &self.max_message_bytes.to_string(),
                "max.message.bytes must be at least 64",
            ));
        }
        Ok(())
    }
}

fn mode_name(mode: ValidationMode) -> &'static str {
    match mode {
        ValidationMode::Off => "false",
        ValidationMode::SchemaId => "true",
        ValidationMode::Full => "full",
    }
}

/// Producer acknowledgements (`acks`), which decide durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acks {
    /// `acks=0`: records are buffered in the producer and written later (at `batch_size`, after
    /// `linger`, on `flush` or on drop); the returned offset is -1, as Kafka's.
    None,
    /// `acks=1`: the batch has been written to the operating system (it survives a crash of the
    /// process, not of the machine).
    #[default]
    Leader,
    /// `acks=all`: the batch has been fsynced before `send` returns. Concurrent producers share
    /// fsyncs (group commit).
    All,
}

/// Producer settings.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Acknowledgement level.
    pub acks: Acks,
    /// The largest batch this producer will send, in encoded bytes (`max.request.size`); the
    /// topic's `max.message.bytes` applies too. Default 1 MiB.
    pub max_message_bytes: usize,
    /// `batch.size`: bytes after which the sticky partition for keyless records changes, and after
    /// which an `acks=0` buffer is written. Default 16 KiB.
    pub batch_size: usize,
    /// `linger.ms`: the longest an `acks=0` record waits in the buffer. Default 5 ms.
    pub linger: Duration,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::Leader,
            max_message_bytes: 1 << 20,
            batch_size: 16 * 1024,
            linger: Duration::from_millis(5),
        }
    }
}

/// Where a consumer starts when it has no valid position (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoOffsetReset {
    /// The first offset still in the log.
    Earliest,
    /// The end of the log: only new records.
    #[default]
    Latest,
    /// Fail with [`Error::OffsetOutOfRange`].
    None,
}

/// Consumer settings.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The consumer group; without one the consumer can only `assign`, and cannot `commit`.
    pub group_id: Option<String>,
    /// Starting point without a committed offset, or after the position fell out of the log.
    pub auto_offset_reset: AutoOffsetReset,
    /// `enable.auto.commit`: commit positions every `auto_commit_interval` from `poll`, and on
    /// close. Default true.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`. Default 5 s.
    pub auto_commit_interval: Duration,
    /// Commit the positions of partitions a rebalance takes away, also without
    /// `enable_auto_commit` (what a Kafka rebalance listener calling `commitSync` in
    /// `onPartitionsRevoked` does): the member that gets them starts after the records this
    /// one returned. Default false (with auto-commit on, revoked partitions are committed anyway).
    pub commit_on_revoke: bool,
    /// `max.poll.records`. Default 500.
    pub max_poll_records: usize,
    /// `max.partition.fetch.bytes`: bytes read from one partition per fetch. Default 1 MiB.
    pub max_partition_fetch_bytes: usize,
    /// `session.timeout.ms`: a member that has not polled for this long is considered gone even
    /// if its process lives (a killed process is noticed at once). Default 45 s.
    pub session_timeout: Duration,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            group_id: None,
            auto_offset_reset: AutoOffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            commit_on_revoke: false,
            max_poll_records: 500,
            max_partition_fetch_bytes: 1 << 20,
            session_timeout: Duration::from_secs(45),
        }
    }
}

/// Broker-wide settings.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Run retention and compaction in a background thread every `cleaner_interval`.
    /// Default true.
    pub background_cleaner: bool,
    /// How often the background cleaner runs (`log.retention.check.interval.ms`). Default 30 s.
    pub cleaner_interval: Duration,
    /// How often a long-polling consumer looks at the files for records written by other
    /// processes (records written in this process wake it at once). Default 20 ms.
    pub external_poll_interval: Duration,
    /// The memory compaction may use for its map of keys to their latest offsets
    /// (`log.cleaner.dedupe.buffer.size`), counted as key bytes plus
    /// [`OFFSET_MAP_ENTRY_OVERHEAD`] per key. A partition with more keys is compacted in
    /// several passes. Default 128 MiB.
    pub cleaner_offset_map_bytes: usize,
}

/// Bytes counted per key in the compaction offset map besides the key itself (the offset, the
/// map's slot and the key's allocation), for [`BrokerConfig::cleaner_offset_map_bytes`].
pub const OFFSET_MAP_ENTRY_OVERHEAD: usize = 64;

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            background_cleaner: true,
            cleaner_interval: Duration::from_secs(30),
            external_poll_interval: Duration::from_millis(20),
            cleaner_offset_map_bytes: 128 << 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_validation_settings_take_confluent_redpanda_and_strata_names() {
        let c = TopicConfig::from_pairs([
            ("confluent.value.schema.validation", "true"),
            (
                "confluent.value.subject.name.strategy",
                "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy",
            ),
            ("redpanda.key.schema.id.validation", "true"),
            ("redpanda.key.subject.name.strategy", "RecordNameStrategy"),
        ])
        .unwrap();
        assert_eq!(c.value_schema_validation.mode, ValidationMode::SchemaId);
        assert_eq!(
            c.value_schema_validation.strategy,
            SubjectNameStrategy::TopicRecordNameStrategy
        );
        assert_eq!(c.key_schema_validation.mode, ValidationMode::SchemaId);
        assert_eq!(
            c.key_schema_validation.strategy,
            SubjectNameStrategy::RecordNameStrategy
        );

        let mut full =
            TopicConfig::from_pairs([("strata.value.schema.validation", "full")]).unwrap();
        assert_eq!(full.value_schema_validation.mode, ValidationMode::Full);
        full.set("confluent.value.schema.validation", "true")
            .unwrap();
        assert_eq!(
            full.value_schema_validation.mode,
            ValidationMode::Full,
            "turning id validation on keeps full validation"
        );
        full.set("confluent.value.schema.validation", "false")
            .unwrap();
        assert_eq!(full.value_schema_validation.mode, ValidationMode::Off);

        let pairs = c.to_pairs();
        let get = |k: &str| pairs.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("confluent.value.schema.validation"), "true");
        assert_eq!(get("strata.value.schema.validation"), "true");
        assert_eq!(
            get("confluent.key.subject.name.strategy"),
            "io.confluent.kafka.serializers.subject.RecordNameStrategy"
        );
        // Every listed pair sets back to the same configuration.
        let again = TopicConfig::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn reset_returns_a_setting_or_its_redpanda_alias_to_the_default() {
        let mut c = TopicConfig::from_pairs([
            ("redpanda.key.schema.id.validation", "true"),
            ("confluent.key.subject.name.strategy", "RecordNameStrategy"),
            ("retention.ms", "1000"),
        ])
        .unwrap();
        c.reset("redpanda.key.schema.id.validation").unwrap();
        assert_eq!(c.key_schema_validation.mode, ValidationMode::Off);
        c.reset("redpanda.key.subject.name.strategy").unwrap();
        assert_eq!(
            c.key_schema_validation.strategy,
            SubjectNameStrategy::TopicNameStrategy
        );
        c.reset("retention.ms").unwrap();
        assert_eq!(c, TopicConfig::default());
        assert!(same_topic_setting(
            "redpanda.value.schema.id.validation",
            "strata.value.schema.validation"
        ));
        assert!(same_topic_setting(
            "redpanda.key.subject.name.strategy",
            "confluent.key.subject.name.strategy"
        ));
        assert!(!same_topic_setting(
            "confluent.key.schema.validation",
            "confluent.value.schema.validation"
        ));

        let e = c.reset("redpanda.no.such.key").unwrap_err().to_string();
        assert!(e.contains("redpanda.no.such.key"), "{e}");
        assert_eq!(c, TopicConfig::default(), "a refused reset changes nothing");
    }

    #[test]
    fn bad_schema_validation_values_are_refused_naming_the_key() {
        for (key, value) in [
            ("confluent.value.schema.validation", "yes"),
            ("strata.key.schema.validation", "partial"),
            ("redpanda.value.subject.name.strategy", "TopicStrategy"),
        ] {
            let e = TopicConfig::from_pairs([(key, value)])
                .unwrap_err()
                .to_string();
            assert!(e.contains(value), "{key}={value}: {e}");
        }
    }

    #[test]
    fn kafka_style_pairs_set_each_setting() {
        let c = TopicConfig::from_pairs([
            ("retention.ms", "-1"),
            ("cleanup.policy", "delete,compact"),
            ("segment.bytes", "4096"),
            ("message.timestamp.type", "LogAppendTime"),
        ])
        .unwrap();
        assert_eq!(c.retention_ms, None);
        assert_eq!(c.cleanup_policy, CleanupPolicy::CompactDelete);
        assert_eq!(c.segment_bytes, 4096);
        assert_eq!(c.timestamp_type, TimestampType::LogAppendTime);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected_with_the_key() {
        let e = TopicConfig::from_pairs([("retention.hours", "1")]).unwrap_err();
        assert!(e.to_string().contains("retention.hours"), "{e}");
        let e = TopicConfig::from_pairs([("segment.bytes", "ten")]).unwrap_err();
        assert!(e.to_string().contains("whole number"), "{e}");
    }

    #[test]
    fn pairs_round_trip() {
        let mut c = TopicConfig {
            retention_bytes: Some(12345),
            ..TopicConfig::default()
        };
        c.cleanup_policy = CleanupPolicy::Compact;
        let pairs = c.to_pairs();
        let back = TopicConfig::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(back, c);
    }
}
