//! Bad input and faults: each is a clear error and leaves the log readable.

use std::fs::OpenOptions;
use std::io::Write;
use std::time::Duration;

use strata_broker::{
    AutoOffsetReset, Broker, ConsumerConfig, Error, ProducerConfig, ProducerRecord, TopicConfig,
    TopicPartition,
};

use crate::support::{broker, poll_n, PATIENCE};

fn earliest() -> ConsumerConfig {
    ConsumerConfig {
        auto_offset_reset: AutoOffsetReset::Earliest,
        ..ConsumerConfig::default()
    }
}

#[test]
fn a_missing_directory_or_a_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let e = Broker::open(&missing).unwrap_err();
    assert!(matches!(e, Error::Directory { .. }), "{e}");
    assert!(e.to_string().contains("nope"), "{e}");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let e = Broker::open(&file).unwrap_err();
    assert!(e.to_string().contains("not a directory"), "{e}");
}

#[test]
fn a_record_larger_than_max_message_bytes_is_rejected_and_the_log_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let mut config = TopicConfig::default();
    config.set("max.message.bytes", "1000").unwrap();
    b.create_topic("t", 1, config).unwrap();
    let p = b.producer(ProducerConfig::default());
    p.send(ProducerRecord::new("t", "small")).unwrap();
    let e = p
        .send(ProducerRecord::new("t", vec![0u8; 2000]))
        .unwrap_err();
    assert!(matches!(e, Error::RecordTooLarge { max: 1000, .. }), "{e}");
    assert!(e.to_string().contains("max.message.bytes"), "{e}");
    p.send(ProducerRecord::new("t", "after")).unwrap();
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let recs = poll_n(&c, 2, PATIENCE);
    assert_eq!(
        recs.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![0, 1]
    );
}

#[test]
fn unknown_topics_and_partitions_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 2, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    let e = p.send(ProducerRecord::new("nope", "x")).unwrap_err();
    assert!(matches!(e, Error::UnknownTopic { .. }), "{e}");
    let e = p
        .send(ProducerRecord::new("t", "x").with_partition(2))
        .unwrap_err();
    assert!(
        matches!(e, Error::UnknownPartition { partitions: 2, .. }),
        "{e}"
    );
    let c = b.consumer(earliest()).unwrap();
    let e = c.assign(&[TopicPartition::new("nope", 0)]).unwrap_err();
    assert!(matches!(e, Error::UnknownTopic { .. }), "{e}");
}

#[test]
fn an_out_of_range_offset_errors_without_a_reset_policy_and_resets_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    b.producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "x"))
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    let strict = b
        .consumer(ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::None,
            ..ConsumerConfig::default()
        })
        .unwrap();
    strict.assign(std::slice::from_ref(&tp)).unwrap();
    strict.seek(&tp, 50).unwrap();
    let e = strict.poll(Duration::from_millis(10)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OffsetOutOfRange {
                offset: 50,
                log_end: 1,
                ..
            }
        ),
        "{e}"
    );
    let lenient = b.consumer(earliest()).unwrap();
    lenient.assign(std::slice::from_ref(&tp)).unwrap();
    lenient.seek(&tp, 50).unwrap();
    let recs = poll_n(&lenient, 1, PATIENCE);
    assert_eq!(recs[0].offset, 0);
}

#[test]
fn compacted_topics_reject_records_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let mut config = TopicConfig::default();
    config.set("cleanup.policy", "compact").unwrap();
    b.create_topic("t", 1, config).unwrap();
    let e = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "x"))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidRecord { .. }), "{e}");
}

fn segment_path(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("topics/t/0/00000000000000000000.log")
}

#[test]
fn a_torn_tail_is_never_served_and_is_truncated_by_the_next_writer() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = broker(dir.path());
        b.create_topic("t", 1, TopicConfig::default()).unwrap();
        let p = b.producer(ProducerConfig::default());
        for i in 0..3 {
            p.send(ProducerRecord::new("t", format!("v{i}"))).unwrap();
        }
    }
    let seg = segment_path(dir.path());
    let good_len = std::fs::metadata(&seg).unwrap().len();
    // Half of a batch: a length that promises more than is there.
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 1, 0, 0]).unwrap();
    drop(f);
    let b = broker(dir.path());
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let recs = poll_n(&c, 3, PATIENCE);
    assert_eq!(recs.len(), 3);
    assert!(c.poll(Duration::from_millis(30)).unwrap().is_empty());
    assert_eq!(b.offsets("t", 0).unwrap().1, 3);
    let md = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "v3"))
        .unwrap();
    assert_eq!(md.offset, 3);
    assert!(std::fs::metadata(&seg).unwrap().len() > good_len);
    let recs = poll_n(&c, 1, PATIENCE);
    assert_eq!(recs[0].value.as_deref(), Some(&b"v3"[..]));
}

#[test]
fn a_damaged_final_batch_is_not_served_and_its_offset_is_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = broker(dir.path());
        b.create_topic("t", 1, TopicConfig::default()).unwrap();
        let p = b.producer(ProducerConfig::default());
        p.send(ProducerRecord::new("t", "good")).unwrap();
        p.send(ProducerRecord::new("t", "flipped")).unwrap();
    }
    let seg = segment_path(dir.path());
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let b = broker(dir.path());
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let mut recs = poll_n(&c, 1, PATIENCE);
    // Nothing after it: the flipped batch is not served.
    recs.extend(c.poll(Duration::from_millis(300)).unwrap());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].value.as_deref(), Some(&b"good"[..]));
    // The next writer cuts the torn batch off; its offset may have been acknowledged
    // (acks=1) and read, so it is not given again.
    let md = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "again"))
        .unwrap();
    assert_eq!(md.offset, 2);
    let recs = poll_n(&c, 1, PATIENCE);
    assert_eq!(recs[0].offset, 2);
    assert_eq!(recs[0].value.as_deref(), Some(&b"again"[..]));
}

/// Mounts a 256 KiB tmpfs; `None` (and the test is skipped) where mounting is not allowed.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_is_a_clear_error_and_leaves_the_log_readable() {
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let root = disk.dir.path().join("log");
    let acked = {
        let b = broker(&root);
        b.create_topic("t", 1, TopicConfig::default()).unwrap();
        let p = b.producer(ProducerConfig::default());
        let mut acked = 0;
        let err = loop {
            match p.send(ProducerRecord::new("t", vec![7u8; 3000])) {
                Ok(md) => {
                    assert_eq!(md.offset, acked);
                    acked += 1;
                }
                Err(e) => break e,
            }
            assert!(acked < 10_000, "the disk never filled");
        };
        assert!(matches!(err, Error::DiskFull { .. }), "{err}");
        assert!(err.to_string().contains("full"), "{err}");
        acked
    };
    let b = broker(&root);
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let recs = poll_n(&c, acked as usize, PATIENCE);
    assert_eq!(recs.len() as i64, acked);
    assert!(recs
        .iter()
        .all(|r| r.value.as_deref() == Some(&[7u8; 3000][..])));
    drop(c);
    drop(b);
}

mod torn_tails {
    use super::*;
    use proptest::prelude::*;

    fn last_segment(root: &std::path::Path) -> std::path::PathBuf {
        let dir = root.join("topics/t/0");
        let mut logs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        logs.pop().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn after_any_damage_to_the_tail_a_prefix_is_served_and_no_offset_is_reused(
            sizes in proptest::collection::vec(0usize..300, 1..60),
            cut in 0u64..400,
            flip in proptest::option::of(0u64..400),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let values: Vec<Vec<u8>> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| vec![i as u8; n])
                .collect();
            {
                let b = broker(dir.path());
                b.create_topic("t", 1, TopicConfig { segment_bytes: 4096, ..TopicConfig::default() })
                    .unwrap();
                let p = b.producer(ProducerConfig::default());
                for v in &values {
                    p.send(ProducerRecord::new("t", v.clone())).unwrap();
                }
            }
            let seg = last_segment(dir.path());
            let len = std::fs::metadata(&seg).unwrap().len();
            let mut bytes = std::fs::read(&seg).unwrap();
            bytes.truncate(len.saturating_sub(cut) as usize);
            if let Some(back) = flip {
                if let Some(i) = bytes.len().checked_sub(1 + back as usize) {
                    bytes[i] ^= 0x55;
                }
            }
            std::fs::write(&seg, &bytes).unwrap();

            let b = broker(dir.path());
            let c = b.consumer(earliest()).unwrap();
            c.assign(&[TopicPartition::new("t", 0)]).unwrap();
            let mut got = Vec::new();
            let mut corrupt = None;
            loop {
                match c.poll(Duration::from_millis(20)) {
                    Ok(more) if more.is_empty() => break,
                    Ok(more) => got.extend(more),
                    Err(e) => {
                        corrupt = Some(e);
                        break;
                    }
                }
            }
            // Whatever is served is the records written, in order, with their offsets.
            for (i, r) in got.iter().enumerate() {
                prop_assert_eq!(r.offset, i as i64);
                prop_assert_eq!(r.value.as_deref(), Some(values[i].as_slice()));
            }
            let sent = b.producer(ProducerConfig::default())
                .send(ProducerRecord::new("t", "resumed"));
            match corrupt {
                // Damage with intact batches after it: reported, and appends are refused.
                Some(e) => {
                    let is_corrupt = matches!(e, Error::Corrupt { .. });
                    prop_assert!(is_corrupt, "{}", e);
                    let refused = matches!(sent, Err(Error::Corrupt { .. }));
                    prop_assert!(refused, "{:?}", sent);
                }
                // A torn tail: cut off, and writing resumes after every offset served or
                // claimed, never before.
                None => {
                    let md = sent.unwrap();
                    prop_assert!(md.offset >= got.len() as i64);
                    prop_assert!(md.offset <= values.len() as i64);
                    let after = poll_n(&c, 1, PATIENCE);
                    prop_assert_eq!(after[0].offset, md.offset);
                    prop_assert_eq!(after[0].value.as_deref(), Some(&b"resumed"[..]));
                }
            }
        }
    }
}
