//! Producing and consuming: partitioning, timestamps, positions, long polling.

use std::time::{Duration, Instant};

use strata_broker::{
    partition_for_key, Acks, AutoOffsetReset, ConsumerConfig, ProducerConfig, ProducerRecord,
    RecordRef, TimestampType, TopicConfig, TopicPartition,
};

use crate::support::{broker, poll_n, poll_to_end, PATIENCE};

fn earliest() -> ConsumerConfig {
    ConsumerConfig {
        auto_offset_reset: AutoOffsetReset::Earliest,
        ..ConsumerConfig::default()
    }
}

#[test]
fn records_come_back_in_order_with_offsets_keys_values_and_headers() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..10 {
        let md = p
            .send(
                ProducerRecord::new("t", format!("v{i}"))
                    .with_key(format!("k{i}"))
                    .with_header("h", vec![i as u8])
                    .with_timestamp(1000 + i),
            )
            .unwrap();
        assert_eq!(md.offset, i);
        assert_eq!(md.timestamp, 1000 + i);
    }
    p.send(ProducerRecord::tombstone("t", "k0")).unwrap();
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let recs = poll_n(&c, 11, PATIENCE);
    assert_eq!(recs.len(), 11);
    for (i, r) in recs.iter().take(10).enumerate() {
        assert_eq!(r.offset, i as i64);
        assert_eq!(r.key.as_deref(), Some(format!("k{i}").as_bytes()));
        assert_eq!(r.value.as_deref(), Some(format!("v{i}").as_bytes()));
        assert_eq!(r.headers[0].0, "h");
        assert_eq!(r.headers[0].1.as_ref(), &[i as u8]);
        assert_eq!(r.timestamp, 1000 + i as i64);
    }
    assert_eq!(recs[10].value, None, "a tombstone has no value");
    assert_eq!(c.position(&TopicPartition::new("t", 0)).unwrap(), 11);
}

#[test]
fn poll_records_borrows_the_same_records_poll_owns_and_advances_positions_alike() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 2, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    // Keys, null keys, tombstones, headers with null-free and empty values, in several
    // batches on two partitions.
    for i in 0..300i64 {
        let mut r = ProducerRecord::new("t", format!("v{i}"))
            .with_partition((i % 2) as i32)
            .with_timestamp(5000 + i);
        if i % 3 == 0 {
            r = r.with_key(format!("k{i}"));
        }
        if i % 5 == 0 {
            r = r
                .with_header("h", vec![i as u8])
                .with_header("empty", Vec::new());
        }
        if i % 7 == 0 {
            r.value = None;
        }
        p.send(r).unwrap();
    }
    let owned_reader = b
        .consumer(ConsumerConfig {
            max_poll_records: 37,
            ..earliest()
        })
        .unwrap();
    let borrowed_reader = b
        .consumer(ConsumerConfig {
            max_poll_records: 37,
            ..earliest()
        })
        .unwrap();
    let parts = [TopicPartition::new("t", 0), TopicPartition::new("t", 1)];
    owned_reader.assign(&parts).unwrap();
    borrowed_reader.assign(&parts).unwrap();
    let (mut owned, mut borrowed) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(10);
    while (owned.len() < 300 || borrowed.len() < 300) && Instant::now() < deadline {
        let a = owned_reader.poll(Duration::from_millis(50)).unwrap();
        assert!(a.len() <= 37, "max_poll_records holds");
        owned.extend(a);
        let views = borrowed_reader
            .poll_records(Duration::from_millis(50))
            .unwrap();
        assert!(views.len() <= 37, "max_poll_records holds for poll_records");
        assert_eq!(views.iter().count(), views.len());
        for v in views.iter() {
            // A view turns into the same owned record poll returns.
            let headers: Vec<(String, Vec<u8>)> = v
                .headers()
                .map(|(k, v)| (k.to_owned(), v.to_vec()))
                .collect();
            let o = v.to_owned_record();
            assert_eq!(v.header_count(), o.headers.len());
            let owned_headers: Vec<(String, Vec<u8>)> = o
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.to_vec()))
                .collect();
            assert_eq!(headers, owned_headers);
            assert_eq!(v.key, o.key.as_deref());
            assert_eq!(v.value, o.value.as_deref());
            assert_eq!(
                (v.topic, v.partition, v.offset, v.timestamp),
                (&*o.topic, o.partition, o.offset, o.timestamp)
            );
            borrowed.push(o);
        }
    }
    assert_eq!(owned.len(), 300);
    let key = |r: &strata_broker::ConsumerRecord| (r.partition, r.offset);
    owned.sort_by_key(key);
    borrowed.sort_by_key(key);
    assert_eq!(owned, borrowed);
    let with_headers = owned.iter().find(|r| !r.headers.is_empty()).unwrap();
    assert_eq!(with_headers.headers[1].0, "empty");
    assert!(with_headers.headers[1].1.is_empty());
    for tp in &parts {
        assert_eq!(owned_reader.position(tp).unwrap(), 150);
        assert_eq!(borrowed_reader.position(tp).unwrap(), 150);
    }
    // Nothing more, and an into_owned of an empty poll is empty.
    assert!(borrowed_reader
        .poll_records(Duration::from_millis(10))
        .unwrap()
        .into_owned()
        .is_empty());
}

#[test]
fn keyed_records_go_to_the_java_clients_partition_and_explicit_partitions_win() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 6, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    for key in ["21", "foobar", "abc", "a-little-bit-long-string"] {
        let md = p.send(ProducerRecord::new("t", "v").with_key(key)).unwrap();
        assert_eq!(
            md.partition,
            partition_for_key(key.as_bytes(), 6),
            "key {key}"
        );
    }
    // toPositive(murmur2("foobar")) = 1357151166; % 6 = 0.
    assert_eq!(partition_for_key(b"foobar", 6), (1357151166u32 % 6) as i32);
    let md = p
        .send(
            ProducerRecord::new("t", "v")
                .with_key("21")
                .with_partition(5),
        )
        .unwrap();
    assert_eq!(md.partition, 5);
}

#[test]
fn keyless_records_stick_to_one_partition_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 4, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig {
        batch_size: 1000,
        ..ProducerConfig::default()
    });
    let parts: Vec<i32> = (0..40)
        .map(|_| {
            p.send(ProducerRecord::new("t", vec![0u8; 90]))
                .unwrap()
                .partition
        })
        .collect();
    // The partition changes only between runs of several records, never record by record.
    let mut runs = vec![1];
    for w in parts.windows(2) {
        if w[0] == w[1] {
            *runs.last_mut().unwrap() += 1;
        } else {
            runs.push(1);
        }
    }
    assert!(runs.len() >= 3, "the sticky partition moved: {parts:?}");
    assert!(runs[..runs.len() - 1].iter().all(|&r| r >= 3), "{parts:?}");
}

#[test]
fn send_batch_writes_records_in_order_with_consecutive_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 2, TopicConfig::default()).unwrap();
    for acks in [Acks::Leader, Acks::All] {
        let p = b.producer(ProducerConfig {
            acks,
            ..ProducerConfig::default()
        });
        let recs: Vec<_> = (0..1000)
            .map(|i| ProducerRecord::new("t", format!("{i}")).with_partition(i % 2))
            .collect();
        let mds = p.send_batch(recs).unwrap();
        assert_eq!(mds.len(), 1000);
        for w in mds.chunks(2) {
            assert_eq!(w[0].partition, 0);
            assert_eq!(w[1].partition, 1);
        }
        let p0: Vec<i64> = mds
            .iter()
            .filter(|m| m.partition == 0)
            .map(|m| m.offset)
            .collect();
        assert!(p0.windows(2).all(|w| w[1] == w[0] + 1));
    }
    assert_eq!(b.offsets("t", 0).unwrap(), (0, 1000));
}

#[test]
fn send_batch_ref_writes_borrowed_records_in_order_across_partitions_and_batch_splits() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 3, TopicConfig::default()).unwrap();
    for acks in [Acks::Leader, Acks::All] {
        // A small max_message_bytes splits each partition's records into several batches.
        let p = b.producer(ProducerConfig {
            acks,
            max_message_bytes: 1024,
            ..ProducerConfig::default()
        });
        let values: Vec<String> = (0..900).map(|i| format!("value-{i}")).collect();
        let keys: Vec<String> = (0..900).map(|i| format!("key-{i}")).collect();
        let headers: [(&str, &[u8]); 1] = [("h", b"x")];
        let records = values.iter().zip(&keys).enumerate().map(|(i, (v, k))| {
            let r = RecordRef::new(v.as_bytes()).with_key(k.as_bytes());
            match i % 3 {
                0 => r.with_partition(2),
                1 => r.with_headers(&headers).with_timestamp(7),
                _ => r,
            }
        });
        let acked = p.send_batch_ref("t", records).unwrap();
        assert_eq!(acked.len(), 900);
        for (i, a) in acked.iter().enumerate() {
            let want = if i % 3 == 0 {
                2
            } else {
                partition_for_key(keys[i].as_bytes(), 3)
            };
            assert_eq!(a.partition, want, "record {i}");
            if i % 3 == 1 {
                assert_eq!(a.timestamp, 7, "record {i}");
            }
        }
        // Offsets are consecutive per partition, in the caller's order.
        for part in 0..3 {
            let offs: Vec<i64> = acked
                .iter()
                .filter(|a| a.partition == part)
                .map(|a| a.offset)
                .collect();
            assert!(
                offs.windows(2).all(|w| w[1] == w[0] + 1),
                "partition {part}"
            );
        }
        let c = b.consumer(earliest()).unwrap();
        for part in 0..3 {
            let tp = TopicPartition::new("t", part);
            c.assign(std::slice::from_ref(&tp)).unwrap();
            let first = acked.iter().find(|a| a.partition == part).unwrap().offset;
            c.seek(&tp, first).unwrap();
            let mine: Vec<usize> = (0..900).filter(|&i| acked[i].partition == part).collect();
            let recs = poll_n(&c, mine.len(), PATIENCE);
            assert_eq!(recs.len(), mine.len());
            for (r, &i) in recs.iter().zip(&mine) {
                assert_eq!(r.offset, acked[i].offset);
                assert_eq!(r.value.as_deref(), Some(values[i].as_bytes()));
                assert_eq!(r.key.as_deref(), Some(keys[i].as_bytes()));
                assert_eq!(r.headers.len(), usize::from(i % 3 == 1), "record {i}");
            }
        }
    }
}

#[test]
fn send_ref_sends_one_borrowed_record_and_checks_it_like_send() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 2, TopicConfig::default()).unwrap();
    let compacted = TopicConfig {
        cleanup_policy: strata_broker::CleanupPolicy::Compact,
        ..TopicConfig::default()
    };
    b.create_topic("c", 1, compacted).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..5 {
        let pos = p
            .send_ref(
                "t",
                RecordRef::new(b"v").with_partition(1).with_timestamp(i),
            )
            .unwrap();
        assert_eq!((pos.partition, pos.offset, pos.timestamp), (1, i, i));
    }
    assert!(p
        .send_ref("t", RecordRef::new(b"v").with_partition(2))
        .is_err());
    assert!(p.send_ref("nope", RecordRef::new(b"v")).is_err());
    assert!(
        p.send_ref("c", RecordRef::new(b"v")).is_err(),
        "a compacted topic needs keys"
    );
    assert!(p
        .send_batch_ref(
            "c",
            [RecordRef::new(b"v").with_key(b"k"), RecordRef::new(b"v")]
        )
        .is_err());
    let big = vec![0u8; 2 << 20];
    assert!(p.send_ref("t", RecordRef::new(&big)).is_err(), "too large");
    let tomb = p.send_ref("c", RecordRef::tombstone(b"k")).unwrap();
    let c = b.consumer(earliest()).unwrap();
    let tp = TopicPartition::new("c", 0);
    c.assign(std::slice::from_ref(&tp)).unwrap();
    let recs = poll_to_end(&c, &tp, tomb.offset + 1);
    // The batch that failed wrote nothing: its first record was not written either.
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].offset, tomb.offset);
    assert_eq!(recs[0].value, None);
}

#[test]
fn send_batch_ref_with_acks_zero_buffers_until_flush() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig {
        acks: Acks::None,
        linger: Duration::from_secs(60),
        ..ProducerConfig::default()
    });
    let acked = p
        .send_batch_ref("t", (0..10).map(|_| RecordRef::new(b"v")))
        .unwrap();
    assert!(acked.iter().all(|a| a.offset == -1));
    assert_eq!(b.offsets("t", 0).unwrap(), (0, 0));
    p.flush().unwrap();
    assert_eq!(b.offsets("t", 0).unwrap(), (0, 10));
}

#[test]
fn acks_zero_buffers_until_flush_and_reports_offset_minus_one() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig {
        acks: Acks::None,
        linger: Duration::from_secs(3600),
        ..ProducerConfig::default()
    });
    let md = p.send(ProducerRecord::new("t", "x")).unwrap();
    assert_eq!(md.offset, -1);
    assert_eq!(
        b.offsets("t", 0).unwrap().1,
        0,
        "nothing written before flush"
    );
    p.flush().unwrap();
    assert_eq!(b.offsets("t", 0).unwrap().1, 1);
}

#[test]
fn acks_zero_records_are_written_after_linger() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig {
        acks: Acks::None,
        linger: Duration::from_millis(5),
        ..ProducerConfig::default()
    });
    p.send(ProducerRecord::new("t", "x")).unwrap();
    crate::support::wait_for("the linger flush", PATIENCE, || {
        b.offsets("t", 0).unwrap().1 == 1
    });
}

#[test]
fn log_append_time_topics_stamp_records_with_the_broker_clock() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let config = TopicConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..TopicConfig::default()
    };
    b.create_topic("t", 1, config).unwrap();
    let p = b.producer(ProducerConfig::default());
    let md = p
        .send(ProducerRecord::new("t", "x").with_timestamp(5))
        .unwrap();
    assert!(md.timestamp > 1_600_000_000_000, "{}", md.timestamp);
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let recs = poll_n(&c, 1, PATIENCE);
    assert_eq!(recs[0].timestamp, md.timestamp);
}

#[test]
fn latest_reset_skips_old_records_and_earliest_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    p.send(ProducerRecord::new("t", "old")).unwrap();
    let tp = TopicPartition::new("t", 0);
    let latest = b.consumer(ConsumerConfig::default()).unwrap();
    latest.assign(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(latest.position(&tp).unwrap(), 1);
    p.send(ProducerRecord::new("t", "new")).unwrap();
    let recs = poll_n(&latest, 1, PATIENCE);
    assert_eq!(recs[0].value.as_deref(), Some(&b"new"[..]));
    let first = b.consumer(earliest()).unwrap();
    first.assign(&[tp]).unwrap();
    assert_eq!(poll_n(&first, 2, PATIENCE).len(), 2);
}

#[test]
fn seek_and_offsets_for_times_find_the_right_records() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    let recs: Vec<_> = (0..5000)
        .map(|i| ProducerRecord::new("t", vec![1u8; 50]).with_timestamp(10_000 + i * 10))
        .collect();
    for chunk in recs.chunks(37) {
        p.send_batch(chunk.to_vec()).unwrap();
    }
    let tp = TopicPartition::new("t", 0);
    let c = b.consumer(earliest()).unwrap();
    c.assign(std::slice::from_ref(&tp)).unwrap();
    let found = c
        .offsets_for_times(&[
            (tp.clone(), 10_000 + 3333 * 10 - 5),
            (tp.clone(), 999_999_999),
        ])
        .unwrap();
    assert_eq!(found[0].unwrap().offset, 3333);
    assert_eq!(found[0].unwrap().timestamp, 10_000 + 3333 * 10);
    assert_eq!(found[1], None);
    c.seek(&tp, 4321).unwrap();
    let got = poll_n(&c, 1, PATIENCE);
    assert_eq!(got[0].offset, 4321);
}

#[test]
fn a_long_poll_wakes_as_soon_as_a_record_is_produced() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let producer = b.producer(ProducerConfig::default());
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        producer.send(ProducerRecord::new("t", "wake")).unwrap();
    });
    // Woken by the record, not by the end of a long timeout: only a wait of the whole
    // timeout fails, however loaded the machine.
    let start = Instant::now();
    let recs = c.poll(Duration::from_secs(120)).unwrap();
    t.join().unwrap();
    assert_eq!(recs.len(), 1);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn an_empty_poll_returns_after_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let start = Instant::now();
    assert!(c.poll(Duration::from_millis(100)).unwrap().is_empty());
    assert!(start.elapsed() >= Duration::from_millis(100));
}

#[test]
fn records_span_segment_rolls_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = broker(dir.path());
        let config = TopicConfig {
            segment_bytes: 4096,
            ..TopicConfig::default()
        };
        b.create_topic("t", 1, config).unwrap();
        let p = b.producer(ProducerConfig::default());
        for i in 0..300 {
            p.send(ProducerRecord::new("t", format!("{i:0100}")))
                .unwrap();
        }
        assert!(b.describe_topic("t").unwrap().partitions[0].segments > 5);
    }
    let b = broker(dir.path());
    let p = b.producer(ProducerConfig::default());
    assert_eq!(
        p.send(ProducerRecord::new("t", "after")).unwrap().offset,
        300
    );
    let c = b.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let recs = poll_n(&c, 301, PATIENCE);
    assert_eq!(recs.len(), 301);
    assert!(recs.iter().enumerate().all(|(i, r)| r.offset == i as i64));
    assert_eq!(
        recs[299].value.as_deref(),
        Some(format!("{:0100}", 299).as_bytes())
    );
}

#[test]
fn producers_on_many_threads_get_distinct_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let p = b.producer(ProducerConfig {
                acks: Acks::All,
                ..ProducerConfig::default()
            });
            std::thread::spawn(move || {
                (0..50)
                    .map(|_| p.send(ProducerRecord::new("t", "x")).unwrap().offset)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..200).collect::<Vec<_>>());
}

#[test]
fn two_broker_handles_on_one_directory_take_turns_writing_a_partition() {
    let dir = tempfile::tempdir().unwrap();
    let b1 = broker(dir.path());
    b1.create_topic("t", 1, TopicConfig::default()).unwrap();
    let b2 = broker(dir.path());
    let threads: Vec<_> = [b1.clone(), b2]
        .into_iter()
        .map(|b| {
            std::thread::spawn(move || {
                let p = b.producer(ProducerConfig::default());
                (0..200)
                    .map(|i| {
                        p.send(ProducerRecord::new("t", format!("{i}")))
                            .unwrap()
                            .offset
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut offsets: Vec<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    offsets.sort_unstable();
    assert_eq!(
        offsets,
        (0..400).collect::<Vec<_>>(),
        "no offset given twice"
    );
    let c = b1.consumer(earliest()).unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    assert_eq!(poll_n(&c, 400, PATIENCE).len(), 400);
}

#[test]
fn paused_partitions_return_nothing_until_resumed_and_keep_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 2, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    for i in 0..20 {
        p.send(ProducerRecord::new("t", format!("{i}")).with_partition(i % 2))
            .unwrap();
    }
    let (t0, t1) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
    let c = b
        .consumer(ConsumerConfig {
            max_poll_records: 4,
            ..earliest()
        })
        .unwrap();
    c.assign(&[t0.clone(), t1.clone()]).unwrap();
    // Some records of partition 0 get fetched and buffered before the pause.
    let first = c.poll(Duration::from_secs(1)).unwrap();
    assert!(!first.is_empty());
    c.pause(std::slice::from_ref(&t0)).unwrap();
    assert_eq!(c.paused(), vec![t0.clone()]);
    let mut rest = Vec::new();
    for _ in 0..10 {
        rest.extend(c.poll(Duration::from_millis(20)).unwrap());
    }
    assert!(
        rest.iter().all(|r| r.partition == 1),
        "nothing from a paused partition"
    );
    let seen0 = first.iter().filter(|r| r.partition == 0).count() as i64;
    assert_eq!(c.position(&t0).unwrap(), seen0, "the paused position stays");
    assert!(
        c.pause(&[TopicPartition::new("t", 7)]).is_err(),
        "not assigned"
    );
    c.resume(std::slice::from_ref(&t0)).unwrap();
    assert!(c.paused().is_empty());
    let after = poll_n(&c, (10 - seen0) as usize, PATIENCE);
    let offsets: Vec<i64> = after
        .iter()
        .filter(|r| r.partition == 0)
        .map(|r| r.offset)
        .collect();
    assert_eq!(
        offsets,
        (seen0..10).collect::<Vec<_>>(),
        "resumed where it stopped"
    );
}
