//! The canonical text: Java Avro 1.11's compact `Schema.toString(referencedSchemas, false)`, which
//! is what Confluent's `AvroSchema.canonicalString()` stores.
//!
//! Attribute order follows Java's `toJson` methods:
//! record `type, name, namespace, doc, fields, <props>, aliases`;
//! field `name, type, doc, default, order (unless ascending), aliases, <props>`;
//! enum `type, name, namespace, doc, symbols, default, <props>, aliases`;
//! fixed `type, name, namespace, doc, size, <props>, aliases`;
//! array `type, items, <props>`; map `type, values, <props>`; a primitive with properties
//! `type, <props>`, without them just its name.
//!
//! A named type is written in full the first time and by name afterwards, relative to the
//! enclosing namespace (Avro 1.11.3+ writes the full name when the simple name is also a type
//! name such as `map`). Confluent seeds the
//! "already written" set with the top-level names of every referenced schema, so referenced types
//! are not inlined (types nested inside a referenced schema are not seeded, and are inlined on
//! first use, as in Confluent).

use std::collections::HashSet;

use super::jackson::{write_str, write_value};
use super::model::{Model, Name, Node, NodeId};

/// Write `id` with every named type inlined on first use (Java's plain `Schema.toString()`).
pub(crate) fn write_inline(model: &Model, id: NodeId, out: &mut String) {
    let mut known = HashSet::new();
    write(model, id, &mut known, None, out);
}

/// Write `id` as compact JSON. `known` holds the full names already written (or referenced);
/// `space` is the enclosing namespace.
pub(crate) fn write(
    model: &Model,
    id: NodeId,
    known: &mut HashSet<String>,
    space: Option<&str>,
    out: &mut String,
) {
    let node = model.node(id);
    if let Some(name) = node.name() {
        // Java's writeNameRef: a name already in `names` is written as a reference.
        if !known.insert(name.full.clone()) {
            write_str(out, name.qualified(space));
            return;
        }
    }
    match node {
        Node::Primitive { kind, props } => {
            if props.is_empty() {
                write_str(out, kind.avro_name());
            } else {
                out.push_str("{\"type\":");
                write_str(out, kind.avro_name());
                write_props(out, props);
                out.push('}');
            }
        }
        Node::Record {
            name,
            doc,
            fields,
            props,
            aliases,
            is_error,
        } => {
            out.push_str(if *is_error {
                "{\"type\":\"error\""
            } else {
                "{\"type\":\"record\""
            });
            write_name(out, name, space);
            if let Some(doc) = doc {
                out.push_str(",\"doc\":");
                write_str(out, doc);
            }
            if let Some(fields) = fields {
                out.push_str(",\"fields\":[");
                let inner = name.space.as_deref();
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"name\":");
                    write_str(out, &f.name);
                    out.push_str(",\"type\":");
                    write(model, f.ty, known, inner, out);
                    if let Some(doc) = &f.doc {
                        out.push_str(",\"doc\":");
                        write_str(out, doc);
                    }
                    if let Some(d) = &f.default {
                        out.push_str(",\"default\":");
                        write_value(out, d);
                    }
                    if f.order != super::model::Order::Ascending {
                        out.push_str(",\"order\":");
                        write_str(out, f.order.avro_name());
                    }
                    if !f.aliases.is_empty() {
                        out.push_str(",\"aliases\":[");
                        for (j, a) in f.aliases.iter().enumerate() {
                            if j > 0 {
                                out.push(',');
                            }
                            write_str(out, a);
                        }
                        out.push(']');
                    }
                    write_props(out, &f.props);
                    out.push('}');
                }
                out.push(']');
            }
            write_props(out, props);
            write_aliases(out, aliases, name);
            out.push('}');
        }
        Node::Enum {
            name,
            doc,
            symbols,
            default,
            props,
            aliases,
        } => {
            out.push_str("{\"type\":\"enum\"");
            write_name(out, name, space);
            if let Some(doc) = doc {
                out.push_str(",\"doc\":");
                write_str(out, doc);
            }
            out.push_str(",\"symbols\":[");
            for (i, s) in symbols.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, s);
            }
            out.push(']');
            if let Some(d) = default {
                out.push_str(",\"default\":");
                write_str(out, d);
            }
            write_props(out, props);
            write_aliases(out, aliases, name);
            out.push('}');
        }
        Node::Fixed {
            name,
            doc,
            size,
            props,
            aliases,
        } => {
            out.push_str("{\"type\":\"fixed\"");
            write_name(out, name, space);
            if let Some(doc) = doc {
                out.push_str(",\"doc\":");
                write_str(out, doc);
            }
            out.push_str(",\"size\":");
            out.push_str(&size.to_string());
            write_props(out, props);
            write_aliases(out, aliases, name);
            out.push('}');
        }
        Node::Array { items, props } => {
            out.push_str("{\"type\":\"array\",\"items\":");
            write(model, *items, known, space, out);
            write_props(out, props);
            out.push('}');
        }
        Node::Map { values, props } => {
            out.push_str("{\"type\":\"map\",\"values\":");
            write(model, *values, known, space, out);
            write_props(out, props);
            out.push('}');
        }
        Node::Union { branches } => {
            out.push('[');
            for (i, b) in branches.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(model, *b, known, space, out);
            }
            out.push(']');
        }
    }
}

/// Java's `Name.writeName`: the namespace only when it differs from the enclosing one, and
/// `""` for a null namespace inside a non-null one.
fn write_name(out: &mut String, name: &Name, space: Option<&str>) {
    out.push_str(",\"name\":");
    write_str(out, &name.name);
    match (&name.space, space) {
        (Some(s), enclosing) if Some(s.as_str()) != enclosing => {
            out.push_str(",\"namespace\":");
            write_str(out, s);
        }
        (None, Some(_)) => out.push_str(",\"namespace\":\"\""),
        _ => {}
    }
}

fn write_props(out: &mut String, props: &[(String, serde_json::Value)]) {
    for (k, v) in props {
        out.push(',');
        write_str(out, k);
        out.push(':');
        write_value(out, v);
    }
}

/// Aliases relative to the type's own namespace (`aliasesToJson`).
fn write_aliases(out: &mut String, aliases: &[Name], owner: &Name) {
    if aliases.is_empty() {
        return;
    }
    out.push_str(",\"aliases\":[");
    for (i, a) in aliases.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, a.qualified(owner.space.as_deref()));
    }
    out.push(']');
}
