//! AlterConfigs (the legacy, non-incremental one, which librdkafka's Rust binding and older
//! tools send): a topic's whole set of overrides is replaced by the given set, every setting
//! not named going back to its default. Validated as CreateTopics and IncrementalAlterConfigs
//! validate (an unknown key or a bad value is refused with INVALID_CONFIG naming the key, and
//! nothing of that topic changes); `validate_only` checks without changing anything.

use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use strata_broker::TopicConfig;

use crate::admin::{admin_code, admin_error, msg, run, RESOURCE_TOPIC};
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
                    let fail = |code: i16, m: String| {
                        resp.clone()
                            .with_error_code(code)
                            .with_error_message(msg(m))
                    };
                    if r.resource_type != RESOURCE_TOPIC {
                        return fail(
                            admin_code::INVALID_REQUEST,
                            "only topic configs can be altered on Strata's broker".into(),
                        );
                    }
                    let name = r.resource_name.to_string();
                    if let Err(e) = st.broker.describe_topic(&name) {
                        return fail(admin_error(&e), e.to_string());
                    }
                    // Kafka ignores entries without a value.
                    let config =
                        match TopicConfig::from_pairs(r.configs.iter().filter_map(|c| {
                            c.value.as_ref().map(|v| (c.name.as_str(), v.as_str()))
                        })) {
                            Ok(c) => c,
                            Err(e) => return fail(admin_error(&e), e.to_string()),
                        };
                    if req.validate_only {
                        return resp;
                    }
                    match st.broker.alter_topic_config(&name, config) {
                        Ok(()) => resp,
                        Err(e) => fail(admin_error(&e), e.to_string()),
                    }
                })
                .collect()
        },
        Vec::new(),
    )
    .await;
    AlterConfigsResponse::default().with_responses(responses)
}
