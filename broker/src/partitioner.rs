//! Choosing a partition the way the Java Kafka client does, so that keyed records land in the
//! same partition here and on a Kafka cluster: `toPositive(murmur2(key)) % partitions`, a sticky
//! partition for keyless records that changes once a batch's worth of bytes has gone to it
//! (KIP-480/KIP-794), and an explicit partition always wins.

use parking_lot::Mutex;
use rand::Rng;
use std::collections::HashMap;

/// Kafka's murmur2 (seed 0x9747b28c), as `org.apache.kafka.common.utils.Utils.murmur2`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h: u32 = SEED ^ (length as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    // Java's switch falls through from 3 to 1.
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a keyed record: `Utils.toPositive(Utils.murmur2(key)) % partitions`.
pub fn partition_for_key(key: &[u8], partitions: u32) -> i32 {
    ((murmur2(key) & 0x7fff_ffff) as u32 % partitions.max(1)) as i32
}

/// Sticky partitions for keyless records, per topic.
#[derive(Debug, Default)]
pub(crate) struct Sticky {
    state: Mutex<HashMap<String, (i32, usize)>>,
}

impl Sticky {
    /// The partition for a keyless record of `size` bytes; switches to another partition once
    /// `batch_size` bytes have gone to the current one.
    pub fn partition(&self, topic: &str, partitions: u32, size: usize, batch_size: usize) -> i32 {
        let mut state = self.state.lock();
        let entry = match state.get_mut(topic) {
            Some(e) => e,
            None => state
                .entry(topic.to_owned())
                .or_insert((pick(partitions, None), 0)),
        };
        if entry.0 as u32 >= partitions || entry.1 >= batch_size {
            entry.0 = pick(partitions, Some(entry.0));
            entry.1 = 0;
        }
        entry.1 += size;
        entry.0
    }
}

fn pick(partitions: u32, avoid: Option<i32>) -> i32 {
    let n = partitions.max(1);
    let mut rng = rand::rng();
    if n == 1 {
        return 0;
    }
    loop {
        let p = rng.random_range(0..n) as i32;
        if Some(p) != avoid {
            return p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values from the Java client's UtilsTest.testMurmur2.
    #[test]
    fn murmur2_matches_the_java_client() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input),
                expected,
                "murmur2({:?})",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn keyed_partition_is_the_positive_hash_modulo_partitions() {
        // toPositive(-973932308) = 1173551340; % 3 = 0, % 7 = 4.
        assert_eq!(partition_for_key(b"21", 3), (1173551340u32 % 3) as i32);
        assert_eq!(partition_for_key(b"21", 7), (1173551340u32 % 7) as i32);
        assert_eq!(partition_for_key(b"foobar", 1), 0);
    }

    #[test]
    fn sticky_partition_changes_only_after_a_batch() {
        let s = Sticky::default();
        let first = s.partition("t", 4, 100, 1000);
        for _ in 0..9 {
            assert_eq!(s.partition("t", 4, 100, 1000), first);
        }
        let next = s.partition("t", 4, 100, 1000);
        assert_ne!(next, first, "a full batch moves the sticky partition");
    }
}
