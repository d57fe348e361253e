//! One partition's log: its segments, the single writer (appends, rolls, torn-tail recovery,
//! group commit for `acks=all`) and reads by offset and by timestamp.
//!
//! Writers in several processes take turns through an advisory lock on `writer.lock` in the
//! partition directory, held across appends as a short lease (see [`Leases`]). A writer
//! remembers the length of the active segment after its own last append; if the file has
//! another length when it next takes the lock, another process wrote (or died writing), so it
//! re-lists the segments and
//! verifies the tail from where it knew it to be valid, cutting off a torn batch before it
//! appends. Rolls happen only at the end of an append, so an unchanged active segment also means
//! no roll happened.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use fs4::fs_std::FileExt;
use parking_lot::{Condvar, Mutex, RwLock};

use crate::batch::{self, BatchBuilder, BatchHeader};
use crate::config::{Acks, TimestampType, TopicConfig};
use crate::durable::{replace_file, sync_dir, Durability};
use crate::error::{Error, IoContext, Result};
use crate::record::Chunk;
use crate::segment::{self, Segment, SegmentSummary};

/// How often a reader re-lists a partition's segments to notice other processes' retention,
/// compaction and rolls.
const REFRESH_INTERVAL: Duration = Duration::from_millis(1000);

/// The most a fetch reads at once (less when the consumer's `max_partition_fetch_bytes` is
/// smaller; more when one batch is larger). Small enough that the read buffer and the records
/// decoded from it (about 130 bytes each) stay in a core's L2 cache while the caller goes
/// through them; 1 MiB reads measured a few percent slower (see BENCHMARKS.md).
pub(crate) const FETCH_CHUNK: usize = 256 * 1024;

/// Wakes long-polling consumers of this process when anything is appended.
#[derive(Debug, Default)]
pub(crate) struct Notifier {
    seq: AtomicU64,
    waiters: AtomicUsize,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Notifier {
    /// The current sequence number, to pass to [`Notifier::wait`].
    pub fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Signals an append.
    pub fn notify(&self) {
        self.seq.fetch_add(1, Ordering::AcqRel);
        if self.waiters.load(Ordering::Acquire) > 0 {
            let _g = self.lock.lock();
            self.cv.notify_all();
        }
    }

    /// Waits until something is appended after `seen` or `timeout` passes.
    pub fn wait(&self, seen: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut g = self.lock.lock();
        self.waiters.fetch_add(1, Ordering::AcqRel);
        while self.seq.load(Ordering::Acquire) == seen {
            if self.cv.wait_until(&mut g, deadline).timed_out() {
                break;
            }
        }
        self.waiters.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Writer locks held by this process, so that a background thread can release idle ones.
///
/// A writer keeps `writer.lock` between appends while it keeps appending, which saves three
/// system calls per append; the broker's lease thread releases a lock idle for [`LEASE_IDLE`],
/// and a writer lets go after holding it for [`LEASE_MAX`] so writers in other processes get
/// their turn.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    held: AtomicUsize,
    lock: Mutex<()>,
    cv: Condvar,
}

/// A writer lock unused for this long is released.
pub(crate) const LEASE_IDLE: Duration = Duration::from_millis(2);
/// A writer lock held for this long is released after the append in progress.
const LEASE_MAX: Duration = Duration::from_millis(20);

impl Leases {
    fn acquired(&self) {
        self.held.fetch_add(1, Ordering::AcqRel);
        let _g = self.lock.lock();
        self.cv.notify_all();
    }

    fn released(&self) {
        self.held.fetch_sub(1, Ordering::AcqRel);
    }

    /// Waits up to `timeout` for a lock to be held; true if one is.
    pub fn wait_for_held(&self, timeout: Duration) -> bool {
        let mut g = self.lock.lock();
        if self.held.load(Ordering::Acquire) == 0 {
            let _ = self.cv.wait_for(&mut g, timeout);
        }
        self.held.load(Ordering::Acquire) > 0
    }
}

/// What the writer of this process knows about the active segment after its last append.
#[derive(Debug)]
struct Known {
    active: Arc<Segment>,
    len: u64,
    next_offset: i64,
    max_ts: i64,
    first_ts: Option<i64>,
}

#[derive(Debug, Default)]
struct WriterState {
    lock_file: Option<File>,
    /// `writer.want`: writers of other processes waiting for `writer.lock` hold it shared.
    want_file: Option<File>,
    known: Option<Known>,
    /// The file lock is held (since `held_since`).
    held: bool,
    held_since: Option<Instant>,
    last_append: Option<Instant>,
    /// The tail was verified while the lock has been held without a break.
    verified: bool,
}

#[derive(Debug)]
struct SyncState {
    /// Offset after the last batch written by this process.
    written: i64,
    /// Offset up to which this process's writes are known fsynced.
    durable: i64,
    syncing: bool,
    active: Option<Arc<Segment>>,
}

/// A partition's log as this process sees it.
#[derive(Debug)]
pub(crate) struct Partition {
    pub topic: Arc<str>,
    pub id: i32,
    pub dir: PathBuf,
    segments: RwLock<Vec<Arc<Segment>>>,
    writer: Mutex<WriterState>,
    sync: Mutex<SyncState>,
    sync_cv: Condvar,
    last_refresh: Mutex<Instant>,
    /// The log start set by `delete_records` (file `log-start`), re-read with the segments:
    /// records before it are hidden even while their segment still holds them.
    start_floor: AtomicI64,
    notifier: Arc<Notifier>,
    leases: Arc<Leases>,
}

/// Where a reader is: the batch at `pos` in `segment` is the next to read and the next offset
/// the reader wants is `next_offset`.
#[derive(Debug, Clone)]
pub(crate) struct ReadCursor {
    pub segment: Arc<Segment>,
    pub pos: u64,
    pub next_offset: i64,
    /// The last fetch's buffer, reused by the next fetch once every record read from it has
    /// been dropped (saves allocating and zeroing a buffer per fetch).
    pub buf: Option<Bytes>,
}

/// The outcome of a fetch.
#[derive(Debug)]
pub(crate) enum Fetch {
    /// Records at or after the offset asked for (possibly none yet), and where to go on.
    Records(Chunk, ReadCursor),
    /// Nothing new.
    Empty,
    /// The offset is before the log start or after its end.
    OutOfRange { log_start: i64, log_end: i64 },
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Lists the base offsets of the `.log` files in a partition directory, sorted.
fn list_bases(dir: &Path) -> Result<Vec<i64>> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).ctx("list partition directory", dir)? {
        let entry = entry.ctx("list partition directory", dir)?;
        if let Some(base) = entry.file_name().to_str().and_then(segment::parse_log_name) {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// The file holding a log start set by `delete_records`.
const LOG_START_FILE: &str = "log-start";

/// The log start set by `delete_records`, or 0.
fn read_log_start(dir: &Path) -> Result<i64> {
    let path = dir.join(LOG_START_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map_err(|_| Error::BadMetadata {
            path,
            reason: format!("`{}` is not an offset", text.trim()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::io("read log start", &path, e)),
    }
}

impl Partition {
    /// Creates the directory and first segment of a new partition.
    pub fn create(dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).ctx("create partition directory", dir)?;
        if list_bases(dir)?.is_empty() {
            Segment::create(dir, 0)?;
        }
        Ok(())
    }

    /// Opens an existing partition directory (no recovery: the first append recovers the tail,
    /// and readers never serve a torn batch).
    pub fn open(
        topic: Arc<str>,
        id: i32,
        dir: PathBuf,
        notifier: Arc<Notifier>,
        leases: Arc<Leases>,
    ) -> Result<Partition> {
        if !dir.is_dir() {
            return Err(Error::Io {
                action: "open partition directory",
                path: dir,
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let p = Partition {
            topic,
            id,
            dir,
            segments: RwLock::new(Vec::new()),
            writer: Mutex::new(WriterState::default()),
            sync: Mutex::new(SyncState {
                written: 0,
                durable: 0,
                syncing: false,
                active: None,
            }),
            sync_cv: Condvar::new(),
            last_refresh: Mutex::new(Instant::now()),
            start_floor: AtomicI64::new(0),
            notifier,
            leases,
        };
        p.reload()?;
        Ok(p)
    }

    /// Re-lists the segment files, keeping the open handles of unchanged ones.
    pub fn reload(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let bases = list_bases(&self.dir)?;
        let old = self.segments.read().clone();
        let mut new = Vec::with_capacity(bases.len());
        for base in bases {
            let path = self.dir.join(segment::log_name(base));
            let ino = match fs::metadata(&path) {
                Ok(m) => m.ino(),
                // Deleted between the listing and now.
                Err(_) => continue,
            };
            if let Some(s) = old.iter().find(|s| s.base_offset == base && s.ino == ino) {
                new.push(s.clone());
                continue;
            }
            match Segment::open(&self.dir, base) {
                Ok(s) => new.push(Arc::new(s)),
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        *self.segments.write() = new;
        self.start_floor
            .fetch_max(read_log_start(&self.dir)?, Ordering::AcqRel);
        *self.last_refresh.lock() = Instant::now();
        Ok(())
    }

    /// Reloads if the last reload is older than [`REFRESH_INTERVAL`].
    fn maybe_reload(&self) -> Result<()> {
        let due = self.last_refresh.lock().elapsed() >= REFRESH_INTERVAL;
        if due {
            self.reload()?;
        }
        Ok(())
    }

    /// A snapshot of the segment list.
    pub fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.read().clone()
    }

    /// Removes the segments with the given bases and adds `add` in their place (the cleaner,
    /// after it changed files). Segments rolled meanwhile are kept.
    pub fn replace_segments(&self, remove: &[i64], add: Option<Arc<Segment>>) {
        let mut segs = self.segments.write();
        segs.retain(|s| !remove.contains(&s.base_offset));
        if let Some(a) = add {
            segs.push(a);
            segs.sort_by_key(|s| s.base_offset);
        }
    }

    fn has_segment(&self, seg: &Segment) -> bool {
        self.segments
            .read()
            .iter()
            .any(|s| s.base_offset == seg.base_offset && s.ino == seg.ino)
    }

    /// The first offset in the log.
    pub fn log_start(&self) -> Result<i64> {
        self.maybe_reload()?;
        let first = self.segments.read().first().map_or(0, |s| s.base_offset);
        Ok(first.max(self.start_floor.load(Ordering::Acquire)))
    }

    /// Moves the log start forward to `offset` for every process (Kafka's DeleteRecords): the
    /// offset is written to `log-start` durably (write, fsync, rename, fsync the directory)
    /// before it takes effect here. The caller holds `cleaner.lock` and checked the offset.
    pub fn set_log_start(&self, offset: i64) -> Result<()> {
        let path = self.dir.join(LOG_START_FILE);
        replace_file(&path, offset.to_string().as_bytes(), Durability::Durable)?;
        self.start_floor.fetch_max(offset, Ordering::AcqRel);
        Ok(())
    }

    /// The offset the next record will get.
    pub fn log_end(&self) -> Result<i64> {
        self.maybe_reload()?;
        loop {
            let last = self.segments.read().last().cloned();
            let Some(last) = last else { return Ok(0) };
            let (_, next) = last.tail()?;
            // A newer segment from another process's roll?
            if self.dir.join(segment::log_name(next)).exists() && next != last.base_offset {
                self.reload()?;
                continue;
            }
            return Ok(next);
        }
    }

    /// The partition's size on disk in bytes.
    pub fn size_bytes(&self) -> Result<u64> {
        let mut total = 0;
        for s in self.segments() {
            total += s.len()?;
        }
        Ok(total)
    }

    /// Whether the active segment `k` knew is still the file at its path with the length this
    /// process left it at: then no other process wrote, rolled, repaired or deleted it.
    fn still_active(k: &Known) -> Result<bool> {
        use std::os::unix::fs::MetadataExt;
        match fs::metadata(&k.active.path) {
            Ok(m) => Ok(m.ino() == k.active.ino && m.len() == k.len),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("stat segment", &k.active.path, e)),
        }
    }

    /// The error for damage at `position` of `seg` with intact batches from `resume_offset`.
    pub(crate) fn corrupt(
        &self,
        seg: &Segment,
        position: u64,
        offset: i64,
        resume_offset: i64,
        reason: &str,
    ) -> Error {
        Error::Corrupt {
            topic: self.topic.to_string(),
            partition: self.id,
            path: seg.path.clone(),
            position,
            offset,
            resume_offset: resume_offset.max(offset + 1),
            reason: reason.to_owned(),
        }
    }

    /// The offset after the last one any source says was handed out: the valid tail's
    /// `next`, what a torn batch's header and the index claim (`claimed`), and the offsets
    /// consumer groups committed for this partition (a group past the end means records it
    /// read were lost from the tail; their offsets must not be given again).
    fn handed_out(&self, next: i64, claimed: Option<i64>) -> i64 {
        next.max(claimed.unwrap_or(next))
            .max(self.max_committed().unwrap_or(next))
    }

    /// The largest offset a consumer group committed for this partition.
    fn max_committed(&self) -> Option<i64> {
        // <root>/topics/<topic>/<partition>: the layout in lib.rs.
        let root = self.dir.ancestors().nth(3)?;
        match crate::group::max_committed(root, &self.topic, self.id) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read committed offsets");
                None
            }
        }
    }

    /// Closes the active segment and starts a new one at `base` (fsynced, so that the offsets
    /// before `base` stay handed out after a crash).
    fn roll(&self, known: &mut Known, base: i64) -> Result<()> {
        known.active.sync()?;
        known.active.seal(SegmentSummary {
            valid_len: known.len,
            next_offset: known.next_offset,
            max_timestamp: known.max_ts,
            torn: false,
        });
        let seg = Arc::new(Segment::create(&self.dir, base)?);
        sync_dir(&self.dir)?;
        self.segments.write().push(seg.clone());
        known.active = seg.clone();
        known.len = 0;
        known.next_offset = base;
        known.max_ts = i64::MIN;
        known.first_ts = None;
        let mut s = self.sync.lock();
        s.durable = s.durable.max(base);
        s.written = s.written.max(base);
        s.active = Some(seg);
        Ok(())
    }

    /// Brings the writer's view of the tail up to date under the file lock, recovering a torn
    /// tail and refusing to append after damage. Returns the known state.
    ///
    /// Only a torn tail is cut off: bytes after the last intact batch with no intact batch
    /// after them (an append interrupted by a crash). A damaged batch followed by intact ones
    /// is corruption: nothing is cut, and the append fails with [`Error::Corrupt`] until the
    /// partition is repaired. The next offset never goes below one handed out before (see
    /// [`Partition::handed_out`]); when it has to be higher than the log's end, a new segment
    /// starts at it and the log has a gap, as a compacted log does.
    fn sync_tail<'a>(&self, w: &'a mut WriterState) -> Result<&'a mut Known> {
        // Nobody else can have written while we held the lock without a break.
        let fresh = w.verified
            || match &w.known {
                Some(k) => Self::still_active(k)?,
                None => false,
            };
        if !fresh {
            let first_time = w.known.is_none();
            self.reload()?;
            let last = match self.segments.read().last().cloned() {
                Some(s) => s,
                None => {
                    let s = Arc::new(Segment::create(&self.dir, 0)?);
                    sync_dir(&self.dir)?;
                    self.segments.write().push(s.clone());
                    s
                }
            };
            // Verify from what we knew to be valid, else from the last index entry.
            let from = match &w.known {
                Some(k) if k.active.base_offset == last.base_offset && k.active.ino == last.ino => {
                    Some((k.len, k.next_offset, k.max_ts))
                }
                _ => last
                    .last_checked_entry()?
                    .map(|(pos, off)| (pos, off, i64::MIN)),
            };
            let summary = last.summarize(from)?;
            let mut floor = None;
            if summary.torn {
                if let Some((_, h)) =
                    last.next_valid_after(summary.valid_len, summary.next_offset)?
                {
                    w.known = None;
                    return Err(self.corrupt(
                        &last,
                        summary.valid_len,
                        summary.next_offset,
                        h.base_offset,
                        "it fails its checks and intact batches follow it",
                    ));
                }
                // The offsets a torn batch's header claims may have been acknowledged (acks=1)
                // and read; so may those the index names.
                let committed = self.max_committed();
                let torn_claim = last
                    .header_at(summary.valid_len)?
                    .filter(|h| {
                        // A batch written right after the valid ones (or after the gap a
                        // committed offset past the end leaves), not a damaged header: an
                        // appended batch (never compacted) has offsets for exactly its records.
                        (h.base_offset == summary.next_offset || Some(h.base_offset) == committed)
                            && segment::plausible(h)
                            && h.last_delta == h.record_count - 1
                    })
                    .map(|h| h.next_offset());
                let indexed = last.max_indexed_offset().map(|o| o + 1);
                tracing::warn!(
                    path = %last.path.display(),
                    valid_len = summary.valid_len,
                    "truncating a torn tail left by an interrupted write"
                );
                last.truncate(summary.valid_len)?;
                floor = Some(self.handed_out(summary.next_offset, torn_claim.max(indexed)));
            } else if first_time {
                floor = Some(self.handed_out(summary.next_offset, None));
            }
            let first_ts = last.header_at(0)?.map(|h| h.max_timestamp);
            let known = w.known.insert(Known {
                active: last.clone(),
                len: summary.valid_len,
                next_offset: summary.next_offset,
                max_ts: summary.max_timestamp,
                first_ts,
            });
            {
                let mut s = self.sync.lock();
                s.active = Some(last);
                s.written = s.written.max(summary.next_offset);
            }
            if let Some(floor) = floor.filter(|&f| f > summary.next_offset) {
                tracing::warn!(
                    topic = %self.topic,
                    partition = self.id,
                    log_end = summary.next_offset,
                    next_offset = floor,
                    "offsets up to the next offset were handed out before; the log goes on after them"
                );
                if summary.torn {
                    // The evidence was just cut off: a new segment at the floor keeps it
                    // (fsynced before anything is appended). The cut changed the old
                    // segment's length, so writers elsewhere re-read the tail.
                    self.roll(known, floor)?;
                } else {
                    // The evidence (committed offsets) stays: the next batch takes the floor
                    // as its base offset, a gap inside the segment as compaction leaves. No
                    // new segment, which writers elsewhere holding this one would not notice.
                    known.next_offset = floor;
                }
            }
        }
        w.verified = true;
        w.known.as_mut().ok_or(Error::Closed { what: "partition" })
    }

    /// Appends a batch. Returns the base offset and the log-append time used (if any).
    pub fn append(
        &self,
        batch: &mut BatchBuilder,
        config: &TopicConfig,
        acks: Acks,
    ) -> Result<(i64, Option<i64>)> {
        let now = now_ms();
        let log_append_time = match config.timestamp_type {
            TimestampType::LogAppendTime => Some(now),
            TimestampType::CreateTime => None,
        };
        let (base, next) = {
            let mut w = self.writer.lock();
            self.take_writer_lock(&mut w)?;
            let result = self.append_locked(&mut w, batch, config, log_append_time, now);
            w.last_append = Some(Instant::now());
            let overdue = w.held_since.is_some_and(|t| t.elapsed() >= LEASE_MAX);
            if result.is_err() || overdue {
                self.release_writer_lock(&mut w);
                if overdue {
                    self.let_waiters_in(&w);
                }
            }
            result?
        };
        self.notifier.notify();
        if acks == Acks::All {
            self.wait_durable(next)?;
        }
        Ok((base, log_append_time))
    }

    /// Takes `writer.lock` for this process unless it holds it already (the lease).
    fn take_writer_lock(&self, w: &mut WriterState) -> Result<()> {
        if w.lock_file.is_none() {
            w.lock_file = Some(self.open_lock_file("writer.lock")?);
            w.want_file = Some(self.open_lock_file("writer.want")?);
        }
        if !w.held {
            let (Some(lock_file), Some(want)) = (&w.lock_file, &w.want_file) else {
                return Err(Error::Closed { what: "partition" });
            };
            if !lock_file
                .try_lock_exclusive()
                .ctx("lock partition for writing", &self.dir)?
            {
                // Busy: say so (a shared lock on writer.want) while waiting, so that the
                // holder hands the lock over when its lease ends (see `let_waiters_in`).
                want.lock_shared()
                    .ctx("lock partition for writing", &self.dir)?;
                let locked = lock_file.lock_exclusive();
                let _ = FileExt::unlock(want);
                locked.ctx("lock partition for writing", &self.dir)?;
            }
            w.held = true;
            w.verified = false;
            w.held_since = Some(Instant::now());
            self.leases.acquired();
        }
        Ok(())
    }

    /// Runs `f` as the partition's only writer (in this process and on disk), then releases
    /// the lock and forgets what this process knew of the tail: for repairs, which change the
    /// files under the writers. Writers elsewhere notice the change when they next take the
    /// lock (the active segment's inode or length differs).
    pub(crate) fn with_writer_lock<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut w = self.writer.lock();
        self.take_writer_lock(&mut w)?;
        let result = f();
        w.known = None;
        w.verified = false;
        self.release_writer_lock(&mut w);
        result
    }

    /// Creates an empty segment at `base` after the others, unless one starts there or later:
    /// the offsets before it stay handed out (a repair that removed the tail).
    pub(crate) fn start_segment_at(&self, base: i64) -> Result<()> {
        self.reload()?;
        if self
            .segments
            .read()
            .last()
            .is_some_and(|s| s.base_offset >= base)
        {
            return Ok(());
        }
        let seg = Arc::new(Segment::create(&self.dir, base)?);
        sync_dir(&self.dir)?;
        self.segments.write().push(seg);
        Ok(())
    }

    fn open_lock_file(&self, name: &str) -> Result<File> {
        let path = self.dir.join(name);
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ctx("open writer lock", &path)
    }

    /// After a lease ran out: while writers of other processes wait for the lock (they hold
    /// `writer.want` shared), waits for them to take it, up to [`LEASE_MAX`]. flock(2) wakes
    /// waiters on unlock but does not hand the lock over, so without this a writer that keeps
    /// appending would usually take it straight back on a busy machine. Threads of this process
    /// wait too (the caller holds the writer mutex). Costs one try-lock when nobody waits.
    fn let_waiters_in(&self, w: &WriterState) {
        let Some(want) = &w.want_file else { return };
        let deadline = Instant::now() + LEASE_MAX;
        loop {
            match want.try_lock_exclusive() {
                // Nobody waiting (any more): every waiter has the writer lock or gave up.
                Ok(true) => {
                    let _ = FileExt::unlock(want);
                    return;
                }
                Ok(false) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_micros(100));
                }
                _ => return,
            }
        }
    }

    fn release_writer_lock(&self, w: &mut WriterState) {
        if w.held {
            if let Some(f) = &w.lock_file {
                let _ = FileExt::unlock(f);
            }
            w.held = false;
            w.verified = false;
            self.leases.released();
        }
    }

    /// Releases the writer lock if no append used it for `idle`. Returns whether it is still
    /// held.
    pub fn release_if_idle(&self, idle: Duration) -> bool {
        let Some(mut w) = self.writer.try_lock() else {
            return true;
        };
        if w.held && w.last_append.is_none_or(|t| t.elapsed() >= idle) {
            self.release_writer_lock(&mut w);
        }
        w.held
    }

    fn append_locked(
        &self,
        w: &mut WriterState,
        batch: &mut BatchBuilder,
        config: &TopicConfig,
        log_append_time: Option<i64>,
        now: i64,
    ) -> Result<(i64, i64)> {
        let known = self.sync_tail(w)?;
        // Roll before a batch that would overflow the segment or once it is old enough.
        let too_big = known.len + batch.len() as u64 > config.segment_bytes;
        let too_old = known
            .first_ts
            .is_some_and(|t| now.saturating_sub(t) > config.segment_ms);
        if known.len > 0 && (too_big || too_old) {
            let next = known.next_offset;
            self.roll(known, next)?;
        }
        let base = known.next_offset;
        let frame = batch.finish(base, log_append_time);
        let header = BatchHeader::parse(frame).ok_or(Error::InvalidRecord {
            topic: self.topic.to_string(),
            reason: "the batch could not be encoded",
        })?;
        known.active.write_at(known.len, frame)?;
        let pos = known.len;
        known.len += frame.len() as u64;
        known.next_offset = header.next_offset();
        known.max_ts = known.max_ts.max(header.max_timestamp);
        if known.first_ts.is_none() {
            known.first_ts = Some(header.max_timestamp);
        }
        known.active.note_append(pos, &header, known.max_ts);
        let next = known.next_offset;
        self.sync.lock().written = next;
        Ok((base, next))
    }

    /// Group commit: returns once everything up to `offset` is fsynced; one caller fsyncs on
    /// behalf of everyone waiting, and later writers join the next fsync.
    fn wait_durable(&self, offset: i64) -> Result<()> {
        let mut s = self.sync.lock();
        loop {
            if s.durable >= offset {
                return Ok(());
            }
            if s.syncing {
                self.sync_cv.wait(&mut s);
                continue;
            }
            s.syncing = true;
            let target = s.written;
            let active = s.active.clone();
            drop(s);
            let result = match &active {
                Some(seg) => seg.sync(),
                None => Ok(()),
            };
            s = self.sync.lock();
            s.syncing = false;
            if result.is_ok() {
                s.durable = s.durable.max(target);
            }
            self.sync_cv.notify_all();
            result?;
        }
    }

    /// fsyncs the active segment (for `flush` of an `acks=all` caller and tests).
    pub fn sync_all(&self) -> Result<()> {
        let written = self.sync.lock().written;
        self.wait_durable(written)
    }

    /// Reads records from `offset`, at most about `max_bytes` (at least one batch).
    pub fn fetch(
        &self,
        offset: i64,
        max_bytes: usize,
        hint: &mut Option<ReadCursor>,
    ) -> Result<Fetch> {
        self.maybe_reload()?;
        let (mut seg, mut pos) = match hint.as_ref() {
            // Only while its segment is still part of the log: after retention or compaction
            // the reader starts over from the offset, as a Kafka consumer would.
            Some(c)
                if c.next_offset == offset
                    && offset >= self.start_floor.load(Ordering::Acquire)
                    && self.has_segment(&c.segment) =>
            {
                (c.segment.clone(), c.pos)
            }
            _ => {
                let segs = self.segments();
                let Some(first) = segs.first() else {
                    return Ok(Fetch::Empty);
                };
                let log_start = first
                    .base_offset
                    .max(self.start_floor.load(Ordering::Acquire));
                let log_end = self.log_end()?;
                if offset < log_start || offset > log_end {
                    return Ok(Fetch::OutOfRange { log_start, log_end });
                }
                let segs = self.segments();
                let i = segs.partition_point(|s| s.base_offset <= offset);
                let seg = segs[i.saturating_sub(1)].clone();
                let pos = seg.find_position(offset)?;
                (seg, pos)
            }
        };
        loop {
            let len = seg.len()?;
            if pos >= len {
                // End of this segment: move to the next one, if there is one.
                let next = {
                    let segs = self.segments.read();
                    segs.iter()
                        .find(|s| s.base_offset > seg.base_offset)
                        .cloned()
                };
                match next {
                    Some(n) => {
                        seg = n;
                        pos = 0;
                        continue;
                    }
                    None => {
                        if self.dir.join(segment::log_name(offset)).exists()
                            && offset != seg.base_offset
                        {
                            self.reload()?;
                            continue;
                        }
                        return Ok(Fetch::Empty);
                    }
                }
            }
            let want = max_bytes.clamp(batch::HEADER_LEN, FETCH_CHUNK) as u64;
            let mut n = want.min(len - pos) as usize;
            // At least one whole batch, however large; a length running past the file's end
            // (a write in progress, or damage) is not believed: memory follows the bytes there.
            if let Some(h) = seg.header_at(pos)? {
                if h.frame_len() as u64 <= len - pos {
                    n = n.max(h.frame_len());
                }
            }
            let spare = hint.as_mut().and_then(|c| c.buf.take());
            let mut buf = match spare.map(Bytes::try_into_mut) {
                Some(Ok(mut b)) => {
                    // Only bytes never used before are zeroed: the buffer keeps its length.
                    if b.len() < n {
                        b.resize(n, 0);
                    }
                    b
                }
                _ => BytesMut::zeroed(n),
            };
            let got = seg.read_at(pos, &mut buf[..n])?;
            let whole = buf.freeze();
            let data = whole.slice(..got);
            return self.parse_fetch(&seg, pos, data, whole, offset);
        }
    }

    /// Decodes the records in `buf` (read at `pos`; a slice of `whole`, the buffer to reuse).
    fn parse_fetch(
        &self,
        seg: &Arc<Segment>,
        pos: u64,
        buf: Bytes,
        whole: Bytes,
        offset: i64,
    ) -> Result<Fetch> {
        // The records in this fetch's complete batches, counted from their headers first so
        // the vector is allocated once at its final size.
        let mut count = 0usize;
        let mut at = 0usize;
        while at + batch::HEADER_LEN <= buf.len() {
            let Some(h) = BatchHeader::parse(&buf[at..]) else {
                break;
            };
            if at + h.frame_len() > buf.len() {
                break;
            }
            count += h.record_count as usize;
            at += h.frame_len();
        }
        let mut records = Chunk {
            topic: self.topic.clone(),
            partition: self.id,
            buf: buf.clone(),
            spans: Vec::with_capacity(count.min(buf.len() / 4)),
        };
        let mut next_offset = offset;
        let mut at = 0usize;
        while at + batch::HEADER_LEN <= buf.len() {
            let Some(h) = BatchHeader::parse(&buf[at..]) else {
                return self.bad_batch(
                    seg,
                    pos + at as u64,
                    "bad batch header",
                    records,
                    next_offset,
                );
            };
            let end = at + h.frame_len();
            if end > buf.len() {
                // Past this fetch's bytes: the next fetch reads it whole. When it runs past
                // the file's end it is a write in progress, a torn tail, or damage.
                if at == 0 && pos + h.frame_len() as u64 > seg.len()? {
                    return self.bad_batch(seg, pos, "incomplete batch", records, next_offset);
                }
                break;
            }
            if !batch::crc_ok(&buf[at..end]) {
                return self.bad_batch(seg, pos + at as u64, "CRC mismatch", records, next_offset);
            }
            if h.next_offset() > offset {
                let decoded = batch::index_into(&buf, at, &h, offset, &mut records.spans);
                if decoded.is_none() {
                    // Deliver what came before; the next fetch starts at this batch.
                    records.spans.retain(|r| r.offset < h.base_offset);
                    if !records.spans.is_empty() {
                        return Ok(Fetch::Records(
                            records,
                            ReadCursor {
                                segment: seg.clone(),
                                pos: pos + at as u64,
                                next_offset,
                                buf: None,
                            },
                        ));
                    }
                    return Err(self.corrupt(
                        seg,
                        pos + at as u64,
                        next_offset,
                        h.next_offset(),
                        "malformed records inside a batch whose CRC checks out",
                    ));
                }
                next_offset = next_offset.max(h.next_offset());
            }
            at = end;
        }
        Ok(Fetch::Records(
            records,
            ReadCursor {
                segment: seg.clone(),
                pos: pos + at as u64,
                next_offset,
                buf: Some(whole),
            },
        ))
    }

    /// A batch at `at` in `seg` that cannot be served; `records` were read before it and
    /// `next_offset` is the offset the reader wants next.
    ///
    /// Records before the damage are delivered first, with the cursor left at the damage.
    /// Then: intact batches after it (in this segment), or any damage in a segment that is not
    /// the newest, is corruption, an [`Error::Corrupt`] naming the offsets lost and where to
    /// read on. A bad batch with nothing intact after it at the end of the newest segment is a
    /// write in progress or a torn tail awaiting the next writer: nothing is served (yet).
    fn bad_batch(
        &self,
        seg: &Arc<Segment>,
        at: u64,
        reason: &str,
        records: Chunk,
        next_offset: i64,
    ) -> Result<Fetch> {
        let cursor = ReadCursor {
            segment: seg.clone(),
            pos: at,
            next_offset,
            buf: None,
        };
        if !records.spans.is_empty() {
            return Ok(Fetch::Records(records, cursor));
        }
        if let Some((_, h)) = seg.next_valid_after(at, next_offset)? {
            return Err(self.corrupt(seg, at, next_offset, h.base_offset, reason));
        }
        let next_segment = self
            .segments
            .read()
            .iter()
            .find(|s| s.base_offset > seg.base_offset)
            .map(|s| s.base_offset);
        match next_segment {
            None => Ok(Fetch::Records(records, cursor)),
            Some(resume) => Err(self.corrupt(seg, at, next_offset, resume, reason)),
        }
    }

    /// The first offset whose record timestamp is at least `ts`, with that timestamp.
    pub fn offset_for_time(&self, ts: i64) -> Result<Option<(i64, i64)>> {
        self.maybe_reload()?;
        for seg in self.segments() {
            let Some((pos, h)) = seg.find_timestamp(ts)? else {
                continue;
            };
            let mut buf = vec![0u8; h.frame_len()];
            let got = seg.read_at(pos, &mut buf)?;
            buf.truncate(got);
            let frame = Bytes::from(buf);
            if !batch::crc_ok(&frame) {
                continue;
            }
            if let Some(records) = batch::decode(&frame, &h) {
                if let Some(r) = records.iter().find(|r| r.timestamp >= ts) {
                    let floor = self.start_floor.load(Ordering::Acquire);
                    if r.offset < floor {
                        // Deleted by delete_records: look from the log start instead.
                        return self.scan_for_time(floor, ts);
                    }
                    return Ok(Some((r.offset, r.timestamp)));
                }
            }
        }
        Ok(None)
    }

    /// The first record at or after `offset` whose timestamp is at least `ts`, read in order.
    fn scan_for_time(&self, mut offset: i64, ts: i64) -> Result<Option<(i64, i64)>> {
        let mut cursor = None;
        loop {
            match self.fetch(offset, FETCH_CHUNK, &mut cursor)? {
                Fetch::Records(records, c) => {
                    if let Some(r) = records.spans.iter().find(|r| r.timestamp >= ts) {
                        return Ok(Some((r.offset, r.timestamp)));
                    }
                    if c.next_offset <= offset {
                        return Ok(None);
                    }
                    offset = c.next_offset;
                    cursor = Some(c);
                }
                Fetch::Empty | Fetch::OutOfRange { .. } => return Ok(None),
            }
        }
    }

    /// The partition's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
