//! `strata encode` and `strata decode`: JSON values to Confluent-framed bytes and back, for
//! debugging and pipes. Reads stdin (or `--input`), writes stdout; talks to the registry only.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use clap::{Args, ValueEnum};
use serde_json::{json, Value as Json};
use strata_schema::SchemaReference;
use strata_serde::wire::{Field, SchemaId};

use crate::check::inputs::TypeArg;
use crate::check::online::parse_registry_reference;
use crate::codec::{FrameError, Reader};
use crate::connection::{runtime, RegistryArgs};
use crate::output::{finish, negative, notice, Negative, Output};
use crate::schema_source::{self, ChoiceFlags, Naming, Placement, SchemaChoice, StrategyArg};

/// How framed bytes are written and read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Encoding {
    /// Standard base64, one record per line.
    #[default]
    Base64,
    /// Lower-case hex, one record per line.
    Hex,
    /// Raw bytes: exactly one record (the whole input or output).
    Binary,
}

impl Encoding {
    fn encode_text(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Base64 | Encoding::Binary => {
                base64::engine::general_purpose::STANDARD.encode(bytes)
            }
            Encoding::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// Append the text form of `bytes` (base64 or hex) to `out`.
    fn append_text(self, bytes: &[u8], out: &mut String) {
        match self {
            Encoding::Base64 | Encoding::Binary => {
                base64::engine::general_purpose::STANDARD.encode_string(bytes, out)
            }
            Encoding::Hex => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                for &b in bytes {
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 15)]));
                }
            }
        }
    }

    /// Decode the text form of a record (base64 or hex) into `out`.
    fn decode_into(self, text: &str, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Encoding::Base64 | Encoding::Binary => base64::engine::general_purpose::STANDARD
                .decode_vec(text, out)
                .map_err(|e| anyhow!("it is not base64 ({e}); give --encoding hex or binary if the input is that")),
            Encoding::Hex => {
                *out = hex_decode(text)?;
                Ok(())
            }
        }
    }

    #[cfg(test)]
    fn decode_text(self, text: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.decode_into(text, &mut out)?;
        Ok(out)
    }
}

fn hex_decode(text: &str) -> Result<Vec<u8>> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    if text.len() % 2 == 1 {
        bail!("it is not hex: {} digits is an odd number", text.len());
    }
    text.as_bytes()
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| {
                    anyhow!(
                        "it is not hex: '{}' at character {} is not a hex byte",
                        String::from_utf8_lossy(pair),
                        i * 2 + 1
                    )
                })
        })
        .collect()
}

/// Input and output are read and written in blocks of this size.
const INPUT_BUFFER: usize = 256 * 1024;
const OUTPUT_BUFFER: usize = 256 * 1024;

fn open_input(path: Option<&PathBuf>) -> Result<Box<dyn BufRead>> {
    Ok(match path {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufReader::with_capacity(
            INPUT_BUFFER,
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
        _ => Box::new(std::io::BufReader::with_capacity(
            INPUT_BUFFER,
            std::io::stdin(),
        )),
    })
}

const ENCODE_HELP: &str = "\
Input: JSON values, one per line or one document (several values may follow each other).
  Avro: Avro's JSON encoding. Unions as {\"string\": \"x\"} (branch = type name or a named
        type's full name) or plainly (\"x\") when exactly one branch fits; bytes and fixed as
        strings of U+0000..U+00FF (one character per byte); logical types as their underlying
        type; missing fields take their default.
  JSON Schema: the value itself, validated.
  Protobuf: the Protobuf JSON mapping of the message (--message, default the first).

The schema: --schema-id N, or --subject S (its latest version; with --latest-with-metadata
KEY=VALUE, repeatable, its latest version whose metadata properties hold every pair), or
--subject S --schema FILE (looked up in the subject; --auto-register registers it, an
incompatible schema is refused with the registry's messages). Instead of --subject, --topic T names the subject as Confluent's
serializers do with --subject-name-strategy: topic (T-value, or T-key with --key), record (the
schema's full name: Avro record, Protobuf message, JSON Schema title) or topic-record
(T-<full name>); record and topic-record need --schema FILE or --schema-id. A value that does
not fit the schema stops the command (exit 1) before anything of it is written.

Output: one line per value, base64 or hex; with --output json one object per value,
{\"schema_id\": N, \"base64\": \"...\"} (or \"hex\"; \"schema_guid\" with --id-placement
guid-prefix). Errors: error:/hint: lines on stderr, or one JSON object with --output json.

Examples:
  echo '{\"id\": 1, \"name\": \"ada\"}' | strata encode --subject users-value
  strata encode --subject users-value --schema user.avsc --auto-register --input users.jsonl
  strata encode --subject users-value --latest-with-metadata env=prod < users.jsonl
  strata encode --topic users --subject-name-strategy record --schema user.avsc --auto-register
  echo '{\"id\": 1}' | strata encode --schema-id 3 --encoding hex --output json
  strata encode --subject users-value < users.jsonl | strata decode";

/// `strata encode`: JSON values in, framed bytes out.
#[derive(Debug, Args)]
#[command(after_help = ENCODE_HELP)]
pub struct EncodeArgs {
    /// The subject whose schema to write with (latest version, or the one --schema names).
    #[arg(long, value_name = "SUBJECT", conflicts_with = "topic")]
    pub subject: Option<String>,
    /// Name the subject from this topic with --subject-name-strategy.
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// How the subject is named from --topic (Confluent's subject.name.strategy).
    #[arg(long, value_enum, default_value_t = StrategyArg::Topic, requires = "topic")]
    pub subject_name_strategy: StrategyArg,
    /// Encode keys: the topic strategy names <topic>-key.
    #[arg(long, requires = "topic")]
    pub key: bool,
    /// Write with this schema id.
    #[arg(long, value_name = "ID", conflicts_with_all = ["schema", "latest"])]
    pub schema_id: Option<i32>,
    /// Write with the subject's latest version (the default when only --subject is given).
    #[arg(long, conflicts_with = "schema")]
    pub latest: bool,
    /// Write with the subject's latest version whose metadata properties hold KEY=VALUE
    /// (Confluent's use.latest.with.metadata). Repeatable: every pair must hold.
    #[arg(long, alias = "use-latest-with-metadata", value_name = "KEY=VALUE", value_parser = schema_source::parse_property, conflicts_with_all = ["schema", "schema_id"])]
    pub latest_with_metadata: Vec<(String, String)>,
    /// Write with this schema file, found in (or registered under) --subject.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// The schema file's format (default: from the extension, .avsc/.avro/.avro.json,
    /// .proto, .json).
    #[arg(long = "type", value_enum, requires = "schema")]
    pub schema_type: Option<TypeArg>,
    /// A reference of the schema file to a registered schema, NAME:SUBJECT:VERSION (e.g.
    /// com.acme.Address:address-value:1). Repeatable.
    #[arg(long = "reference", value_name = "NAME:SUBJECT:VERSION", value_parser = parse_registry_reference, requires = "schema")]
    pub references: Vec<SchemaReference>,
    /// Register the schema file under the subject if it is not there yet.
    #[arg(long, requires = "schema")]
    pub auto_register: bool,
    /// Ask the registry to normalize the schema on lookup and register.
    #[arg(long)]
    pub normalize: bool,
    /// The Protobuf message to write (full name, e.g. shop.Order; default: the first).
    #[arg(long, value_name = "NAME")]
    pub message: Option<String>,
    /// Read values from this file instead of stdin.
    #[arg(long, short, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// How to write the framed bytes.
    #[arg(long, value_enum, default_value_t = Encoding::Base64)]
    pub encoding: Encoding,
    /// Where the schema id goes: prefix (magic 0 + id) or guid-prefix (magic 1 + GUID).
    #[arg(long, value_enum, default_value_t = Placement::Prefix)]
    pub id_placement: Placement,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Run `strata encode`.
pub fn run_encode(args: EncodeArgs, output: Output) -> ExitCode {
    finish(encode(args, output), output)
}

fn encode(args: EncodeArgs, output: Output) -> Result<()> {
    if args.latest && args.subject.is_none() && args.topic.is_none() {
        bail!("--latest needs --subject or --topic");
    }
    if !args.latest_with_metadata.is_empty() && args.subject.is_none() && args.topic.is_none() {
        bail!("--latest-with-metadata needs --subject or --topic");
    }
    if args.schema.is_some() && args.subject.is_none() && args.topic.is_none() {
        bail!("--schema FILE needs --subject (or --topic with --subject-name-strategy) to look it up in");
    }
    if args.id_placement == Placement::Header {
        bail!("--id-placement header puts the id in a record header, which encode has no place for; use it with strata produce");
    }
    if args.encoding == Encoding::Binary && output == Output::Json {
        bail!("--encoding binary writes raw bytes, which --output json cannot hold; use base64 or hex");
    }
    if args.encoding == Encoding::Binary && std::io::stdout().is_terminal() {
        bail!("--encoding binary would write raw bytes to the terminal; redirect stdout or use base64 or hex");
    }
    let client = args.registry.client()?;
    let registry = args.registry.registry_config()?.urls.join(",");
    let choice = SchemaChoice {
        flags: ChoiceFlags::ENCODE,
        subject: args.subject.clone(),
        naming: args.topic.clone().map(|topic| Naming {
            topic,
            field: if args.key { Field::Key } else { Field::Value },
            strategy: args.subject_name_strategy,
        }),
        schema_id: args.schema_id,
        schema_file: args.schema.clone(),
        schema_type: args.schema_type,
        references: args.references.clone(),
        auto_register: args.auto_register,
        normalize: args.normalize,
        message: args.message.clone(),
        latest_with_metadata: args.latest_with_metadata.clone(),
    };
    let rt = runtime()?;
    let writer = rt.block_on(schema_source::choose(&client, &registry, &choice))?;
    let mut input = open_input(args.input.as_ref())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(OUTPUT_BUFFER, stdout.lock());
    // The fast path: one value per line, framed straight from the text. The first line it
    // does not take (another shape of input, or a value that does not fit) and everything
    // after it go through serde_json's stream reader below, which decides and words errors.
    let mut n = 0usize;
    let mut lines_before = 0usize;
    let mut rest: Option<Vec<u8>> = None;
    if output == Output::Text && args.encoding != Encoding::Binary {
        let mut line = Vec::new();
        let mut frame = Vec::new();
        let mut text = String::new();
        loop {
            line.clear();
            if input
                .read_until(b'\n', &mut line)
                .context("cannot read the input")?
                == 0
            {
                break;
            }
            if line
                .iter()
                .all(|b| matches!(b, b' ' | b'\n' | b'\t' | b'\r'))
            {
                lines_before += 1;
                continue;
            }
            frame.clear();
            if std::str::from_utf8(&line).is_err()
                || !writer.frame_fast(&line, args.id_placement, &mut frame)
            {
                rest = Some(std::mem::take(&mut line));
                break;
            }
            lines_before += 1;
            n += 1;
            text.clear();
            args.encoding.append_text(&frame, &mut text);
            text.push('\n');
            out.write_all(text.as_bytes())?;
        }
    }
    let input: Box<dyn Read> = match rest {
        Some(line) => Box::new(std::io::Cursor::new(line).chain(input)),
        None => Box::new(input),
    };
    let mut values = serde_json::Deserializer::from_reader(input).into_iter::<Json>();
    let field = if args.key { Field::Key } else { Field::Value };
    loop {
        let value = match values.next() {
            None => break,
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                return Err(negative(format!(
                    "value {} is not JSON (line {}, column {}): {e}",
                    n + 1,
                    e.line() + lines_before,
                    e.column()
                )))
            }
        };
        n += 1;
        if n == 2 && args.encoding == Encoding::Binary {
            bail!("--encoding binary writes exactly one record, but the input holds more than one value; use base64 or hex");
        }
        let (bytes, _) = writer
            .frame(&value, args.id_placement, field)
            .map_err(|e| match e {
                FrameError::Invalid(e) => negative(format!(
                    "value {n} does not fit {}; nothing of it was written: {e}",
                    writer.describe()
                )),
                FrameError::Other(e) => e,
            })?;
        match (args.encoding, output) {
            (Encoding::Binary, _) => out.write_all(&bytes)?,
            (text, Output::Text) => writeln!(out, "{}", text.encode_text(&bytes))?,
            (text, Output::Json) => {
                let mut o = match (args.id_placement, writer.codec.guid, writer.codec.id) {
                    (Placement::GuidPrefix, Some(SchemaId::Guid(g)), _) => {
                        json!({"schema_guid": g.to_string()})
                    }
                    (_, _, id) => json!({"schema_id": id}),
                };
                let key = if text == Encoding::Hex {
                    "hex"
                } else {
                    "base64"
                };
                o[key] = json!(text.encode_text(&bytes));
                serde_json::to_writer(&mut out, &o)?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush().context("cannot write to stdout")?;
    if n == 0 {
        bail!("the input holds no JSON value");
    }
    Ok(())
}

const DECODE_HELP: &str = "\
Input: framed records (magic 0x00 + id, or 0x01 + GUID), one per line as base64 (default) or
hex, or --encoding binary for one raw record (the whole input). Output: one JSON value per line,
in the JSON form strata encode reads (Avro unions as {\"branch\": value}, Protobuf with default
fields), with --output text and json alike.

A record that cannot be decoded (a line that is not base64/hex, bytes that are not a frame, an
unknown schema id, a payload that does not fit its schema) follows --on-error: fail (default)
stops the command (exit 1) with the record's number; skip reports it on stderr (`skipped record
N (line L): why`, or {\"skipped\": {\"record\", \"line\", \"error\"}} with --output json), goes
on, and ends with a summary line (`N record(s) decoded, M skipped`, or {\"decoded\", \"skipped\"})
on stderr; nothing is dropped silently. Errors: error:/hint: lines on stderr, or one JSON object
with --output json.

Examples:
  strata encode --subject users-value < users.jsonl | strata decode
  echo 0000000001020a | strata decode --encoding hex --with-schema-id
  strata decode --encoding binary --input record.bin
  strata decode --on-error skip --output json < mixed.txt";

/// `--on-error` of decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum DecodeOnError {
    /// Stop at the first record that cannot be decoded (exit 1).
    #[default]
    Fail,
    /// Report the record on stderr, count it, go on.
    Skip,
}

/// `strata decode`: framed bytes in, JSON out.
#[derive(Debug, Args)]
#[command(after_help = DECODE_HELP)]
pub struct DecodeArgs {
    /// Read records from this file instead of stdin.
    #[arg(long, short, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// How the records are written.
    #[arg(long, value_enum, default_value_t = Encoding::Base64)]
    pub encoding: Encoding,
    /// Print {"schema_id": N, "subjects": [...], "value": ...} instead of the value alone.
    #[arg(long)]
    pub with_schema_id: bool,
    /// What to do with a record that cannot be decoded: fail, or skip (reported and counted).
    #[arg(long, value_enum, default_value_t = DecodeOnError::Fail)]
    pub on_error: DecodeOnError,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Run `strata decode`.
pub fn run_decode(args: DecodeArgs, output: Output) -> ExitCode {
    finish(decode(args, output), output)
}

/// A record's bytes and where in the input it is: its number and line (none for binary).
struct Located<'a> {
    number: usize,
    line: Option<usize>,
    bytes: &'a [u8],
}

impl Located<'_> {
    fn place(&self) -> String {
        match self.line {
            Some(l) => format!("record {} (line {l})", self.number),
            None => "the input".to_string(),
        }
    }
}

/// One item of the input: a record, a record that is not even bytes, or a failure to read.
enum Item<'a> {
    Record(Located<'a>),
    Bad(Located<'a>, anyhow::Error),
    Fatal(anyhow::Error),
}

/// The records of the input: the whole input for binary, else one per non-blank line. Lines
/// and bytes are read into buffers kept from record to record.
struct Records {
    input: Box<dyn BufRead>,
    encoding: Encoding,
    line: Vec<u8>,
    bytes: Vec<u8>,
    line_no: usize,
    number: usize,
    done: bool,
}

impl Records {
    fn new(input: Box<dyn BufRead>, encoding: Encoding) -> Self {
        Records {
            input,
            encoding,
            line: Vec::new(),
            bytes: Vec::new(),
            line_no: 0,
            number: 0,
            done: false,
        }
    }

    fn next_item(&mut self) -> Option<Item<'_>> {
        if self.done {
            return None;
        }
        if self.encoding == Encoding::Binary {
            self.done = true;
            return Some(match self.input.read_to_end(&mut self.bytes) {
                Ok(_) => Item::Record(Located {
                    number: 1,
                    line: None,
                    bytes: &self.bytes,
                }),
                Err(e) => Item::Fatal(anyhow!("cannot read the input: {e}")),
            });
        }
        loop {
            self.line.clear();
            match self.input.read_until(b'\n', &mut self.line) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => return Some(Item::Fatal(anyhow!("cannot read the input: {e}"))),
            }
            self.line_no += 1;
            let text = match std::str::from_utf8(&self.line) {
                Ok(t) => t.trim(),
                // As `BufRead::lines` words it.
                Err(_) => {
                    return Some(Item::Fatal(anyhow!(
                        "cannot read the input: stream did not contain valid UTF-8"
                    )))
                }
            };
            if text.is_empty() {
                continue;
            }
            self.number += 1;
            let (number, line) = (self.number, Some(self.line_no));
            self.bytes.clear();
            let decoded = self.encoding.decode_into(text, &mut self.bytes);
            return Some(match decoded {
                Ok(()) => Item::Record(Located {
                    number,
                    line,
                    bytes: &self.bytes,
                }),
                Err(e) => Item::Bad(
                    Located {
                        number,
                        line,
                        bytes: &[],
                    },
                    e,
                ),
            });
        }
    }
}

fn decode(args: DecodeArgs, output: Output) -> Result<()> {
    let client = args.registry.client()?;
    let registry = args.registry.registry_config()?.urls.join(",");
    let reader = Reader::new(client.clone(), registry);
    let input = open_input(args.input.as_ref())?;
    let rt = runtime()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(OUTPUT_BUFFER, stdout.lock());
    let (mut decoded_n, mut skipped) = (0usize, 0usize);
    let mut records = Records::new(input, args.encoding);
    // The value as JSON text, and the codec of the last frame (most inputs use one schema).
    let mut text = Vec::new();
    let mut last: Option<(SchemaId, std::sync::Arc<crate::codec::Codec>)> = None;
    while let Some(item) = records.next_item() {
        text.clear();
        let decoded = match item {
            Item::Fatal(e) => return Err(e),
            Item::Record(at) if !args.with_schema_id => {
                // The fast path: the same schema as the last frame, straight to text.
                let fast = match (&last, strata_serde::wire::parse_prefix(at.bytes, false)) {
                    (Some((id, codec)), Ok(frame)) if *id == frame.schema => {
                        codec.decode_fast(frame.payload, &mut text)
                    }
                    _ => false,
                };
                if fast {
                    Ok(None)
                } else {
                    match rt.block_on(reader.decode_text(Field::Value, &[], at.bytes, &mut text)) {
                        Ok(id) => {
                            if last.as_ref().is_none_or(|(l, _)| *l != id) {
                                last = rt.block_on(reader.codec(id)).ok().map(|c| (id, c));
                            }
                            Ok(None)
                        }
                        Err(e) => Err((at, e)),
                    }
                }
            }
            Item::Record(at) => match rt.block_on(reader.decode(Field::Value, &[], at.bytes)) {
                Ok(d) => Ok(Some(d)),
                Err(e) => Err((at, e)),
            },
            Item::Bad(at, e) => Err((at, e)),
        };
        let decoded = match decoded {
            Ok(d) => d,
            Err((at, e)) => match args.on_error {
                DecodeOnError::Fail => {
                    return Err(e.context(Negative(format!(
                        "{} cannot be decoded (--on-error skip goes past such records)",
                        at.place()
                    ))))
                }
                DecodeOnError::Skip => {
                    // Reported before the records after it are written.
                    out.flush().context("cannot write to stdout")?;
                    skipped += 1;
                    notice(
                        output,
                        &format!("skipped {}: {e:#}", at.place()),
                        json!({"skipped": {"record": at.number, "line": at.line, "error": format!("{e:#}")}}),
                    );
                    continue;
                }
            },
        };
        match decoded {
            None => {
                text.push(b'\n');
                out.write_all(&text)?;
            }
            Some(decoded) => {
                let mut o = json!({});
                match decoded.schema {
                    SchemaId::Id(id) => {
                        o["schema_id"] = json!(id);
                        // Best effort: the subjects and versions that use the id.
                        let subjects = rt
                            .block_on(client.call(
                                strata_serde::Method::GET,
                                &format!("/schemas/ids/{id}/versions"),
                                None,
                            ))
                            .unwrap_or(Json::Null);
                        o["subjects"] = subjects;
                    }
                    SchemaId::Guid(g) => o["schema_guid"] = json!(g.to_string()),
                }
                o["value"] = decoded.value;
                serde_json::to_writer(&mut out, &o)?;
                out.write_all(b"\n")?;
            }
        }
        decoded_n += 1;
    }
    out.flush().context("cannot write to stdout")?;
    if args.on_error == DecodeOnError::Skip {
        notice(
            output,
            &format!("{decoded_n} record(s) decoded, {skipped} skipped"),
            json!({"decoded": decoded_n, "skipped": skipped}),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_read_back_what_they_write() {
        let bytes = vec![0, 0, 0, 0, 7, 0xff, 0x10];
        for e in [Encoding::Hex, Encoding::Base64] {
            assert_eq!(
                e.decode_text(&e.encode_text(&bytes)).unwrap(),
                bytes,
                "{e:?}"
            );
        }
        assert!(Encoding::Hex.decode_text("abc").is_err());
        assert!(Encoding::Hex.decode_text("zz").is_err());
        assert!(Encoding::Base64.decode_text("***").is_err());
    }
}
