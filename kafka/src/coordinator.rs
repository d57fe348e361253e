//! The classic consumer-group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) for Kafka
//! clients, with the clients' own assignors: the coordinator only gathers members, picks a
//! leader and hands out what the leader assigned. Groups live in memory: a restart makes every
//! member rejoin (their committed offsets are on disk with the bundled broker's groups).
//!
//! States follow Kafka's: Empty, PreparingRebalance (waiting for members to (re)join, at most
//! the longest rebalance timeout), CompletingRebalance (waiting for the leader's SyncGroup) and
//! Stable. A member that joins or leaves, or misses heartbeats for its session timeout, starts
//! a rebalance; the others learn of it from REBALANCE_IN_PROGRESS on their next heartbeat.
//! Locks are never held across an await on a client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use indexmap::IndexMap;
use tokio::sync::{oneshot, Mutex};

use crate::error::code;

/// Kafka error codes of the group protocol.
pub(crate) mod group_code {
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    pub const NON_EMPTY_GROUP: i16 = 68;
    pub const GROUP_ID_NOT_FOUND: i16 = 69;
}

/// How often expired sessions are looked for.
const SWEEP_INTERVAL: Duration = Duration::from_millis(250);
/// Session timeouts accepted (Kafka's group.min/max.session.timeout.ms).
const MIN_SESSION: Duration = Duration::from_millis(1_000);
const MAX_SESSION: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

#[derive(Debug)]
struct Member {
    client_id: String,
    protocols: Vec<(String, Bytes)>,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    last_seen: Instant,
    /// Joined in the current rebalance.
    joined: bool,
    assignment: Bytes,
}

/// What a JoinGroup gets back.
#[derive(Debug, Clone, Default)]
pub(crate) struct JoinResult {
    pub error: i16,
    pub generation: i32,
    pub protocol: String,
    pub leader: String,
    pub member_id: String,
    /// For the leader only: every member and its metadata for the chosen protocol.
    pub members: Vec<(String, Bytes)>,
}

impl JoinResult {
    fn error(error: i16, member_id: String) -> JoinResult {
        JoinResult {
            error,
            generation: -1,
            member_id,
            ..JoinResult::default()
        }
    }
}

#[derive(Debug)]
struct Group {
    phase: Phase,
    generation: i32,
    protocol_type: String,
    protocol: String,
    leader: String,
    /// In join order.
    members: IndexMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not joined yet.
    issued: std::collections::HashSet<String>,
    pending_joins: HashMap<String, oneshot::Sender<JoinResult>>,
    pending_syncs: HashMap<String, oneshot::Sender<(i16, Bytes)>>,
    /// Bumped by every rebalance, so a stale timer does nothing.
    round: u64,
}

impl Group {
    fn new() -> Group {
        Group {
            phase: Phase::Empty,
            generation: 0,
            protocol_type: String::new(),
            protocol: String::new(),
            leader: String::new(),
            members: IndexMap::new(),
            issued: Default::default(),
            pending_joins: HashMap::new(),
            pending_syncs: HashMap::new(),
            round: 0,
        }
    }

    fn all_joined(&self) -> bool {
        self.members.values().all(|m| m.joined)
    }

    /// Starts a rebalance unless one is under way; returns the timer to arm, if any.
    fn prepare_rebalance(&mut self) -> Option<(u64, Duration)> {
        if self.phase == Phase::PreparingRebalance {
            return None;
        }
        self.phase = Phase::PreparingRebalance;
        self.round += 1;
        for m in self.members.values_mut() {
            m.joined = false;
        }
        // Followers waiting for an assignment of the old generation: rejoin.
        for (_, tx) in self.pending_syncs.drain() {
            let _ = tx.send((group_code::REBALANCE_IN_PROGRESS, Bytes::new()));
        }
        let wait = self
            .members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(Duration::ZERO);
        Some((self.round, wait))
    }

    /// Ends the join phase: members that did not rejoin are dropped, a new generation starts.
    fn complete_join(&mut self) {
        self.members.retain(|_, m| m.joined);
        if self.members.is_empty() {
            self.phase = Phase::Empty;
            self.generation += 1;
            self.leader.clear();
            return;
        }
        self.generation += 1;
        // The first protocol of the first member that every member supports.
        let protocol = self
            .members
            .values()
            .next()
            .and_then(|first| {
                first.protocols.iter().map(|(n, _)| n.clone()).find(|name| {
                    self.members
                        .values()
                        .all(|m| m.protocols.iter().any(|(n, _)| n == name))
                })
            })
            .unwrap_or_default();
        self.protocol = protocol;
        if !self.members.contains_key(&self.leader) {
            self.leader = self.members.keys().next().cloned().unwrap_or_default();
        }
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            m.last_seen = Instant::now();
        }
        self.phase = Phase::CompletingRebalance;
        let everyone: Vec<(String, Bytes)> = self
            .members
            .iter()
            .map(|(id, m)| {
                let meta = m
                    .protocols
                    .iter()
                    .find(|(n, _)| *n == self.protocol)
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default();
                (id.clone(), meta)
            })
            .collect();
        for (id, tx) in self.pending_joins.drain() {
            let _ = tx.send(JoinResult {
                error: code::NONE,
                generation: self.generation,
                protocol: self.protocol.clone(),
                leader: self.leader.clone(),
                members: if id == self.leader {
                    everyone.clone()
                } else {
                    Vec::new()
                },
                member_id: id,
            });
        }
    }

    /// Removes a member; a rebalance follows if others remain.
    fn remove(&mut self, id: &str) -> Option<(u64, Duration)> {
        self.members.shift_remove(id)?;
        self.pending_joins.remove(id);
        self.pending_syncs.remove(id);
        if self.members.is_empty() {
            self.phase = Phase::Empty;
            self.leader.clear();
            return None;
        }
        let timer = self.prepare_rebalance();
        if self.phase == Phase::PreparingRebalance && self.all_joined() {
            self.complete_join();
        }
        timer
    }
}

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupView {
    pub state: &'static str,
    pub protocol_type: String,
    pub protocol: String,
    /// (member id, client id, metadata for the chosen protocol, assignment).
    pub members: Vec<(String, String, Bytes, Bytes)>,
}

/// Every group's membership, in memory.
#[derive(Debug, Default)]
pub(crate) struct Coordinator {
    groups: Mutex<HashMap<String, Arc<Mutex<Group>>>>,
    next_id: AtomicU64,
}

impl Coordinator {
    async fn group(&self, id: &str) -> Arc<Mutex<Group>> {
        self.groups
            .lock()
            .await
            .entry(id.to_owned())
            .or_insert_with(|| Arc::new(Mutex::new(Group::new())))
            .clone()
    }

    async fn existing(&self, id: &str) -> Option<Arc<Mutex<Group>>> {
        self.groups.lock().await.get(id).cloned()
    }

    fn arm(group: Arc<Mutex<Group>>, timer: Option<(u64, Duration)>) {
        if let Some((round, wait)) = timer {
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                let mut g = group.lock().await;
                if g.round == round && g.phase == Phase::PreparingRebalance {
                    g.complete_join();
                }
            });
        }
    }

    /// JoinGroup: waits until the rebalance completes.
    #[allow(clippy::too_many_arguments)]
    pub async fn join(
        &self,
        group_id: &str,
        member_id: &str,
        client_id: &str,
        protocol_type: &str,
        protocols: Vec<(String, Bytes)>,
        session_timeout: Duration,
        rebalance_timeout: Duration,
        require_known_member_id: bool,
    ) -> JoinResult {
        if !(MIN_SESSION..=MAX_SESSION).contains(&session_timeout) {
            return JoinResult::error(group_code::INVALID_SESSION_TIMEOUT, member_id.to_owned());
        }
        let group = self.group(group_id).await;
        let rx = {
            let mut g = group.lock().await;
            let id = if member_id.is_empty() {
                let n = self.next_id.fetch_add(1, Ordering::Relaxed);
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let id = format!(
                    "{}-{n}-{nanos:x}",
                    if client_id.is_empty() {
                        "member"
                    } else {
                        client_id
                    }
                );
                if require_known_member_id {
                    // KIP-394: hand out an id; the client joins again with it.
                    g.issued.insert(id.clone());
                    return JoinResult::error(group_code::MEMBER_ID_REQUIRED, id);
                }
                id
            } else {
                if !g.members.contains_key(member_id) && !g.issued.remove(member_id) {
                    return JoinResult::error(group_code::UNKNOWN_MEMBER_ID, member_id.to_owned());
                }
                member_id.to_owned()
            };
            if !g.members.is_empty() && g.protocol_type != protocol_type
                || protocols.is_empty()
                || (!g.members.is_empty()
                    && !protocols.iter().any(|(name, _)| {
                        g.members
                            .values()
                            .all(|m| m.protocols.iter().any(|(n, _)| n == name))
                    }))
            {
                return JoinResult::error(group_code::INCONSISTENT_GROUP_PROTOCOL, id);
            }
            if g.members.is_empty() {
                g.protocol_type = protocol_type.to_owned();
            }
            let known = g.members.contains_key(&id);
            let unchanged = known
                && g.phase == Phase::Stable
                && g.members.get(&id).is_some_and(|m| m.protocols == protocols);
            if unchanged && id != g.leader {
                // A follower rejoining with nothing new (e.g. after a lost response): answer
                // with the current generation, as Kafka does.
                return JoinResult {
                    error: code::NONE,
                    generation: g.generation,
                    protocol: g.protocol.clone(),
                    leader: g.leader.clone(),
                    member_id: id,
                    members: Vec::new(),
                };
            }
            g.members.insert(
                id.clone(),
                Member {
                    client_id: client_id.to_owned(),
                    protocols,
                    session_timeout,
                    rebalance_timeout,
                    last_seen: Instant::now(),
                    joined: false,
                    assignment: Bytes::new(),
                },
            );
            let timer = g.prepare_rebalance();
            if let Some(m) = g.members.get_mut(&id) {
                m.joined = true;
            }
            let (tx, rx) = oneshot::channel();
            g.pending_joins.insert(id.clone(), tx);
            if g.all_joined() {
                g.complete_join();
            } else {
                Self::arm(group.clone(), timer);
            }
            rx
        };
        rx.await.unwrap_or_else(|_| {
            JoinResult::error(group_code::UNKNOWN_MEMBER_ID, member_id.to_owned())
        })
    }

    /// SyncGroup: the leader hands in assignments; followers wait for theirs.
    pub async fn sync(
        &self,
        group_id: &str,
        member_id: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> (i16, Bytes) {
        let Some(group) = self.existing(group_id).await else {
            return (group_code::UNKNOWN_MEMBER_ID, Bytes::new());
        };
        let rx = {
            let mut g = group.lock().await;
            let Some(m) = g.members.get_mut(member_id) else {
                return (group_code::UNKNOWN_MEMBER_ID, Bytes::new());
            };
            m.last_seen = Instant::now();
            if generation != g.generation {
                return (group_code::ILLEGAL_GENERATION, Bytes::new());
            }
            match g.phase {
                Phase::PreparingRebalance | Phase::Empty => {
                    return (group_code::REBALANCE_IN_PROGRESS, Bytes::new())
                }
                Phase::Stable => {
                    let a = g.members.get(member_id).map(|m| m.assignment.clone());
                    return (code::NONE, a.unwrap_or_default());
                }
                Phase::CompletingRebalance => {}
            }
            if member_id == g.leader {
                for (id, a) in assignments {
                    if let Some(m) = g.members.get_mut(&id) {
                        m.assignment = a;
                    }
                }
                g.phase = Phase::Stable;
                let waiting: Vec<(String, oneshot::Sender<(i16, Bytes)>)> =
                    g.pending_syncs.drain().collect();
                for (id, tx) in waiting {
                    let a = g.members.get(&id).map(|m| m.assignment.clone());
                    let _ = tx.send((code::NONE, a.unwrap_or_default()));
                }
                let mine = g.members.get(member_id).map(|m| m.assignment.clone());
                return (code::NONE, mine.unwrap_or_default());
            }
            let (tx, rx) = oneshot::channel();
            g.pending_syncs.insert(member_id.to_owned(), tx);
            rx
        };
        rx.await
            .unwrap_or((group_code::REBALANCE_IN_PROGRESS, Bytes::new()))
    }

    /// Heartbeat: keeps the session and reports a rebalance.
    pub async fn heartbeat(&self, group_id: &str, member_id: &str, generation: i32) -> i16 {
        let Some(group) = self.existing(group_id).await else {
            return group_code::UNKNOWN_MEMBER_ID;
        };
        let mut g = group.lock().await;
        let phase = g.phase;
        let current = g.generation;
        let now = Instant::now();
        let pending_join = g.pending_joins.contains_key(member_id);
        let Some(m) = g.members.get_mut(member_id) else {
            return group_code::UNKNOWN_MEMBER_ID;
        };
        if !pending_join && now.duration_since(m.last_seen) > m.session_timeout {
            // Expired, and the sweep has not come round yet (it runs every SWEEP_INTERVAL,
            // later on a loaded machine): gone, as in Kafka, not brought back by a late
            // heartbeat.
            tracing::info!(member = %member_id, "a Kafka group member's session expired; rebalancing");
            let timer = g.remove(member_id);
            Self::arm(group.clone(), timer);
            return group_code::UNKNOWN_MEMBER_ID;
        }
        m.last_seen = now;
        if phase == Phase::PreparingRebalance {
            return group_code::REBALANCE_IN_PROGRESS;
        }
        if generation != current {
            return group_code::ILLEGAL_GENERATION;
        }
        code::NONE
    }

    /// LeaveGroup for each member id; the error code of each.
    pub async fn leave(&self, group_id: &str, member_ids: &[String]) -> Vec<i16> {
        let Some(group) = self.existing(group_id).await else {
            return vec![group_code::UNKNOWN_MEMBER_ID; member_ids.len()];
        };
        let mut out = Vec::new();
        let mut g = group.lock().await;
        for id in member_ids {
            if g.members.contains_key(id) {
                let timer = g.remove(id);
                Self::arm(group.clone(), timer);
                out.push(code::NONE);
            } else {
                out.push(group_code::UNKNOWN_MEMBER_ID);
            }
        }
        out
    }

    /// OffsetCommit's membership check, Kafka's GroupCoordinator rules: a commit with
    /// generation -1 and no member id is a "simple" commit from a client that assigns
    /// partitions itself, accepted only while the group has no members (UNKNOWN_MEMBER_ID
    /// otherwise). Any other commit must come from a current member with the current
    /// generation; it is accepted while the group is Stable and also while it is
    /// PreparingRebalance (so an eager consumer can commit in its revocation callback; the
    /// rebalance reaches it through its heartbeat), and refused with REBALANCE_IN_PROGRESS
    /// while CompletingRebalance (the member already has the next generation's JoinGroup
    /// answer). An accepted member commit counts as a heartbeat, as in Kafka.
    pub async fn check_commit(&self, group_id: &str, member_id: &str, generation: i32) -> i16 {
        let simple = generation < 0 && member_id.is_empty();
        let Some(group) = self.existing(group_id).await else {
            return if simple {
                code::NONE
            } else {
                group_code::UNKNOWN_MEMBER_ID
            };
        };
        let mut g = group.lock().await;
        if simple {
            return if g.members.is_empty() {
                code::NONE
            } else {
                group_code::UNKNOWN_MEMBER_ID
            };
        }
        let phase = g.phase;
        let current = g.generation;
        let Some(m) = g.members.get_mut(member_id) else {
            return group_code::UNKNOWN_MEMBER_ID;
        };
        if generation != current {
            return group_code::ILLEGAL_GENERATION;
        }
        match phase {
            Phase::CompletingRebalance => group_code::REBALANCE_IN_PROGRESS,
            Phase::Empty | Phase::Stable | Phase::PreparingRebalance => {
                m.last_seen = Instant::now();
                code::NONE
            }
        }
    }

    /// DeleteGroups' membership check: NON_EMPTY_GROUP while the group has members here.
    /// Returns whether the group is known to this coordinator; a deletable group is
    /// forgotten (its generation starts over, as a deleted Kafka group's does).
    pub async fn forget_if_empty(&self, group_id: &str) -> Result<bool, i16> {
        let mut groups = self.groups.lock().await;
        let Some(group) = groups.get(group_id).cloned() else {
            return Ok(false);
        };
        let g = group.lock().await;
        if !g.members.is_empty() || !g.pending_joins.is_empty() {
            return Err(group_code::NON_EMPTY_GROUP);
        }
        drop(g);
        groups.remove(group_id);
        Ok(true)
    }

    /// The groups with members or a past here, sorted.
    pub async fn group_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.groups.lock().await.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// A group's state and members; `None` for a group this coordinator never saw.
    pub async fn describe(&self, group_id: &str) -> Option<GroupView> {
        let group = self.existing(group_id).await?;
        let g = group.lock().await;
        Some(GroupView {
            state: match g.phase {
                Phase::Empty => "Empty",
                Phase::PreparingRebalance => "PreparingRebalance",
                Phase::CompletingRebalance => "CompletingRebalance",
                Phase::Stable => "Stable",
            },
            protocol_type: g.protocol_type.clone(),
            protocol: g.protocol.clone(),
            members: g
                .members
                .iter()
                .map(|(id, m)| {
                    let meta = m
                        .protocols
                        .iter()
                        .find(|(n, _)| *n == g.protocol)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default();
                    (id.clone(), m.client_id.clone(), meta, m.assignment.clone())
                })
                .collect(),
        })
    }

    /// Drops members whose session expired, forever (until the coordinator is dropped).
    pub async fn sweep_forever(self: Arc<Self>) {
        loop {
            tokio::time::sleep(SWEEP_INTERVAL).await;
            let groups: Vec<Arc<Mutex<Group>>> =
                self.groups.lock().await.values().cloned().collect();
            for group in groups {
                let mut g = group.lock().await;
                let now = Instant::now();
                let expired: Vec<String> = g
                    .members
                    .iter()
                    .filter(|(id, m)| {
                        !g.pending_joins.contains_key(*id)
                            && now.duration_since(m.last_seen) > m.session_timeout
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in expired {
                    tracing::info!(member = %id, "a Kafka group member's session expired; rebalancing");
                    let timer = g.remove(&id);
                    Self::arm(group.clone(), timer);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No sweep runs here: only the heartbeat itself can find the session expired.
    #[tokio::test]
    async fn a_heartbeat_after_the_session_expired_is_refused_before_any_sweep() {
        let c = Coordinator::default();
        let joined = c
            .join(
                "g",
                "",
                "client",
                "consumer",
                vec![("range".to_owned(), Bytes::from_static(b"meta"))],
                MIN_SESSION,
                Duration::from_millis(1_000),
                false,
            )
            .await;
        assert_eq!(joined.error, code::NONE);
        let (id, generation) = (joined.member_id, joined.generation);
        assert_eq!(c.heartbeat("g", &id, generation).await, code::NONE);
        tokio::time::sleep(MIN_SESSION + Duration::from_millis(200)).await;
        assert_eq!(
            c.heartbeat("g", &id, generation).await,
            group_code::UNKNOWN_MEMBER_ID,
            "a late heartbeat does not bring an expired member back"
        );
        assert_eq!(
            c.heartbeat("g", &id, generation).await,
            group_code::UNKNOWN_MEMBER_ID
        );
    }
}
