//! `strata groups list|describe|reset-offsets|delete`: consumer groups of the bundled broker,
//! or of Kafka with `--bootstrap-servers` ([`kafka`]), in the style of
//! `kafka-consumer-groups.sh`. `reset-offsets` is a dry run unless `--execute`, and refuses to
//! apply while the group has live members (they would overwrite it), as Kafka's tool does.

mod kafka;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{ArgGroup, Args, Subcommand};
use serde_json::{json, Value};
use strata_broker::{Broker, ConsumerConfig, GroupDescription, TopicPartition};

use crate::broker_args::{BrokerArgs, DEFAULT_LOG_DIR};
use crate::output::{negative, print_json, Output};

/// A group as `describe` shows it, from either broker.
pub struct GroupView {
    group: String,
    /// Kafka's group state (the bundled broker has none).
    state: Option<String>,
    members: Vec<MemberView>,
    offsets: Vec<OffsetView>,
}

/// A live member: its id, its process (the bundled broker: the pid; Kafka: client id and
/// host), the topics it subscribed to and the partitions it was assigned.
pub struct MemberView {
    member_id: String,
    client: String,
    pid: Option<u32>,
    topics: Vec<String>,
    assignment: Vec<(String, i32)>,
}

/// A partition's committed offset (none yet: `-`), end offset and lag.
pub struct OffsetView {
    topic: String,
    partition: i32,
    committed: Option<i64>,
    end: i64,
    lag: Option<i64>,
}

impl From<GroupDescription> for GroupView {
    fn from(d: GroupDescription) -> Self {
        GroupView {
            group: d.group,
            state: None,
            members: d
                .members
                .into_iter()
                .map(|m| MemberView {
                    member_id: m.member_id,
                    client: format!("pid {}", m.pid),
                    pid: Some(m.pid),
                    topics: m.topics,
                    assignment: m
                        .assignment
                        .into_iter()
                        .map(|tp| (tp.topic, tp.partition))
                        .collect(),
                })
                .collect(),
            offsets: d
                .offsets
                .into_iter()
                .map(|o| OffsetView {
                    topic: o.topic_partition.topic,
                    partition: o.topic_partition.partition,
                    committed: Some(o.committed),
                    end: o.log_end_offset,
                    lag: Some(o.lag),
                })
                .collect(),
        }
    }
}

/// Where the groups are.
enum Groups {
    Bundled(Broker),
    Kafka(kafka::Kafka),
}

impl Groups {
    /// The bundled broker's existing log directory, or Kafka with `--bootstrap-servers`.
    fn open(args: &BrokerArgs) -> Result<Groups> {
        match &args.bootstrap_servers {
            Some(_) => match args.target()? {
                crate::broker_args::Target::Kafka(settings) => {
                    Ok(Groups::Kafka(kafka::Kafka::connect(&settings)?))
                }
                crate::broker_args::Target::Bundled(_) => unreachable!("servers were given"),
            },
            None => {
                if !args.kafka_config.is_empty() {
                    bail!("-X settings are for Kafka; give --bootstrap-servers too");
                }
                let dir = args
                    .log_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_LOG_DIR));
                let broker = Broker::open(&dir).with_context(|| {
                    format!("cannot open the bundled broker's log in {}", dir.display())
                })?;
                Ok(Groups::Bundled(broker))
            }
        }
    }
}

const EXAMPLES: &str = "\
Examples:
  strata groups list
  strata groups describe billing --output json
  strata groups reset-offsets billing --topic orders --to-earliest            # dry run
  strata groups reset-offsets billing --all-topics --shift-by -10 --execute
  strata groups reset-offsets billing --topic orders --to-datetime 2026-01-31T12:00:00Z --execute
  strata groups delete billing

Exit codes: 0 done; 1 refused (no such group or topic, the group has live members);
2 could not run.";

/// `strata groups`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct GroupsArgs {
    #[command(subcommand)]
    command: GroupsCommand,
}

#[derive(Debug, Subcommand)]
enum GroupsCommand {
    /// List the consumer groups.
    #[command(after_help = EXAMPLES)]
    List {
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Show a group's live members and their assignments, and per partition the committed
    /// offset, the end offset and the lag.
    #[command(after_help = EXAMPLES)]
    Describe {
        /// The group.
        group: String,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Move a group's committed offsets (a dry run that prints the new offsets, unless
    /// --execute). Offsets are kept inside each partition's log.
    #[command(after_help = EXAMPLES)]
    #[command(group(ArgGroup::new("scope").required(true).args(["topics", "all_topics"])))]
    #[command(group(ArgGroup::new("to").required(true).args(
        ["to_earliest", "to_latest", "to_offset", "to_datetime", "shift_by"])))]
    ResetOffsets {
        /// The group.
        group: String,
        /// A topic whose every partition is reset. Repeatable.
        #[arg(long = "topic", value_name = "TOPIC")]
        topics: Vec<String>,
        /// Every topic the group has committed offsets for.
        #[arg(long)]
        all_topics: bool,
        /// The first offset still in each partition.
        #[arg(long)]
        to_earliest: bool,
        /// The end of each partition (nothing left to read).
        #[arg(long)]
        to_latest: bool,
        /// This offset in every partition.
        #[arg(long, value_name = "N")]
        to_offset: Option<i64>,
        /// The first record at or after this time (ms since the epoch or RFC 3339); the end
        /// where no record is that recent.
        #[arg(long, value_name = "T")]
        to_datetime: Option<String>,
        /// The committed offset moved by N (negative goes back).
        #[arg(long, value_name = "N", allow_negative_numbers = true)]
        shift_by: Option<i64>,
        /// Apply the new offsets (without it nothing changes).
        #[arg(long)]
        execute: bool,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Delete a group's committed offsets (refused while it has live members).
    #[command(after_help = EXAMPLES)]
    Delete {
        /// The group.
        group: String,
        #[command(flatten)]
        broker: BrokerArgs,
    },
}

/// Where `reset-offsets` moves each partition.
#[derive(Debug, Clone)]
pub(crate) enum ResetTo {
    Earliest,
    Latest,
    Offset(i64),
    Time(i64),
    Shift(i64),
}

/// A broker error as the CLI reports it: a group or topic that does not exist, or a group with
/// live members, is a refusal (exit 1); anything else could not run (2).
fn refusal(e: strata_broker::Error) -> anyhow::Error {
    match e {
        strata_broker::Error::UnknownGroup { .. }
        | strata_broker::Error::GroupNotEmpty { .. }
        | strata_broker::Error::UnknownTopic { .. } => negative(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

/// Run `strata groups`.
pub fn run(args: GroupsArgs, output: Output) -> Result<()> {
    match args.command {
        GroupsCommand::List { broker } => {
            let groups = match Groups::open(&broker)? {
                Groups::Bundled(b) => b.list_groups().map_err(refusal)?,
                Groups::Kafka(k) => k.list()?,
            };
            match output {
                Output::Text => {
                    for g in &groups {
                        println!("{g}");
                    }
                }
                Output::Json => print_json(&json!({ "groups": groups })),
            }
            Ok(())
        }
        GroupsCommand::Describe { group, broker } => {
            let d: GroupView = match Groups::open(&broker)? {
                Groups::Bundled(b) => b.describe_group(&group).map_err(refusal)?.into(),
                Groups::Kafka(k) => k.describe(&group)?,
            };
            match output {
                Output::Text => print!("{}", describe_text(&d)),
                Output::Json => print_json(&describe_json(&d)),
            }
            Ok(())
        }
        GroupsCommand::Delete { group, broker } => {
            match Groups::open(&broker)? {
                Groups::Bundled(b) => b.delete_group(&group).map_err(refusal)?,
                Groups::Kafka(k) => k.delete(&group)?,
            }
            match output {
                Output::Text => println!("deleted group {group}"),
                Output::Json => print_json(&json!({ "group": group, "deleted": true })),
            }
            Ok(())
        }
        GroupsCommand::ResetOffsets {
            group,
            topics,
            all_topics,
            to_earliest,
            to_latest,
            to_offset,
            to_datetime,
            shift_by,
            execute,
            broker,
        } => {
            let to = match (to_offset, &to_datetime, shift_by) {
                (Some(n), _, _) => ResetTo::Offset(n),
                (_, Some(t), _) => ResetTo::Time(parse_time(t)?),
                (_, _, Some(n)) => ResetTo::Shift(n),
                _ if to_earliest => ResetTo::Earliest,
                _ if to_latest => ResetTo::Latest,
                _ => return Err(anyhow!("give one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")),
            };
            let plan = match Groups::open(&broker)? {
                Groups::Bundled(b) => reset(&b, &group, &topics, all_topics, &to, execute)?,
                Groups::Kafka(k) => k.reset(&group, &topics, all_topics, &to, execute)?,
            };
            print_plan(&group, &plan, execute, output);
            Ok(())
        }
    }
}

fn parse_time(text: &str) -> Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let t = humantime::parse_rfc3339_weak(text).map_err(|e| {
        anyhow!("--to-datetime '{text}' is neither ms since the epoch nor RFC 3339: {e}")
    })?;
    let ms = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| anyhow!("--to-datetime '{text}' is before 1970"))?
        .as_millis();
    i64::try_from(ms).map_err(|_| anyhow!("--to-datetime '{text}' is too far in the future"))
}

fn describe_text(d: &GroupView) -> String {
    let mut out = format!("Group: {}\tMembers: {}", d.group, d.members.len());
    if let Some(state) = &d.state {
        out.push_str(&format!("\tState: {state}"));
    }
    out.push('\n');
    for m in &d.members {
        let assigned: Vec<String> = m
            .assignment
            .iter()
            .map(|(t, p)| format!("{t}-{p}"))
            .collect();
        out.push_str(&format!(
            "\tMember: {}\tClient: {}\tTopics: {}\tAssigned: {}\n",
            m.member_id,
            m.client,
            m.topics.join(","),
            if assigned.is_empty() {
                "-".to_string()
            } else {
                assigned.join(",")
            }
        ));
    }
    out.push_str("TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\n");
    let dash = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
    for o in &d.offsets {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            o.topic,
            o.partition,
            dash(o.committed),
            o.end,
            dash(o.lag)
        ));
    }
    out
}

fn describe_json(d: &GroupView) -> Value {
    let mut out = json!({
        "group": d.group,
        "members": d.members.iter().map(|m| json!({
            "member_id": m.member_id,
            "client": m.client,
            "topics": m.topics,
            "assignment": m.assignment.iter().map(|(t, p)| json!({
                "topic": t,
                "partition": p,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "offsets": d.offsets.iter().map(|o| json!({
            "topic": o.topic,
            "partition": o.partition,
            "committed_offset": o.committed,
            "log_end_offset": o.end,
            "lag": o.lag,
        })).collect::<Vec<_>>(),
    });
    if let Some(state) = &d.state {
        out["state"] = json!(state);
    }
    for (j, m) in d.members.iter().enumerate() {
        if let Some(pid) = m.pid {
            out["members"][j]["pid"] = json!(pid);
        }
    }
    out
}

/// A reset plan: per partition, the committed offset (if any) and the new one.
pub(crate) type Plan = Vec<((String, i32), Option<i64>, i64)>;

fn print_plan(group: &str, plan: &Plan, execute: bool, output: Output) {
    match output {
        Output::Text => {
            println!("GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tNEW-OFFSET");
            for ((topic, partition), current, new) in plan {
                let current = current.map_or("-".to_string(), |c| c.to_string());
                println!("{group}\t{topic}\t{partition}\t{current}\t{new}");
            }
            if !execute {
                eprintln!("dry run: nothing changed; add --execute to apply these offsets");
            }
        }
        Output::Json => print_json(&json!({
            "group": group,
            "executed": execute,
            "offsets": plan.iter().map(|((topic, partition), current, new)| json!({
                "topic": topic,
                "partition": partition,
                "current_offset": current,
                "new_offset": new,
            })).collect::<Vec<_>>(),
        })),
    }
}

/// `strata groups reset-offsets`.
fn reset(
    broker: &Broker,
    group: &str,
    topics: &[String],
    all_topics: bool,
    to: &ResetTo,
    execute: bool,
) -> Result<Plan> {
    // A group never used has no description; it starts with no committed offsets.
    let description = match broker.describe_group(group) {
        Ok(d) => Some(d),
        Err(strata_broker::Error::UnknownGroup { .. }) => None,
        Err(e) => return Err(refusal(e)),
    };
    let members = description.as_ref().map_or(0, |d| d.members.len());
    if execute && members > 0 {
        return Err(negative(format!(
            "group `{group}` has {members} live member(s); offsets can only be reset while the \
             group is inactive: stop its consumers first"
        )));
    }
    let committed: BTreeMap<(String, i32), i64> = description
        .iter()
        .flat_map(|d| &d.offsets)
        .map(|o| {
            (
                (o.topic_partition.topic.clone(), o.topic_partition.partition),
                o.committed,
            )
        })
        .collect();
    let mut partitions: Vec<TopicPartition> = Vec::new();
    if all_topics {
        partitions.extend(
            committed
                .keys()
                .map(|(t, p)| TopicPartition::new(t.clone(), *p)),
        );
    } else {
        for t in topics {
            let d = broker.describe_topic(t).map_err(refusal)?;
            partitions.extend(
                d.partitions
                    .iter()
                    .map(|p| TopicPartition::new(t.clone(), p.partition)),
            );
        }
    }
    let consumer = broker.consumer(ConsumerConfig {
        group_id: Some(group.to_owned()),
        enable_auto_commit: false,
        ..ConsumerConfig::default()
    })?;
    let mut plan: Vec<(TopicPartition, Option<i64>, i64)> = Vec::new();
    for tp in partitions {
        let (start, end) = broker.offsets(&tp.topic, tp.partition).map_err(refusal)?;
        let current = committed.get(&(tp.topic.clone(), tp.partition)).copied();
        let target = match to {
            ResetTo::Earliest => start,
            ResetTo::Latest => end,
            ResetTo::Offset(n) => *n,
            ResetTo::Time(ts) => consumer
                .offsets_for_times(&[(tp.clone(), *ts)])?
                .into_iter()
                .next()
                .flatten()
                .map_or(end, |o| o.offset),
            ResetTo::Shift(n) => {
                let Some(c) = current else {
                    return Err(negative(format!(
                        "group `{group}` has no committed offset for {}-{} to shift; use \
                         --to-earliest, --to-latest or --to-offset for it",
                        tp.topic, tp.partition
                    )));
                };
                c.saturating_add(*n)
            }
        };
        plan.push((tp, current, target.clamp(start, end)));
    }
    if execute {
        let offsets: Vec<(TopicPartition, i64)> =
            plan.iter().map(|(tp, _, new)| (tp.clone(), *new)).collect();
        consumer.commit_offsets(&offsets).map_err(refusal)?;
    }
    Ok(plan
        .into_iter()
        .map(|(tp, current, new)| ((tp.topic, tp.partition), current, new))
        .collect())
}
