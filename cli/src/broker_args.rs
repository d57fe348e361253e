//! Where `produce` and `consume` send and read records: the bundled broker in a log directory
//! (the default) or Kafka (`--bootstrap-servers`, rdkafka settings passed through with `-X`).
//! Builds strata-serde transports (which seek, pipeline sends and commit exact offsets: a
//! command may stop in the middle of a poll's records); this module keeps only the flags.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use strata_broker::{ProducerRecord, RecordRef, TopicPartition};
use strata_serde::{
    BundledProducer, ConsumerTransport, KafkaConsumer, KafkaConsumerOptions, KafkaPipeline,
    KafkaProducer, ProducerTransport, StartAt,
};

/// The bundled broker's directory when neither flag nor variable names one.
pub const DEFAULT_LOG_DIR: &str = "strata-data/log";

/// Flags choosing the bundled broker or Kafka.
#[derive(Debug, Clone, Args)]
pub struct BrokerArgs {
    /// The bundled broker's log directory [default: ./strata-data/log].
    #[arg(long, env = "STRATA_LOG_DIR", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Kafka bootstrap servers (host:port,...): use Kafka instead of the bundled broker
    /// (--log-dir is then not used).
    #[arg(long, env = "STRATA_BOOTSTRAP_SERVERS", value_name = "HOSTS")]
    pub bootstrap_servers: Option<String>,
    /// An rdkafka (librdkafka) setting for Kafka, KEY=VALUE, e.g. -X security.protocol=SSL.
    /// Repeatable.
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub kafka_config: Vec<String>,
}

/// `--acks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum AcksArg {
    /// Do not wait for the write.
    #[value(name = "0")]
    Zero,
    /// Wait for the leader's write (the bundled broker: written to the OS).
    #[default]
    #[value(name = "1")]
    One,
    /// Wait for all replicas (the bundled broker: fsynced).
    All,
}

/// The broker a command talks to.
pub enum Target {
    /// The bundled broker.
    Bundled(strata_broker::Broker),
    /// Kafka, with the rdkafka settings.
    Kafka(Vec<(String, String)>),
}

impl BrokerArgs {
    /// Open the bundled broker or prepare the Kafka settings.
    pub fn target(&self) -> Result<Target> {
        match &self.bootstrap_servers {
            Some(servers) => {
                let mut settings = vec![("bootstrap.servers".to_string(), servers.clone())];
                for kv in &self.kafka_config {
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| anyhow!("-X '{kv}' is not KEY=VALUE"))?;
                    settings.push((k.trim().to_string(), v.trim().to_string()));
                }
                Ok(Target::Kafka(settings))
            }
            None => {
                if !self.kafka_config.is_empty() {
                    bail!("-X settings are for Kafka; give --bootstrap-servers too");
                }
                let dir = self
                    .log_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_LOG_DIR));
                let broker = strata_broker::Broker::open_or_create(&dir).with_context(|| {
                    format!("cannot open the bundled broker's log in {}", dir.display())
                })?;
                Ok(Target::Bundled(broker))
            }
        }
    }
}

fn setting<'a>(settings: &'a [(String, String)], key: &str) -> Option<&'a str> {
    settings
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Kafka settings with `defaults` added where the user set nothing.
pub fn with_defaults(
    settings: &[(String, String)],
    defaults: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = defaults
        .iter()
        .filter(|(k, _)| setting(settings, k).is_none())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    out.extend(settings.iter().cloned());
    out
}

/// A producer transport for `target`.
pub fn producer(target: &Target, acks: AcksArg) -> Result<Arc<dyn ProducerTransport>> {
    Ok(match target {
        Target::Bundled(broker) => {
            let config = strata_broker::ProducerConfig {
                acks: match acks {
                    AcksArg::Zero => strata_broker::Acks::None,
                    AcksArg::One => strata_broker::Acks::Leader,
                    AcksArg::All => strata_broker::Acks::All,
                },
                ..Default::default()
            };
            Arc::new(BundledProducer(broker.producer(config)))
        }
        Target::Kafka(settings) => {
            let acks = acks_setting(acks);
            // Records are sent one at a time, so lingering only adds latency; an unreachable
            // cluster fails a send after 30 s rather than librdkafka's 5 minutes.
            let settings = with_defaults(
                settings,
                &[
                    ("acks", acks),
                    ("linger.ms", "0"),
                    ("message.timeout.ms", "30000"),
                ],
            );
            Arc::new(KafkaProducer::new(settings).context("cannot create the Kafka producer")?)
        }
    })
}

/// Where `produce` sends: a transport, one acknowledged record at a time (the bundled broker),
/// or strata-serde's Kafka pipeline with up to [`MAX_IN_FLIGHT`] records awaiting
/// acknowledgement (Kafka, where one round trip per record would be slow). Counts what was
/// acknowledged.
pub enum Sink {
    /// Send and wait, record by record.
    Transport(Arc<dyn ProducerTransport>),
    /// Enqueue, and await acknowledgements in order; records are tagged with their line.
    Kafka(KafkaPipeline<usize>),
}

/// Records a Kafka sink lets wait for acknowledgement before it waits for the oldest.
pub const MAX_IN_FLIGHT: usize = 10_000;

impl Sink {
    /// A sink for `target`.
    pub fn new(target: &Target, acks: AcksArg) -> Result<Sink> {
        match target {
            Target::Bundled(_) => Ok(Sink::Transport(producer(target, acks)?)),
            Target::Kafka(settings) => {
                // An unreachable cluster fails a send after 30 s rather than librdkafka's 5 min.
                let settings = with_defaults(
                    settings,
                    &[
                        ("acks", acks_setting(acks)),
                        ("message.timeout.ms", "30000"),
                    ],
                );
                let producer =
                    KafkaProducer::new(settings).context("cannot create the Kafka producer")?;
                Ok(Sink::Kafka(producer.pipeline(MAX_IN_FLIGHT)))
            }
        }
    }

    /// Send the record of input line `line`; returns how many records are now acknowledged
    /// (by this call).
    pub async fn send(&mut self, line: usize, record: ProducerRecord) -> Result<u64> {
        match self {
            Sink::Transport(t) => {
                t.send(record)
                    .await
                    .with_context(|| format!("line {line} could not be produced"))?;
                Ok(1)
            }
            Sink::Kafka(pipeline) => {
                let headers: Vec<(&str, &[u8])> = record
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_slice()))
                    .collect();
                let r = RecordRef {
                    partition: record.partition,
                    key: record.key.as_deref(),
                    value: record.value.as_deref(),
                    headers: &headers,
                    timestamp: record.timestamp,
                };
                let acked = pipeline
                    .send(line, &record.topic, r)
                    .await
                    .map_err(undelivered)?;
                Ok(acked.len() as u64)
            }
        }
    }

    /// Wait until everything sent is written; returns how many more records were acknowledged.
    pub async fn finish(&mut self) -> Result<u64> {
        match self {
            Sink::Transport(t) => {
                t.flush().await.context("cannot flush the producer")?;
                Ok(0)
            }
            Sink::Kafka(pipeline) => Ok(pipeline.finish().await.map_err(undelivered)?.len() as u64),
        }
    }
}

fn undelivered(u: strata_serde::kafka::Undelivered<usize>) -> anyhow::Error {
    anyhow!("line {} could not be produced: {}", u.tag, u.error)
}

fn acks_setting(acks: AcksArg) -> &'static str {
    match acks {
        AcksArg::Zero => "0",
        AcksArg::One => "1",
        AcksArg::All => "all",
    }
}

/// Positions to commit: per partition, the next offset to read.
pub type Positions = HashMap<(String, i32), i64>;

/// A consumer transport that can also seek and commit exact offsets.
pub enum Source {
    /// The bundled broker's consumer.
    Bundled(strata_broker::Consumer),
    /// strata-serde's Kafka consumer.
    Kafka(KafkaConsumer),
}

impl Source {
    /// The transport the strata-serde `Consumer` reads through.
    pub fn transport(&self) -> Arc<dyn ConsumerTransport> {
        match self {
            Source::Bundled(c) => Arc::new(strata_serde::BundledConsumer(c.clone())),
            Source::Kafka(k) => Arc::new(k.clone()),
        }
    }

    /// The next offset to read in every assigned partition (after everything polled).
    pub fn positions(&self) -> Result<Positions> {
        match self {
            Source::Bundled(c) => {
                let mut out = Positions::new();
                for tp in c.assignment() {
                    let o = c
                        .position(&tp)
                        .with_context(|| format!("cannot read the position in {tp:?}"))?;
                    out.insert((tp.topic.clone(), tp.partition), o);
                }
                Ok(out)
            }
            Source::Kafka(k) => Ok(k.positions()),
        }
    }

    /// Leave the group now, so that the group's next member need not wait for this one's
    /// session to time out.
    pub fn close(&self) {
        match self {
            Source::Bundled(c) => {
                if let Err(e) = c.close() {
                    tracing::warn!(error = %e, "closing the consumer failed");
                }
            }
            // Dropping the last handle closes the consumer, which leaves the group.
            Source::Kafka(_) => {}
        }
    }

    /// Commit exactly `positions` to the group.
    pub fn commit(&self, positions: &Positions) -> Result<()> {
        if positions.is_empty() {
            return Ok(());
        }
        match self {
            Source::Bundled(c) => {
                let offsets: Vec<(TopicPartition, i64)> = positions
                    .iter()
                    .map(|((t, p), o)| (TopicPartition::new(t.clone(), *p), *o))
                    .collect();
                c.commit_offsets(&offsets)
                    .context("cannot commit the consumer group's offsets")
            }
            Source::Kafka(k) => k
                .commit_offsets(positions)
                .context("cannot commit the consumer group's offsets"),
        }
    }
}

/// Where a consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The group's committed offset, else the end (Kafka's default).
    Committed,
    /// The group's committed offset, else the beginning.
    Beginning,
    /// This offset in every chosen partition.
    Offset(i64),
    /// The first record at or after this time (ms since the epoch).
    Timestamp(i64),
    /// This many records before the end of every chosen partition (its first record when it
    /// holds fewer), whatever a group committed.
    FromEnd(i64),
    /// The first record of every chosen partition, whatever a group committed.
    Earliest,
    /// The end of every chosen partition (only new records), whatever a group committed.
    Latest,
}

impl Start {
    /// Whether the start is given explicitly (the partitions are then assigned and sought, not
    /// subscribed to through a group).
    fn explicit(self) -> bool {
        !matches!(self, Start::Committed | Start::Beginning)
    }
}

/// `consume --offset`, as kcat's `-o`: `N` (an absolute offset), `-N` (N records before the
/// end), `beginning` or `end`.
pub fn parse_offset(s: &str) -> Result<Start, String> {
    let bad = || {
        format!(
            "'{s}' is not an offset: give N (an absolute offset), -N (N records before the end), \
             beginning or end"
        )
    };
    match s {
        "beginning" => Ok(Start::Earliest),
        "end" => Ok(Start::Latest),
        _ => match s.strip_prefix('-') {
            Some(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse().map(Start::FromEnd).map_err(|_| bad())
            }
            Some(_) => Err(bad()),
            None if s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().map(Start::Offset).map_err(|_| bad())
            }
            None => Err(bad()),
        },
    }
}

/// A consumer for `topic` on `target`: with `group`, a member of that group (subscribed, or
/// assigned when `partition` or an explicit start is given); without, assigned every partition.
pub fn consumer(
    target: &Target,
    topic: &str,
    group: Option<&str>,
    partition: Option<i32>,
    start: Start,
) -> Result<Source> {
    match target {
        Target::Bundled(broker) => bundled_consumer(broker, topic, group, partition, start),
        Target::Kafka(settings) => kafka_consumer(settings, topic, group, partition, start),
    }
}

fn bundled_consumer(
    broker: &strata_broker::Broker,
    topic: &str,
    group: Option<&str>,
    partition: Option<i32>,
    start: Start,
) -> Result<Source> {
    let description = broker.describe_topic(topic).with_context(|| {
        format!(
            "topic '{topic}' does not exist in the bundled broker's log in {}",
            broker.dir().display()
        )
    })?;
    let config = strata_broker::ConsumerConfig {
        group_id: group.map(str::to_string),
        auto_offset_reset: match start {
            Start::Committed => strata_broker::AutoOffsetReset::Latest,
            _ => strata_broker::AutoOffsetReset::Earliest,
        },
        // The command commits exactly what it printed: periodically and at exit itself, and
        // the broker commits the positions of partitions a rebalance takes away (everything
        // returned before is printed by then), so the member that gets them goes on after.
        enable_auto_commit: false,
        commit_on_revoke: true,
        ..Default::default()
    };
    let c = broker
        .consumer(config)
        .context("cannot create the bundled broker's consumer")?;
    if group.is_some() && partition.is_none() && !start.explicit() {
        // Group membership: committed offsets, else the reset policy.
        c.subscribe(&[topic])
            .with_context(|| format!("cannot subscribe to '{topic}'"))?;
        return Ok(Source::Bundled(c));
    }
    let partitions: Vec<TopicPartition> = match partition {
        Some(p) => vec![TopicPartition::new(topic, p)],
        None => description
            .partitions
            .iter()
            .map(|p| TopicPartition::new(topic, p.partition))
            .collect(),
    };
    c.assign(&partitions)
        .with_context(|| format!("cannot read partitions of '{topic}'"))?;
    for tp in &partitions {
        match start {
            Start::Offset(o) => c.seek(tp, o)?,
            Start::FromEnd(n) => {
                let (first, end) = broker.offsets(topic, tp.partition)?;
                c.seek(tp, end.saturating_sub(n).max(first))?
            }
            Start::Earliest => c.seek_to_beginning(tp)?,
            Start::Latest => c.seek_to_end(tp)?,
            Start::Timestamp(ts) => {
                let found = c.offsets_for_times(&[(tp.clone(), ts)])?;
                match found.first().cloned().flatten() {
                    Some(at) => c.seek(tp, at.offset)?,
                    None => c.seek_to_end(tp)?,
                }
            }
            Start::Beginning => {
                let committed = match group {
                    Some(_) => c.committed(tp)?,
                    None => None,
                };
                match committed {
                    Some(o) => c.seek(tp, o)?,
                    None => c.seek_to_beginning(tp)?,
                }
            }
            Start::Committed => {
                let committed = match group {
                    Some(_) => c.committed(tp)?,
                    None => None,
                };
                match committed {
                    Some(o) => c.seek(tp, o)?,
                    None => c.seek_to_end(tp)?,
                }
            }
        }
    }
    Ok(Source::Bundled(c))
}

fn kafka_consumer(
    settings: &[(String, String)],
    topic: &str,
    group: Option<&str>,
    partition: Option<i32>,
    start: Start,
) -> Result<Source> {
    // Without a group, a throwaway one (rdkafka needs one), never committed.
    let group_id = match group {
        Some(g) => g.to_string(),
        None => format!("strata-consume-{}", std::process::id()),
    };
    let reset = match start {
        Start::Committed => "latest",
        _ => "earliest",
    };
    let settings = with_defaults(
        settings,
        &[
            ("group.id", group_id.as_str()),
            ("auto.offset.reset", reset),
            ("enable.auto.commit", "false"),
            // Partitions that move are revoked after a completed round, so the revocation
            // commit lands even on brokers that refuse commits while a round is in progress.
            ("partition.assignment.strategy", "cooperative-sticky"),
        ],
    );
    // The command commits exactly what it printed: periodically and at exit itself, and the
    // consumer commits what it handed out (printed by the next poll) when a rebalance takes
    // partitions away, so the member that gets them goes on after.
    let consumer = KafkaConsumer::with_options(
        settings,
        KafkaConsumerOptions {
            commit_on_revoke: group.is_some(),
            ..Default::default()
        },
    )
    .context("cannot create the Kafka consumer")?;
    if partition.is_none() && !start.explicit() {
        consumer
            .subscribe_to(&[topic])
            .with_context(|| format!("cannot subscribe to '{topic}'"))?;
    } else {
        let partitions = match partition {
            Some(p) => vec![p],
            None => consumer.partitions(topic, METADATA_TIMEOUT)?,
        };
        let at = match start {
            Start::Offset(o) => StartAt::Offset(o),
            Start::FromEnd(n) => StartAt::FromEnd(n),
            Start::Earliest | Start::Beginning => StartAt::Beginning,
            Start::Latest => StartAt::End,
            Start::Timestamp(ts) => StartAt::Timestamp(ts),
            Start::Committed => StartAt::Committed,
        };
        consumer.assign(topic, &partitions, at, METADATA_TIMEOUT)?;
    }
    Ok(Source::Kafka(consumer))
}

/// How long a Kafka metadata or offset lookup may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_kcat_reads_them() {
        assert_eq!(parse_offset("0"), Ok(Start::Offset(0)));
        assert_eq!(parse_offset("42"), Ok(Start::Offset(42)));
        assert_eq!(parse_offset("-1"), Ok(Start::FromEnd(1)));
        assert_eq!(parse_offset("-10"), Ok(Start::FromEnd(10)));
        assert_eq!(parse_offset("beginning"), Ok(Start::Earliest));
        assert_eq!(parse_offset("end"), Ok(Start::Latest));
        for bad in [
            "",
            "-",
            "--1",
            "1.5",
            "start",
            "+3",
            "-x",
            "99999999999999999999",
        ] {
            let e = parse_offset(bad).unwrap_err();
            assert!(e.contains("beginning or end"), "{bad:?}: {e}");
        }
    }
}
