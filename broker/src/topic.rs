//! Topics on disk: `topics/<name>/topic.json` (partition count and configuration) and one
//! directory per partition. Creation and deletion are a rename, so other processes see a topic
//! whole or not at all; changes to `topic.json` are a write to a temporary file and a rename,
//! under `topic.lock`.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use fs4::fs_std::FileExt;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::config::TopicConfig;
use crate::durable::{replace_file, sync_dir, Durability};
use crate::error::{Error, IoContext, Result};
use crate::partition::{Leases, Notifier, Partition};

/// How often a topic's metadata is re-read to notice other processes' changes.
const METADATA_MAX_AGE: Duration = Duration::from_millis(500);

/// Checks a topic name by Kafka's rules.
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 249 {
        Some("it is longer than 249 characters")
    } else if name == "." || name == ".." {
        Some("`.` and `..` are reserved")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        Some("only ASCII letters, digits, `.`, `_` and `-` are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidTopicName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The contents of `topic.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TopicMeta {
    pub partitions: u32,
    pub config: TopicConfig,
}

/// Writes `topic.json` in `dir` atomically.
pub(crate) fn write_meta(dir: &Path, meta: &TopicMeta) -> Result<()> {
    let path = dir.join("topic.json");
    let json = serde_json::to_vec_pretty(meta).map_err(|e| Error::BadMetadata {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    replace_file(&path, &json, Durability::Durable)
}

/// Reads `topic.json`; `None` when the topic is gone.
pub(crate) fn read_meta(dir: &Path) -> Result<Option<(TopicMeta, SystemTime)>> {
    let path = dir.join("topic.json");
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read topic metadata", &path, e)),
    };
    let mtime = fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let meta: TopicMeta = serde_json::from_slice(&bytes).map_err(|e| Error::BadMetadata {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    meta.config.validate()?;
    Ok(Some((meta, mtime)))
}

#[derive(Debug)]
struct TopicState {
    config: TopicConfig,
    partitions: Vec<Arc<Partition>>,
    mtime: SystemTime,
}

/// A topic as this process sees it.
#[derive(Debug)]
pub(crate) struct Topic {
    pub name: Arc<str>,
    pub dir: PathBuf,
    state: RwLock<TopicState>,
    checked: Mutex<Instant>,
    notifier: Arc<Notifier>,
    leases: Arc<Leases>,
}

impl Topic {
    /// Opens a topic directory; `None` if it has no metadata (deleted).
    pub fn open(
        name: &str,
        dir: PathBuf,
        notifier: Arc<Notifier>,
        leases: Arc<Leases>,
    ) -> Result<Option<Topic>> {
        let Some((meta, mtime)) = read_meta(&dir)? else {
            return Ok(None);
        };
        let name: Arc<str> = Arc::from(name);
        let mut partitions = Vec::with_capacity(meta.partitions as usize);
        for p in 0..meta.partitions {
            partitions.push(Arc::new(Partition::open(
                name.clone(),
                p as i32,
                dir.join(p.to_string()),
                notifier.clone(),
                leases.clone(),
            )?));
        }
        Ok(Some(Topic {
            name,
            dir,
            state: RwLock::new(TopicState {
                config: meta.config,
                partitions,
                mtime,
            }),
            checked: Mutex::new(Instant::now()),
            notifier,
            leases,
        }))
    }

    /// Re-reads the metadata if it may be stale. `Ok(false)` means the topic was deleted.
    pub fn refresh(&self, force: bool) -> Result<bool> {
        {
            let mut checked = self.checked.lock();
            if !force && checked.elapsed() < METADATA_MAX_AGE {
                return Ok(true);
            }
            *checked = Instant::now();
        }
        let Some((meta, mtime)) = read_meta(&self.dir)? else {
            return Ok(false);
        };
        let mut st = self.state.write();
        if st.mtime == mtime && st.partitions.len() == meta.partitions as usize && !force {
            return Ok(true);
        }
        st.config = meta.config;
        st.mtime = mtime;
        for p in st.partitions.len() as u32..meta.partitions {
            st.partitions.push(Arc::new(Partition::open(
                self.name.clone(),
                p as i32,
                self.dir.join(p.to_string()),
                self.notifier.clone(),
                self.leases.clone(),
            )?));
        }
        Ok(true)
    }

    /// The configuration in force.
    pub fn config(&self) -> TopicConfig {
        self.state.read().config.clone()
    }

    /// The number of partitions.
    pub fn partition_count(&self) -> u32 {
        self.state.read().partitions.len() as u32
    }

    /// All partitions.
    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        self.state.read().partitions.clone()
    }

    /// One partition.
    pub fn partition(&self, p: i32) -> Result<Arc<Partition>> {
        let st = self.state.read();
        usize::try_from(p)
            .ok()
            .and_then(|i| st.partitions.get(i).cloned())
            .ok_or_else(|| Error::UnknownPartition {
                topic: self.name.to_string(),
                partition: p,
                partitions: st.partitions.len() as u32,
            })
    }

    /// Runs `f` on the metadata under the topic's file lock and writes the result.
    pub fn update_meta(&self, f: impl FnOnce(&mut TopicMeta) -> Result<()>) -> Result<()> {
        let lock_path = self.dir.join("topic.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .ctx("open topic lock", &lock_path)?;
        lock.lock_exclusive().ctx("lock topic", &lock_path)?;
        let result = (|| {
            let Some((mut meta, _)) = read_meta(&self.dir)? else {
                return Err(Error::UnknownTopic {
                    topic: self.name.to_string(),
                });
            };
            let before = meta.partitions;
            f(&mut meta)?;
            for p in before..meta.partitions {
                Partition::create(&self.dir.join(p.to_string()))?;
            }
            if meta.partitions > before {
                sync_dir(&self.dir)?;
            }
            write_meta(&self.dir, &meta)
        })();
        let _ = FileExt::unlock(&lock);
        result?;
        self.refresh(true)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        for ok in ["orders", "a.b_c-d", "__consumer_offsets", "X1"] {
            assert!(validate_name(ok).is_ok(), "{ok} should be valid");
        }
        for bad in ["", ".", "..", "has space", "slash/y", "ü"] {
            assert!(validate_name(bad).is_err(), "{bad:?} should be invalid");
        }
        assert!(validate_name(&"a".repeat(250)).is_err());
    }
}
