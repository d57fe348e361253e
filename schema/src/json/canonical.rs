//! Confluent's canonical text for JSON schemas: the compact JSON Jackson writes after reading
//! the schema with `USE_BIG_DECIMAL_FOR_FLOATS` and exact decimals (`Jackson.newObjectMapper`).
//! Key order is kept (the last of duplicate keys wins, in the first one's place), integers
//! are written as integers, and every number with a fraction or exponent is written as Java's
//! `BigDecimal.toString` writes the literal: `1.50` stays `1.50`, `1e2` becomes `1E+2`.
//! serde_json's `Value` cannot keep literals, so this walks the text itself.

/// A JSON value whose scalars are already in canonical form.
#[derive(Debug)]
enum Tree {
    Object(Vec<(String, Tree)>),
    Array(Vec<Tree>),
    Scalar(String),
}

/// The canonical text of `text` (valid JSON), or `None` if it cannot be read.
pub(crate) fn canonical(text: &str) -> Option<String> {
    let tree = parse(text)?;
    let mut out = String::with_capacity(text.len());
    write(&tree, false, &mut out);
    Some(out)
}

/// The canonical text with every object's keys sorted as Java sorts strings (UTF-16 code
/// units), as Confluent's `normalize` writes it.
pub(crate) fn sorted(text: &str) -> Option<String> {
    let tree = parse(text)?;
    let mut out = String::with_capacity(text.len());
    write(&tree, true, &mut out);
    Some(out)
}

fn parse(text: &str) -> Option<Tree> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    let tree = p.value()?;
    p.ws();
    (p.i == p.s.len()).then_some(tree)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Option<Tree> {
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut entries: Vec<(String, Tree)> = Vec::new();
                // Key → position in `entries`: finding a repeated key stays linear overall.
                let mut positions: std::collections::HashMap<String, usize> =
                    std::collections::HashMap::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Some(Tree::Object(entries));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return None;
                    }
                    self.i += 1;
                    let value = self.value()?;
                    // Jackson's ObjectNode is a LinkedHashMap: a repeated key keeps its place.
                    match positions.get(&key) {
                        Some(&at) => entries[at].1 = value,
                        None => {
                            positions.insert(key.clone(), entries.len());
                            entries.push((key, value));
                        }
                    }
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(Tree::Object(entries));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Some(Tree::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(Tree::Array(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => {
                let s = self.string()?;
                serde_json::to_string(&s).ok().map(Tree::Scalar)
            }
            b't' => self.word("true"),
            b'f' => self.word("false"),
            b'n' => self.word("null"),
            _ => self.number(),
        }
    }

    fn word(&mut self, word: &str) -> Option<Tree> {
        let end = self.i + word.len();
        (self.text.get(self.i..end)? == word).then(|| {
            self.i = end;
            Tree::Scalar(word.to_string())
        })
    }

    /// A string token, decoded.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return serde_json::from_str(self.text.get(start..self.i)?).ok();
                }
                _ => self.i += 1,
            }
        }
        None
    }

    fn number(&mut self) -> Option<Tree> {
        let start = self.i;
        while let Some(&c) = self.s.get(self.i) {
            if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.i += 1;
            } else {
                break;
            }
        }
        let literal = self.text.get(start..self.i)?;
        if literal.is_empty() {
            return None;
        }
        Some(Tree::Scalar(java_number(literal)?))
    }
}

/// How Jackson (with `USE_BIG_DECIMAL_FOR_FLOATS`) writes a JSON number literal.
fn java_number(literal: &str) -> Option<String> {
    let (negative, body) = match literal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, literal),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = int.chars().chain(frac.chars()).collect();
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let zero = digits == "0";
    let sign = if negative && !zero { "-" } else { "" };
    if frac.is_empty() && !body.contains(['e', 'E']) {
        // An integer literal: IntNode/LongNode/BigIntegerNode.
        return Some(format!("{sign}{digits}"));
    }
    // Checked: an absurd exponent falls back to serde_json's rendering.
    let scale = (frac.len() as i64).checked_sub(exponent)?;
    let adjusted = (digits.len() as i64 - 1).checked_sub(scale)?;
    // java.math.BigDecimal.toString.
    let text = if scale >= 0 && adjusted >= -6 {
        let scale = scale as usize;
        if scale == 0 {
            digits.to_string()
        } else if digits.len() > scale {
            let point = digits.len() - scale;
            format!("{}.{}", &digits[..point], &digits[point..])
        } else {
            format!("0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if adjusted >= 0 { "+" } else { "-" };
        format!("{first}{fraction}E{exp_sign}{}", adjusted.abs())
    };
    Some(format!("{sign}{text}"))
}

fn write(tree: &Tree, sort: bool, out: &mut String) {
    match tree {
        Tree::Scalar(s) => out.push_str(s),
        Tree::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, sort, out);
            }
            out.push(']');
        }
        Tree::Object(entries) => {
            let mut refs: Vec<&(String, Tree)> = entries.iter().collect();
            if sort {
                refs.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            }
            out.push('{');
            for (i, (key, value)) in refs.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).unwrap_or_default());
                out.push(':');
                write(value, sort, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_java_big_decimals() {
        let cases = [
            ("1", "1"),
            ("-0", "0"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("1.0", "1.0"),
            ("1.50", "1.50"),
            ("-2.5", "-2.5"),
            ("100.0", "100.0"),
            ("0.0012", "0.0012"),
            ("0.0000001", "1E-7"),
            ("1e2", "1E+2"),
            ("1.5e3", "1.5E+3"),
            ("12e-1", "1.2"),
            ("0.0", "0.0"),
            ("-0.0", "0.0"),
            ("99999999.99", "99999999.99"),
        ];
        assert_eq!(java_number("1e-9223372036854775808"), None);
        for (literal, expected) in cases {
            assert_eq!(java_number(literal).as_deref(), Some(expected), "{literal}");
        }
    }

    #[test]
    fn canonical_is_compact_keeps_order_and_last_duplicate() {
        let text =
            "{ \"b\" : [1, 2.50, \"x\\u0041\\n\"], \"a\": {\"d\": true, \"c\": null}, \"b\": 1e2 }";
        assert_eq!(
            canonical(text).unwrap(),
            r#"{"b":1E+2,"a":{"d":true,"c":null}}"#
        );
        assert_eq!(
            sorted(text).unwrap(),
            r#"{"a":{"c":null,"d":true},"b":1E+2}"#
        );
        assert_eq!(
            canonical(r#"["x\u0041\n", 2.50]"#).unwrap(),
            r#"["xA\n",2.50]"#
        );
    }
}
