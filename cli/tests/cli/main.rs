//! Tests of the `strata` binary as users run it.

mod check;
mod check_online;
mod serde_cmds;
mod serve;
