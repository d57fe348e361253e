//! The consumer: manual assignment or group subscription, positions, long polling, commits.
//!
//! `poll` never busy-waits: it sleeps on a condition variable that appends in this process
//! signal, waking at least every `BrokerConfig::external_poll_interval` to look at the files for
//! records written by other processes.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::broker::Broker;
use crate::config::{AutoOffsetReset, ConsumerConfig};
use crate::error::{Error, Result};
use crate::group::{self, Member, MEMBERSHIP_CHECK};
use crate::partition::{Fetch, ReadCursor};
use crate::record::{Chunk, ConsumerRecord, ConsumerRecords, OffsetAndTimestamp, TopicPartition};

/// Reads records. Cheap to clone; clones share one consumer (one position per partition).
#[derive(Debug, Clone)]
pub struct Consumer {
    broker: Broker,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct PartState {
    position: Option<i64>,
    cursor: Option<ReadCursor>,
    /// Fetched records not returned yet, never an empty chunk; `taken` records of the first
    /// chunk have been returned already.
    buffered: VecDeque<Chunk>,
    taken: usize,
}

#[derive(Debug)]
struct State {
    config: ConsumerConfig,
    subscription: Vec<String>,
    member: Option<Member>,
    assignment: Vec<TopicPartition>,
    parts: HashMap<TopicPartition, PartState>,
    /// Paused partitions: `poll` neither fetches nor returns their records.
    paused: HashSet<TopicPartition>,
    /// Partitions assigned to this member that another live member still reads: they are
    /// read once it lets them go (having committed its position), as Kafka's rebalance waits
    /// for every member to give up what it loses before anyone reads it.
    waiting: HashSet<TopicPartition>,
    last_check: Option<Instant>,
    last_commit: Instant,
    next_start: usize,
    closed: bool,
}

impl Consumer {
    pub(crate) fn new(broker: Broker, config: ConsumerConfig) -> Result<Consumer> {
        if let Some(g) = &config.group_id {
            group::validate_group(g)?;
        }
        Ok(Consumer {
            broker,
            state: Arc::new(Mutex::new(State {
                config,
                subscription: Vec::new(),
                member: None,
                assignment: Vec::new(),
                parts: HashMap::new(),
                paused: HashSet::new(),
                waiting: HashSet::new(),
                last_check: None,
                last_commit: Instant::now(),
                next_start: 0,
                closed: false,
            })),
        })
    }

    /// Subscribes to topics as a member of the consumer group (replacing any subscription or
    /// assignment). Partitions are assigned on the next `poll`.
    pub fn subscribe(&self, topics: &[&str]) -> Result<()> {
        let mut st = self.state.lock();
        let Some(group) = st.config.group_id.clone() else {
            return Err(Error::NoGroup {
                what: "subscribe to topics",
            });
        };
        for t in topics {
            self.broker.topic(t)?;
        }
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        self.commit_auto(&mut st)?;
        match st.member.as_mut() {
            Some(m) => m.set_topics(topics.clone())?,
            None => {
                let m = Member::join(
                    self.broker.dir(),
                    &group,
                    topics.clone(),
                    st.config.session_timeout,
                )?;
                st.member = Some(m);
            }
        }
        st.subscription = topics;
        st.assignment.clear();
        st.parts.clear();
        st.paused.clear();
        st.waiting.clear();
        st.last_check = None;
        Ok(())
    }

    /// Assigns partitions by hand (no group membership; commits still go to the group, if any).
    pub fn assign(&self, partitions: &[TopicPartition]) -> Result<()> {
        let mut st = self.state.lock();
        for tp in partitions {
            self.broker.partition(&tp.topic, tp.partition)?;
        }
        if let Some(m) = st.member.take() {
            m.leave();
        }
        st.subscription.clear();
        st.assignment = partitions.to_vec();
        st.parts.retain(|tp, _| partitions.contains(tp));
        st.paused.retain(|tp| partitions.contains(tp));
        st.waiting.clear();
        Ok(())
    }

    /// Leaves the group's subscription or drops the manual assignment.
    pub fn unsubscribe(&self) -> Result<()> {
        let mut st = self.state.lock();
        self.commit_auto(&mut st)?;
        if let Some(m) = st.member.take() {
            m.leave();
        }
        st.subscription.clear();
        st.assignment.clear();
        st.parts.clear();
        st.paused.clear();
        st.waiting.clear();
        Ok(())
    }

    /// The partitions currently assigned.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        let mut st = self.state.lock();
        let _ = self.rebalance_if_due(&mut st, false);
        st.assignment.clone()
    }

    /// Checks the group membership and recomputes the assignment when it is due.
    fn rebalance_if_due(&self, st: &mut State, force: bool) -> Result<()> {
        if st.member.is_none() {
            return Ok(());
        }
        if !force
            && st
                .last_check
                .is_some_and(|t| t.elapsed() < MEMBERSHIP_CHECK)
        {
            return Ok(());
        }
        st.last_check = Some(Instant::now());
        let Some(member) = st.member.as_mut() else {
            return Ok(());
        };
        member.heartbeat()?;
        // Held until this member has published what it reads (`set_owned` below).
        let _assignment = member.lock_assignment()?;
        let live = member.live_members()?;
        let my_id = member.id.clone();
        let mut counts = BTreeMap::new();
        for t in &st.subscription {
            counts.insert(t.clone(), self.broker.topic(t)?.partition_count());
        }
        let mut plan = group::range_assign(&live, &counts);
        let mine = plan.remove(&my_id).unwrap_or_default();
        if mine != st.assignment {
            // Revoked partitions: commit what was consumed before letting them go.
            let revoked: Vec<TopicPartition> = st
                .assignment
                .iter()
                .filter(|tp| !mine.contains(tp))
                .cloned()
                .collect();
            let gained: Vec<TopicPartition> = mine
                .iter()
                .filter(|tp| !st.assignment.contains(tp))
                .cloned()
                .collect();
            st.waiting.extend(gained);
            if st.config.enable_auto_commit || st.config.commit_on_revoke {
                let offsets: Vec<(TopicPartition, i64)> = revoked
                    .iter()
                    .filter_map(|tp| {
                        st.parts
                            .get(tp)
                            .and_then(|p| p.position)
                            .map(|o| (tp.clone(), o))
                    })
                    .collect();
                if let Some(g) = &st.config.group_id {
                    group::commit(self.broker.dir(), g, &offsets)?;
                }
            }
            tracing::debug!(member = %my_id, assigned = mine.len(), revoked = revoked.len(), "rebalanced");
            st.parts.retain(|tp, _| mine.contains(tp));
            // As in Kafka, a partition assigned again after a rebalance is not paused.
            st.paused.retain(|tp| mine.contains(tp));
            st.waiting.retain(|tp| mine.contains(tp));
            st.assignment = mine;
        }
        // Partitions gained are read once no other live member reads them any more, from the
        // offset committed then (a position looked up while waiting may be older).
        let before: Vec<TopicPartition> = st.waiting.iter().cloned().collect();
        st.waiting
            .retain(|tp| live.iter().any(|m| m.id != my_id && m.owned.contains(tp)));
        for tp in before {
            if !st.waiting.contains(&tp) {
                st.parts.remove(&tp);
            }
        }
        let owned: Vec<TopicPartition> = st
            .assignment
            .iter()
            .filter(|tp| !st.waiting.contains(tp))
            .cloned()
            .collect();
        if let Some(member) = st.member.as_mut() {
            member.set_owned(owned)?;
        }
        Ok(())
    }

    /// Resolves a partition's position from the committed offset or the reset policy.
    fn ensure_position(&self, st: &mut State, tp: &TopicPartition) -> Result<i64> {
        if let Some(p) = st.parts.get(tp).and_then(|p| p.position) {
            return Ok(p);
        }
        let committed = match &st.config.group_id {
            Some(g) => group::committed(self.broker.dir(), g, tp)?,
            None => None,
        };
        let pos = match committed {
            Some(c) => c,
            None => self.reset(st.config.auto_offset_reset, tp, None)?,
        };
        st.parts.entry(tp.clone()).or_default().position = Some(pos);
        Ok(pos)
    }

    fn reset(
        &self,
        policy: AutoOffsetReset,
        tp: &TopicPartition,
        from: Option<i64>,
    ) -> Result<i64> {
        let (start, end) = self.broker.offsets(&tp.topic, tp.partition)?;
        match policy {
            AutoOffsetReset::Earliest => Ok(start),
            AutoOffsetReset::Latest => Ok(end),
            AutoOffsetReset::None => Err(Error::OffsetOutOfRange {
                topic: tp.topic.clone(),
                partition: tp.partition,
                offset: from.unwrap_or(-1),
                log_start: start,
                log_end: end,
            }),
        }
    }

    /// Fetches into one partition's buffer; true if records arrived.
    fn fill(&self, st: &mut State, tp: &TopicPartition) -> Result<bool> {
        let pos = self.ensure_position(st, tp)?;
        let max_bytes = st.config.max_partition_fetch_bytes;
        let partition = self.broker.partition(&tp.topic, tp.partition)?;
        let mut hint = st.parts.get_mut(tp).and_then(|p| p.cursor.take());
        let fetched = partition.fetch(pos, max_bytes, &mut hint);
        if let Some(ps) = st.parts.get_mut(tp) {
            ps.cursor = hint;
        }
        match fetched? {
            Fetch::Records(records, cursor) => {
                let ps = st.parts.entry(tp.clone()).or_default();
                let got = !records.spans.is_empty();
                if got {
                    ps.buffered.push_back(records);
                }
                ps.cursor = Some(cursor);
                Ok(got)
            }
            Fetch::Empty => Ok(false),
            Fetch::OutOfRange { log_start, log_end } => {
                // Retention moved the log start past us (or the offset is beyond the end):
                // Kafka's consumer applies auto.offset.reset here.
                let new = self.reset(st.config.auto_offset_reset, tp, Some(pos))?;
                tracing::info!(%tp, from = pos, to = new, log_start, log_end, "offset out of range; reset");
                let ps = st.parts.entry(tp.clone()).or_default();
                ps.position = Some(new);
                ps.cursor = None;
                Ok(false)
            }
        }
    }

    /// Takes up to `max` buffered records, advancing positions. Whole fetches move without
    /// touching their records; only a fetch split by `max` copies its share of record spans.
    fn drain(st: &mut State, out: &mut ConsumerRecords, max: usize) {
        let n = st.assignment.len();
        if n == 0 {
            return;
        }
        let start = st.next_start % n;
        for i in 0..n {
            if out.len() >= max {
                break;
            }
            let tp = st.assignment[(start + i) % n].clone();
            if st.paused.contains(&tp) {
                continue;
            }
            let Some(ps) = st.parts.get_mut(&tp) else {
                continue;
            };
            while out.len() < max {
                let Some(front) = ps.buffered.front() else {
                    break;
                };
                let left = front.spans.len() - ps.taken;
                let want = max - out.len();
                let part = if ps.taken == 0 && left <= want {
                    ps.buffered.pop_front()
                } else {
                    let k = left.min(want);
                    let part = front.part(ps.taken..ps.taken + k);
                    ps.taken += k;
                    if ps.taken == front.spans.len() {
                        ps.buffered.pop_front();
                        ps.taken = 0;
                    }
                    Some(part)
                };
                if let Some(part) = part {
                    if let Some(last) = part.spans.last() {
                        ps.position = Some(last.offset + 1);
                    }
                    out.push(part);
                }
            }
            // A compacted batch can end past its last record: skip the gap.
            if ps.buffered.is_empty() {
                if let (Some(c), Some(p)) = (&ps.cursor, ps.position) {
                    if c.next_offset > p {
                        ps.position = Some(c.next_offset);
                    }
                }
            }
        }
        st.next_start = st.next_start.wrapping_add(1);
    }

    /// Returns records, waiting up to `timeout` for some to arrive.
    pub fn poll(&self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        Ok(self.poll_records(timeout)?.into_owned())
    }

    /// As [`Consumer::poll`], with the records borrowed from the fetch buffers instead of
    /// owned: no allocation or reference count per record, for readers that decode or copy
    /// what they need as they go (positions advance exactly as with `poll`).
    pub fn poll_records(&self, timeout: Duration) -> Result<ConsumerRecords> {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock();
        if st.closed {
            return Err(Error::Closed { what: "consumer" });
        }
        if st.config.enable_auto_commit
            && st.last_commit.elapsed() >= st.config.auto_commit_interval
        {
            self.commit_auto(&mut st)?;
        }
        let max = st.config.max_poll_records.max(1);
        let notifier = self.broker.inner.notifier.clone();
        let external = self.broker.inner.config.external_poll_interval;
        loop {
            self.rebalance_if_due(&mut st, false)?;
            let seen = notifier.seq();
            let mut out = ConsumerRecords::default();
            Self::drain(&mut st, &mut out, max);
            if out.len() < max {
                let assignment = st.assignment.clone();
                // A partition that fails (corruption, I/O) fails the poll only once the records
                // already taken from the others are delivered: their positions have moved.
                let mut failed = None;
                for tp in &assignment {
                    let empty = st.parts.get(tp).is_none_or(|p| p.buffered.is_empty());
                    if empty && !st.paused.contains(tp) && !st.waiting.contains(tp) {
                        if let Err(e) = self.fill(&mut st, tp) {
                            failed.get_or_insert(e);
                        }
                    }
                }
                Self::drain(&mut st, &mut out, max);
                if let Some(e) = failed {
                    if out.is_empty() {
                        return Err(e);
                    }
                    return Ok(out);
                }
            }
            if !out.is_empty() {
                return Ok(out);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(out);
            }
            let mut wait = (deadline - now).min(external);
            if st.member.is_some() {
                wait = wait.min(MEMBERSHIP_CHECK);
            }
            // Release the consumer while sleeping so clones can commit or seek.
            drop(st);
            notifier.wait(seen, wait);
            st = self.state.lock();
        }
    }

    fn positions(st: &State) -> Vec<(TopicPartition, i64)> {
        st.assignment
            .iter()
            .filter_map(|tp| {
                st.parts
                    .get(tp)
                    .and_then(|p| p.position)
                    .map(|o| (tp.clone(), o))
            })
            .collect()
    }

    fn commit_auto(&self, st: &mut State) -> Result<()> {
        st.last_commit = Instant::now();
        if !st.config.enable_auto_commit {
            return Ok(());
        }
        if let Some(g) = &st.config.group_id {
            group::commit(self.broker.dir(), g, &Self::positions(st))?;
        }
        Ok(())
    }

    /// Commits the current positions (the records returned so far count as processed).
    pub fn commit(&self) -> Result<()> {
        let mut st = self.state.lock();
        let Some(g) = st.config.group_id.clone() else {
            return Err(Error::NoGroup {
                what: "commit offsets",
            });
        };
        group::commit(self.broker.dir(), &g, &Self::positions(&st))?;
        st.last_commit = Instant::now();
        Ok(())
    }

    /// Commits specific offsets (each the next offset to read).
    pub fn commit_offsets(&self, offsets: &[(TopicPartition, i64)]) -> Result<()> {
        let st = self.state.lock();
        let Some(g) = &st.config.group_id else {
            return Err(Error::NoGroup {
                what: "commit offsets",
            });
        };
        group::commit(self.broker.dir(), g, offsets)
    }

    /// The group's committed offset for a partition.
    pub fn committed(&self, tp: &TopicPartition) -> Result<Option<i64>> {
        let st = self.state.lock();
        let Some(g) = &st.config.group_id else {
            return Err(Error::NoGroup {
                what: "read committed offsets",
            });
        };
        group::committed(self.broker.dir(), g, tp)
    }

    fn require_assigned(st: &State, tp: &TopicPartition) -> Result<()> {
        if st.assignment.contains(tp) {
            Ok(())
        } else {
            Err(Error::NotAssigned {
                topic: tp.topic.clone(),
                partition: tp.partition,
            })
        }
    }

    /// Sets the next offset to read. An offset outside the log is handled by the reset policy
    /// on the next `poll`.
    pub fn seek(&self, tp: &TopicPartition, offset: i64) -> Result<()> {
        let mut st = self.state.lock();
        self.rebalance_if_due(&mut st, false)?;
        Self::require_assigned(&st, tp)?;
        let ps = st.parts.entry(tp.clone()).or_default();
        ps.position = Some(offset);
        ps.cursor = None;
        ps.buffered.clear();
        ps.taken = 0;
        Ok(())
    }

    /// Moves to the first offset in the log.
    pub fn seek_to_beginning(&self, tp: &TopicPartition) -> Result<()> {
        let (start, _) = self.broker.offsets(&tp.topic, tp.partition)?;
        self.seek(tp, start)
    }

    /// Moves to the end of the log.
    pub fn seek_to_end(&self, tp: &TopicPartition) -> Result<()> {
        let (_, end) = self.broker.offsets(&tp.topic, tp.partition)?;
        self.seek(tp, end)
    }

    /// Stops returning and fetching records of these assigned partitions until
    /// [`Consumer::resume`], keeping their positions (Kafka's `pause`). Records already fetched
    /// stay buffered for after the resume. A rebalance forgets pauses, as in Kafka.
    pub fn pause(&self, partitions: &[TopicPartition]) -> Result<()> {
        let mut st = self.state.lock();
        self.rebalance_if_due(&mut st, false)?;
        for tp in partitions {
            Self::require_assigned(&st, tp)?;
        }
        st.paused.extend(partitions.iter().cloned());
        Ok(())
    }

    /// Lets `poll` return records of these partitions again.
    pub fn resume(&self, partitions: &[TopicPartition]) -> Result<()> {
        let mut st = self.state.lock();
        self.rebalance_if_due(&mut st, false)?;
        for tp in partitions {
            Self::require_assigned(&st, tp)?;
        }
        for tp in partitions {
            st.paused.remove(tp);
        }
        Ok(())
    }

    /// The paused partitions, sorted.
    pub fn paused(&self) -> Vec<TopicPartition> {
        let st = self.state.lock();
        let mut out: Vec<TopicPartition> = st.paused.iter().cloned().collect();
        out.sort();
        out
    }

    /// The next offset this consumer will read from a partition.
    pub fn position(&self, tp: &TopicPartition) -> Result<i64> {
        let mut st = self.state.lock();
        self.rebalance_if_due(&mut st, false)?;
        Self::require_assigned(&st, tp)?;
        self.ensure_position(&mut st, tp)
    }

    /// For each partition, the first offset whose timestamp is at least the one given, or
    /// `None` if no record is that recent.
    pub fn offsets_for_times(
        &self,
        query: &[(TopicPartition, i64)],
    ) -> Result<Vec<Option<OffsetAndTimestamp>>> {
        query
            .iter()
            .map(|(tp, ts)| {
                let p = self.broker.partition(&tp.topic, tp.partition)?;
                Ok(p.offset_for_time(*ts)?
                    .map(|(offset, timestamp)| OffsetAndTimestamp { offset, timestamp }))
            })
            .collect()
    }

    /// Commits (with auto-commit on) and leaves the group. Also done on drop of the last clone.
    pub fn close(&self) -> Result<()> {
        let mut st = self.state.lock();
        if st.closed {
            return Ok(());
        }
        let result = self.commit_auto(&mut st);
        if let Some(m) = st.member.take() {
            m.leave();
        }
        st.closed = true;
        result
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if Arc::strong_count(&self.state) == 1 {
            if let Err(e) = self.close() {
                tracing::warn!(error = %e, "could not commit offsets while closing the consumer");
            }
        }
    }
}
