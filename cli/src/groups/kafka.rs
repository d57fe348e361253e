//! `strata groups list|describe|reset-offsets|delete --bootstrap-servers`: consumer groups on
//! Kafka through librdkafka: ListGroups/DescribeGroups for the groups and their members (the
//! assignment decoded from the consumer protocol), OffsetFetch for committed offsets, the
//! partitions' watermarks for end offsets and lag. A reset commits the new offsets as a
//! consumer of the group that does not join it (what kafka-consumer-groups.sh does), which
//! Kafka accepts only while the group has no live members; delete is the admin DeleteGroups.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::{GroupView, MemberView, OffsetView};
use crate::output::negative;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to Kafka for group administration.
pub struct Kafka {
    settings: Vec<(String, String)>,
    /// A consumer outside any group, for listings, metadata and watermarks.
    probe: BaseConsumer,
}

fn config(settings: &[(String, String)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (k, v) in settings {
        config.set(k, v);
    }
    config
}

/// A group-level answer from Kafka as the CLI reports it: a group that does not exist or has
/// live members is a refusal (exit 1), anything else could not run (2).
fn refused(group: &str, what: &str, e: KafkaError) -> anyhow::Error {
    match crate::topics::admin_code(&e) {
        Some(RDKafkaErrorCode::GroupIdNotFound) => {
            negative(format!("group `{group}` does not exist"))
        }
        Some(RDKafkaErrorCode::NonEmptyGroup) => negative(format!(
            "group `{group}` has live members; stop its consumers first"
        )),
        Some(RDKafkaErrorCode::UnknownMemberId | RDKafkaErrorCode::RebalanceInProgress) => {
            negative(format!(
                "group `{group}` has live members; offsets can only be reset while the group \
                 is inactive: stop its consumers first"
            ))
        }
        Some(
            RDKafkaErrorCode::UnsupportedVersion
            | RDKafkaErrorCode::InvalidRequest
            | RDKafkaErrorCode::UnsupportedFeature,
        ) => anyhow!("cannot {what} group `{group}`: this Kafka broker does not support it ({e})"),
        _ => anyhow!("cannot {what} group `{group}` on Kafka: {e}"),
    }
}

impl Kafka {
    /// A connection with these rdkafka settings.
    pub fn connect(settings: &[(String, String)]) -> Result<Kafka> {
        let mut probe_settings = settings.to_vec();
        probe_settings.push(("group.id".into(), "strata-groups-admin".into()));
        let probe = config(&probe_settings)
            .create()
            .context("cannot create a Kafka consumer")?;
        Ok(Kafka {
            settings: settings.to_vec(),
            probe,
        })
    }

    /// A consumer of `group` that never joins it (reads and commits its offsets).
    fn group_consumer(&self, group: &str) -> Result<BaseConsumer> {
        let mut settings = self.settings.clone();
        settings.push(("group.id".into(), group.into()));
        settings.push(("enable.auto.commit".into(), "false".into()));
        config(&settings)
            .create()
            .context("cannot create a Kafka consumer")
    }

    /// The consumer groups, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        let list = self
            .probe
            .fetch_group_list(None, TIMEOUT)
            .map_err(|e| anyhow!("cannot list the consumer groups on Kafka: {e}"))?;
        let mut names: Vec<String> = list
            .groups()
            .iter()
            .filter(|g| g.protocol_type().is_empty() || g.protocol_type() == "consumer")
            .map(|g| g.name().to_string())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The group's state and live members, or `None` when Kafka does not know it.
    fn members(&self, group: &str) -> Result<Option<(String, Vec<MemberView>)>> {
        let list = self
            .probe
            .fetch_group_list(Some(group), TIMEOUT)
            .map_err(|e| refused(group, "describe", e))?;
        let Some(info) = list.groups().iter().find(|g| g.name() == group) else {
            return Ok(None);
        };
        if info.state() == "Dead" {
            return Ok(None);
        }
        let members = info
            .members()
            .iter()
            .map(|m| MemberView {
                member_id: m.id().to_string(),
                client: format!("{} ({})", m.client_id(), m.client_host()),
                pid: None,
                topics: m.metadata().map(subscribed_topics).unwrap_or_default(),
                assignment: m.assignment().map(assigned).unwrap_or_default(),
            })
            .collect();
        Ok(Some((info.state().to_string(), members)))
    }

    /// Every partition of every topic but Kafka's internal ones.
    fn all_partitions(&self) -> Result<Vec<(String, i32)>> {
        let md = self
            .probe
            .fetch_metadata(None, TIMEOUT)
            .map_err(|e| anyhow!("cannot read Kafka's metadata: {e}"))?;
        Ok(md
            .topics()
            .iter()
            .filter(|t| !t.name().starts_with("__"))
            .flat_map(|t| {
                t.partitions()
                    .iter()
                    .map(|p| (t.name().to_string(), p.id()))
            })
            .collect())
    }

    /// The partitions of `topic`; a refusal when it does not exist.
    fn partitions(&self, topic: &str) -> Result<Vec<(String, i32)>> {
        let md = self
            .probe
            .fetch_metadata(Some(topic), TIMEOUT)
            .map_err(|e| anyhow!("cannot read the metadata of `{topic}`: {e}"))?;
        let mut out = Vec::new();
        for t in md.topics() {
            if t.error().is_some() || t.partitions().is_empty() {
                return Err(negative(format!("topic `{topic}` does not exist")));
            }
            out.extend(t.partitions().iter().map(|p| (topic.to_string(), p.id())));
        }
        Ok(out)
    }

    /// The group's committed offsets among `partitions`.
    fn committed(
        &self,
        consumer: &BaseConsumer,
        partitions: &[(String, i32)],
    ) -> Result<BTreeMap<(String, i32), i64>> {
        let mut list = TopicPartitionList::new();
        for (t, p) in partitions {
            list.add_partition(t, *p);
        }
        if list.count() == 0 {
            return Ok(BTreeMap::new());
        }
        let got = consumer
            .committed_offsets(list, TIMEOUT)
            .map_err(|e| anyhow!("cannot read the group's committed offsets: {e}"))?;
        Ok(got
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(((e.topic().to_string(), e.partition()), o)),
                _ => None,
            })
            .collect())
    }

    fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        self.probe
            .fetch_watermarks(topic, partition, TIMEOUT)
            .map_err(|e| anyhow!("cannot read the offsets of {topic}-{partition}: {e}"))
    }

    /// `describe`: members, and per partition committed or assigned, the committed offset,
    /// the end offset and the lag.
    pub fn describe(&self, group: &str) -> Result<GroupView> {
        let consumer = self.group_consumer(group)?;
        let members = self.members(group)?;
        let committed = self.committed(&consumer, &self.all_partitions()?)?;
        let Some((state, members)) = members.or_else(|| {
            // Kafka keeps the offsets of a group with no members as an Empty group.
            (!committed.is_empty()).then(|| ("Empty".to_string(), Vec::new()))
        }) else {
            return Err(negative(format!("group `{group}` does not exist")));
        };
        let mut partitions: BTreeSet<(String, i32)> = committed.keys().cloned().collect();
        for m in &members {
            partitions.extend(m.assignment.iter().cloned());
        }
        let mut offsets = Vec::new();
        for (topic, partition) in partitions {
            let (_, end) = self.watermarks(&topic, partition)?;
            let committed = committed.get(&(topic.clone(), partition)).copied();
            offsets.push(OffsetView {
                lag: committed.map(|c| (end - c).max(0)),
                topic,
                partition,
                committed,
                end,
            });
        }
        Ok(GroupView {
            group: group.to_string(),
            state: Some(state),
            members,
            offsets,
        })
    }

    /// `reset-offsets`: the plan (partition, current, new); applied with `execute`.
    pub fn reset(
        &self,
        group: &str,
        topics: &[String],
        all_topics: bool,
        to: &super::ResetTo,
        execute: bool,
    ) -> Result<super::Plan> {
        let live = self.members(group)?.map_or(0, |(_, members)| members.len());
        if execute && live > 0 {
            return Err(negative(format!(
                "group `{group}` has {live} live member(s); offsets can only be reset while the \
                 group is inactive: stop its consumers first"
            )));
        }
        let consumer = self.group_consumer(group)?;
        let partitions = if all_topics {
            self.committed(&consumer, &self.all_partitions()?)?
                .into_keys()
                .collect()
        } else {
            let mut all = Vec::new();
            for t in topics {
                all.extend(self.partitions(t)?);
            }
            all
        };
        let committed = self.committed(&consumer, &partitions)?;
        let mut plan = Vec::new();
        for (topic, partition) in partitions {
            let (start, end) = self.watermarks(&topic, partition)?;
            let current = committed.get(&(topic.clone(), partition)).copied();
            let target = match to {
                super::ResetTo::Earliest => start,
                super::ResetTo::Latest => end,
                super::ResetTo::Offset(n) => *n,
                super::ResetTo::Time(ts) => {
                    let mut list = TopicPartitionList::new();
                    list.add_partition_offset(&topic, partition, Offset::Offset(*ts))
                        .map_err(|e| anyhow!("cannot look up {topic}-{partition}: {e}"))?;
                    let found = self
                        .probe
                        .offsets_for_times(list, TIMEOUT)
                        .map_err(|e| anyhow!("cannot find offsets for the time: {e}"))?;
                    match found.find_partition(&topic, partition).map(|e| e.offset()) {
                        Some(Offset::Offset(o)) => o,
                        _ => end,
                    }
                }
                super::ResetTo::Shift(n) => {
                    let Some(c) = current else {
                        return Err(negative(format!(
                            "group `{group}` has no committed offset for {topic}-{partition} to \
                             shift; use --to-earliest, --to-latest or --to-offset for it"
                        )));
                    };
                    c.saturating_add(*n)
                }
            };
            plan.push(((topic, partition), current, target.clamp(start, end)));
        }
        if execute && !plan.is_empty() {
            let mut list = TopicPartitionList::new();
            for ((t, p), _, new) in &plan {
                list.add_partition_offset(t, *p, Offset::Offset(*new))
                    .map_err(|e| anyhow!("cannot commit offset {new} of {t}-{p}: {e}"))?;
            }
            consumer
                .commit(&list, CommitMode::Sync)
                .map_err(|e| refused(group, "reset the offsets of", e))?;
        }
        Ok(plan)
    }

    /// `delete`: Kafka's DeleteGroups (refused while the group has live members).
    pub fn delete(&self, group: &str) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = config(&self.settings)
            .create()
            .context("cannot create a Kafka admin client")?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        let results = rt.block_on(admin.delete_groups(&[group], &options));
        let unsupported = match &results {
            Err(e) => crate::topics::admin_code(e) == Some(RDKafkaErrorCode::UnsupportedFeature),
            Ok(results) => results
                .iter()
                .any(|r| matches!(r, Err((_, RDKafkaErrorCode::UnsupportedFeature)))),
        };
        if unsupported {
            // librdkafka 2.12 aborts when it destroys a client whose DeleteGroups the broker
            // did not support; the command ends here, so the client is left to the exit.
            std::mem::forget(admin);
            return Err(anyhow!(
                "cannot delete group `{group}`: this Kafka broker does not support it \
                 (DeleteGroups)"
            ));
        }
        for r in results.map_err(|e| refused(group, "delete", e))? {
            r.map_err(|(g, code)| refused(&g, "delete", KafkaError::AdminOp(code)))?;
        }
        Ok(())
    }
}

/// A byte reader over the consumer protocol's big-endian fields; `None` on a short read.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = usize::try_from(self.i16()?).ok()?;
        Some(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    /// An array length, bounded by the bytes left (each item takes at least `min` bytes).
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = usize::try_from(self.i32()?).ok()?;
        (n.saturating_mul(min) <= self.0.len()).then_some(n)
    }
}

/// The topics of a consumer-protocol subscription (a member's metadata); empty when it is not
/// one.
fn subscribed_topics(metadata: &[u8]) -> Vec<String> {
    let mut r = Reader(metadata);
    let parse = |r: &mut Reader<'_>| -> Option<Vec<String>> {
        r.i16()?;
        let n = r.count(2)?;
        (0..n).map(|_| r.string()).collect()
    };
    parse(&mut r).unwrap_or_default()
}

/// The partitions of a consumer-protocol assignment; empty when it is not one.
fn assigned(assignment: &[u8]) -> Vec<(String, i32)> {
    let mut r = Reader(assignment);
    let parse = |r: &mut Reader<'_>| -> Option<Vec<(String, i32)>> {
        r.i16()?;
        let topics = r.count(6)?;
        let mut out = Vec::new();
        for _ in 0..topics {
            let topic = r.string()?;
            let partitions = r.count(4)?;
            for _ in 0..partitions {
                out.push((topic.clone(), r.i32()?));
            }
        }
        Some(out)
    };
    parse(&mut r).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_protocol_assignments_and_subscriptions_decode_and_garbage_reads_as_empty() {
        // version 0; topics [("orders", [0, 2])]; no user data.
        let mut a = vec![0, 0, 0, 0, 0, 1, 0, 6];
        a.extend_from_slice(b"orders");
        a.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            assigned(&a),
            vec![("orders".to_string(), 0), ("orders".to_string(), 2)]
        );
        let mut s = vec![0, 1, 0, 0, 0, 1, 0, 6];
        s.extend_from_slice(b"orders");
        assert_eq!(subscribed_topics(&s), vec!["orders".to_string()]);
        assert!(assigned(&[0, 0, 0x7f, 0xff, 0xff, 0xff]).is_empty());
        assert!(assigned(&[1]).is_empty());
        assert!(subscribed_topics(&[]).is_empty());
    }
}
