//! The limits that keep one client from exhausting the server: how deep a schema may nest, how
//! much schema work runs at once, how long a connection may take to send its headers and body,
//! how long a request may run and how many run at once.
//!
//! Every limit has a name (used in the error a client receives when it is hit, and in the
//! `strata serve` flag and `STRATA_*` variable that set it) and a default that admits every
//! real workload. The README's "Limits and hardening" section lists them.

use std::time::Duration;

use crate::work::PoolSize;

/// The configurable limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `max_nesting_depth`: brackets (JSON) or blocks (Protobuf) nested deeper are refused
    /// with 42201 before a parser sees the schema. JSON texts stop at 128 in any case
    /// (serde_json's own recursion limit).
    pub max_nesting_depth: usize,
    /// `max_schema_nodes`: objects and arrays (JSON) or blocks and statements (Protobuf) in one
    /// schema text; more are refused with 42201 before a parser sees it.
    pub max_schema_nodes: usize,
    /// `schema_work_threads` and `max_pending_schema_work`: the pool that parses and checks
    /// schemas off the async workers.
    pub pool: PoolSize,
    /// `header_read_timeout`: the time a client has, from the first byte of a request, to send
    /// all its headers (slowloris); the connection is closed after it.
    pub header_read_timeout: Duration,
    /// `idle_timeout`: how long a connection with no request in flight stays open without a
    /// byte read or written (a keep-alive connection between requests); Confluent's
    /// `idle.timeout.ms` is 30 s too.
    pub idle_timeout: Duration,
    /// `body_read_timeout`: the time a client has to send a request's body (408 after it).
    pub body_read_timeout: Duration,
    /// `request_timeout`: the time a request may take in all (50002 after it).
    pub request_timeout: Duration,
    /// `max_concurrent_requests`: requests served at once; more are answered 429 at once.
    pub max_concurrent_requests: usize,
    /// `max_reference_depth`: references of references … nested deeper are refused (42201).
    pub max_reference_depth: usize,
    /// `max_references`: distinct reference names a request's reference graph expands to
    /// (Confluent resolves a name once per request, wherever it is met again); 42201 beyond.
    /// Each subject version is fetched from the database once.
    pub max_references: usize,
    /// `max_compared_pairs`: pairs of subschemas one JSON Schema compatibility check may
    /// compare (nested `allOf`/`anyOf`/`oneOf` multiply them); 42201 beyond.
    pub max_compared_pairs: usize,
    /// `cache_max_bytes`: what the in-memory caches hold at most together (estimated); least
    /// recently used entries are evicted past it.
    pub cache_max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nesting_depth: strata_schema::limits::DEFAULT_MAX_NESTING_DEPTH,
            max_schema_nodes: strata_schema::limits::DEFAULT_MAX_SCHEMA_NODES,
            pool: PoolSize::default(),
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            max_concurrent_requests: 1024,
            max_reference_depth: 32,
            max_references: 10_000,
            max_compared_pairs: strata_schema::limits::DEFAULT_MAX_COMPARED_PAIRS,
            cache_max_bytes: 256 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// The limits checked on a schema's text.
    pub fn text(&self) -> strata_schema::limits::TextLimits {
        strata_schema::limits::TextLimits {
            max_nesting_depth: self.max_nesting_depth,
            max_schema_nodes: self.max_schema_nodes,
        }
    }
}

/// A duration as a person reads it in an error message (`30s`, `250ms`).
pub fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// How many characters of a schema an error message quotes.
pub const QUOTED_PREFIX_CHARS: usize = 200;

/// How many references an error message lists.
pub const QUOTED_REFERENCES: usize = 10;

/// At most [`QUOTED_PREFIX_CHARS`] characters of `text`, saying how much was left out.
pub fn quote_prefix(text: &str) -> String {
    match text.char_indices().nth(QUOTED_PREFIX_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_prefix_keeps_short_texts_and_cuts_long_ones_on_a_char_boundary() {
        assert_eq!(quote_prefix("abc"), "abc");
        let long = "é".repeat(1000);
        let quoted = quote_prefix(&long);
        assert!(quoted.starts_with(&"é".repeat(QUOTED_PREFIX_CHARS)));
        assert!(quoted.ends_with("(2000 bytes in all)"), "{quoted}");
    }
}
