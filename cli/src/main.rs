//! `strata`: the registry server and the everyday schema, serde and broker commands.

mod check;
// Shared by the registry and serde commands, which are being added on branches.
#[allow(dead_code)]
mod connection;
mod logging;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Check(args) => check::run(args),
    }
}
