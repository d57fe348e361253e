//! `strata consume`: schema-framed records in, JSON lines out, from the bundled broker or
//! Kafka. Records that cannot be decoded follow `--on-error` (fail, skip with a log line and a
//! count, or a dead-letter topic); none is dropped silently. With a group, the offsets of what
//! was printed (and skipped) are committed every few seconds, on rebalance (bundled broker) and
//! at exit, so the next run or member resumes after them.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value as Json};
use strata_broker::TopicPartition;
use strata_serde::wire::{Field, SchemaId};
use strata_serde::{Consumer, Deserializer, ErrorPolicy};

use crate::broker_args::{self, AcksArg, BrokerArgs, Positions, Source, Start, Target};
use crate::codec::{avro_direct, Reader};
use crate::connection::{runtime, RegistryArgs};
use crate::output::{finish, negative, notice, report_error, show_progress, Output};

/// How often a group member commits what it printed (Kafka's `auto.commit.interval.ms`).
const COMMIT_INTERVAL: Duration = Duration::from_secs(5);

/// How record keys are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum KeyFormat {
    /// UTF-8 text, printed as a JSON string.
    #[default]
    String,
    /// JSON text, printed as the JSON value.
    Json,
    /// Any bytes, printed as a base64 string.
    Base64,
    /// Framed with a schema from the registry, printed as its JSON value.
    Schema,
    /// Not printed.
    None,
}

/// `--on-error`: fail, skip or dlq:TOPIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnError {
    /// Stop with the error (exit 1).
    Fail,
    /// Log the record's position and the error, count it, go on.
    Skip,
    /// Send the raw record to this topic (headers name its origin and the error), go on.
    DeadLetter(String),
}

impl FromStr for OnError {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fail" => Ok(OnError::Fail),
            "skip" => Ok(OnError::Skip),
            _ => match s.strip_prefix("dlq:") {
                Some(t) if !t.is_empty() => Ok(OnError::DeadLetter(t.to_string())),
                _ => Err(format!(
                    "'{s}' is not fail, skip or dlq:TOPIC (a dead-letter topic)"
                )),
            },
        }
    }
}

const CONSUME_HELP: &str = "\
Output: one JSON object per record,
  {\"topic\", \"partition\", \"offset\", \"timestamp\", \"key\", \"value\", \"headers\", \"schema_id\"}
(value null for a tombstone; headers as {\"name\": \"text\"}, or {\"base64\": ...} for bytes that
are not UTF-8; schema_id the value's id, or its GUID as a string), or the value alone with
--value-only. Values are in the JSON form strata encode reads.

Where to start: with --group, the group's committed offsets (else the end, or the beginning
with --from-beginning); without, the end (only new records) or the beginning with
--from-beginning; --offset N|-N|beginning|end (as kcat's -o: -N is N records before the end)
or --from-timestamp T in every partition (or --partition P).
With --group, what was printed or skipped is committed every 5 seconds, when a rebalance hands
partitions to another member, and at exit (also on Ctrl-C), so the next run or member with
that group resumes after it (a crash re-delivers at most the last few seconds).

It stops after --max-messages records, after --idle-timeout without a record, or on Ctrl-C.
Damage in the bundled broker's log (a batch failing its checksum) stops the command with an
error naming the topic, partition and offsets (exit 2); --on-error skip reads on after it with
a log line saying what was skipped. A record that cannot be decoded (unknown schema id, bytes
that are not a frame, a payload that does not fit its schema) follows --on-error: fail (default, exit 1), skip (a log line and a
count in the summary) or dlq:TOPIC (the raw record goes to TOPIC, headers __strata_dlq_topic,
__strata_dlq_partition, __strata_dlq_offset and __strata_dlq_error say where from and why).

Stderr: a log line per skipped record, progress counters (--progress) and a summary
(`N record(s) consumed from 'T', S skipped, D dead-lettered`). With --output json the records
are the same JSON lines on stdout, and stderr holds JSON only: log lines as JSON objects, the
summary as {\"topic\", \"consumed\", \"skipped\", \"dead_lettered\"}, progress as
{\"progress\": {...}}, errors as one {\"error\", \"hint\", \"exit_code\"} object.

Examples:
  strata consume users --from-beginning --max-messages 10
  strata consume users --offset -5 --idle-timeout 1s         # the last 5 records of each partition
  strata consume users --group audit --idle-timeout 5s --on-error dlq:users-dlq
  strata consume users --bootstrap-servers localhost:9092 --from-beginning --value-only
  strata consume users --from-timestamp 2026-01-31T12:00:00Z --key-format json --output json";

/// `strata consume`.
#[derive(Debug, Args)]
#[command(after_help = CONSUME_HELP)]
pub struct ConsumeArgs {
    /// The topic.
    pub topic: String,
    /// Consume as a member of this consumer group and commit what was printed.
    #[arg(long, short, value_name = "GROUP")]
    pub group: Option<String>,
    /// Start at the beginning when there is no committed offset.
    #[arg(long, conflicts_with_all = ["offset", "from_timestamp"])]
    pub from_beginning: bool,
    /// Read only this partition.
    #[arg(long, value_name = "P")]
    pub partition: Option<i32>,
    /// Start at this offset, as kcat's -o: N (absolute), -N (N records before the end),
    /// beginning or end; a group's committed offsets are then not used.
    #[arg(long, value_name = "N|-N|beginning|end", conflicts_with = "from_timestamp", allow_negative_numbers = true, value_parser = broker_args::parse_offset)]
    pub offset: Option<Start>,
    /// Start at the first record at or after this time: ms since the epoch or RFC 3339
    /// (2026-01-31T12:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub from_timestamp: Option<String>,
    /// Stop after this many records.
    #[arg(long, value_name = "N")]
    pub max_messages: Option<u64>,
    /// Stop when no record arrives for this long, e.g. 5s (default: wait for ever).
    #[arg(long, value_name = "DURATION")]
    pub idle_timeout: Option<String>,
    /// What to do with a record that cannot be decoded: fail, skip or dlq:TOPIC.
    #[arg(long, value_name = "POLICY", default_value = "fail")]
    pub on_error: OnError,
    /// How keys are read.
    #[arg(long, value_enum, default_value_t = KeyFormat::String)]
    pub key_format: KeyFormat,
    /// Print each value alone, not the record object.
    #[arg(long)]
    pub value_only: bool,
    #[command(flatten)]
    pub progress: crate::output::ProgressArgs,
    #[command(flatten, next_help_heading = "Broker")]
    pub broker: BrokerArgs,
    #[command(flatten, next_help_heading = "Registry connection")]
    pub registry: RegistryArgs,
}

/// Run `strata consume`.
pub fn run(args: ConsumeArgs, output: Output) -> ExitCode {
    args.progress.apply();
    crate::logging::init(match output {
        Output::Text => crate::logging::LogFormat::Text,
        Output::Json => crate::logging::LogFormat::Json,
    });
    finish(consume(args, output), output)
}

fn strata_error(e: anyhow::Error) -> strata_serde::Error {
    strata_serde::Error::Deserialize(format!("{e:#}"))
}

struct KeyDecoder {
    format: KeyFormat,
    reader: Arc<Reader>,
}

#[async_trait]
impl Deserializer<Json> for KeyDecoder {
    async fn deserialize(
        &self,
        _topic: &str,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> strata_serde::Result<Json> {
        match self.format {
            KeyFormat::String => std::str::from_utf8(payload)
                .map(|s| Json::String(s.to_string()))
                .map_err(|e| {
                    strata_serde::Error::Deserialize(format!(
                        "the key is not UTF-8 ({e}); use --key-format base64 or schema"
                    ))
                }),
            KeyFormat::Json => serde_json::from_slice(payload)
                .map_err(|e| strata_serde::Error::Deserialize(format!("the key is not JSON: {e}"))),
            KeyFormat::Base64 => Ok(Json::String(
                base64::engine::general_purpose::STANDARD.encode(payload),
            )),
            KeyFormat::Schema => self
                .reader
                .decode(field, headers, payload)
                .await
                .map(|d| d.value)
                .map_err(|e| strata_error(e.context("the key cannot be decoded"))),
            KeyFormat::None => Ok(Json::Null),
        }
    }
}

/// A value decoded to JSON text, and the schema it was written with.
struct Shown {
    json: Vec<u8>,
    schema: SchemaId,
}

/// Decodes values straight to JSON text (see `Reader::decode_text`).
struct ValueDecoder(Arc<Reader>);

#[async_trait]
impl Deserializer<Shown> for ValueDecoder {
    async fn deserialize(
        &self,
        _topic: &str,
        field: Field,
        headers: &[(String, Bytes)],
        payload: &[u8],
    ) -> strata_serde::Result<Shown> {
        let mut json = Vec::with_capacity(payload.len() * 2 + 16);
        let schema = self
            .0
            .decode_text(field, headers, payload, &mut json)
            .await
            .map_err(strata_error)?;
        Ok(Shown { json, schema })
    }
}

/// Append `message` as the line `consume` prints: its value alone, or the record as
/// {"topic", "partition", "offset", "timestamp", "key", "value", "headers", "schema_id"}.
fn write_line(
    out: &mut Vec<u8>,
    m: &strata_serde::Message<Json, Shown>,
    value_only: bool,
    key_format: KeyFormat,
) -> Result<()> {
    if value_only {
        match &m.value {
            Some(v) => out.extend_from_slice(&v.json),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'\n');
        return Ok(());
    }
    out.extend_from_slice(b"{\"topic\":");
    serde_json::to_writer(&mut *out, &*m.topic)?;
    out.extend_from_slice(b",\"partition\":");
    avro_direct::write_int(out, i64::from(m.partition));
    out.extend_from_slice(b",\"offset\":");
    avro_direct::write_int(out, m.offset);
    out.extend_from_slice(b",\"timestamp\":");
    avro_direct::write_int(out, m.timestamp);
    out.extend_from_slice(b",\"key\":");
    match &m.key {
        Some(k) if key_format != KeyFormat::None => serde_json::to_writer(&mut *out, k)?,
        _ => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"value\":");
    match &m.value {
        Some(v) => out.extend_from_slice(&v.json),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"headers\":");
    if m.headers.is_empty() {
        out.extend_from_slice(b"{}");
    } else {
        serde_json::to_writer(&mut *out, &headers_json(&m.headers))?;
    }
    out.extend_from_slice(b",\"schema_id\":");
    match m.value.as_ref().map(|v| v.schema) {
        Some(SchemaId::Id(id)) => avro_direct::write_int(out, i64::from(id)),
        Some(id) => serde_json::to_writer(&mut *out, &schema_json(id))?,
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b"}\n");
    Ok(())
}

fn parse_time(text: &str) -> Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let t = humantime::parse_rfc3339_weak(text).map_err(|e| {
        anyhow!("--from-timestamp '{text}' is neither ms since the epoch nor RFC 3339: {e}")
    })?;
    let ms = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| anyhow!("--from-timestamp '{text}' is before 1970"))?
        .as_millis();
    i64::try_from(ms).map_err(|_| anyhow!("--from-timestamp '{text}' is too far in the future"))
}

fn headers_json(headers: &[(String, Bytes)]) -> Json {
    let mut o = Map::new();
    for (k, v) in headers {
        let shown = match std::str::from_utf8(v) {
            Ok(s) => Json::String(s.to_string()),
            Err(_) => json!({"base64": base64::engine::general_purpose::STANDARD.encode(v)}),
        };
        o.insert(k.clone(), shown);
    }
    Json::Object(o)
}

fn schema_json(id: SchemaId) -> Json {
    match id {
        SchemaId::Id(i) => json!(i),
        SchemaId::Guid(g) => json!(g.to_string()),
    }
}

fn consume(args: ConsumeArgs, output: Output) -> Result<()> {
    let idle = args
        .idle_timeout
        .as_deref()
        .map(|t| {
            humantime::parse_duration(t)
                .map_err(|e| anyhow!("--idle-timeout '{t}' is not a duration like 5s: {e}"))
        })
        .transpose()?;
    let start = match (&args.offset, &args.from_timestamp) {
        (Some(o), _) => *o,
        (None, Some(t)) => Start::Timestamp(parse_time(t)?),
        (None, None) if args.from_beginning => Start::Beginning,
        (None, None) => Start::Committed,
    };
    let client = args.registry.client()?;
    let registry = args.registry.registry_config()?.urls.join(",");
    let reader = Arc::new(Reader::new(client, registry));
    let rt = runtime()?;
    // rdkafka's consumer needs the runtime when it is created.
    let _entered = rt.enter();
    let target = args.broker.target()?;
    let source = broker_args::consumer(
        &target,
        &args.topic,
        args.group.as_deref(),
        args.partition,
        start,
    )?;
    let policy = match &args.on_error {
        OnError::Fail => ErrorPolicy::Fail,
        OnError::Skip => ErrorPolicy::Skip,
        OnError::DeadLetter(topic) => {
            if let Target::Bundled(broker) = &target {
                if broker.describe_topic(topic).is_err() {
                    broker
                        .create_topic(topic, 1, Default::default())
                        .or_else(|e| broker.describe_topic(topic).map(|_| ()).map_err(|_| e))
                        .with_context(|| {
                            format!("cannot create the dead-letter topic '{topic}'")
                        })?;
                }
            }
            ErrorPolicy::DeadLetter {
                topic: topic.clone(),
                producer: broker_args::producer(&target, AcksArg::All)?,
            }
        }
    };
    let consumer: Consumer<Json, Shown> = Consumer::new(
        source.transport(),
        Arc::new(KeyDecoder {
            format: args.key_format,
            reader: reader.clone(),
        }),
        Arc::new(ValueDecoder(reader)),
        policy,
    );

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut line = Vec::new();
    let progress = show_progress();
    let mut printed: u64 = 0;
    // Offsets of damaged batches skipped under --on-error skip.
    let mut unreadable: u64 = 0;
    // Per partition: the offset after the last record printed, and the first one left
    // unprinted when --max-messages stopped in the middle of a poll.
    let mut printed_at: Positions = HashMap::new();
    let mut unprinted: Positions = HashMap::new();
    let mut last_record = Instant::now();
    let mut last_progress = Instant::now();
    let mut last_commit = Instant::now();
    // Whether the loop ended with every polled record handled (false after Ctrl-C, which
    // abandons a poll in flight, whose records the broker counts as read).
    let mut clean = true;
    let result: Result<()> = rt.block_on(async {
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            if args.max_messages.is_some_and(|max| printed >= max) {
                break;
            }
            let wait = match idle {
                Some(idle) => {
                    let left = idle.saturating_sub(last_record.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    left.min(Duration::from_millis(500))
                }
                None => Duration::from_millis(500),
            };
            let messages = tokio::select! {
                m = consumer.poll(wait) => m,
                _ = &mut ctrl_c => {
                    clean = false;
                    break;
                }
            };
            let messages = match messages {
                // Damage in the log: with --on-error skip, read on after it and say so.
                Err(strata_serde::Error::Broker(e @ strata_broker::Error::Corrupt { .. }))
                    if args.on_error == OnError::Skip =>
                {
                    skip_corrupt(&source, &e)?;
                    if let strata_broker::Error::Corrupt {
                        offset,
                        resume_offset,
                        ..
                    } = e
                    {
                        unreadable += (resume_offset - offset).max(0) as u64;
                    }
                    continue;
                }
                other => other,
            };
            let messages = messages.map_err(|e| match e {
                strata_serde::Error::Deserialize(_) => {
                    // The library and the decoders each say "Could not deserialize the
                    // payload"; once is enough.
                    let message = e
                        .to_string()
                        .replace("Could not deserialize the payload: ", "");
                    negative(format!(
                        "{message} (--on-error skip or dlq:TOPIC goes past such records)"
                    ))
                }
                other => anyhow::Error::new(other),
            })?;
            if !messages.is_empty() {
                last_record = Instant::now();
            }
            // The partition of the records just printed and the offset after them: noted in
            // `printed_at` once per run of records, not per record.
            let mut run: Option<(Arc<str>, i32, i64)> = None;
            for m in messages {
                if args.max_messages.is_some_and(|max| printed >= max) {
                    unprinted
                        .entry((m.topic.to_string(), m.partition))
                        .or_insert(m.offset);
                    continue;
                }
                line.clear();
                write_line(&mut line, &m, args.value_only, args.key_format)?;
                out.write_all(&line)?;
                printed += 1;
                match &mut run {
                    Some((t, p, o)) if *p == m.partition && **t == *m.topic => *o = m.offset + 1,
                    _ => {
                        if let Some((t, p, o)) = run.take() {
                            printed_at.insert((t.to_string(), p), o);
                        }
                        run = Some((m.topic.clone(), m.partition, m.offset + 1));
                    }
                }
            }
            if let Some((t, p, o)) = run {
                printed_at.insert((t.to_string(), p), o);
            }
            out.flush().context("cannot write to stdout")?;
            // Every few seconds, commit what was printed (Kafka's auto.commit.interval.ms), so
            // a crash re-delivers at most that much.
            if args.group.is_some()
                && unprinted.is_empty()
                && last_commit.elapsed() >= COMMIT_INTERVAL
            {
                last_commit = Instant::now();
                let positions = source.positions()?;
                source.commit(&positions)?;
            }
            if progress && last_progress.elapsed() >= Duration::from_secs(1) {
                match output {
                    Output::Text => eprint!(
                        "\r{printed} consumed, {} skipped, {} dead-lettered",
                        consumer.skipped(),
                        consumer.dead_lettered()
                    ),
                    Output::Json => eprintln!(
                        "{}",
                        json!({"progress": {
                            "consumed": printed,
                            "skipped": consumer.skipped(),
                            "dead_lettered": consumer.dead_lettered(),
                        }})
                    ),
                }
                last_progress = Instant::now();
            }
        }
        Ok(())
    });
    if progress && output == Output::Text {
        eprintln!();
    }
    // Commit: after an error or Ctrl-C, only what was printed, in the partitions still held
    // (one a rebalance took away was committed when it was revoked, and its next owner may
    // have committed further since: committing what this member printed there would send
    // the group back); else the position in every assigned partition (everything polled was
    // printed or skipped), except what --max-messages left unprinted.
    if args.group.is_some() {
        let positions = if result.is_ok() && clean {
            source.positions().map(|mut p| {
                p.extend(unprinted);
                p
            })
        } else {
            source.positions().map(|held| {
                printed_at.retain(|k, _| held.contains_key(k));
                printed_at
            })
        };
        let positions = match positions {
            Ok(p) => p,
            Err(e) => {
                report_error(output, &format!("{e:#}"), None, 2);
                bail!("the offsets were not committed");
            }
        };
        if let Err(e) = source.commit(&positions) {
            report_error(output, &format!("{e:#}"), None, 2);
            if result.is_ok() {
                bail!("the offsets were not committed");
            }
        }
    }
    source.close();
    let damaged = if unreadable > 0 {
        format!(", {unreadable} unreadable offset(s) of damaged batches skipped")
    } else {
        String::new()
    };
    notice(
        output,
        &format!(
            "{printed} record(s) consumed from '{}', {} skipped, {} dead-lettered{damaged}",
            args.topic,
            consumer.skipped(),
            consumer.dead_lettered()
        ),
        {
            let mut summary = json!({
                "topic": args.topic,
                "consumed": printed,
                "skipped": consumer.skipped(),
                "dead_lettered": consumer.dead_lettered(),
            });
            if unreadable > 0 {
                summary["unreadable_offsets_skipped"] = json!(unreadable);
            }
            summary
        },
    );
    result
}

/// Moves past a damaged stretch of the bundled broker's log (`--on-error skip`), with a log
/// line naming what is skipped.
fn skip_corrupt(source: &Source, e: &strata_broker::Error) -> Result<()> {
    let strata_broker::Error::Corrupt {
        topic,
        partition,
        offset,
        resume_offset,
        ..
    } = e
    else {
        return Ok(());
    };
    tracing::warn!(
        topic = %topic,
        partition,
        from_offset = offset,
        to_offset = resume_offset - 1,
        error = %e,
        "skipping records the log cannot read"
    );
    if let Source::Bundled(c) = source {
        c.seek(
            &TopicPartition::new(topic.clone(), *partition),
            *resume_offset,
        )
        .with_context(|| format!("cannot read on after the damage in {topic}-{partition}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_policies_parse_and_bad_ones_say_what_is_accepted() {
        assert_eq!("fail".parse::<OnError>(), Ok(OnError::Fail));
        assert_eq!("skip".parse::<OnError>(), Ok(OnError::Skip));
        assert_eq!(
            "dlq:orders-dlq".parse::<OnError>(),
            Ok(OnError::DeadLetter("orders-dlq".into()))
        );
        for bad in ["dlq:", "drop", ""] {
            let e = bad.parse::<OnError>().unwrap_err();
            assert!(e.contains("fail, skip or dlq:TOPIC"), "{bad}: {e}");
        }
    }

    #[test]
    fn times_are_milliseconds_or_rfc3339() {
        assert_eq!(parse_time("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn headers_print_as_text_or_base64() {
        let h = vec![
            ("a".to_string(), Bytes::from_static(b"text")),
            ("b".to_string(), Bytes::from_static(&[0xff, 0x00])),
        ];
        assert_eq!(
            headers_json(&h),
            json!({"a": "text", "b": {"base64": "/wA="}})
        );
    }
}
