//! Tests of the `strata` binary as users run it.

mod apply;
mod auth;
mod check;
mod check_online;
mod completions;
mod consume_offsets;
mod export_import;
mod groups;
mod harness;
mod help_and_hints;
mod readme;
mod registry_cmds;
mod release_profile;
mod replicas;
mod serde_cmds;
mod serve;
mod serve_kafka;
mod serve_kafka_validation;
mod topics;
