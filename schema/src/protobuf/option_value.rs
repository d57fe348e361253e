//! Option values in Confluent's `OptionElement` terms, and a small reader for the protobuf text
//! format of aggregate option values (`{ key: "precision", value: "8" }`) as protox-parse hands
//! them over (tokens joined by single spaces), and the extension options of a serialized
//! descriptor (Confluent's `toCustomOptions`). Printing them is [`super::canonical`]'s job.

use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MapKey, Value as ReflectValue};

/// An option value in Confluent's `OptionElement` terms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A string, printed quoted and escaped.
    Str(String),
    /// A number, boolean or enum name, printed as is.
    Prim(String),
    /// An aggregate (`{ ... }`), keys in order.
    Map(Vec<(String, Value)>),
    /// A list (`[ ... ]`).
    List(Vec<Value>),
}

/// One option: its name as printed (`java_package`, `(confluent.field_meta).doc`) and value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Opt {
    /// Name parts; `true` marks an extension part, printed in parentheses.
    pub(crate) parts: Vec<(String, bool)>,
    /// The value.
    pub(crate) value: Value,
}

impl Opt {
    pub(crate) fn simple(name: &str, value: Value) -> Self {
        Opt {
            parts: vec![(name.to_string(), false)],
            value,
        }
    }

    pub(crate) fn is_parenthesized(&self) -> bool {
        self.parts.first().is_some_and(|p| p.1)
    }
}

/// Extension (custom) options found in a serialized descriptor, by descriptor path (the paths
/// of `SourceCodeInfo`: `[]` the file, `[4, i]` a message, `[4, i, 2, j]` its field, ...).
pub(crate) type ExtensionOptions = std::collections::HashMap<Vec<i32>, Vec<Opt>>;

/// Collect the extension options of a serialized `FileDescriptorProto`, decoding it against
/// `pool` (which must know `google/protobuf/descriptor.proto` and the extensions to recognise,
/// e.g. Confluent's `*_meta`). Confluent's `toProtoFile` keeps these (`toCustomOptions`);
/// decoding into `prost_types` would drop them. Unknown extensions are dropped, as in Confluent.
pub(crate) fn extension_options(pool: &DescriptorPool, bytes: &[u8]) -> ExtensionOptions {
    let mut out = ExtensionOptions::new();
    let Some(descriptor) = pool.get_message_by_name("google.protobuf.FileDescriptorProto") else {
        return out;
    };
    if let Ok(file) = DynamicMessage::decode(descriptor, bytes) {
        collect(&file, &mut Vec::new(), &mut out);
    }
    out
}

fn collect(message: &DynamicMessage, path: &mut Vec<i32>, out: &mut ExtensionOptions) {
    for (field, value) in message.fields() {
        let Ok(number) = i32::try_from(field.number()) else {
            continue;
        };
        if field.name() == "options" {
            if let ReflectValue::Message(options) = value {
                let found: Vec<Opt> = options
                    .extensions()
                    .map(|(extension, v)| Opt {
                        parts: vec![(extension.full_name().to_string(), true)],
                        value: convert(v, &extension.kind()),
                    })
                    .collect();
                if !found.is_empty() {
                    out.entry(path.clone()).or_default().extend(found);
                }
            }
            continue;
        }
        match value {
            ReflectValue::Message(m) => {
                path.push(number);
                collect(m, path, out);
                path.pop();
            }
            ReflectValue::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let (ReflectValue::Message(m), Ok(i)) = (item, i32::try_from(i)) {
                        path.extend([number, i]);
                        collect(m, path, out);
                        path.truncate(path.len() - 2);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A decoded option value in Confluent's terms (`toOptionValue`): messages become maps, map
/// fields lists of `{key, value}` (value first for `precision` and `scale`, as Confluent does
/// "for backward compatibility").
fn convert(value: &ReflectValue, kind: &Kind) -> Value {
    match value {
        ReflectValue::Bool(b) => Value::Prim(b.to_string()),
        ReflectValue::I32(n) => Value::Prim(n.to_string()),
        ReflectValue::I64(n) => Value::Prim(n.to_string()),
        ReflectValue::U32(n) => Value::Prim(n.to_string()),
        ReflectValue::U64(n) => Value::Prim(n.to_string()),
        ReflectValue::F32(n) => Value::Prim(n.to_string()),
        ReflectValue::F64(n) => Value::Prim(n.to_string()),
        ReflectValue::String(s) => Value::Str(s.clone()),
        ReflectValue::Bytes(b) => Value::Str(String::from_utf8_lossy(b).into_owned()),
        ReflectValue::EnumNumber(n) => match kind {
            Kind::Enum(e) => Value::Prim(
                e.get_value(*n)
                    .map_or_else(|| n.to_string(), |v| v.name().to_string()),
            ),
            _ => Value::Prim(n.to_string()),
        },
        ReflectValue::Message(m) => {
            let mut entries: Vec<(String, Value)> = m
                .fields()
                .map(|(f, v)| (f.name().to_string(), convert(v, &f.kind())))
                .collect();
            entries.extend(
                m.extensions()
                    .map(|(e, v)| (format!("[{}]", e.full_name()), convert(v, &e.kind()))),
            );
            Value::Map(entries)
        }
        ReflectValue::List(items) => Value::List(items.iter().map(|v| convert(v, kind)).collect()),
        ReflectValue::Map(map) => {
            let value_kind = match kind {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other.clone(),
            };
            let mut entries: Vec<(String, Value)> = map
                .iter()
                .map(|(k, v)| (map_key(k), convert(v, &value_kind)))
                .collect();
            // HashMap order is arbitrary; sort for a deterministic text.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::List(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = ("key".to_string(), Value::Str(k.clone()));
                        let value = ("value".to_string(), v);
                        if k == "precision" || k == "scale" {
                            Value::Map(vec![value, key])
                        } else {
                            Value::Map(vec![key, value])
                        }
                    })
                    .collect(),
            )
        }
    }
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Punct(char),
    Str(String),
    Word(String),
}

fn tokenize(input: &str) -> Vec<Tok> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if "{}[]<>:,;".contains(c) {
            out.push(Tok::Punct(c));
            i += 1;
        } else if c == '"' || c == '\'' {
            let quote = c;
            i += 1;
            let mut bytes = Vec::new();
            while i < chars.len() && chars[i] != quote {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                    match chars[i] {
                        'n' => bytes.push(b'\n'),
                        't' => bytes.push(b'\t'),
                        'r' => bytes.push(b'\r'),
                        'a' => bytes.push(7),
                        'b' => bytes.push(8),
                        'f' => bytes.push(12),
                        'v' => bytes.push(11),
                        'x' => {
                            let hex: String = chars[i + 1..].iter().take(2).collect();
                            match u8::from_str_radix(&hex, 16) {
                                Ok(b) => {
                                    bytes.push(b);
                                    i += hex.len();
                                }
                                Err(_) => bytes.push(b'x'),
                            }
                        }
                        other => {
                            let mut buf = [0u8; 4];
                            bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                } else {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(chars[i].encode_utf8(&mut buf).as_bytes());
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(String::from_utf8_lossy(&bytes).into_owned()));
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"{}[]<>:,;\"'".contains(chars[i])
            {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        }
    }
    out
}

/// Parse the inside of `{ ... }` into a map value.
pub(crate) fn parse_aggregate(input: &str) -> Value {
    let toks = tokenize(input);
    let mut pos = 0;
    message(&toks, &mut pos, None)
}

fn message(toks: &[Tok], pos: &mut usize, close: Option<char>) -> Value {
    let mut entries: Vec<(String, Value)> = Vec::new();
    while *pos < toks.len() {
        match &toks[*pos] {
            Tok::Punct(c) if Some(*c) == close => {
                *pos += 1;
                break;
            }
            Tok::Punct(',') | Tok::Punct(';') => {
                *pos += 1;
            }
            Tok::Punct('[') => {
                // Extension or Any key: `[a.b.c]`.
                *pos += 1;
                let mut key = String::from("[");
                while *pos < toks.len() && toks[*pos] != Tok::Punct(']') {
                    if let Tok::Word(w) = &toks[*pos] {
                        key.push_str(w);
                    }
                    *pos += 1;
                }
                *pos += 1;
                key.push(']');
                let v = field_value(toks, pos);
                add(&mut entries, key, v);
            }
            Tok::Word(w) => {
                let key = w.clone();
                *pos += 1;
                let v = field_value(toks, pos);
                add(&mut entries, key, v);
            }
            _ => {
                *pos += 1;
            }
        }
    }
    Value::Map(entries)
}

/// Wire merges a key given twice into a list.
fn add(entries: &mut Vec<(String, Value)>, key: String, value: Value) {
    if let Some(slot) = entries.iter_mut().find(|(k, _)| *k == key) {
        let previous = std::mem::replace(&mut slot.1, Value::List(Vec::new()));
        let mut items = match previous {
            Value::List(l) => l,
            other => vec![other],
        };
        match value {
            Value::List(l) => items.extend(l),
            other => items.push(other),
        }
        slot.1 = Value::List(items);
    } else {
        entries.push((key, value));
    }
}

fn field_value(toks: &[Tok], pos: &mut usize) -> Value {
    if toks.get(*pos) == Some(&Tok::Punct(':')) {
        *pos += 1;
    }
    value(toks, pos)
}

fn value(toks: &[Tok], pos: &mut usize) -> Value {
    match toks.get(*pos) {
        Some(Tok::Punct('{')) => {
            *pos += 1;
            message(toks, pos, Some('}'))
        }
        Some(Tok::Punct('<')) => {
            *pos += 1;
            message(toks, pos, Some('>'))
        }
        Some(Tok::Punct('[')) => {
            *pos += 1;
            let mut items = Vec::new();
            while *pos < toks.len() {
                match &toks[*pos] {
                    Tok::Punct(']') => {
                        *pos += 1;
                        break;
                    }
                    Tok::Punct(',') => *pos += 1,
                    _ => items.push(value(toks, pos)),
                }
            }
            Value::List(items)
        }
        Some(Tok::Str(_)) => {
            // Adjacent string literals concatenate.
            let mut s = String::new();
            while let Some(Tok::Str(part)) = toks.get(*pos) {
                s.push_str(part);
                *pos += 1;
            }
            Value::Str(s)
        }
        Some(Tok::Word(w)) if w == "-" => {
            *pos += 1;
            match toks.get(*pos) {
                Some(Tok::Word(n)) => {
                    *pos += 1;
                    Value::Prim(format!("-{n}"))
                }
                _ => Value::Prim("-".into()),
            }
        }
        Some(Tok::Word(w)) => {
            *pos += 1;
            Value::Prim(w.clone())
        }
        _ => {
            *pos += 1;
            Value::Prim(String::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_values_parse_into_maps_and_lists() {
        let v = parse_aggregate(
            r#"params : [ { key : "precision" , value : "8" } , { key : "scale" , value : "3" } ]"#,
        );
        let Value::Map(entries) = v else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0, "params");
        assert!(matches!(&entries[0].1, Value::List(l) if l.len() == 2));
    }
}
