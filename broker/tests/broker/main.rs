//! Integration tests for strata-broker, one binary. Child-process tests re-run this binary with
//! `STRATA_BROKER_CHILD` set; see `support::spawn_child`.

mod admin;
mod cleaning;
mod corruption;
mod faults;
mod groups;
mod kills;
mod produce_consume;
mod support;
