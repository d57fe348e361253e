//! Tests of the `strata` binary as users run it.

mod check;
mod check_online;
mod serve;
