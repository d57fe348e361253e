//! JSON Schema integration tests: Confluent's conformance vectors and our own cases.

mod cases;
mod conformance;
