//! `strata schema get ID` and `strata register SUBJECT FILE`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Value};
use strata_schema::SchemaReference;
use strata_serde::Method;

use super::{block_on, query, segment, Ctx};
use crate::check::inputs::{self, TypeArg};
use crate::check::online::parse_registry_reference;
use crate::connection::RegistryArgs;
use crate::output::{print_json, print_schema, Output};

const SCHEMA_EXAMPLES: &str = "\
Examples:
  strata schema get 42
  strata schema get 42 --output json
  strata schema get 42 --format resolved      # Protobuf/Avro with references inlined

Exit codes: 0 done, 1 no schema has that id, 2 could not run.";

const REGISTER_EXAMPLES: &str = "\
Examples:
  strata register users-value schemas/user.avsc
  strata register orders-value schemas/order.avsc --reference com.acme.Address:address-value:1
  strata register events-value events.proto --normalize --output json

Exit codes: 0 registered (or already registered), 1 refused (e.g. incompatible: the registry's
messages say why), 2 could not run.";

/// `strata schema`.
#[derive(Debug, Args)]
#[command(after_help = SCHEMA_EXAMPLES)]
pub struct SchemaArgs {
    #[command(subcommand)]
    command: SchemaCommand,
}

#[derive(Debug, clap::Subcommand)]
enum SchemaCommand {
    /// Print the schema with an id (text) or the registry's object (--output json).
    #[command(after_help = SCHEMA_EXAMPLES)]
    Get {
        /// The schema id.
        id: i32,
        /// The subject whose context the id belongs to.
        #[arg(long, value_name = "SUBJECT")]
        subject: Option<String>,
        /// How the registry renders the schema: resolved (references inlined) or serialized.
        #[arg(long, value_name = "FORMAT", value_parser = ["resolved", "serialized"])]
        format: Option<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

/// `strata register`.
#[derive(Debug, Args)]
#[command(after_help = REGISTER_EXAMPLES)]
pub struct RegisterArgs {
    /// The subject to register under.
    subject: String,
    /// The schema file.
    file: PathBuf,
    /// Schema format; by default from the extension (.avsc, .proto, .json).
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    schema_type: Option<TypeArg>,
    /// A reference as Confluent writes it, NAME:SUBJECT:VERSION. Repeatable.
    #[arg(long, value_name = "NAME:SUBJECT:VERSION", value_parser = parse_registry_reference)]
    reference: Vec<SchemaReference>,
    /// Ask the registry to normalise the schema first.
    #[arg(long)]
    normalize: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// Run `strata schema …`.
pub fn run_schema(args: SchemaArgs, output: Output) -> Result<()> {
    let SchemaCommand::Get {
        id,
        subject,
        format,
        registry,
    } = args.command;
    let ctx = Ctx::new(&registry, output)?;
    block_on(async {
        let mut params = Vec::new();
        if let Some(s) = &subject {
            params.push(format!("subject={}", query(s)));
        }
        if let Some(f) = &format {
            params.push(format!("format={f}"));
        }
        let q = if params.is_empty() {
            String::new()
        } else {
            format!("?{}", params.join("&"))
        };
        let body = ctx
            .get(&format!("/schemas/ids/{id}{q}"))
            .await
            .with_context(|| format!("cannot get schema {id}"))?;
        match ctx.output {
            Output::Json => print_json(&body),
            Output::Text => print_schema(&body),
        }
        Ok(())
    })
}

/// The request body Confluent's register and lookup take.
pub fn schema_body(
    schema_type: strata_schema::SchemaType,
    text: &str,
    refs: &[SchemaReference],
) -> Value {
    let mut body = json!({ "schema": text });
    if schema_type != strata_schema::SchemaType::Avro {
        body["schemaType"] = json!(schema_type.as_str());
    }
    if !refs.is_empty() {
        body["references"] = json!(refs);
    }
    body
}

/// Run `strata register`.
pub fn run_register(args: RegisterArgs, output: Output) -> Result<()> {
    let schema_type = inputs::schema_type_of(&args.file, args.schema_type)?;
    let text = inputs::read_text(&args.file)?;
    let ctx = Ctx::new(&args.registry, output)?;
    let body = schema_body(schema_type, &text, &args.reference);
    block_on(async {
        let path = format!(
            "/subjects/{}/versions?normalize={}",
            segment(&args.subject),
            args.normalize
        );
        let r = ctx
            .send(Method::POST, &path, Some(&body))
            .await
            .with_context(|| {
                format!(
                    "cannot register {} under subject '{}'",
                    args.file.display(),
                    args.subject
                )
            })?;
        let id = r["id"].clone();
        // Pre-7.5 registries answer only the id: ask for the version.
        let version = match r.get("version") {
            Some(v) => v.clone(),
            None => ctx
                .send(
                    Method::POST,
                    &format!("/subjects/{}", segment(&args.subject)),
                    Some(&body),
                )
                .await
                .map(|l| l["version"].clone())
                .unwrap_or(Value::Null),
        };
        match ctx.output {
            Output::Json => print_json(&json!({
                "subject": args.subject,
                "id": id,
                "version": version,
            })),
            Output::Text => println!("{}: version {version}, id {id}", args.subject),
        }
        Ok(())
    })
}
