//! Mode: READWRITE, READONLY, READONLY_OVERRIDE, IMPORT and (globally) FORWARD, per scope.

use super::{live, Registry, Scope};
use crate::types::{Mode, Subject};
use crate::{Error, Result};

impl Registry {
    /// The stored mode of a scope.
    pub async fn stored_mode(&self, scope: &Scope) -> Result<Option<Mode>> {
        match self.storage.mode(scope.key()).await? {
            Some(m) => Ok(Some(m.parse()?)),
            None => Ok(None),
        }
    }

    /// The global mode (READWRITE when unset).
    pub async fn global_mode(&self) -> Result<Mode> {
        Ok(self.stored_mode(&Scope::Global).await?.unwrap_or_default())
    }

    /// The mode in force for a subject.
    pub async fn effective_mode(&self, subject: &Subject) -> Result<Mode> {
        Ok(self.in_force(subject).await?.mode)
    }

    /// Refuse (42205) when the subject's mode in force is read-only.
    pub(super) async fn ensure_writable(&self, subject: &Subject) -> Result<()> {
        if self.effective_mode(subject).await?.is_read_only() {
            return Err(Error::OperationNotPermitted(format!(
                "Subject {subject} is in read-only mode"
            )));
        }
        Ok(())
    }

    /// Set a scope's mode (`PUT /mode[/{s}]`).
    pub async fn set_mode(&self, scope: &Scope, mode: Mode, force: bool) -> Result<Mode> {
        if !self.settings.mode_mutability {
            return Err(Error::OperationNotPermitted(
                "Mode changes are not allowed".into(),
            ));
        }
        if mode == Mode::Forward && *scope != Scope::Global {
            return Err(Error::InvalidMode);
        }
        if mode == Mode::Import && !force {
            let has_subjects = match scope {
                Scope::Subject(s) => live(&self.versions(s).await?).next().is_some(),
                Scope::Global => self
                    .all_versions()
                    .await?
                    .iter()
                    .any(|sv| !sv.version.deleted),
            };
            if has_subjects {
                return Err(Error::OperationNotPermitted(
                    "Cannot import since found existing subjects".into(),
                ));
            }
        }
        self.storage.set_mode(scope.key(), mode.as_str()).await?;
        Ok(mode)
    }

    /// Remove a scope's mode; the previous one, if any.
    pub async fn delete_mode(&self, scope: &Scope) -> Result<Option<Mode>> {
        let previous = self.stored_mode(scope).await?;
        self.storage.delete_mode(scope.key()).await?;
        Ok(previous)
    }

    /// Subjects that have their own mode.
    pub async fn mode_subjects(&self) -> Result<Vec<String>> {
        Ok(self.storage.mode_scopes().await?)
    }
}
