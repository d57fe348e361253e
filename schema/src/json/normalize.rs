//! Confluent's `JsonSchema.normalize`: the canonical text re-read with object keys sorted
//! (Jackson's ordered-properties mapper), so schemas differing only in key order are equal.

use serde_json::{Map, Value};

use crate::Dependency;

/// `value` with the keys of every object sorted.
pub(crate) fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut sorted = Map::with_capacity(entries.len());
            for (k, v) in entries {
                sorted.insert(k.clone(), sort_keys(v));
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// References sorted and without duplicates (Confluent: `references.stream().sorted().distinct()`).
pub(crate) fn sort_dependencies(dependencies: &[Dependency]) -> Vec<Dependency> {
    let mut sorted = dependencies.to_vec();
    sorted.sort_by(|a, b| (&a.name, &a.subject, a.version).cmp(&(&b.name, &b.subject, b.version)));
    sorted.dedup();
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sort_keys_sorts_nested_objects_and_keeps_array_order() {
        let v = json!({"b": 1, "a": {"d": [{"z": 1, "y": 2}], "c": 3}});
        assert_eq!(
            serde_json::to_string(&sort_keys(&v)).unwrap(),
            r#"{"a":{"c":3,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }
}
