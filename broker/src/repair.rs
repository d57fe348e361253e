//! Verifying and repairing a partition's log (`strata topics verify` and `repair`).
//!
//! [`verify`] reads every batch of every segment, checking CRCs and record framing, and
//! reports each damaged stretch with the offsets it holds. [`repair`] removes damage as an
//! operator asks: [`RepairMode::RemoveDamaged`] keeps every intact batch with its offsets
//! (the log then has gaps, as a compacted log has), [`RepairMode::Truncate`] cuts the log at the
//! first damage. Neither ever lowers the next offset: when the log's end moves back, a new
//! empty segment starts at the old end.
//!
//! A repair holds the partition's writer lock and its cleaner lock for the whole run, so no
//! append or compaction runs meanwhile; a rewritten segment is written beside the old one,
//! fsynced and renamed over it (readers holding the old file finish reading it).

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;
use fs4::fs_std::FileExt;

use crate::batch;
use crate::durable::sync_dir;
use crate::error::{IoContext, Result};
use crate::partition::Partition;
use crate::segment::{self, Segment, Walked};

/// One damaged stretch of a segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The segment file.
    pub path: PathBuf,
    /// Where the damage starts, in bytes.
    pub position: u64,
    /// How many bytes it spans (to the next intact batch, or the end of the file).
    pub length: u64,
    /// The first offset it holds (the offset after the last intact batch before it).
    pub first_offset: i64,
    /// The first offset of the next intact batch (in this or the next segment); `None` at the
    /// end of the log.
    pub resume_offset: Option<i64>,
    /// A torn tail: damage at the very end of the log with nothing intact after it, left by
    /// an interrupted write (or a write in progress); the next writer cuts it off.
    pub torn_tail: bool,
    /// What is wrong.
    pub reason: String,
}

/// What [`verify`] found in one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionCheck {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Segment files read.
    pub segments: usize,
    /// Intact batches.
    pub batches: u64,
    /// Records in the intact batches.
    pub records: u64,
    /// The damage found, in log order.
    pub damage: Vec<Damage>,
}

impl PartitionCheck {
    /// Whether there is damage other than a torn tail.
    pub fn is_corrupt(&self) -> bool {
        self.damage.iter().any(|d| !d.torn_tail)
    }
}

/// How [`repair`] removes damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairMode {
    /// Remove only the damaged bytes; every intact batch stays with its offsets.
    RemoveDamaged,
    /// Cut the log at the first damage, dropping everything after it.
    Truncate,
}

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The damage removed.
    pub removed: Vec<Damage>,
    /// Intact batches dropped (only by [`RepairMode::Truncate`]).
    pub dropped_batches: u64,
    /// Records in the intact batches dropped.
    pub dropped_records: u64,
    /// The offset the next record gets.
    pub next_offset: i64,
}

/// A batch's place, for counting what a truncation drops.
struct Seen {
    segment: usize,
    pos: u64,
    records: u64,
}

/// Reads the whole partition; `seen` gets every intact batch.
fn scan(p: &Partition, mut seen: impl FnMut(Seen)) -> Result<PartitionCheck> {
    p.reload()?;
    let segs = p.segments();
    let mut check = PartitionCheck {
        topic: p.topic.to_string(),
        partition: p.id,
        segments: segs.len(),
        batches: 0,
        records: 0,
        damage: Vec::new(),
    };
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        let next_base = segs.get(i + 1).map(|s| s.base_offset);
        seg.walk(|step| {
            match step {
                Walked::Batch { pos, header, frame } => {
                    let frame = Bytes::from(frame);
                    match batch::decode(&frame, &header) {
                        Some(records) => {
                            check.batches += 1;
                            check.records += records.len() as u64;
                            seen(Seen {
                                segment: i,
                                pos,
                                records: records.len() as u64,
                            });
                        }
                        None => check.damage.push(Damage {
                            path: seg.path.clone(),
                            position: pos,
                            length: header.frame_len() as u64,
                            first_offset: header.base_offset,
                            resume_offset: Some(header.next_offset()),
                            torn_tail: false,
                            reason: "malformed records inside a batch whose CRC checks out".into(),
                        }),
                    }
                }
                Walked::Damage {
                    pos,
                    end,
                    first_offset,
                    resume,
                    reason,
                } => check.damage.push(Damage {
                    path: seg.path.clone(),
                    position: pos,
                    length: end - pos,
                    first_offset,
                    resume_offset: resume.map(|h| h.base_offset).or(next_base),
                    torn_tail: last && resume.is_none(),
                    reason: reason.into(),
                }),
            }
            Ok(())
        })?;
    }
    Ok(check)
}

/// Reads every batch of a partition and reports the damage. Takes no lock: a write in
/// progress may show as a torn tail.
pub(crate) fn verify(p: &Partition) -> Result<PartitionCheck> {
    scan(p, |_| {})
}

/// Removes the damage of a partition as `mode` says. See the module docs.
pub(crate) fn repair(p: &Partition, mode: RepairMode) -> Result<RepairReport> {
    let dir = p.dir().to_owned();
    let lock_path = dir.join("cleaner.lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .ctx("open cleaner lock", &lock_path)?;
    lock.lock_exclusive().ctx("lock cleaner", &lock_path)?;
    let result = p.with_writer_lock(|| {
        crate::cleaner::recover(&dir)?;
        repair_locked(p, mode)
    });
    let _ = FileExt::unlock(&lock);
    result
}

fn repair_locked(p: &Partition, mode: RepairMode) -> Result<RepairReport> {
    let mut batches = Vec::new();
    let check = scan(p, |s| batches.push(s))?;
    let segs = p.segments();
    // The offsets handed out so far: the log's end, and what a torn tail's header claims.
    let mut end = p.log_end()?;
    for d in check.damage.iter().filter(|d| d.torn_tail) {
        if let Some(seg) = segs.iter().find(|s| s.path == d.path) {
            if let Some(h) = seg.header_at(d.position)? {
                if h.base_offset == d.first_offset {
                    end = end.max(h.next_offset());
                }
            }
        }
    }
    let mut report = RepairReport {
        topic: p.topic.to_string(),
        partition: p.id,
        removed: Vec::new(),
        dropped_batches: 0,
        dropped_records: 0,
        next_offset: end,
    };
    let Some(first) = check.damage.first().cloned() else {
        return Ok(report);
    };
    match mode {
        RepairMode::RemoveDamaged => {
            for seg in &segs {
                let mine: Vec<&Damage> =
                    check.damage.iter().filter(|d| d.path == seg.path).collect();
                if !mine.is_empty() {
                    rewrite_without(p, seg, &mine)?;
                }
            }
            report.removed = check.damage;
        }
        RepairMode::Truncate => {
            let Some(i) = segs.iter().position(|s| s.path == first.path) else {
                return Ok(report);
            };
            for b in batches
                .iter()
                .filter(|b| b.segment > i || (b.segment == i && b.pos > first.position))
            {
                report.dropped_batches += 1;
                report.dropped_records += b.records;
            }
            segs[i].truncate(first.position)?;
            segs[i].sync()?;
            let later: Vec<i64> = segs[i + 1..].iter().map(|s| s.base_offset).collect();
            p.replace_segments(&later, None);
            for s in &segs[i + 1..] {
                s.delete_files()?;
            }
            sync_dir(p.dir())?;
            report.removed = check.damage;
        }
    }
    p.start_segment_at(end)?;
    p.reload()?;
    report.next_offset = p.log_end()?;
    tracing::warn!(
        topic = %p.topic,
        partition = p.id,
        removed = report.removed.len(),
        dropped_batches = report.dropped_batches,
        "repaired a damaged partition"
    );
    Ok(report)
}

/// Writes `seg` again without the damaged stretches, beside it, fsyncs it and renames it
/// over the segment; its index is rebuilt.
fn rewrite_without(p: &Partition, seg: &Segment, damage: &[&Damage]) -> Result<()> {
    let dir = p.dir();
    let path = seg.path.clone();
    let tmp = dir.join(format!("{}.repair", segment::log_name(seg.base_offset)));
    let len = seg.len()?;
    {
        let f = fs::File::create(&tmp).ctx("write repaired segment", &tmp)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, f);
        let mut buf = vec![0u8; 1 << 20];
        let mut at = 0u64;
        let mut keep = |from: u64, to: u64, out: &mut std::io::BufWriter<fs::File>| -> Result<()> {
            let mut pos = from;
            while pos < to {
                let n = buf.len().min((to - pos) as usize);
                let got = seg.read_at(pos, &mut buf[..n])?;
                if got == 0 {
                    break;
                }
                out.write_all(&buf[..got])
                    .ctx("write repaired segment", &tmp)?;
                pos += got as u64;
            }
            Ok(())
        };
        for d in damage {
            keep(at, d.position, &mut out)?;
            at = d.position + d.length;
        }
        keep(at, len, &mut out)?;
        let f = out
            .into_inner()
            .map_err(|e| crate::Error::io("write repaired segment", &tmp, e.into_error()))?;
        f.sync_all().ctx("fsync repaired segment", &tmp)?;
    }
    segment::remove_index_files(dir, seg.base_offset);
    fs::rename(&tmp, &path).ctx("install repaired segment", &path)?;
    sync_dir(dir)?;
    let new_seg = std::sync::Arc::new(Segment::open(dir, seg.base_offset)?);
    new_seg.rebuild_index()?;
    p.replace_segments(&[seg.base_offset], Some(new_seg));
    Ok(())
}
