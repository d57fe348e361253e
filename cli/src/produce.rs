//! `strata produce`: JSON lines in, schema-framed records out, on the bundled broker or Kafka.
//! Every line is validated and encoded before it is sent; a line that does not fit its schema
//! is never written.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::Value as Json;
use strata_broker::{ProducerRecord, RecordRef};
use strata_schema::SchemaReference;
use strata_serde::wire::Field;

use crate::broker_args::{AcksArg, BrokerArgs, Sink, Target};
use crate::check::inputs::TypeArg;
use crate::check::online::parse_registry_reference;
use crate::codec::{FrameError, Writer};
use crate::connection::{runtime, RegistryArgs};
use crate::output::{finish, negative, notice, print_json, show_progress, Output};
use crate::schema_source::{self, ChoiceFlags, Naming, Placement, SchemaChoice, StrategyArg};

/// How record keys are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum KeyFormat {
    /// UTF-8 text: a JSON string as it is, any other JSON value as its JSON text.
    #[default]
    String,
    /// The key's JSON text, unframed.
    Json,
    /// No key (a key in the input is an error).
    None,
    /// Framed with a schema: --key-subject, --key-schema or --key-schema-id.
    Schema,
}

/// What to do with a line that does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OnInvalid {
    /// Stop at the first invalid line (lines before it are already produced).
    #[default]
    Fail,
    /// Report the line on stderr and go on; exit 1 at the end if any line was rejected.
    Skip,
}

macro_rules! produce_examples {
    () => {
        "\
Examples:
  echo '{\"id\": 1, \"name\": \"ada\"}' | strata produce users --value-schema user.avsc --auto-register
  strata produce users --with-keys < records.jsonl
  strata produce users --value-latest-with-metadata env=prod < users.jsonl
  strata produce users --value-subject-name-strategy record --value-schema user.avsc --auto-register
  strata produce users --bootstrap-servers localhost:9092 -X acks=all < users.jsonl"
    };
}

/// The long help's epilogue (`--help`).
const PRODUCE_HELP: &str = concat!(
    "\
Input: JSON lines (blank lines ignored). Each line is the record's value, or with --with-keys
an object {\"key\": ..., \"value\": ..., \"headers\": {\"name\": \"text\"}, \"partition\": N}
(all optional; a null or missing value is a tombstone). Values are written in the JSON form
strata encode reads (see strata encode --help).

The value schema: --value-schema-id N, or the latest version of --value-subject (default
<topic>-value; with --value-latest-with-metadata KEY=VALUE, repeatable, its latest version
whose metadata properties hold every pair), or --value-schema FILE found in that subject
(--auto-register registers it; a schema the registry refuses as incompatible stops the command
before anything is written). Keys are UTF-8 strings by default; --key-format schema with
--key-subject/--key-schema/--key-schema-id/--key-latest-with-metadata frames them too (key
subject default <topic>-key).
Without --value-subject/--key-subject, subjects are named as Confluent's serializers name them
with --value-subject-name-strategy/--key-subject-name-strategy: topic (<topic>-value,
<topic>-key; the default), record (the schema's full name: Avro record, Protobuf message, JSON
Schema title) or topic-record (<topic>-<full name>); record and topic-record need the schema
file or id. encode's --subject, --schema, --schema-id, --reference and --type are accepted for
their --value-* forms.

A line that is not JSON or does not fit its schema is never written. With --on-invalid fail
(default) the command stops there; with skip it reports the line and goes on. Lines before it
stay produced (the input is a stream). The exit code is 1 if any line was rejected.

Output: rejected lines and a summary on stderr (`N record(s) produced to 'T', M line(s)
rejected`); with --output json each rejection is {\"rejected\": {\"line\", \"error\"}} on stderr
and the summary {\"topic\", \"produced\", \"rejected\"} goes to stdout; errors are one JSON object
on stderr. Progress counters (--progress) go to stderr.

Records go to the bundled broker in --log-dir (default ./strata-data/log; a missing topic is
created with --partitions and the broker's defaults: retention.ms 7 days, cleanup.policy delete,
segment.bytes 1 GiB) in batches of up to 4096 lines, each batch written with one write per
partition as soon as the input has no more lines ready (so a pipe that pauses has its lines
produced, not held back), and the lines before a rejected line written before it is reported;
a batch that fails stops the command naming its lines. Or to Kafka with
--bootstrap-servers (and -X rdkafka settings), up to 10000 records awaiting acknowledgement, a
failed delivery stopping the command with its line number.

",
    produce_examples!()
);

/// The short help's epilogue (`-h`): the examples.
const PRODUCE_EXAMPLES: &str = concat!(
    produce_examples!(),
    "\nInput format, schemas, invalid lines, output and brokers: strata produce --help"
);

/// `strata produce`.
#[derive(Debug, Args)]
#[command(after_help = PRODUCE_EXAMPLES, after_long_help = PRODUCE_HELP)]
pub struct ProduceArgs {
    /// The topic.
    pub topic: String,
    /// The value's subject [default: named by --value-subject-name-strategy].
    #[arg(
        help_heading = "Value schema",
        long,
        alias = "subject",
        value_name = "SUBJECT"
    )]
    pub value_subject: Option<String>,
    /// How the value's subject is named when --value-subject is not given (Confluent's
    /// value.subject.name.strategy).
    #[arg(help_heading = "Value schema", long, alias = "subject-name-strategy", value_enum, default_value_t = StrategyArg::Topic, conflicts_with = "value_subject")]
    pub value_subject_name_strategy: StrategyArg,
    /// Write values with this schema file (found in, or with --auto-register registered
    /// under, the value subject).
    #[arg(
        help_heading = "Value schema",
        long,
        alias = "schema",
        value_name = "FILE",
        conflicts_with = "value_schema_id"
    )]
    pub value_schema: Option<PathBuf>,
    /// Write values with this schema id.
    #[arg(
        help_heading = "Value schema",
        long,
        alias = "schema-id",
        value_name = "ID"
    )]
    pub value_schema_id: Option<i32>,
    /// Write values with the value subject's latest version whose metadata properties hold
    /// KEY=VALUE (Confluent's use.latest.with.metadata). Repeatable: every pair must hold.
    #[arg(help_heading = "Value schema", long, aliases = ["latest-with-metadata", "use-latest-with-metadata"], value_name = "KEY=VALUE", value_parser = schema_source::parse_property, conflicts_with_all = ["value_schema", "value_schema_id"])]
    pub value_latest_with_metadata: Vec<(String, String)>,
    /// A reference of the value schema file, NAME:SUBJECT:VERSION. Repeatable.
    #[arg(help_heading = "Value schema", long, alias = "reference", value_name = "NAME:SUBJECT:VERSION", value_parser = parse_registry_reference, requires = "value_schema")]
    pub value_reference: Vec<SchemaReference>,
    /// The value schema file's format (default: from the extension).
    #[arg(
        help_heading = "Value schema",
        long,
        alias = "type",
        value_enum,
        requires = "value_schema"
    )]
    pub value_type: Option<TypeArg>,
    /// The Protobuf message values are (full name; default: the schema's first).
    #[arg(help_heading = "Value schema", long, value_name = "NAME")]
    pub message: Option<String>,
    /// How keys are written.
    #[arg(help_heading = "Key", long, value_enum, default_value_t = KeyFormat::String)]
    pub key_format: KeyFormat,
    /// The key's subject (implies --key-format schema) [default: named by
    /// --key-subject-name-strategy].
    #[arg(help_heading = "Key", long, value_name = "SUBJECT")]
    pub key_subject: Option<String>,
    /// How the key's subject is named when --key-subject is not given (Confluent's
    /// key.subject.name.strategy).
    #[arg(help_heading = "Key", long, value_enum, default_value_t = StrategyArg::Topic, conflicts_with = "key_subject")]
    pub key_subject_name_strategy: StrategyArg,
    /// Write keys with this schema file (implies --key-format schema).
    #[arg(
        help_heading = "Key",
        long,
        value_name = "FILE",
        conflicts_with = "key_schema_id"
    )]
    pub key_schema: Option<PathBuf>,
    /// Write keys with this schema id (implies --key-format schema).
    #[arg(help_heading = "Key", long, value_name = "ID")]
    pub key_schema_id: Option<i32>,
    /// Write keys with the key subject's latest version whose metadata properties hold
    /// KEY=VALUE (implies --key-format schema). Repeatable: every pair must hold.
    #[arg(help_heading = "Key", long, value_name = "KEY=VALUE", value_parser = schema_source::parse_property, conflicts_with_all = ["key_schema", "key_schema_id"])]
    pub key_latest_with_metadata: Vec<(String, String)>,
    /// A reference of the key schema file, NAME:SUBJECT:VERSION. Repeatable.
    #[arg(help_heading = "Key", long, value_name = "NAME:SUBJECT:VERSION", value_parser = parse_registry_reference, requires = "key_schema")]
    pub key_reference: Vec<SchemaReference>,
    /// The key schema file's format (default: from the extension).
    #[arg(help_heading = "Key", long, value_enum, requires = "key_schema")]
    pub key_type: Option<TypeArg>,
    /// Register schema files under their subjects if they are not there yet.
    #[arg(long, help_heading = "Registration and framing")]
    pub auto_register: bool,
    /// Ask the registry to normalize schemas on lookup and register.
    #[arg(long, help_heading = "Registration and framing")]
    pub normalize: bool,
    /// Lines are {"key", "value", "headers", "partition"} objects, not bare values.
    #[arg(long, help_heading = "Input")]
    pub with_keys: bool,
    /// Where the schema ids go.
    #[arg(help_heading = "Registration and framing", long, value_enum, default_value_t = Placement::Prefix)]
    pub id_placement: Placement,
    /// What to do with a line that does not fit.
    #[arg(help_heading = "Input", long, value_enum, default_value_t = OnInvalid::Fail)]
    pub on_invalid: OnInvalid,
    /// Read lines from this file instead of stdin.
    #[arg(help_heading = "Input", long, short, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Partitions of the topic when the bundled broker creates it.
    #[arg(help_heading = "Broker", long, value_name = "N", default_value_t = 1)]
    pub partitions: u32,
    /// Acknowledgements to wait for.
    #[arg(help_heading = "Broker", long, value_enum, default_value_t = AcksArg::One)]
    pub acks: AcksArg,
    #[command(flatten)]
    pub progress: crate::output::ProgressArgs,
    #[command(flatten, next_help_heading = "Broker")]
    pub broker: BrokerArgs,
    #[command(flatten, next_help_heading = "Registry connection")]
    pub registry: RegistryArgs,
}

/// Run `strata produce`.
pub fn run(args: ProduceArgs, output: Output) -> ExitCode {
    args.progress.apply();
    finish(produce(args, output), output)
}

/// Why a line was not produced.
enum LineError {
    /// The line's fault: report it, maybe go on.
    Rejected(String),
    /// Stop.
    Fatal(anyhow::Error),
}

struct Encoder {
    topic: String,
    value: Writer,
    key: Option<Writer>,
    key_format: KeyFormat,
    placement: Placement,
    with_keys: bool,
}

impl Encoder {
    fn record(&self, line: &str) -> Result<ProducerRecord, LineError> {
        let json: Json = serde_json::from_str(line)
            .map_err(|e| LineError::Rejected(format!("it is not JSON: {e}")))?;
        let (key, value, headers, partition) = if self.with_keys {
            let Json::Object(mut o) = json else {
                return Err(LineError::Rejected(
                    "with --with-keys each line is an object {\"key\", \"value\", \"headers\", \"partition\"}".into(),
                ));
            };
            if let Some(k) = o
                .keys()
                .find(|k| !["key", "value", "headers", "partition"].contains(&k.as_str()))
            {
                return Err(LineError::Rejected(format!(
                    "unknown member '{k}' (expected key, value, headers, partition)"
                )));
            }
            let headers = match o.remove("headers") {
                None | Some(Json::Null) => Vec::new(),
                Some(Json::Object(h)) => h
                    .into_iter()
                    .map(|(k, v)| match v {
                        Json::String(s) => Ok((k, s.into_bytes())),
                        other => Err(LineError::Rejected(format!(
                            "header '{k}' must be a string, found {other}"
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(other) => {
                    return Err(LineError::Rejected(format!(
                        "headers must be an object of strings, found {other}"
                    )))
                }
            };
            let partition = match o.remove("partition") {
                None | Some(Json::Null) => None,
                Some(p) => Some(
                    p.as_i64()
                        .and_then(|p| i32::try_from(p).ok())
                        .filter(|p| *p >= 0)
                        .ok_or_else(|| {
                            LineError::Rejected(format!(
                                "partition must be a non-negative integer, found {p}"
                            ))
                        })?,
                ),
            };
            // A null or missing value is a tombstone.
            let value = o.remove("value").filter(|v| !v.is_null());
            (o.remove("key"), value, headers, partition)
        } else {
            // A bare line is always a value, `null` included (the schema decides).
            (None, Some(json), Vec::new(), None)
        };
        let mut headers = headers;
        let key = match key {
            None | Some(Json::Null) => None,
            Some(k) => Some(self.key_bytes(&k, &mut headers)?),
        };
        let value = match value {
            None => None,
            Some(v) => Some(frame(
                &self.value,
                &v,
                self.placement,
                Field::Value,
                &mut headers,
            )?),
        };
        Ok(ProducerRecord {
            topic: self.topic.clone(),
            partition,
            key,
            value,
            headers,
            timestamp: None,
        })
    }

    /// Encode `line` (input line `line_no`) into `batch`: bare values straight from the text
    /// when the fast path takes them, everything else through [`Encoder::record`].
    fn add(&self, line_no: usize, line: &str, batch: &mut Batch) -> Result<(), LineError> {
        if !self.with_keys {
            let start = batch.bytes.len();
            if self
                .value
                .frame_fast(line.as_bytes(), self.placement, &mut batch.bytes)
            {
                batch.records.push(Pending {
                    line: line_no,
                    partition: None,
                    key: None,
                    value: Some((start, batch.bytes.len())),
                    headers: Vec::new(),
                });
                return Ok(());
            }
        }
        let record = self.record(line)?;
        let key = record.key.as_deref().map(|k| batch.span(k));
        let value = record.value.as_deref().map(|v| batch.span(v));
        batch.records.push(Pending {
            line: line_no,
            partition: record.partition,
            key,
            value,
            headers: record.headers,
        });
        Ok(())
    }

    fn key_bytes(
        &self,
        key: &Json,
        headers: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<Vec<u8>, LineError> {
        match (self.key_format, &self.key) {
            (KeyFormat::None, _) => Err(LineError::Rejected(
                "the line has a key but --key-format is none".into(),
            )),
            (KeyFormat::String, _) => Ok(match key {
                Json::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            }),
            (KeyFormat::Json, _) => Ok(key.to_string().into_bytes()),
            (KeyFormat::Schema, Some(writer)) => {
                frame(writer, key, self.placement, Field::Key, headers)
            }
            (KeyFormat::Schema, None) => Err(LineError::Fatal(anyhow!("no key schema"))),
        }
    }
}

fn frame(
    writer: &Writer,
    value: &Json,
    placement: Placement,
    field: Field,
    headers: &mut Vec<(String, Vec<u8>)>,
) -> Result<Vec<u8>, LineError> {
    let (bytes, header) = writer.frame(value, placement, field).map_err(|e| match e {
        FrameError::Invalid(e) => LineError::Rejected(format!(
            "the {} does not fit {}: {e}",
            field.suffix(),
            writer.describe()
        )),
        FrameError::Other(e) => LineError::Fatal(e),
    })?;
    if let Some(h) = header {
        headers.push(h);
    }
    Ok(bytes)
}

/// The input is read in blocks of this size; a batch never waits for more than one.
const INPUT_BUFFER: usize = 256 * 1024;
/// A batch for the bundled broker is written at this many records...
const BATCH_RECORDS: usize = 4096;
/// ...or this many bytes of keys and values.
const BATCH_BYTES: usize = 1 << 20;

/// Encoded records waiting to be written to the bundled broker: their keys and values in one
/// buffer, so that a record costs no allocation of its own.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    records: Vec<Pending>,
}

/// A record of a [`Batch`]: spans of `Batch::bytes`.
struct Pending {
    line: usize,
    partition: Option<i32>,
    key: Option<(usize, usize)>,
    value: Option<(usize, usize)>,
    headers: Vec<(String, Vec<u8>)>,
}

impl Batch {
    fn span(&mut self, bytes: &[u8]) -> (usize, usize) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        (start, self.bytes.len())
    }

    /// Write the batch with one `send_batch_ref` (one write per partition); returns how many
    /// records it held. A batch that fails counts as not produced.
    fn write(&mut self, producer: &strata_broker::Producer, topic: &str) -> Result<u64> {
        let (Some(first), Some(last)) = (self.records.first(), self.records.last()) else {
            return Ok(0);
        };
        let lines = if first.line == last.line {
            format!("line {}", first.line)
        } else {
            format!("lines {}-{}", first.line, last.line)
        };
        let headers: Vec<Vec<(&str, &[u8])>> = self
            .records
            .iter()
            .map(|r| {
                r.headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_slice()))
                    .collect()
            })
            .collect();
        let bytes = &self.bytes;
        let refs = self.records.iter().zip(&headers).map(|(r, h)| RecordRef {
            partition: r.partition,
            key: r.key.map(|(a, b)| &bytes[a..b]),
            value: r.value.map(|(a, b)| &bytes[a..b]),
            headers: h,
            timestamp: None,
        });
        let result = producer.send_batch_ref(topic, refs);
        let n = self.records.len() as u64;
        drop(headers);
        self.records.clear();
        self.bytes.clear();
        result.with_context(|| format!("{lines} could not be produced"))?;
        Ok(n)
    }
}

/// Where the encoded lines go.
enum Sending {
    /// The bundled broker, in batches.
    Bundled {
        producer: strata_broker::Producer,
        batch: Batch,
    },
    /// Kafka, record by record.
    Sink(Sink),
}

impl Sending {
    fn full(&self) -> bool {
        match self {
            Sending::Bundled { batch, .. } => {
                batch.records.len() >= BATCH_RECORDS || batch.bytes.len() >= BATCH_BYTES
            }
            Sending::Sink(_) => false,
        }
    }

    /// Write what is batched; returns how many records that was.
    fn write(&mut self, topic: &str) -> Result<u64> {
        match self {
            Sending::Bundled { producer, batch } => batch.write(producer, topic),
            Sending::Sink(_) => Ok(0),
        }
    }

    /// Write everything; returns how many more records were acknowledged.
    async fn finish(&mut self, topic: &str) -> Result<u64> {
        match self {
            Sending::Bundled { producer, batch } => {
                let n = batch.write(producer, topic)?;
                producer.flush().context("cannot flush the producer")?;
                Ok(n)
            }
            Sending::Sink(sink) => sink.finish().await,
        }
    }
}

fn produce(args: ProduceArgs, output: Output) -> Result<()> {
    let client = args.registry.client()?;
    let registry = args.registry.registry_config()?.urls.join(",");
    let key_format = if args.key_subject.is_some()
        || args.key_schema.is_some()
        || args.key_schema_id.is_some()
        || !args.key_latest_with_metadata.is_empty()
    {
        if !matches!(args.key_format, KeyFormat::String | KeyFormat::Schema) {
            bail!("--key-subject, --key-schema, --key-schema-id and --key-latest-with-metadata frame keys with a schema; they do not go with --key-format {:?}", args.key_format);
        }
        KeyFormat::Schema
    } else {
        args.key_format
    };
    let rt = runtime()?;
    // Schemas first: an unknown or incompatible schema stops the command before any write.
    let value = rt.block_on(schema_source::choose(
        &client,
        &registry,
        &SchemaChoice {
            flags: ChoiceFlags::PRODUCE_VALUE,
            subject: args.value_subject.clone(),
            naming: Some(Naming {
                topic: args.topic.clone(),
                field: Field::Value,
                strategy: args.value_subject_name_strategy,
            }),
            schema_id: args.value_schema_id,
            schema_file: args.value_schema.clone(),
            schema_type: args.value_type,
            references: args.value_reference.clone(),
            auto_register: args.auto_register,
            normalize: args.normalize,
            message: args.message.clone(),
            latest_with_metadata: args.value_latest_with_metadata.clone(),
        },
    ))?;
    let key = if key_format == KeyFormat::Schema {
        Some(rt.block_on(schema_source::choose(
            &client,
            &registry,
            &SchemaChoice {
                flags: ChoiceFlags::PRODUCE_KEY,
                subject: args.key_subject.clone(),
                naming: Some(Naming {
                    topic: args.topic.clone(),
                    field: Field::Key,
                    strategy: args.key_subject_name_strategy,
                }),
                schema_id: args.key_schema_id,
                schema_file: args.key_schema.clone(),
                schema_type: args.key_type,
                references: args.key_reference.clone(),
                auto_register: args.auto_register,
                normalize: args.normalize,
                message: None,
                latest_with_metadata: args.key_latest_with_metadata.clone(),
            },
        ))?)
    } else {
        None
    };
    let encoder = Encoder {
        topic: args.topic.clone(),
        value,
        key,
        key_format,
        placement: args.id_placement,
        with_keys: args.with_keys,
    };

    let target = args.broker.target()?;
    if let Target::Bundled(broker) = &target {
        if broker.describe_topic(&args.topic).is_err() {
            broker
                .create_topic(&args.topic, args.partitions, Default::default())
                .or_else(|e| {
                    // Another process may have created it meanwhile.
                    broker
                        .describe_topic(&args.topic)
                        .map(|_| ())
                        .map_err(|_| e)
                })
                .with_context(|| format!("cannot create topic '{}'", args.topic))?;
        }
    }
    // The bundled broker takes lines in batches (one write per partition per batch); Kafka
    // takes them one by one into rdkafka's queue.
    let mut sink = match &target {
        Target::Bundled(broker) => Sending::Bundled {
            producer: broker.producer(strata_broker::ProducerConfig {
                acks: match args.acks {
                    AcksArg::Zero => strata_broker::Acks::None,
                    AcksArg::One => strata_broker::Acks::Leader,
                    AcksArg::All => strata_broker::Acks::All,
                },
                ..Default::default()
            }),
            batch: Batch::default(),
        },
        Target::Kafka(_) => Sending::Sink(Sink::new(&target, args.acks)?),
    };

    let source: Box<dyn Read> = match &args.input {
        Some(p) if p.as_os_str() != "-" => Box::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        ),
        _ => Box::new(std::io::stdin()),
    };
    let mut input = BufReader::with_capacity(INPUT_BUFFER, source);
    let (mut produced, mut rejected) = (0u64, 0u64);
    let progress = show_progress();
    let mut last_progress = std::time::Instant::now();
    let result: Result<()> = rt.block_on(async {
        let sent = async {
            let mut text = String::new();
            let mut line_no = 0usize;
            loop {
                text.clear();
                if input
                    .read_line(&mut text)
                    .context("cannot read the input")?
                    == 0
                {
                    break;
                }
                line_no += 1;
                let line = text.strip_suffix('\n').unwrap_or(&text);
                let line = line.strip_suffix('\r').unwrap_or(line);
                if line.trim().is_empty() {
                    continue;
                }
                if progress && last_progress.elapsed() >= std::time::Duration::from_secs(1) {
                    match output {
                        Output::Text => eprint!("\r{produced} produced, {rejected} rejected"),
                        Output::Json => eprintln!(
                            "{}",
                            serde_json::json!({"progress": {"produced": produced, "rejected": rejected}})
                        ),
                    }
                    last_progress = std::time::Instant::now();
                }
                let outcome = match &mut sink {
                    Sending::Bundled { batch, .. } => encoder.add(line_no, line, batch),
                    Sending::Sink(sink) => match encoder.record(line) {
                        Ok(record) => {
                            produced += sink.send(line_no, record).await?;
                            Ok(())
                        }
                        Err(e) => Err(e),
                    },
                };
                match outcome {
                    Ok(()) => {}
                    Err(LineError::Fatal(e)) => return Err(e.context(format!("line {line_no}"))),
                    Err(LineError::Rejected(why)) => {
                        // The lines before it are produced before it is reported.
                        produced += sink.write(&args.topic)?;
                        rejected += 1;
                        match args.on_invalid {
                            OnInvalid::Fail => {
                                return Err(negative(format!(
                                    "line {line_no} rejected, nothing of it was written: {why}"
                                )))
                            }
                            OnInvalid::Skip => notice(
                                output,
                                &format!(
                                    "line {line_no} rejected, nothing of it was written: {why}"
                                ),
                                serde_json::json!({"rejected": {"line": line_no, "error": why}}),
                            ),
                        }
                    }
                }
                // A full batch, or nothing more to read without waiting (a pipe that pauses
                // has its lines produced, not held back).
                if sink.full() || input.buffer().is_empty() {
                    produced += sink.write(&args.topic)?;
                }
            }
            Ok(())
        }
        .await;
        // What was sent before a failure is still written and counted.
        let finished = sink.finish(&args.topic).await;
        if let Ok(n) = &finished {
            produced += n;
        }
        sent.and(finished.map(|_| ()))
    });
    match output {
        Output::Text => {
            if progress {
                eprint!("\r");
            }
            eprintln!(
                "{produced} record(s) produced to '{}', {rejected} line(s) rejected",
                args.topic
            );
        }
        Output::Json => print_json(&serde_json::json!({
            "topic": args.topic,
            "produced": produced,
            "rejected": rejected,
        })),
    }
    result?;
    if rejected > 0 {
        return Err(negative(format!("{rejected} line(s) were rejected")));
    }
    Ok(())
}
