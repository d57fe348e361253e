//! strata-kafka's integration tests: a real listener on 127.0.0.1 port 0 over a real log
//! directory, driven by librdkafka (through rdkafka) and by raw frames for the abuse cases.

mod support;

mod admin;
mod bench;
mod clients;
mod frames;
mod group_admin;
mod groups;
mod validation;
