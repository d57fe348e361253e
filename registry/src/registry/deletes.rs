//! Deletes: soft and permanent, of one version or a whole subject. Each delete is refused
//! while a live schema references what it would remove, evicts what it removed from this
//! instance's caches, and is logged by the storage for the other instances (`crate::coherence`).

use super::{live, Registry};
use crate::types::{Subject, VersionId};
use crate::{Error, Result};

impl Registry {
    async fn ensure_unreferenced(
        &self,
        subject: &Subject,
        version: i32,
        include_deleted: bool,
    ) -> Result<()> {
        if !self
            .referenced_by(subject, version, include_deleted)
            .await?
            .is_empty()
        {
            return Err(Error::ReferenceExists {
                subject: subject.to_string(),
                version,
            });
        }
        Ok(())
    }

    /// Delete one version (`DELETE /subjects/{s}/versions/{v}`); returns the version number.
    pub async fn delete_version(
        &self,
        subject: &Subject,
        version: VersionId,
        permanent: bool,
    ) -> Result<i32> {
        self.ensure_writable(subject).await?;
        let versions = self.versions(subject).await?;
        if versions.is_empty() {
            return Err(Error::SubjectNotFound(subject.to_string()));
        }
        let v = match version {
            VersionId::Latest => *live(&versions)
                .next_back()
                .ok_or_else(|| Error::SubjectNotFound(subject.to_string()))?,
            VersionId::Number(n) => *versions
                .iter()
                .find(|v| v.version == n)
                .ok_or_else(|| Error::VersionNotFound(n.to_string()))?,
        };
        if permanent {
            if !v.deleted {
                return Err(Error::VersionNotSoftDeleted {
                    subject: subject.to_string(),
                    version: v.version,
                });
            }
            self.ensure_unreferenced(subject, v.version, true).await?;
            let removed = self
                .storage
                .hard_delete(subject.as_str(), &[v.version])
                .await?;
            self.forget(subject, &[v.version], &removed);
            if versions.len() == 1 {
                self.clear_subject_settings(subject).await?;
            }
        } else {
            if v.deleted {
                return Err(Error::VersionSoftDeleted {
                    subject: subject.to_string(),
                    version: v.version,
                });
            }
            self.ensure_unreferenced(subject, v.version, false).await?;
            self.storage
                .soft_delete(subject.as_str(), &[v.version])
                .await?;
            self.forget(subject, &[v.version], &[]);
        }
        Ok(v.version)
    }

    /// Delete a subject (`DELETE /subjects/{s}`); returns the versions deleted.
    pub async fn delete_subject(&self, subject: &Subject, permanent: bool) -> Result<Vec<i32>> {
        self.ensure_writable(subject).await?;
        let versions = self.versions(subject).await?;
        if versions.is_empty() {
            return Err(Error::SubjectNotFound(subject.to_string()));
        }
        let live_versions: Vec<i32> = live(&versions).map(|v| v.version).collect();
        if permanent {
            if !live_versions.is_empty() {
                return Err(Error::SubjectNotSoftDeleted(subject.to_string()));
            }
            let all: Vec<i32> = versions.iter().map(|v| v.version).collect();
            for v in &all {
                self.ensure_unreferenced(subject, *v, true).await?;
            }
            let removed = self.storage.hard_delete(subject.as_str(), &all).await?;
            self.forget(subject, &all, &removed);
            self.clear_subject_settings(subject).await?;
            Ok(all)
        } else {
            if live_versions.is_empty() {
                return Err(Error::SubjectSoftDeleted(subject.to_string()));
            }
            for v in &live_versions {
                self.ensure_unreferenced(subject, *v, false).await?;
            }
            self.storage
                .soft_delete(subject.as_str(), &live_versions)
                .await?;
            self.forget(subject, &live_versions, &[]);
            Ok(live_versions)
        }
    }

    fn forget(&self, subject: &Subject, versions: &[i32], removed_ids: &[i64]) {
        for v in versions {
            self.caches.forget_version(subject.as_str(), *v);
        }
        for id in removed_ids {
            self.caches.forget_schema(*id);
        }
    }

    async fn clear_subject_settings(&self, subject: &Subject) -> Result<()> {
        // Confluent: permanently deleting a subject also deletes its config and mode.
        self.storage.delete_config(subject.as_str()).await?;
        self.storage.delete_mode(subject.as_str()).await?;
        Ok(())
    }
}
