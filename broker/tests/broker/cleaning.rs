//! Retention and compaction.

use std::collections::HashMap;
use std::time::Duration;

use strata_broker::{
    AutoOffsetReset, ConsumerConfig, Error, ProducerConfig, ProducerRecord, TopicConfig,
    TopicPartition,
};

use crate::support::{broker, poll_n, poll_to_end, wait_for, PATIENCE};

fn earliest() -> ConsumerConfig {
    ConsumerConfig {
        auto_offset_reset: AutoOffsetReset::Earliest,
        max_poll_records: 10_000,
        ..ConsumerConfig::default()
    }
}

fn small_segments() -> TopicConfig {
    TopicConfig {
        segment_bytes: 2048,
        ..TopicConfig::default()
    }
}

#[test]
fn retention_bytes_deletes_the_oldest_segments_but_never_the_active_one() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let config = TopicConfig {
        retention_bytes: Some(4096),
        ..small_segments()
    };
    b.create_topic("t", 1, config).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..200 {
        p.send(ProducerRecord::new("t", format!("{i:0100}")))
            .unwrap();
    }
    let stats = b.run_cleaner().unwrap();
    assert!(stats.segments_deleted > 0);
    let d = b.describe_topic("t").unwrap().partitions[0].clone();
    assert!(d.size_bytes <= 4096 + 2048, "{d:?}");
    assert!(d.log_start_offset > 0);
    assert_eq!(d.log_end_offset, 200);
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let recs = poll_n(&c, (200 - d.log_start_offset) as usize, PATIENCE);
    assert_eq!(recs[0].offset, d.log_start_offset);
    assert_eq!(recs.last().unwrap().offset, 199);
}

#[test]
fn retention_ms_deletes_segments_whose_records_are_all_old() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let config = TopicConfig {
        retention_ms: Some(60_000),
        ..small_segments()
    };
    b.create_topic("t", 1, config).unwrap();
    let p = b.producer(ProducerConfig::default());
    let old = 1_000_000; // 1970: long expired
    for i in 0..100 {
        p.send(ProducerRecord::new("t", format!("{i:0100}")).with_timestamp(old))
            .unwrap();
    }
    for i in 0..30 {
        p.send(ProducerRecord::new("t", format!("{i:0100}")))
            .unwrap();
    }
    b.run_cleaner().unwrap();
    let d = b.describe_topic("t").unwrap().partitions[0].clone();
    // Every segment made only of old records is gone; new records are all still there.
    assert!(
        d.log_start_offset > 50 && d.log_start_offset <= 100,
        "{d:?}"
    );
}

#[test]
fn a_reader_positioned_before_deleted_records_is_moved_forward() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let config = TopicConfig {
        retention_bytes: Some(2048),
        ..small_segments()
    };
    b.create_topic("t", 1, config).unwrap();
    let p = b.producer(ProducerConfig::default());
    let tp = TopicPartition::new("t", 0);
    p.send(ProducerRecord::new("t", "first")).unwrap();
    let c = b
        .consumer(ConsumerConfig {
            max_poll_records: 1,
            ..earliest()
        })
        .unwrap();
    c.assign(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(poll_n(&c, 1, PATIENCE)[0].offset, 0);
    for i in 0..200 {
        p.send(ProducerRecord::new("t", format!("{i:0100}")))
            .unwrap();
    }
    b.run_cleaner().unwrap();
    let start = b.offsets("t", 0).unwrap().0;
    assert!(start > 1);
    // The consumer was at offset 1, now deleted: its next record is the new log start.
    let next = poll_n(&c, 1, PATIENCE);
    assert_eq!(next[0].offset, start);
    assert!(c.position(&tp).unwrap() > start);
}

fn compacted(lag_ms: i64) -> TopicConfig {
    let mut c = small_segments();
    c.set("cleanup.policy", "compact").unwrap();
    c.min_compaction_lag_ms = lag_ms;
    c.delete_retention_ms = 0;
    c
}

#[test]
fn compaction_keeps_the_latest_record_per_key_and_their_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, compacted(0)).unwrap();
    let p = b.producer(ProducerConfig::default());
    let mut latest = HashMap::new();
    for i in 0..300i64 {
        let key = format!("k{}", i % 10);
        p.send(ProducerRecord::new("t", format!("{i:050}")).with_key(key.clone()))
            .unwrap();
        latest.insert(key, i);
    }
    let stats = b.run_cleaner().unwrap();
    assert!(stats.records_removed > 200, "{stats:?}");
    let c = b.consumer(earliest()).unwrap();
    let tp = TopicPartition::new("t", 0);
    c.assign(std::slice::from_ref(&tp)).unwrap();
    let recs = poll_to_end(&c, &tp, 300);
    assert!(recs.len() < 60, "compacted to {} records", recs.len());
    assert!(recs.windows(2).all(|w| w[0].offset < w[1].offset));
    let mut seen = HashMap::new();
    for r in &recs {
        let k = String::from_utf8(r.key.as_ref().unwrap().to_vec()).unwrap();
        assert_eq!(
            r.value.as_deref(),
            Some(format!("{:050}", r.offset).as_bytes())
        );
        seen.insert(k, r.offset);
    }
    assert_eq!(
        seen, latest,
        "the last record of every key survives with its offset"
    );
    // Offsets continue after the compacted range.
    assert_eq!(
        p.send(ProducerRecord::new("t", "x").with_key("k0"))
            .unwrap()
            .offset,
        300
    );
}

#[test]
fn compaction_removes_expired_tombstones_and_the_records_they_delete() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, compacted(0)).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..50 {
        p.send(ProducerRecord::new("t", format!("{i:0100}")).with_key("gone"))
            .unwrap();
    }
    p.send(ProducerRecord::tombstone("t", "gone").with_timestamp(1))
        .unwrap();
    for i in 0..50 {
        p.send(ProducerRecord::new("t", format!("{i:0100}")).with_key("kept"))
            .unwrap();
    }
    b.run_cleaner().unwrap();
    let c = b.consumer(earliest()).unwrap();
    let tp = TopicPartition::new("t", 0);
    c.assign(std::slice::from_ref(&tp)).unwrap();
    let recs = poll_to_end(&c, &tp, 101);
    assert!(
        recs.iter().all(|r| r.key.as_deref() != Some(&b"gone"[..])),
        "{recs:?}"
    );
    assert!(recs.iter().any(|r| r.key.as_deref() == Some(&b"kept"[..])));
}

#[test]
fn min_compaction_lag_protects_recent_records() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, compacted(3_600_000)).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..100 {
        p.send(ProducerRecord::new("t", format!("{i:0100}")).with_key("k"))
            .unwrap();
    }
    let stats = b.run_cleaner().unwrap();
    assert_eq!(stats.records_removed, 0);
}

#[test]
fn the_background_cleaner_applies_retention_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let b = strata_broker::Broker::open_with(
        dir.path(),
        strata_broker::BrokerConfig {
            cleaner_interval: Duration::from_millis(20),
            ..strata_broker::BrokerConfig::default()
        },
    )
    .unwrap();
    let config = TopicConfig {
        retention_bytes: Some(2048),
        ..small_segments()
    };
    b.create_topic("t", 1, config).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..100 {
        p.send(ProducerRecord::new("t", format!("{i:0100}")))
            .unwrap();
    }
    crate::support::wait_for("background retention", PATIENCE, || {
        b.offsets("t", 0).unwrap().0 > 0
    });
}

#[test]
fn a_reader_in_the_middle_of_a_compacted_range_reads_on_without_duplicates_or_losses() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, compacted(0)).unwrap();
    let p = b.producer(ProducerConfig::default());
    let mut latest = HashMap::new();
    for i in 0..300i64 {
        let key = format!("k{}", i % 10);
        p.send(ProducerRecord::new("t", format!("{i:050}")).with_key(key.clone()))
            .unwrap();
        latest.insert(key, i);
    }
    let c = b
        .consumer(ConsumerConfig {
            max_poll_records: 50,
            ..earliest()
        })
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    c.assign(std::slice::from_ref(&tp)).unwrap();
    let mut seen = poll_n(&c, 50, PATIENCE);
    assert!((50..300).contains(&seen.len()));
    assert!(b.run_cleaner().unwrap().records_removed > 0);
    seen.extend(poll_to_end(&c, &tp, 300));
    assert!(
        seen.windows(2).all(|w| w[0].offset < w[1].offset),
        "no duplicates, in order"
    );
    for (key, offset) in &latest {
        assert!(
            seen.iter().any(|r| r.offset == *offset),
            "the latest record of {key} (offset {offset}) was delivered"
        );
    }
}

#[test]
fn delete_records_moves_the_log_start_for_readers_and_other_handles_and_deletes_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, small_segments()).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..200 {
        p.send(ProducerRecord::new("t", format!("{i:0100}")).with_timestamp(1000 + i))
            .unwrap();
    }
    let tp = TopicPartition::new("t", 0);
    // A reader in the middle of the records about to be deleted.
    let behind = b.consumer(earliest()).unwrap();
    behind.assign(std::slice::from_ref(&tp)).unwrap();
    behind.seek(&tp, 10).unwrap();
    assert_eq!(poll_n(&behind, 1, PATIENCE)[0].offset, 10);
    let other = broker(dir.path());
    assert_eq!(other.offsets("t", 0).unwrap(), (0, 200));

    let segments = |d: &std::path::Path| {
        std::fs::read_dir(d.join("topics/t/0"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "log")
            })
            .count()
    };
    let before = segments(dir.path());
    // 123 is in the middle of a segment: that segment stays, the ones before it go.
    assert_eq!(b.delete_records("t", 0, 123).unwrap(), 123);
    assert!(
        segments(dir.path()) < before,
        "whole segments before 123 are deleted"
    );
    assert_eq!(b.offsets("t", 0).unwrap(), (123, 200));
    assert_eq!(
        b.describe_topic("t").unwrap().partitions[0].log_start_offset,
        123
    );
    // Going back changes nothing; past the end is an error.
    assert_eq!(b.delete_records("t", 0, 50).unwrap(), 123);
    assert!(matches!(
        b.delete_records("t", 0, 201),
        Err(Error::OffsetOutOfRange { .. })
    ));

    // A new reader starts at the new log start, not at the first record still on disk.
    let c = b.consumer(earliest()).unwrap();
    c.assign(std::slice::from_ref(&tp)).unwrap();
    let recs = poll_n(&c, 77, PATIENCE);
    assert_eq!(recs.len(), 77);
    assert_eq!(recs[0].offset, 123);
    // A reader positioned before it is reset (auto.offset.reset = earliest).
    let mut got = Vec::new();
    while got.len() < 77 {
        got.extend(behind.poll(Duration::from_millis(100)).unwrap());
    }
    assert!(
        got.iter().all(|r| r.offset >= 123),
        "no deleted record is served"
    );
    // Timestamps before the log start find the log start.
    let found = c.offsets_for_times(&[(tp.clone(), 0)]).unwrap()[0].unwrap();
    assert_eq!(found.offset, 123);
    // Another handle on the directory (as another process) sees it within a second; a reopen
    // keeps it.
    // (Within a second by design: handles re-read the metadata at least that often. The wait
    // here only bounds a hang; a wall-clock bound would flake on a loaded machine.)
    wait_for("the other handle to see the log start", PATIENCE, || {
        other.offsets("t", 0).unwrap().0 == 123
    });
    drop((b, p, c, behind, other));
    let b = broker(dir.path());
    assert_eq!(b.offsets("t", 0).unwrap(), (123, 200));
    // -1 deletes everything; new records still get the next offsets.
    assert_eq!(b.delete_records("t", 0, -1).unwrap(), 200);
    let md = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "after"))
        .unwrap();
    assert_eq!(md.offset, 200);
    assert_eq!(b.offsets("t", 0).unwrap(), (200, 201));
}

/// Writes 3 rounds of values for 200 keys to a compacted topic of small segments in a fresh
/// directory, cleans it with an offset map of `map_bytes` and returns the records removed, the
/// latest value per key read back and how many records are left.
fn compact_many_keys(map_bytes: usize) -> (u64, HashMap<String, String>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let b = strata_broker::Broker::open_with(
        dir.path(),
        strata_broker::BrokerConfig {
            background_cleaner: false,
            cleaner_offset_map_bytes: map_bytes,
            ..strata_broker::BrokerConfig::default()
        },
    )
    .unwrap();
    b.create_topic("t", 1, compacted(0)).unwrap();
    let p = b.producer(ProducerConfig::default());
    for round in 0..3 {
        for k in 0..200 {
            p.send(
                ProducerRecord::new("t", format!("{round}-{k}")).with_key(format!("key-{k:03}")),
            )
            .unwrap();
        }
    }
    let removed = b.run_cleaner().unwrap().records_removed;
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let recs = poll_n(&c, 600 - removed as usize, PATIENCE);
    assert!(recs.windows(2).all(|w| w[1].offset > w[0].offset));
    let mut latest = HashMap::new();
    for r in &recs {
        let k = String::from_utf8(r.key.as_ref().unwrap().to_vec()).unwrap();
        let v = String::from_utf8(r.value.as_ref().unwrap().to_vec()).unwrap();
        latest.insert(k, v);
    }
    (removed, latest, recs.len())
}

#[test]
fn compaction_with_a_small_offset_map_runs_in_passes_and_keeps_the_latest_record_per_key() {
    let (full_removed, full_latest, _) = compact_many_keys(128 << 20);
    // Room for 20 of the 200 keys (7 bytes each): more than ten passes.
    let small = 20 * (7 + strata_broker::OFFSET_MAP_ENTRY_OVERHEAD);
    let (removed, latest, left) = compact_many_keys(small);
    assert_eq!(latest, full_latest, "every key's latest value survives");
    assert_eq!(latest.len(), 200);
    for (k, v) in &latest {
        let n: u32 = k[4..].parse().unwrap();
        assert_eq!(v, &format!("2-{n}"), "key {k}");
    }
    // Every pass maps from where the last one stopped and rewrites everything before: in the
    // end as much goes as with a map that holds every key.
    assert!(full_removed >= 300, "{full_removed}");
    assert_eq!(removed, full_removed);
    assert_eq!(left, 600 - removed as usize);
}
