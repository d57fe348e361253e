//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup: Kafka messages in and out of the
//! [`crate::coordinator::Coordinator`].

use std::time::Duration;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::error::code;
use crate::server::State;

fn s(v: String) -> StrBytes {
    StrBytes::from_string(v)
}

pub(crate) async fn join_group(
    state: &State,
    req: JoinGroupRequest,
    version: i16,
    client_id: &str,
) -> JoinGroupResponse {
    let session = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
    // v0 has no rebalance timeout: Kafka uses the session timeout.
    let rebalance = if version >= 1 {
        Duration::from_millis(req.rebalance_timeout_ms.max(0) as u64)
    } else {
        session
    };
    let protocols = req
        .protocols
        .into_iter()
        .map(|p| (p.name.to_string(), p.metadata))
        .collect();
    let r = state
        .coordinator
        .join(
            req.group_id.0.as_str(),
            req.member_id.as_str(),
            client_id,
            req.protocol_type.as_str(),
            protocols,
            session,
            rebalance,
            // KIP-394: from v4 a new member first gets an id with MEMBER_ID_REQUIRED.
            version >= 4,
        )
        .await;
    JoinGroupResponse::default()
        .with_error_code(r.error)
        .with_generation_id(r.generation)
        .with_protocol_name(Some(s(r.protocol)))
        .with_leader(s(r.leader))
        .with_member_id(s(r.member_id))
        .with_members(
            r.members
                .into_iter()
                .map(|(id, metadata)| {
                    JoinGroupResponseMember::default()
                        .with_member_id(s(id))
                        .with_metadata(metadata)
                })
                .collect(),
        )
}

pub(crate) async fn sync_group(state: &State, req: SyncGroupRequest) -> SyncGroupResponse {
    let assignments = req
        .assignments
        .into_iter()
        .map(|a| (a.member_id.to_string(), a.assignment))
        .collect();
    let (error, assignment) = state
        .coordinator
        .sync(
            req.group_id.0.as_str(),
            req.member_id.as_str(),
            req.generation_id,
            assignments,
        )
        .await;
    SyncGroupResponse::default()
        .with_error_code(error)
        .with_assignment(assignment)
}

pub(crate) async fn heartbeat(state: &State, req: HeartbeatRequest) -> HeartbeatResponse {
    let error = state
        .coordinator
        .heartbeat(
            req.group_id.0.as_str(),
            req.member_id.as_str(),
            req.generation_id,
        )
        .await;
    HeartbeatResponse::default().with_error_code(error)
}

pub(crate) async fn leave_group(
    state: &State,
    req: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    let group = req.group_id.0.to_string();
    if version < 3 {
        let errors = state
            .coordinator
            .leave(&group, &[req.member_id.to_string()])
            .await;
        return LeaveGroupResponse::default()
            .with_error_code(errors.first().copied().unwrap_or(code::NONE));
    }
    let ids: Vec<String> = req
        .members
        .iter()
        .map(|m| m.member_id.to_string())
        .collect();
    let errors = state.coordinator.leave(&group, &ids).await;
    LeaveGroupResponse::default().with_members(
        ids.into_iter()
            .zip(errors)
            .map(|(id, e)| {
                MemberResponse::default()
                    .with_member_id(s(id))
                    .with_error_code(e)
            })
            .collect(),
    )
}
