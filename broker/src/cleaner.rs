//! Retention and compaction of sealed segments (never the active one), run by the broker's
//! background thread or by [`crate::Broker::run_cleaner`].
//!
//! One cleaner per partition at a time, across processes: `cleaner.lock` in the partition
//! directory, taken with a non-blocking flock (a busy partition is skipped this round).
//!
//! Retention deletes whole segments from the start of the log. Compaction rewrites a run of
//! sealed segments keeping, per key, only the latest record; offsets are kept, so the log has
//! gaps. It is crash-safe: the cleaned data goes to `<base>.log.cleaned` and is fsynced, then a
//! journal `cleaner.journal` names the run (`base end`) and is fsynced, then the cleaned file is
//! renamed over the run's first segment and the run's other segments are deleted. A cleaner that
//! finds a journal finishes that work first; a `.cleaned` file without a journal is discarded.
//! At every step a reader sees every live record: the renamed file only replaces the first
//! segment, and the segments after it still hold (a superset of) their own records.
//!
//! Memory is bounded: compaction's map of keys to latest offsets holds at most
//! `BrokerConfig::cleaner_offset_map_bytes` (key bytes plus a fixed overhead per key). With more
//! keys than fit, compaction runs in passes, each mapping from where the previous one stopped and
//! rewriting the segments up to there; the result is the same, the I/O grows with the number of
//! passes. Cleaned segments are streamed to disk, so the rest is one batch and a write buffer.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use fs4::fs_std::FileExt;

use crate::batch::{self, BatchHeader};
use crate::config::{TopicConfig, OFFSET_MAP_ENTRY_OVERHEAD};
use crate::durable::{replace_file, sync_dir, Durability};
use crate::error::{Error, IoContext, Result};
use crate::partition::Partition;
use crate::segment::{self, Segment, Step};

/// What a cleaner run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanerStats {
    /// Segments deleted by retention.
    pub segments_deleted: usize,
    /// Segments rewritten by compaction.
    pub segments_compacted: usize,
    /// Records removed by compaction.
    pub records_removed: u64,
}

impl CleanerStats {
    pub(crate) fn add(&mut self, other: &CleanerStats) {
        self.segments_deleted += other.segments_deleted;
        self.segments_compacted += other.segments_compacted;
        self.records_removed += other.records_removed;
    }
}

pub(crate) fn now_ms() -> i64 {
    crate::producer::now_ms()
}

/// A test hook: with `STRATA_BROKER_PAUSE_AT=<point>` in the environment, the process stops
/// at that point (after creating `paused-<point>` in the partition directory) so that a test
/// can kill it there.
fn pause_point(dir: &Path, point: &str) {
    if std::env::var("STRATA_BROKER_PAUSE_AT").is_ok_and(|v| v == point) {
        let _ = fs::write(dir.join(format!("paused-{point}")), b"");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// Runs retention and compaction on one partition.
pub(crate) fn clean_partition(
    p: &Partition,
    config: &TopicConfig,
    now: i64,
    map_bytes: usize,
) -> Result<CleanerStats> {
    let dir = p.dir().to_owned();
    let lock_path = dir.join("cleaner.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .ctx("open cleaner lock", &lock_path)?;
    if !lock.try_lock_exclusive().ctx("lock cleaner", &lock_path)? {
        return Ok(CleanerStats::default());
    }
    let result = (|| {
        recover(&dir)?;
        p.reload()?;
        let mut stats = CleanerStats::default();
        if config.cleanup_policy.deletes() {
            stats.segments_deleted = retention(p, config, now)?;
        }
        if config.cleanup_policy.compacts() {
            let (segments, removed) = compact(p, config, now, map_bytes)?;
            stats.segments_compacted = segments;
            stats.records_removed = removed;
        }
        Ok(stats)
    })();
    let _ = FileExt::unlock(&lock);
    result
}

/// Kafka's DeleteRecords for one partition: moves the log start to `before` (-1: the log end),
/// durably and for every process, and deletes the sealed segments wholly before it. Takes
/// `cleaner.lock`, waiting for a cleaner at work. Returns the new log start (Kafka's low
/// watermark); an offset at or before the current start changes nothing.
pub(crate) fn delete_records(p: &Partition, before: i64) -> Result<i64> {
    let dir = p.dir().to_owned();
    let lock_path = dir.join("cleaner.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .ctx("open cleaner lock", &lock_path)?;
    lock.lock_exclusive().ctx("lock cleaner", &lock_path)?;
    let result = (|| {
        recover(&dir)?;
        p.reload()?;
        let (start, end) = (p.log_start()?, p.log_end()?);
        let target = if before == -1 { end } else { before };
        if target < 0 || target > end {
            // Kafka answers OFFSET_OUT_OF_RANGE beyond the high watermark.
            return Err(Error::OffsetOutOfRange {
                topic: p.topic.to_string(),
                partition: p.id,
                offset: before,
                log_start: start,
                log_end: end,
            });
        }
        if target <= start {
            return Ok(start);
        }
        p.set_log_start(target)?;
        let segs = p.segments();
        let doomed: Vec<Arc<Segment>> = segs
            .windows(2)
            .take_while(|w| w[1].base_offset <= target)
            .map(|w| w[0].clone())
            .collect();
        if !doomed.is_empty() {
            let bases: Vec<i64> = doomed.iter().map(|s| s.base_offset).collect();
            p.replace_segments(&bases, None);
            for s in &doomed {
                s.delete_files()?;
            }
            sync_dir(&dir)?;
        }
        tracing::info!(topic = %p.topic, partition = p.id, log_start = target, segments_deleted = doomed.len(), "deleted records");
        Ok(target)
    })();
    let _ = FileExt::unlock(&lock);
    result
}

/// Finishes or discards compaction work interrupted by a crash.
pub(crate) fn recover(dir: &Path) -> Result<()> {
    let journal = dir.join("cleaner.journal");
    if let Ok(text) = fs::read_to_string(&journal) {
        let mut it = text.split_whitespace().map(str::parse::<i64>);
        if let (Some(Ok(base)), Some(Ok(end))) = (it.next(), it.next()) {
            tracing::info!(dir = %dir.display(), base, end, "finishing an interrupted compaction");
            let cleaned = dir.join(format!("{}.cleaned", segment::log_name(base)));
            if cleaned.exists() {
                segment::remove_index_files(dir, base);
                fs::rename(&cleaned, dir.join(segment::log_name(base)))
                    .ctx("finish compaction", &cleaned)?;
                sync_dir(dir)?;
            }
            for entry in fs::read_dir(dir).ctx("list partition directory", dir)? {
                let entry = entry.ctx("list partition directory", dir)?;
                if let Some(b) = entry.file_name().to_str().and_then(segment::parse_log_name) {
                    if b > base && b < end {
                        fs::remove_file(entry.path())
                            .ctx("delete compacted segment", &entry.path())?;
                        segment::remove_index_files(dir, b);
                    }
                }
            }
        }
        fs::remove_file(&journal).ctx("remove cleaner journal", &journal)?;
        sync_dir(dir)?;
    }
    for entry in fs::read_dir(dir).ctx("list partition directory", dir)? {
        let entry = entry.ctx("list partition directory", dir)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Leftovers of a crash: a cleaned or repaired copy never installed, a journal never
        // renamed.
        if name.ends_with(".cleaned")
            || name.ends_with(".repair")
            || name.starts_with("cleaner.journal.")
            || name.starts_with(".cleaner.journal.tmp")
        {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

fn retention(p: &Partition, config: &TopicConfig, now: i64) -> Result<usize> {
    if config.retention_ms.is_none() && config.retention_bytes.is_none() {
        return Ok(0);
    }
    let segs = p.segments();
    if segs.len() <= 1 {
        return Ok(0);
    }
    let mut total: u64 = 0;
    for s in &segs {
        total += s.len()?;
    }
    let mut doomed = Vec::new();
    for s in &segs[..segs.len() - 1] {
        let summary = s.sealed_summary()?;
        let size = s.len()?;
        let by_time = config
            .retention_ms
            .is_some_and(|r| summary.max_timestamp < now.saturating_sub(r));
        let by_size = config
            .retention_bytes
            .is_some_and(|limit| total - size >= limit);
        if !(by_time || by_size) {
            break;
        }
        total -= size;
        doomed.push(s.clone());
    }
    if doomed.is_empty() {
        return Ok(0);
    }
    let bases: Vec<i64> = doomed.iter().map(|s| s.base_offset).collect();
    // Forget them first: new readers start at the new log start; readers holding the files
    // finish reading them.
    p.replace_segments(&bases, None);
    for s in &doomed {
        s.delete_files()?;
    }
    sync_dir(p.dir())?;
    tracing::info!(topic = %p.topic, partition = p.id, segments = doomed.len(), "retention deleted segments");
    Ok(doomed.len())
}

/// Reads every batch of a sealed segment with its records. Damage anywhere is an error: the
/// cleaner never rewrites a segment it cannot read whole, or it would drop the intact batches
/// after the damage.
fn for_each_batch(
    p: &Partition,
    seg: &Segment,
    mut f: impl FnMut(&Bytes, &BatchHeader, &[batch::DecodedRecord]),
) -> Result<()> {
    let mut err = None;
    let mut next = seg.base_offset;
    seg.scan(0, true, |step| match step {
        Step::Batch {
            header,
            frame: Some(frame),
            pos,
        } => {
            next = header.next_offset();
            let frame = Bytes::from(frame);
            match batch::decode(&frame, &header) {
                Some(records) => {
                    f(&frame, &header, &records);
                    true
                }
                None => {
                    err = Some(p.corrupt(
                        seg,
                        pos,
                        header.base_offset,
                        header.next_offset(),
                        "malformed records inside a batch whose CRC checks out",
                    ));
                    false
                }
            }
        }
        Step::Invalid { pos, reason } => {
            let resume = match seg.next_valid_after(pos, next) {
                Ok(Some((_, h))) => h.base_offset,
                _ => next + 1,
            };
            err = Some(p.corrupt(seg, pos, next, resume, reason));
            false
        }
        _ => false,
    })?;
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Keys and the offset of their latest record in a range of segments, within a memory budget.
struct OffsetMap {
    latest: HashMap<Box<[u8]>, i64>,
    bytes: usize,
    limit: usize,
    /// A key did not fit: the map covers the segments before the one being read only.
    full: bool,
}

impl OffsetMap {
    fn new(limit: usize) -> OffsetMap {
        OffsetMap {
            latest: HashMap::new(),
            bytes: 0,
            limit,
            full: false,
        }
    }

    /// Records `key` at `offset` (offsets arrive in increasing order); false once full.
    fn put(&mut self, key: &[u8], offset: i64) -> bool {
        if let Some(o) = self.latest.get_mut(key) {
            *o = offset;
            return true;
        }
        let cost = key.len() + OFFSET_MAP_ENTRY_OVERHEAD;
        if self.full || self.bytes + cost > self.limit {
            self.full = true;
            return false;
        }
        self.bytes += cost;
        self.latest.insert(key.into(), offset);
        true
    }
}

/// Compacts the sealed segments older than `min.compaction.lag.ms`, in passes of at most
/// `map_bytes` of key map each (Kafka's approach with `log.cleaner.dedupe.buffer.size`): a
/// pass maps keys to their latest offsets from where the previous pass stopped until the map
/// is full or the eligible segments end, then rewrites every eligible segment up to the one
/// where it stopped with that map. A record goes only when the map names a later offset for its key, and
/// such a later record exists in the range and is kept, so a partial map only compacts less.
/// Memory is the map plus one batch and a write buffer; the cleaned file is streamed to disk.
fn compact(
    p: &Partition,
    config: &TopicConfig,
    now: i64,
    map_bytes: usize,
) -> Result<(usize, u64)> {
    let mut total = (0, 0);
    // The first offset the next pass maps.
    let mut from = i64::MIN;
    loop {
        let (segments, removed, next) = compact_pass(p, config, now, map_bytes, from)?;
        total.0 += segments;
        total.1 += removed;
        match next {
            Some(n) => from = n,
            None => return Ok(total),
        }
    }
}

/// One compaction pass mapping the eligible records from offset `from`. Returns the segments
/// rewritten, the records removed, and the offset the next pass maps from (`None`: done).
fn compact_pass(
    p: &Partition,
    config: &TopicConfig,
    now: i64,
    map_bytes: usize,
    from: i64,
) -> Result<(usize, u64, Option<i64>)> {
    let segs = p.segments();
    if segs.len() <= 1 {
        return Ok((0, 0, None));
    }
    let horizon = now.saturating_sub(config.min_compaction_lag_ms);
    let mut eligible = Vec::new();
    for s in &segs[..segs.len() - 1] {
        if s.sealed_summary()?.max_timestamp > horizon {
            break;
        }
        eligible.push(s.clone());
    }
    // The latest offset of every key in the records mapped by this pass: those from offset
    // `from` until the map is full.
    let mut map = OffsetMap::new(map_bytes);
    let mut stopped_at = None;
    let mut last_mapped = None;
    for (i, s) in eligible.iter().enumerate() {
        if s.sealed_summary()?.next_offset <= from {
            continue;
        }
        last_mapped = Some(i);
        for_each_batch(p, s, |_, _, records| {
            for r in records {
                if r.offset < from || stopped_at.is_some() {
                    continue;
                }
                if let Some(k) = &r.key {
                    if !map.put(k, r.offset) {
                        stopped_at = Some(r.offset);
                    }
                }
            }
        })?;
        if stopped_at.is_some() {
            break;
        }
    }
    let Some(last_mapped) = last_mapped else {
        return Ok((0, 0, None));
    };
    // Everything up to the end of the segment where the map filled is rewritten (what was
    // mapped of it gets compacted); the next pass maps from the first record left out. Each
    // pass maps at least one record, so passes end.
    let next = match stopped_at {
        Some(o) if o > from => Some(o),
        Some(_) => {
            tracing::warn!(topic = %p.topic, partition = p.id, "cleaner_offset_map_bytes cannot hold one key; compaction stops");
            None
        }
        None => None,
    };
    if next.is_some() {
        tracing::debug!(topic = %p.topic, partition = p.id, keys = map.latest.len(), "compaction offset map full; another pass follows");
    }
    eligible.truncate(last_mapped + 1);
    let latest = map.latest;
    let tombstone_horizon = now.saturating_sub(config.delete_retention_ms);
    let keep = |r: &batch::DecodedRecord| -> bool {
        match &r.key {
            None => true,
            Some(k) => match latest.get(k.as_ref()) {
                // Not mapped in this pass: nothing known to be later.
                None => true,
                Some(&o) => {
                    o == r.offset && !(r.value.is_none() && r.timestamp < tombstone_horizon)
                }
            },
        }
    };
    // Runs of consecutive segments whose total size fits in one segment.
    let mut groups: Vec<Vec<Arc<Segment>>> = Vec::new();
    let mut size = 0;
    for s in &eligible {
        let len = s.len()?;
        match groups.last_mut() {
            Some(g) if size + len <= config.segment_bytes => {
                g.push(s.clone());
                size += len;
            }
            _ => {
                groups.push(vec![s.clone()]);
                size = len;
            }
        }
    }
    let dir = p.dir().to_owned();
    let mut compacted = 0;
    let mut removed_total = 0;
    for group in groups {
        let base = group[0].base_offset;
        let end = {
            let last = group[group.len() - 1].base_offset;
            segs.iter()
                .find(|s| s.base_offset > last)
                .map_or(i64::MAX, |s| s.base_offset)
        };
        let cleaned_path = dir.join(format!("{}.cleaned", segment::log_name(base)));
        let mut removed = 0u64;
        {
            // Streamed: memory stays at one batch and the write buffer, whatever the size.
            let f =
                fs::File::create(&cleaned_path).ctx("write compacted segment", &cleaned_path)?;
            let mut out = std::io::BufWriter::with_capacity(WRITE_BUFFER, f);
            let mut write_err = None;
            for s in &group {
                for_each_batch(p, s, |frame, header, records| {
                    let kept: Vec<(usize, usize)> =
                        records.iter().filter(|r| keep(r)).map(|r| r.raw).collect();
                    removed += (records.len() - kept.len()) as u64;
                    let written = if kept.len() == records.len() {
                        out.write_all(frame)
                    } else if !kept.is_empty() {
                        out.write_all(&batch::rebuild(frame, header, &kept))
                    } else {
                        Ok(())
                    };
                    if let Err(e) = written {
                        write_err.get_or_insert(e);
                    }
                })?;
            }
            if let Some(e) = write_err {
                return Err(Error::io("write compacted segment", &cleaned_path, e));
            }
            let f = out
                .into_inner()
                .map_err(|e| Error::io("write compacted segment", &cleaned_path, e.into_error()))?;
            if removed == 0 && group.len() == 1 {
                // A lone segment with nothing to remove stays as it is.
                drop(f);
                fs::remove_file(&cleaned_path).ctx("remove unneeded copy", &cleaned_path)?;
                continue;
            }
            f.sync_all().ctx("fsync compacted segment", &cleaned_path)?;
        }
        let journal = dir.join("cleaner.journal");
        replace_file(
            &journal,
            format!("{base} {end}\n").as_bytes(),
            Durability::Durable,
        )?;
        pause_point(&dir, "compaction-after-journal");
        segment::remove_index_files(&dir, base);
        fs::rename(&cleaned_path, dir.join(segment::log_name(base)))
            .ctx("install compacted segment", &cleaned_path)?;
        sync_dir(&dir)?;
        pause_point(&dir, "compaction-after-rename");
        let new_seg = Arc::new(Segment::open(&dir, base)?);
        new_seg.rebuild_index()?;
        let bases: Vec<i64> = group.iter().map(|s| s.base_offset).collect();
        p.replace_segments(&bases, Some(new_seg));
        for s in &group[1..] {
            s.delete_files()?;
        }
        fs::remove_file(&journal).ctx("remove cleaner journal", &journal)?;
        sync_dir(&dir)?;
        compacted += group.len();
        removed_total += removed;
    }
    if compacted > 0 {
        tracing::info!(topic = %p.topic, partition = p.id, segments = compacted, removed = removed_total, "compacted");
    }
    Ok((compacted, removed_total, next))
}

/// The compacted file's write buffer.
const WRITE_BUFFER: usize = 1 << 20;
