//! DeleteGroups and the legacy AlterConfigs through librdkafka's AdminClient, and OffsetCommit
//! while a group rebalances (raw frames, to stop the group in each phase).

use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, ApiKey, GroupId, HeartbeatRequest,
    HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, OffsetCommitRequest,
    OffsetCommitResponse, SyncGroupRequest, SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminClient, AdminOptions, AlterConfig, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use strata_broker::{CleanupPolicy, ConsumerConfig, TopicConfig, TopicPartition};

use crate::frames::{connect, receive, send};
use crate::support::TestBroker;

fn admin(tb: &TestBroker) -> (AdminClient<DefaultClientContext>, tokio::runtime::Runtime) {
    let admin = tb.client_config().create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (admin, rt)
}

fn opts() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))
}

/// The broker-side committed offset of `group` on `topic`-0.
fn committed(tb: &TestBroker, group: &str, topic: &str) -> Option<i64> {
    tb.broker
        .consumer(ConsumerConfig {
            group_id: Some(group.to_owned()),
            enable_auto_commit: false,
            ..ConsumerConfig::default()
        })
        .unwrap()
        .committed(&TopicPartition::new(topic, 0))
        .unwrap()
}

fn group_consumer(tb: &TestBroker, group: &str) -> BaseConsumer {
    tb.client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap()
}

#[test]
fn delete_groups_removes_an_idle_groups_offsets_and_refuses_live_or_unknown_groups() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("orders", 1, TopicConfig::default())
        .unwrap();
    // A client that assigns itself commits offset 7 for `billing`.
    let c = group_consumer(&tb, "billing");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("orders", 0, Offset::Offset(7))
        .unwrap();
    c.commit(&tpl, CommitMode::Sync).unwrap();
    assert_eq!(committed(&tb, "billing", "orders"), Some(7));
    let listed = |c: &BaseConsumer| -> Vec<String> {
        c.fetch_group_list(None, Duration::from_secs(10))
            .unwrap()
            .groups()
            .iter()
            .map(|g| g.name().to_owned())
            .collect()
    };
    assert!(listed(&c).contains(&"billing".to_owned()));

    // A live member keeps the group.
    let member = group_consumer(&tb, "busy");
    member.subscribe(&["orders"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while member.assignment().unwrap().count() == 0 {
        assert!(Instant::now() < deadline, "never assigned");
        let _ = member.poll(Duration::from_millis(100));
    }

    let (admin, rt) = admin(&tb);
    rt.block_on(async {
        let r = admin.delete_groups(&["billing"], &opts()).await.unwrap();
        assert_eq!(r, vec![Ok("billing".to_owned())]);
        let r = admin.delete_groups(&["billing"], &opts()).await.unwrap();
        assert_eq!(
            r,
            vec![Err((
                "billing".to_owned(),
                RDKafkaErrorCode::GroupIdNotFound
            ))],
            "deleting it again: GROUP_ID_NOT_FOUND"
        );
        let r = admin.delete_groups(&["busy"], &opts()).await.unwrap();
        assert_eq!(
            r,
            vec![Err(("busy".to_owned(), RDKafkaErrorCode::NonEmptyGroup))]
        );
    });
    assert_eq!(committed(&tb, "billing", "orders"), None);
    assert!(!listed(&c).contains(&"billing".to_owned()), "ListGroups");
    let fetched = c
        .committed_offsets(tpl.clone(), Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        fetched.find_partition("orders", 0).unwrap().offset(),
        Offset::Invalid,
        "OffsetFetch has nothing for the deleted group"
    );
    assert!(
        listed(&c).contains(&"busy".to_owned()),
        "the live group stays"
    );

    // Once its member has left, the group can go.
    drop(member);
    rt.block_on(async {
        let r = admin.delete_groups(&["busy"], &opts()).await.unwrap();
        assert_eq!(r, vec![Ok("busy".to_owned())]);
    });
    assert!(!listed(&c).contains(&"busy".to_owned()));
}

#[test]
fn alter_configs_replaces_a_topics_overrides_and_a_bad_key_changes_nothing() {
    let tb = TestBroker::start();
    let config =
        TopicConfig::from_pairs([("retention.ms", "60000"), ("cleanup.policy", "compact")])
            .unwrap();
    tb.broker.create_topic("remote", 1, config).unwrap();
    let (admin, rt) = admin(&tb);
    rt.block_on(async {
        // The new set: retention.bytes only. retention.ms and cleanup.policy go back to their
        // defaults.
        let change =
            AlterConfig::new(ResourceSpecifier::Topic("remote")).set("retention.bytes", "1048576");
        let r = admin.alter_configs([&change], &opts()).await.unwrap();
        assert_eq!(r.len(), 1);
        assert!(r[0].is_ok(), "{r:?}");
    });
    let got = tb.broker.describe_topic("remote").unwrap().config;
    let defaults = TopicConfig::default();
    assert_eq!(got.retention_bytes, Some(1_048_576));
    assert_eq!(got.retention_ms, defaults.retention_ms);
    assert_eq!(got.cleanup_policy, CleanupPolicy::Delete);

    // rdkafka 0.38 drops AlterConfigs' per-resource errors (every resource comes back Ok), so
    // the refusals are read from raw requests; through librdkafka, that nothing changed.
    let before = got.to_pairs();
    rt.block_on(async {
        let bad = AlterConfig::new(ResourceSpecifier::Topic("remote"))
            .set("retention.ms", "5000")
            .set("colour", "blue");
        admin.alter_configs([&bad], &opts()).await.unwrap();
        let dry = AlterConfig::new(ResourceSpecifier::Topic("remote")).set("retention.ms", "5000");
        admin
            .alter_configs([&dry], &opts().validate_only(true))
            .await
            .unwrap();
    });
    assert_eq!(
        tb.broker
            .describe_topic("remote")
            .unwrap()
            .config
            .to_pairs(),
        before,
        "a refused set and a validate-only one leave the topic as it was"
    );
    let (code, message) = raw_alter(
        &tb,
        "remote",
        &[("retention.ms", "5000"), ("colour", "blue")],
        false,
    );
    assert_eq!(code, 40, "INVALID_CONFIG: {message}");
    assert!(message.contains("colour"), "{message}");
    let (code, message) = raw_alter(&tb, "remote", &[("cleanup.policy", "sometimes")], false);
    assert_eq!(code, 40, "INVALID_CONFIG: {message}");
    assert!(message.contains("cleanup.policy"), "{message}");
    assert_eq!(
        raw_alter(&tb, "remote", &[("retention.ms", "5000")], true).0,
        0
    );
    assert_eq!(
        tb.broker
            .describe_topic("remote")
            .unwrap()
            .config
            .to_pairs(),
        before,
        "refused and validate-only changes leave the topic as it was"
    );
    assert_eq!(
        raw_alter(&tb, "nope", &[("retention.ms", "1")], false).0,
        3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert!(!tb
        .broker
        .list_topics()
        .unwrap()
        .contains(&"nope".to_owned()));
    // Broker resources are not alterable here.
    let mut s = connect(&tb);
    send(
        &mut s,
        ApiKey::AlterConfigs,
        0,
        &AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("0"))]),
    );
    let r: AlterConfigsResponse = receive(&mut s, ApiKey::AlterConfigs, 0, None);
    assert_eq!(r.responses[0].error_code, 42, "INVALID_REQUEST");
}

/// A raw AlterConfigs v2 of one topic: its error code and message.
fn raw_alter(
    tb: &TestBroker,
    topic: &'static str,
    pairs: &[(&'static str, &'static str)],
    validate_only: bool,
) -> (i16, String) {
    let mut s = connect(tb);
    send(
        &mut s,
        ApiKey::AlterConfigs,
        2,
        &AlterConfigsRequest::default()
            .with_validate_only(validate_only)
            .with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str(topic))
                .with_configs(
                    pairs
                        .iter()
                        .map(|(k, v)| {
                            AlterableConfig::default()
                                .with_name(StrBytes::from_static_str(k))
                                .with_value(Some(StrBytes::from_static_str(v)))
                        })
                        .collect(),
                )]),
    );
    let r: AlterConfigsResponse = receive(&mut s, ApiKey::AlterConfigs, 2, None);
    let message = r.responses[0]
        .error_message
        .as_deref()
        .unwrap_or("")
        .to_owned();
    (r.responses[0].error_code, message)
}

const GROUP: &str = "rebalancing";

fn join(s: &mut TcpStream, member: &str) -> JoinGroupResponse {
    send(
        s,
        ApiKey::JoinGroup,
        5,
        &JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
            .with_session_timeout_ms(30_000)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(StrBytes::from_string(member.to_owned()))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str("range"))
                .with_metadata(Bytes::from_static(b"meta"))]),
    );
    receive(s, ApiKey::JoinGroup, 5, None)
}

/// Joins as a new member: the id first (KIP-394), then the join, which waits for the round.
fn join_new(s: &mut TcpStream) -> JoinGroupResponse {
    let id = join(s, "").member_id.to_string();
    join(s, &id)
}

fn sync(s: &mut TcpStream, member: &str, generation: i32) -> SyncGroupResponse {
    send(
        s,
        ApiKey::SyncGroup,
        3,
        &SyncGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
            .with_generation_id(generation)
            .with_member_id(StrBytes::from_string(member.to_owned()))
            .with_assignments(vec![SyncGroupRequestAssignment::default()
                .with_member_id(StrBytes::from_string(member.to_owned()))
                .with_assignment(Bytes::from_static(b"all"))]),
    );
    receive(s, ApiKey::SyncGroup, 3, None)
}

fn heartbeat(s: &mut TcpStream, member: &str, generation: i32) -> i16 {
    send(
        s,
        ApiKey::Heartbeat,
        3,
        &HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
            .with_generation_id(generation)
            .with_member_id(StrBytes::from_string(member.to_owned())),
    );
    let r: HeartbeatResponse = receive(s, ApiKey::Heartbeat, 3, None);
    r.error_code
}

fn commit(s: &mut TcpStream, member: &str, generation: i32, offset: i64) -> i16 {
    send(
        s,
        ApiKey::OffsetCommit,
        7,
        &OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(StrBytes::from_string(member.to_owned()))
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("t")))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(offset)])]),
    );
    let r: OffsetCommitResponse = receive(s, ApiKey::OffsetCommit, 7, None);
    r.topics[0].partitions[0].error_code
}

#[test]
fn a_member_commits_while_the_group_prepares_a_rebalance_but_not_while_it_completes_one() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("t", 1, TopicConfig::default())
        .unwrap();
    let mut a = connect(&tb);
    let r = join_new(&mut a);
    assert_eq!((r.error_code, r.generation_id), (0, 1));
    let first = r.member_id.to_string();
    assert_eq!(sync(&mut a, &first, 1).error_code, 0);
    assert_eq!(commit(&mut a, &first, 1, 1), 0, "Stable");

    // A second member joins: the group waits for the first to rejoin (PreparingRebalance).
    let mut b = connect(&tb);
    let second = std::thread::spawn(move || join_new(&mut b));
    let deadline = Instant::now() + Duration::from_secs(10);
    while heartbeat(&mut a, &first, 1) != 27 {
        assert!(Instant::now() < deadline, "the rebalance never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The first member commits what it processed before giving its partitions up, with
    // the generation it still has; a client without a member id may not.
    assert_eq!(commit(&mut a, &first, 1, 5), 0, "PreparingRebalance");
    assert_eq!(committed(&tb, GROUP, "t"), Some(5));
    assert_eq!(commit(&mut a, &first, 0, 6), 22, "ILLEGAL_GENERATION");
    assert_eq!(commit(&mut a, "", -1, 6), 25, "UNKNOWN_MEMBER_ID");
    assert_eq!(commit(&mut a, "stranger", 1, 6), 25, "UNKNOWN_MEMBER_ID");

    // It rejoins: generation 2, waiting for the leader's SyncGroup (CompletingRebalance).
    let r = join(&mut a, &first);
    assert_eq!((r.error_code, r.generation_id), (0, 2));
    let r2 = second.join().unwrap();
    assert_eq!((r2.error_code, r2.generation_id), (0, 2));
    assert_eq!(
        commit(&mut a, &first, 2, 6),
        27,
        "CompletingRebalance: REBALANCE_IN_PROGRESS"
    );
    assert_eq!(commit(&mut a, &first, 1, 6), 22, "the old generation");
    assert_eq!(
        committed(&tb, GROUP, "t"),
        Some(5),
        "nothing refused was kept"
    );
}

/// Commits offset 3 of `revoking`-0 whenever its partitions are revoked, keeping the result.
#[derive(Default)]
struct CommitOnRevoke {
    results: std::sync::Mutex<Vec<rdkafka::error::KafkaResult<()>>>,
}

impl rdkafka::ClientContext for CommitOnRevoke {}

impl rdkafka::consumer::ConsumerContext for CommitOnRevoke {
    fn pre_rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        rebalance: &rdkafka::consumer::Rebalance<'_>,
    ) {
        if let rdkafka::consumer::Rebalance::Revoke(held) = rebalance {
            if held.count() == 0 {
                return;
            }
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset("revoking", 0, Offset::Offset(3))
                .unwrap();
            let r = consumer.commit(&tpl, CommitMode::Sync);
            self.results.lock().unwrap().push(r);
        }
    }
}

#[test]
fn an_eager_librdkafka_consumer_commits_in_its_revocation_callback_when_another_joins() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("revoking", 2, TopicConfig::default())
        .unwrap();
    let config = |c: &mut rdkafka::ClientConfig| {
        c.set("group.id", "revokers")
            .set("enable.auto.commit", "false")
            .set("partition.assignment.strategy", "range")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "200");
    };
    let mut ca = tb.client_config();
    config(&mut ca);
    let first: BaseConsumer<CommitOnRevoke> =
        ca.create_with_context(CommitOnRevoke::default()).unwrap();
    first.subscribe(&["revoking"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.assignment().unwrap().count() != 2 {
        assert!(
            Instant::now() < deadline,
            "the first never got both partitions"
        );
        let _ = first.poll(Duration::from_millis(100));
    }

    let mut cb = tb.client_config();
    config(&mut cb);
    let second: BaseConsumer = cb.create().unwrap();
    second.subscribe(&["revoking"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.context().results.lock().unwrap().is_empty()
        || second.assignment().unwrap().count() == 0
    {
        assert!(Instant::now() < deadline, "the rebalance never completed");
        let _ = first.poll(Duration::from_millis(50));
        let _ = second.poll(Duration::from_millis(50));
    }
    let results = first.context().results.lock().unwrap();
    assert!(
        results[0].is_ok(),
        "the commit in the revocation callback: {:?}",
        results[0]
    );
    assert_eq!(committed(&tb, "revokers", "revoking"), Some(3));
}
