//! `strata topics create|list|describe|alter|add-partitions|delete` on the bundled broker or
//! on Kafka with `--bootstrap-servers`, in the style of `kafka-topics.sh`. Settings go by Kafka's names (`cleanup.policy`,
//! `retention.ms`, ...); a key the broker does not know, or a value it cannot take, is refused
//! before anything changes, with the key and what it accepts. With `--output json`, create,
//! alter and add-partitions print the topic as `describe` shows it afterwards.

use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use strata_broker::{Broker, TopicConfig};

use super::kafka::Kafka;
use crate::broker_args::{BrokerArgs, Target};
use crate::output::{negative, print_json, Output};

/// Where the topics are: the bundled broker's log directory, or Kafka.
pub enum Admin {
    /// The bundled broker.
    Bundled(Broker),
    /// Kafka, through librdkafka's admin client.
    Kafka(Kafka),
}

impl Admin {
    /// The bundled broker of `--log-dir` (created if missing), or Kafka with
    /// `--bootstrap-servers`.
    pub fn open(args: &BrokerArgs) -> Result<Admin> {
        Ok(match args.target()? {
            Target::Bundled(broker) => Admin::Bundled(broker),
            Target::Kafka(settings) => Admin::Kafka(Kafka::connect(&settings)?),
        })
    }
}

/// A topic as `describe` shows it, from either broker.
pub struct TopicView {
    pub name: String,
    pub partitions: Vec<PartitionView>,
    /// Every setting: name, value, whether it is the default.
    pub configs: Vec<(String, String, bool)>,
}

/// One partition of a [`TopicView`]; Kafka does not report sizes and segments here.
pub struct PartitionView {
    pub partition: i32,
    pub start_offset: i64,
    pub end_offset: i64,
    pub size_bytes: Option<u64>,
    pub segments: Option<usize>,
}

/// The setting names the broker knows, in `describe` order.
fn known_keys() -> Vec<&'static str> {
    TopicConfig::default()
        .to_pairs()
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// Refuses a key the broker does not know, naming the ones it does.
fn check_key(key: &str) -> Result<()> {
    let known = known_keys();
    let alias = strata_broker::TOPIC_CONFIG_ALIASES
        .iter()
        .any(|(a, _)| *a == key);
    if known.contains(&key) || alias {
        return Ok(());
    }
    Err(anyhow!(
        "unknown topic setting `{key}`; the settings are {}",
        known.join(", ")
    ))
}

/// Applies `KEY=VALUE` settings to `config`, refusing unknown keys and bad values.
fn apply_settings(config: &mut TopicConfig, settings: &[String]) -> Result<()> {
    for kv in settings {
        let (key, value) = kv
            .split_once('=')
            .ok_or_else(|| anyhow!("--config '{kv}' is not KEY=VALUE"))?;
        let key = key.trim();
        check_key(key)?;
        config.set(key, value.trim())?;
    }
    Ok(())
}

/// A broker error as the CLI reports it: a topic that does not exist or already exists, or a
/// partition count that would shrink, is a refusal (exit 1); anything else could not run (2).
fn refusal(e: strata_broker::Error) -> anyhow::Error {
    match e {
        strata_broker::Error::UnknownTopic { .. }
        | strata_broker::Error::TopicAlreadyExists { .. }
        | strata_broker::Error::InvalidPartitions { .. } => negative(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

/// `strata topics create`.
pub fn create(
    admin: &Admin,
    topic: &str,
    partitions: u32,
    settings: &[String],
    output: Output,
) -> Result<()> {
    match admin {
        Admin::Bundled(broker) => {
            let mut config = TopicConfig::default();
            apply_settings(&mut config, settings)?;
            broker
                .create_topic(topic, partitions, config)
                .map_err(refusal)?;
        }
        Admin::Kafka(kafka) => {
            let mut pairs = Vec::new();
            for kv in settings {
                let (key, value) = kv
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--config '{kv}' is not KEY=VALUE"))?;
                pairs.push((key.trim().to_owned(), value.trim().to_owned()));
            }
            kafka.create(topic, partitions, &pairs)?;
        }
    }
    match output {
        Output::Text => println!("created topic {topic} with {partitions} partition(s)"),
        Output::Json => print_json(&describe_json(&describe_topic(admin, topic)?)),
    }
    Ok(())
}

/// `strata topics list`.
pub fn list(admin: &Admin, output: Output) -> Result<()> {
    let topics = match admin {
        Admin::Bundled(broker) => broker.list_topics().map_err(refusal)?,
        Admin::Kafka(kafka) => kafka.list()?,
    };
    match output {
        Output::Text => {
            for t in &topics {
                println!("{t}");
            }
        }
        Output::Json => print_json(&json!({ "topics": topics })),
    }
    Ok(())
}

fn describe_topic(admin: &Admin, topic: &str) -> Result<TopicView> {
    let broker = match admin {
        Admin::Bundled(broker) => broker,
        Admin::Kafka(kafka) => return kafka.describe(topic),
    };
    let d = broker.describe_topic(topic).map_err(refusal)?;
    Ok(TopicView {
        name: d.name,
        partitions: d
            .partitions
            .iter()
            .map(|p| PartitionView {
                partition: p.partition,
                start_offset: p.log_start_offset,
                end_offset: p.log_end_offset,
                size_bytes: Some(p.size_bytes),
                segments: Some(p.segments),
            })
            .collect(),
        configs: settings(&d.config),
    })
}

/// `strata topics describe`.
pub fn describe(admin: &Admin, topic: &str, output: Output) -> Result<()> {
    let d = describe_topic(admin, topic)?;
    match output {
        Output::Text => print!("{}", describe_text(&d)),
        Output::Json => print_json(&describe_json(&d)),
    }
    Ok(())
}

/// Every setting with its value and whether that is the default.
fn settings(config: &TopicConfig) -> Vec<(String, String, bool)> {
    let defaults = TopicConfig::default().to_pairs();
    config
        .to_pairs()
        .into_iter()
        .map(|(k, v)| {
            let default = defaults.iter().any(|(dk, dv)| *dk == k && *dv == v);
            (k.to_owned(), v, default)
        })
        .collect()
}

fn describe_text(d: &TopicView) -> String {
    let mut out = format!(
        "Topic: {}\tPartitionCount: {}\n",
        d.name,
        d.partitions.len()
    );
    for p in &d.partitions {
        out.push_str(&format!(
            "\tPartition: {}\tStartOffset: {}\tEndOffset: {}",
            p.partition, p.start_offset, p.end_offset
        ));
        if let (Some(size), Some(segments)) = (p.size_bytes, p.segments) {
            out.push_str(&format!("\tSize: {size} byte(s)\tSegments: {segments}"));
        }
        out.push('\n');
    }
    out.push_str("Configs:\n");
    for (k, v, default) in &d.configs {
        let source = if *default { "default" } else { "set" };
        out.push_str(&format!("\t{k}={v}\t({source})\n"));
    }
    out
}

fn describe_json(d: &TopicView) -> Value {
    json!({
        "topic": d.name,
        "partition_count": d.partitions.len(),
        "partitions": d.partitions.iter().map(|p| json!({
            "partition": p.partition,
            "start_offset": p.start_offset,
            "end_offset": p.end_offset,
            "size_bytes": p.size_bytes,
            "segments": p.segments,
        })).collect::<Vec<_>>(),
        "configs": d.configs.iter().map(|(k, v, default)| json!({
            "name": k,
            "value": v,
            "default": default,
        })).collect::<Vec<_>>(),
    })
}

/// `strata topics alter`: `deletes` go back to their defaults, then `settings` apply.
pub fn alter(
    admin: &Admin,
    topic: &str,
    settings: &[String],
    deletes: &[String],
    output: Output,
) -> Result<()> {
    let broker = match admin {
        Admin::Bundled(broker) => broker,
        Admin::Kafka(kafka) => {
            let mut pairs = Vec::new();
            for s in settings {
                let (k, v) = s
                    .split_once('=')
                    .ok_or_else(|| negative(format!("--config '{s}' is not KEY=VALUE")))?;
                pairs.push((k.trim().to_string(), v.trim().to_string()));
            }
            kafka.alter(topic, &pairs, deletes)?;
            match output {
                Output::Text => println!("altered the settings of topic {topic}"),
                Output::Json => print_json(&describe_json(&describe_topic(admin, topic)?)),
            }
            return Ok(());
        }
    };
    let mut config = broker.describe_topic(topic).map_err(refusal)?.config;
    for key in deletes {
        let key = key.trim();
        check_key(key)?;
        config.reset(key)?;
    }
    apply_settings(&mut config, settings)?;
    broker.alter_topic_config(topic, config).map_err(refusal)?;
    match output {
        Output::Text => println!("altered the settings of topic {topic}"),
        Output::Json => print_json(&describe_json(&describe_topic(admin, topic)?)),
    }
    Ok(())
}

/// `strata topics add-partitions`: grow to `total`, refusing a total that is not larger.
pub fn add_partitions(admin: &Admin, topic: &str, total: u32, output: Output) -> Result<()> {
    let has = match admin {
        Admin::Bundled(broker) => broker
            .describe_topic(topic)
            .map_err(refusal)?
            .partitions
            .len(),
        Admin::Kafka(kafka) => kafka.partition_count(topic)?,
    };
    if total as usize <= has {
        return Err(negative(format!(
            "topic `{topic}` has {has} partition(s); --partitions is the new total and must be \
             more than that (partitions are never removed)"
        )));
    }
    match admin {
        Admin::Bundled(broker) => broker.create_partitions(topic, total).map_err(refusal)?,
        Admin::Kafka(kafka) => kafka.add_partitions(topic, total)?,
    }
    match output {
        Output::Text => println!("topic {topic} now has {total} partition(s) (it had {has})"),
        Output::Json => print_json(&describe_json(&describe_topic(admin, topic)?)),
    }
    Ok(())
}

/// `strata topics delete`.
pub fn delete(admin: &Admin, topic: &str, output: Output) -> Result<()> {
    match admin {
        Admin::Bundled(broker) => broker.delete_topic(topic).map_err(refusal)?,
        Admin::Kafka(kafka) => kafka.delete(topic)?,
    }
    match output {
        Output::Text => println!("deleted topic {topic}"),
        Output::Json => print_json(&json!({ "topic": topic, "deleted": true })),
    }
    Ok(())
}
