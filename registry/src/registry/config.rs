//! Config: per-scope settings, typed. A scope is the global one or a subject's; a subject's
//! config is laid over the global one key by key. Keys Strata does not interpret are kept
//! verbatim, so a client's settings survive a round trip.

use serde_json::{Map, Value};
use strata_schema::{CompatibilityLevel, CompatibilityPolicy};

use super::Registry;
use crate::storage::ScopeRows;
use crate::types::{Mode, Subject};
use crate::{Error, Result};

/// Where a config or a mode applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The whole registry (`/config`, `/mode`).
    Global,
    /// One subject (`/config/{s}`, `/mode/{s}`).
    Subject(Subject),
}

impl Scope {
    /// The key of this scope in the config and mode tables (the global scope is `""`, which no
    /// subject can be).
    pub(crate) fn key(&self) -> &str {
        match self {
            Scope::Global => "",
            Scope::Subject(s) => s.as_str(),
        }
    }
}

/// A scope's config (Confluent's `Config`): the keys Strata acts on, typed, and every other
/// key verbatim.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// `compatibilityLevel`.
    pub compatibility_level: Option<CompatibilityLevel>,
    /// `compatibilityPolicy` (STRICT or LENIENT).
    pub compatibility_policy: Option<CompatibilityPolicy>,
    /// `normalize`: normalise schemas on register and lookup.
    pub normalize: Option<bool>,
    /// `validateFields`.
    pub validate_fields: Option<bool>,
    /// `validateRules`.
    pub validate_rules: Option<bool>,
    /// `validateNewSchemas`.
    pub validate_new_schemas: Option<bool>,
    /// `defaultRuleSet`, verbatim (validated as a rule set).
    pub default_rule_set: Option<Value>,
    /// `overrideRuleSet`, verbatim (validated as a rule set).
    pub override_rule_set: Option<Value>,
    /// Every other key (`alias`, `defaultMetadata`, `compatibilityGroup`, …), in order.
    pub other: Map<String, Value>,
}

const LEVEL: &str = "compatibilityLevel";
const POLICY: &str = "compatibilityPolicy";
const BOOLEANS: [&str; 4] = [
    "normalize",
    "validateFields",
    "validateRules",
    "validateNewSchemas",
];

impl Config {
    /// Read a stored config object. A known key whose value does not parse is kept verbatim
    /// among the other keys (it was stored by something else; it is shown, not acted on).
    pub fn from_map(map: Map<String, Value>) -> Self {
        let mut config = Config::default();
        for (key, value) in map {
            let kept = match key.as_str() {
                LEVEL => value
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .map(|l| config.compatibility_level = Some(l)),
                POLICY => value
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .map(|p| config.compatibility_policy = Some(p)),
                k if BOOLEANS.contains(&k) => value.as_bool().map(|b| *config.flag(k) = Some(b)),
                "defaultRuleSet" => {
                    config.default_rule_set = Some(value.clone());
                    Some(())
                }
                "overrideRuleSet" => {
                    config.override_rule_set = Some(value.clone());
                    Some(())
                }
                _ => None,
            };
            if kept.is_none() {
                config.other.insert(key, value);
            }
        }
        config
    }

    /// The config as Confluent's `Config` object (absent keys omitted).
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some(level) = self.compatibility_level {
            map.insert(LEVEL.into(), level.as_str().into());
        }
        if let Some(policy) = self.compatibility_policy {
            map.insert(POLICY.into(), policy.as_str().into());
        }
        for (key, value) in [
            ("normalize", self.normalize),
            ("validateFields", self.validate_fields),
            ("validateRules", self.validate_rules),
            ("validateNewSchemas", self.validate_new_schemas),
        ] {
            if let Some(b) = value {
                map.insert(key.into(), b.into());
            }
        }
        if let Some(rs) = &self.default_rule_set {
            map.insert("defaultRuleSet".into(), rs.clone());
        }
        if let Some(rs) = &self.override_rule_set {
            map.insert("overrideRuleSet".into(), rs.clone());
        }
        for (key, value) in &self.other {
            map.insert(key.clone(), value.clone());
        }
        map
    }

    fn flag(&mut self, key: &str) -> &mut Option<bool> {
        match key {
            "normalize" => &mut self.normalize,
            "validateFields" => &mut self.validate_fields,
            "validateRules" => &mut self.validate_rules,
            _ => &mut self.validate_new_schemas,
        }
    }

    /// Lay `over` on this config: every key `over` has replaces this one's.
    pub fn merge(&mut self, over: &Config) {
        fn lay<T: Clone>(base: &mut Option<T>, over: &Option<T>) {
            if over.is_some() {
                base.clone_from(over);
            }
        }
        lay(&mut self.compatibility_level, &over.compatibility_level);
        lay(&mut self.compatibility_policy, &over.compatibility_policy);
        lay(&mut self.normalize, &over.normalize);
        lay(&mut self.validate_fields, &over.validate_fields);
        lay(&mut self.validate_rules, &over.validate_rules);
        lay(&mut self.validate_new_schemas, &over.validate_new_schemas);
        lay(&mut self.default_rule_set, &over.default_rule_set);
        lay(&mut self.override_rule_set, &over.override_rule_set);
        for (key, value) in &over.other {
            self.other.insert(key.clone(), value.clone());
        }
    }

    /// Apply a `ConfigUpdateRequest`: an absent key keeps its value, `null` clears it, a value
    /// is checked (42203 for a level, 42204 for the rest, 42210 for a rule set) and set. A
    /// refused update changes nothing.
    pub fn apply_update(&mut self, update: &Map<String, Value>) -> Result<()> {
        let mut next = self.clone();
        for (key, value) in update {
            // The request says `compatibility`; the stored Config says `compatibilityLevel`.
            let key = if key == "compatibility" {
                LEVEL
            } else {
                key.as_str()
            };
            let null = value.is_null();
            match key {
                LEVEL => {
                    next.compatibility_level = if null {
                        None
                    } else {
                        Some(
                            value
                                .as_str()
                                .and_then(|s| s.parse().ok())
                                .ok_or(Error::InvalidCompatibilityLevel)?,
                        )
                    };
                }
                POLICY => {
                    next.compatibility_policy = if null {
                        None
                    } else {
                        Some(value.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                            Error::Unprocessable(
                                "Invalid compatibility policy. Valid values are STRICT and LENIENT"
                                    .into(),
                            )
                        })?)
                    };
                }
                k if BOOLEANS.contains(&k) => {
                    *next.flag(k) = if null {
                        None
                    } else {
                        Some(value.as_bool().ok_or_else(|| {
                            Error::Unprocessable(format!("'{key}' must be true or false"))
                        })?)
                    };
                }
                "defaultRuleSet" | "overrideRuleSet" => {
                    let slot = if key == "defaultRuleSet" {
                        &mut next.default_rule_set
                    } else {
                        &mut next.override_rule_set
                    };
                    *slot = if null {
                        None
                    } else {
                        validate_rule_set(Some(value))?;
                        Some(value.clone())
                    };
                }
                _ if null => {
                    next.other.shift_remove(key);
                }
                _ => {
                    next.other.insert(key.into(), value.clone());
                }
            }
            if null {
                // A known key stored verbatim (unparsable) is cleared too.
                next.other.shift_remove(key);
            }
        }
        *self = next;
        Ok(())
    }
}

/// What applies to one subject: its mode and its compatibility settings.
pub(super) struct InForce {
    pub(super) mode: Mode,
    pub(super) level: CompatibilityLevel,
    pub(super) policy: CompatibilityPolicy,
    pub(super) normalize: bool,
}

fn parse_stored(scope: &str, body: &str) -> Result<Config> {
    match serde_json::from_str(body) {
        Ok(Value::Object(map)) => Ok(Config::from_map(map)),
        _ => Err(Error::Internal(format!(
            "stored config for '{scope}' is not a JSON object"
        ))),
    }
}

impl Registry {
    /// The stored config of a scope, if any.
    pub async fn stored_config(&self, scope: &Scope) -> Result<Option<Config>> {
        match self.storage.config(scope.key()).await? {
            Some(body) => Ok(Some(parse_stored(scope.key(), &body)?)),
            None => Ok(None),
        }
    }

    /// The global config, with the default level filled in.
    pub async fn global_config(&self) -> Result<Config> {
        let mut config = self
            .stored_config(&Scope::Global)
            .await?
            .unwrap_or_default();
        config
            .compatibility_level
            .get_or_insert(self.settings.default_compatibility);
        Ok(config)
    }

    /// The config in force for a subject: its own over the global one.
    pub async fn config_in_scope(&self, subject: &Subject) -> Result<Config> {
        let mut config = self.global_config().await?;
        if let Some(own) = self.stored_config(&Scope::Subject(subject.clone())).await? {
            config.merge(&own);
        }
        Ok(config)
    }

    /// The mode and config in force for a subject, read in one round trip.
    pub(super) async fn in_force(&self, subject: &Subject) -> Result<InForce> {
        let rows = self.storage.scope(subject.as_str()).await?;
        self.in_force_from(subject, &rows)
    }

    /// The mode and config in force for a subject, from its scope's stored rows.
    pub(super) fn in_force_from(&self, subject: &Subject, rows: &ScopeRows) -> Result<InForce> {
        let mut config = match &rows.global_config {
            Some(body) => parse_stored("", body)?,
            None => Config::default(),
        };
        if let Some(body) = &rows.subject_config {
            config.merge(&parse_stored(subject.as_str(), body)?);
        }
        let global_mode: Mode = match &rows.global_mode {
            Some(m) => m.parse()?,
            None => Mode::default(),
        };
        // READONLY_OVERRIDE at the global level overrides every subject's own mode.
        let mode = match &rows.subject_mode {
            Some(m) if global_mode != Mode::ReadOnlyOverride => m.parse()?,
            _ => global_mode,
        };
        Ok(InForce {
            mode,
            level: config
                .compatibility_level
                .unwrap_or(self.settings.default_compatibility),
            policy: config.compatibility_policy.unwrap_or_default(),
            normalize: config.normalize.unwrap_or(false),
        })
    }

    /// Apply a `ConfigUpdateRequest` (see [`Config::apply_update`]) to a scope and return the
    /// resulting stored config.
    pub async fn update_config(
        &self,
        scope: &Scope,
        update: &Map<String, Value>,
    ) -> Result<Config> {
        let mut config = self.stored_config(scope).await?.unwrap_or_default();
        config.apply_update(update)?;
        let body = Value::Object(config.to_map()).to_string();
        self.storage.set_config(scope.key(), &body).await?;
        Ok(config)
    }

    /// Remove a scope's config; the previous one, if any.
    pub async fn delete_config(&self, scope: &Scope) -> Result<Option<Config>> {
        let previous = self.stored_config(scope).await?;
        self.storage.delete_config(scope.key()).await?;
        Ok(previous)
    }
}

/// Confluent's `RuleSet.validate`: rule names unique, kinds and modes valid (42210).
pub(super) fn validate_rule_set(rule_set: Option<&serde_json::Value>) -> Result<()> {
    let Some(rs) = rule_set else { return Ok(()) };
    if rs.is_null() {
        return Ok(());
    }
    let obj = rs
        .as_object()
        .ok_or_else(|| Error::InvalidRuleSet("ruleSet must be a JSON object".into()))?;
    for (group, migration) in [
        ("migrationRules", true),
        ("domainRules", false),
        ("encodingRules", false),
    ] {
        let Some(rules) = obj.get(group) else {
            continue;
        };
        if rules.is_null() {
            continue;
        }
        let rules = rules
            .as_array()
            .ok_or_else(|| Error::InvalidRuleSet(format!("{group} must be an array")))?;
        let mut names = std::collections::HashSet::new();
        for rule in rules {
            let name = rule
                .get("name")
                .and_then(|n| n.as_str())
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    Error::InvalidRuleSet(format!("every rule in {group} needs a name"))
                })?;
            if !names.insert(name) {
                return Err(Error::InvalidRuleSet(format!(
                    "Found duplicate name {name} in rules"
                )));
            }
            if let Some(kind) = rule.get("kind").and_then(|k| k.as_str()) {
                if !matches!(kind, "TRANSFORM" | "CONDITION") {
                    return Err(Error::InvalidRuleSet(format!(
                        "Invalid kind {kind} for rule {name}: use TRANSFORM or CONDITION"
                    )));
                }
            }
            if let Some(mode) = rule.get("mode").and_then(|m| m.as_str()) {
                let ok = if migration {
                    matches!(mode, "UPGRADE" | "DOWNGRADE" | "UPDOWN")
                } else {
                    matches!(mode, "WRITE" | "READ" | "WRITEREAD")
                };
                if !ok {
                    return Err(Error::InvalidRuleSet(format!(
                        "Invalid mode {mode} for rule {name} in {group}"
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("a JSON object"),
        }
    }

    #[test]
    fn known_keys_are_typed_and_other_keys_are_kept_verbatim() {
        let stored = map(json!({
            "compatibilityLevel": "FULL",
            "normalize": true,
            "alias": "other-subject",
            "defaultMetadata": {"properties": {"owner": "team"}},
        }));
        let config = Config::from_map(stored.clone());
        assert_eq!(config.compatibility_level, Some(CompatibilityLevel::Full));
        assert_eq!(config.normalize, Some(true));
        assert_eq!(
            config.other.len(),
            2,
            "alias and defaultMetadata: {config:?}"
        );
        assert_eq!(config.to_map(), stored);
    }

    #[test]
    fn a_stored_known_key_that_does_not_parse_is_kept_verbatim_not_acted_on() {
        let config = Config::from_map(map(json!({"compatibilityLevel": "SOMETIMES"})));
        assert_eq!(config.compatibility_level, None);
        assert_eq!(
            config.to_map(),
            map(json!({"compatibilityLevel": "SOMETIMES"}))
        );
    }

    #[test]
    fn an_update_merges_clears_with_null_and_names_the_level_either_way() {
        let mut config = Config::from_map(map(json!({"compatibilityLevel": "FULL", "alias": "a"})));
        config
            .apply_update(&map(
                json!({"compatibility": "NONE", "alias": null, "x": 1}),
            ))
            .unwrap();
        assert_eq!(
            config.to_map(),
            map(json!({"compatibilityLevel": "NONE", "x": 1}))
        );
    }

    #[test]
    fn a_refused_update_changes_nothing() {
        let before = Config::from_map(map(json!({"compatibilityLevel": "FULL"})));
        let mut config = before.clone();
        let err = config
            .apply_update(&map(json!({"alias": "b", "normalize": "yes"})))
            .unwrap_err();
        assert!(err.to_string().contains("normalize"), "{err}");
        assert_eq!(config, before);
        assert!(matches!(
            config.apply_update(&map(json!({"compatibility": "SOMETIMES"}))),
            Err(Error::InvalidCompatibilityLevel)
        ));
    }

    #[test]
    fn a_subject_config_is_laid_over_the_global_one_key_by_key() {
        let mut global = Config::from_map(map(
            json!({"compatibilityLevel": "FULL", "normalize": true}),
        ));
        global.merge(&Config::from_map(map(
            json!({"compatibilityLevel": "NONE", "alias": "x"}),
        )));
        assert_eq!(
            global.to_map(),
            map(json!({"compatibilityLevel": "NONE", "normalize": true, "alias": "x"}))
        );
    }

    #[test]
    fn the_global_scope_has_a_key_no_subject_can_have() {
        assert_eq!(Scope::Global.key(), "");
        let s: Subject = "orders-value".parse().unwrap();
        assert_eq!(Scope::Subject(s).key(), "orders-value");
        assert!("".parse::<Subject>().is_err());
    }
}
