//! Processes killed with SIGKILL: a producer, a compaction run, a group member. The child side
//! is `child_entry`, run by re-executing this test binary.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use strata_broker::{
    Acks, AutoOffsetReset, ConsumerConfig, ProducerConfig, ProducerRecord, TopicConfig,
    TopicPartition,
};

use crate::support::{broker, poll_n, poll_to_end, spawn_child, wait_for, PATIENCE};

/// The child side of the kill tests; does nothing in a normal test run.
#[test]
#[ignore = "run only as a child process by the kill tests"]
fn child_entry() {
    let Ok(mode) = std::env::var("STRATA_BROKER_CHILD") else {
        return;
    };
    let dir = PathBuf::from(std::env::var("STRATA_BROKER_CHILD_DIR").unwrap());
    match mode.as_str() {
        "produce" => child_produce(&dir),
        "clean" => {
            broker(&dir).run_cleaner().unwrap();
        }
        "group" => child_group_member(&dir),
        "hog" => {
            // Appends as fast as it can, holding the partition's writer lease as long as it may.
            let p = broker(&dir).producer(ProducerConfig::default());
            for i in 0u64.. {
                p.send(ProducerRecord::new("t", format!("hog-{i}")).with_partition(0))
                    .unwrap();
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn child_produce(dir: &Path) {
    use std::io::Write;
    let b = broker(dir);
    let all = b.producer(ProducerConfig {
        acks: Acks::All,
        ..ProducerConfig::default()
    });
    let one = b.producer(ProducerConfig::default());
    let name = std::env::var("STRATA_BROKER_ACK_FILE").unwrap_or_else(|_| "acked.txt".into());
    let mut out = std::fs::File::create(dir.join(&name)).unwrap();
    for i in 0u64.. {
        // Large acks=1 batches in between make a kill in the middle of a write likely.
        let batch: Vec<_> = (0..50)
            .map(|_| ProducerRecord::new("t", vec![0xab; 2000]))
            .collect();
        one.send_batch(batch).unwrap();
        let md = all
            .send(ProducerRecord::new("t", format!("acked-{name}-{i}")).with_key("k"))
            .unwrap();
        // One write per line, so a kill leaves whole lines (and at most a partial last one).
        out.write_all(format!("{} {}\n", md.offset, i).as_bytes())
            .unwrap();
    }
}

/// Every record read back is one `child_produce` wrote whole: a 2,000-byte filler or an
/// acknowledged marker.
fn assert_no_torn_record(recs: &[strata_broker::ConsumerRecord]) {
    for r in recs {
        let v = r.value.as_deref().unwrap();
        assert!(
            v == [0xab; 2000] || v.starts_with(b"acked-"),
            "torn record at {}",
            r.offset
        );
    }
}

fn child_group_member(dir: &Path) {
    use std::io::Write;
    let b = broker(dir);
    let c = b
        .consumer(ConsumerConfig {
            group_id: Some("g".into()),
            auto_offset_reset: AutoOffsetReset::Earliest,
            enable_auto_commit: false,
            ..ConsumerConfig::default()
        })
        .unwrap();
    c.subscribe(&["t"]).unwrap();
    let path = dir.join("child-assignment");
    let tmp = dir.join("child-assignment.tmp");
    let mut last = usize::MAX;
    loop {
        c.poll(Duration::from_millis(20)).unwrap();
        c.commit().unwrap();
        let n = c.assignment().len();
        if n != last {
            let mut f = std::fs::File::create(&tmp).unwrap();
            f.write_all(n.to_string().as_bytes()).unwrap();
            drop(f);
            std::fs::rename(&tmp, &path).unwrap();
            last = n;
        }
    }
}

#[test]
fn a_producer_killed_mid_loop_loses_nothing_acknowledged_with_acks_all() {
    let dir = tempfile::tempdir().unwrap();
    broker(dir.path())
        .create_topic(
            "t",
            1,
            TopicConfig {
                segment_bytes: 256 * 1024,
                ..TopicConfig::default()
            },
        )
        .unwrap();
    let mut child = spawn_child("produce", dir.path(), &[]);
    let acked_path = dir.path().join("acked.txt");
    let read_acked = || -> Vec<(i64, u64)> {
        let text = std::fs::read_to_string(&acked_path).unwrap_or_default();
        text.split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| {
                let mut it = l.trim_end().split(' ');
                (
                    it.next().unwrap().parse().unwrap(),
                    it.next().unwrap().parse().unwrap(),
                )
            })
            .collect()
    };
    wait_for("40 acknowledged records", PATIENCE, || {
        read_acked().len() >= 40
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let acked = read_acked();

    let b = broker(dir.path());
    let end = b.offsets("t", 0).unwrap().1;
    let c = b
        .consumer(ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::Earliest,
            max_poll_records: 100_000,
            ..ConsumerConfig::default()
        })
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    c.assign(std::slice::from_ref(&tp)).unwrap();
    let recs = poll_to_end(&c, &tp, end);
    assert_eq!(
        recs.len() as i64,
        end,
        "every record up to the end is readable"
    );
    let by_offset: HashMap<i64, _> = recs.iter().map(|r| (r.offset, r)).collect();
    for (offset, i) in &acked {
        let r = by_offset
            .get(offset)
            .unwrap_or_else(|| panic!("acked offset {offset} lost"));
        assert_eq!(
            r.value.as_deref(),
            Some(format!("acked-acked.txt-{i}").as_bytes())
        );
    }
    assert_no_torn_record(&recs);
    // The log takes new writes after every offset handed out. When the kill tore a batch,
    // the offsets its header claims (at most one batch of 50) may have been handed out and
    // stay used: the log goes on after them, with a gap, and never gives them again.
    let md = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "after"))
        .unwrap();
    assert!(
        (end..=end + 50).contains(&md.offset),
        "the next offset {} is the log end {end} or just after a torn batch's claim",
        md.offset
    );
    assert_eq!(b.offsets("t", 0).unwrap().1, md.offset + 1);
    if let Some(max_acked) = acked.iter().map(|(o, _)| *o).max() {
        assert!(
            md.offset > max_acked,
            "an acknowledged offset is never reused"
        );
    }
}

fn compaction_killed_at(point: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut latest = HashMap::new();
    {
        let b = broker(dir.path());
        let mut config = TopicConfig {
            segment_bytes: 2048,
            ..TopicConfig::default()
        };
        config.set("cleanup.policy", "compact").unwrap();
        b.create_topic("t", 1, config).unwrap();
        let p = b.producer(ProducerConfig::default());
        for i in 0..200i64 {
            let key = format!("k{}", i % 7);
            p.send(ProducerRecord::new("t", format!("{i:040}")).with_key(key.clone()))
                .unwrap();
            latest.insert(key, i);
        }
    }
    let mut child = spawn_child("clean", dir.path(), &[("STRATA_BROKER_PAUSE_AT", point)]);
    let marker = dir.path().join(format!("topics/t/0/paused-{point}"));
    wait_for("the cleaner to reach the kill point", PATIENCE, || {
        marker.exists()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(&marker).unwrap();

    let b = broker(dir.path());
    let check = |label: &str| {
        let c = b
            .consumer(ConsumerConfig {
                auto_offset_reset: AutoOffsetReset::Earliest,
                max_poll_records: 10_000,
                ..ConsumerConfig::default()
            })
            .unwrap();
        let tp = TopicPartition::new("t", 0);
        c.assign(std::slice::from_ref(&tp)).unwrap();
        // Compaction keeps offsets: the log still ends at 200, with fewer records.
        let recs = poll_to_end(&c, &tp, 200);
        assert!(
            recs.windows(2).all(|w| w[0].offset < w[1].offset),
            "{label}: offsets increase without duplicates"
        );
        let mut seen = HashMap::new();
        for r in &recs {
            assert_eq!(
                r.value.as_deref(),
                Some(format!("{:040}", r.offset).as_bytes())
            );
            seen.insert(
                String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap(),
                r.offset,
            );
        }
        assert_eq!(
            seen, latest,
            "{label}: the latest record of every key is there"
        );
        recs.len()
    };
    check("right after the kill");
    b.run_cleaner().unwrap();
    let after = check("after the next cleaner run");
    assert!(
        after < 60,
        "the next run finished the compaction ({after} records)"
    );
    let names: HashSet<String> = std::fs::read_dir(dir.path().join("topics/t/0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names
        .iter()
        .any(|n| n.ends_with(".cleaned") || n == "cleaner.journal"));
}

#[test]
fn a_compaction_killed_after_its_journal_is_finished_by_the_next_run() {
    compaction_killed_at("compaction-after-journal");
}

#[test]
fn a_compaction_killed_after_its_rename_is_finished_by_the_next_run() {
    compaction_killed_at("compaction-after-rename");
}

#[test]
fn a_killed_group_member_has_its_partitions_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 4, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..40 {
        p.send(ProducerRecord::new("t", "before").with_partition(i % 4))
            .unwrap();
    }
    let mut child = spawn_child("group", dir.path(), &[]);
    let child_assignment =
        || std::fs::read_to_string(dir.path().join("child-assignment")).unwrap_or_default();
    let me = b
        .consumer(ConsumerConfig {
            group_id: Some("g".into()),
            auto_offset_reset: AutoOffsetReset::Earliest,
            enable_auto_commit: false,
            ..ConsumerConfig::default()
        })
        .unwrap();
    // Wait for the child to be a member before joining, then for the split.
    wait_for("the child to join", PATIENCE, || {
        !child_assignment().is_empty()
    });
    me.subscribe(&["t"]).unwrap();
    let mut got = Vec::new();
    wait_for("an even split", PATIENCE, || {
        got.extend(me.poll(Duration::from_millis(10)).unwrap());
        me.assignment().len() == 2 && child_assignment() == "2"
    });
    me.commit().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for("the takeover", PATIENCE, || {
        got.extend(me.poll(Duration::from_millis(10)).unwrap());
        me.assignment().len() == 4
    });
    for i in 0..40 {
        p.send(ProducerRecord::new("t", "after").with_partition(i % 4))
            .unwrap();
    }
    let deadline = std::time::Instant::now() + PATIENCE;
    while got
        .iter()
        .filter(|r| r.value.as_deref() == Some(&b"after"[..]))
        .count()
        < 40
    {
        assert!(
            std::time::Instant::now() < deadline,
            "records after the kill not delivered"
        );
        got.extend(me.poll(Duration::from_millis(20)).unwrap());
    }
    me.commit().unwrap();
    // Every record of every partition was delivered to one of the two members: the group's
    // committed offsets cover the whole log.
    let d = b.describe_group("g").unwrap();
    assert_eq!(d.offsets.len(), 4);
    assert!(
        d.offsets.iter().all(|o| o.committed == 20 && o.lag == 0),
        "{:?}",
        d.offsets
    );
}

#[test]
fn a_consumer_sees_records_another_process_is_producing() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let c = b
        .consumer(ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::Earliest,
            ..ConsumerConfig::default()
        })
        .unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let mut child = spawn_child("produce", dir.path(), &[]);
    // The first poll starts before the child has written anything: it must wake up on the
    // child's records without any append in this process.
    let recs = poll_n(&c, 100, PATIENCE);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(recs.len() >= 100, "got {} records", recs.len());
    assert!(recs.windows(2).all(|w| w[1].offset == w[0].offset + 1));
}

#[test]
fn two_processes_producing_to_one_partition_take_turns_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    broker(dir.path())
        .create_topic("t", 1, TopicConfig::default())
        .unwrap();
    let names = ["a.txt", "b.txt"];
    let mut children: Vec<_> = names
        .iter()
        .map(|n| spawn_child("produce", dir.path(), &[("STRATA_BROKER_ACK_FILE", n)]))
        .collect();
    let read = |name: &str| -> Vec<(i64, u64)> {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
        text.split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| {
                let mut it = l.trim_end().split(' ');
                (
                    it.next().unwrap().parse().unwrap(),
                    it.next().unwrap().parse().unwrap(),
                )
            })
            .collect()
    };
    wait_for("both producers to make progress", PATIENCE, || {
        names.iter().all(|n| read(n).len() >= 20)
    });
    for c in &mut children {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    let b = broker(dir.path());
    let end = b.offsets("t", 0).unwrap().1;
    let c = b
        .consumer(ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::Earliest,
            max_poll_records: 100_000,
            ..ConsumerConfig::default()
        })
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    c.assign(std::slice::from_ref(&tp)).unwrap();
    let recs = poll_to_end(&c, &tp, end);
    // The first kill may tear a batch that the other process, still running, then cuts off;
    // the offsets its header claimed stay handed out (see the test above), so the log may
    // have one gap of at most one batch (50). Otherwise every offset holds a whole record.
    let gaps: Vec<(i64, i64)> = recs
        .windows(2)
        .filter(|w| w[1].offset != w[0].offset + 1)
        .map(|w| (w[0].offset, w[1].offset))
        .collect();
    assert!(
        recs.first().is_none_or(|r| r.offset == 0),
        "the log starts at 0"
    );
    assert!(
        gaps.len() <= 1 && gaps.iter().all(|(a, b)| a < b && b - a <= 51),
        "offsets increase with at most one torn batch's claim skipped: {gaps:?}"
    );
    assert_no_torn_record(&recs);
    let by_offset: HashMap<i64, _> = recs.iter().map(|r| (r.offset, r)).collect();
    for name in names {
        for (offset, i) in read(name) {
            let r = by_offset
                .get(&offset)
                .unwrap_or_else(|| panic!("{name}: acked offset {offset} lost"));
            assert_eq!(
                r.value.as_deref(),
                Some(format!("acked-{name}-{i}").as_bytes())
            );
        }
    }
}

#[test]
fn a_writer_waiting_for_the_lock_gets_turns_while_another_process_appends_nonstop() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let mut child = spawn_child("hog", dir.path(), &[]);
    wait_for("the other process to append", PATIENCE, || {
        b.offsets("t", 0).unwrap().1 > 1000
    });
    // Every send here has to take the writer lock from a process that never stops appending;
    // sending for much longer than a lease (20 ms) means the lock must change hands. The
    // sends go on until the other process has appended between them three times (about
    // every lease, 20 ms, when measured), however slowly a loaded machine runs them.
    let p = b.producer(ProducerConfig::default());
    let mut slowest = Duration::ZERO;
    let mut mine: Vec<i64> = Vec::new();
    let between = |mine: &[i64]| mine.windows(2).filter(|w| w[1] > w[0] + 1).count();
    let start = std::time::Instant::now();
    for i in 0.. {
        if between(&mine) >= 3 {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the lock went to the other process only {} times in {} sends",
            between(&mine),
            mine.len()
        );
        let t = std::time::Instant::now();
        let md = p
            .send(ProducerRecord::new("t", format!("mine-{i}")).with_partition(0))
            .unwrap();
        slowest = slowest.max(t.elapsed());
        mine.push(md.offset);
    }
    let took = start.elapsed();
    // Then this process stops appending: its lease lapses and the other process goes on.
    let my_last = *mine.last().unwrap();
    wait_for("the other process to append again", PATIENCE, || {
        b.offsets("t", 0).unwrap().1 > my_last + 1000
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // A liveness bound (no send starves behind the other process), generous because the
    // machine may be loaded; the hand-overs counted above are the deterministic check.
    assert!(
        slowest < Duration::from_secs(30),
        "a send waited {slowest:?} for the writer lock ({} sends took {took:?})",
        mine.len()
    );
}
