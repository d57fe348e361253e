//! strata-e2e: end-to-end and interop tests (in `tests/`), and the harness that the other
//! crates' tests share: [`postgres::TestPostgres`], a throwaway PostgreSQL server.

pub mod postgres;
