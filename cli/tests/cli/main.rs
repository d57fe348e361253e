//! Tests of the `strata` binary as users run it.

mod apply;
mod check;
mod check_online;
mod completions;
mod export_import;
mod harness;
mod registry_cmds;
mod replicas;
mod serde_cmds;
mod serve;
