//! Option values in Confluent's `OptionElement` terms, and a small reader for the protobuf text
//! format of aggregate option values (`{ key: "precision", value: "8" }`) as protox-parse hands
//! them over (tokens joined by single spaces). Printing them is [`super::canonical`]'s job.

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
