//! The plan decoder: a serde `Deserializer` that walks a read [`Plan`] over the payload bytes
//! and drives the caller's `Deserialize` impl directly: no apache-avro `Value` in between.
//! Strings, bytes and map keys are lent from the input.
//!
//! It never panics on input and never allocates by a length the input claims: every length
//! and item count is checked against the bytes that remain, and nesting is bounded by
//! [`MAX_DEPTH`]. It presents values as apache-avro's `from_value` does for the shapes derived
//! types use; anything it does not present the same way is an error, and the caller falls
//! back to apache-avro.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Visitor};
use serde::forward_to_deserialize_any;

use super::plan::{Branch, DefaultField, Node, Plan, PlanError, Promotion, Record};

/// The deepest nesting of records, arrays and maps a payload may have (serde_json's limit).
pub(crate) const MAX_DEPTH: usize = 128;

/// A block of more zero-width items (nulls, empty records) than this is garbage.
const MAX_ZERO_WIDTH_ITEMS: usize = 1 << 16;

type Result<T, E = PlanError> = std::result::Result<T, E>;

/// The bytes are wrong.
fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(PlanError::Data(msg.into()))
}

/// The Rust type asks for something the plan does not present as apache-avro does.
fn shape<T>(msg: impl Into<String>) -> Result<T> {
    Err(PlanError::Shape(msg.into()))
}

/// Decode one datum that must fill `input` exactly.
pub(crate) fn decode<'de, T: de::Deserialize<'de>>(plan: &'de Plan, input: &'de [u8]) -> Result<T> {
    let mut reader = Reader {
        plan,
        input,
        depth: 0,
    };
    let value = T::deserialize(NodeDe {
        r: &mut reader,
        node: plan.root(),
    })?;
    if !reader.input.is_empty() {
        return err(format!(
            "{} bytes are left after the datum",
            reader.input.len()
        ));
    }
    Ok(value)
}

struct Reader<'de> {
    plan: &'de Plan,
    input: &'de [u8],
    depth: usize,
}

fn zero_width(plan: &Plan, node: &Node) -> bool {
    match node {
        Node::Null | Node::Fixed(0) => true,
        Node::Record(r) => r.fields.is_empty(),
        Node::AsBranch(b) => matches!(plan.node(b.node), Node::Null),
        _ => false,
    }
}

impl<'de> Reader<'de> {
    fn long(&mut self) -> Result<i64> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some((&byte, rest)) = self.input.split_first() else {
                return err("a varint is cut short");
            };
            self.input = rest;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        err("a varint is longer than 64 bits")
    }

    fn int(&mut self) -> Result<i32> {
        let v = self.long()?;
        i32::try_from(v).or_else(|_| err(format!("{v} does not fit an int")))
    }

    fn take(&mut self, n: usize) -> Result<&'de [u8]> {
        if n > self.input.len() {
            return err(format!("{n} bytes are needed, {} remain", self.input.len()));
        }
        let (head, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(head)
    }

    fn bytes(&mut self) -> Result<&'de [u8]> {
        let len = self.long()?;
        let len = usize::try_from(len).or_else(|_| err(format!("a negative length {len}")))?;
        self.take(len)
    }

    fn str(&mut self) -> Result<&'de str> {
        utf8(self.bytes()?)
    }

    fn boolean(&mut self) -> Result<bool> {
        match self.take(1)? {
            [0] => Ok(false),
            [1] => Ok(true),
            [b] => err(format!("{b} is not a boolean")),
            _ => err("a boolean is missing"),
        }
    }

    fn float(&mut self) -> Result<f32> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn double(&mut self) -> Result<f64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    fn index(&mut self, len: usize, what: &str) -> Result<usize> {
        let i = self.long()?;
        usize::try_from(i)
            .ok()
            .filter(|i| *i < len)
            .ok_or_else(|| PlanError::Data(format!("{what} index {i} is out of range")))
    }

    fn branch<'b>(&mut self, branches: &'b [Branch]) -> Result<&'b Branch> {
        let i = self.index(branches.len(), "the union branch")?;
        Ok(&branches[i])
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(format!("the datum nests deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// The item count of the next block of an array or map (0: the end). Counts beyond the
    /// remaining input are garbage: every item takes a byte unless it is zero-width.
    fn block(&mut self, zero_width: bool) -> Result<usize> {
        let n = self.long()?;
        let n = if n < 0 {
            // A negative count is followed by the block's size in bytes.
            self.long()?;
            n.checked_neg()
                .ok_or_else(|| PlanError::Data("a block count overflows".into()))?
        } else {
            n
        };
        let n = usize::try_from(n).or_else(|_| err("a block count overflows"))?;
        let limit = if zero_width {
            MAX_ZERO_WIDTH_ITEMS
        } else {
            self.input.len()
        };
        if n > limit {
            return err(format!(
                "a block of {n} items does not fit the {} remaining bytes",
                self.input.len()
            ));
        }
        Ok(n)
    }

    /// Read past a value without presenting it.
    fn skip(&mut self, node: &'de Node) -> Result<()> {
        match node {
            Node::Null => {}
            Node::Boolean => {
                self.boolean()?;
            }
            Node::Int | Node::Long | Node::Enum(_) | Node::EnumMap(_) => {
                self.long()?;
            }
            Node::Float => {
                self.take(4)?;
            }
            Node::Double => {
                self.take(8)?;
            }
            Node::Bytes | Node::String => {
                self.bytes()?;
            }
            Node::Fixed(n) => {
                self.take(*n)?;
            }
            Node::Promote(p) => match p {
                Promotion::IntToLong
                | Promotion::IntToFloat
                | Promotion::IntToDouble
                | Promotion::LongToFloat
                | Promotion::LongToDouble => {
                    self.long()?;
                }
                Promotion::FloatToDouble => {
                    self.take(4)?;
                }
                Promotion::StringToBytes | Promotion::BytesToString => {
                    self.bytes()?;
                }
            },
            Node::Array(items) => {
                let items = self.plan.node(*items);
                let zw = zero_width(self.plan, items);
                self.enter()?;
                loop {
                    let n = self.block(zw)?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        self.skip(items)?;
                    }
                }
                self.leave();
            }
            Node::Map(values) => {
                let values = self.plan.node(*values);
                self.enter()?;
                loop {
                    let n = self.block(false)?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        self.bytes()?;
                        self.skip(values)?;
                    }
                }
                self.leave();
            }
            Node::Union { branches, .. } => {
                let b = self.branch(branches)?;
                self.skip(self.plan.node(b.node))?;
            }
            Node::AsBranch(b) => self.skip(self.plan.node(b.node))?,
            Node::Record(rec) => {
                self.enter()?;
                for f in rec.fields.iter() {
                    self.skip(self.plan.node(f.node))?;
                }
                self.leave();
            }
            Node::Fail(msg) => return err(msg.to_string()),
        }
        Ok(())
    }
}

fn utf8(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).or_else(|e| err(format!("a string is not UTF-8: {e}")))
}

fn symbol(symbols: &[Box<str>], i: usize) -> &str {
    &symbols[i]
}

struct NodeDe<'r, 'de> {
    r: &'r mut Reader<'de>,
    node: &'de Node,
}

impl<'r, 'de> NodeDe<'r, 'de> {
    fn at(self, node: &'de Node) -> NodeDe<'r, 'de> {
        NodeDe { r: self.r, node }
    }

    /// The reader's symbol of the enum value at the input.
    fn enum_symbol(&mut self) -> Result<&'de str> {
        match self.node {
            Node::Enum(symbols) => {
                let i = self.r.index(symbols.len(), "the enum symbol")?;
                Ok(symbol(symbols, i))
            }
            Node::EnumMap(map) => {
                let i = self.r.index(map.len(), "the enum symbol")?;
                match &map[i] {
                    Some(s) => Ok(s),
                    None => err(format!(
                        "the writer's enum symbol {i} is unknown to the reader, which has no default"
                    )),
                }
            }
            _ => shape("not an enum"),
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_, 'de> {
    type Error = PlanError;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        let plan = self.r.plan;
        match self.node {
            Node::Null => visitor.visit_unit(),
            Node::Boolean => visitor.visit_bool(self.r.boolean()?),
            Node::Int => visitor.visit_i32(self.r.int()?),
            Node::Long => visitor.visit_i64(self.r.long()?),
            Node::Float => visitor.visit_f32(self.r.float()?),
            Node::Double => visitor.visit_f64(self.r.double()?),
            Node::Bytes => visitor.visit_borrowed_bytes(self.r.bytes()?),
            Node::String => visitor.visit_borrowed_str(self.r.str()?),
            Node::Fixed(n) => visitor.visit_borrowed_bytes(self.r.take(*n)?),
            Node::Enum(_) | Node::EnumMap(_) => visitor.visit_borrowed_str(self.enum_symbol()?),
            Node::Promote(p) => match p {
                Promotion::IntToLong => visitor.visit_i64(self.r.int()?.into()),
                Promotion::IntToFloat => visitor.visit_f32(self.r.int()? as f32),
                Promotion::IntToDouble => visitor.visit_f64(self.r.int()?.into()),
                Promotion::LongToFloat => visitor.visit_f32(self.r.long()? as f32),
                Promotion::LongToDouble => visitor.visit_f64(self.r.long()? as f64),
                Promotion::FloatToDouble => visitor.visit_f64(self.r.float()?.into()),
                Promotion::StringToBytes => visitor.visit_borrowed_bytes(self.r.bytes()?),
                Promotion::BytesToString => visitor.visit_borrowed_str(self.r.str()?),
            },
            Node::Array(items) => {
                let items = plan.node(*items);
                let zero_width = zero_width(plan, items);
                self.r.enter()?;
                let left = self.r.block(zero_width)?;
                let value = visitor.visit_seq(SeqDe {
                    r: &mut *self.r,
                    items,
                    zero_width,
                    left,
                    done: left == 0,
                })?;
                self.r.leave();
                Ok(value)
            }
            Node::Map(values) => {
                self.r.enter()?;
                let left = self.r.block(false)?;
                let value = visitor.visit_map(MapDe {
                    r: &mut *self.r,
                    values: plan.node(*values),
                    left,
                    done: left == 0,
                })?;
                self.r.leave();
                Ok(value)
            }
            Node::Union { branches, .. } => {
                let b = self.r.branch(branches)?;
                self.at(plan.node(b.node)).deserialize_any(visitor)
            }
            Node::AsBranch(b) => self.at(plan.node(b.node)).deserialize_any(visitor),
            Node::Record(rec) => {
                self.r.enter()?;
                let value = visitor.visit_map(RecordDe {
                    r: &mut *self.r,
                    rec,
                    next: 0,
                    value: None,
                })?;
                self.r.leave();
                Ok(value)
            }
            Node::Fail(msg) => err(msg.to_string()),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let plan = self.r.plan;
        let b = match self.node {
            Node::Union {
                branches,
                reader_union: true,
            } => *self.r.branch(branches)?,
            Node::AsBranch(b) => *b,
            // apache-avro: "Expected a Union".
            _ => return shape("an Option needs a union"),
        };
        if b.null {
            visitor.visit_none()
        } else {
            visitor.visit_some(self.at(plan.node(b.node)))
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let plan = self.r.plan;
        match self.node {
            Node::Enum(_) | Node::EnumMap(_) => {
                visitor.visit_enum(UnitVariant(self.enum_symbol()?))
            }
            Node::String => visitor.visit_enum(UnitVariant(self.r.str()?)),
            Node::Union {
                branches,
                reader_union,
            } => {
                let b = *self.r.branch(branches)?;
                if *reader_union {
                    self.union_variant(b, variants, visitor)
                } else {
                    self.at(plan.node(b.node))
                        .deserialize_enum(_name, variants, visitor)
                }
            }
            Node::AsBranch(b) => {
                let b = *b;
                self.union_variant(b, variants, visitor)
            }
            _ => shape("an enum needs an Avro enum, string or union"),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.node {
            Node::Bytes => visitor.visit_borrowed_str(self.r.str()?),
            Node::Fixed(n) => visitor.visit_borrowed_str(utf8(self.r.take(*n)?)?),
            Node::Union { branches, .. } => {
                let b = *self.r.branch(branches)?;
                let node = self.r.plan.node(b.node);
                self.at(node).deserialize_str(visitor)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.node {
            Node::String => visitor.visit_borrowed_bytes(self.r.bytes()?),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.node {
            Node::Null => visitor.visit_unit(),
            Node::Union { branches, .. } => {
                let b = *self.r.branch(branches)?;
                let node = self.r.plan.node(b.node);
                self.at(node).deserialize_unit(visitor)
            }
            Node::AsBranch(b) => {
                let node = self.r.plan.node(b.node);
                self.at(node).deserialize_unit(visitor)
            }
            _ => shape("a unit needs null"),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.r.skip(self.node)?;
        visitor.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        // apache-avro's default (`util::DEFAULT_SERDE_HUMAN_READABLE`).
        false
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        seq tuple tuple_struct map struct
    }
}

impl<'de> NodeDe<'_, 'de> {
    fn union_variant<V: Visitor<'de>>(
        self,
        b: Branch,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        // apache-avro names the variant by the (reader's) branch index.
        let Some(&name) = variants.get(b.reader_index as usize) else {
            return shape(format!(
                "union branch {} has no variant among {}",
                b.reader_index,
                variants.len()
            ));
        };
        let node = self.r.plan.node(b.node);
        visitor.visit_enum(UnionVariant {
            name,
            de: self.at(node),
        })
    }
}

struct SeqDe<'r, 'de> {
    r: &'r mut Reader<'de>,
    items: &'de Node,
    zero_width: bool,
    left: usize,
    done: bool,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_, 'de> {
    type Error = PlanError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.done {
            return Ok(None);
        }
        if self.left == 0 {
            self.left = self.r.block(self.zero_width)?;
            if self.left == 0 {
                self.done = true;
                return Ok(None);
            }
        }
        self.left -= 1;
        seed.deserialize(NodeDe {
            r: &mut *self.r,
            node: self.items,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct MapDe<'r, 'de> {
    r: &'r mut Reader<'de>,
    values: &'de Node,
    left: usize,
    done: bool,
}

impl<'de> de::MapAccess<'de> for MapDe<'_, 'de> {
    type Error = PlanError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.done {
            return Ok(None);
        }
        if self.left == 0 {
            self.left = self.r.block(false)?;
            if self.left == 0 {
                self.done = true;
                return Ok(None);
            }
        }
        self.left -= 1;
        let key = self.r.str()?;
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(NodeDe {
            r: &mut *self.r,
            node: self.values,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// What the last key of a record named.
enum Pending<'de> {
    Field(&'de Node),
    Default(&'de DefaultField),
}

struct RecordDe<'r, 'de> {
    r: &'r mut Reader<'de>,
    rec: &'de Record,
    /// The next writer field, then the next default.
    next: usize,
    value: Option<Pending<'de>>,
}

impl<'de> de::MapAccess<'de> for RecordDe<'_, 'de> {
    type Error = PlanError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let plan = self.r.plan;
        let fields = &self.rec.fields;
        while let Some(f) = fields.get(self.next) {
            self.next += 1;
            if f.skip {
                self.r.skip(plan.node(f.node))?;
                continue;
            }
            self.value = Some(Pending::Field(plan.node(f.node)));
            return seed
                .deserialize(BorrowedStrDeserializer::new(&f.name))
                .map(Some);
        }
        match self.rec.defaults.get(self.next - fields.len()) {
            Some(d) => {
                self.next += 1;
                self.value = Some(Pending::Default(d));
                seed.deserialize(BorrowedStrDeserializer::new(&d.name))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let plan = self.r.plan;
        match self.value.take() {
            Some(Pending::Field(node)) => seed.deserialize(NodeDe {
                r: &mut *self.r,
                node,
            }),
            Some(Pending::Default(d)) => {
                let mut reader = Reader {
                    plan,
                    input: &d.bytes,
                    depth: self.r.depth,
                };
                seed.deserialize(NodeDe {
                    r: &mut reader,
                    node: plan.node(d.node),
                })
            }
            None => shape("a record value was asked for before its key"),
        }
    }
}

/// An Avro enum symbol (or string) as a unit variant.
struct UnitVariant<'de>(&'de str);

impl<'de> de::EnumAccess<'de> for UnitVariant<'de> {
    type Error = PlanError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let value = seed.deserialize(BorrowedStrDeserializer::new(self.0))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariant<'de> {
    type Error = PlanError;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value> {
        shape("an Avro enum symbol is a unit variant")
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value> {
        shape("an Avro enum symbol is a unit variant")
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], _: V) -> Result<V::Value> {
        shape("an Avro enum symbol is a unit variant")
    }
}

/// A union branch as the variant of the same index.
struct UnionVariant<'r, 'de> {
    name: &'static str,
    de: NodeDe<'r, 'de>,
}

impl<'r, 'de> de::EnumAccess<'de> for UnionVariant<'r, 'de> {
    type Error = PlanError;
    type Variant = NodeDe<'r, 'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant)> {
        let value = seed.deserialize(BorrowedStrDeserializer::new(self.name))?;
        Ok((value, self.de))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDe<'_, 'de> {
    type Error = PlanError;

    fn unit_variant(self) -> Result<()> {
        match self.node {
            Node::Null => Ok(()),
            _ => shape("a unit variant needs a null branch"),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value> {
        shape("the plan decoder reads no tuple variants")
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], _: V) -> Result<V::Value> {
        shape("the plan decoder reads no struct variants")
    }
}
