//! Protobuf integration tests: Confluent's diff vectors (data-driven) and the project's own cases.

mod conformance;
mod own_cases;
