//! Field default values: Java Avro 1.12.1's `isValidDefault` (used when a schema is registered
//! as new) and its `JacksonUtils.toObject` conversion (used by Confluent's normaliser).
//!
//! Confluent 8.0.3 / 8.1.1 / 8.2 moved to Avro 1.12.1, where a union default may match ANY
//! branch (Avro 1.11 wanted the first).

use serde_json::{Map, Value};

use super::model::{Kind, Model, Node, NodeId};

/// Whether `value` is a valid default for `ty` (Java's `Schema.isValidDefault`).
/// Errors only when a record default refers to a record whose fields are still being parsed,
/// which Java reports as "Schema fields not set yet".
pub(crate) fn is_valid_default(model: &Model, ty: NodeId, value: &Value) -> Result<bool, String> {
    let node = model.node(ty);
    Ok(match node.kind() {
        Kind::String | Kind::Bytes | Kind::Enum | Kind::Fixed => value.is_string(),
        Kind::Int => value
            .as_i64()
            .is_some_and(|i| i32::try_from(i).is_ok() && !is_float(value)),
        Kind::Long => value.as_i64().is_some() && !is_float(value),
        Kind::Float | Kind::Double => value.is_number(),
        Kind::Boolean => value.is_boolean(),
        Kind::Null => value.is_null(),
        Kind::Array => match (node, value) {
            (Node::Array { items, .. }, Value::Array(elems)) => {
                for e in elems {
                    if !is_valid_default(model, *items, e)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        },
        Kind::Map => match (node, value) {
            (Node::Map { values, .. }, Value::Object(entries)) => {
                for e in entries.values() {
                    if !is_valid_default(model, *values, e)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        },
        // Java Avro 1.12: a union default is valid when any branch accepts it.
        Kind::Union => match node {
            Node::Union { branches } => {
                for branch in branches {
                    if is_valid_default(model, *branch, value)? {
                        return Ok(true);
                    }
                }
                false
            }
            _ => false,
        },
        Kind::Record => {
            let Value::Object(obj) = value else {
                return Ok(false);
            };
            let fields = match node {
                Node::Record {
                    fields: Some(fields),
                    ..
                } => fields,
                _ => return Err("Schema fields not set yet".into()),
            };
            for f in fields {
                let v = obj.get(&f.name).or(f.default.as_ref());
                match v {
                    Some(v) if is_valid_default(model, f.ty, v)? => {}
                    _ => return Ok(false),
                }
            }
            true
        }
    })
}

fn is_float(v: &Value) -> bool {
    matches!(v, Value::Number(n) if n.is_f64())
}

/// A Java object as `JacksonUtils.toObject(JsonNode, Schema)` produces it, reduced to what
/// Confluent's normaliser prints: `None` is Java's `null` (the default is then dropped).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JavaValue {
    /// `JsonProperties.NULL_VALUE`.
    Null,
    Bool(bool),
    Int(i64),
    Float(f32),
    Double(f64),
    /// A string, or `byte[]` decoded back as ISO-8859-1.
    Str(String),
    List(Vec<Option<JavaValue>>),
    Map(Vec<(String, Option<JavaValue>)>),
}

/// Java's `JacksonUtils.toObject(node, schema)` (Avro 1.11). `schema` is `None` where Java
/// passes `null` (nested values of unknown type, properties).
pub(crate) fn to_object(
    model: &Model,
    value: &Value,
    schema: Option<NodeId>,
    non_finite: bool,
) -> Option<JavaValue> {
    if let Some(id) = schema {
        if let Node::Union { branches } = model.node(id) {
            return to_object(model, value, branches.first().copied(), non_finite);
        }
    }
    let kind = schema.map(|id| model.node(id).kind());
    match value {
        Value::Null => Some(JavaValue::Null),
        Value::Bool(b) => Some(JavaValue::Bool(*b)),
        Value::Number(n) if !n.is_f64() => {
            let as_i64 = n.as_i64();
            let fits_int = as_i64.is_some_and(|i| i32::try_from(i).is_ok());
            let as_f64 = n.as_f64().unwrap_or(0.0);
            match kind {
                None => as_i64.map(JavaValue::Int),
                Some(Kind::Int) if fits_int => as_i64.map(JavaValue::Int),
                Some(Kind::Int) | Some(Kind::Long) => as_i64.map(JavaValue::Int),
                Some(Kind::Float) => Some(JavaValue::Float(as_f64 as f32)),
                Some(Kind::Double) => Some(JavaValue::Double(as_f64)),
                _ => None,
            }
        }
        Value::Number(n) => {
            let d = n.as_f64().unwrap_or(0.0);
            match kind {
                None | Some(Kind::Double) => Some(JavaValue::Double(d)),
                Some(Kind::Float) => Some(JavaValue::Float(d as f32)),
                _ => None,
            }
        }
        Value::String(s) => {
            if non_finite && matches!(kind, Some(Kind::Float) | Some(Kind::Double)) {
                let d = match s.as_str() {
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    _ => f64::NAN,
                };
                return Some(if kind == Some(Kind::Float) {
                    JavaValue::Float(d as f32)
                } else {
                    JavaValue::Double(d)
                });
            }
            match kind {
                None | Some(Kind::String) | Some(Kind::Enum) => Some(JavaValue::Str(s.clone())),
                // `textValue().getBytes(ISO_8859_1)`: characters above U+00FF become '?'.
                Some(Kind::Bytes) | Some(Kind::Fixed) => Some(JavaValue::Str(
                    s.chars()
                        .map(|c| if (c as u32) <= 0xFF { c } else { '?' })
                        .collect(),
                )),
                _ => None,
            }
        }
        Value::Array(items) => {
            let elem = schema.and_then(|id| match model.node(id) {
                Node::Array { items, .. } => Some(*items),
                _ => None,
            });
            Some(JavaValue::List(
                items
                    .iter()
                    .map(|v| to_object(model, v, elem, false))
                    .collect(),
            ))
        }
        Value::Object(entries) => Some(JavaValue::Map(object_entries(model, entries, schema))),
    }
}

fn object_entries(
    model: &Model,
    entries: &Map<String, Value>,
    schema: Option<NodeId>,
) -> Vec<(String, Option<JavaValue>)> {
    entries
        .iter()
        .map(|(k, v)| {
            let s = schema.and_then(|id| match model.node(id) {
                Node::Map { values, .. } => Some(*values),
                Node::Record { .. } => model.fields(id).iter().find(|f| &f.name == k).map(|f| f.ty),
                _ => None,
            });
            (k.clone(), to_object(model, v, s, false))
        })
        .collect()
}
