//! Idempotent producers (KIP-98 without transactions): InitProducerId hands out producer ids,
//! and Produce checks each (producer id, partition)'s sequence numbers: a batch must start at
//! the last sequence + 1 (0 for a new epoch), a batch seen among the last five is a duplicate
//! answered with its original offset and not appended again, anything else is
//! OUT_OF_ORDER_SEQUENCE_NUMBER. The state lives in memory: after a restart a producer's id is
//! unknown (UNKNOWN_PRODUCER_ID) and librdkafka and the Java client then start a new epoch.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Kafka error codes of idempotent produce.
pub(crate) mod idem_code {
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const UNKNOWN_PRODUCER_ID: i16 = 59;
    pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
}

/// Batches remembered per (producer, partition) for duplicate detection, as Kafka.
const REMEMBERED: usize = 5;

/// One (producer, partition)'s sequence state.
#[derive(Debug)]
pub(crate) struct Sequences {
    epoch: i16,
    /// The last sequence appended, -1 before the first batch of the epoch.
    last: i32,
    /// (first sequence, last sequence, base offset) of recent batches.
    recent: VecDeque<(i32, i32, i64)>,
}

/// What to do with a batch.
pub(crate) enum Verdict {
    /// Append it, then call [`Sequences::appended`].
    Append,
    /// Already appended at this base offset: answer it, write nothing.
    Duplicate(i64),
    /// Refuse it with this error code.
    Refuse(i16, String),
}

impl Default for Sequences {
    fn default() -> Self {
        Sequences {
            epoch: -1,
            last: -1,
            recent: VecDeque::new(),
        }
    }
}

impl Sequences {
    /// Whether a batch of sequences `first..=last` at `epoch` may be appended.
    pub fn check(&mut self, epoch: i16, first: i32, last: i32) -> Verdict {
        if epoch < self.epoch {
            return Verdict::Refuse(
                idem_code::INVALID_PRODUCER_EPOCH,
                format!(
                    "epoch {epoch} is older than the producer's epoch {}",
                    self.epoch
                ),
            );
        }
        if epoch > self.epoch {
            self.epoch = epoch;
            self.last = -1;
            self.recent.clear();
            if first != 0 {
                return Verdict::Refuse(
                    idem_code::OUT_OF_ORDER_SEQUENCE_NUMBER,
                    format!("a new producer epoch must start at sequence 0, not {first}"),
                );
            }
            return Verdict::Append;
        }
        if let Some(&(_, _, base)) = self
            .recent
            .iter()
            .find(|(f, l, _)| *f == first && *l == last)
        {
            return Verdict::Duplicate(base);
        }
        let expected = if self.last == i32::MAX {
            0
        } else {
            self.last + 1
        };
        if first != expected {
            return Verdict::Refuse(
                idem_code::OUT_OF_ORDER_SEQUENCE_NUMBER,
                format!("expected sequence {expected}, got {first}"),
            );
        }
        Verdict::Append
    }

    /// Records a batch appended at `base_offset`.
    pub fn appended(&mut self, first: i32, last: i32, base_offset: i64) {
        self.last = last;
        self.recent.push_back((first, last, base_offset));
        while self.recent.len() > REMEMBERED {
            self.recent.pop_front();
        }
    }
}

type Key = (i64, String, i32);

/// Producer ids and their sequence state.
#[derive(Debug)]
pub(crate) struct Producers {
    next_id: AtomicI64,
    epochs: Mutex<HashMap<i64, i16>>,
    partitions: Mutex<HashMap<Key, Arc<Mutex<Sequences>>>>,
}

impl Default for Producers {
    fn default() -> Self {
        // Ids from the clock, so that ids handed out before a restart are not handed out again
        // (their state is gone; their owners get UNKNOWN_PRODUCER_ID).
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as i64)
            << 8;
        Producers {
            next_id: AtomicI64::new(start),
            epochs: Mutex::new(HashMap::new()),
            partitions: Mutex::new(HashMap::new()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these maps leaves it consistent (single inserts).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Producers {
    /// InitProducerId: a new id at epoch 0, or the next epoch of a known id.
    pub fn init(&self, producer_id: i64, epoch: i16) -> Result<(i64, i16), i16> {
        let mut epochs = lock(&self.epochs);
        if producer_id >= 0 {
            return match epochs.get_mut(&producer_id) {
                Some(e) if *e == epoch => {
                    *e = e.saturating_add(1);
                    Ok((producer_id, *e))
                }
                Some(_) => Err(idem_code::INVALID_PRODUCER_EPOCH),
                None => Err(idem_code::UNKNOWN_PRODUCER_ID),
            };
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        epochs.insert(id, 0);
        Ok((id, 0))
    }

    /// The sequence state of a producer on a partition; `None` for an id never handed out.
    pub fn sequences(
        &self,
        producer_id: i64,
        topic: &str,
        partition: i32,
    ) -> Option<Arc<Mutex<Sequences>>> {
        if !lock(&self.epochs).contains_key(&producer_id) {
            return None;
        }
        Some(
            lock(&self.partitions)
                .entry((producer_id, topic.to_owned(), partition))
                .or_default()
                .clone(),
        )
    }
}

/// Locks one (producer, partition)'s state for a check and its append.
pub(crate) fn hold(s: &Mutex<Sequences>) -> MutexGuard<'_, Sequences> {
    lock(s)
}

/// InitProducerId: transactional ids are refused (transactions are not served).
pub(crate) fn init_producer_id(
    producers: &Producers,
    req: kafka_protocol::messages::InitProducerIdRequest,
) -> kafka_protocol::messages::InitProducerIdResponse {
    use kafka_protocol::messages::{InitProducerIdResponse, ProducerId};
    let resp = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    // Kafka's clients send null; an empty id names no transaction either.
    if req
        .transactional_id
        .as_ref()
        .is_some_and(|t| !t.0.is_empty())
    {
        return resp.with_error_code(idem_code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    match producers.init(req.producer_id.0, req.producer_epoch) {
        Ok((id, epoch)) => resp
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch),
        Err(code) => resp.with_error_code(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appended(s: &mut Sequences, epoch: i16, first: i32, last: i32, base: i64) {
        assert!(matches!(s.check(epoch, first, last), Verdict::Append));
        s.appended(first, last, base);
    }

    #[test]
    fn sequences_must_follow_on_and_a_recent_batch_is_a_duplicate() {
        let mut s = Sequences::default();
        assert!(matches!(
            s.check(0, 3, 4),
            Verdict::Refuse(idem_code::OUT_OF_ORDER_SEQUENCE_NUMBER, _)
        ));
        appended(&mut s, 0, 0, 2, 100);
        appended(&mut s, 0, 3, 3, 103);
        assert!(matches!(s.check(0, 0, 2), Verdict::Duplicate(100)));
        assert!(matches!(s.check(0, 3, 3), Verdict::Duplicate(103)));
        assert!(matches!(
            s.check(0, 5, 5),
            Verdict::Refuse(idem_code::OUT_OF_ORDER_SEQUENCE_NUMBER, _)
        ));
        appended(&mut s, 0, 4, 4, 104);
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut s = Sequences::default();
        for i in 0..6 {
            appended(&mut s, 0, i, i, i64::from(i));
        }
        assert!(matches!(s.check(0, 1, 1), Verdict::Duplicate(1)));
        // The first batch is forgotten: its retry is now out of order.
        assert!(matches!(
            s.check(0, 0, 0),
            Verdict::Refuse(idem_code::OUT_OF_ORDER_SEQUENCE_NUMBER, _)
        ));
    }

    #[test]
    fn a_new_epoch_starts_at_zero_and_an_old_epoch_is_fenced() {
        let mut s = Sequences::default();
        appended(&mut s, 0, 0, 9, 0);
        assert!(matches!(
            s.check(1, 10, 10),
            Verdict::Refuse(idem_code::OUT_OF_ORDER_SEQUENCE_NUMBER, _)
        ));
        appended(&mut s, 1, 0, 0, 10);
        assert!(matches!(
            s.check(0, 10, 10),
            Verdict::Refuse(idem_code::INVALID_PRODUCER_EPOCH, _)
        ));
    }

    #[test]
    fn init_hands_out_new_ids_and_bumps_the_epoch_of_a_known_one() {
        let p = Producers::default();
        let (a, ea) = p.init(-1, -1).unwrap();
        let (b, _) = p.init(-1, -1).unwrap();
        assert_ne!(a, b);
        assert_eq!(ea, 0);
        assert_eq!(p.init(a, 0), Ok((a, 1)));
        assert_eq!(p.init(a, 0), Err(idem_code::INVALID_PRODUCER_EPOCH));
        assert_eq!(p.init(b + 1_000, 0), Err(idem_code::UNKNOWN_PRODUCER_ID));
        assert!(p.sequences(b + 1_000, "t", 0).is_none());
        assert!(p.sequences(a, "t", 0).is_some());
    }
}
