//! `strata`: the registry server and the everyday schema, serde and broker commands.

mod admin;
mod auth;
mod broker_args;
mod check;
mod codec;
mod completions;
mod connection;
mod consume;
mod encode;
mod groups;
mod logging;
mod output;
mod produce;
mod project;
mod schema_source;
mod serve;
mod topics;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::{finish, Output};

/// mimalloc rather than glibc's malloc: allocation was about a sixth of `strata serve`'s CPU
/// under concurrent registrations (many small, short-lived allocations across threads).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXIT_CODES: &str = "\
Examples:
  strata serve                                   # a registry on :8081, SQLite in ./strata-data
  strata check schemas/order.avsc --against git:main
  strata apply --dry-run && strata apply         # strata.toml: what would change, then do it
  strata subjects list --output json
  echo '{\"id\": 1}' | strata produce users --value-schema user.avsc --auto-register
  strata consume users --from-beginning --max-messages 10
Every command has its own examples: strata COMMAND --help.

Exit codes: 0 success; 1 a negative result (incompatible schema, the registry refused or found
nothing); 2 the command could not run (usage, configuration, files, network).
The registry is named by --registry, STRATA_REGISTRY_URL, the config file's [registry] table
(--config, STRATA_CONFIG, ~/.config/strata/config.toml) or strata.toml's [registry] table.";

/// Strata: a Confluent-compatible schema registry and schema-aware Kafka toolkit.
#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = EXIT_CODES
)]
struct Cli {
    /// Output format of every command (but serve, which logs; see its --log-format): text for
    /// people, json for scripts. In json mode errors are one JSON object on stderr.
    #[arg(long, global = true, value_enum, env = "STRATA_OUTPUT", default_value_t = Output::Text)]
    output: Output,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the schema registry (Confluent's REST API) on SQLite (default) or PostgreSQL.
    Serve(serve::ServeArgs),
    /// Check new schema files against old versions (files, a directory, a git revision) or a
    /// registry, or every subject of strata.toml; exit 0 compatible, 1 incompatible, 2 error.
    Check(check::CheckArgs),
    /// Register what changed in strata.toml, references first, and set levels.
    Apply(project::apply::ApplyArgs),
    /// Download a registry's subjects into schema files and a strata.toml.
    Pull(project::pull::PullArgs),
    /// List, read and delete subjects and their versions.
    Subjects(admin::subjects::SubjectsArgs),
    /// Read schemas by id.
    Schema(admin::schemas::SchemaArgs),
    /// Register a schema file under a subject.
    Register(admin::schemas::RegisterArgs),
    /// Read and set compatibility levels, global or per subject.
    Config(admin::settings::ConfigArgs),
    /// Read and set modes (READWRITE, READONLY, IMPORT), global or per subject.
    Mode(admin::settings::ModeArgs),
    /// Write every subject, version, id, config and mode to a directory.
    Export(admin::export::ExportArgs),
    /// Restore a directory written by export, preserving ids (through IMPORT mode).
    Import(admin::import::ImportArgs),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
    /// Encode JSON values into Confluent-framed bytes (base64 or hex lines, or binary).
    Encode(encode::EncodeArgs),
    /// Decode Confluent-framed bytes into JSON values, one per line.
    Decode(encode::DecodeArgs),
    /// Produce JSON lines as schema-framed records (bundled broker, or Kafka).
    Produce(produce::ProduceArgs),
    /// Consume schema-framed records as JSON lines (bundled broker, or Kafka).
    Consume(consume::ConsumeArgs),
    /// The bundled broker's topics: create, list, describe, alter, add-partitions, delete;
    /// verify and repair damaged logs.
    Topics(topics::TopicsArgs),
    /// The bundled broker's consumer groups: list, describe (members, offsets, lag),
    /// reset-offsets, delete.
    Groups(groups::GroupsArgs),
    /// Registry security tools: `strata auth mkpasswd` writes a users-file entry.
    Auth(auth::AuthArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let output = cli.output;
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Check(args) => check::run(args, output),
        Command::Apply(args) => finish(project::apply::run(args, output), output),
        Command::Pull(args) => finish(project::pull::run(args, output), output),
        Command::Subjects(args) => finish(admin::subjects::run(args, output), output),
        Command::Schema(args) => finish(admin::schemas::run_schema(args, output), output),
        Command::Register(args) => finish(admin::schemas::run_register(args, output), output),
        Command::Config(args) => finish(admin::settings::run_config(args, output), output),
        Command::Mode(args) => finish(admin::settings::run_mode(args, output), output),
        Command::Export(args) => finish(admin::export::run(args, output), output),
        Command::Import(args) => finish(admin::import::run(args, output), output),
        Command::Completions(args) => finish(completions::run::<Cli>(args, output), output),
        Command::Encode(args) => encode::run_encode(args, output),
        Command::Decode(args) => encode::run_decode(args, output),
        Command::Produce(args) => produce::run(args, output),
        Command::Consume(args) => consume::run(args, output),
        Command::Topics(args) => finish(topics::run(args, output), output),
        Command::Groups(args) => finish(groups::run(args, output), output),
        Command::Auth(args) => auth::run(args),
    }
}

/// A command line clap refuses: clap's message (exit 2), or with `--output json` (flag or
/// `STRATA_OUTPUT`) the JSON error object. Help and version print as usual.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) || !json_requested()
    {
        e.exit();
    }
    let rendered = e.render().to_string();
    let message = rendered
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string();
    output::report_error(Output::Json, &message, Some(USAGE_HINT), 2);
    ExitCode::from(2)
}

/// Whether the command line or `STRATA_OUTPUT` asks for JSON (for errors clap raises before
/// the flags are parsed).
fn json_requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let from_args = args.iter().enumerate().find_map(|(i, a)| {
        if a == "--output" {
            args.get(i + 1).map(|v| v == "json")
        } else {
            a.strip_prefix("--output=").map(|v| v == "json")
        }
    });
    from_args.unwrap_or_else(|| std::env::var("STRATA_OUTPUT").is_ok_and(|v| v == "json"))
}

/// The hint printed with a usage error.
const USAGE_HINT: &str = "see `strata --help` or `strata COMMAND --help`";

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use crate::schema_source::ChoiceFlags;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// The `--flags` a message names.
    fn flags_in(text: &str) -> Vec<&str> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .collect()
    }

    fn has_flag(cmd: &clap::Command, flag: &str) -> bool {
        let long = flag.trim_start_matches("--");
        cmd.get_arguments().any(|a| {
            a.get_long() == Some(long)
                || a.get_all_aliases().into_iter().flatten().any(|x| x == long)
        }) || (long == "help" && !cmd.is_disable_help_flag_set())
    }

    /// The command and every subcommand under it, built (global flags propagated).
    fn all_commands(cmd: &clap::Command) -> Vec<clap::Command> {
        let mut out = vec![cmd.clone()];
        for sub in cmd.get_subcommands() {
            out.extend(all_commands(sub));
        }
        out
    }

    fn built() -> clap::Command {
        let mut cmd = super::Cli::command();
        cmd.build();
        cmd
    }

    #[test]
    fn every_schema_choice_message_names_flags_its_command_has() {
        let cli = built();
        for flags in ChoiceFlags::ALL {
            let cmd = cli
                .find_subcommand(flags.command)
                .unwrap_or_else(|| panic!("no subcommand {}", flags.command));
            for message in flags.messages() {
                for flag in flags_in(&message) {
                    assert!(
                        has_flag(cmd, flag),
                        "`strata {}` has no {flag}, which this message names: {message}",
                        flags.command
                    );
                }
            }
        }
    }

    #[test]
    fn every_hint_names_flags_and_commands_that_exist() {
        let cli = built();
        let everything = all_commands(&cli);
        let mut hints = crate::output::every_hint();
        hints.push(super::USAGE_HINT);
        assert!(hints.len() > 15, "{hints:?}");
        for hint in hints {
            for flag in flags_in(hint) {
                assert!(
                    everything.iter().any(|c| has_flag(c, flag)),
                    "no command has {flag}, which this hint names: {hint}"
                );
            }
            // Commands in backquotes parse, with their placeholders filled in.
            for (i, quoted) in hint.split('`').enumerate() {
                if i % 2 == 0 || !quoted.starts_with("strata ") {
                    continue;
                }
                let line = quoted
                    .replace("[SUBJECT]", "users-value")
                    .replace("SUBJECT", "users-value")
                    .replace("FILE", "user.avsc")
                    .replace("LEVEL", "BACKWARD")
                    .replace("COMMAND", "check")
                    .replace(" N", " 1");
                let args: Vec<&str> = line.split_whitespace().collect();
                if let Err(e) = super::Cli::command().try_get_matches_from(&args) {
                    assert!(
                        e.kind() == clap::error::ErrorKind::DisplayHelp,
                        "`{quoted}` in this hint does not parse ({e}): {hint}"
                    );
                }
            }
        }
    }
}
