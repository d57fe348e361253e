//! Compatibility: a candidate against a subject's history (as a registration checks it, or
//! against one version), on the work pool and within `max_compared_pairs`.

use std::sync::Arc;

use strata_schema::{
    check_compatibility, CompatibilityLevel, CompatibilityPolicy, CompatibilityResult, ParsedSchema,
};

use super::{live, Registry};
use crate::entities::RegisterSchemaRequest;
use crate::storage::VersionRecord;
use crate::types::{Subject, VersionId};
use crate::{Error, Result};

impl Registry {
    pub(super) async fn check_against(
        &self,
        new: &Arc<ParsedSchema>,
        versions: &[VersionRecord],
        level: CompatibilityLevel,
        policy: CompatibilityPolicy,
        only: Option<VersionRecord>,
    ) -> Result<CompatibilityResult> {
        let chosen: Vec<VersionRecord> = match only {
            Some(v) => vec![v],
            None if level.is_transitive() => live(versions).rev().copied().collect(),
            None => live(versions).next_back().copied().into_iter().collect(),
        };
        let mut parsed = Vec::with_capacity(chosen.len());
        for v in &chosen {
            parsed.push((v.version, self.parsed(v.schema_id).await?));
        }
        let new = new.clone();
        let max_pairs = self.settings.limits.max_compared_pairs;
        let result = self
            .pool
            .run("check compatibility", move || {
                let previous: Vec<(i32, &ParsedSchema)> =
                    parsed.iter().map(|(v, p)| (*v, p.as_ref())).collect();
                strata_schema::limits::with_max_compared_pairs(max_pairs, || {
                    check_compatibility(level, policy, &new, &previous)
                })
            })
            .await?;
        // A check that hit a complexity limit found nothing: refuse the request (42201).
        if let Some(limit) = result
            .messages
            .iter()
            .find(|m| m.contains("(max_compared_pairs)"))
        {
            return Err(Error::InvalidSchema(limit.clone()));
        }
        self.events.compatibility_checked(result.is_compatible);
        Ok(result)
    }

    /// Test a schema against a subject (`POST /compatibility/subjects/{s}/versions[/{v}]`).
    /// `version: None` checks as a registration would. With `verbose`, an unparsable schema is
    /// reported as incompatible with the reason instead of 42201, as Confluent does.
    pub async fn test_compatibility(
        &self,
        subject: &Subject,
        version: Option<VersionId>,
        req: &RegisterSchemaRequest,
        normalize: bool,
        verbose: bool,
    ) -> Result<CompatibilityResult> {
        let state = self.storage.subject_state(subject.as_str()).await?;
        let versions = state.versions;
        let only = match version {
            None => None,
            Some(VersionId::Latest) => match live(&versions).next_back() {
                Some(v) => Some(*v),
                // Confluent: checking against `latest` of a missing subject is compatible.
                None => {
                    return Ok(CompatibilityResult {
                        is_compatible: true,
                        messages: Vec::new(),
                    })
                }
            },
            // Confluent answers 40402 for a numbered version that is missing or soft-deleted,
            // whether or not the subject has any version at all.
            Some(VersionId::Number(n)) => Some(
                *live(&versions)
                    .find(|v| v.version == n)
                    .ok_or_else(|| Error::VersionNotFound(n.to_string()))?,
            ),
        };
        let config = self.in_force_from(subject, &state.scope)?;
        let candidate = match self
            .candidate(
                subject,
                req,
                &versions,
                normalize || config.normalize,
                true,
                true,
            )
            .await
        {
            Ok(c) => c,
            Err(Error::InvalidSchema(reason)) if verbose => {
                return Ok(CompatibilityResult {
                    is_compatible: false,
                    messages: vec![reason],
                })
            }
            Err(e) => return Err(e),
        };
        let level = if config.level == CompatibilityLevel::None {
            return Ok(CompatibilityResult {
                is_compatible: true,
                messages: Vec::new(),
            });
        } else {
            config.level
        };
        self.check_against(&candidate.parsed, &versions, level, config.policy, only)
            .await
    }
}
