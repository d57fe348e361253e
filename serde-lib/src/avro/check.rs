//! A bounded check of an Avro datum against its writer schema, run before apache-avro decodes
//! bytes into a generic `Value`.
//!
//! apache-avro's `Value` decoder trusts the lengths a payload claims (an `array<int>` claiming
//! 500 million items reserves room for them before reading one) and reads a cut-off string,
//! boolean or union as `null`. This walk reads the payload the way the decoder will, without
//! building anything, and refuses what the decoder must not see: a length or item count larger
//! than the bytes left, a block of more than [`MAX_ZERO_WIDTH_ITEMS`] items that take no bytes
//! (nulls, empty records), an index outside a union or enum, a varint longer than 10 bytes, an
//! int out of range, a boolean that is not 0 or 1, a string that is not UTF-8, nesting deeper
//! than [`MAX_DEPTH`], and bytes left after the datum. What passes decodes within memory
//! proportional to its size. Errors name the place in the datum (`$.items[3].name`).

use std::collections::HashMap;

use apache_avro::schema::{Name, Namespace, RecordSchema, Schema};

pub(crate) use super::decode::MAX_DEPTH;

/// Items that take no bytes (nulls, empty records, `fixed` of size 0) a whole datum may hold:
/// each becomes a `Value` in memory, so a few bytes could otherwise claim gigabytes.
pub(crate) const MAX_ZERO_WIDTH_ITEMS: usize = 1 << 16;

/// The named types of a schema, owned, for resolving references during the check.
pub(crate) type Names = HashMap<Name, Schema>;

/// Why a datum was refused, and where.
#[derive(Debug)]
pub(crate) struct CheckError {
    message: String,
    /// Innermost last while unwinding; printed outermost first.
    path: Vec<String>,
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if !self.path.is_empty() {
            f.write_str(" (at $")?;
            for p in self.path.iter().rev() {
                f.write_str(p)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

type Result<T = ()> = std::result::Result<T, CheckError>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(CheckError {
        message: message.into(),
        path: Vec::new(),
    })
}

fn at<T>(r: Result<T>, segment: impl FnOnce() -> String) -> Result<T> {
    r.map_err(|mut e| {
        e.path.push(segment());
        e
    })
}

/// Checks that `bytes` hold exactly one datum of `schema` (see the module docs).
pub(crate) fn check(schema: &Schema, names: &Names, bytes: &[u8]) -> Result {
    let mut c = Checker {
        names,
        input: bytes,
        depth: 0,
        zero_width: 0,
    };
    c.datum(schema, &None)?;
    if !c.input.is_empty() {
        return fail(format!(
            "{} byte(s) are left after the datum",
            c.input.len()
        ));
    }
    Ok(())
}

struct Checker<'a> {
    names: &'a Names,
    input: &'a [u8],
    depth: usize,
    zero_width: usize,
}

impl<'a> Checker<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.input.len() {
            return fail(format!(
                "{what} needs {n} byte(s) but only {} remain",
                self.input.len()
            ));
        }
        let (head, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(head)
    }

    fn long(&mut self) -> Result<i64> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some((&byte, rest)) = self.input.split_first() else {
                return fail("a number is cut short");
            };
            self.input = rest;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        fail("a number is longer than 10 bytes")
    }

    fn int(&mut self) -> Result<i32> {
        let v = self.long()?;
        i32::try_from(v).or_else(|_| fail(format!("{v} does not fit an int")))
    }

    /// A byte or string length.
    fn len(&mut self, what: &str) -> Result<usize> {
        let n = self.long()?;
        let Ok(n) = usize::try_from(n) else {
            return fail(format!("{what} has a negative length ({n})"));
        };
        if n > self.input.len() {
            return fail(format!(
                "{what} claims {n} byte(s) but only {} remain",
                self.input.len()
            ));
        }
        Ok(n)
    }

    fn resolve(&self, name: &Name, ns: &Namespace) -> Result<(&'a Schema, Namespace)> {
        let full = name.fully_qualified_name(ns);
        match self.names.get(&full) {
            Some(s) => Ok((s, full.namespace)),
            None => fail(format!("the schema names an unknown type {full:?}")),
        }
    }

    /// Whether an item of `schema` can take no bytes at all.
    fn zero_width(&self, schema: &Schema, ns: &Namespace, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match schema {
            Schema::Null => true,
            Schema::Fixed(f) => f.size == 0,
            Schema::Decimal(d) => self.zero_width(&d.inner, ns, depth + 1),
            Schema::Record(RecordSchema { name, fields, .. }) => {
                let ns = name.fully_qualified_name(ns).namespace;
                fields
                    .iter()
                    .all(|f| self.zero_width(&f.schema, &ns, depth + 1))
            }
            Schema::Ref { name } => match self.resolve(name, ns) {
                Ok((s, ns)) => self.zero_width(s, &ns, depth + 1),
                Err(_) => false,
            },
            _ => false,
        }
    }

    /// The item count of the next block of an array or map (0 at the end).
    fn block(&mut self, item: &Schema, ns: &Namespace, what: &str) -> Result<usize> {
        let n = self.long()?;
        if n == 0 {
            return Ok(0);
        }
        let count = n.unsigned_abs();
        if n < 0 {
            // A negative count is followed by the block's size in bytes.
            let size = self.long()?;
            if size < 0 || size as u64 > self.input.len() as u64 {
                return fail(format!(
                    "a block of {what} claims {size} byte(s) but only {} remain",
                    self.input.len()
                ));
            }
        }
        if self.zero_width(item, ns, 0) {
            self.zero_width = self.zero_width.saturating_add(count as usize);
            if count > MAX_ZERO_WIDTH_ITEMS as u64 || self.zero_width > MAX_ZERO_WIDTH_ITEMS {
                return fail(format!(
                    "{what} claim {count} item(s) of no bytes each; at most {MAX_ZERO_WIDTH_ITEMS} are read"
                ));
            }
        } else if count > self.input.len() as u64 {
            return fail(format!(
                "a block of {what} claims {count} item(s) but only {} byte(s) remain",
                self.input.len()
            ));
        }
        Ok(count as usize)
    }

    fn datum(&mut self, schema: &Schema, ns: &Namespace) -> Result {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return fail(format!("the datum nests deeper than {MAX_DEPTH} levels"));
        }
        let r = self.datum_inner(schema, ns);
        self.depth -= 1;
        r
    }

    fn datum_inner(&mut self, schema: &Schema, ns: &Namespace) -> Result {
        match schema {
            Schema::Null => {}
            Schema::Boolean => {
                let b = self.take(1, "a boolean")?[0];
                if b > 1 {
                    return fail(format!("a boolean is {b}, not 0 or 1"));
                }
            }
            Schema::Int | Schema::Date | Schema::TimeMillis => {
                self.int()?;
            }
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => {
                self.long()?;
            }
            Schema::Float => {
                self.take(4, "a float")?;
            }
            Schema::Double => {
                self.take(8, "a double")?;
            }
            Schema::Bytes | Schema::BigDecimal | Schema::Uuid => {
                let n = self.len("a bytes value")?;
                self.take(n, "a bytes value")?;
            }
            Schema::String => {
                let n = self.len("a string")?;
                let s = self.take(n, "a string")?;
                if let Err(e) = std::str::from_utf8(s) {
                    return fail(format!("a string is not UTF-8: {e}"));
                }
            }
            Schema::Fixed(f) => {
                self.take(f.size, "a fixed value")?;
            }
            Schema::Duration => {
                self.take(12, "a duration")?;
            }
            Schema::Decimal(d) => self.datum(&d.inner, ns)?,
            Schema::Enum(e) => {
                let i = self.int()?;
                if i < 0 || i as usize >= e.symbols.len() {
                    return fail(format!(
                        "enum index {i} is outside the {} symbol(s) of {}",
                        e.symbols.len(),
                        e.name
                    ));
                }
            }
            Schema::Union(u) => {
                let i = self.long()?;
                let variants = u.variants();
                let Some(branch) = usize::try_from(i).ok().and_then(|i| variants.get(i)) else {
                    return fail(format!(
                        "union index {i} is outside the union's {} branch(es)",
                        variants.len()
                    ));
                };
                self.datum(branch, ns)?;
            }
            Schema::Array(a) => {
                let mut index = 0usize;
                loop {
                    let n = self.block(&a.items, ns, "array items")?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        let i = index;
                        at(self.datum(&a.items, ns), || format!("[{i}]"))?;
                        index += 1;
                    }
                }
            }
            Schema::Map(m) => loop {
                let n = self.block(&m.types, ns, "map entries")?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    let klen = self.len("a map key")?;
                    let key = self.take(klen, "a map key")?;
                    let Ok(key) = std::str::from_utf8(key) else {
                        return fail("a map key is not UTF-8");
                    };
                    at(self.datum(&m.types, ns), || format!("[{key:?}]"))?;
                }
            },
            Schema::Record(RecordSchema { name, fields, .. }) => {
                let inner = name.fully_qualified_name(ns).namespace;
                for f in fields {
                    at(self.datum(&f.schema, &inner), || format!(".{}", f.name))?;
                }
            }
            Schema::Ref { name } => {
                let (s, inner) = self.resolve(name, ns)?;
                self.datum(s, &inner)?;
            }
        }
        Ok(())
    }
}
