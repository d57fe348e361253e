//! `strata`: the registry server and the everyday schema, serde and broker commands.

mod broker_args;
mod check;
mod codec;
mod connection;
mod consume;
mod encode;
mod logging;
mod produce;
mod schema_source;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Strata: a Confluent-compatible schema registry and schema-aware Kafka toolkit.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the schema registry (Confluent's REST API) on SQLite (default) or PostgreSQL.
    Serve(serve::ServeArgs),
    /// Check new schema files against their old versions (files, a directory or a git
    /// revision), offline; exit 0 compatible, 1 incompatible, 2 error.
    Check(check::CheckArgs),
    /// Encode JSON values into Confluent-framed bytes (base64 or hex lines, or binary).
    Encode(encode::EncodeArgs),
    /// Decode Confluent-framed bytes into JSON values, one per line.
    Decode(encode::DecodeArgs),
    /// Produce JSON lines as schema-framed records (bundled broker, or Kafka).
    Produce(produce::ProduceArgs),
    /// Consume schema-framed records as JSON lines (bundled broker, or Kafka).
    Consume(consume::ConsumeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Check(args) => check::run(args),
        Command::Encode(args) => encode::run_encode(args),
        Command::Decode(args) => encode::run_decode(args),
        Command::Produce(args) => produce::run(args),
        Command::Consume(args) => consume::run(args),
    }
}
