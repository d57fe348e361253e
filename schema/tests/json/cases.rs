//! Our own cases.
