//! Confluent's normalised text (`AvroSchemaUtils.toNormalizedString`, adapted from Avro's
//! `SchemaNormalization`): full names instead of namespaces, attributes in a fixed order,
//! properties, aliases and default-object keys sorted, field `order` always spelled out, and
//! defaults re-typed through Java's `JacksonUtils.toObject`.
//!
//! Confluent then re-parses that text, so the registry stores the canonical form of the result.
//! This module only builds the text; [`super::AvroSchema::normalize`] re-parses it.

use std::collections::HashMap;

use serde_json::Value;

use super::default::{to_object, JavaValue};
use super::jackson::{java_cmp, java_double, java_float, write_str};
use super::model::{LogicalType, Model, Node, NodeId};

/// Build the normalised text of `root`. `referenced` are the full names of the referenced
/// schemas' top-level types, which are written by name.
pub(crate) fn normalized_text(model: &Model, root: NodeId, referenced: &[String]) -> String {
    let mut env: HashMap<String, String> = HashMap::new();
    for full in referenced {
        env.insert(full.clone(), quoted(full));
    }
    let mut out = String::new();
    build(model, root, &mut env, &mut out);
    out
}

fn quoted(s: &str) -> String {
    let mut out = String::new();
    write_str(&mut out, s);
    out
}

fn build(model: &Model, id: NodeId, env: &mut HashMap<String, String>, o: &mut String) {
    let node = model.node(id);
    let kind = node.kind();
    match node {
        Node::Union { branches } => {
            o.push('[');
            for (i, b) in branches.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                build(model, *b, env, o);
            }
            o.push(']');
        }
        Node::Array { items, props } => {
            o.push_str("{\"type\":\"array\",\"items\":");
            build(model, *items, env, o);
            simple_props(o, props);
            o.push('}');
        }
        Node::Map { values, props } => {
            o.push_str("{\"type\":\"map\",\"values\":");
            build(model, *values, env, o);
            simple_props(o, props);
            o.push('}');
        }
        Node::Record { .. } | Node::Enum { .. } | Node::Fixed { .. } => {
            let full = node.full_name().to_string();
            if let Some(r) = env.get(&full) {
                o.push_str(r);
                return;
            }
            let q = quoted(&full);
            env.insert(full, q.clone());
            o.push_str("{\"name\":");
            o.push_str(&q);
            // Confluent writes Type.getName(), so an error type normalises to "record".
            o.push_str(",\"type\":\"");
            o.push_str(kind.avro_name());
            o.push('"');
            match node {
                Node::Enum { symbols, .. } => {
                    o.push_str(",\"symbols\":[");
                    for (i, s) in symbols.iter().enumerate() {
                        if i > 0 {
                            o.push(',');
                        }
                        o.push('"');
                        o.push_str(s);
                        o.push('"');
                    }
                    o.push(']');
                }
                Node::Fixed { size, .. } => {
                    o.push_str(",\"size\":");
                    o.push_str(&size.to_string());
                    if let Some(lt) = model.logical_type(id) {
                        logical_props(o, &lt);
                    }
                }
                _ => {
                    o.push_str(",\"fields\":[");
                    for (i, f) in model.fields(id).iter().enumerate() {
                        if i > 0 {
                            o.push(',');
                        }
                        o.push_str("{\"name\":\"");
                        o.push_str(&f.name);
                        o.push_str("\",\"type\":");
                        build(model, f.ty, env, o);
                        o.push_str(",\"order\":\"");
                        o.push_str(f.order.java_name());
                        o.push('"');
                        if let Some(doc) = &f.doc {
                            o.push_str(",\"doc\":");
                            write_str(o, doc);
                        }
                        if !f.aliases.is_empty() {
                            o.push_str(",\"aliases\":");
                            sorted_string_array(o, f.aliases.iter().map(String::as_str));
                        }
                        if let Some(d) = &f.default {
                            if let Some(jv) = to_object(model, d, Some(f.ty), f.default_non_finite)
                            {
                                o.push_str(",\"default\":");
                                write_java(o, &Some(jv));
                            }
                        }
                        simple_props(o, &f.props);
                        o.push('}');
                    }
                    o.push(']');
                }
            }
            // setComplexProps: doc (when not empty), sorted aliases, enum default.
            if let Some(doc) = node.doc().filter(|d| !d.is_empty()) {
                o.push_str(",\"doc\":");
                write_str(o, doc);
            }
            if !node.aliases().is_empty() {
                o.push_str(",\"aliases\":");
                sorted_string_array(o, node.aliases().iter().map(|a| a.full.as_str()));
            }
            if let Node::Enum {
                default: Some(d), ..
            } = node
            {
                o.push_str(",\"default\":");
                write_str(o, d);
            }
            simple_props(o, node.props());
            o.push('}');
        }
        Node::Primitive { props, .. } => {
            if let Some(lt) = model.logical_type(id) {
                o.push_str("{\"type\":\"");
                o.push_str(kind.avro_name());
                o.push('"');
                logical_props(o, &lt);
                simple_props(o, props);
                o.push('}');
            } else if !props.is_empty() {
                o.push_str("{\"type\":\"");
                o.push_str(kind.avro_name());
                o.push('"');
                simple_props(o, props);
                o.push('}');
            } else {
                o.push('"');
                o.push_str(kind.avro_name());
                o.push('"');
            }
        }
    }
}

/// `setLogicalProps`: name, and for decimals the precision and a non-zero scale.
fn logical_props(o: &mut String, lt: &LogicalType) {
    o.push_str(",\"logicalType\":\"");
    o.push_str(lt.name());
    o.push('"');
    if let LogicalType::Decimal { precision, scale } = lt {
        o.push_str(",\"precision\":");
        o.push_str(&precision.to_string());
        if *scale != 0 {
            o.push_str(",\"scale\":");
            o.push_str(&scale.to_string());
        }
    }
}

/// `setSimpleProps`: every property, sorted by key, values re-typed schema-less.
/// (The logical-type properties appear again here; the re-parse keeps the last occurrence.)
fn simple_props(o: &mut String, props: &[(String, Value)]) {
    let mut sorted: Vec<&(String, Value)> = props.iter().collect();
    sorted.sort_by(|a, b| java_cmp(&a.0, &b.0));
    for (k, v) in sorted {
        o.push_str(",\"");
        o.push_str(k);
        o.push_str("\":");
        let jv = to_object(&Model::default(), v, None, false);
        write_java(o, &jv);
    }
}

fn sorted_string_array<'a>(o: &mut String, items: impl Iterator<Item = &'a str>) {
    let mut v: Vec<&str> = items.collect();
    v.sort_by(|a, b| java_cmp(a, b));
    v.dedup();
    o.push('[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        write_str(o, s);
    }
    o.push(']');
}

/// Confluent's `toJsonNode(datum).toString()`: objects with keys sorted (a TreeMap node
/// factory), Java number forms.
fn write_java(o: &mut String, v: &Option<JavaValue>) {
    match v {
        None | Some(JavaValue::Null) => o.push_str("null"),
        Some(JavaValue::Bool(b)) => o.push_str(if *b { "true" } else { "false" }),
        Some(JavaValue::Int(i)) => o.push_str(&i.to_string()),
        Some(JavaValue::Float(f)) => non_finite_quoted(o, java_float(*f)),
        Some(JavaValue::Double(d)) => non_finite_quoted(o, java_double(*d)),
        Some(JavaValue::Str(s)) => write_str(o, s),
        Some(JavaValue::List(items)) => {
            o.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                write_java(o, item);
            }
            o.push(']');
        }
        Some(JavaValue::Map(entries)) => {
            let mut sorted: Vec<&(String, Option<JavaValue>)> = entries.iter().collect();
            sorted.sort_by(|a, b| java_cmp(&a.0, &b.0));
            o.push('{');
            for (i, (k, item)) in sorted.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                write_str(o, k);
                o.push(':');
                write_java(o, item);
            }
            o.push('}');
        }
    }
}

/// Jackson quotes NaN and infinities (`QUOTE_NON_NUMERIC_NUMBERS` is on by default).
fn non_finite_quoted(o: &mut String, s: String) {
    if s == "NaN" || s.ends_with("Infinity") {
        write_str(o, &s);
    } else {
        o.push_str(&s);
    }
}
