//! Damage in the middle of a log: consumers get an error naming it, appends are refused, no
//! intact batch is dropped and no offset is handed out twice; verify reports it and repair
//! removes it as asked. (Torn tails, which the next writer cuts off, are in `faults`.)

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use strata_broker::{
    AutoOffsetReset, Broker, ConsumerConfig, ConsumerRecord, Error, ProducerConfig, ProducerRecord,
    RepairMode, TopicConfig, TopicPartition,
};

use crate::support::{broker, poll_n, PATIENCE};

fn earliest() -> ConsumerConfig {
    ConsumerConfig {
        auto_offset_reset: AutoOffsetReset::Earliest,
        ..ConsumerConfig::default()
    }
}

fn segments(root: &Path) -> Vec<PathBuf> {
    let mut logs: Vec<_> = std::fs::read_dir(root.join("topics/t/0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs
}

/// The byte position of every batch in a segment file.
fn batch_positions(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= bytes.len() {
        out.push(at);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 4 + len;
    }
    out
}

/// A topic `t` of one partition holding `n` records `v0`, `v1`, ... in one batch each.
fn log_of(root: &Path, n: usize, config: TopicConfig) {
    let b = broker(root);
    b.create_topic("t", 1, config).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..n {
        p.send(ProducerRecord::new("t", format!("v{i}")).with_key(format!("k{i}")))
            .unwrap();
    }
}

/// Changes byte `delta` of batch `k` in `segment` (the batch's records start at 42).
fn damage(segment: &Path, k: usize, delta: usize, xor: u8) {
    let mut bytes = std::fs::read(segment).unwrap();
    let at = batch_positions(&bytes)[k] + delta;
    bytes[at] ^= xor;
    std::fs::write(segment, &bytes).unwrap();
}

/// Polls from `offset` until an error or the log end: the records read, then the error.
fn read_until_error(b: &Broker, offset: i64) -> (Vec<ConsumerRecord>, Option<Error>) {
    let c = b.consumer(earliest()).unwrap();
    let tp = TopicPartition::new("t", 0);
    c.assign(std::slice::from_ref(&tp)).unwrap();
    c.seek(&tp, offset).unwrap();
    let end = b.offsets("t", 0).unwrap().1;
    let mut got = Vec::new();
    // Returns at the first error, or once the position reached the end (and one more poll
    // there found nothing wrong); the deadline only bounds how long a failing test hangs.
    let deadline = Instant::now() + PATIENCE;
    let mut at_end = false;
    while Instant::now() < deadline {
        match c.poll(Duration::from_millis(20)) {
            Ok(more) => got.extend(more),
            Err(e) => return (got, Some(e)),
        }
        if at_end {
            return (got, None);
        }
        at_end = c.position(&tp).unwrap() >= end;
    }
    panic!(
        "read {} records from {offset} but neither an error nor offset {end}",
        got.len()
    );
}

fn offsets(records: &[ConsumerRecord]) -> Vec<i64> {
    records.iter().map(|r| r.offset).collect()
}

fn values(records: &[ConsumerRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap())
        .collect()
}

/// Damage to batch `k` of 20 in the active segment: the consumer reads what is before it
/// and then gets an error naming it; an append is refused and leaves the file as it was;
/// reading on after the damage finds every later record.
fn damage_is_reported_and_nothing_is_lost(k: usize, delta: usize) {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 20, TopicConfig::default());
    let seg = segments(dir.path()).pop().unwrap();
    damage(&seg, k, delta, 0x40);
    let len = std::fs::metadata(&seg).unwrap().len();

    let b = broker(dir.path());
    let (got, err) = read_until_error(&b, 0);
    assert_eq!(offsets(&got), (0..k as i64).collect::<Vec<_>>());
    let err = err.expect("the consumer must get an error at the damage, not a short read");
    match &err {
        Error::Corrupt {
            topic,
            partition,
            offset,
            resume_offset,
            path,
            ..
        } => {
            assert_eq!((topic.as_str(), *partition), ("t", 0));
            assert_eq!(*offset, k as i64);
            assert_eq!(*resume_offset, k as i64 + 1);
            assert_eq!(path, &seg);
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    let text = err.to_string();
    assert!(text.contains("t-0"), "{text}");
    assert!(text.contains(&format!("offsets {k} to {k}")), "{text}");
    assert!(text.contains(&seg.display().to_string()), "{text}");

    let e = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "new").with_key("k"))
        .unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    assert_eq!(
        std::fs::metadata(&seg).unwrap().len(),
        len,
        "nothing cut off"
    );
    // A second broker (another process's view) refuses too.
    let other = broker(dir.path());
    let e = other
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "new").with_key("k"))
        .unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");

    let (after, err) = read_until_error(&b, k as i64 + 1);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(offsets(&after), (k as i64 + 1..20).collect::<Vec<_>>());
    assert_eq!(b.offsets("t", 0).unwrap().1, 20);
}

#[test]
fn a_damaged_batch_early_in_the_active_segment_is_an_error_and_no_intact_batch_is_dropped() {
    damage_is_reported_and_nothing_is_lost(5, 50);
}

#[test]
fn a_damaged_batch_late_in_the_active_segment_is_an_error_and_no_intact_batch_is_dropped() {
    damage_is_reported_and_nothing_is_lost(17, 50);
}

#[test]
fn a_damaged_length_or_header_is_an_error_not_a_silent_stall() {
    // The length's high byte: the batch claims ~1 GiB past the end of the file.
    damage_is_reported_and_nothing_is_lost(5, 3);
    // The magic byte.
    damage_is_reported_and_nothing_is_lost(9, 8);
    // The length's low byte: the CRC covers the wrong bytes.
    damage_is_reported_and_nothing_is_lost(12, 0);
}

#[test]
fn records_of_healthy_partitions_are_delivered_before_the_error_of_a_damaged_one() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = broker(dir.path());
        b.create_topic("t", 2, TopicConfig::default()).unwrap();
        let p = b.producer(ProducerConfig::default());
        for i in 0..10 {
            for part in 0..2 {
                p.send(ProducerRecord::new("t", format!("v{i}")).with_partition(part))
                    .unwrap();
            }
        }
    }
    damage(&segments(dir.path()).pop().unwrap(), 0, 50, 1);
    let b = broker(dir.path());
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0), TopicPartition::new("t", 1)])
        .unwrap();
    let mut healthy = 0;
    let mut errors = 0;
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline && (healthy < 10 || errors == 0) {
        match c.poll(Duration::from_millis(20)) {
            Ok(rs) => {
                assert!(rs.iter().all(|r| r.partition == 1));
                healthy += rs.len();
            }
            Err(e) => {
                assert!(matches!(e, Error::Corrupt { partition: 0, .. }), "{e}");
                errors += 1;
            }
        }
    }
    assert_eq!(healthy, 10);
    assert!(errors > 0);
}

#[test]
fn damage_in_an_older_segment_is_an_error_and_the_cleaner_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let config = TopicConfig {
        segment_bytes: 1024,
        ..TopicConfig::default()
    };
    let mut compacted = config.clone();
    compacted.set("cleanup.policy", "compact").unwrap();
    compacted.set("min.compaction.lag.ms", "0").unwrap();
    log_of(dir.path(), 60, compacted);
    let segs = segments(dir.path());
    assert!(segs.len() > 3, "{segs:?}");
    let first_len = std::fs::read(&segs[0]).unwrap().len();
    let in_first = batch_positions(&std::fs::read(&segs[0]).unwrap()).len();
    damage(&segs[0], 1, 50, 0x40);
    let b = broker(dir.path());
    let (got, err) = read_until_error(&b, 0);
    assert_eq!(offsets(&got), vec![0]);
    assert!(
        matches!(
            err,
            Some(Error::Corrupt {
                offset: 1,
                resume_offset: 2,
                ..
            })
        ),
        "{err:?}"
    );
    // Compaction must not rewrite the damaged segment (it would drop what follows the damage).
    let _ = b.run_cleaner();
    assert_eq!(std::fs::read(&segs[0]).unwrap().len(), first_len);
    let (after, _) = read_until_error(&b, 2);
    assert_eq!(after.first().map(|r| r.offset), Some(2));
    assert_eq!(after.last().map(|r| r.offset), Some(59));
    assert!(in_first >= 2);
    // Appends go on: the damage is not in the newest segment.
    let md = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "new").with_key("k"))
        .unwrap();
    assert_eq!(md.offset, 60);
}

#[test]
fn verify_reports_each_damaged_stretch_with_its_offsets() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 20, TopicConfig::default());
    let seg = segments(dir.path()).pop().unwrap();
    damage(&seg, 5, 50, 0x40);
    damage(&seg, 17, 3, 0x40);
    let b = broker(dir.path());
    let check = b.verify_partition("t", 0).unwrap();
    assert!(check.is_corrupt());
    assert_eq!(check.batches, 18);
    assert_eq!(check.records, 18);
    let found: Vec<(i64, Option<i64>, bool)> = check
        .damage
        .iter()
        .map(|d| (d.first_offset, d.resume_offset, d.torn_tail))
        .collect();
    assert_eq!(found, vec![(5, Some(6), false), (17, Some(18), false)]);
    assert_eq!(check.damage[0].path, seg);

    let healthy = tempfile::tempdir().unwrap();
    log_of(healthy.path(), 3, TopicConfig::default());
    let check = broker(healthy.path()).verify_partition("t", 0).unwrap();
    assert!(check.damage.is_empty() && !check.is_corrupt());
    assert_eq!(check.records, 3);
}

#[test]
fn repair_removes_only_the_damaged_batches_and_keeps_every_intact_one_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 20, TopicConfig::default());
    let seg = segments(dir.path()).pop().unwrap();
    damage(&seg, 5, 50, 0x40);
    damage(&seg, 17, 48, 0x40);
    let b = broker(dir.path());
    // A reader positioned before the repair.
    let (_, err) = read_until_error(&b, 0);
    assert!(err.is_some());
    let report = b
        .repair_partition("t", 0, RepairMode::RemoveDamaged)
        .unwrap();
    assert_eq!(report.removed.len(), 2);
    assert_eq!(report.dropped_batches, 0);
    assert_eq!(report.next_offset, 20);
    let (got, err) = read_until_error(&b, 0);
    assert!(err.is_none(), "{err:?}");
    let want: Vec<i64> = (0..20).filter(|o| *o != 5 && *o != 17).collect();
    assert_eq!(offsets(&got), want);
    assert_eq!(
        values(&got),
        want.iter().map(|o| format!("v{o}")).collect::<Vec<_>>()
    );
    assert!(!b.verify_partition("t", 0).unwrap().is_corrupt());
    let md = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "new").with_key("k"))
        .unwrap();
    assert_eq!(md.offset, 20, "no offset is handed out twice");
    // Another process's view agrees.
    let (all, _) = read_until_error(&broker(dir.path()), 0);
    assert_eq!(all.last().map(|r| r.offset), Some(20));
}

#[test]
fn repair_by_truncation_drops_from_the_damage_on_and_never_reuses_its_offsets() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 20, TopicConfig::default());
    let seg = segments(dir.path()).pop().unwrap();
    damage(&seg, 5, 50, 0x40);
    let b = broker(dir.path());
    let report = b.repair_partition("t", 0, RepairMode::Truncate).unwrap();
    assert_eq!(report.removed.len(), 1);
    assert_eq!(report.removed[0].first_offset, 5);
    assert_eq!(report.dropped_batches, 14);
    assert_eq!(report.dropped_records, 14);
    assert_eq!(report.next_offset, 20);
    let md = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "new").with_key("k"))
        .unwrap();
    assert_eq!(md.offset, 20);
    let (got, err) = read_until_error(&b, 0);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(offsets(&got), vec![0, 1, 2, 3, 4, 20]);
}

#[test]
fn a_group_that_committed_past_a_lost_tail_sees_the_next_records() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 20, TopicConfig::default());
    {
        let b = broker(dir.path());
        let c = b
            .consumer(ConsumerConfig {
                group_id: Some("g".into()),
                ..earliest()
            })
            .unwrap();
        c.subscribe(&["t"]).unwrap();
        assert_eq!(poll_n(&c, 20, PATIENCE).len(), 20);
        c.commit().unwrap();
        c.close().unwrap();
    }
    // A machine crash lost the last 5 batches (acks=1 records never fsynced).
    let seg = segments(dir.path()).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    std::fs::write(&seg, &bytes[..batch_positions(&bytes)[15]]).unwrap();
    let b = broker(dir.path());
    let md = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "after").with_key("k"))
        .unwrap();
    assert_eq!(
        md.offset, 20,
        "offsets 15..19 were read and committed before"
    );
    let c = b
        .consumer(ConsumerConfig {
            group_id: Some("g".into()),
            ..earliest()
        })
        .unwrap();
    c.subscribe(&["t"]).unwrap();
    let got = poll_n(&c, 1, PATIENCE);
    assert_eq!(values(&got), vec!["after"]);
}

#[test]
fn a_torn_final_batch_keeps_its_offsets_unless_its_header_is_damaged_too() {
    for (what, delta, want) in [
        ("an intact header", None, 3),
        // The last-offset delta: believing it would move the log on by billions.
        ("a damaged offset delta", Some(17), 2),
    ] {
        let dir = tempfile::tempdir().unwrap();
        log_of(dir.path(), 3, TopicConfig::default());
        let seg = segments(dir.path()).pop().unwrap();
        let mut bytes = std::fs::read(&seg).unwrap();
        let last = batch_positions(&bytes)[2];
        if let Some(d) = delta {
            bytes[last + d] ^= 0x40;
        }
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&seg, &bytes).unwrap();
        let b = broker(dir.path());
        let md = b
            .producer(ProducerConfig::default())
            .send(ProducerRecord::new("t", "next").with_key("k"))
            .unwrap();
        assert_eq!(md.offset, want, "{what}");
        let (got, err) = read_until_error(&b, 0);
        assert!(err.is_none(), "{what}: {err:?}");
        assert_eq!(offsets(&got), vec![0, 1, want], "{what}");
    }
}
