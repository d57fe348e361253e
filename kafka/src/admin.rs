//! Admin APIs over the bundled broker's own admin calls: CreateTopics, DeleteTopics,
//! CreatePartitions, DescribeConfigs (topic configs) and DeleteRecords. One broker: a
//! replication factor other than 1 (or -1, the default) and manual replica assignments are
//! refused.

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
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteRecordsRequest, DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeConfigsRequest, DescribeConfigsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use strata_broker::{Error as BrokerError, TopicConfig};

use crate::error::broker_error_code;
use crate::server::{blocking, State};

/// Kafka error codes of the admin APIs.
mod admin_code {
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub const INVALID_PARTITIONS: i16 = 37;
    pub const INVALID_REPLICATION_FACTOR: i16 = 38;
    pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    pub const INVALID_CONFIG: i16 = 40;
}

/// DescribeConfigs resource types.
const RESOURCE_TOPIC: i8 = 2;
/// Config sources: set on the topic, or the default.
const SOURCE_TOPIC: i8 = 1;
const SOURCE_DEFAULT: i8 = 5;

fn admin_error(e: &BrokerError) -> i16 {
    match e {
        BrokerError::TopicAlreadyExists { .. } => admin_code::TOPIC_ALREADY_EXISTS,
        BrokerError::InvalidPartitions { .. } => admin_code::INVALID_PARTITIONS,
        BrokerError::InvalidConfig { .. } => admin_code::INVALID_CONFIG,
        other => broker_error_code(other),
    }
}

fn msg(s: String) -> Option<StrBytes> {
    Some(StrBytes::from_string(s))
}

async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static, fallback: T) -> T {
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
