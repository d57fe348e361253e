//! Idempotent producers (KIP-98 without transactions): InitProducerId hands out producer ids,
//! and Produce checks each (producer id, partition)'s sequence numbers: a batch must start at
//! the last sequence + 1 (0 for a new epoch), a batch seen among the last five is a duplicate
//! answered with its original offset and not appended again, anything else is
//! OUT_OF_ORDER_SEQUENCE_NUMBER.
//!
//! The state survives a restart: every producer id handed out (with its epoch) and every
//! idempotent batch appended (producer, epoch, partition, sequences, base offset) is written to
//! a journal, `<log-dir>/kafka/producers.journal`, right after the append (fsynced too for
//! acks=all), and replayed when the listener starts, so a batch retried across a restart is
//! still answered as a duplicate. The journal is rewritten to the last five batches per
//! producer and partition at start and whenever it has grown by [`COMPACT_AFTER`] lines. A torn
//! last line (a crash mid-write) is ignored. What it cannot cover: a machine crash between a
//! batch's fsync and its journal line leaves the journal one batch behind the log.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Journal lines written before the journal is rewritten to its live state.
pub(crate) const COMPACT_AFTER: usize = 100_000;

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
    recent: Recent,
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
    /// Where the state is kept across restarts; `None` keeps it in memory only.
    journal: Option<Mutex<Journal>>,
}

impl Default for Producers {
    fn default() -> Self {
        // Ids from the clock, so that ids handed out before a restart are not handed out again.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as i64)
            << 8;
        Producers {
            next_id: AtomicI64::new(start),
            epochs: Mutex::new(HashMap::new()),
            partitions: Mutex::new(HashMap::new()),
            journal: None,
        }
    }
}

/// The journal file and a mirror of what it must keep when rewritten.
#[derive(Debug)]
struct Journal {
    path: PathBuf,
    file: BufWriter<File>,
    /// Lines written since the last rewrite.
    lines: usize,
    epochs: HashMap<i64, i16>,
    batches: HashMap<Key, (i16, Recent)>,
}

/// (first sequence, last sequence, base offset) of a partition's recent batches.
type Recent = VecDeque<(i32, i32, i64)>;

/// One journal line.
enum Entry {
    /// A producer id at an epoch (InitProducerId).
    Init(i64, i16),
    /// An appended batch: producer, epoch, topic, partition, first and last sequence, base offset.
    Batch(i64, i16, String, i32, i32, i32, i64),
}

impl Entry {
    fn parse(line: &str) -> Option<Entry> {
        let mut f = line.split(' ');
        let entry = match f.next()? {
            "I" => Entry::Init(f.next()?.parse().ok()?, f.next()?.parse().ok()?),
            "B" => Entry::Batch(
                f.next()?.parse().ok()?,
                f.next()?.parse().ok()?,
                f.next()?.to_owned(),
                f.next()?.parse().ok()?,
                f.next()?.parse().ok()?,
                f.next()?.parse().ok()?,
                f.next()?.parse().ok()?,
            ),
            _ => return None,
        };
        f.next().is_none().then_some(entry)
    }
}

impl Journal {
    fn remember(&mut self, entry: &Entry) {
        match entry {
            Entry::Init(pid, epoch) => {
                self.epochs.insert(*pid, *epoch);
            }
            Entry::Batch(pid, epoch, topic, partition, first, last, base) => {
                let slot = self
                    .batches
                    .entry((*pid, topic.clone(), *partition))
                    .or_insert_with(|| (*epoch, VecDeque::new()));
                if slot.0 != *epoch {
                    *slot = (*epoch, VecDeque::new());
                }
                slot.1.push_back((*first, *last, *base));
                while slot.1.len() > REMEMBERED {
                    slot.1.pop_front();
                }
            }
        }
    }

    fn write(&mut self, entry: &Entry, sync: bool) -> std::io::Result<()> {
        match entry {
            Entry::Init(pid, epoch) => writeln!(self.file, "I {pid} {epoch}")?,
            Entry::Batch(pid, epoch, topic, partition, first, last, base) => writeln!(
                self.file,
                "B {pid} {epoch} {topic} {partition} {first} {last} {base}"
            )?,
        }
        self.file.flush()?;
        if sync {
            self.file.get_ref().sync_data()?;
        }
        self.remember(entry);
        self.lines += 1;
        if self.lines >= COMPACT_AFTER {
            self.rewrite()?;
        }
        Ok(())
    }

    /// Replaces the journal with the live state (atomically: a new file renamed over it).
    fn rewrite(&mut self) -> std::io::Result<()> {
        let tmp = self.path.with_extension("journal.tmp");
        let mut out = BufWriter::new(File::create(&tmp)?);
        let mut lines = 0;
        for (pid, epoch) in &self.epochs {
            writeln!(out, "I {pid} {epoch}")?;
            lines += 1;
        }
        for ((pid, topic, partition), (epoch, batches)) in &self.batches {
            for (first, last, base) in batches {
                writeln!(
                    out,
                    "B {pid} {epoch} {topic} {partition} {first} {last} {base}"
                )?;
                lines += 1;
            }
        }
        out.flush()?;
        out.get_ref().sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        self.file = BufWriter::new(OpenOptions::new().append(true).open(&self.path)?);
        self.lines = lines;
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these maps leaves it consistent (single inserts).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Producers {
    /// The state kept in `<log_dir>/kafka/producers.journal`: replayed now, written from now on.
    pub fn open(log_dir: &Path) -> std::io::Result<Producers> {
        let dir = log_dir.join("kafka");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("producers.journal");
        let mut journal = Journal {
            path: path.clone(),
            file: BufWriter::new(OpenOptions::new().create(true).append(true).open(&path)?),
            lines: 0,
            epochs: HashMap::new(),
            batches: HashMap::new(),
        };
        for line in BufReader::new(File::open(&path)?).lines() {
            // A line that does not parse is the torn tail of a crash: what follows is ignored too.
            match Entry::parse(&line?) {
                Some(entry) => journal.remember(&entry),
                None => break,
            }
        }
        journal.rewrite()?;
        let producers = Producers::default();
        let max_id = journal.epochs.keys().copied().max().unwrap_or(-1);
        producers
            .next_id
            .fetch_max(max_id.saturating_add(1), Ordering::Relaxed);
        lock(&producers.epochs).extend(journal.epochs.iter().map(|(k, v)| (*k, *v)));
        {
            let mut partitions = lock(&producers.partitions);
            for (key, (epoch, batches)) in &journal.batches {
                let last = batches.back().map_or(-1, |b| b.1);
                partitions.insert(
                    key.clone(),
                    Arc::new(Mutex::new(Sequences {
                        epoch: *epoch,
                        last,
                        recent: batches.clone(),
                    })),
                );
            }
        }
        Ok(Producers {
            journal: Some(Mutex::new(journal)),
            ..producers
        })
    }

    fn journal(&self, entry: Entry, sync: bool) {
        if let Some(j) = &self.journal {
            if let Err(e) = lock(j).write(&entry, sync) {
                tracing::error!(error = %e, "could not write the idempotent producers' journal");
            }
        }
    }

    /// InitProducerId: a new id at epoch 0, or the next epoch of a known id.
    pub fn init(&self, producer_id: i64, epoch: i16) -> Result<(i64, i16), i16> {
        let mut epochs = lock(&self.epochs);
        if producer_id >= 0 {
            return match epochs.get_mut(&producer_id) {
                Some(e) if *e == epoch => {
                    *e = e.saturating_add(1);
                    let next = *e;
                    self.journal(Entry::Init(producer_id, next), true);
                    Ok((producer_id, next))
                }
                Some(_) => Err(idem_code::INVALID_PRODUCER_EPOCH),
                None => Err(idem_code::UNKNOWN_PRODUCER_ID),
            };
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        epochs.insert(id, 0);
        self.journal(Entry::Init(id, 0), true);
        Ok((id, 0))
    }

    /// Records a batch appended for `producer_id` on a partition, after
    /// [`Sequences::appended`], with the durability of the batch (`sync` for acks=all).
    #[allow(clippy::too_many_arguments)]
    pub fn appended(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
        first: i32,
        last: i32,
        base: i64,
        sync: bool,
    ) {
        self.journal(
            Entry::Batch(
                producer_id,
                epoch,
                topic.to_owned(),
                partition,
                first,
                last,
                base,
            ),
            sync,
        );
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
    fn the_journal_brings_ids_epochs_and_recent_batches_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (pid, _) = {
            let p = Producers::open(dir.path()).unwrap();
            let (pid, epoch) = p.init(-1, -1).unwrap();
            let s = p.sequences(pid, "t", 2).unwrap();
            for (first, last, base) in [(0, 4, 10), (5, 9, 15)] {
                let mut g = hold(&s);
                assert!(matches!(g.check(epoch, first, last), Verdict::Append));
                g.appended(first, last, base);
                p.appended(pid, epoch, "t", 2, first, last, base, false);
            }
            (pid, epoch)
        };
        // A torn line at the end (a crash mid-write) is ignored.
        let path = dir.path().join("kafka/producers.journal");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        write!(f, "B {pid} 0 t 2 10").unwrap();
        drop(f);

        let p = Producers::open(dir.path()).unwrap();
        let s = p
            .sequences(pid, "t", 2)
            .expect("the producer id is still known");
        assert!(matches!(hold(&s).check(0, 5, 9), Verdict::Duplicate(15)));
        assert!(matches!(hold(&s).check(0, 0, 4), Verdict::Duplicate(10)));
        assert!(matches!(hold(&s).check(0, 10, 12), Verdict::Append));
        let (next, _) = p.init(-1, -1).unwrap();
        assert!(next > pid, "ids are not handed out twice");
        assert_eq!(p.init(pid, 0), Ok((pid, 1)), "the epoch is known");
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
