//! Decoding produced record batches with their decompressed size bounded, so that a small
//! compressed request cannot make the server allocate without limit (a "zip bomb"). The codec
//! crate's own decompressors size their output by what the data claims; here gzip, lz4 (frame
//! format, as Kafka since 0.10 writes it) and zstd are inflated through readers that stop at the
//! budget, and snappy's claimed lengths are added up and checked before the codec crate
//! decompresses it. lz4 and zstd use pure-Rust decoders (lz4_flex, ruzstd): no C build.

use std::cell::Cell;
use std::io::Read;

use bytes::{Buf, Bytes};
use kafka_protocol::compression::{Decompressor, Snappy};
use kafka_protocol::records::{Compression, RecordBatchDecoder, RecordSet};

/// The xerial framing header Java and librdkafka put before snappy blocks (as the codec crate
/// recognises it).
const XERIAL_MAGIC: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";

/// Why the batches could not be decoded.
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// Decompressed, the batches would exceed the budget.
    TooLarge { max: usize },
    /// Not valid batches (bad CRC, truncated, bad compression data...).
    Corrupt(String),
}

/// Decodes every batch in `bytes`, decompressing at most `max` bytes in all.
pub(crate) fn decode_batches(mut bytes: Bytes, max: usize) -> Result<Vec<RecordSet>, DecodeError> {
    let budget = Cell::new(max);
    let exceeded = Cell::new(false);
    let decompress = |buf: &mut Bytes, compression: Compression| -> anyhow::Result<Bytes> {
        let out = match compression {
            Compression::None => buf.copy_to_bytes(buf.remaining()),
            Compression::Gzip => bounded(
                flate2::read::GzDecoder::new(buf.clone().reader()),
                budget.get(),
            )?,
            Compression::Lz4 => bounded(
                lz4_flex::frame::FrameDecoder::new(buf.clone().reader()),
                budget.get(),
            )?,
            Compression::Zstd => bounded(
                ruzstd::decoding::StreamingDecoder::new(buf.clone().reader())
                    .map_err(|e| anyhow::anyhow!("not a zstd frame: {e}"))?,
                budget.get(),
            )?,
            Compression::Snappy => {
                let claimed = snappy_claimed_len(buf)?;
                if claimed > budget.get() {
                    exceeded.set(true);
                    anyhow::bail!("the batch decompresses to more than the limit");
                }
                Snappy::decompress(buf, |b: &mut Bytes| Ok(b.clone()))?
            }
        };
        if out.len() > budget.get() {
            exceeded.set(true);
            anyhow::bail!("the batch decompresses to more than the limit");
        }
        budget.set(budget.get() - out.len());
        Ok(out)
    };
    let mut sets = Vec::new();
    while bytes.has_remaining() {
        match RecordBatchDecoder::decode_with_custom_compression(&mut bytes, Some(&decompress)) {
            Ok(set) => sets.push(set),
            Err(_) if exceeded.get() => return Err(DecodeError::TooLarge { max }),
            Err(e) => return Err(DecodeError::Corrupt(e.to_string())),
        }
    }
    Ok(sets)
}

/// Reads a decompressing reader to its end, or to one byte past `max` (which the caller
/// refuses), whichever comes first.
fn bounded(r: impl Read, max: usize) -> anyhow::Result<Bytes> {
    let mut out = Vec::new();
    r.take(max as u64 + 1).read_to_end(&mut out)?;
    Ok(Bytes::from(out))
}

/// The uncompressed length snappy data claims, raw or in xerial blocks.
fn snappy_claimed_len(buf: &Bytes) -> anyhow::Result<usize> {
    if buf.len() < XERIAL_MAGIC.len() || buf[..XERIAL_MAGIC.len()] != XERIAL_MAGIC[..] {
        return Ok(snap::raw::decompress_len(buf)?);
    }
    let mut rest = &buf[XERIAL_MAGIC.len()..];
    let mut total = 0usize;
    while !rest.is_empty() {
        if rest.len() < 4 {
            anyhow::bail!("a truncated snappy block length");
        }
        let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4..];
        if rest.len() < n {
            anyhow::bail!("a truncated snappy block");
        }
        total = total.saturating_add(snap::raw::decompress_len(&rest[..n])?);
        rest = &rest[n..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snappy_claimed_lengths_are_added_up_over_xerial_blocks() {
        let block = snap::raw::Encoder::new()
            .compress_vec(&[7u8; 1000])
            .unwrap();
        let mut framed = XERIAL_MAGIC.to_vec();
        for _ in 0..3 {
            framed.extend_from_slice(&(block.len() as u32).to_be_bytes());
            framed.extend_from_slice(&block);
        }
        assert_eq!(
            snappy_claimed_len(&Bytes::from(framed.clone())).unwrap(),
            3000
        );
        assert_eq!(
            snappy_claimed_len(&Bytes::from(block)).unwrap(),
            1000,
            "raw snappy"
        );
        framed.truncate(framed.len() - 1);
        assert!(
            snappy_claimed_len(&Bytes::from(framed)).is_err(),
            "a truncated block"
        );
    }
}
