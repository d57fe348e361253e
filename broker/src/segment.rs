//! One segment of a partition's log: the `.log` file of record batches named by its base offset,
//! with a sparse offset index (`.index`: offset, byte position) and a time index (`.timeindex`:
//! largest timestamp so far, offset), one entry per [`INDEX_INTERVAL`] bytes of log.
//!
//! Index files are hints, never trusted: an entry is used only after the batch it points at has
//! been read back with the offset it claims, and a missing or damaged index only makes a lookup
//! scan further. So index files are not fsynced and are rebuilt freely.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::batch::{crc_ok, BatchHeader, HEADER_LEN, MAGIC};
use crate::error::{IoContext, Result};

/// Bytes of log between two index entries.
pub(crate) const INDEX_INTERVAL: u64 = 4096;
/// Buffered index bytes (256 entries) written at once.
const INDEX_WRITE_BYTES: usize = 4096;
/// Bytes read at a time when scanning a segment.
const SCAN_CHUNK: usize = 1 << 20;

/// The file name of a segment's log for `base`.
pub(crate) fn log_name(base: i64) -> String {
    format!("{base:020}.log")
}

/// Parses `00000000000000000042.log` into 42.
pub(crate) fn parse_log_name(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".log")?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

#[derive(Debug, Default)]
struct Indexes {
    /// (batch base offset, byte position), increasing.
    offsets: Vec<(i64, u64)>,
    /// (largest timestamp up to and including the batch, batch base offset), increasing.
    times: Vec<(i64, i64)>,
    /// Log bytes written since the last entry (writer only).
    since_last: u64,
    offset_file: Option<File>,
    time_file: Option<File>,
    /// Entries not yet written to `.index` / `.timeindex`: they are written in blocks of
    /// [`INDEX_WRITE_BYTES`], when the segment is sealed and when it is closed, instead of two
    /// small `write`s per appended batch. Losing them in a crash costs only a longer scan.
    unwritten_offsets: Vec<u8>,
    unwritten_times: Vec<u8>,
}

impl Indexes {
    /// Writes the buffered entries (failures are ignored: the index is only a hint).
    fn write_out(&mut self, log: &Path) {
        if !self.unwritten_offsets.is_empty() {
            append_entries(
                &mut self.offset_file,
                &index_path(log, "index"),
                &self.unwritten_offsets,
            );
            self.unwritten_offsets.clear();
        }
        if !self.unwritten_times.is_empty() {
            append_entries(
                &mut self.time_file,
                &index_path(log, "timeindex"),
                &self.unwritten_times,
            );
            self.unwritten_times.clear();
        }
    }
}

/// A segment file and its in-memory indexes.
#[derive(Debug)]
pub(crate) struct Segment {
    pub base_offset: i64,
    pub path: PathBuf,
    pub file: File,
    /// The inode, to notice a file replaced by another process's compaction.
    pub ino: u64,
    indexes: Mutex<Indexes>,
    /// Cached facts of a sealed (non-active) segment: (valid length, next offset, max timestamp).
    sealed: Mutex<Option<SegmentSummary>>,
}

/// What a full scan of a segment found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentSummary {
    /// Bytes of complete, valid batches from the start.
    pub valid_len: u64,
    /// Offset after the last valid batch (the base offset for an empty segment).
    pub next_offset: i64,
    /// Largest timestamp in the segment (`i64::MIN` when empty).
    pub max_timestamp: i64,
    /// Whether anything follows the valid batches (a torn or corrupt tail).
    pub torn: bool,
}

/// One step of a scan.
#[derive(Debug)]
pub(crate) enum Step {
    /// A batch at `pos`; `frame` is set when the scan verifies CRCs.
    Batch {
        pos: u64,
        header: BatchHeader,
        frame: Option<Vec<u8>>,
    },
    /// The end of the file.
    End,
    /// Bytes at `pos` that are not a complete, valid batch.
    Invalid { pos: u64, reason: &'static str },
}

/// One step of [`Segment::walk`]: an intact batch, or a damaged stretch of bytes.
#[derive(Debug)]
pub(crate) enum Walked {
    /// A complete batch whose CRC checks out.
    Batch {
        pos: u64,
        header: BatchHeader,
        frame: Vec<u8>,
    },
    /// Bytes `pos..end` that are not intact batches. `resume` is the intact batch at `end`
    /// (`None`: nothing intact follows in this segment, and `end` is the file's length).
    Damage {
        pos: u64,
        end: u64,
        /// The offset after the last intact batch before the damage.
        first_offset: i64,
        resume: Option<BatchHeader>,
        reason: &'static str,
    },
}

/// Whether a header could have been written by [`crate::batch::BatchBuilder`]: at least one
/// record (an empty batch is never written, not even by compaction), at least 7 bytes per record,
/// and offsets for every record. Used to skip bytes that only look like a header when
/// searching for intact data after damage.
pub(crate) fn plausible(h: &BatchHeader) -> bool {
    let body = u64::from(h.len).saturating_sub((HEADER_LEN - 4) as u64);
    h.record_count >= 1
        && u64::from(h.record_count) * 7 <= body
        && h.last_delta >= h.record_count - 1
}

fn index_path(log: &Path, ext: &str) -> PathBuf {
    log.with_extension(ext)
}

fn read_entries(path: &Path) -> Vec<(i64, i64)> {
    let Ok(bytes) = fs::read(path) else {
        return Vec::new();
    };
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(bytes.len() / 16);
    for c in bytes.chunks_exact(16) {
        let mut a = [0u8; 8];
        a.copy_from_slice(&c[..8]);
        let x = i64::from_le_bytes(a);
        a.copy_from_slice(&c[8..]);
        let y = i64::from_le_bytes(a);
        if let Some(&(px, py)) = out.last() {
            if x < px || y <= py {
                break;
            }
        }
        out.push((x, y));
    }
    out
}

impl Segment {
    /// Opens an existing segment; read-write when allowed, read-only otherwise.
    pub fn open(dir: &Path, base_offset: i64) -> Result<Segment> {
        let path = dir.join(log_name(base_offset));
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                File::open(&path).ctx("open segment", &path)?
            }
            Err(e) => return Err(crate::Error::io("open segment", &path, e)),
        };
        Self::from_file(path, base_offset, file)
    }

    /// Creates a new, empty segment (failing if one exists) and drops stale index files.
    pub fn create(dir: &Path, base_offset: i64) -> Result<Segment> {
        let path = dir.join(log_name(base_offset));
        for ext in ["index", "timeindex"] {
            let p = index_path(&path, ext);
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(crate::Error::io("remove stale index", &p, e)),
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .ctx("create segment", &path)?;
        Self::from_file(path, base_offset, file)
    }

    fn from_file(path: PathBuf, base_offset: i64, file: File) -> Result<Segment> {
        use std::os::unix::fs::MetadataExt;
        let ino = file.metadata().ctx("stat segment", &path)?.ino();
        let offsets = read_entries(&index_path(&path, "index"))
            .into_iter()
            .filter(|&(o, _)| o >= base_offset)
            .map(|(o, p)| (o, p as u64))
            .collect();
        let times = read_entries(&index_path(&path, "timeindex"));
        Ok(Segment {
            base_offset,
            path,
            file,
            ino,
            indexes: Mutex::new(Indexes {
                offsets,
                times,
                ..Indexes::default()
            }),
            sealed: Mutex::new(None),
        })
    }

    /// The file's current length.
    pub fn len(&self) -> Result<u64> {
        Ok(self.file.metadata().ctx("stat segment", &self.path)?.len())
    }

    /// Reads up to `buf.len()` bytes at `pos`; returns how many were read (short at end of file).
    pub fn read_at(&self, pos: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], pos + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(crate::Error::io("read segment", &self.path, e)),
            }
        }
        Ok(done)
    }

    /// The header of the batch at `pos`, if a plausible one is there.
    pub fn header_at(&self, pos: u64) -> Result<Option<BatchHeader>> {
        let mut b = [0u8; HEADER_LEN];
        if self.read_at(pos, &mut b)? < HEADER_LEN {
            return Ok(None);
        }
        Ok(BatchHeader::parse(&b))
    }

    /// Scans batches from `pos`, calling `f` for each step until it returns false or the scan
    /// ends. With `verify`, every frame is read whole and its CRC checked.
    pub fn scan(&self, mut pos: u64, verify: bool, mut f: impl FnMut(Step) -> bool) -> Result<()> {
        let end = self.len()?;
        let mut buf = vec![
            0u8;
            SCAN_CHUNK
                .min((end.saturating_sub(pos)) as usize)
                .max(HEADER_LEN)
        ];
        let mut buf_start = pos;
        let mut buf_len = 0usize;
        loop {
            if pos >= end {
                f(Step::End);
                return Ok(());
            }
            // Make sure the header (and, when verifying, the frame) is in the buffer.
            let rel = (pos - buf_start) as usize;
            if pos < buf_start || rel + HEADER_LEN > buf_len {
                buf_start = pos;
                buf_len = self.read_at(pos, &mut buf)?;
            }
            let rel = (pos - buf_start) as usize;
            if rel + HEADER_LEN > buf_len {
                f(Step::Invalid {
                    pos,
                    reason: "incomplete batch header",
                });
                return Ok(());
            }
            let Some(header) = BatchHeader::parse(&buf[rel..rel + HEADER_LEN]) else {
                f(Step::Invalid {
                    pos,
                    reason: "bad batch header",
                });
                return Ok(());
            };
            let flen = header.frame_len() as u64;
            if pos + flen > end {
                f(Step::Invalid {
                    pos,
                    reason: "incomplete batch",
                });
                return Ok(());
            }
            let frame = if verify {
                let frame = if rel + flen as usize <= buf_len {
                    buf[rel..rel + flen as usize].to_vec()
                } else {
                    let mut fr = vec![0u8; flen as usize];
                    if self.read_at(pos, &mut fr)? < fr.len() {
                        f(Step::Invalid {
                            pos,
                            reason: "incomplete batch",
                        });
                        return Ok(());
                    }
                    fr
                };
                if !crc_ok(&frame) {
                    f(Step::Invalid {
                        pos,
                        reason: "CRC mismatch",
                    });
                    return Ok(());
                }
                Some(frame)
            } else {
                None
            };
            if !f(Step::Batch { pos, header, frame }) {
                return Ok(());
            }
            pos += flen;
        }
    }

    /// Whether the frame of `h` at `pos` checks out: `have` holds the bytes read from `pos`
    /// (possibly fewer than the frame); the rest is read in chunks and never held whole.
    fn crc_at(&self, pos: u64, h: &BatchHeader, have: &[u8]) -> Result<bool> {
        let flen = h.frame_len();
        if have.len() >= flen {
            return Ok(crc_ok(&have[..flen]));
        }
        let mut crc = crc32c::crc32c(&have[8..]);
        let mut at = pos + have.len() as u64;
        let end = pos + flen as u64;
        let mut chunk = vec![0u8; SCAN_CHUNK.min(flen - have.len())];
        while at < end {
            let want = chunk.len().min((end - at) as usize);
            let got = self.read_at(at, &mut chunk[..want])?;
            if got == 0 {
                return Ok(false);
            }
            crc = crc32c::crc32c_append(crc, &chunk[..got]);
            at += got as u64;
        }
        Ok(crc == h.crc)
    }

    /// The first intact batch (plausible header, complete, CRC checked, base offset at least
    /// `min_offset`) that starts after `pos`, found by trying every byte position: damage can
    /// leave a length that points anywhere. `None` when the rest of the file holds none (a torn
    /// tail). Memory is one read buffer, whatever the claimed lengths.
    pub fn next_valid_after(
        &self,
        pos: u64,
        min_offset: i64,
    ) -> Result<Option<(u64, BatchHeader)>> {
        let end = self.len()?;
        let mut at = pos + 1;
        if at + HEADER_LEN as u64 > end {
            return Ok(None);
        }
        let mut buf = vec![0u8; SCAN_CHUNK.min((end - at) as usize).max(HEADER_LEN)];
        while at + HEADER_LEN as u64 <= end {
            let got = self.read_at(at, &mut buf)?;
            if got < HEADER_LEN {
                break;
            }
            let last = got - HEADER_LEN;
            for i in 0..=last {
                if buf[i + 8] != MAGIC {
                    continue;
                }
                let Some(h) = BatchHeader::parse(&buf[i..got]) else {
                    continue;
                };
                let cand = at + i as u64;
                if h.base_offset < min_offset || !plausible(&h) || cand + h.frame_len() as u64 > end
                {
                    continue;
                }
                if self.crc_at(cand, &h, &buf[i..got])? {
                    return Ok(Some((cand, h)));
                }
            }
            at += last as u64 + 1;
        }
        Ok(None)
    }

    /// Walks the whole segment verifying every batch, reporting intact batches and, past
    /// damage, resuming at the next intact batch (see [`Segment::next_valid_after`]).
    pub fn walk(&self, mut f: impl FnMut(Walked) -> Result<()>) -> Result<()> {
        let mut from = 0;
        let mut next = self.base_offset;
        loop {
            let mut err = None;
            let mut stopped = None;
            self.scan(from, true, |step| match step {
                Step::Batch {
                    pos,
                    header,
                    frame: Some(frame),
                } => {
                    next = next.max(header.next_offset());
                    match f(Walked::Batch { pos, header, frame }) {
                        Ok(()) => true,
                        Err(e) => {
                            err = Some(e);
                            false
                        }
                    }
                }
                Step::Invalid { pos, reason } => {
                    stopped = Some((pos, reason));
                    false
                }
                _ => false,
            })?;
            if let Some(e) = err {
                return Err(e);
            }
            let Some((pos, reason)) = stopped else {
                return Ok(());
            };
            match self.next_valid_after(pos, next)? {
                Some((q, h)) => {
                    f(Walked::Damage {
                        pos,
                        end: q,
                        first_offset: next,
                        resume: Some(h),
                        reason,
                    })?;
                    from = q;
                }
                None => {
                    return f(Walked::Damage {
                        pos,
                        end: self.len()?,
                        first_offset: next,
                        resume: None,
                        reason,
                    });
                }
            }
        }
    }

    /// The largest offset named by the index (entries may outlive a truncated tail).
    pub fn max_indexed_offset(&self) -> Option<i64> {
        self.indexes.lock().offsets.last().map(|&(o, _)| o)
    }

    /// Scans the whole segment verifying every batch.
    pub fn summarize(&self, from: Option<(u64, i64, i64)>) -> Result<SegmentSummary> {
        let (start, start_next, start_max) = from.unwrap_or((0, self.base_offset, i64::MIN));
        let mut s = SegmentSummary {
            valid_len: start,
            next_offset: start_next,
            max_timestamp: start_max,
            torn: false,
        };
        self.scan(start, true, |step| match step {
            Step::Batch { pos, header, .. } => {
                s.valid_len = pos + header.frame_len() as u64;
                s.next_offset = header.next_offset();
                s.max_timestamp = s.max_timestamp.max(header.max_timestamp);
                true
            }
            Step::End => false,
            Step::Invalid { pos, reason } => {
                tracing::debug!(path = %self.path.display(), pos, reason, "segment scan stopped");
                s.torn = true;
                false
            }
        })?;
        Ok(s)
    }

    /// The summary of a sealed segment, computed once (header scan, no CRC: sealed segments
    /// were verified when written or recovered; reads verify CRCs anyway).
    pub fn sealed_summary(&self) -> Result<SegmentSummary> {
        if let Some(s) = *self.sealed.lock() {
            return Ok(s);
        }
        let mut s = SegmentSummary {
            valid_len: 0,
            next_offset: self.base_offset,
            max_timestamp: i64::MIN,
            torn: false,
        };
        self.scan(0, false, |step| match step {
            Step::Batch { pos, header, .. } => {
                s.valid_len = pos + header.frame_len() as u64;
                s.next_offset = header.next_offset();
                s.max_timestamp = s.max_timestamp.max(header.max_timestamp);
                true
            }
            Step::End => false,
            Step::Invalid { .. } => {
                s.torn = true;
                false
            }
        })?;
        *self.sealed.lock() = Some(s);
        Ok(s)
    }

    /// The byte position of the batch holding `offset` (or the first batch after it), or the
    /// end of the valid data when no batch in this segment reaches it.
    pub fn find_position(&self, offset: i64) -> Result<u64> {
        // Start at the last index entry at or before the offset whose batch checks out.
        let mut start = 0;
        loop {
            let entry = {
                let idx = self.indexes.lock();
                let i = idx.offsets.partition_point(|&(o, _)| o <= offset);
                if i == 0 {
                    None
                } else {
                    Some((i - 1, idx.offsets[i - 1]))
                }
            };
            let Some((i, (o, p))) = entry else { break };
            match self.header_at(p)? {
                Some(h) if h.base_offset == o => {
                    start = p;
                    break;
                }
                _ => {
                    // A stale entry (a truncated tail, a compacted file): drop it and the rest.
                    let mut idx = self.indexes.lock();
                    idx.offsets.truncate(i);
                }
            }
        }
        let mut found = None;
        let mut last_end = start;
        // The last batch passed (this scan trusts lengths without CRCs, so a damaged length
        // shows only at the next batch) and the offset before it.
        let mut last: Option<(u64, i64)> = None;
        let mut next = self.base_offset;
        let mut from = start;
        loop {
            let mut stopped = None;
            self.scan(from, false, |step| match step {
                Step::Batch { pos, header, .. } => {
                    if header.next_offset() > offset {
                        found = Some(pos);
                        return false;
                    }
                    last = Some((pos, next));
                    last_end = pos + header.frame_len() as u64;
                    next = header.next_offset();
                    true
                }
                Step::Invalid { pos, .. } => {
                    stopped = Some(pos);
                    false
                }
                Step::End => false,
            })?;
            let Some(bad) = stopped else { break };
            // Damage, or a write in progress at the end: intact data after it means damage.
            // Searched from the batch before it, whose length may be what is damaged. An
            // offset inside the damage is answered with the damage's position (the fetch
            // reports it); one after it with its batch.
            let (search, min) = last.unwrap_or((bad, next));
            match self.next_valid_after(search, min)? {
                Some((_, h)) if offset < h.base_offset => {
                    found = Some(bad);
                    break;
                }
                Some((q, _)) => {
                    from = q;
                    last = None;
                }
                None => break,
            }
        }
        Ok(found.unwrap_or(last_end))
    }

    /// The base offset of the first batch whose largest timestamp is at least `ts`, using the
    /// time index to skip ahead. `None` if no batch in the segment reaches `ts`.
    pub fn find_timestamp(&self, ts: i64) -> Result<Option<(u64, BatchHeader)>> {
        let from_offset = {
            let idx = self.indexes.lock();
            let i = idx.times.partition_point(|&(t, _)| t < ts);
            if i == 0 {
                None
            } else {
                Some(idx.times[i - 1].1)
            }
        };
        let start = match from_offset {
            Some(o) => self.find_position(o)?,
            None => 0,
        };
        let mut found = None;
        self.scan(start, false, |step| match step {
            Step::Batch { pos, header, .. } => {
                if header.max_timestamp >= ts {
                    found = Some((pos, header));
                    return false;
                }
                true
            }
            _ => false,
        })?;
        Ok(found)
    }

    /// The end of the valid batches and the offset after the last one, scanning (without CRC
    /// checks) from the last index entry that checks out. A torn tail is not counted.
    pub fn tail(&self) -> Result<(u64, i64)> {
        let (start, mut next) = match self.last_checked_entry()? {
            Some((p, o)) => (p, o),
            None => (0, self.base_offset),
        };
        let mut end = start;
        let mut from = start;
        let mut last: Option<(u64, i64)> = None;
        loop {
            let mut stopped = None;
            self.scan(from, false, |step| match step {
                Step::Batch { pos, header, .. } => {
                    last = Some((pos, next));
                    end = pos + header.frame_len() as u64;
                    next = header.next_offset();
                    true
                }
                Step::Invalid { pos, .. } => {
                    stopped = Some(pos);
                    false
                }
                Step::End => false,
            })?;
            // Past damage to the intact batches after it (searched from the batch before it,
            // whose length may be what is damaged); a torn tail is not counted.
            let Some(bad) = stopped else { break };
            let (search, min) = last.unwrap_or((bad, next));
            match self.next_valid_after(search, min)? {
                Some((q, _)) => {
                    from = q;
                    last = None;
                }
                None => break,
            }
        }
        Ok((end, next))
    }

    /// The last index entry that checks out, as a recovery starting point.
    pub fn last_checked_entry(&self) -> Result<Option<(u64, i64)>> {
        loop {
            let last = self.indexes.lock().offsets.last().copied();
            match last {
                None => return Ok(None),
                Some((o, p)) => match self.header_at(p)? {
                    Some(h) if h.base_offset == o => return Ok(Some((p, o))),
                    _ => {
                        self.indexes.lock().offsets.pop();
                    }
                },
            }
        }
    }

    /// Marks the segment sealed with a known summary (after a roll), sparing a scan.
    pub fn seal(&self, summary: SegmentSummary) {
        *self.sealed.lock() = Some(summary);
        self.indexes.lock().write_out(&self.path);
    }

    /// Records that a batch was appended at `pos` (writer only): adds index entries every
    /// [`INDEX_INTERVAL`] bytes. Index write failures are ignored: the index is only a hint.
    pub fn note_append(&self, pos: u64, header: &BatchHeader, max_ts_so_far: i64) {
        let mut idx = self.indexes.lock();
        idx.since_last += header.frame_len() as u64;
        if idx.since_last < INDEX_INTERVAL && !idx.offsets.is_empty() {
            return;
        }
        idx.since_last = 0;
        if idx
            .offsets
            .last()
            .is_some_and(|&(o, _)| o >= header.base_offset)
        {
            return;
        }
        idx.offsets.push((header.base_offset, pos));
        idx.unwritten_offsets
            .extend_from_slice(&header.base_offset.to_le_bytes());
        idx.unwritten_offsets.extend_from_slice(&pos.to_le_bytes());
        if idx.times.last().is_none_or(|&(t, _)| max_ts_so_far > t) {
            idx.times.push((max_ts_so_far, header.base_offset));
            idx.unwritten_times
                .extend_from_slice(&max_ts_so_far.to_le_bytes());
            idx.unwritten_times
                .extend_from_slice(&header.base_offset.to_le_bytes());
        }
        if idx.unwritten_offsets.len() >= INDEX_WRITE_BYTES
            || idx.unwritten_times.len() >= INDEX_WRITE_BYTES
        {
            idx.write_out(&self.path);
        }
    }

    /// Rebuilds the indexes from the log (after compaction replaced it).
    pub fn rebuild_index(&self) -> Result<()> {
        let mut max_ts = i64::MIN;
        let mut entries = Vec::new();
        self.scan(0, false, |step| match step {
            Step::Batch { pos, header, .. } => {
                max_ts = max_ts.max(header.max_timestamp);
                entries.push((pos, header, max_ts));
                true
            }
            _ => false,
        })?;
        for (pos, header, max_ts) in entries {
            self.note_append(pos, &header, max_ts);
        }
        self.indexes.lock().write_out(&self.path);
        Ok(())
    }

    /// Cuts the segment back to `len` bytes (a torn tail, a failed write) and drops index
    /// entries past it.
    pub fn truncate(&self, len: u64) -> Result<()> {
        self.file.set_len(len).ctx("truncate segment", &self.path)?;
        *self.sealed.lock() = None;
        let mut idx = self.indexes.lock();
        let keep = idx.offsets.partition_point(|&(_, p)| p < len);
        if keep < idx.offsets.len() {
            let first_dropped = idx.offsets[keep].0;
            idx.offsets.truncate(keep);
            let keep_t = idx.times.partition_point(|&(_, o)| o < first_dropped);
            idx.times.truncate(keep_t);
            idx.offset_file = None;
            idx.time_file = None;
            // The files are rewritten whole from the entries kept in memory.
            idx.unwritten_offsets.clear();
            idx.unwritten_times.clear();
            let offsets: Vec<u8> = idx
                .offsets
                .iter()
                .flat_map(|&(o, p)| o.to_le_bytes().into_iter().chain(p.to_le_bytes()))
                .collect();
            let times: Vec<u8> = idx
                .times
                .iter()
                .flat_map(|&(t, o)| t.to_le_bytes().into_iter().chain(o.to_le_bytes()))
                .collect();
            // Hints only; a failure leaves entries that are checked before use.
            let _ = fs::write(index_path(&self.path, "index"), offsets);
            let _ = fs::write(index_path(&self.path, "timeindex"), times);
        }
        idx.since_last = INDEX_INTERVAL;
        Ok(())
    }

    /// Writes `data` at `pos`; on failure the file is cut back to `pos` so no partial batch
    /// stays behind.
    pub fn write_at(&self, pos: u64, data: &[u8]) -> Result<()> {
        if let Err(e) = self.file.write_all_at(data, pos) {
            let _ = self.file.set_len(pos);
            return Err(crate::Error::io("write segment", &self.path, e));
        }
        Ok(())
    }

    /// fdatasync.
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().ctx("fsync segment", &self.path)
    }

    /// Deletes the segment's files (the open handle stays readable for readers holding it).
    pub fn delete_files(&self) -> Result<()> {
        {
            let mut idx = self.indexes.lock();
            idx.unwritten_offsets.clear();
            idx.unwritten_times.clear();
        }
        for p in [
            self.path.clone(),
            index_path(&self.path, "index"),
            index_path(&self.path, "timeindex"),
        ] {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(crate::Error::io("delete segment file", &p, e)),
            }
        }
        Ok(())
    }
}

fn append_entries(file: &mut Option<File>, path: &Path, entries: &[u8]) {
    if file.is_none() {
        *file = OpenOptions::new().create(true).append(true).open(path).ok();
    }
    if let Some(f) = file {
        if f.write_all(entries).is_err() {
            *file = None;
        }
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // Not for a deleted segment: that would leave index files without a log.
        if self.path.exists() {
            self.indexes.get_mut().write_out(&self.path);
        }
    }
}

/// Removes index files of a segment that has no log (left by a crash during a delete).
pub(crate) fn remove_index_files(dir: &Path, base: i64) {
    let log = dir.join(log_name(base));
    for ext in ["index", "timeindex"] {
        let _ = fs::remove_file(index_path(&log, ext));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchBuilder;

    fn append(seg: &Segment, pos: &mut u64, base: i64, n: u32, ts: i64) {
        let mut b = BatchBuilder::with_capacity(128);
        for i in 0..n {
            b.push(
                ts + i64::from(i),
                Some(b"k"),
                Some(&[7u8; 100]),
                crate::batch::Headers::Borrowed(&[]),
            );
        }
        let frame = b.finish(base, None).to_vec();
        seg.write_at(*pos, &frame).unwrap();
        let h = BatchHeader::parse(&frame).unwrap();
        seg.note_append(*pos, &h, h.max_timestamp);
        *pos += frame.len() as u64;
    }

    #[test]
    fn find_position_uses_the_index_and_survives_a_bad_index() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Segment::create(dir.path(), 0).unwrap();
        let mut pos = 0;
        for i in 0..200 {
            append(&seg, &mut pos, i * 3, 3, i * 10);
        }
        let p = seg.find_position(301).unwrap();
        assert_eq!(seg.header_at(p).unwrap().unwrap().base_offset, 300);
        assert_eq!(seg.find_position(10_000).unwrap(), pos);
        // Reopen with a garbage index: lookups still find the right batch.
        drop(seg);
        fs::write(dir.path().join("00000000000000000000.index"), [9u8; 64]).unwrap();
        let seg = Segment::open(dir.path(), 0).unwrap();
        let p = seg.find_position(301).unwrap();
        assert_eq!(seg.header_at(p).unwrap().unwrap().base_offset, 300);
        let (_, h) = seg.find_timestamp(1000).unwrap().unwrap();
        assert_eq!(h.base_offset, 300);
    }

    #[test]
    fn index_entries_are_written_in_blocks_and_when_the_segment_is_sealed_or_closed() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Segment::create(dir.path(), 0).unwrap();
        let index = dir.path().join("00000000000000000000.index");
        let on_disk = || fs::metadata(&index).map_or(0, |m| m.len());
        let mut pos = 0;
        // Batches of ~4.5 KB: one entry each.
        for i in 0..10 {
            append(&seg, &mut pos, i * 40, 40, i);
        }
        let in_memory = seg.indexes.lock().offsets.len();
        assert_eq!(in_memory, 10);
        assert_eq!(on_disk(), 0, "buffered, not one write per entry");
        seg.seal(seg.summarize(None).unwrap());
        assert_eq!(on_disk(), 10 * 16, "sealing writes the buffered entries");
        for i in 10..20 {
            append(&seg, &mut pos, i * 40, 40, i);
        }
        drop(seg);
        assert_eq!(on_disk(), 20 * 16, "closing writes the buffered entries");
        let seg = Segment::open(dir.path(), 0).unwrap();
        assert_eq!(seg.indexes.lock().offsets.len(), 20);
        // A block of entries is written without waiting for the seal.
        for i in 20..(20 + 300) {
            append(&seg, &mut pos, i * 40, 40, i);
        }
        assert!(on_disk() >= INDEX_WRITE_BYTES as u64);
        // A deleted segment does not get its index files back when closed.
        append(&seg, &mut pos, 320 * 40, 40, 320);
        seg.delete_files().unwrap();
        drop(seg);
        assert!(!index.exists());
    }

    #[test]
    fn summarize_stops_at_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Segment::create(dir.path(), 5).unwrap();
        let mut pos = 0;
        append(&seg, &mut pos, 5, 2, 0);
        let good = pos;
        seg.write_at(pos, &[1, 2, 3, 4, 5]).unwrap();
        let s = seg.summarize(None).unwrap();
        assert_eq!(s.valid_len, good);
        assert_eq!(s.next_offset, 7);
        assert!(s.torn);
    }
}
