//! Online mode of `strata check`: ask a registry whether a schema may be registered under a
//! subject. The registry compares with the latest version or with all of them, as the subject's
//! configured level asks (Confluent's `POST /compatibility/subjects/{s}/versions`), or with one
//! version given by `--version`.

use anyhow::{Context, Result};
use strata_schema::SchemaReference;
use strata_serde::{RegistryClient, SchemaDef};

use super::report::{FileResult, Finding};

/// Where and how to reach the registry.
#[derive(Debug, Clone)]
pub struct Target {
    /// The registry.
    pub client: RegistryClient,
    /// Its URL(s), for messages.
    pub url: String,
    /// The subject to check against.
    pub subject: String,
    /// A specific version, or `None` for what the subject's level asks.
    pub version: Option<i32>,
    /// `NAME:SUBJECT:VERSION` references, Confluent's triplet.
    pub references: Vec<SchemaReference>,
}

/// Parse Confluent's `name:subject:version` reference triplet.
pub fn parse_registry_reference(s: &str) -> Result<SchemaReference, String> {
    let mut parts = s.rsplitn(3, ':');
    let (Some(version), Some(subject), Some(name)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "'{s}' is not NAME:SUBJECT:VERSION (e.g. com.acme.Address:address-value:1)"
        ));
    };
    let version = version
        .parse::<i32>()
        .map_err(|_| format!("'{version}' in '{s}' is not a version number"))?;
    Ok(SchemaReference {
        name: name.to_string(),
        subject: subject.to_string(),
        version,
    })
}

/// Check one schema text against the registry; errors reaching it are returned as the result's
/// error (exit code 2), never as compatibility.
pub async fn check(
    target: &Target,
    file: &str,
    schema_type: strata_schema::SchemaType,
    text: &str,
) -> FileResult {
    let against = format!(
        "{}/subjects/{}{}",
        target.url.split(',').next().unwrap_or(""),
        target.subject,
        target
            .version
            .map(|v| format!("/versions/{v}"))
            .unwrap_or_default()
    );
    match ask(target, schema_type, text).await {
        Ok((compatible, messages)) => {
            let findings = findings(&messages, compatible);
            FileResult {
                file: file.to_string(),
                subject: None,
                against: Some(against),
                compatible: compatible && findings.is_empty(),
                findings,
                error: None,
            }
        }
        Err(e) => FileResult {
            file: file.to_string(),
            subject: None,
            against: Some(against),
            compatible: false,
            findings: Vec::new(),
            error: Some(format!("{e:#}")),
        },
    }
}

async fn ask(
    target: &Target,
    schema_type: strata_schema::SchemaType,
    text: &str,
) -> Result<(bool, Vec<String>)> {
    let mut def = SchemaDef::new(schema_type, text);
    def.references = target.references.clone();
    let verdict = target
        .client
        .test_compatibility(&target.subject, &def, target.version)
        .await
        .with_context(|| {
            format!(
                "the registry at {} could not check subject '{}'",
                target.url, target.subject
            )
        })?;
    Ok((verdict.is_compatible, verdict.messages))
}

/// Findings from Confluent's verbose messages: one per `{errorType:…}` entry; the trailing
/// `oldSchemaVersion`/`oldSchema`/`compatibility` entries are context, not findings. An
/// incompatible verdict without typed entries (e.g. a changed schema type) keeps its messages.
fn findings(messages: &[String], compatible: bool) -> Vec<Finding> {
    let typed: Vec<Finding> = messages
        .iter()
        .filter_map(|m| {
            let rest = m.strip_prefix("{errorType:")?;
            let kind: String = rest
                .trim_start_matches(['\'', '"'])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            Some(Finding {
                kind,
                path: path_in(m),
                message: m.clone(),
            })
        })
        .collect();
    if !typed.is_empty() || compatible {
        return typed;
    }
    messages
        .iter()
        .filter(|m| !m.starts_with("{oldSchema") && !m.starts_with("{validateFields"))
        .map(|m| Finding {
            kind: "INCOMPATIBLE".into(),
            path: String::new(),
            message: m.clone(),
        })
        .collect()
}

/// The path a Confluent description names (`… at path '/fields/1' …`), if any.
fn path_in(message: &str) -> String {
    message
        .split_once("path '")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(p, _)| p.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_triplets_split_from_the_right() {
        let r = parse_registry_reference("com.acme.Address:address-value:2").unwrap();
        assert_eq!(
            (r.name.as_str(), r.subject.as_str(), r.version),
            ("com.acme.Address", "address-value", 2)
        );
        let r = parse_registry_reference("shop/customer.proto:customer:1").unwrap();
        assert_eq!(r.name, "shop/customer.proto");
        assert!(parse_registry_reference("a:b").is_err());
        assert!(parse_registry_reference("a:b:x").is_err());
    }

    #[test]
    fn verbose_messages_become_findings_with_kind_and_path() {
        let messages = vec![
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'email' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'email'}".to_string(),
            "{oldSchemaVersion: 1}".to_string(),
            "{validateFields: 'false', compatibility: 'BACKWARD'}".to_string(),
        ];
        let f = findings(&messages, false);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, "READER_FIELD_MISSING_DEFAULT_VALUE");
        assert_eq!(f[0].path, "/fields/1");
        let untyped = findings(
            &["Incompatible because of different schema type".to_string()],
            false,
        );
        assert_eq!(untyped[0].kind, "INCOMPATIBLE");
        assert!(findings(&[], true).is_empty());
    }
}
