//! End-to-end and interop tests live in `tests/`.
