//! `strata topics create|list|describe|alter|add-partitions|delete` on the bundled broker, in
//! the style of `kafka-topics.sh`. Settings go by Kafka's names (`cleanup.policy`,
//! `retention.ms`, ...); a key the broker does not know, or a value it cannot take, is refused
//! before anything changes, with the key and what it accepts. With `--output json`, create,
//! alter and add-partitions print the topic as `describe` shows it afterwards.

use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use strata_broker::{Broker, TopicConfig, TopicDescription};

use crate::output::{negative, print_json, Output};

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
    if known.contains(&key) {
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
    broker: &Broker,
    topic: &str,
    partitions: u32,
    settings: &[String],
    output: Output,
) -> Result<()> {
    let mut config = TopicConfig::default();
    apply_settings(&mut config, settings)?;
    broker
        .create_topic(topic, partitions, config)
        .map_err(refusal)?;
    match output {
        Output::Text => println!("created topic {topic} with {partitions} partition(s)"),
        Output::Json => print_json(&describe_json(&describe_topic(broker, topic)?)),
    }
    Ok(())
}

/// `strata topics list`.
pub fn list(broker: &Broker, output: Output) -> Result<()> {
    let topics = broker.list_topics().map_err(refusal)?;
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

fn describe_topic(broker: &Broker, topic: &str) -> Result<TopicDescription> {
    broker.describe_topic(topic).map_err(refusal)
}

/// `strata topics describe`.
pub fn describe(broker: &Broker, topic: &str, output: Output) -> Result<()> {
    let d = describe_topic(broker, topic)?;
    match output {
        Output::Text => print!("{}", describe_text(&d)),
        Output::Json => print_json(&describe_json(&d)),
    }
    Ok(())
}

/// Every setting with its value and whether that is the default.
fn settings(config: &TopicConfig) -> Vec<(&'static str, String, bool)> {
    let defaults = TopicConfig::default().to_pairs();
    config
        .to_pairs()
        .into_iter()
        .map(|(k, v)| {
            let default = defaults.iter().any(|(dk, dv)| *dk == k && *dv == v);
            (k, v, default)
        })
        .collect()
}

fn describe_text(d: &TopicDescription) -> String {
    let mut out = format!(
        "Topic: {}\tPartitionCount: {}\n",
        d.name,
        d.partitions.len()
    );
    for p in &d.partitions {
        out.push_str(&format!(
            "\tPartition: {}\tStartOffset: {}\tEndOffset: {}\tSize: {} byte(s)\tSegments: {}\n",
            p.partition, p.log_start_offset, p.log_end_offset, p.size_bytes, p.segments
        ));
    }
    out.push_str("Configs:\n");
    for (k, v, default) in settings(&d.config) {
        let source = if default { "default" } else { "set" };
        out.push_str(&format!("\t{k}={v}\t({source})\n"));
    }
    out
}

fn describe_json(d: &TopicDescription) -> Value {
    json!({
        "topic": d.name,
        "partition_count": d.partitions.len(),
        "partitions": d.partitions.iter().map(|p| json!({
            "partition": p.partition,
            "start_offset": p.log_start_offset,
            "end_offset": p.log_end_offset,
            "size_bytes": p.size_bytes,
            "segments": p.segments,
        })).collect::<Vec<_>>(),
        "configs": settings(&d.config).into_iter().map(|(k, v, default)| json!({
            "name": k,
            "value": v,
            "default": default,
        })).collect::<Vec<_>>(),
    })
}

/// `strata topics alter`: `deletes` go back to their defaults, then `settings` apply.
pub fn alter(
    broker: &Broker,
    topic: &str,
    settings: &[String],
    deletes: &[String],
    output: Output,
) -> Result<()> {
    let mut config = describe_topic(broker, topic)?.config;
    let defaults = TopicConfig::default().to_pairs();
    for key in deletes {
        let key = key.trim();
        check_key(key)?;
        if let Some((_, v)) = defaults.iter().find(|(k, _)| *k == key) {
            config.set(key, v)?;
        }
    }
    apply_settings(&mut config, settings)?;
    broker.alter_topic_config(topic, config).map_err(refusal)?;
    match output {
        Output::Text => println!("altered the settings of topic {topic}"),
        Output::Json => print_json(&describe_json(&describe_topic(broker, topic)?)),
    }
    Ok(())
}

/// `strata topics add-partitions`: grow to `total`, refusing a total that is not larger.
pub fn add_partitions(broker: &Broker, topic: &str, total: u32, output: Output) -> Result<()> {
    let has = describe_topic(broker, topic)?.partitions.len();
    if total as usize <= has {
        return Err(negative(format!(
            "topic `{topic}` has {has} partition(s); --partitions is the new total and must be \
             more than that (partitions are never removed)"
        )));
    }
    broker.create_partitions(topic, total).map_err(refusal)?;
    match output {
        Output::Text => println!("topic {topic} now has {total} partition(s) (it had {has})"),
        Output::Json => print_json(&describe_json(&describe_topic(broker, topic)?)),
    }
    Ok(())
}

/// `strata topics delete`.
pub fn delete(broker: &Broker, topic: &str, output: Output) -> Result<()> {
    broker.delete_topic(topic).map_err(refusal)?;
    match output {
        Output::Text => println!("deleted topic {topic}"),
        Output::Json => print_json(&json!({ "topic": topic, "deleted": true })),
    }
    Ok(())
}
