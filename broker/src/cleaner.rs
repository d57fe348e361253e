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

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use fs4::fs_std::FileExt;

use crate::batch::{self, BatchHeader};
use crate::config::TopicConfig;
use crate::error::{Error, IoContext, Result};
use crate::partition::{sync_dir, Partition};
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
            let (segments, removed) = compact(p, config, now)?;
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
fn recover(dir: &Path) -> Result<()> {
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
        if name.ends_with(".cleaned") || name.starts_with("cleaner.journal.") {
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

/// Reads every valid batch of a segment with its records.
fn for_each_batch(
    seg: &Segment,
    mut f: impl FnMut(&Bytes, &BatchHeader, &[batch::DecodedRecord]),
) -> Result<()> {
    let mut err = None;
    seg.scan(0, true, |step| match step {
        Step::Batch {
            header,
            frame: Some(frame),
            ..
        } => {
            let frame = Bytes::from(frame);
            match batch::decode(&frame, &header) {
                Some(records) => {
                    f(&frame, &header, &records);
                    true
                }
                None => {
                    err = Some(seg.path.clone());
                    false
                }
            }
        }
        _ => false,
    })?;
    if let Some(path) = err {
        return Err(crate::Error::Corrupt {
            path,
            position: 0,
            reason: "malformed records in a batch with a valid CRC".into(),
        });
    }
    Ok(())
}

fn compact(p: &Partition, config: &TopicConfig, now: i64) -> Result<(usize, u64)> {
    let segs = p.segments();
    if segs.len() <= 1 {
        return Ok((0, 0));
    }
    let horizon = now.saturating_sub(config.min_compaction_lag_ms);
    let mut eligible = Vec::new();
    for s in &segs[..segs.len() - 1] {
        if s.sealed_summary()?.max_timestamp > horizon {
            break;
        }
        eligible.push(s.clone());
    }
    if eligible.is_empty() {
        return Ok((0, 0));
    }
    // The latest offset of every key in the cleanable range.
    let mut latest: HashMap<Bytes, i64> = HashMap::new();
    for s in &eligible {
        for_each_batch(s, |_, _, records| {
            for r in records {
                if let Some(k) = &r.key {
                    latest.insert(k.clone(), r.offset);
                }
            }
        })?;
    }
    let tombstone_horizon = now.saturating_sub(config.delete_retention_ms);
    let keep = |r: &batch::DecodedRecord| -> bool {
        match &r.key {
            None => true,
            Some(k) => {
                latest.get(k) == Some(&r.offset)
                    && !(r.value.is_none() && r.timestamp < tombstone_horizon)
            }
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
        let mut out = Vec::new();
        let mut removed = 0u64;
        for s in &group {
            for_each_batch(s, |frame, header, records| {
                let kept: Vec<(usize, usize)> =
                    records.iter().filter(|r| keep(r)).map(|r| r.raw).collect();
                removed += (records.len() - kept.len()) as u64;
                if kept.len() == records.len() {
                    out.extend_from_slice(frame);
                } else if !kept.is_empty() {
                    out.extend_from_slice(&batch::rebuild(frame, header, &kept));
                }
            })?;
        }
        if removed == 0 && group.len() == 1 {
            continue;
        }
        {
            let f =
                fs::File::create(&cleaned_path).ctx("write compacted segment", &cleaned_path)?;
            std::os::unix::fs::FileExt::write_all_at(&f, &out, 0)
                .ctx("write compacted segment", &cleaned_path)?;
            f.sync_all().ctx("fsync compacted segment", &cleaned_path)?;
        }
        let journal = dir.join("cleaner.journal");
        let journal_tmp = dir.join("cleaner.journal.tmp");
        {
            let f = fs::File::create(&journal_tmp).ctx("write cleaner journal", &journal_tmp)?;
            std::os::unix::fs::FileExt::write_all_at(&f, format!("{base} {end}\n").as_bytes(), 0)
                .ctx("write cleaner journal", &journal_tmp)?;
            f.sync_all().ctx("fsync cleaner journal", &journal_tmp)?;
        }
        fs::rename(&journal_tmp, &journal).ctx("write cleaner journal", &journal)?;
        sync_dir(&dir)?;
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
    Ok((compacted, removed_total))
}
