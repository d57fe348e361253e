//! strata-registry: the Confluent-compatible HTTP server and its storage.
