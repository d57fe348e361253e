//! Admin APIs over the bundled broker's own admin calls: CreateTopics, DeleteTopics,
//! CreatePartitions, DescribeConfigs and IncrementalAlterConfigs (topic configs), DeleteRecords,
//! ListGroups and DescribeGroups (AlterConfigs and DeleteGroups are in their own modules). One
//! broker: a replication factor other than 1 (or -1, the default) and manual replica
//! assignments are refused.

use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteRecordsRequest, DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeConfigsRequest, DescribeConfigsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    GroupId, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, ListGroupsResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use strata_broker::{Error as BrokerError, TopicConfig};

use crate::error::broker_error_code;
use crate::server::{blocking, State};

/// Kafka error codes of the admin APIs.
pub(crate) mod admin_code {
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub const INVALID_PARTITIONS: i16 = 37;
    pub const INVALID_REPLICATION_FACTOR: i16 = 38;
    pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    pub const INVALID_CONFIG: i16 = 40;
    pub const INVALID_REQUEST: i16 = 42;
}

/// DescribeConfigs resource types.
pub(crate) const RESOURCE_TOPIC: i8 = 2;
/// Config sources: set on the topic, or the default.
const SOURCE_TOPIC: i8 = 1;
const SOURCE_DEFAULT: i8 = 5;

pub(crate) fn admin_error(e: &BrokerError) -> i16 {
    match e {
        BrokerError::TopicAlreadyExists { .. } => admin_code::TOPIC_ALREADY_EXISTS,
        BrokerError::InvalidPartitions { .. } => admin_code::INVALID_PARTITIONS,
        BrokerError::InvalidConfig { .. } => admin_code::INVALID_CONFIG,
        other => broker_error_code(other),
    }
}

pub(crate) fn msg(s: String) -> Option<StrBytes> {
    Some(StrBytes::from_string(s))
}

pub(crate) async fn run<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
    fallback: T,
) -> T {
    blocking(f).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "an admin request failed");
        fallback
    })
}

pub(crate) async fn create_topics(
    state: &Arc<State>,
    req: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let st = state.clone();
    let topics = run(
        move || {
            req.topics
                .into_iter()
                .map(|t| {
                    let name = t.name.0.to_string();
                    let result = CreatableTopicResult::default().with_name(t.name.clone());
                    let fail = |code: i16, m: String| result.clone().with_error_code(code).with_error_message(msg(m));
                    if t.replication_factor != -1 && t.replication_factor != 1 {
                        return fail(
                            admin_code::INVALID_REPLICATION_FACTOR,
                            format!("replication factor {} is not possible on Strata's single broker; use 1", t.replication_factor),
                        );
                    }
                    if !t.assignments.is_empty() {
                        return fail(
                            admin_code::INVALID_REPLICA_ASSIGNMENT,
                            "manual replica assignments are not supported by Strata's single broker".into(),
                        );
                    }
                    let partitions = if t.num_partitions == -1 {
                        st.config.default_partitions
                    } else if t.num_partitions > 0 {
                        t.num_partitions as u32
                    } else {
                        return fail(
                            admin_code::INVALID_PARTITIONS,
                            format!("{} partitions: a topic needs at least one", t.num_partitions),
                        );
                    };
                    let pairs: Vec<(String, String)> = t
                        .configs
                        .iter()
                        .filter_map(|c| c.value.as_ref().map(|v| (c.name.to_string(), v.to_string())))
                        .collect();
                    let config = match TopicConfig::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                        Ok(c) => c,
                        Err(e) => return fail(admin_error(&e), e.to_string()),
                    };
                    if req.validate_only {
                        return match st.broker.list_topics() {
                            Ok(names) if names.contains(&name) => {
                                fail(admin_code::TOPIC_ALREADY_EXISTS, format!("topic `{name}` already exists"))
                            }
                            _ => result.with_num_partitions(partitions as i32).with_replication_factor(1),
                        };
                    }
                    match st.broker.create_topic(&name, partitions, config) {
                        Ok(()) => result.with_num_partitions(partitions as i32).with_replication_factor(1),
                        Err(e) => fail(admin_error(&e), e.to_string()),
                    }
                })
                .collect()
        },
        Vec::new(),
    )
    .await;
    CreateTopicsResponse::default().with_topics(topics)
}

pub(crate) async fn delete_topics(
    state: &Arc<State>,
    req: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let st = state.clone();
    let responses = run(
        move || {
            req.topic_names
                .into_iter()
                .map(|name| {
                    let r = DeletableTopicResult::default().with_name(Some(name.clone()));
                    match st.broker.delete_topic(name.0.as_str()) {
                        Ok(()) => r,
                        Err(e) => r
                            .with_error_code(admin_error(&e))
                            .with_error_message(msg(e.to_string())),
                    }
                })
                .collect()
        },
        Vec::new(),
    )
    .await;
    DeleteTopicsResponse::default().with_responses(responses)
}

pub(crate) async fn create_partitions(
    state: &Arc<State>,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let st = state.clone();
    let results = run(
        move || {
            req.topics
                .into_iter()
                .map(|t| {
                    let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
                    let name = t.name.0.as_str();
                    if t.assignments.is_some() {
                        return r
                            .with_error_code(admin_code::INVALID_REPLICA_ASSIGNMENT)
                            .with_error_message(msg("manual replica assignments are not supported by Strata's single broker".into()));
                    }
                    let current = match st.producer_leader.partitions_for(name) {
                        Ok(n) => n as i32,
                        Err(e) => return r.with_error_code(admin_error(&e)).with_error_message(msg(e.to_string())),
                    };
                    // Kafka refuses a count that does not grow the topic.
                    if t.count <= current {
                        return r.with_error_code(admin_code::INVALID_PARTITIONS).with_error_message(msg(format!(
                            "topic `{name}` has {current} partitions; the new count must be larger"
                        )));
                    }
                    if req.validate_only {
                        return r;
                    }
                    match st.broker.create_partitions(name, t.count as u32) {
                        Ok(()) => r,
                        Err(e) => r.with_error_code(admin_error(&e)).with_error_message(msg(e.to_string())),
                    }
                })
                .collect()
        },
        Vec::new(),
    )
    .await;
    CreatePartitionsResponse::default().with_results(results)
}

pub(crate) async fn describe_configs(
    state: &Arc<State>,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let st = state.clone();
    let results = run(
        move || {
            let defaults = TopicConfig::default().to_pairs();
            req.resources
                .into_iter()
                .map(|r| {
                    let result = DescribeConfigsResult::default()
                        .with_resource_type(r.resource_type)
                        .with_resource_name(r.resource_name.clone());
                    if r.resource_type != RESOURCE_TOPIC {
                        // The broker's own settings are not exposed (yet): an empty list.
                        return result;
                    }
                    let topic = match st.broker.describe_topic(r.resource_name.as_str()) {
                        Ok(t) => t,
                        Err(e) => {
                            return result
                                .with_error_code(admin_error(&e))
                                .with_error_message(msg(e.to_string()))
                        }
                    };
                    let configs = topic
                        .config
                        .to_pairs()
                        .into_iter()
                        .filter(|(k, _)| {
                            r.configuration_keys
                                .as_ref()
                                .is_none_or(|keys| keys.iter().any(|w| w.as_str() == *k))
                        })
                        .map(|(k, v)| {
                            let is_default = defaults.iter().any(|(dk, dv)| *dk == k && *dv == v);
                            DescribeConfigsResourceResult::default()
                                .with_name(StrBytes::from_static_str(k))
                                .with_value(Some(StrBytes::from_string(v)))
                                .with_config_source(if is_default {
                                    SOURCE_DEFAULT
                                } else {
                                    SOURCE_TOPIC
                                })
                        })
                        .collect();
                    result.with_configs(configs)
                })
                .collect()
        },
        Vec::new(),
    )
    .await;
    DescribeConfigsResponse::default().with_results(results)
}

pub(crate) async fn delete_records(
    state: &Arc<State>,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let st = state.clone();
    let topics = run(
        move || {
            req.topics
                .into_iter()
                .map(|t| {
                    let name = t.name.0.to_string();
                    let partitions = t
                        .partitions
                        .iter()
                        .map(|p| {
                            let r = DeleteRecordsPartitionResult::default()
                                .with_partition_index(p.partition_index);
                            match st.broker.delete_records(&name, p.partition_index, p.offset) {
                                Ok(low) => r.with_low_watermark(low),
                                Err(e) => r.with_low_watermark(-1).with_error_code(admin_error(&e)),
                            }
                        })
                        .collect();
                    DeleteRecordsTopicResult::default()
                        .with_name(TopicName(StrBytes::from_string(name)))
                        .with_partitions(partitions)
                })
                .collect()
        },
        Vec::new(),
    )
    .await;
    DeleteRecordsResponse::default().with_topics(topics)
}

/// A resource refused: its error code and message.
pub(crate) type Refusal = (i16, String);

/// Set topic `name`'s overrides to what `build` makes of its current ones, for AlterConfigs and
/// IncrementalAlterConfigs alike: only topics can be altered, the topic must exist, and with
/// `validate_only` nothing changes. A refusal leaves the topic as it was.
pub(crate) fn alter_topic(
    broker: &strata_broker::Broker,
    resource_type: i8,
    name: &str,
    validate_only: bool,
    build: impl FnOnce(TopicConfig) -> Result<TopicConfig, Refusal>,
) -> Result<(), Refusal> {
    let refusal = |e: BrokerError| (admin_error(&e), e.to_string());
    if resource_type != RESOURCE_TOPIC {
        return Err((
            admin_code::INVALID_REQUEST,
            "only topic configs can be altered on Strata's broker".into(),
        ));
    }
    let config = build(broker.describe_topic(name).map_err(refusal)?.config)?;
    if validate_only {
        return Ok(());
    }
    broker.alter_topic_config(name, config).map_err(refusal)
}

/// IncrementalAlterConfigs operations.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;

pub(crate) async fn incremental_alter_configs(
    state: &Arc<State>,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let st = state.clone();
    let responses = run(
        move || {
            req.resources
                .into_iter()
                .map(|r| {
                    let resp = AlterConfigsResourceResponse::default()
                        .with_resource_type(r.resource_type)
                        .with_resource_name(r.resource_name.clone());
                    let altered = alter_topic(
                        &st.broker,
                        r.resource_type,
                        r.resource_name.as_str(),
                        req.validate_only,
                        |mut config| {
                            for c in &r.configs {
                                let key = c.name.as_str();
                                match c.config_operation {
                                    OP_SET => {
                                        let value = c.value.as_ref().map(|v| v.as_str()).unwrap_or_default();
                                        config.set(key, value)
                                    }
                                    // Kafka's DELETE returns a config (or its alias) to its default.
                                    OP_DELETE => config.reset(key),
                                    op => {
                                        return Err((
                                            admin_code::INVALID_REQUEST,
                                            format!("config operation {op} (APPEND/SUBTRACT) is not supported; use SET"),
                                        ))
                                    }
                                }
                                .map_err(|e| (admin_error(&e), e.to_string()))?;
                            }
                            Ok(config)
                        },
                    );
                    match altered {
                        Ok(()) => resp,
                        Err((code, m)) => resp.with_error_code(code).with_error_message(msg(m)),
                    }
                })
                .collect()
        },
        Vec::new(),
    )
    .await;
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

pub(crate) async fn list_groups(state: &Arc<State>, version: i16) -> ListGroupsResponse {
    let st = state.clone();
    // Groups with committed offsets on disk (the library's too), and this server's members.
    let on_disk = run(
        move || st.broker.list_groups().unwrap_or_default(),
        Vec::new(),
    )
    .await;
    let mut groups: std::collections::BTreeMap<String, (String, &'static str)> = on_disk
        .into_iter()
        .map(|g| (g, ("consumer".to_owned(), "Empty")))
        .collect();
    for id in state.coordinator.group_ids().await {
        if let Some(v) = state.coordinator.describe(&id).await {
            groups.insert(id, (v.protocol_type, v.state));
        }
    }
    ListGroupsResponse::default().with_groups(
        groups
            .into_iter()
            .map(|(id, (protocol_type, group_state))| {
                let g = ListedGroup::default()
                    .with_group_id(GroupId(StrBytes::from_string(id)))
                    .with_protocol_type(StrBytes::from_string(protocol_type));
                if version >= 4 {
                    g.with_group_state(StrBytes::from_static_str(group_state))
                } else {
                    g
                }
            })
            .collect(),
    )
}

pub(crate) async fn describe_groups(
    state: &Arc<State>,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let mut out = Vec::new();
    for id in req.groups {
        let view = state.coordinator.describe(id.0.as_str()).await;
        let g = DescribedGroup::default().with_group_id(id.clone());
        out.push(match view {
            Some(v) => g
                .with_group_state(StrBytes::from_static_str(v.state))
                .with_protocol_type(StrBytes::from_string(v.protocol_type))
                .with_protocol_data(StrBytes::from_string(v.protocol))
                .with_members(
                    v.members
                        .into_iter()
                        .map(|(member, client, meta, assignment)| {
                            DescribedGroupMember::default()
                                .with_member_id(StrBytes::from_string(member))
                                .with_client_id(StrBytes::from_string(client))
                                .with_member_metadata(meta)
                                .with_member_assignment(assignment)
                        })
                        .collect(),
                ),
            // Kafka describes a group it has no members of as Empty (with offsets) or Dead.
            None => {
                let st = state.clone();
                let name = id.0.to_string();
                let known = run(
                    move || {
                        st.broker
                            .list_groups()
                            .map(|g| g.contains(&name))
                            .unwrap_or(false)
                    },
                    false,
                )
                .await;
                g.with_group_state(StrBytes::from_static_str(if known {
                    "Empty"
                } else {
                    "Dead"
                }))
                .with_protocol_type(StrBytes::from_static_str(if known {
                    "consumer"
                } else {
                    ""
                }))
            }
        });
    }
    DescribeGroupsResponse::default().with_groups(out)
}
