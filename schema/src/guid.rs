//! Confluent's schema GUID: an MD5 over the schema text, its references, metadata and rule set,
//! rendered as a UUID (Confluent 8.0+, `GET /schemas/guids/{guid}` and the header wire format).
//!
//! The byte stream is Confluent's `Schema.updateHash` (client `rest/entities/Schema.java`):
//! the schema text (UTF-8); per reference its name, subject and version as a 4-byte big-endian
//! int; then, if metadata is present, a `0x01` marker and `Metadata.updateHash` (tags, then
//! properties, then sensitive names, all sorted); then, if a rule set is present, a `0x01` marker
//! and `RuleSet.updateHash` (migration, domain, then encoding rules, each rule's fields in
//! declaration order). The 16 digest bytes are the UUID's bytes, most significant first, with no
//! version bits set. Pure computation: no I/O.

use md5::{Digest, Md5};
use serde_json::Value;
use uuid::Uuid;

use crate::SchemaReference;

/// Confluent's GUID of a schema: `schema` is the stored (canonical) text, `references` in their
/// stored order, `metadata` and `rule_set` as the JSON objects of the request/stored schema
/// (`None` or JSON `null` when absent).
pub fn schema_guid(
    schema: &str,
    references: &[SchemaReference],
    metadata: Option<&Value>,
    rule_set: Option<&Value>,
) -> Uuid {
    let mut md = Md5::new();
    md.update(schema.as_bytes());
    for r in references {
        md.update(r.name.as_bytes());
        md.update(r.subject.as_bytes());
        md.update(r.version.to_be_bytes());
    }
    if let Some(m) = metadata.filter(|v| !v.is_null()) {
        md.update([1u8]);
        metadata_hash(&mut md, m);
    }
    if let Some(rs) = rule_set.filter(|v| !v.is_null()) {
        md.update([1u8]);
        for key in ["migrationRules", "domainRules", "encodingRules"] {
            if let Some(Value::Array(rules)) = rs.get(key) {
                for rule in rules {
                    rule_hash(&mut md, rule);
                }
            }
        }
    }
    let digest: [u8; 16] = md.finalize().into();
    Uuid::from_bytes(digest)
}

/// The 16 bytes of a GUID as the header wire format carries them (Confluent's
/// `SchemaId.guidToBytes`: most significant 8 bytes, then least significant, big-endian).
pub fn guid_to_bytes(guid: &Uuid) -> [u8; 16] {
    *guid.as_bytes()
}

/// The GUID whose wire bytes are `bytes` (inverse of [`guid_to_bytes`]).
pub fn guid_from_bytes(bytes: [u8; 16]) -> Uuid {
    Uuid::from_bytes(bytes)
}

/// `Metadata.updateHash`: tags (sorted keys, each with its sorted values), properties (sorted
/// key then value), sensitive (sorted). Confluent keeps them in Java sorted collections.
fn metadata_hash(md: &mut Md5, m: &Value) {
    if let Some(Value::Object(tags)) = m.get("tags") {
        for (k, vals) in sorted_entries(tags) {
            md.update(k.as_bytes());
            for v in sorted_strings(vals) {
                md.update(v.as_bytes());
            }
        }
    }
    if let Some(Value::Object(props)) = m.get("properties") {
        for (k, v) in sorted_entries(props) {
            md.update(k.as_bytes());
            md.update(scalar_text(v).as_bytes());
        }
    }
    if let Some(sensitive) = m.get("sensitive") {
        for s in sorted_strings(sensitive) {
            md.update(s.as_bytes());
        }
    }
}

/// `Rule.updateHash`. Confluent's `Rule` defaults `kind` to TRANSFORM and `mode` to WRITEREAD
/// and keeps tags and params sorted; `disabled` adds a `0x01` byte when true.
fn rule_hash(md: &mut Md5, rule: &Value) {
    let text = |key: &str| rule.get(key).filter(|v| !v.is_null()).map(scalar_text);
    for key in ["name", "doc"] {
        if let Some(t) = text(key) {
            md.update(t.as_bytes());
        }
    }
    md.update(
        text("kind")
            .unwrap_or_else(|| "TRANSFORM".into())
            .as_bytes(),
    );
    md.update(
        text("mode")
            .unwrap_or_else(|| "WRITEREAD".into())
            .as_bytes(),
    );
    if let Some(t) = text("type") {
        md.update(t.as_bytes());
    }
    if let Some(tags) = rule.get("tags") {
        for t in sorted_strings(tags) {
            md.update(t.as_bytes());
        }
    }
    if let Some(Value::Object(params)) = rule.get("params") {
        for (k, v) in sorted_entries(params) {
            md.update(k.as_bytes());
            md.update(scalar_text(v).as_bytes());
        }
    }
    for key in ["expr", "onSuccess", "onFailure"] {
        if let Some(t) = text(key) {
            md.update(t.as_bytes());
        }
    }
    if rule.get("disabled").and_then(Value::as_bool) == Some(true) {
        md.update([1u8]);
    }
}

/// Jackson's coercion of a JSON scalar into a Java `String` field.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Java's `String.compareTo` order (UTF-16 code units).
fn java_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn sorted_entries(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by(|a, b| java_order(a.0, b.0));
    v
}

/// The strings of a JSON array as a Java `SortedSet` (sorted, without duplicates).
fn sorted_strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = match v {
        Value::Array(items) => items
            .iter()
            .filter(|i| !i.is_null())
            .map(scalar_text)
            .collect(),
        _ => Vec::new(),
    };
    out.sort_by(|a, b| java_order(a, b));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/conformance/confluent/guid/schema-md5-golden-data.json"
    );

    #[test]
    fn guid_matches_every_confluent_golden_value() {
        let Ok(text) = std::fs::read_to_string(GOLDEN) else {
            println!("skipping: {GOLDEN} is absent (it is present in CI)");
            return;
        };
        let data: Value = serde_json::from_str(&text).expect("golden file is JSON");
        let refs: Vec<SchemaReference> =
            serde_json::from_value(data["references"].clone()).expect("references parse");
        let mut checked = 0;
        for (ty, key) in [("AVRO", "avro"), ("PROTOBUF", "protobuf"), ("JSON", "json")] {
            let schema = data["schemas"][key].as_str().expect("schema text");
            let expected = data["expectedHashes"][ty]
                .as_object()
                .expect("expected hashes");
            for (bits, want) in expected {
                let bits: Vec<bool> = bits.chars().map(|c| c == '1').collect();
                let got = schema_guid(
                    schema,
                    if bits[0] { &refs } else { &[] },
                    bits[1].then_some(&data["metadata"]),
                    bits[2].then_some(&data["rules"]),
                );
                assert_eq!(
                    got.to_string(),
                    want.as_str().expect("hash text"),
                    "{ty} with references={} metadata={} ruleSet={}",
                    bits[0],
                    bits[1],
                    bits[2]
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 24);
    }

    #[test]
    fn guid_bytes_round_trip() {
        let g = schema_guid("\"string\"", &[], None, None);
        assert_eq!(guid_from_bytes(guid_to_bytes(&g)), g);
    }
}
