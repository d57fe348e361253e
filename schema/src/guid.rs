//! Confluent's schema GUID: an MD5 over the schema text, its references, metadata and rule set,
//! rendered as a UUID.
