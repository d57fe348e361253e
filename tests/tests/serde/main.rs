//! strata-serde against a live Strata registry (in process, on SQLite and on PostgreSQL) and the
//! bundled broker.

mod avro;
mod harness;
mod interop;
mod json;
mod kafka;
mod producer_consumer;
mod protobuf;
