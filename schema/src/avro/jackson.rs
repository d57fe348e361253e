//! JSON text exactly as Jackson (the JSON library inside Java Avro and Confluent) writes it:
//! string escapes, Java's `Double.toString`/`Float.toString` number forms, and Java's
//! UTF-16 string ordering for sorted maps.
//!
//! Canonical and normalised Avro text is compared byte for byte with Confluent's, so this module
//! owns every byte of JSON the Avro code emits. It must not parse anything.

use std::cmp::Ordering;

use serde_json::Value;

/// Append `s` as a JSON string literal. Jackson escapes `"`, `\` and the C0 controls (short forms
/// for `\b \t \n \f \r`, `\u00XX` with upper-case hex otherwise) and writes everything else,
/// including `/` and non-ASCII, as is.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                let v = c as u32;
                out.push_str("\\u00");
                out.push(HEX[(v >> 4) as usize] as char);
                out.push(HEX[(v & 0xF) as usize] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Append `v` as compact JSON, keeping object key order (Jackson's `JsonNode.toString()`).
pub(crate) fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// `v` as compact JSON text.
pub(crate) fn value_to_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

/// Integers as Jackson's `IntNode`/`LongNode` print them; fractional numbers as its `DoubleNode`
/// does (Java's `Double.toString`).
pub(crate) fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(f) = n.as_f64() {
        out.push_str(&java_double(f));
    }
}

/// Java's `Double.toString(d)`: shortest digits, plain between 10^-3 and 10^7, otherwise
/// `d.dddE±n`; always at least one fractional digit.
pub(crate) fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    java_decimal(&format!("{d:e}"), d == 0.0, (1e-3..1e7).contains(&d.abs()))
}

/// Java's `Float.toString(f)`, same shape as [`java_double`] with float precision.
pub(crate) fn java_float(f: f32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    java_decimal(&format!("{f:e}"), f == 0.0, (1e-3..1e7).contains(&f.abs()))
}

/// Re-shape Rust's shortest `{:e}` rendering (`-1.25e-4`) into Java's layout.
fn java_decimal(sci: &str, is_zero: bool, plain: bool) -> String {
    let (neg, body) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci),
    };
    let sign = if neg { "-" } else { "" };
    if is_zero {
        return format!("{sign}0.0");
    }
    let (mantissa, exp) = body.split_once('e').unwrap_or((body, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if plain {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                let zeros = "0".repeat(int_len - digits.len());
                format!("{sign}{digits}{zeros}.0")
            } else {
                format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            let zeros = "0".repeat((-exp - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// Java's `String.compareTo`: UTF-16 code unit order (differs from Rust's byte order only for
/// characters above U+FFFF against U+E000..U+FFFF).
pub(crate) fn java_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java_does() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (100.0, "100.0"),
            (1.5, "1.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1e7, "1.0E7"),
            (1.5e10, "1.5E10"),
            (-2.5e-5, "-2.5E-5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (d, want) in cases {
            assert_eq!(java_double(*d), *want, "Double.toString({d})");
        }
    }

    #[test]
    fn floats_print_as_java_does() {
        assert_eq!(java_float(0.1), "0.1");
        assert_eq!(java_float(1.0), "1.0");
        assert_eq!(java_float(3.4e38), "3.4E38");
    }

    #[test]
    fn strings_escape_controls_with_upper_case_hex_and_keep_slashes() {
        let mut out = String::new();
        write_str(&mut out, "a\"b\\c/d\n\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c/d\\n\\u0001é\"");
    }

    #[test]
    fn java_order_is_utf16_order() {
        assert_eq!(java_cmp("\u{FFFD}", "\u{1F600}"), Ordering::Greater);
        assert_eq!(java_cmp("a", "b"), Ordering::Less);
    }
}
