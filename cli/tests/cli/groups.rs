//! `strata groups list|describe|reset-offsets|delete` on the bundled broker, run as a user runs
//! them, on a temp log directory; and on Kafka (`--bootstrap-servers`) against
//! `strata serve --kafka-listen`.

use std::path::Path;
use std::time::Duration;

use strata_broker::{
    Broker, ConsumerConfig, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition,
};

use crate::harness::{KafkaListener, Run};

/// `strata ARGS --log-dir DIR`.
fn strata(dir: &Path, args: &[&str]) -> Run {
    Run::on_log_dir(dir, args)
}

/// A log with topic `orders` (partition 0: 10 records stamped 0 s, 1 s, ... 9 s; partition 1:
/// 4 records) and group `billing` that committed 3 and 4.
fn setup(log: &Path) -> Broker {
    let broker = Broker::open_or_create(log).unwrap();
    broker
        .create_topic("orders", 2, TopicConfig::default())
        .unwrap();
    let producer = broker.producer(ProducerConfig::default());
    for i in 0..10 {
        producer
            .send(
                ProducerRecord::new("orders", format!("v{i}"))
                    .with_partition(0)
                    .with_timestamp(i * 1000),
            )
            .unwrap();
    }
    for i in 0..4 {
        producer
            .send(ProducerRecord::new("orders", format!("w{i}")).with_partition(1))
            .unwrap();
    }
    let c = broker
        .consumer(ConsumerConfig {
            group_id: Some("billing".into()),
            enable_auto_commit: false,
            ..ConsumerConfig::default()
        })
        .unwrap();
    c.commit_offsets(&[
        (TopicPartition::new("orders", 0), 3),
        (TopicPartition::new("orders", 1), 4),
    ])
    .unwrap();
    broker
}

/// The group's committed offsets, by partition.
fn committed(broker: &Broker) -> Vec<(i32, i64)> {
    let mut out: Vec<(i32, i64)> = broker
        .describe_group("billing")
        .unwrap()
        .offsets
        .iter()
        .map(|o| (o.topic_partition.partition, o.committed))
        .collect();
    out.sort();
    out
}

#[test]
fn groups_list_and_describe_show_members_committed_offsets_end_offsets_and_lag() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let broker = setup(&log);

    let list = strata(&log, &["groups", "list"]).expect(0, "list");
    assert_eq!(list.stdout, "billing\n");
    let list = strata(&log, &["groups", "list", "--output", "json"]).expect(0, "list json");
    assert_eq!(list.json(), serde_json::json!({"groups": ["billing"]}));

    let doc = strata(&log, &["groups", "describe", "billing", "--output", "json"])
        .expect(0, "describe")
        .json();
    assert_eq!(doc["group"], "billing");
    assert_eq!(doc["members"], serde_json::json!([]));
    let mut offsets: Vec<(i64, i64, i64, i64)> = doc["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["partition"].as_i64().unwrap(),
                o["committed_offset"].as_i64().unwrap(),
                o["log_end_offset"].as_i64().unwrap(),
                o["lag"].as_i64().unwrap(),
            )
        })
        .collect();
    offsets.sort();
    assert_eq!(offsets, vec![(0, 3, 10, 7), (1, 4, 4, 0)]);

    // A live member shows with its assignment, and keeps the group from being reset or deleted.
    let member = broker
        .consumer(ConsumerConfig {
            group_id: Some("billing".into()),
            enable_auto_commit: false,
            ..ConsumerConfig::default()
        })
        .unwrap();
    member.subscribe(&["orders"]).unwrap();
    member.poll(Duration::from_millis(200)).unwrap();
    let text = strata(&log, &["groups", "describe", "billing"]).expect(0, "describe text");
    assert!(
        text.stdout.starts_with("Group: billing\tMembers: 1\n")
            && text
                .stdout
                .contains("\tTopics: orders\tAssigned: orders-0,orders-1\n")
            && text.stdout.contains("orders\t0\t3\t10\t7\n"),
        "{}",
        text.stdout
    );
    let refused = strata(
        &log,
        &[
            "groups",
            "reset-offsets",
            "billing",
            "--all-topics",
            "--to-earliest",
            "--execute",
        ],
    )
    .expect(1, "reset with a live member");
    assert!(
        refused.stderr.contains("1 live member(s)"),
        "{}",
        refused.stderr
    );
    strata(&log, &["groups", "delete", "billing"]).expect(1, "delete with a live member");
    assert_eq!(committed(&broker), vec![(0, 3), (1, 4)]);
    drop(member);

    let missing = strata(&log, &["groups", "describe", "nobody"]).expect(1, "unknown group");
    assert!(missing.stderr.contains("nobody"), "{}", missing.stderr);
}

#[test]
fn groups_reset_offsets_is_a_dry_run_until_execute_and_moves_offsets_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let broker = setup(&log);
    let reset = |args: &[&str]| {
        let mut all = vec!["groups", "reset-offsets", "billing"];
        all.extend_from_slice(args);
        strata(&log, &all)
    };

    let dry = reset(&["--topic", "orders", "--to-earliest"]).expect(0, "dry run");
    assert_eq!(
        dry.stdout,
        "GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tNEW-OFFSET\n\
         billing\torders\t0\t3\t0\n\
         billing\torders\t1\t4\t0\n"
    );
    assert!(dry.stderr.contains("add --execute"), "{}", dry.stderr);
    assert_eq!(
        committed(&broker),
        vec![(0, 3), (1, 4)],
        "a dry run changes nothing"
    );

    reset(&["--topic", "orders", "--to-earliest", "--execute"]).expect(0, "earliest");
    assert_eq!(committed(&broker), vec![(0, 0), (1, 0)]);
    reset(&["--all-topics", "--to-latest", "--execute"]).expect(0, "latest");
    assert_eq!(committed(&broker), vec![(0, 10), (1, 4)]);
    reset(&["--all-topics", "--shift-by", "-6", "--execute"]).expect(0, "shift back");
    assert_eq!(
        committed(&broker),
        vec![(0, 4), (1, 0)],
        "kept inside the log"
    );
    // An offset past the end is kept at the end.
    reset(&["--topic", "orders", "--to-offset", "7", "--execute"]).expect(0, "offset");
    assert_eq!(committed(&broker), vec![(0, 7), (1, 4)]);
    reset(&["--topic", "orders", "--to-datetime", "5000", "--execute"]).expect(0, "ms");
    // Partition 1's records were stamped now: its first record is after that time.
    assert_eq!(committed(&broker), vec![(0, 5), (1, 0)]);
    let doc = reset(&[
        "--topic",
        "orders",
        "--to-datetime",
        "1970-01-01T00:00:02Z",
        "--execute",
        "--output",
        "json",
    ])
    .expect(0, "rfc 3339")
    .json();
    assert_eq!(doc["executed"], true);
    assert_eq!(doc["offsets"][0]["current_offset"], 5);
    assert_eq!(doc["offsets"][0]["new_offset"], 2);
    assert_eq!(committed(&broker)[0], (0, 2));

    // Bad requests change nothing.
    reset(&["--topic", "orders", "--execute"]).expect(2, "no target");
    reset(&["--to-earliest", "--execute"]).expect(2, "no scope");
    let bad_time = reset(&[
        "--topic",
        "orders",
        "--to-datetime",
        "yesterday",
        "--execute",
    ])
    .expect(2, "bad time");
    assert!(bad_time.stderr.contains("RFC 3339"), "{}", bad_time.stderr);
    reset(&["--topic", "nope", "--to-earliest", "--execute"]).expect(1, "unknown topic");
    assert_eq!(committed(&broker), vec![(0, 2), (1, 0)]);
}

#[test]
fn groups_delete_removes_a_group_and_refuses_one_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let broker = setup(&log);
    let out =
        strata(&log, &["groups", "delete", "billing", "--output", "json"]).expect(0, "delete");
    assert_eq!(
        out.json(),
        serde_json::json!({"group": "billing", "deleted": true})
    );
    assert!(broker.list_groups().unwrap().is_empty());
    assert_eq!(
        strata(&log, &["groups", "list"]).expect(0, "list").stdout,
        ""
    );
    strata(&log, &["groups", "delete", "billing"]).expect(1, "delete again");

    // With nothing committed there is nothing to shift; the other targets start it afresh.
    let shift = strata(
        &log,
        &[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            "orders",
            "--shift-by",
            "1",
            "--execute",
        ],
    )
    .expect(1, "shift without commits");
    assert!(
        shift.stderr.contains("no committed offset for orders-0"),
        "{}",
        shift.stderr
    );
    assert!(broker.list_groups().unwrap().is_empty());
    strata(
        &log,
        &[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            "orders",
            "--to-offset",
            "2",
            "--execute",
        ],
    )
    .expect(0, "to-offset without commits");
    assert_eq!(committed(&broker), vec![(0, 2), (1, 2)]);
}

/// 10 records to partition 0 and 4 to partition 1 of `orders` on Kafka.
fn produce_on_kafka(servers: &str) {
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    let producer: ThreadedProducer<DefaultProducerContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("broker.address.family", "v4")
        .create()
        .unwrap();
    for (partition, n) in [(0, 10), (1, 4)] {
        for i in 0..n {
            let value = format!("v{i}");
            producer
                .send(
                    BaseRecord::<(), _>::to("orders")
                        .partition(partition)
                        .payload(&value),
                )
                .map_err(|(e, _)| e)
                .unwrap();
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// A member of `billing` on Kafka subscribed to `orders`, polled until it holds partitions.
fn live_member(servers: &str) -> rdkafka::consumer::BaseConsumer {
    use rdkafka::consumer::Consumer;
    let c: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("broker.address.family", "v4")
        .set("group.id", "billing")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    c.subscribe(&["orders"]).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while c.assignment().unwrap().count() == 0 {
        assert!(std::time::Instant::now() < deadline, "never assigned");
        let _ = c.poll(Duration::from_millis(100));
    }
    c
}

#[test]
fn groups_on_kafka_reset_describe_list_and_refuse_while_members_are_live() {
    let kafka = KafkaListener::start();
    kafka
        .strata(&["topics", "create", "orders", "--partitions", "2"])
        .expect(0, "create");
    produce_on_kafka(&kafka.servers);

    // A reset is a dry run until --execute; with it, the group's offsets are committed.
    let dry = kafka.strata(&[
        "groups",
        "reset-offsets",
        "billing",
        "--topic",
        "orders",
        "--to-offset",
        "3",
        "--output",
        "json",
    ]);
    let plan = dry.expect(0, "dry run").json();
    assert_eq!(plan["executed"], false);
    let news: Vec<i64> = plan["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["new_offset"].as_i64().unwrap())
        .collect();
    // Partition 1 holds 4 records: offset 3 is in it.
    assert_eq!(news, vec![3, 3]);
    let described = kafka.strata(&["groups", "describe", "billing"]);
    assert_eq!(
        described.code, 1,
        "nothing committed yet: {}",
        described.stderr
    );
    kafka
        .strata(&[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            "orders",
            "--to-offset",
            "3",
            "--execute",
        ])
        .expect(0, "execute");
    kafka
        .strata(&[
            "groups",
            "reset-offsets",
            "billing",
            "--all-topics",
            "--shift-by",
            "2",
            "--execute",
        ])
        .expect(0, "shift");

    let d = kafka
        .strata(&["groups", "describe", "billing", "--output", "json"])
        .expect(0, "describe")
        .json();
    let offsets: Vec<(i64, i64, i64, i64)> = d["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["partition"].as_i64().unwrap(),
                o["committed_offset"].as_i64().unwrap(),
                o["log_end_offset"].as_i64().unwrap(),
                o["lag"].as_i64().unwrap(),
            )
        })
        .collect();
    // 3 + 2 = 5 of 10; 3 + 2 clamped to the end, 4.
    assert_eq!(offsets, vec![(0, 5, 10, 5), (1, 4, 4, 0)]);
    assert_eq!(d["members"].as_array().unwrap().len(), 0);

    // A live member: describe shows it and what it holds; --execute is refused.
    let member = live_member(&kafka.servers);
    let d = kafka
        .strata(&["groups", "describe", "billing", "--output", "json"])
        .expect(0, "describe live")
        .json();
    let members = d["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{d}");
    assert_eq!(members[0]["topics"], serde_json::json!(["orders"]));
    assert_eq!(members[0]["assignment"].as_array().unwrap().len(), 2, "{d}");
    let text = kafka
        .strata(&["groups", "describe", "billing"])
        .expect(0, "text");
    assert!(text.stdout.contains("orders-0,orders-1"), "{}", text.stdout);
    let list = kafka
        .strata(&["groups", "list", "--output", "json"])
        .expect(0, "list")
        .json();
    assert!(
        list["groups"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("billing")),
        "{list}"
    );
    let refused = kafka.strata(&[
        "groups",
        "reset-offsets",
        "billing",
        "--topic",
        "orders",
        "--to-earliest",
        "--execute",
    ]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("live member"), "{}", refused.stderr);
    drop(member);
}

#[test]
fn groups_delete_on_kafka_deletes_an_idle_group_and_refuses_a_live_or_unknown_one() {
    let kafka = KafkaListener::start();
    let unknown = kafka.strata(&["groups", "delete", "billing"]);
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("group `billing` does not exist"),
        "{}",
        unknown.stderr
    );

    kafka
        .strata(&["topics", "create", "orders", "--partitions", "2"])
        .expect(0, "create");
    produce_on_kafka(&kafka.servers);
    kafka
        .strata(&[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            "orders",
            "--to-offset",
            "3",
            "--execute",
        ])
        .expect(0, "commit offsets");

    // A live member keeps the group and its offsets.
    let member = live_member(&kafka.servers);
    let refused = kafka.strata(&["groups", "delete", "billing"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("group `billing` has live members"),
        "{}",
        refused.stderr
    );
    kafka
        .strata(&["groups", "describe", "billing"])
        .expect(0, "still there");
    drop(member);

    let out = kafka
        .strata(&["groups", "delete", "billing", "--output", "json"])
        .expect(0, "delete once idle");
    assert_eq!(
        out.json(),
        serde_json::json!({"group": "billing", "deleted": true})
    );
    let list = kafka
        .strata(&["groups", "list", "--output", "json"])
        .expect(0, "list")
        .json();
    assert!(
        !list["groups"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("billing")),
        "{list}"
    );
    let broker = Broker::open(&kafka.log).unwrap();
    assert!(
        !broker
            .list_groups()
            .unwrap()
            .contains(&"billing".to_owned()),
        "the committed offsets are gone"
    );
    kafka
        .strata(&["groups", "delete", "billing"])
        .expect(1, "delete again");
}
