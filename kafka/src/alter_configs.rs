//! AlterConfigs (the legacy, non-incremental one, which librdkafka's Rust binding and older
//! tools send): a topic's whole set of overrides is replaced by the given set, every setting
//! not named going back to its default. Validated as CreateTopics and IncrementalAlterConfigs
//! validate (an unknown key or a bad value is refused with INVALID_CONFIG naming the key, and
//! nothing of that topic changes); `validate_only` checks without changing anything.

use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use strata_broker::TopicConfig;

use crate::admin::{admin_error, alter_topic, msg, run};
use crate::server::State;

pub(crate) async fn alter_configs(
    state: &Arc<State>,
    req: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let st = state.clone();
    let responses = run(
        move || {
            req.resources
                .into_iter()
                .map(|r| {
                    let resp = AlterConfigsResourceResponse::default()
                        .with_resource_type(r.resource_type)
                        .with_resource_name(r.resource_name.clone());
                    // The given set replaces the current one (Kafka ignores entries without a
                    // value).
                    let altered = alter_topic(
                        &st.broker,
                        r.resource_type,
                        r.resource_name.as_str(),
                        req.validate_only,
                        |_current| {
                            TopicConfig::from_pairs(r.configs.iter().filter_map(|c| {
                                c.value.as_ref().map(|v| (c.name.as_str(), v.as_str()))
                            }))
                            .map_err(|e| (admin_error(&e), e.to_string()))
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
    AlterConfigsResponse::default().with_responses(responses)
}
