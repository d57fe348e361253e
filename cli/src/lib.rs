//! The parts of the `strata` command that benchmarks and other binaries link to; everything
//! else lives in the binary (`main.rs`).

pub mod schema_validation;
