//! `strata topics`: topics administered as `kafka-topics.sh` does (`create`, `list`,
//! `describe`, `alter`, `add-partitions`, `delete`, in `topics/admin.rs`) on the bundled broker
//! or on Kafka (`topics/kafka.rs`); and damage found and removed in the
//! bundled broker's log (`verify`, `repair`).
//!
//! Verify reads every batch and reports each damaged stretch (a byte changed on disk, a bad
//! sector) with its offsets; repair removes the damaged bytes of one partition, keeping every
//! intact batch and its offsets, or with `--truncate` cuts the partition at the first damage.
//! Neither lowers the partition's next offset. Only the bundled broker: Kafka repairs its own
//! logs.

mod admin;
mod kafka;

pub(crate) use kafka::admin_code;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use strata_broker::{Broker, Damage, PartitionCheck, RepairMode, RepairReport};

use self::admin::Admin;
use crate::broker_args::{BrokerArgs, DEFAULT_LOG_DIR};
use crate::output::{negative, print_json, Output};

const EXAMPLES: &str = "\
Examples:
  strata topics create orders --partitions 3 --config cleanup.policy=compact --config retention.ms=-1
  strata topics list
  strata topics describe orders --output json
  strata topics alter orders --config retention.ms=86400000 --delete-config cleanup.policy
  strata topics add-partitions orders --partitions 6
  strata topics delete orders
  strata topics list --bootstrap-servers kafka:9092    # the same commands on Kafka
  strata topics verify                      # every topic of ./strata-data/log
  strata topics verify orders --output json
  strata topics repair orders --partition 2             # drop only the damaged batches
  strata topics repair orders --partition 2 --truncate  # cut the partition at the damage

Exit codes: 0 done; 1 refused (the topic does not exist or already exists, partitions would
shrink); 2 could not run (a bad key or value, the log directory, Kafka unreachable).
verify 0 no damage (a torn tail, which the next write cuts off, is reported but is not
damage), 1 damage found; repair 0 repaired or nothing to do; 2 could not run.";

/// `strata topics`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct TopicsArgs {
    #[command(subcommand)]
    command: TopicsCommand,
}

#[derive(Debug, Subcommand)]
enum TopicsCommand {
    /// Create a topic with its partitions and settings (kafka-topics.sh --create).
    #[command(after_help = EXAMPLES)]
    Create {
        /// The topic.
        topic: String,
        /// Number of partitions.
        #[arg(long, value_name = "N", default_value_t = 1)]
        partitions: u32,
        /// A topic setting, KEY=VALUE (cleanup.policy, retention.ms, retention.bytes,
        /// segment.bytes, segment.ms, min.compaction.lag.ms, delete.retention.ms,
        /// max.message.bytes, message.timestamp.type). Repeatable.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// List the topics.
    #[command(after_help = EXAMPLES)]
    List {
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Show a topic's partitions (start and end offsets, size) and every setting with its value
    /// and whether it is the default.
    #[command(after_help = EXAMPLES)]
    Describe {
        /// The topic.
        topic: String,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Change a topic's settings: --config sets, --delete-config goes back to the default.
    #[command(after_help = EXAMPLES)]
    Alter {
        /// The topic.
        topic: String,
        /// A setting to change, KEY=VALUE. Repeatable.
        #[arg(
            long = "config",
            value_name = "KEY=VALUE",
            required_unless_present = "delete_configs"
        )]
        configs: Vec<String>,
        /// A setting to put back to its default. Repeatable.
        #[arg(long = "delete-config", value_name = "KEY")]
        delete_configs: Vec<String>,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Grow a topic to N partitions in total (partitions are never removed).
    #[command(after_help = EXAMPLES)]
    AddPartitions {
        /// The topic.
        topic: String,
        /// The new total number of partitions, more than the topic has.
        #[arg(long, value_name = "N")]
        partitions: u32,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Delete a topic and its data.
    #[command(after_help = EXAMPLES)]
    Delete {
        /// The topic.
        topic: String,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Read every batch of a topic (or of every topic) in the bundled broker's log and report
    /// damage: file, byte position and the offsets it holds.
    #[command(after_help = EXAMPLES)]
    Verify {
        /// The topic (default: every topic).
        topic: Option<String>,
        /// Only this partition.
        #[arg(long, value_name = "P", requires = "topic")]
        partition: Option<i32>,
        #[command(flatten)]
        log: LogDir,
    },
    /// Remove the damage of one partition: only the damaged bytes (every intact batch keeps
    /// its offset; the partition has gaps there), or everything from the first damage with
    /// --truncate. Appends to the partition wait while it runs.
    #[command(after_help = EXAMPLES)]
    Repair {
        /// The topic.
        topic: String,
        /// The partition.
        #[arg(long, value_name = "P")]
        partition: i32,
        /// Cut the partition at the first damage, dropping the intact batches after it too.
        #[arg(long)]
        truncate: bool,
        #[command(flatten)]
        log: LogDir,
    },
}

/// `--log-dir`, as produce and consume take it.
#[derive(Debug, Args)]
pub(crate) struct LogDir {
    /// The bundled broker's log directory [default: ./strata-data/log].
    #[arg(long, env = "STRATA_LOG_DIR", value_name = "DIR")]
    log_dir: Option<PathBuf>,
}

impl LogDir {
    fn dir(&self) -> PathBuf {
        self.log_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_LOG_DIR))
    }

    pub(crate) fn open(&self) -> Result<Broker> {
        let dir = self.dir();
        Broker::open(&dir)
            .with_context(|| format!("cannot open the bundled broker's log in {}", dir.display()))
    }
}

/// Run `strata topics`.
pub fn run(args: TopicsArgs, output: Output) -> Result<()> {
    match args.command {
        TopicsCommand::Create {
            topic,
            partitions,
            configs,
            broker,
        } => admin::create(&Admin::open(&broker)?, &topic, partitions, &configs, output),
        TopicsCommand::List { broker } => admin::list(&Admin::open(&broker)?, output),
        TopicsCommand::Describe { topic, broker } => {
            admin::describe(&Admin::open(&broker)?, &topic, output)
        }
        TopicsCommand::Alter {
            topic,
            configs,
            delete_configs,
            broker,
        } => admin::alter(
            &Admin::open(&broker)?,
            &topic,
            &configs,
            &delete_configs,
            output,
        ),
        TopicsCommand::AddPartitions {
            topic,
            partitions,
            broker,
        } => admin::add_partitions(&Admin::open(&broker)?, &topic, partitions, output),
        TopicsCommand::Delete { topic, broker } => {
            admin::delete(&Admin::open(&broker)?, &topic, output)
        }
        TopicsCommand::Verify {
            topic,
            partition,
            log,
        } => verify(&log.open()?, topic.as_deref(), partition, output),
        TopicsCommand::Repair {
            topic,
            partition,
            truncate,
            log,
        } => {
            let mode = if truncate {
                RepairMode::Truncate
            } else {
                RepairMode::RemoveDamaged
            };
            let report = log
                .open()?
                .repair_partition(&topic, partition, mode)
                .with_context(|| format!("cannot repair {topic}-{partition}"))?;
            match output {
                Output::Text => print!("{}", repair_text(&report)),
                Output::Json => print_json(&repair_json(&report)),
            }
            Ok(())
        }
    }
}

fn verify(
    broker: &Broker,
    topic: Option<&str>,
    partition: Option<i32>,
    output: Output,
) -> Result<()> {
    let topics = match topic {
        Some(t) => vec![t.to_string()],
        None => broker.list_topics().context("cannot list the topics")?,
    };
    let mut checks = Vec::new();
    for t in &topics {
        let partitions: Vec<i32> = match partition {
            Some(p) => vec![p],
            None => broker
                .describe_topic(t)
                .with_context(|| format!("cannot read topic '{t}'"))?
                .partitions
                .iter()
                .map(|p| p.partition)
                .collect(),
        };
        for p in partitions {
            checks.push(
                broker
                    .verify_partition(t, p)
                    .with_context(|| format!("cannot verify {t}-{p}"))?,
            );
        }
    }
    let corrupt: Vec<&PartitionCheck> = checks.iter().filter(|c| c.is_corrupt()).collect();
    match output {
        Output::Text => {
            for c in &checks {
                print!("{}", check_text(c));
            }
        }
        Output::Json => print_json(&json!({
            "partitions": checks.iter().map(check_json).collect::<Vec<_>>(),
            "corrupt": !corrupt.is_empty(),
        })),
    }
    if corrupt.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = corrupt
        .iter()
        .map(|c| format!("{}-{}", c.topic, c.partition))
        .collect();
    Err(negative(format!(
        "damage in {}; `strata topics repair TOPIC --partition P` removes it (add --truncate to cut the partition there)",
        names.join(", ")
    )))
}

fn offsets(d: &Damage) -> String {
    match d.resume_offset {
        Some(r) if r - 1 > d.first_offset => format!("offsets {} to {}", d.first_offset, r - 1),
        Some(_) => format!("offset {}", d.first_offset),
        None => format!("offsets from {}", d.first_offset),
    }
}

fn damage_line(d: &Damage) -> String {
    let what = if d.torn_tail {
        "torn tail, cut off by the next write"
    } else {
        "damaged"
    };
    format!(
        "  {} {what}: {} byte(s) at {} of {} ({})\n",
        offsets(d),
        d.length,
        d.position,
        d.path.display(),
        d.reason
    )
}

fn check_text(c: &PartitionCheck) -> String {
    let mut out = format!(
        "{}-{}: {} intact batch(es), {} record(s) in {} segment(s)",
        c.topic, c.partition, c.batches, c.records, c.segments
    );
    if c.damage.is_empty() {
        out.push_str(", no damage\n");
        return out;
    }
    out.push_str(&format!(", {} damaged stretch(es):\n", c.damage.len()));
    for d in &c.damage {
        out.push_str(&damage_line(d));
    }
    out
}

fn damage_json(d: &Damage) -> Value {
    json!({
        "path": d.path.display().to_string(),
        "position": d.position,
        "length": d.length,
        "first_offset": d.first_offset,
        "resume_offset": d.resume_offset,
        "torn_tail": d.torn_tail,
        "reason": d.reason,
    })
}

fn check_json(c: &PartitionCheck) -> Value {
    json!({
        "topic": c.topic,
        "partition": c.partition,
        "segments": c.segments,
        "batches": c.batches,
        "records": c.records,
        "corrupt": c.is_corrupt(),
        "damage": c.damage.iter().map(damage_json).collect::<Vec<_>>(),
    })
}

fn repair_text(r: &RepairReport) -> String {
    let tp = format!("{}-{}", r.topic, r.partition);
    if r.removed.is_empty() {
        return format!(
            "{tp}: no damage, nothing removed; next offset {}\n",
            r.next_offset
        );
    }
    let mut out = format!("{tp}: removed {} damaged stretch(es):\n", r.removed.len());
    for d in &r.removed {
        out.push_str(&damage_line(d));
    }
    if r.dropped_batches > 0 {
        out.push_str(&format!(
            "  and, cut off after the damage, {} intact batch(es) holding {} record(s)\n",
            r.dropped_batches, r.dropped_records
        ));
    } else {
        out.push_str("  every intact batch was kept with its offset\n");
    }
    out.push_str(&format!("{tp}: next offset {}\n", r.next_offset));
    out
}

fn repair_json(r: &RepairReport) -> Value {
    json!({
        "topic": r.topic,
        "partition": r.partition,
        "removed": r.removed.iter().map(damage_json).collect::<Vec<_>>(),
        "dropped_batches": r.dropped_batches,
        "dropped_records": r.dropped_records,
        "next_offset": r.next_offset,
    })
}
