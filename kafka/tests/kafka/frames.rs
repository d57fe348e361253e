//! Raw frames: the protocol edges a well-behaved client never reaches, and the limits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, FetchRequest, FetchResponse, MetadataRequest,
    MetadataResponse, ProduceRequest, ProduceResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, HeartbeatResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse, InitProducerIdRequest, InitProducerIdResponse,
    JoinGroupRequest, JoinGroupResponse, OffsetCommitRequest, OffsetCommitResponse, ProducerId,
    SyncGroupRequest, SyncGroupResponse, TransactionalId,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use strata_broker::{ProducerConfig, ProducerRecord, SchemaValidation, TopicConfig};
use strata_kafka::{KafkaConfig, SUPPORTED_APIS};

use crate::support::TestBroker;

pub(crate) fn connect(tb: &TestBroker) -> TcpStream {
    let s = TcpStream::connect(tb.addr).expect("connect to the listener");
    // Only bounds how long a test hangs on a server that never answers (longer than the
    // broker's 30 s cap on a fetch's max_wait_ms).
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

fn send_raw(s: &mut TcpStream, body: &[u8]) {
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    s.write_all(&frame).expect("write the frame");
}

pub(crate) fn send<T: Encodable>(s: &mut TcpStream, api: ApiKey, version: i16, body: &T) {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(42)
        .with_client_id(Some(StrBytes::from_static_str("raw-test")))
        .encode(&mut buf, api.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    send_raw(s, &buf);
}

pub(crate) fn receive<T: Decodable>(
    s: &mut TcpStream,
    api: ApiKey,
    version: i16,
    header_version: Option<i16>,
) -> T {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("a response");
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    let mut buf = Bytes::from(body);
    let h = ResponseHeader::decode(
        &mut buf,
        header_version.unwrap_or_else(|| api.response_header_version(version)),
    )
    .unwrap();
    assert_eq!(h.correlation_id, 42, "the correlation id is echoed");
    let r = T::decode(&mut buf, version).expect("the response decodes");
    assert!(!buf.has_remaining(), "nothing after the response");
    r
}

/// The server closed this connection: a read ends (EOF or reset) without a response.
fn assert_closed(s: &mut TcpStream, what: &str) {
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(0) => {}
        Ok(_) => panic!("{what}: the server answered instead of closing"),
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            panic!("{what}: the connection stayed open")
        }
        Err(_) => {} // reset
    }
}

/// Sends ApiVersions v3 (the version clients open with, client name and version set).
fn send_api_versions_v3(s: &mut TcpStream) {
    send(
        s,
        ApiKey::ApiVersions,
        3,
        &ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("t"))
            .with_client_software_version(StrBytes::from_static_str("1")),
    );
}

fn assert_still_serving(tb: &TestBroker) {
    let mut s = connect(tb);
    send_api_versions_v3(&mut s);
    let r: ApiVersionsResponse = receive(&mut s, ApiKey::ApiVersions, 3, None);
    assert_eq!(r.error_code, 0, "the server still answers new connections");
}

#[test]
fn api_versions_advertises_exactly_the_implemented_apis() {
    let tb = TestBroker::start();
    let mut s = connect(&tb);
    send_api_versions_v3(&mut s);
    let r: ApiVersionsResponse = receive(&mut s, ApiKey::ApiVersions, 3, None);
    assert_eq!(r.error_code, 0);
    let got: Vec<(i16, i16, i16)> = r
        .api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect();
    let want: Vec<(i16, i16, i16)> = SUPPORTED_APIS
        .iter()
        .map(|&(k, lo, hi)| (k as i16, lo, hi))
        .collect();
    assert_eq!(got, want);
    assert!(
        !got.iter()
            .any(|k| k.0 == ApiKey::ConsumerGroupHeartbeat as i16),
        "KIP-848's ConsumerGroupHeartbeat is not advertised"
    );
}

#[test]
fn api_versions_of_an_unsupported_version_answers_unsupported_version_in_a_v0_response() {
    let tb = TestBroker::start();
    let mut s = connect(&tb);
    // Version 99 with a body the server cannot know the layout of.
    let mut body = BytesMut::new();
    body.put_i16(ApiKey::ApiVersions as i16);
    body.put_i16(99);
    body.put_i32(42);
    body.put_slice(b"\x00\x04test\x00future-fields");
    send_raw(&mut s, &body);
    let r: ApiVersionsResponse = receive(&mut s, ApiKey::ApiVersions, 0, Some(0));
    assert_eq!(r.error_code, 35, "UNSUPPORTED_VERSION");
    assert_eq!(
        r.api_keys.len(),
        SUPPORTED_APIS.len(),
        "the supported ranges come along"
    );
    // The connection stays usable for the retry at a lower version.
    send(
        &mut s,
        ApiKey::ApiVersions,
        0,
        &ApiVersionsRequest::default(),
    );
    let r: ApiVersionsResponse = receive(&mut s, ApiKey::ApiVersions, 0, None);
    assert_eq!(r.error_code, 0);
}

#[test]
fn an_oversized_request_closes_the_connection_and_the_server_keeps_serving() {
    let tb = TestBroker::start_with(KafkaConfig {
        max_request_bytes: 4096,
        ..KafkaConfig::default()
    });
    let mut s = connect(&tb);
    s.write_all(&(1_000_000i32).to_be_bytes()).unwrap();
    s.write_all(&[0u8; 64]).unwrap();
    assert_closed(&mut s, "oversized");
    let mut s = connect(&tb);
    s.write_all(&(-5i32).to_be_bytes()).unwrap();
    assert_closed(&mut s, "negative length");
    assert_still_serving(&tb);
}

#[test]
fn a_malformed_frame_closes_the_connection_and_the_server_keeps_serving() {
    let tb = TestBroker::start();
    // Too short for a header.
    let mut s = connect(&tb);
    send_raw(&mut s, &[0, 3, 0]);
    assert_closed(&mut s, "short header");
    // A Metadata v1 request whose topic array claims more than the frame holds.
    let mut s = connect(&tb);
    let mut body = BytesMut::new();
    body.put_i16(ApiKey::Metadata as i16);
    body.put_i16(1);
    body.put_i32(42);
    body.put_i16(-1); // null client id
    body.put_i32(3); // three topics ...
    body.put_i16(200); // ... the first named by 200 bytes that are not there
    body.put_slice(b"abc");
    send_raw(&mut s, &body);
    assert_closed(&mut s, "truncated body");
    // A Metadata v12 request with a huge compact array count.
    let mut s = connect(&tb);
    let mut body = BytesMut::new();
    body.put_i16(ApiKey::Metadata as i16);
    body.put_i16(12);
    body.put_i32(42);
    body.put_i16(-1);
    body.put_u8(0); // header tagged fields
    body.put_slice(&[0xff, 0xff, 0xff, 0x0f]); // topics: a varint of 2^32-1
    send_raw(&mut s, &body);
    assert_closed(&mut s, "absurd compact array length");
    // A classic array claiming i32::MAX elements in a frame of a few bytes.
    let mut s = connect(&tb);
    let mut body = BytesMut::new();
    body.put_i16(ApiKey::Metadata as i16);
    body.put_i16(1);
    body.put_i32(42);
    body.put_i16(-1);
    body.put_i32(i32::MAX);
    send_raw(&mut s, &body);
    assert_closed(&mut s, "absurd array length");
    assert_still_serving(&tb);
}

#[test]
fn an_unknown_or_unserved_api_key_closes_the_connection() {
    let tb = TestBroker::start();
    for key in [
        9_999i16,
        ApiKey::JoinGroup as i16,
        ApiKey::InitProducerId as i16,
    ] {
        let mut s = connect(&tb);
        let mut body = BytesMut::new();
        body.put_i16(key);
        body.put_i16(0);
        body.put_i32(42);
        body.put_i16(-1);
        send_raw(&mut s, &body);
        assert_closed(&mut s, &format!("API key {key}"));
    }
    // A served API at a version not advertised closes too.
    let mut s = connect(&tb);
    let mut body = BytesMut::new();
    body.put_i16(ApiKey::Fetch as i16);
    body.put_i16(17);
    body.put_i32(42);
    send_raw(&mut s, &body);
    assert_closed(&mut s, "Fetch v17");
    assert_still_serving(&tb);
}

#[test]
fn an_idle_connection_is_closed_and_connections_are_bounded_in_number() {
    let tb = TestBroker::start_with(KafkaConfig {
        idle_timeout: Duration::from_millis(300),
        max_connections: 1,
        ..KafkaConfig::default()
    });
    // Taken before the first connection exists, so that however long the steps below take on
    // a loaded machine, its idle close (300 ms after the server accepted it) comes later.
    let start = Instant::now();
    let mut first = connect(&tb);
    // The second connection is over the limit while the first lives.
    let mut second = connect(&tb);
    assert_closed(&mut second, "the connection over max_connections");
    assert_closed(&mut first, "idle");
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "closed for idleness, not at once"
    );
    // Its slot is free again, once the server has finished with the closed connection: a new
    // one is answered. Tried until it is (a fixed 50 ms pause could race the server's release
    // of the slot on a loaded machine).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut s = connect(&tb);
        send_api_versions_v3(&mut s);
        let mut len = [0u8; 4];
        if s.read_exact(&mut len).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the idle connection's slot was never freed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn metadata_returns_the_advertised_address_and_respects_auto_create_off() {
    let tb = TestBroker::start_with(KafkaConfig {
        advertised_address: Some("kafka.example.com:19092".into()),
        auto_create_topics: false,
        ..KafkaConfig::default()
    });
    tb.broker
        .create_topic("present", 3, TopicConfig::default())
        .unwrap();
    let mut s = connect(&tb);
    let topic = |n: &'static str| {
        MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_static_str(n))))
    };
    send(
        &mut s,
        ApiKey::Metadata,
        12,
        &MetadataRequest::default()
            .with_topics(Some(vec![topic("present"), topic("absent")]))
            .with_allow_auto_topic_creation(true),
    );
    let r: MetadataResponse = receive(&mut s, ApiKey::Metadata, 12, None);
    assert_eq!(r.brokers.len(), 1);
    assert_eq!(r.brokers[0].host.as_str(), "kafka.example.com");
    assert_eq!(r.brokers[0].port, 19092);
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(r.topics[0].partitions.len(), 3);
    assert!(r.topics[0].partitions.iter().all(|p| p.leader_id.0 == 0));
    assert_eq!(r.topics[1].error_code, 3, "UNKNOWN_TOPIC_OR_PARTITION");
    assert!(
        !tb.broker
            .list_topics()
            .unwrap()
            .contains(&"absent".to_owned()),
        "not created"
    );
    // v0: an empty list means every topic.
    send(
        &mut s,
        ApiKey::Metadata,
        0,
        &MetadataRequest::default().with_topics(Some(vec![])),
    );
    let r: MetadataResponse = receive(&mut s, ApiKey::Metadata, 0, None);
    assert_eq!(r.topics.len(), 1);
}

fn fetch_request(topic: &'static str, offset: i64, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str(topic)))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}

#[test]
fn fetch_waits_max_wait_ms_then_answers_empty_and_wakes_when_records_arrive() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("waiting", 1, TopicConfig::default())
        .unwrap();
    let mut s = connect(&tb);
    let start = Instant::now();
    send(&mut s, ApiKey::Fetch, 12, &fetch_request("waiting", 0, 400));
    let r: FetchResponse = receive(&mut s, ApiKey::Fetch, 12, None);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(380),
        "waited {waited:?}, at least max_wait_ms"
    );
    // Only a hang fails here: how soon after max_wait_ms is not a fixed figure on a shared
    // machine.
    assert!(
        waited < Duration::from_secs(30),
        "answered after the wait, not never: {waited:?}"
    );
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(
        p.records.as_ref().map(Bytes::len),
        Some(0),
        "empty, not null"
    );

    // A record produced during a long wait ends it early.
    let broker = tb.broker.clone();
    let producer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        broker
            .producer(ProducerConfig::default())
            .send(ProducerRecord::new("waiting", "late"))
            .unwrap();
    });
    let start = Instant::now();
    send(
        &mut s,
        ApiKey::Fetch,
        12,
        &fetch_request("waiting", 0, 30_000),
    );
    let r: FetchResponse = receive(&mut s, ApiKey::Fetch, 12, None);
    producer.join().unwrap();
    // Woken by the record, not by the end of the 30 s wait (the broker's cap).
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "answered when the record came, not at max_wait_ms: {:?}",
        start.elapsed()
    );
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.high_watermark, 1);
    let mut records = p.records.clone().unwrap();
    let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut records).unwrap();
    let values: Vec<_> = sets
        .iter()
        .flat_map(|s| &s.records)
        .map(|r| r.value.clone().unwrap())
        .collect();
    assert_eq!(values, vec![Bytes::from_static(b"late")]);

    // Beyond the log end: OFFSET_OUT_OF_RANGE at once.
    send(
        &mut s,
        ApiKey::Fetch,
        12,
        &fetch_request("waiting", 5, 10_000),
    );
    let r: FetchResponse = receive(&mut s, ApiKey::Fetch, 12, None);
    assert_eq!(r.responses[0].partitions[0].error_code, 1);
}

#[test]
fn a_fetch_from_the_middle_of_a_produced_batch_starts_at_the_requested_offset() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("mid", 1, TopicConfig::default())
        .unwrap();
    let p = tb.broker.producer(ProducerConfig::default());
    p.send_batch(
        (0..10)
            .map(|i| ProducerRecord::new("mid", format!("v{i}")).with_partition(0))
            .collect(),
    )
    .unwrap();
    let mut s = connect(&tb);
    send(&mut s, ApiKey::Fetch, 12, &fetch_request("mid", 4, 100));
    let r: FetchResponse = receive(&mut s, ApiKey::Fetch, 12, None);
    let mut records = r.responses[0].partitions[0].records.clone().unwrap();
    let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut records).unwrap();
    let got: Vec<(i64, Bytes)> = sets
        .iter()
        .flat_map(|s| &s.records)
        .map(|r| (r.offset, r.value.clone().unwrap()))
        .collect();
    let want: Vec<(i64, Bytes)> = (4..10).map(|i| (i, Bytes::from(format!("v{i}")))).collect();
    assert_eq!(got, want);
}

fn batch(values: &[&str]) -> BytesMut {
    let values: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
    compressed_batch(&values, Compression::None)
}

fn compressed_batch(values: &[Vec<u8>], compression: Compression) -> BytesMut {
    idempotent_batch(values, compression, -1, -1, -1)
}

fn idempotent_batch(
    values: &[Vec<u8>],
    compression: Compression,
    producer_id: i64,
    epoch: i16,
    first_sequence: i32,
) -> BytesMut {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: if producer_id < 0 {
                i as i32
            } else {
                first_sequence + i as i32
            },
            timestamp: 1_000,
            key: None,
            value: Some(Bytes::copy_from_slice(v)),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    // kafka-protocol encodes gzip and snappy itself; lz4 (frame format) and zstd here.
    let compressor =
        |records: &mut BytesMut, out: &mut BytesMut, c: Compression| -> anyhow::Result<()> {
            match c {
                Compression::Lz4 => {
                    let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                    std::io::Write::write_all(&mut e, records)?;
                    out.put_slice(&e.finish()?);
                }
                Compression::Zstd => out.put_slice(&ruzstd::encoding::compress_to_vec(
                    &records[..],
                    ruzstd::encoding::CompressionLevel::Fastest,
                )),
                _ => unreachable!("only lz4 and zstd come here"),
            }
            Ok(())
        };
    if matches!(compression, Compression::Lz4 | Compression::Zstd) {
        RecordBatchEncoder::encode_with_custom_compression(
            &mut buf,
            &records,
            &options,
            Some(compressor),
        )
        .unwrap();
    } else {
        RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
    }
    buf
}

fn produce_request(records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("crc")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])])
}

#[test]
fn a_batch_failing_its_crc_is_refused_as_corrupt_and_nothing_is_stored() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("crc", 1, TopicConfig::default())
        .unwrap();
    let mut s = connect(&tb);
    let mut bad = batch(&["one", "two"]);
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    send(
        &mut s,
        ApiKey::Produce,
        9,
        &produce_request(bad.freeze(), 1),
    );
    let r: ProduceResponse = receive(&mut s, ApiKey::Produce, 9, None);
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 2, "CORRUPT_MESSAGE");
    assert_eq!(tb.broker.offsets("crc", 0).unwrap(), (0, 0));

    // The connection goes on: a good batch is appended and its base offset answered.
    send(
        &mut s,
        ApiKey::Produce,
        9,
        &produce_request(batch(&["a", "b", "c"]).freeze(), -1),
    );
    let r: ProduceResponse = receive(&mut s, ApiKey::Produce, 9, None);
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    send(
        &mut s,
        ApiKey::Produce,
        9,
        &produce_request(batch(&["d"]).freeze(), 1),
    );
    let r: ProduceResponse = receive(&mut s, ApiKey::Produce, 9, None);
    assert_eq!(r.responses[0].partition_responses[0].base_offset, 3);
    assert_eq!(tb.broker.offsets("crc", 0).unwrap(), (0, 4));
}

#[test]
fn acks_zero_produce_sends_no_response_and_appends() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("crc", 1, TopicConfig::default())
        .unwrap();
    let mut s = connect(&tb);
    send(
        &mut s,
        ApiKey::Produce,
        9,
        &produce_request(batch(&["x"]).freeze(), 0),
    );
    // The next answer on the connection is the ApiVersions one: no Produce response came first.
    send(
        &mut s,
        ApiKey::ApiVersions,
        0,
        &ApiVersionsRequest::default(),
    );
    let r: ApiVersionsResponse = receive(&mut s, ApiKey::ApiVersions, 0, None);
    assert_eq!(r.error_code, 0);
    assert_eq!(tb.broker.offsets("crc", 0).unwrap(), (0, 1));
}

#[test]
fn a_batch_decompressing_past_the_limit_is_refused_before_it_is_inflated_and_under_it_is_stored() {
    // 2,000 records of 1 KiB of zeros: 2 MiB inflated, a few KiB compressed.
    let values: Vec<Vec<u8>> = (0..2_000).map(|_| vec![0u8; 1024]).collect();
    for compression in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let bomb = compressed_batch(&values, compression).freeze();
        assert!(
            bomb.len() < 200_000,
            "{compression:?}: compressed to {} bytes",
            bomb.len()
        );

        let tb = TestBroker::start_with(KafkaConfig {
            max_uncompressed_batch_bytes: 1 << 20,
            ..KafkaConfig::default()
        });
        tb.broker
            .create_topic("crc", 1, TopicConfig::default())
            .unwrap();
        let mut s = connect(&tb);
        send(
            &mut s,
            ApiKey::Produce,
            9,
            &produce_request(bomb.clone(), 1),
        );
        let r: ProduceResponse = receive(&mut s, ApiKey::Produce, 9, None);
        let p = &r.responses[0].partition_responses[0];
        assert_eq!(p.error_code, 10, "{compression:?}: MESSAGE_TOO_LARGE");
        let message = p
            .error_message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("max_uncompressed_batch_bytes"),
            "{compression:?}: {message}"
        );
        assert_eq!(
            tb.broker.offsets("crc", 0).unwrap(),
            (0, 0),
            "{compression:?}: nothing stored"
        );

        // Under a larger limit the same batch is accepted, every record of it.
        let tb = TestBroker::start_with(KafkaConfig {
            max_uncompressed_batch_bytes: 4 << 20,
            ..KafkaConfig::default()
        });
        tb.broker
            .create_topic("crc", 1, TopicConfig::default())
            .unwrap();
        let mut s = connect(&tb);
        send(&mut s, ApiKey::Produce, 9, &produce_request(bomb, 1));
        let r: ProduceResponse = receive(&mut s, ApiKey::Produce, 9, None);
        assert_eq!(
            r.responses[0].partition_responses[0].error_code, 0,
            "{compression:?}"
        );
        assert_eq!(
            tb.broker.offsets("crc", 0).unwrap(),
            (0, 2_000),
            "{compression:?}"
        );
    }
}

fn join(s: &mut TcpStream, member: &str, session_ms: i32) -> JoinGroupResponse {
    send(
        s,
        ApiKey::JoinGroup,
        5,
        &JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("raw-group")))
            .with_session_timeout_ms(session_ms)
            .with_rebalance_timeout_ms(1_000)
            .with_member_id(StrBytes::from_string(member.to_owned()))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str("range"))
                .with_metadata(Bytes::from_static(b"meta"))]),
    );
    receive(s, ApiKey::JoinGroup, 5, None)
}

fn heartbeat(s: &mut TcpStream, member: &str, generation: i32) -> i16 {
    send(
        s,
        ApiKey::Heartbeat,
        3,
        &HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("raw-group")))
            .with_generation_id(generation)
            .with_member_id(StrBytes::from_string(member.to_owned())),
    );
    let r: HeartbeatResponse = receive(s, ApiKey::Heartbeat, 3, None);
    r.error_code
}

#[test]
fn the_group_coordinator_answers_kafkas_error_codes() {
    let tb = TestBroker::start();
    let mut s = connect(&tb);
    // KIP-394: a new member first gets its id.
    let r = join(&mut s, "", 10_000);
    assert_eq!(r.error_code, 79, "MEMBER_ID_REQUIRED");
    let me = r.member_id.to_string();
    assert!(!me.is_empty());
    assert_eq!(
        join(&mut s, "someone-else", 10_000).error_code,
        25,
        "UNKNOWN_MEMBER_ID"
    );
    let r = join(&mut s, &me, 10_000);
    assert_eq!((r.error_code, r.generation_id), (0, 1));
    assert_eq!(r.leader.as_str(), me, "the only member leads");
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.members[0].metadata, Bytes::from_static(b"meta"));

    let sync = |s: &mut TcpStream, generation: i32| -> SyncGroupResponse {
        send(
            s,
            ApiKey::SyncGroup,
            3,
            &SyncGroupRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("raw-group")))
                .with_generation_id(generation)
                .with_member_id(StrBytes::from_string(me.clone()))
                .with_assignments(vec![SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(me.clone()))
                    .with_assignment(Bytes::from_static(b"all of it"))]),
        );
        receive(s, ApiKey::SyncGroup, 3, None)
    };
    assert_eq!(sync(&mut s, 7).error_code, 22, "ILLEGAL_GENERATION");
    let r = sync(&mut s, 1);
    assert_eq!(
        (r.error_code, r.assignment.clone()),
        (0, Bytes::from_static(b"all of it"))
    );
    assert_eq!(heartbeat(&mut s, &me, 1), 0);
    assert_eq!(heartbeat(&mut s, &me, 0), 22, "ILLEGAL_GENERATION");
    assert_eq!(heartbeat(&mut s, "nobody", 1), 25, "UNKNOWN_MEMBER_ID");

    // A commit from a stale generation is refused; from the current one it is kept.
    let commit = |s: &mut TcpStream, generation: i32| -> i16 {
        send(
            s,
            ApiKey::OffsetCommit,
            7,
            &OffsetCommitRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("raw-group")))
                .with_generation_id_or_member_epoch(generation)
                .with_member_id(StrBytes::from_string(me.clone()))
                .with_topics(vec![OffsetCommitRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str("t")))
                    .with_partitions(vec![OffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(5)])]),
        );
        let r: OffsetCommitResponse = receive(s, ApiKey::OffsetCommit, 7, None);
        r.topics[0].partitions[0].error_code
    };
    tb.broker
        .create_topic("t", 1, TopicConfig::default())
        .unwrap();
    assert_eq!(commit(&mut s, 0), 22, "ILLEGAL_GENERATION");
    assert_eq!(commit(&mut s, 1), 0);

    // A member that stops heartbeating is dropped after its session timeout.
    let r = join(&mut s, "", 1_000);
    let short = r.member_id.to_string();
    // Joining starts a rebalance; the first member rejoins so that it completes.
    let mut s2 = connect(&tb);
    let me2 = me.clone();
    let rejoin = std::thread::spawn(move || join(&mut s2, &me2, 10_000));
    let r = join(&mut s, &short, 1_000);
    assert_eq!(r.error_code, 0);
    let r2 = rejoin.join().unwrap();
    assert_eq!((r2.error_code, r2.generation_id), (0, 2));
    std::thread::sleep(Duration::from_millis(1_600));
    assert_eq!(
        heartbeat(&mut s, &short, 2),
        25,
        "expired: UNKNOWN_MEMBER_ID"
    );
}

#[test]
fn an_idempotent_producers_duplicate_is_answered_without_a_second_append() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("crc", 1, TopicConfig::default())
        .unwrap();
    let mut s = connect(&tb);
    send(
        &mut s,
        ApiKey::InitProducerId,
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
            .with_transaction_timeout_ms(60_000),
    );
    let r: InitProducerIdResponse = receive(&mut s, ApiKey::InitProducerId, 4, None);
    assert_eq!(r.error_code, 0);
    let (pid, epoch) = (r.producer_id.0, r.producer_epoch);
    assert!(pid >= 0);
    let values =
        |n: usize| -> Vec<Vec<u8>> { (0..n).map(|i| format!("v{i}").into_bytes()).collect() };
    let mut produce = |first: i32, n: usize, producer: i64| -> (i16, i64) {
        let b = idempotent_batch(&values(n), Compression::None, producer, epoch, first).freeze();
        send(&mut s, ApiKey::Produce, 9, &produce_request(b, -1));
        let r: ProduceResponse = receive(&mut s, ApiKey::Produce, 9, None);
        let p = &r.responses[0].partition_responses[0];
        (p.error_code, p.base_offset)
    };
    assert_eq!(produce(0, 3, pid), (0, 0));
    assert_eq!(produce(3, 2, pid), (0, 3));
    // A retry of the first batch: its original offset, nothing appended.
    assert_eq!(produce(0, 3, pid), (0, 0));
    assert_eq!(tb.broker.offsets("crc", 0).unwrap(), (0, 5));
    // A gap in the sequence numbers.
    assert_eq!(produce(9, 1, pid).0, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    // An id this broker never handed out.
    assert_eq!(produce(0, 1, pid + 1_000_000).0, 59, "UNKNOWN_PRODUCER_ID");
    assert_eq!(produce(5, 1, pid), (0, 5));
    assert_eq!(tb.broker.offsets("crc", 0).unwrap(), (0, 6));

    // Transactions are refused.
    send(
        &mut s,
        ApiKey::InitProducerId,
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tx"))))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    );
    let r: InitProducerIdResponse = receive(&mut s, ApiKey::InitProducerId, 4, None);
    assert_eq!(r.error_code, 53);
}

#[test]
fn an_idempotent_producers_retry_after_a_broker_restart_is_still_answered_as_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let values =
        |n: usize| -> Vec<Vec<u8>> { (0..n).map(|i| format!("r{i}").into_bytes()).collect() };
    let produce = |s: &mut TcpStream, pid: i64, epoch: i16, first: i32, n: usize| -> (i16, i64) {
        let b = idempotent_batch(&values(n), Compression::None, pid, epoch, first).freeze();
        send(s, ApiKey::Produce, 9, &produce_request(b, 1));
        let r: ProduceResponse = receive(s, ApiKey::Produce, 9, None);
        let p = &r.responses[0].partition_responses[0];
        (p.error_code, p.base_offset)
    };
    let (pid, epoch) = {
        let tb = TestBroker::start_on(&log, KafkaConfig::default(), None);
        tb.broker
            .create_topic("crc", 1, TopicConfig::default())
            .unwrap();
        let mut s = connect(&tb);
        send(
            &mut s,
            ApiKey::InitProducerId,
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
                .with_transaction_timeout_ms(60_000),
        );
        let r: InitProducerIdResponse = receive(&mut s, ApiKey::InitProducerId, 4, None);
        let (pid, epoch) = (r.producer_id.0, r.producer_epoch);
        assert_eq!(produce(&mut s, pid, epoch, 0, 4), (0, 0));
        assert_eq!(produce(&mut s, pid, epoch, 4, 3), (0, 4));
        (pid, epoch)
        // The listener stops here: the process "restarts".
    };
    let tb = TestBroker::start_on(&log, KafkaConfig::default(), None);
    let mut s = connect(&tb);
    // The last batch, retried because its answer was lost in the restart.
    assert_eq!(
        produce(&mut s, pid, epoch, 4, 3),
        (0, 4),
        "answered with its original offset"
    );
    assert_eq!(produce(&mut s, pid, epoch, 0, 4), (0, 0));
    assert_eq!(
        tb.broker.offsets("crc", 0).unwrap(),
        (0, 7),
        "nothing appended twice"
    );
    assert_eq!(
        produce(&mut s, pid, epoch, 9, 1).0,
        45,
        "a gap is still a gap"
    );
    assert_eq!(
        produce(&mut s, pid, epoch, 7, 2),
        (0, 7),
        "the sequence goes on"
    );
    assert_eq!(tb.broker.offsets("crc", 0).unwrap(), (0, 9));
}

#[test]
fn incremental_alter_configs_sets_and_resets_topic_configs() {
    let tb = TestBroker::start();
    tb.broker
        .create_topic("configured", 1, TopicConfig::default())
        .unwrap();
    let mut s = connect(&tb);
    let alter = |s: &mut TcpStream,
                 name: &'static str,
                 op: i8,
                 value: Option<&'static str>|
     -> IncrementalAlterConfigsResponse {
        send(
            s,
            ApiKey::IncrementalAlterConfigs,
            1,
            &IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("configured"))
                    .with_configs(vec![AlterableConfig::default()
                        .with_name(StrBytes::from_static_str(name))
                        .with_config_operation(op)
                        .with_value(value.map(StrBytes::from_static_str))]),
            ]),
        );
        receive(s, ApiKey::IncrementalAlterConfigs, 1, None)
    };
    let r = alter(&mut s, "retention.ms", 0, Some("1234567"));
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(
        tb.broker
            .describe_topic("configured")
            .unwrap()
            .config
            .retention_ms,
        Some(1_234_567)
    );
    let r = alter(&mut s, "cleanup.policy", 0, Some("sometimes"));
    assert_eq!(r.responses[0].error_code, 40, "INVALID_CONFIG");
    let r = alter(&mut s, "retention.ms", 1, None);
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(
        tb.broker
            .describe_topic("configured")
            .unwrap()
            .config
            .retention_ms,
        TopicConfig::default().retention_ms,
        "DELETE returns the config to its default"
    );
}

#[test]
fn incremental_alter_configs_deletes_a_redpanda_alias_as_it_deletes_the_confluent_key() {
    let tb = TestBroker::start();
    let validated = TopicConfig::from_pairs([
        ("confluent.value.schema.validation", "true"),
        (
            "confluent.value.subject.name.strategy",
            "RecordNameStrategy",
        ),
    ])
    .unwrap();
    tb.broker.create_topic("aliased", 1, validated).unwrap();
    let mut s = connect(&tb);
    let delete = |s: &mut TcpStream, names: &[&'static str]| -> IncrementalAlterConfigsResponse {
        let configs = names
            .iter()
            .map(|n| {
                AlterableConfig::default()
                    .with_name(StrBytes::from_static_str(n))
                    .with_config_operation(1)
            })
            .collect();
        send(
            s,
            ApiKey::IncrementalAlterConfigs,
            1,
            &IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("aliased"))
                    .with_configs(configs),
            ]),
        );
        receive(s, ApiKey::IncrementalAlterConfigs, 1, None)
    };
    let r = delete(
        &mut s,
        &[
            "redpanda.value.schema.id.validation",
            "redpanda.value.subject.name.strategy",
        ],
    );
    assert_eq!(
        r.responses[0].error_code, 0,
        "{:?}",
        r.responses[0].error_message
    );
    assert_eq!(
        tb.broker
            .describe_topic("aliased")
            .unwrap()
            .config
            .value_schema_validation,
        SchemaValidation::default(),
        "deleting the aliases returned validation and strategy to their defaults"
    );

    let r = delete(&mut s, &["redpanda.no.such.setting"]);
    assert_eq!(r.responses[0].error_code, 40, "INVALID_CONFIG");
    let message = r.responses[0].error_message.as_deref().unwrap_or_default();
    assert!(message.contains("redpanda.no.such.setting"), "{message}");
}
