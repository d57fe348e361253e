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
use crate::schema_source::{self, Placement, SchemaChoice};

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

    fn decode_text(self, text: &str) -> Result<Vec<u8>> {
        match self {
            Encoding::Base64 | Encoding::Binary => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| anyhow!("it is not base64 ({e}); give --encoding hex or binary if the input is that")),
            Encoding::Hex => hex_decode(text),
        }
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

fn open_input(path: Option<&PathBuf>) -> Result<Box<dyn BufRead>> {
    Ok(match path {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
        _ => Box::new(std::io::BufReader::new(std::io::stdin())),
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

The schema: --schema-id N, or --subject S (its latest version), or --subject S --schema FILE
(looked up in the subject; --auto-register registers it, an incompatible schema is refused with
the registry's messages). A value that does not fit the schema stops the command (exit 1) before
anything of it is written.

Examples:
  echo '{\"id\": 1, \"name\": \"ada\"}' | strata encode --subject users-value
  strata encode --subject users-value --schema user.avsc --auto-register --input users.jsonl
  echo '{\"id\": 1}' | strata encode --schema-id 3 --encoding hex
  strata encode --subject users-value < users.jsonl | strata decode";

/// `strata encode`: JSON values in, framed bytes out.
#[derive(Debug, Args)]
#[command(after_help = ENCODE_HELP)]
pub struct EncodeArgs {
    /// The subject whose schema to write with (latest version, or the one --schema names).
    #[arg(long, value_name = "SUBJECT")]
    pub subject: Option<String>,
    /// Write with this schema id.
    #[arg(long, value_name = "ID", conflicts_with_all = ["schema", "latest"])]
    pub schema_id: Option<i32>,
    /// Write with the subject's latest version (the default when only --subject is given).
    #[arg(long, requires = "subject", conflicts_with = "schema")]
    pub latest: bool,
    /// Write with this schema file, found in (or registered under) --subject.
    #[arg(long, value_name = "FILE", requires = "subject")]
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
pub fn run_encode(args: EncodeArgs) -> ExitCode {
    report(encode(args))
}

/// Print an error the way every serde command does, and pick the exit code.
pub fn report(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn encode(args: EncodeArgs) -> Result<()> {
    if args.id_placement == Placement::Header {
        bail!("--id-placement header puts the id in a record header, which encode has no place for; use it with strata produce");
    }
    if args.encoding == Encoding::Binary && std::io::stdout().is_terminal() {
        bail!("--encoding binary would write raw bytes to the terminal; redirect stdout or use base64 or hex");
    }
    let client = args.registry.client()?;
    let registry = args.registry.registry_config()?.urls.join(",");
    let choice = SchemaChoice {
        subject: args.subject.clone(),
        schema_id: args.schema_id,
        schema_file: args.schema.clone(),
        schema_type: args.schema_type,
        references: args.references.clone(),
        auto_register: args.auto_register,
        normalize: args.normalize,
        message: args.message.clone(),
    };
    let rt = runtime()?;
    let writer = rt.block_on(schema_source::choose(&client, &registry, &choice))?;
    let input = open_input(args.input.as_ref())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut values = serde_json::Deserializer::from_reader(input).into_iter::<Json>();
    let mut n = 0usize;
    loop {
        let value = match values.next() {
            None => break,
            Some(Ok(v)) => v,
            Some(Err(e)) => bail!(
                "value {} is not JSON (line {}, column {}): {e}",
                n + 1,
                e.line(),
                e.column()
            ),
        };
        n += 1;
        if n == 2 && args.encoding == Encoding::Binary {
            bail!("--encoding binary writes exactly one record, but the input holds more than one value; use base64 or hex");
        }
        let (bytes, _) = writer
            .frame(&value, args.id_placement, Field::Value)
            .map_err(|e| match e {
                FrameError::Invalid(e) => anyhow!(
                    "value {n} does not fit {}; nothing of it was written: {e}",
                    writer.describe()
                ),
                FrameError::Other(e) => e,
            })?;
        match args.encoding {
            Encoding::Binary => out.write_all(&bytes)?,
            text => writeln!(out, "{}", text.encode_text(&bytes))?,
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
fields). An unknown schema id or bytes that are not a frame stop the command (exit 1) with the
record's number.

Examples:
  strata encode --subject users-value < users.jsonl | strata decode
  echo 0000000001020a | strata decode --encoding hex --with-schema-id
  strata decode --encoding binary --input record.bin";

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
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Run `strata decode`.
pub fn run_decode(args: DecodeArgs) -> ExitCode {
    report(decode(args))
}

/// A record's bytes, and where in the input it is (for messages).
type Located = (String, Vec<u8>);

/// The records of the input: the whole input for binary, else one per non-blank line.
fn records(
    input: Box<dyn BufRead>,
    encoding: Encoding,
) -> Result<Box<dyn Iterator<Item = Result<Located>>>> {
    if encoding == Encoding::Binary {
        let mut input = input;
        let mut bytes = Vec::new();
        input
            .read_to_end(&mut bytes)
            .context("cannot read the input")?;
        return Ok(Box::new(std::iter::once(Ok((
            "the input".to_string(),
            bytes,
        )))));
    }
    let mut n = 0usize;
    Ok(Box::new(input.lines().enumerate().filter_map(
        move |(i, line)| {
            let line_no = i + 1;
            let line = match line {
                Ok(l) => l,
                Err(e) => return Some(Err(anyhow!("cannot read the input: {e}"))),
            };
            let text = line.trim();
            if text.is_empty() {
                return None;
            }
            n += 1;
            Some(
                encoding
                    .decode_text(text)
                    .with_context(|| format!("line {line_no} is not a record"))
                    .map(|bytes| (format!("record {n} (line {line_no})"), bytes)),
            )
        },
    )))
}

fn decode(args: DecodeArgs) -> Result<()> {
    let client = args.registry.client()?;
    let registry = args.registry.registry_config()?.urls.join(",");
    let reader = Reader::new(client.clone(), registry);
    let input = open_input(args.input.as_ref())?;
    let rt = runtime()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for record in records(input, args.encoding)? {
        let (place, bytes) = record?;
        let decoded = rt
            .block_on(reader.decode(Field::Value, &[], &bytes))
            .with_context(|| format!("{place} cannot be decoded"))?;
        let shown = if args.with_schema_id {
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
            o
        } else {
            decoded.value
        };
        serde_json::to_writer(&mut out, &shown)?;
        out.write_all(b"\n")?;
    }
    out.flush().context("cannot write to stdout")?;
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
