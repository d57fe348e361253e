//! The on-disk record batch: framing, CRC and the record encoding inside it. Knows nothing of
//! files; `segment` reads and writes these frames.
//!
//! A batch (all integers little-endian):
//!
//! ```text
//! 0   len            u32   bytes after this field
//! 4   crc            u32   CRC-32C of bytes 8..4+len
//! 8   magic          u8    1
//! 9   attributes     u8    bit 0: timestamps are log-append time
//! 10  record_count   u32
//! 14  last_delta     u32   offset of the last record minus base_offset
//! 18  base_offset    i64
//! 26  base_timestamp i64
//! 34  max_timestamp  i64
//! 42  records
//! ```
//!
//! A record is `[length varint][attributes u8][timestamp delta zigzag][offset delta varint]
//! [key length zigzag, -1 = null][key][value length zigzag, -1 = null][value]
//! [header count varint]([key length varint][key utf-8][value length zigzag][value])*`, after
//! Kafka's v2 format. Offsets are kept through compaction: a record's offset is
//! `base_offset + offset delta`, so a compacted batch has gaps.

use bytes::Bytes;

/// Bytes before the first record.
pub(crate) const HEADER_LEN: usize = 42;
/// The format version written today.
pub(crate) const MAGIC: u8 = 1;
/// Attribute bit: every record carries the batch's max timestamp, set by the broker.
pub(crate) const ATTR_LOG_APPEND_TIME: u8 = 1;

/// The fixed part of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    /// Bytes after the length field.
    pub len: u32,
    pub crc: u32,
    pub attributes: u8,
    pub record_count: u32,
    pub last_delta: u32,
    pub base_offset: i64,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(a)
}

impl BatchHeader {
    /// Parses a header; `None` when `b` is too short or the header is not plausible (a torn or
    /// zeroed tail reads as implausible).
    pub fn parse(b: &[u8]) -> Option<BatchHeader> {
        if b.len() < HEADER_LEN || b[8] != MAGIC {
            return None;
        }
        let h = BatchHeader {
            len: u32_at(b, 0),
            crc: u32_at(b, 4),
            attributes: b[9],
            record_count: u32_at(b, 10),
            last_delta: u32_at(b, 14),
            base_offset: i64_at(b, 18),
            base_timestamp: i64_at(b, 26),
            max_timestamp: i64_at(b, 34),
        };
        if (h.len as usize) < HEADER_LEN - 4 || h.base_offset < 0 {
            return None;
        }
        Some(h)
    }

    /// The whole frame's size, length field included.
    pub fn frame_len(&self) -> usize {
        self.len as usize + 4
    }

    /// The offset after the last record of the batch.
    pub fn next_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_delta) + 1
    }

    /// Whether the records carry log-append time.
    pub fn log_append_time(&self) -> bool {
        self.attributes & ATTR_LOG_APPEND_TIME != 0
    }
}

/// Checks a whole frame's CRC.
pub(crate) fn crc_ok(frame: &[u8]) -> bool {
    frame.len() >= HEADER_LEN && crc32c::crc32c(&frame[8..]) == u32_at(frame, 4)
}

fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, zigzag(v));
}

/// A few varints encoded on the stack: at most a record length, attributes, timestamp delta,
/// offset delta, key length and value length (46 bytes).
struct Varints {
    buf: [u8; 64],
    len: usize,
}

impl Default for Varints {
    fn default() -> Self {
        Varints {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl Varints {
    /// How many bytes [`Varints::copy_into`] copies (the rest is cut off again).
    const COPY: usize = 48;

    #[inline]
    fn byte(&mut self, v: u8) {
        self.buf[self.len] = v;
        self.len += 1;
    }

    #[inline]
    fn uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte((v as u8) | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    /// Appends the bytes to `out` with one fixed-size copy. `out` should have room for
    /// [`Varints::COPY`] more bytes (or it grows).
    #[inline]
    fn copy_into(&self, out: &mut Vec<u8>) {
        let end = out.len() + self.len;
        out.extend_from_slice(&self.buf[..Self::COPY]);
        out.truncate(end);
    }
}

fn uvarint_len(v: u64) -> usize {
    // 7 bits a byte; 0 takes one byte.
    (70 - (v | 1).leading_zeros() as usize) / 7
}

/// A cursor over record bytes; every read is bounds-checked and `None` means malformed.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    #[inline]
    fn uvarint(&mut self) -> Option<u64> {
        // Most varints in a batch (lengths and deltas of small records) are one byte.
        let byte = *self.b.get(self.at)?;
        if byte < 0x80 {
            self.at += 1;
            return Some(u64::from(byte));
        }
        self.uvarint_long()
    }

    fn uvarint_long(&mut self) -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let byte = *self.b.get(self.at)?;
            self.at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    }

    #[inline]
    fn varint(&mut self) -> Option<i64> {
        let v = self.uvarint()?;
        Some(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }

    /// A length-prefixed slice; a length of -1 is null.
    #[inline]
    fn nullable(&mut self) -> Option<Option<(usize, usize)>> {
        let len = self.varint()?;
        if len == -1 {
            return Some(None);
        }
        let len = usize::try_from(len).ok()?;
        let start = self.at;
        let end = start.checked_add(len)?;
        if end > self.b.len() {
            return None;
        }
        self.at = end;
        Some(Some((start, end)))
    }
}

/// A record's headers as the encoder takes them: owned (from a `ProducerRecord`) or borrowed
/// (from a `RecordRef`), so neither kind is converted (copied) before encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Headers<'a> {
    Owned(&'a [(String, Vec<u8>)]),
    Borrowed(&'a [(&'a str, &'a [u8])]),
}

impl<'a> Headers<'a> {
    fn len(&self) -> usize {
        match self {
            Headers::Owned(h) => h.len(),
            Headers::Borrowed(h) => h.len(),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&'a str, &'a [u8])) {
        match *self {
            Headers::Owned(h) => h.iter().for_each(|(k, v)| f(k, v)),
            Headers::Borrowed(h) => h.iter().for_each(|&(k, v)| f(k, v)),
        }
    }
}

/// Encodes records into a batch whose offsets and CRC are filled in at append time.
#[derive(Debug)]
pub(crate) struct BatchBuilder {
    buf: Vec<u8>,
    count: u32,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl BatchBuilder {
    /// An empty batch with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> BatchBuilder {
        let mut buf = Vec::with_capacity(capacity.max(HEADER_LEN));
        buf.resize(HEADER_LEN, 0);
        BatchBuilder {
            buf,
            count: 0,
            base_timestamp: 0,
            max_timestamp: i64::MIN,
        }
    }

    /// Empties the batch, keeping its buffer for the next one.
    pub fn reset(&mut self) {
        self.buf.truncate(HEADER_LEN);
        self.count = 0;
        self.base_timestamp = 0;
        self.max_timestamp = i64::MIN;
    }

    /// The bytes the buffer holds without growing.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The encoded size so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// The size a record would add, to check limits before pushing.
    #[inline]
    pub fn record_size(key: Option<&[u8]>, value: Option<&[u8]>, headers: Headers<'_>) -> usize {
        let mut body = 1 + 10 + 5 + 10 + key.map_or(0, <[u8]>::len) + 10;
        body += value.map_or(0, <[u8]>::len) + 5;
        headers.for_each(|k, v| body += 10 + k.len() + 10 + v.len());
        body + uvarint_len(body as u64)
    }

    /// Appends a record; its offset is the batch's base plus the number of records before it.
    pub fn push(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Headers<'_>,
    ) {
        if self.count == 0 {
            self.base_timestamp = timestamp;
        }
        self.max_timestamp = self.max_timestamp.max(timestamp);
        let ts_delta = zigzag(timestamp.wrapping_sub(self.base_timestamp));
        let key_len = key.map_or(0, <[u8]>::len);
        let value_len = value.map_or(0, <[u8]>::len);
        let key_prefix = zigzag(key.map_or(-1, |k| k.len() as i64));
        let value_prefix = zigzag(value.map_or(-1, |v| v.len() as i64));
        let mut tail = uvarint_len(headers.len() as u64);
        headers.for_each(|k, v| {
            tail += uvarint_len(k.len() as u64) + k.len() + uvarint_len(zigzag(v.len() as i64));
            tail += v.len();
        });
        let body = 1
            + uvarint_len(ts_delta)
            + uvarint_len(u64::from(self.count))
            + uvarint_len(key_prefix)
            + key_len
            + uvarint_len(value_prefix)
            + value_len
            + tail;
        let b = &mut self.buf;
        b.reserve(body + 10 + Varints::COPY);
        // The varints before the key (length, attributes, timestamp delta, offset delta, key
        // length, and the value length when there is no key) are gathered on the stack and go
        // into the batch in one fixed-size copy: no call to memcpy for a few bytes.
        let mut head = Varints::default();
        head.uvarint(body as u64);
        head.byte(0);
        head.uvarint(ts_delta);
        head.uvarint(u64::from(self.count));
        head.uvarint(key_prefix);
        if key.is_none() {
            head.uvarint(value_prefix);
        }
        head.copy_into(b);
        if let Some(k) = key {
            b.extend_from_slice(k);
            let mut mid = Varints::default();
            mid.uvarint(value_prefix);
            mid.copy_into(b);
        }
        if let Some(v) = value {
            b.extend_from_slice(v);
        }
        if headers.len() == 0 {
            b.push(0);
        } else {
            put_uvarint(b, headers.len() as u64);
            headers.for_each(|k, v| {
                put_uvarint(b, k.len() as u64);
                b.extend_from_slice(k.as_bytes());
                put_varint(b, v.len() as i64);
                b.extend_from_slice(v);
            });
        }
        self.count += 1;
    }

    /// Fills in the header and CRC for `base_offset`; with `log_append_time` every record's
    /// timestamp becomes that time. Returns the finished frame.
    pub fn finish(&mut self, base_offset: i64, log_append_time: Option<i64>) -> &[u8] {
        let (attributes, base_ts, max_ts) = match log_append_time {
            Some(t) => (ATTR_LOG_APPEND_TIME, t, t),
            None => (0, self.base_timestamp, self.max_timestamp),
        };
        let count = self.count;
        write_header(
            &mut self.buf,
            attributes,
            count,
            count.saturating_sub(1),
            base_offset,
            base_ts,
            max_ts,
        );
        &self.buf
    }
}

/// Writes a batch header (and CRC) into the first [`HEADER_LEN`] bytes of `buf`.
pub(crate) fn write_header(
    buf: &mut [u8],
    attributes: u8,
    record_count: u32,
    last_delta: u32,
    base_offset: i64,
    base_timestamp: i64,
    max_timestamp: i64,
) {
    let len = (buf.len() - 4) as u32;
    buf[0..4].copy_from_slice(&len.to_le_bytes());
    buf[8] = MAGIC;
    buf[9] = attributes;
    buf[10..14].copy_from_slice(&record_count.to_le_bytes());
    buf[14..18].copy_from_slice(&last_delta.to_le_bytes());
    buf[18..26].copy_from_slice(&base_offset.to_le_bytes());
    buf[26..34].copy_from_slice(&base_timestamp.to_le_bytes());
    buf[34..42].copy_from_slice(&max_timestamp.to_le_bytes());
    let crc = crc32c::crc32c(&buf[8..]);
    buf[4..8].copy_from_slice(&crc.to_le_bytes());
}

/// One record decoded from a batch, sharing the batch's buffer.
#[derive(Debug, Clone)]
pub(crate) struct DecodedRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// Where the record's bytes (length prefix included) lie in the frame, for compaction.
    pub raw: (usize, usize),
}

/// Decodes the records of a verified frame. `None` if the records are malformed.
pub(crate) fn decode(frame: &Bytes, h: &BatchHeader) -> Option<Vec<DecodedRecord>> {
    // A garbage count must not turn into a huge allocation.
    let mut out = Vec::with_capacity((h.record_count as usize).min(frame.len() / 4));
    decode_each(frame, h, |r| out.push(r))?;
    Some(out)
}

/// Decodes the records of a verified frame, handing each to `f`. `None` if malformed (`f` may
/// have seen some records by then).
pub(crate) fn decode_each(
    frame: &Bytes,
    h: &BatchHeader,
    mut f: impl FnMut(DecodedRecord),
) -> Option<()> {
    let b: &[u8] = frame;
    let mut c = Cursor { b, at: HEADER_LEN };
    for _ in 0..h.record_count {
        let start = c.at;
        let len = usize::try_from(c.uvarint()?).ok()?;
        let body_start = c.at;
        let end = body_start.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        let mut r = Cursor {
            b: &b[..end],
            at: body_start,
        };
        let _attributes = r.u8()?;
        let ts_delta = r.varint()?;
        let offset_delta = r.uvarint()?;
        let key = r.nullable()?.map(|(s, e)| frame.slice(s..e));
        let value = r.nullable()?.map(|(s, e)| frame.slice(s..e));
        // Headers are checked, not kept: compaction and time lookups do not need them.
        let n_headers = r.uvarint()?;
        for _ in 0..n_headers {
            let klen = usize::try_from(r.uvarint()?).ok()?;
            let kend = r.at.checked_add(klen)?;
            std::str::from_utf8(b.get(r.at..kend)?).ok()?;
            r.at = kend;
            r.nullable()?;
        }
        let timestamp = if h.log_append_time() {
            h.max_timestamp
        } else {
            h.base_timestamp.wrapping_add(ts_delta)
        };
        f(DecodedRecord {
            offset: h.base_offset + offset_delta as i64,
            timestamp,
            key,
            value,
            raw: (start, end),
        });
        c.at = end;
    }
    Some(())
}

/// Where one record's parts sit in a fetch buffer: byte ranges and numbers, no reference
/// counts and no allocation, so indexing a fetch costs a few stores per record. Ranges are
/// `start..end` in the buffer; a null key or value has `start == NULL_SPAN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordSpan {
    pub offset: i64,
    pub timestamp: i64,
    pub key: (u32, u32),
    pub value: (u32, u32),
    /// The header section: `header_count` headers, already checked, in `headers`.
    pub headers: (u32, u32),
    pub header_count: u32,
}

/// The `start` of a null key or value in a [`RecordSpan`].
pub(crate) const NULL_SPAN: u32 = u32::MAX;

impl RecordSpan {
    /// The slice of `buf` a key or value span names; `None` for null.
    #[inline]
    pub fn slice(buf: &[u8], span: (u32, u32)) -> Option<&[u8]> {
        (span.0 != NULL_SPAN).then(|| &buf[span.0 as usize..span.1 as usize])
    }
}

#[inline]
fn to_span(range: Option<(usize, usize)>) -> Option<(u32, u32)> {
    match range {
        None => Some((NULL_SPAN, NULL_SPAN)),
        Some((s, e)) => Some((u32::try_from(s).ok()?, u32::try_from(e).ok()?)),
    }
}

/// Indexes the records of the verified frame `buf[at..]` described by `h` (those at or after
/// `min_offset`): the consumer's fetch path. Keys, values and headers stay in `buf`; each
/// record's header names are checked to be UTF-8 here, so readers of the spans need not
/// check again. `None` if malformed (`out` may have received some spans by then).
pub(crate) fn index_into(
    buf: &[u8],
    at: usize,
    h: &BatchHeader,
    min_offset: i64,
    out: &mut Vec<RecordSpan>,
) -> Option<()> {
    let end = at.checked_add(h.frame_len())?;
    // Spans are u32 offsets: a fetch buffer is at most a few MiB.
    u32::try_from(end).ok()?;
    let b: &[u8] = buf.get(..end)?;
    let mut c = Cursor {
        b,
        at: at + HEADER_LEN,
    };
    let log_append_time = h.log_append_time();
    out.reserve(h.record_count as usize);
    for _ in 0..h.record_count {
        let len = usize::try_from(c.uvarint()?).ok()?;
        let body_end = c.at.checked_add(len)?;
        if body_end > end {
            return None;
        }
        let mut r = Cursor {
            b: &b[..body_end],
            at: c.at,
        };
        c.at = body_end;
        let _attributes = r.u8()?;
        let ts_delta = r.varint()?;
        let offset = h.base_offset + r.uvarint()? as i64;
        if offset < min_offset {
            continue;
        }
        let key = to_span(r.nullable()?)?;
        let value = to_span(r.nullable()?)?;
        let header_count = u32::try_from(r.uvarint()?).ok()?;
        let headers_start = r.at;
        for _ in 0..header_count {
            let klen = usize::try_from(r.uvarint()?).ok()?;
            let kend = r.at.checked_add(klen)?;
            std::str::from_utf8(b.get(r.at..kend)?).ok()?;
            r.at = kend;
            r.nullable()?;
        }
        out.push(RecordSpan {
            offset,
            timestamp: if log_append_time {
                h.max_timestamp
            } else {
                h.base_timestamp.wrapping_add(ts_delta)
            },
            key,
            value,
            headers: (headers_start as u32, r.at as u32),
            header_count,
        });
    }
    Some(())
}

/// The headers of a header section [`index_into`] checked: name and value (empty for a null
/// value, as Kafka's Java client hands null header values to most callers).
pub(crate) fn headers_in(section: &[u8], count: u32) -> impl Iterator<Item = (&str, &[u8])> {
    let mut c = Cursor { b: section, at: 0 };
    (0..count).map_while(move |_| {
        let klen = usize::try_from(c.uvarint()?).ok()?;
        let kend = c.at.checked_add(klen)?;
        let name = std::str::from_utf8(c.b.get(c.at..kend)?).ok()?;
        c.at = kend;
        let value = c.nullable()?.map_or(&[][..], |(s, e)| &c.b[s..e]);
        Some((name, value))
    })
}

/// Rebuilds a batch from a subset of its records (compaction). Offsets, timestamps and
/// `last_delta` are kept, so the batch still ends at the same offset.
pub(crate) fn rebuild(frame: &[u8], h: &BatchHeader, keep: &[(usize, usize)]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(HEADER_LEN + keep.iter().map(|(s, e)| e - s).sum::<usize>());
    buf.resize(HEADER_LEN, 0);
    for &(s, e) in keep {
        buf.extend_from_slice(&frame[s..e]);
    }
    write_header(
        &mut buf,
        h.attributes,
        keep.len() as u32,
        h.last_delta,
        h.base_offset,
        h.base_timestamp,
        h.max_timestamp,
    );
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Rec = (
        i64,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Vec<(String, Vec<u8>)>,
    );

    fn build(records: &[Rec], base: i64) -> Bytes {
        let mut b = BatchBuilder::with_capacity(64);
        for (ts, k, v, h) in records {
            b.push(*ts, k.as_deref(), v.as_deref(), Headers::Owned(h));
        }
        Bytes::copy_from_slice(b.finish(base, None))
    }

    #[test]
    fn a_finished_batch_has_a_valid_crc_and_header() {
        let frame = build(&[(5, Some(b"k".to_vec()), Some(b"v".to_vec()), vec![])], 7);
        let h = BatchHeader::parse(&frame).unwrap();
        assert!(crc_ok(&frame));
        assert_eq!(h.frame_len(), frame.len());
        assert_eq!(h.base_offset, 7);
        assert_eq!(h.next_offset(), 8);
    }

    #[test]
    fn uvarint_len_matches_the_encoding() {
        for v in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_uvarint(&mut b, v);
            assert_eq!(uvarint_len(v), b.len(), "{v}");
        }
    }

    #[test]
    fn a_flipped_bit_fails_the_crc() {
        let frame = build(&[(5, None, Some(b"value".to_vec()), vec![])], 0);
        let mut bad = frame.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(!crc_ok(&bad));
    }

    #[test]
    fn rebuilding_keeps_offsets_and_the_end_of_the_batch() {
        let recs: Vec<Rec> = (0..5)
            .map(|i| (i, Some(vec![i as u8]), Some(vec![i as u8; 3]), vec![]))
            .collect();
        let frame = build(&recs, 100);
        let h = BatchHeader::parse(&frame).unwrap();
        let decoded = decode(&frame, &h).unwrap();
        let keep: Vec<_> = decoded
            .iter()
            .filter(|r| r.offset % 2 == 1)
            .map(|r| r.raw)
            .collect();
        let rebuilt = Bytes::from(rebuild(&frame, &h, &keep));
        assert!(crc_ok(&rebuilt));
        let h2 = BatchHeader::parse(&rebuilt).unwrap();
        assert_eq!(h2.next_offset(), 105);
        let offsets: Vec<i64> = decode(&rebuilt, &h2)
            .unwrap()
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(offsets, vec![101, 103]);
    }

    proptest! {
        #[test]
        fn records_round_trip_through_a_batch(
            recs in proptest::collection::vec(
                (any::<i64>(),
                 proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
                 proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
                 proptest::collection::vec(("[a-z]{0,8}", proptest::collection::vec(any::<u8>(), 0..10)), 0..3)),
                1..20),
            base in 0i64..1_000_000_000,
        ) {
            let frame = build(&recs, base);
            let h = BatchHeader::parse(&frame).unwrap();
            prop_assert!(crc_ok(&frame));
            let decoded = decode(&frame, &h).unwrap();
            prop_assert_eq!(decoded.len(), recs.len());
            let mut spans = Vec::new();
            index_into(&frame, 0, &h, i64::MIN, &mut spans).unwrap();
            prop_assert_eq!(spans.len(), recs.len());
            for (i, ((r, c), (ts, k, v, hs))) in decoded.iter().zip(&spans).zip(&recs).enumerate() {
                prop_assert_eq!(r.offset, base + i as i64);
                prop_assert_eq!(r.timestamp, *ts);
                prop_assert_eq!(r.key.as_deref(), k.as_deref());
                prop_assert_eq!(r.value.as_deref(), v.as_deref());
                prop_assert_eq!((c.offset, c.timestamp), (r.offset, r.timestamp));
                prop_assert_eq!(RecordSpan::slice(&frame, c.key), k.as_deref());
                prop_assert_eq!(RecordSpan::slice(&frame, c.value), v.as_deref());
                let section = &frame[c.headers.0 as usize..c.headers.1 as usize];
                let got: Vec<(String, Vec<u8>)> = headers_in(section, c.header_count)
                    .map(|(k, v)| (k.to_owned(), v.to_vec()))
                    .collect();
                prop_assert_eq!(&got, hs);
            }
            // Records before the offset asked for are skipped.
            let mut later = Vec::new();
            index_into(&frame, 0, &h, base + 1, &mut later).unwrap();
            prop_assert_eq!(later.len(), recs.len() - 1);
        }

        #[test]
        fn decoding_garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let frame = Bytes::from(data);
            if let Some(h) = BatchHeader::parse(&frame) {
                let _ = decode(&frame, &h);
                let _ = index_into(&frame, 0, &h, 0, &mut Vec::new());
            }
        }
    }
}
