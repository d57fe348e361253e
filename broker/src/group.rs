//! Consumer groups on disk, shared by every process that opens the log directory:
//!
//! ```text
//! groups/<group>/group.lock            flock, held briefly for joins, sweeps and commits
//! groups/<group>/assign.lock           flock, held by a member while it computes and publishes
//!                                      what it reads (`Member::lock_assignment`)
//! groups/<group>/offsets.json          committed offsets, replaced durably (`durable::replace_file`)
//! groups/<group>/members/<id>.lock     flock held by the live member for its whole life
//! groups/<group>/members/<id>.json     its subscription and last heartbeat
//! ```
//!
//! A member is live while its lock is held (the kernel drops it when the process dies, even by
//! SIGKILL) and its heartbeat is younger than its session timeout (a hung process). Every member
//! computes the same assignment from the same list of live members: for each topic, Kafka's
//! range assignor over the members subscribed to it, ordered by member id. Members look again at
//! the list every [`MEMBERSHIP_CHECK`]; a partition whose owner left is picked up from its last
//! committed offset, so delivery is at least once. Each member file also lists the partitions
//! the member reads (`owned`): a member that gains a partition waits until no other live member
//! lists it, and a member that loses one commits (when configured to) before it stops listing
//! it, so a hand-over in a rebalance re-delivers nothing that was committed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

use crate::broker::Broker;
use crate::durable::{replace_file, Durability};
use crate::error::{Error, IoContext, Result};
use crate::producer::now_ms;
use crate::record::TopicPartition;

/// How often a member re-reads the membership.
pub(crate) const MEMBERSHIP_CHECK: Duration = Duration::from_millis(100);

/// Checks a group id: the same characters as topic names, so it can name a directory.
pub(crate) fn validate_group(group: &str) -> Result<()> {
    crate::topic::validate_name(group).map_err(|_| Error::InvalidConfig {
        key: "group.id".into(),
        value: group.to_owned(),
        reason: "use 1 to 249 ASCII letters, digits, `.`, `_` or `-`".into(),
    })
}

fn group_dir(root: &Path, group: &str) -> PathBuf {
    root.join("groups").join(group)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MemberFile {
    topics: Vec<String>,
    /// The partitions the member reads now (see `Member::set_owned`); absent in files of
    /// older versions.
    #[serde(default)]
    owned: Vec<(String, i32)>,
    heartbeat_ms: i64,
    session_timeout_ms: i64,
    pid: u32,
}

/// A live member's view of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveMember {
    pub id: String,
    pub topics: Vec<String>,
    pub pid: u32,
    /// The partitions it reads now: a partition assigned to another member is read there
    /// only once this one has let it go (after committing its position).
    pub owned: Vec<TopicPartition>,
}

/// This process's membership in a group; leaving is dropping it.
#[derive(Debug)]
pub(crate) struct Member {
    pub id: String,
    dir: PathBuf,
    lock: File,
    topics: Vec<String>,
    owned: Vec<TopicPartition>,
    session_timeout: Duration,
    last_heartbeat: std::time::Instant,
}

fn lock_group(dir: &Path) -> Result<File> {
    fs::create_dir_all(dir.join("members")).ctx("create group directory", dir)?;
    let path = dir.join("group.lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .ctx("open group lock", &path)?;
    f.lock_exclusive().ctx("lock group", &path)?;
    Ok(f)
}

impl Member {
    /// Joins `group` subscribed to `topics`.
    pub fn join(
        root: &Path,
        group: &str,
        topics: Vec<String>,
        session_timeout: Duration,
    ) -> Result<Member> {
        validate_group(group)?;
        let dir = group_dir(root, group);
        let glock = lock_group(&dir)?;
        let id = format!("{:010}-{:016x}", std::process::id(), rand::random::<u64>());
        let lock_path = dir.join("members").join(format!("{id}.lock"));
        let result = (|| {
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .ctx("create member lock", &lock_path)?;
            lock.lock_exclusive().ctx("lock member", &lock_path)?;
            let m = Member {
                id,
                dir,
                lock,
                topics,
                owned: Vec::new(),
                session_timeout,
                last_heartbeat: std::time::Instant::now(),
            };
            m.write_file()?;
            Ok(m)
        })();
        let _ = FileExt::unlock(&glock);
        result
    }

    fn write_file(&self) -> Result<()> {
        let mf = MemberFile {
            topics: self.topics.clone(),
            owned: self
                .owned
                .iter()
                .map(|tp| (tp.topic.clone(), tp.partition))
                .collect(),
            heartbeat_ms: now_ms(),
            session_timeout_ms: self.session_timeout.as_millis() as i64,
            pid: std::process::id(),
        };
        let path = self.dir.join("members").join(format!("{}.json", self.id));
        let bytes = serde_json::to_vec(&mf).map_err(|e| Error::BadMetadata {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        replace_file(&path, &bytes, Durability::Volatile)
    }

    /// Refreshes the heartbeat if a third of the session timeout has passed.
    pub fn heartbeat(&mut self) -> Result<()> {
        if self.last_heartbeat.elapsed() >= self.session_timeout / 3 {
            self.write_file()?;
            self.last_heartbeat = std::time::Instant::now();
        }
        Ok(())
    }

    /// Changes the subscription.
    pub fn set_topics(&mut self, topics: Vec<String>) -> Result<()> {
        self.topics = topics;
        self.write_file()
    }

    /// Publishes the partitions this member reads now. A member publishes a partition only
    /// after it may read it (no other member owns it) and stops publishing it only after
    /// committing its position, so two members never read one partition at once.
    pub fn set_owned(&mut self, owned: Vec<TopicPartition>) -> Result<()> {
        if owned != self.owned {
            self.owned = owned;
            self.write_file()?;
        }
        Ok(())
    }

    /// Serialises the group's assignment step (reading who is live and what each member
    /// reads, then publishing what this one reads) across members and processes: without it
    /// two members joining at once could each see the other owning nothing yet and both start
    /// reading the same partitions from the beginning. Held until the returned file is
    /// dropped. A file apart from `group.lock`, which commits and sweeps take inside this step.
    pub fn lock_assignment(&self) -> Result<File> {
        let path = self.dir.join("assign.lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ctx("open group assignment lock", &path)?;
        f.lock_exclusive().ctx("lock group assignment", &path)?;
        Ok(f)
    }

    /// The live members, sorted by id; removes the files of dead ones.
    pub fn live_members(&self) -> Result<Vec<LiveMember>> {
        live_members(&self.dir)
    }

    /// Leaves the group: removes this member's files and drops its lock.
    pub fn leave(self) {
        let members = self.dir.join("members");
        let _ = fs::remove_file(members.join(format!("{}.json", self.id)));
        let _ = fs::remove_file(members.join(format!("{}.lock", self.id)));
        let _ = FileExt::unlock(&self.lock);
    }
}

fn live_members(dir: &Path) -> Result<Vec<LiveMember>> {
    let members_dir = dir.join("members");
    let entries = match fs::read_dir(&members_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list group members", &members_dir, e)),
    };
    let now = now_ms();
    let mut live = Vec::new();
    let mut dead = Vec::new();
    for entry in entries {
        let entry = entry.ctx("list group members", &members_dir)?;
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".lock")) else {
            continue;
        };
        let Ok(f) = OpenOptions::new().write(true).open(entry.path()) else {
            continue;
        };
        match f.try_lock_exclusive() {
            Ok(true) => {
                // Nobody holds it: the member is gone, or is joining right now (it locks its
                // file under the group lock). Let go at once and check again under the group
                // lock before sweeping, so a joining member is never blocked or swept.
                let _ = FileExt::unlock(&f);
                dead.push(id.to_owned());
                continue;
            }
            Ok(false) => {}
            Err(_) => continue,
        }
        let json = members_dir.join(format!("{id}.json"));
        let Ok(bytes) = fs::read(&json) else { continue };
        let Ok(mf) = serde_json::from_slice::<MemberFile>(&bytes) else {
            continue;
        };
        if now - mf.heartbeat_ms > mf.session_timeout_ms {
            // Alive but silent for longer than its session: out of the assignment.
            continue;
        }
        live.push(LiveMember {
            id: id.to_owned(),
            topics: mf.topics,
            pid: mf.pid,
            owned: mf
                .owned
                .into_iter()
                .map(|(t, p)| TopicPartition::new(t, p))
                .collect(),
        });
    }
    if !dead.is_empty() {
        // Sweep under the group lock so that a member being created is never swept.
        if let Ok(glock) = lock_group(dir) {
            for id in &dead {
                let lock_path = members_dir.join(format!("{id}.lock"));
                let Ok(f) = OpenOptions::new().write(true).open(&lock_path) else {
                    continue;
                };
                if matches!(f.try_lock_exclusive(), Ok(true)) {
                    let _ = fs::remove_file(members_dir.join(format!("{id}.json")));
                    let _ = fs::remove_file(&lock_path);
                    let _ = FileExt::unlock(&f);
                }
            }
            let _ = FileExt::unlock(&glock);
        }
    }
    live.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(live)
}

/// Kafka's range assignor: for each topic, its partitions split into contiguous ranges over the
/// members subscribed to it, in member-id order; the first members get one extra when the
/// division is not even.
pub(crate) fn range_assign(
    members: &[LiveMember],
    partitions: &BTreeMap<String, u32>,
) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out: BTreeMap<String, Vec<TopicPartition>> =
        members.iter().map(|m| (m.id.clone(), Vec::new())).collect();
    for (topic, &count) in partitions {
        let subs: Vec<&LiveMember> = members
            .iter()
            .filter(|m| m.topics.iter().any(|t| t == topic))
            .collect();
        if subs.is_empty() {
            continue;
        }
        let n = subs.len() as u32;
        let (per, extra) = (count / n, count % n);
        let mut next = 0;
        for (i, m) in subs.iter().enumerate() {
            let take = per + u32::from((i as u32) < extra);
            if let Some(list) = out.get_mut(&m.id) {
                for p in next..next + take {
                    list.push(TopicPartition::new(topic.clone(), p as i32));
                }
            }
            next += take;
        }
    }
    out
}

type Offsets = BTreeMap<String, BTreeMap<i32, i64>>;

fn read_offsets(dir: &Path) -> Result<Offsets> {
    let path = dir.join("offsets.json");
    match fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::BadMetadata {
            path,
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Offsets::new()),
        Err(e) => Err(Error::io("read committed offsets", &path, e)),
    }
}

/// Commits offsets for a group (merged with what is there), durably.
pub(crate) fn commit(root: &Path, group: &str, offsets: &[(TopicPartition, i64)]) -> Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let dir = group_dir(root, group);
    let glock = lock_group(&dir)?;
    let result = (|| {
        let mut all = read_offsets(&dir)?;
        for (tp, off) in offsets {
            all.entry(tp.topic.clone())
                .or_default()
                .insert(tp.partition, *off);
        }
        let path = dir.join("offsets.json");
        let bytes = serde_json::to_vec(&all).map_err(|e| Error::BadMetadata {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        replace_file(&path, &bytes, Durability::Durable)
    })();
    let _ = FileExt::unlock(&glock);
    result
}

/// A group's committed offset for a partition.
pub(crate) fn committed(root: &Path, group: &str, tp: &TopicPartition) -> Result<Option<i64>> {
    let all = read_offsets(&group_dir(root, group))?;
    Ok(all
        .get(&tp.topic)
        .and_then(|m| m.get(&tp.partition))
        .copied())
}

/// The largest offset any group committed for a partition (a source of the offsets a
/// partition handed out; see `Partition::handed_out`). Groups whose files cannot be read are
/// skipped: this is evidence, not the truth.
pub(crate) fn max_committed(root: &Path, topic: &str, partition: i32) -> Result<Option<i64>> {
    let groups = root.join("groups");
    let entries = match fs::read_dir(&groups) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("list groups", &groups, e)),
    };
    let mut max = None;
    for entry in entries {
        let entry = entry.ctx("list groups", &groups)?;
        if let Ok(all) = read_offsets(&entry.path()) {
            if let Some(&o) = all.get(topic).and_then(|m| m.get(&partition)) {
                max = max.max(Some(o));
            }
        }
    }
    Ok(max)
}

/// Deletes a group: its committed offsets and membership files. Refused while a member holds
/// its membership (Kafka answers NON_EMPTY_GROUP); a consumer joining afterwards starts a new,
/// empty group of the same name.
pub(crate) fn delete(root: &Path, group: &str) -> Result<()> {
    validate_group(group)?;
    let dir = group_dir(root, group);
    if !dir.is_dir() {
        return Err(Error::UnknownGroup {
            group: group.to_owned(),
        });
    }
    let glock = lock_group(&dir)?;
    let result = (|| {
        // Joins happen under the group lock, so no member is half-created now: a member lock
        // that cannot be taken belongs to a live (or hung) member.
        let members_dir = dir.join("members");
        let mut held = 0;
        for entry in fs::read_dir(&members_dir).ctx("list group members", &members_dir)? {
            let entry = entry.ctx("list group members", &members_dir)?;
            if !entry.file_name().to_string_lossy().ends_with(".lock") {
                continue;
            }
            let Ok(f) = OpenOptions::new().write(true).open(entry.path()) else {
                continue;
            };
            match f.try_lock_exclusive() {
                Ok(true) => {
                    let _ = FileExt::unlock(&f);
                }
                _ => held += 1,
            }
        }
        if held > 0 {
            return Err(Error::GroupNotEmpty {
                group: group.to_owned(),
                members: held,
            });
        }
        // One rename makes the deletion atomic; the files go afterwards.
        let grave = root.join("tmp").join(format!(
            "deleted-group-{group}-{:016x}",
            rand::random::<u64>()
        ));
        fs::rename(&dir, &grave).ctx("delete group", &dir)?;
        crate::durable::sync_dir(&root.join("groups"))?;
        Ok(grave)
    })();
    let _ = FileExt::unlock(&glock);
    let grave = result?;
    fs::remove_dir_all(&grave).ctx("remove deleted group files", &grave)
}

/// The names of all groups.
pub(crate) fn list_groups(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("groups");
    let mut out = Vec::new();
    for entry in fs::read_dir(&dir).ctx("list groups", &dir)? {
        let entry = entry.ctx("list groups", &dir)?;
        if let Some(n) = entry.file_name().to_str() {
            out.push(n.to_owned());
        }
    }
    out.sort();
    Ok(out)
}

/// A consumer group as `describe_group` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group: String,
    /// Live members, in id order.
    pub members: Vec<GroupMember>,
    /// Committed offsets with lag, per partition.
    pub offsets: Vec<PartitionLag>,
}

/// A live member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The member id.
    pub member_id: String,
    /// The process id it runs in.
    pub pid: u32,
    /// Topics it subscribes to.
    pub topics: Vec<String>,
    /// Partitions assigned to it.
    pub assignment: Vec<TopicPartition>,
}

/// A partition's committed offset and lag for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// The partition.
    pub topic_partition: TopicPartition,
    /// The committed offset (the next record the group will read).
    pub committed: i64,
    /// The partition's end offset.
    pub log_end_offset: i64,
    /// `log_end_offset - committed`, at least 0.
    pub lag: i64,
}

pub(crate) fn describe(broker: &Broker, group: &str) -> Result<GroupDescription> {
    validate_group(group)?;
    let dir = group_dir(broker.dir(), group);
    if !dir.exists() {
        return Err(Error::UnknownGroup {
            group: group.to_owned(),
        });
    }
    let live = live_members(&dir)?;
    let topics: BTreeSet<&String> = live.iter().flat_map(|m| &m.topics).collect();
    let mut counts = BTreeMap::new();
    for t in topics {
        if let Ok(topic) = broker.topic(t) {
            counts.insert(t.clone(), topic.partition_count());
        }
    }
    let mut assignment = range_assign(&live, &counts);
    let members = live
        .into_iter()
        .map(|m| GroupMember {
            assignment: assignment.remove(&m.id).unwrap_or_default(),
            member_id: m.id,
            pid: m.pid,
            topics: m.topics,
        })
        .collect();
    let mut offsets = Vec::new();
    for (topic, parts) in read_offsets(&dir)? {
        for (partition, committed) in parts {
            let log_end = broker
                .offsets(&topic, partition)
                .map(|(_, e)| e)
                .unwrap_or(committed);
            offsets.push(PartitionLag {
                topic_partition: TopicPartition::new(topic.clone(), partition),
                committed,
                log_end_offset: log_end,
                lag: (log_end - committed).max(0),
            });
        }
    }
    Ok(GroupDescription {
        group: group.to_owned(),
        members,
        offsets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, topics: &[&str]) -> LiveMember {
        LiveMember {
            id: id.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            pid: 1,
            owned: Vec::new(),
        }
    }

    #[test]
    fn range_assignment_splits_partitions_like_kafka() {
        let members = [m("a", &["t", "u"]), m("b", &["t"]), m("c", &["t"])];
        let counts = BTreeMap::from([("t".to_string(), 7), ("u".to_string(), 2)]);
        let a = range_assign(&members, &counts);
        let parts = |id: &str, topic: &str| -> Vec<i32> {
            a[id]
                .iter()
                .filter(|tp| tp.topic == topic)
                .map(|tp| tp.partition)
                .collect()
        };
        assert_eq!(parts("a", "t"), vec![0, 1, 2]);
        assert_eq!(parts("b", "t"), vec![3, 4]);
        assert_eq!(parts("c", "t"), vec![5, 6]);
        assert_eq!(parts("a", "u"), vec![0, 1]);
    }

    #[test]
    fn a_member_whose_lock_is_released_is_no_longer_live() {
        let dir = tempfile::tempdir().unwrap();
        let a = Member::join(dir.path(), "g", vec!["t".into()], Duration::from_secs(30)).unwrap();
        let b = Member::join(dir.path(), "g", vec!["t".into()], Duration::from_secs(30)).unwrap();
        assert_eq!(a.live_members().unwrap().len(), 2);
        // Simulate a crash: the lock goes away without the files being removed.
        let b_id = b.id.clone();
        drop(b);
        let live = a.live_members().unwrap();
        assert_eq!(live.len(), 1);
        assert_ne!(live[0].id, b_id);
    }

    #[test]
    fn commits_merge_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        commit(dir.path(), "g", &[(TopicPartition::new("t", 0), 5)]).unwrap();
        commit(dir.path(), "g", &[(TopicPartition::new("t", 1), 7)]).unwrap();
        assert_eq!(
            committed(dir.path(), "g", &TopicPartition::new("t", 0)).unwrap(),
            Some(5)
        );
        assert_eq!(
            committed(dir.path(), "g", &TopicPartition::new("t", 1)).unwrap(),
            Some(7)
        );
        assert_eq!(
            committed(dir.path(), "g", &TopicPartition::new("t", 2)).unwrap(),
            None
        );
    }
}
