//! ApiVersions: the APIs and versions this server implements, and nothing else.

use bytes::BytesMut;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

use crate::error::{code, Closed};
use crate::server::encode_response;

/// Every API served, with the lowest and highest version served. ApiVersions advertises
/// exactly this list. The ceilings stop before versions whose meaning is not implemented:
/// Fetch v13+ and Produce v13 name topics by id, ListOffsets v8+ adds tiered-storage
/// timestamps, OffsetFetch v8+ and FindCoordinator v4 batch several groups, JoinGroup v6+ is
/// where clients expect static membership to work, DeleteTopics v6 names topics by id and
/// CreateTopics v5+ answers with every config of the new topic.
pub const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 11),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 4),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::CreateTopics, 2, 4),
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::ApiVersions, 0, 4),
];

fn api_keys() -> Vec<ApiVersion> {
    SUPPORTED_APIS
        .iter()
        .map(|&(key, min, max)| {
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect()
}

/// The answer to a supported ApiVersions request.
pub(crate) fn response() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(code::NONE)
        .with_api_keys(api_keys())
}

/// The answer to an ApiVersions request of a version not served: a v0 response (header v0)
/// with UNSUPPORTED_VERSION and the supported ranges, as Kafka sends.
pub(crate) fn unsupported_version(correlation_id: i32) -> Result<BytesMut, Closed> {
    let body = ApiVersionsResponse::default()
        .with_error_code(code::UNSUPPORTED_VERSION)
        .with_api_keys(api_keys());
    encode_response(ApiKey::ApiVersions, 0, 0, correlation_id, &body)
}
