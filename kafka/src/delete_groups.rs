//! DeleteGroups: a group's committed offsets and state go, as `strata groups delete` does on
//! the bundled broker, once it has no live members. A group with members (Kafka clients in
//! this listener's coordinator, or the library's consumers) is refused with NON_EMPTY_GROUP;
//! a group neither has offsets nor is known here, with GROUP_ID_NOT_FOUND.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use strata_broker::Error as BrokerError;

use crate::coordinator::group_code;
use crate::error::{broker_error_code, code};
use crate::server::{blocking, State};

pub(crate) async fn delete_groups(
    state: &Arc<State>,
    req: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(req.groups_names.len());
    for id in req.groups_names {
        let error = delete_one(state, id.0.to_string()).await;
        results.push(
            DeletableGroupResult::default()
                .with_group_id(id)
                .with_error_code(error),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}

async fn delete_one(state: &Arc<State>, group: String) -> i16 {
    let known_here = match state.coordinator.forget_if_empty(&group).await {
        Ok(known) => known,
        Err(error) => return error,
    };
    let st = state.clone();
    let deleted = blocking(move || st.broker.delete_group(&group)).await;
    match deleted {
        Ok(Ok(())) => code::NONE,
        // Known to the coordinator but never committed: nothing on disk to delete.
        Ok(Err(BrokerError::UnknownGroup { .. })) if known_here => code::NONE,
        Ok(Err(BrokerError::UnknownGroup { .. })) => group_code::GROUP_ID_NOT_FOUND,
        Ok(Err(BrokerError::GroupNotEmpty { .. })) => group_code::NON_EMPTY_GROUP,
        Ok(Err(BrokerError::InvalidConfig { .. })) => code::INVALID_GROUP_ID,
        Ok(Err(e)) => broker_error_code(&e),
        Err(e) => {
            tracing::error!(error = %e, "DeleteGroups failed");
            code::UNKNOWN_SERVER_ERROR
        }
    }
}
