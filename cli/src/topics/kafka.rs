//! `strata topics create|list|describe|alter|add-partitions|delete --bootstrap-servers`: the
//! same commands on Kafka through librdkafka's admin client. Kafka checks the settings itself.
//! rdkafka binds only the legacy AlterConfigs, which replaces a topic's every override at
//! once, so `alter` reads the overrides with DescribeConfigs, changes them and writes the full
//! set back, as kafka-configs.sh did before KIP-339 (a concurrent change in between is lost).
//! rdkafka 0.38 drops AlterConfigs' per-topic errors, so `alter` reads the settings back and
//! reports any it finds not applied as the broker's refusal.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigEntry, ConfigSource, NewPartitions, NewTopic,
    ResourceSpecifier, TopicReplication, TopicResult,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::metadata::Metadata;
use rdkafka::ClientConfig;
use strata_broker::same_topic_setting;

use super::admin::{PartitionView, TopicView};
use crate::output::negative;

const TIMEOUT: Duration = Duration::from_secs(30);

/// An admin client for these rdkafka settings.
pub struct Kafka {
    admin: AdminClient<DefaultClientContext>,
    rt: tokio::runtime::Runtime,
}

/// A topic-level refusal from Kafka: exit 1 for a topic that exists or does not, else 2.
fn refused(topic: &str, what: &str, code: RDKafkaErrorCode) -> anyhow::Error {
    match code {
        RDKafkaErrorCode::TopicAlreadyExists => negative(format!("topic `{topic}` already exists")),
        RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
            negative(format!("topic `{topic}` does not exist"))
        }
        RDKafkaErrorCode::InvalidPartitions => {
            negative(format!("cannot {what} topic `{topic}`: {code}"))
        }
        other => anyhow!("cannot {what} topic `{topic}`: Kafka answered {other}"),
    }
}

/// The per-topic results of an admin request: the first refusal, if any.
fn each_topic(results: Vec<TopicResult>, what: &str) -> Result<()> {
    for r in results {
        r.map_err(|(t, code)| refused(&t, what, code))?;
    }
    Ok(())
}

impl Kafka {
    pub fn connect(settings: &[(String, String)]) -> Result<Kafka> {
        let mut config = ClientConfig::new();
        for (k, v) in settings {
            config.set(k, v);
        }
        let admin = config
            .create()
            .context("cannot create a Kafka admin client")?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        Ok(Kafka { admin, rt })
    }

    fn options() -> AdminOptions {
        AdminOptions::new().operation_timeout(Some(TIMEOUT))
    }

    pub fn create(
        &self,
        topic: &str,
        partitions: u32,
        settings: &[(String, String)],
    ) -> Result<()> {
        let count = i32::try_from(partitions).context("--partitions is too large")?;
        let mut new = NewTopic::new(topic, count, TopicReplication::Fixed(-1));
        for (k, v) in settings {
            new = new.set(k, v);
        }
        let results = self
            .rt
            .block_on(self.admin.create_topics([&new], &Self::options()))
            .with_context(|| format!("cannot create topic `{topic}` on Kafka"))?;
        each_topic(results, "create")
    }

    pub fn delete(&self, topic: &str) -> Result<()> {
        let results = self
            .rt
            .block_on(self.admin.delete_topics(&[topic], &Self::options()))
            .with_context(|| format!("cannot delete topic `{topic}` on Kafka"))?;
        each_topic(results, "delete")
    }

    pub fn add_partitions(&self, topic: &str, total: u32) -> Result<()> {
        let new = NewPartitions::new(topic, total as usize);
        let results = self
            .rt
            .block_on(self.admin.create_partitions([&new], &Self::options()))
            .with_context(|| format!("cannot add partitions to `{topic}` on Kafka"))?;
        each_topic(results, "add partitions to")
    }

    /// The metadata of every topic (a request naming a topic makes brokers that auto-create
    /// topics create it).
    fn metadata(&self) -> Result<Metadata> {
        self.admin
            .inner()
            .fetch_metadata(None, TIMEOUT)
            .context("cannot read Kafka's metadata")
    }

    /// The topics, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        let md = self.metadata()?;
        let mut names: Vec<String> = md.topics().iter().map(|t| t.name().to_owned()).collect();
        names.sort();
        Ok(names)
    }

    /// How many partitions the topic has.
    pub fn partition_count(&self, topic: &str) -> Result<usize> {
        let md = self.metadata()?;
        let t = md
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .ok_or_else(|| negative(format!("topic `{topic}` does not exist")))?;
        if let Some(e) = t.error() {
            return Err(refused(topic, "describe", e.into()));
        }
        Ok(t.partitions().len())
    }

    pub fn describe(&self, topic: &str) -> Result<TopicView> {
        let count = self.partition_count(topic)?;
        let mut partitions = Vec::new();
        for p in 0..count as i32 {
            let (start, end) = self
                .admin
                .inner()
                .fetch_watermarks(topic, p, TIMEOUT)
                .with_context(|| format!("cannot read the offsets of {topic}-{p}"))?;
            partitions.push(PartitionView {
                partition: p,
                start_offset: start,
                end_offset: end,
                size_bytes: None,
                segments: None,
            });
        }
        let mut configs: Vec<_> = self
            .config_entries(topic, "describe")?
            .into_iter()
            .map(|e| (e.name, e.value.unwrap_or_default(), e.is_default))
            .collect();
        configs.sort();
        Ok(TopicView {
            name: topic.to_owned(),
            partitions,
            configs,
        })
    }

    /// `alter`: the topic's overrides without `deletes` and with `settings`, written back as
    /// the full set (legacy AlterConfigs).
    pub fn alter(
        &self,
        topic: &str,
        settings: &[(String, String)],
        deletes: &[String],
    ) -> Result<()> {
        let mut overrides = self.overrides(topic)?;
        // A key deletes every name of its setting (an alias, `strata.*.schema.validation`).
        overrides.retain(|(k, _)| !deletes.iter().any(|d| same_topic_setting(d, k)));
        for (k, v) in settings {
            overrides.retain(|(o, _)| !same_topic_setting(o, k));
            overrides.push((k.clone(), v.clone()));
        }
        let mut change = AlterConfig::new(ResourceSpecifier::Topic(topic));
        for (k, v) in &overrides {
            change = change.set(k, v);
        }
        let unsupported = |code: RDKafkaErrorCode| {
            anyhow!(
                "cannot alter topic `{topic}`: this Kafka broker does not support AlterConfigs \
                 ({code})"
            )
        };
        let results = self
            .rt
            .block_on(self.admin.alter_configs([&change], &Self::options()))
            .map_err(|e| match admin_code(&e) {
                Some(
                    code @ (RDKafkaErrorCode::UnsupportedFeature
                    | RDKafkaErrorCode::UnsupportedVersion),
                ) => unsupported(code),
                _ => anyhow!("cannot alter topic `{topic}` on Kafka: {e}"),
            })?;
        for r in results {
            r.map_err(|(_, code)| match code {
                RDKafkaErrorCode::UnsupportedFeature | RDKafkaErrorCode::UnsupportedVersion => {
                    unsupported(code)
                }
                other => refused(topic, "alter", other),
            })?;
        }
        // rdkafka does not pass on AlterConfigs' per-topic errors (a refused set comes back
        // as a success), so the settings are read back: what is not there was refused.
        let now = self.settings(topic)?;
        let same = |a: &str, b: &str| {
            a == b || matches!((a.parse::<i64>(), b.parse::<i64>()), (Ok(x), Ok(y)) if x == y)
        };
        let missing: Vec<String> = overrides
            .iter()
            .filter(|(k, v)| {
                !now.iter().any(|(n, cur, _)| {
                    same_topic_setting(n, k) && cur.as_deref().is_some_and(|c| same(c, v))
                })
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let stale: Vec<&str> = now
            .iter()
            .filter(|(k, _, set)| *set && !overrides.iter().any(|(o, _)| same_topic_setting(o, k)))
            .map(|(k, _, _)| k.as_str())
            .collect();
        if !missing.is_empty() || !stale.is_empty() {
            let mut what = Vec::new();
            if !missing.is_empty() {
                what.push(format!("not applied: {}", missing.join(", ")));
            }
            if !stale.is_empty() {
                what.push(format!("not reset: {}", stale.join(", ")));
            }
            return Err(anyhow!(
                "cannot alter topic `{topic}`: the broker refused the new settings ({}); \
                 check the keys and values",
                what.join("; ")
            ));
        }
        Ok(())
    }

    /// The topic's overrides (settings not at their default), by DescribeConfigs.
    fn overrides(&self, topic: &str) -> Result<Vec<(String, String)>> {
        let mut overrides = Vec::new();
        for (name, value, set) in self.settings(topic)? {
            if !set {
                continue;
            }
            match value {
                Some(v) => overrides.push((name, v)),
                None => {
                    return Err(anyhow!(
                        "cannot alter topic `{topic}`: Kafka hides the value of its setting \
                         `{name}`, which rewriting every setting would lose; use \
                         kafka-configs.sh --alter"
                    ))
                }
            }
        }
        Ok(overrides)
    }

    /// Every setting of the topic by DescribeConfigs: name, value (hidden if sensitive) and
    /// whether it is set on the topic.
    fn settings(&self, topic: &str) -> Result<Vec<(String, Option<String>, bool)>> {
        Ok(self
            .config_entries(topic, "alter")?
            .into_iter()
            .map(|e| {
                let set = e.source == ConfigSource::DynamicTopic;
                (e.name, e.value, set)
            })
            .collect())
    }

    /// The topic's config entries by DescribeConfigs; a refusal names `what` was being done.
    fn config_entries(&self, topic: &str, what: &str) -> Result<Vec<ConfigEntry>> {
        let results = self
            .rt
            .block_on(
                self.admin
                    .describe_configs([&ResourceSpecifier::Topic(topic)], &Self::options()),
            )
            .with_context(|| format!("cannot read the settings of `{topic}`"))?;
        let mut entries = Vec::new();
        for r in results {
            entries.extend(r.map_err(|code| refused(topic, what, code))?.entries);
        }
        Ok(entries)
    }
}

/// The error code of a failed admin call (librdkafka's own or the broker's).
pub(crate) fn admin_code(e: &rdkafka::error::KafkaError) -> Option<RDKafkaErrorCode> {
    match e {
        rdkafka::error::KafkaError::AdminOp(code) => Some(*code),
        other => other.rdkafka_error_code(),
    }
}
